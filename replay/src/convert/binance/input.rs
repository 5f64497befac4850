//! Line input shared by the Binance and Bybit readers: a plain file or the single member of a
//! `.zip`, read in one streaming pass, with a sibling `<file>.CHECKSUM` (sha256sum format) verified
//! when present.
//!
//! Why not the `zip` crate: it needs `Read + Seek`, and the bytes must come through
//! [`Collector::open`]'s counted reader (which is not seekable) so that progress and the ETA work;
//! a vendor archive holds exactly one member, so the local header, the deflate stream, the CRC-32,
//! the sizes and the central directory that follows are all checked here in a single forward pass,
//! in constant memory (monthly Binance archives are gigabytes), while the SHA-256 of the whole file
//! is computed from the same bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::convert::{Collector, ConvertError, Counted};

/// A reader that feeds what it reads to a SHA-256 when asked to, so the checksum costs no second
/// pass over the file.
struct Hashing<R> {
    /// The file.
    inner: R,
    /// The running hash, when a `.CHECKSUM` sibling exists.
    hasher: Option<Sha256>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The file's bytes as read: counted for progress, hashed when needed, buffered so that the deflate
/// decoder stops exactly at the end of its stream (what follows is the zip's trailer).
type Raw = BufReader<Hashing<Counted<File>>>;

/// Zip signatures (little-endian `PK..`).
const LOCAL_HEADER: u32 = 0x0403_4b50;
/// Central-directory file header: what must follow the one member.
const CENTRAL_HEADER: u32 = 0x0201_4b50;
/// End of central directory.
const END_OF_CENTRAL: u32 = 0x0605_4b50;
/// Optional signature of a data descriptor.
const DESCRIPTOR: u32 = 0x0807_4b50;
/// The most trailer (central directory, end record, comment) accepted after the member: one entry
/// needs well under a kilobyte, and a 64 KiB comment is the format's maximum.
const MAX_TRAILER: u64 = 1 << 20;

/// How the member's data is stored.
enum Body {
    /// Deflate (method 8): the decoder reads exactly its stream from the raw reader.
    Deflate(flate2::bufread::DeflateDecoder<Raw>),
    /// Stored (method 0): exactly `compressed size` bytes.
    Stored(io::Take<Raw>),
}

/// The single member of a zip, checked as it is read: at its end the CRC-32 and the size are
/// compared with the header (or the data descriptor), and the rest of the file must be the central
/// directory of a one-member archive.
struct Member {
    /// The data.
    body: Body,
    /// CRC-32 of what was produced so far.
    crc: flate2::Crc,
    /// Bytes produced so far (64-bit: `Crc::amount` wraps at 4 GiB, and zip64 members are larger).
    produced: u64,
    /// The header's CRC-32 (`None` when a data descriptor follows the data).
    want_crc: Option<u32>,
    /// The header's uncompressed size (`None` when a data descriptor follows the data).
    want_size: Option<u64>,
    /// The header's compressed size, when known.
    want_csize: Option<u64>,
    /// Sizes are 64-bit (zip64), which a data descriptor then also uses.
    zip64: bool,
    /// Checked and drained: reads return 0.
    done: bool,
}

/// A damaged or unsupported archive, as an I/O error the line reader reports with the line reached.
fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Little-endian `u16` at `at` (the caller has checked the length).
fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Little-endian `u32` at `at` (the caller has checked the length).
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Little-endian `u64` at `at` (the caller has checked the length).
fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// `read_exact` that names what was cut short, since a truncated archive is the usual cause.
fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> io::Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            bad(format!("zip archive ends inside the {what} (truncated download?)"))
        } else {
            e
        }
    })
}

