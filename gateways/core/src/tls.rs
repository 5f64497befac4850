//! TLS client configuration: rustls on the `ring` provider, Mozilla's roots, optionally one more CA.
//!
//! `ring` rather than rustls' default aws-lc: no C/CMake toolchain in CI (ARCHITECTURE §8). The
//! extra CA (PEM) exists for loopback tests and private venues' test environments; it is added to
//! the public roots, never replaces them.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::GatewayError;

/// Builds the client configuration every TLS connection of a gateway shares.
///
/// # Errors
/// [`GatewayError::Config`] when `extra_ca_pem` holds no certificate or one rustls cannot use.
pub(crate) fn client_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, GatewayError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(pem) = extra_ca_pem {
        let config = |reason: String| GatewayError::Config { reason };
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| config(format!("extra CA certificate: bad PEM: {e}")))?;
            roots.add(cert).map_err(|e| config(format!("extra CA certificate refused: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(config("extra CA certificate: no CERTIFICATE block in the PEM".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::Config { reason: format!("TLS protocol versions: {e}") })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_roots_alone_or_with_a_valid_extra_ca() {
        assert!(client_config(None).is_ok());
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        assert!(client_config(Some(cert.cert.pem().as_bytes())).is_ok());
    }

    #[test]
    fn a_pem_without_certificates_is_a_config_error() {
        for pem in [&b"not pem at all"[..], b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"]
        {
            let err = client_config(Some(pem)).unwrap_err();
            assert!(matches!(err, GatewayError::Config { .. }), "{err:?}");
        }
    }
}
