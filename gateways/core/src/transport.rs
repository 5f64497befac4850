//! `Transport`: one non-blocking TCP socket, with a rustls client session on it when TLS is asked.
//!
//! It moves bytes between the socket and a connection's [`Pipe`]: received plaintext is appended
//! to `pipe.rx`, `pipe.tx` is sent as far as the socket takes it. Every call runs until the socket
//! says `WouldBlock`, as mio's edge-triggered readiness requires. TLS is driven by hand
//! (`read_tls` / `process_new_packets` / `write_tls`) rather than through `rustls::Stream`, whose
//! `complete_io` loops are written for blocking sockets.

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::ClientConnection;

use crate::error::Connectivity;
use crate::pipe::Pipe;

/// Bytes read from the socket per `read` call (the receive buffer grows by this much at most).
const READ_CHUNK: usize = 16 * 1024;

/// A connection's socket and TLS session.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) sock: TcpStream,
    tls: Option<Box<ClientConnection>>,
}

impl Transport {
    /// Wraps a connecting socket; with `tls`, a client session for `server_name`.
    pub(crate) fn new(
        sock: TcpStream,
        tls: Option<(&Arc<rustls::ClientConfig>, &str)>,
    ) -> Result<Self, Connectivity> {
        let tls = match tls {
            None => None,
            Some((config, host)) => {
                let name = rustls_pki_types::ServerName::try_from(host.to_owned())
                    .map_err(|_| Connectivity::Tls(format!("{host:?} is not a valid server name")))?;
                let conn = ClientConnection::new(Arc::clone(config), name)
                    .map_err(|e| Connectivity::Tls(e.to_string()))?;
                Some(Box::new(conn))
            }
        };
        Ok(Self { sock, tls })
    }

    /// Whether a TLS handshake is still running (plain TCP: never).
    pub(crate) fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// Reads everything the socket has into `pipe.rx` (decrypted), setting `pipe.eof` when the peer
    /// closed. TLS answers the handshake needs are sent on the way.
    pub(crate) fn read(&mut self, pipe: &mut Pipe) -> Result<(), Connectivity> {
        match &mut self.tls {
            None => {
                if !pipe.eof {
                    pipe.eof = read_into(&mut self.sock, &mut pipe.rx)?;
                }
            }
            Some(tls) => {
                loop {
                    match tls.read_tls(&mut self.sock) {
                        Ok(0) => {
                            pipe.eof = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Connectivity::Io(e.kind())),
                    }
                    let state = tls.process_new_packets().map_err(|e| Connectivity::Tls(e.to_string()))?;
                    if state.peer_has_closed() {
                        pipe.eof = true;
                    }
                    if state.plaintext_bytes_to_read() > 0 {
                        read_plaintext(tls, &mut pipe.rx)?;
                    }
                }
                // A session closed between reads still has plaintext buffered.
                read_plaintext(tls, &mut pipe.rx)?;
                self.flush_tls()?;
            }
        }
        Ok(())
    }

    /// Sends as much of `pipe.tx` as the socket takes; what is left stays for the next writable.
    pub(crate) fn write(&mut self, pipe: &mut Pipe) -> Result<(), Connectivity> {
        match &mut self.tls {
            None => {
                let mut sent = 0;
                while sent < pipe.tx.len() {
                    match self.sock.write(&pipe.tx[sent..]) {
                        Ok(0) => return Err(Connectivity::Io(io::ErrorKind::WriteZero)),
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Connectivity::Io(e.kind())),
                    }
                }
                pipe.tx.drain(..sent);
            }
            Some(tls) => {
                if !pipe.tx.is_empty() {
                    // rustls buffers plaintext until the handshake is done, within its limit.
                    let n = tls.writer().write(&pipe.tx).map_err(|e| Connectivity::Io(e.kind()))?;
                    pipe.tx.drain(..n);
                }
                self.flush_tls()?;
            }
        }
        Ok(())
    }

    /// Whether bytes wait to be sent below the pipe (TLS records).
    pub(crate) fn wants_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Sends a TLS close_notify, best effort (the socket is dropped next).
    pub(crate) fn close(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
            let _ = self.flush_tls();
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }

    fn flush_tls(&mut self) -> Result<(), Connectivity> {
        let Some(tls) = &mut self.tls else { return Ok(()) };
        while tls.wants_write() {
            match tls.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Connectivity::Io(e.kind())),
            }
        }
        Ok(())
    }
}

/// Reads until `WouldBlock`; `true` when the peer closed.
fn read_into(src: &mut impl Read, into: &mut Vec<u8>) -> Result<bool, Connectivity> {
    loop {
        let start = into.len();
        into.resize(start + READ_CHUNK, 0);
        let got = src.read(&mut into[start..]);
        into.truncate(start + *got.as_ref().unwrap_or(&0));
        match got {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Connectivity::Io(e.kind())),
        }
    }
}

/// Moves the plaintext rustls decrypted into `into`.
fn read_plaintext(tls: &mut ClientConnection, into: &mut Vec<u8>) -> Result<(), Connectivity> {
    loop {
        let start = into.len();
        into.resize(start + READ_CHUNK, 0);
        let got = tls.reader().read(&mut into[start..]);
        into.truncate(start + *got.as_ref().unwrap_or(&0));
        match got {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // A peer that closes without close_notify: the caller sees eof from the socket.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(Connectivity::Io(e.kind())),
        }
    }
}