impl Member {
    /// Reads the local header at the start of `raw` and gets ready to produce the member's data.
    fn open(mut raw: Raw) -> io::Result<(Self, String)> {
        let mut h = [0u8; 30];
        read_exact(&mut raw, &mut h, "local file header")?;
        if le32(&h, 0) != LOCAL_HEADER {
            return Err(bad("not a zip local file header"));
        }
        let flags = le16(&h, 6);
        let method = le16(&h, 8);
        let (crc, csize, usize_) = (le32(&h, 14), le32(&h, 18), le32(&h, 22));
        let (nlen, xlen) = (usize::from(le16(&h, 26)), usize::from(le16(&h, 28)));
        let mut name = vec![0u8; nlen];
        read_exact(&mut raw, &mut name, "member name")?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let mut extra = vec![0u8; xlen];
        read_exact(&mut raw, &mut extra, "header extra field")?;
        if flags & 1 != 0 {
            return Err(bad(format!("zip member {name:?} is encrypted")));
        }
        // Zip64: the real sizes are in extra field 0x0001, each present when its header field is
        // 0xFFFFFFFF, uncompressed first.
        let (mut want_size, mut want_csize) = (u64::from(usize_), u64::from(csize));
        let mut zip64 = false;
        let mut at = 0;
        while at + 4 <= extra.len() {
            let (id, len) = (le16(&extra, at), usize::from(le16(&extra, at + 2)));
            let field = extra.get(at + 4..at + 4 + len).ok_or_else(|| bad("zip extra field overruns"))?;
            if id == 1 {
                zip64 = true;
                let mut k = 0;
                if usize_ == u32::MAX && field.len() >= k + 8 {
                    want_size = le64(field, k);
                    k += 8;
                }
                if csize == u32::MAX && field.len() >= k + 8 {
                    want_csize = le64(field, k);
                }
            }
            at += 4 + len;
        }
        let descriptor = flags & 8 != 0;
        let body = match method {
            8 => Body::Deflate(flate2::bufread::DeflateDecoder::new(raw)),
            0 if !descriptor => Body::Stored(raw.take(want_csize)),
            0 => {
                return Err(bad(format!(
                    "zip member {name:?} is stored with a data descriptor (unsupported)"
                )));
            }
            m => {
                return Err(bad(format!(
                    "zip member {name:?} uses compression method {m}; only deflate (8) and stored (0) are read"
                )));
            }
        };
        let member = Self {
            body,
            crc: flate2::Crc::new(),
            produced: 0,
            want_crc: (!descriptor).then_some(crc),
            want_size: (!descriptor).then_some(want_size),
            want_csize: (!descriptor).then_some(want_csize),
            zip64,
            done: false,
        };
        Ok((member, name))
    }

    /// The raw reader under the body.
    fn raw(&mut self) -> &mut Raw {
        match &mut self.body {
            Body::Deflate(d) => d.get_mut(),
            Body::Stored(t) => t.get_mut(),
        }
    }

    /// At the end of the data: sizes and CRC against the header or descriptor, then the trailer.
    fn check_end(&mut self) -> io::Result<()> {
        let consumed = match &self.body {
            Body::Deflate(d) => d.total_in(),
            Body::Stored(t) if t.limit() > 0 => {
                return Err(bad("zip member ends early (truncated download?)"));
            }
            Body::Stored(_) => self.want_csize.unwrap_or(0),
        };
        let (want_crc, want_size, want_csize) = match (self.want_crc, self.want_size) {
            (Some(c), Some(s)) => (c, s, self.want_csize.unwrap_or(consumed)),
            _ => {
                // Data descriptor: [signature] crc32, compressed size, uncompressed size.
                let wide = self.zip64;
                let raw = self.raw();
                let mut first = [0u8; 4];
                read_exact(raw, &mut first, "data descriptor")?;
                let crc = if le32(&first, 0) == DESCRIPTOR {
                    read_exact(raw, &mut first, "data descriptor")?;
                    le32(&first, 0)
                } else {
                    le32(&first, 0)
                };
                let mut sizes = [0u8; 16];
                let n = if wide { 16 } else { 8 };
                read_exact(raw, &mut sizes[..n], "data descriptor")?;
                if wide {
                    (crc, le64(&sizes, 8), le64(&sizes, 0))
                } else {
                    (crc, u64::from(le32(&sizes, 4)), u64::from(le32(&sizes, 0)))
                }
            }
        };
        if consumed != want_csize || self.produced != want_size {
            let what =
                if consumed < want_csize || self.produced < want_size { "ends early" } else { "is too long" };
            return Err(bad(format!(
                "zip member {what}: {consumed} of {want_csize} compressed bytes, \
                 {} of {want_size} bytes (truncated or damaged archive)",
                self.produced
            )));
        }
        if self.crc.sum() != want_crc {
            return Err(bad(format!(
                "zip member CRC-32 is {:08x}, the archive says {want_crc:08x} (damaged archive)",
                self.crc.sum()
            )));
        }
        self.check_trailer()
    }

