//! `--tls`: a self-signed certificate for `localhost` and `127.0.0.1`, made at start with rcgen and
//! written as PEM so a client can trust exactly it; rustls serves it with the ring provider.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::SimError;

/// Makes the certificate, writes it to `dir/kestrel-sim-<pid>.pem`, and builds the server config.
///
/// # Errors
/// [`SimError::Certificate`], [`SimError::CertFile`], [`SimError::Tls`].
pub fn server_config(dir: &Path) -> Result<(Arc<ServerConfig>, PathBuf), SimError> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    let path = dir.join(format!("kestrel-sim-{}.pem", std::process::id()));
    std::fs::write(&path, ck.cert.pem())
        .map_err(|source| SimError::CertFile { path: path.clone(), source })?;
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    Ok((Arc::new(config), path))
}
