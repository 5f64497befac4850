//! `Pipe`: a connection's plaintext buffers, seen by protocol code as a non-blocking stream.
//!
//! The transport (TCP, TLS) appends what it receives to `rx` and sends what protocol code left in
//! `tx`. The HTTP reader parses `rx` in place; tungstenite, which wants a `Read + Write` stream,
//! reads `rx` through [`std::io::Read`] (an empty `rx` is `WouldBlock`, which tungstenite turns into
//! "call again later") and writes into `tx`, which never blocks. So neither codec touches a socket,
//! and TLS stays below them both.

use std::io::{self, Read, Write};

/// Received and to-be-sent plaintext of one connection.
#[derive(Debug, Default)]
pub(crate) struct Pipe {
    /// Received, not yet consumed: `rx[read..]`.
    pub(crate) rx: Vec<u8>,
    /// Consumed prefix of `rx` (by [`Read`]); compacted when it all is.
    read: usize,
    /// To send.
    pub(crate) tx: Vec<u8>,
    /// The peer closed its side.
    pub(crate) eof: bool,
}

impl Pipe {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self { rx: Vec::with_capacity(bytes), read: 0, tx: Vec::with_capacity(bytes), eof: false }
    }

    /// Drops `n` parsed bytes from the front of `rx`.
    pub(crate) fn consume(&mut self, n: usize) {
        self.rx.drain(..n.min(self.rx.len()));
    }

    /// Empties both directions, keeping the allocations (a reconnect reuses them).
    pub(crate) fn clear(&mut self) {
        self.rx.clear();
        self.read = 0;
        self.tx.clear();
        self.eof = false;
    }
}

impl Read for Pipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let rest = &self.rx[self.read..];
        if rest.is_empty() {
            return if self.eof { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.read += n;
        if self.read == self.rx.len() {
            self.rx.clear();
            self.read = 0;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_arrived_then_would_block_then_eof() {
        let mut p = Pipe::with_capacity(16);
        let mut out = [0u8; 4];
        assert_eq!(p.read(&mut out).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        p.rx.extend_from_slice(b"abcdef");
        assert_eq!(p.read(&mut out).unwrap(), 4);
        assert_eq!(&p.rx[p.read..], b"ef");
        assert_eq!(p.read(&mut out).unwrap(), 2);
        assert_eq!(&out[..2], b"ef");
        assert!(p.rx.is_empty(), "compacted once all is read");
        p.eof = true;
        assert_eq!(p.read(&mut out).unwrap(), 0);
        p.write_all(b"xy").unwrap();
        assert_eq!(p.tx, b"xy");
        p.clear();
        assert!(p.tx.is_empty() && !p.eof);
    }
}