    /// What follows the member must be the central directory of a one-member archive, ending in an
    /// end-of-central-directory record; a second member or a cut-off trailer is an error.
    fn check_trailer(&mut self) -> io::Result<()> {
        let mut tail = Vec::new();
        self.raw().take(MAX_TRAILER + 1).read_to_end(&mut tail)?;
        if tail.len() as u64 > MAX_TRAILER {
            return Err(bad("more than 1 MiB of data after the zip member"));
        }
        match (tail.len() >= 4).then(|| le32(&tail, 0)) {
            Some(CENTRAL_HEADER) => {}
            Some(LOCAL_HEADER) => {
                return Err(bad("zip archive has more than one member; expected exactly one"));
            }
            _ => return Err(bad("no central directory after the zip member (truncated download?)")),
        }
        let end = (0..tail.len().saturating_sub(21)).rev().find(|&i| le32(&tail, i) == END_OF_CENTRAL);
        let Some(end) = end else {
            return Err(bad("zip archive has no end-of-central-directory record (truncated download?)"));
        };
        let entries = le16(&tail, end + 10);
        if entries != 1 && entries != u16::MAX {
            return Err(bad(format!("zip archive lists {entries} members; expected exactly one")));
        }
        Ok(())
    }
}

impl Read for Member {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = match &mut self.body {
            Body::Deflate(d) => d.read(buf).map_err(|e| {
                if e.raw_os_error().is_some() {
                    e
                } else {
                    bad(format!("zip member: {e} (truncated or damaged archive)"))
                }
            })?,
            Body::Stored(t) => t.read(buf)?,
        };
        if n == 0 {
            self.check_end()?;
            self.done = true;
        } else {
            self.crc.update(&buf[..n]);
            self.produced += n as u64;
        }
        Ok(n)
    }
}

/// Where lines come from.
enum Source {
    /// A plain file.
    Plain(Raw),
    /// The one member of a zip.
    Zip(Box<Member>),
}

impl Source {
    /// The hashing reader, to take the digest once everything was read.
    fn hashing(&mut self) -> &mut Hashing<Counted<File>> {
        match self {
            Self::Plain(r) => r.get_mut(),
            Self::Zip(m) => m.raw().get_mut(),
        }
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(r) => r.read(buf),
            Self::Zip(m) => m.read(buf),
        }
    }
}

/// The longest line accepted: a Bybit 500-level snapshot is ~30 KB, so anything near this is not
/// the format (and would otherwise grow the buffer without bound).
const MAX_LINE: usize = 256 << 20;

/// The read buffer: large enough that refills are rare, small enough to stay in L2/L3.
const CHUNK: usize = 1 << 20;

/// An input file read line by line, 1-based line numbers, with the archive and checksum checks.
pub(in crate::convert) struct Input {
    /// The file.
    path: PathBuf,
    /// The zip member's name, when it is a zip.
    member: Option<String>,
    /// The expected SHA-256 (hex) from `<file>.CHECKSUM`, with the checksum file's path.
    expected: Option<(String, PathBuf)>,
    /// The bytes.
    source: Source,
    /// Buffered bytes; `buf[start..end]` is not yet returned.
    buf: Vec<u8>,
    /// First unreturned byte.
    start: usize,
    /// End of the valid bytes.
    end: usize,
    /// The source said end of file.
    eof: bool,
    /// Lines returned so far (so the 1-based number of the last one).
    line: u64,
}

/// The sibling checksum file of `path`: `<path>.CHECKSUM`, as data.binance.vision publishes it.
fn checksum_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".CHECKSUM");
    PathBuf::from(p)
}

/// Reads `<file>.CHECKSUM` (`<64 hex>  <name>`): the expected digest, lowercase. A file that names
/// a different file, or is not in that format, is an error rather than ignored.
fn read_checksum(path: &Path, sums: &Path) -> Result<String, ConvertError> {
    let text = std::fs::read_to_string(sums)
        .map_err(|source| ConvertError::Io { path: sums.to_path_buf(), source })?;
    let fmt_err = |reason: String| ConvertError::Format { path: sums.to_path_buf(), reason };
    let mut words = text.split_whitespace();
    let hex = words.next().unwrap_or("");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fmt_err("not in sha256sum format (`<64 hex digits>  <file name>`)".into()));
    }
    if let Some(named) = words.next() {
        let named = named.trim_start_matches('*');
        let ours = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if named != ours {
            return Err(fmt_err(format!("names {named:?}, not {ours:?}")));
        }
    }
    Ok(hex.to_ascii_lowercase())
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Input {
    /// Opens `path` through the collector (so progress counts its bytes); a file starting with a
    /// zip local header is read as a one-member archive.
    ///
    /// # Errors
    /// [`ConvertError::Io`], or [`ConvertError::Format`] for a bad `.CHECKSUM` or zip header.
    pub(in crate::convert) fn open(coll: &Collector, path: &Path) -> Result<Self, ConvertError> {
        let sums = checksum_path(path);
        let expected = if sums.is_file() { Some((read_checksum(path, &sums)?, sums)) } else { None };
        let hashing = Hashing { inner: coll.open(path)?, hasher: expected.as_ref().map(|_| Sha256::new()) };
        let mut raw = BufReader::with_capacity(CHUNK, hashing);
        let io_err = |source| ConvertError::Io { path: path.to_path_buf(), source };
        let is_zip = raw.fill_buf().map_err(io_err)?.starts_with(&LOCAL_HEADER.to_le_bytes());
        let (source, member) = if is_zip {
            let (m, name) = Member::open(raw).map_err(|e| Self::classify(path, e, "zip header"))?;
            (Source::Zip(Box::new(m)), Some(name))
        } else {
            (Source::Plain(raw), None)
        };
        Ok(Self {
            path: path.to_path_buf(),
            member,
            expected,
            source,
            // Twice the raw reader's buffer, so that a refill asks for more than that buffer holds
            // and `BufReader` reads a plain file straight into this one instead of copying every
            // byte through its own (a zip member's inflated bytes do not pass through it anyway).
            buf: vec![0; 2 * CHUNK],
            start: 0,
            end: 0,
            eof: false,
            line: 0,
        })
    }

    /// The zip member's name, when the input is a zip.
    pub(in crate::convert) fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// An I/O error from the operating system stays [`ConvertError::Io`]; anything else (a damaged
    /// archive, a corrupt deflate stream) is the file's fault: [`ConvertError::Format`] saying where.
    fn classify(path: &Path, e: io::Error, at: &str) -> ConvertError {
        if e.raw_os_error().is_some() {
            ConvertError::Io { path: path.to_path_buf(), source: e }
        } else {
            ConvertError::Format { path: path.to_path_buf(), reason: format!("{at}: {e}") }
        }
    }

    /// The next line without its `\n` (or `\r\n`) and its 1-based number; `None` at the end.
    ///
    /// # Errors
    /// [`ConvertError::Io`] or [`ConvertError::Format`] naming the last line read.
    pub(in crate::convert) fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, ConvertError> {
        let (s, e) = loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let s = self.start;
                self.start += i + 1;
                break (s, s + i);
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                break (s, self.end);
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_LINE {
                    return Err(ConvertError::Format {
                        path: self.path.clone(),
                        reason: format!("line {} is longer than {} MiB", self.line + 1, MAX_LINE >> 20),
                    });
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = format!("after line {}", self.line);
                    return Err(Self::classify(&self.path, e, &at));
                }
            }
        };
        self.line += 1;
        let mut l = &self.buf[s..e];
        if let [rest @ .., b'\r'] = l {
            l = rest;
        }
        Ok(Some((self.line, l)))
    }

    /// Ends the read: on success verifies the SHA-256 against `.CHECKSUM` (the whole file has been
    /// read by then). On a row error in a zip, reads the member to its end and reports a bad CRC
    /// or structure first; on any failure, when a checksum exists, hashes the file again and
    /// reports a mismatch in preference to the parse error, since a damaged download explains it.
    ///
    /// # Errors
    /// The reader's error, or [`ConvertError::Format`] for a checksum mismatch.
    pub(in crate::convert) fn finish(mut self, result: Result<(), ConvertError>) -> Result<(), ConvertError> {
        // A row error inside a zip may be the garbage a damaged member inflates to: read the member
        // to its end, and if its CRC or structure is bad, say so first.
        let result = match result {
            Err(ConvertError::Row(row)) if matches!(self.source, Source::Zip(_)) => {
                match io::copy(&mut self.source, &mut io::sink()) {
                    Err(e) if e.raw_os_error().is_none() => Err(ConvertError::Format {
                        path: self.path.clone(),
                        reason: format!("{e}; reading it failed first: {row}"),
                    }),
                    _ => Err(ConvertError::Row(row)),
                }
            }
            r => r,
        };
        let Some((want, sums)) = self.expected.take() else { return result };
        let got = match &result {
            Ok(()) => match self.source.hashing().hasher.take() {
                Some(h) => hex(&h.finalize()),
                None => return result,
            },
            Err(_) => {
                let mut h = Sha256::new();
                let hashed = File::open(&self.path).and_then(|mut f| io::copy(&mut f, &mut h));
                match hashed {
                    Ok(_) => hex(&h.finalize()),
                    Err(_) => return result,
                }
            }
        };
        if got == want {
            return result;
        }
        let also = match result {
            Ok(()) => String::new(),
            Err(e) => format!("; reading it failed too: {e}"),
        };
        Err(ConvertError::Format {
            path: self.path.clone(),
            reason: format!(
                "SHA-256 {got} does not match {want} in {} (corrupt or incomplete download){also}",
                sums.display()
            ),
        })
    }
}
