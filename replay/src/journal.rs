//! Journals: the live engine's append-only record of every inbound event, in segment files that a
//! crash may leave torn and that are read back only up to their last good record.
//!
//! A journal is a sequence of segment files `<base>.000001.kj`, `<base>.000002.kj`, … Each segment is
//! a [`FileKind::Journal`] header (record count 0: the length decides) followed by 64-byte records
//! whose `crc` field is the CRC32C of the record with that field zeroed ([`checksum`]). Every kind
//! is allowed, market and journal-only alike, because the live journal taps every inbound event
//! (ARCHITECTURE.md §6), and `ts_recv` never decreases across the whole journal, segments included.
//!
//! # Invariants
//! - **The readable journal is a prefix of what was appended.** Opening scans every record: the
//!   first one that is partial (a torn tail), whose CRC does not match, that does not decode, names
//!   an instrument outside the table, or goes back in time ends the readable journal. Records after
//!   it are never returned, even if they look valid, because nothing proves they were written after
//!   the ones before the damage; the cut is reported as a [`Recovery`] saying where and why, and how
//!   many bytes were dropped. A journal is never silently read past damage.
//! - **A segment always has a whole header.** Segments are created as a temporary file holding the
//!   header, fsynced and renamed into place; a crash during creation leaves at most a stray
//!   `….kj.tmp`, never a segment with a partial header.
//! - **Every segment but the last is complete and durable.** The writer fsyncs a segment before it
//!   creates the next, so damage in an earlier segment means the disk lied or someone edited it;
//!   the journal then stops at that damage too, and the later segments are reported as dropped.
//!
//! # Durability (what survives a crash)
//! - After [`JournalWriter::append`] returns, the record is in the writer's buffer: a process crash
//!   loses it.
//! - After [`JournalWriter::flush`] it is in the operating system: it survives a process crash
//!   (`kill -9`, an abort) but not a kernel crash or a power loss.
//! - After [`JournalWriter::sync`] (`fdatasync`) it is on the device: it survives a power loss, if
//!   the device honours flushes.
//! - Whatever the crash, the next [`Journal::open`] reads a prefix of the appended records that
//!   holds at least every record appended before the last successful `sync`; the rest may be
//!   missing, partial (reported as a torn tail) or garbage (zeros from a half-extended file fail the
//!   CRC), and is cut. [`JournalWriter::open_append`] truncates it away before appending resumes.
//!
//! # Limitations
//! One writer per journal: nothing locks the files, and two writers on one base would interleave.
//! Segments are read into memory rather than memory-mapped, because journals are not immutable
//! (they grow, and recovery truncates them): a mapping could raise SIGBUS under a concurrent
//! truncation, which tick files can document away and journals cannot. The copy costs one read of
//! a segment (a few milliseconds per 64 MiB from the page cache) at open.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytemuck::Zeroable;
use kestrel_types::{Event, Instrument};

use crate::error::ReplayError;
use crate::format::header::HeaderError;
use crate::format::record::DecodeError;
use crate::format::{FileKind, Header, RECORD_SIZE, RawRecord, decode, encode};

/// The extension of journal segments: `<base>.000001.kj`.
pub const SEGMENT_EXTENSION: &str = "kj";

/// The default segment size (64 MiB, one million records): small enough to read at open in a few
/// milliseconds and to archive one by one, large enough that rollovers (two fsyncs each) are rare.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// Bytes the writer gathers before handing them to the operating system: one `write` per 1024
/// records instead of one per record, so that appending costs no syscall in the common case.
const BUFFER_BYTES: usize = 64 << 10;

/// How a [`JournalWriter`] splits its journal into segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// The size a segment may reach, header included, before the writer starts the next one. A
    /// segment always holds at least one record, so a size below header + 64 bytes means one record
    /// per segment. Not stored in the files: a reopened journal may use another size.
    pub segment_bytes: u64,
}

impl Default for JournalConfig {
    /// [`DEFAULT_SEGMENT_BYTES`].
    fn default() -> Self {
        Self { segment_bytes: DEFAULT_SEGMENT_BYTES }
    }
}

/// The CRC32C a journal stores in a record's `crc` field: of the 64 bytes with that field zeroed,
/// so that the stored value does not feed into itself.
pub fn checksum(r: &RawRecord) -> u32 {
    let mut copy = *r;
    copy.crc = 0;
    crc32c::crc32c(bytemuck::bytes_of(&copy))
}

/// The path of segment `number` (from 1) of the journal at `base`: `<base>.000001.kj`. Six digits
/// keep names sorting in order up to a million segments (64 TiB at the default size); past that the
/// number simply grows wider and [`list_segments`] still orders by number.
pub fn segment_path(base: &Path, number: u32) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(format!(".{number:06}.{SEGMENT_EXTENSION}"));
    PathBuf::from(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io { path: path.to_path_buf(), source }
}

fn io_kind(path: &Path, kind: std::io::ErrorKind, what: &str) -> ReplayError {
    ReplayError::Io { path: path.to_path_buf(), source: std::io::Error::new(kind, what.to_owned()) }
}

/// The segments present for `base`, as `(number, path)` sorted by number (gaps included: the
/// caller decides what a gap means). Temporary files and other names are ignored.
///
/// # Errors
/// [`ReplayError::Io`] when `base` has no file name or its folder cannot be listed.
pub fn list_segments(base: &Path) -> Result<Vec<(u32, PathBuf)>, ReplayError> {
    let Some(stem) = base.file_name().and_then(|n| n.to_str()) else {
        return Err(io_kind(base, std::io::ErrorKind::InvalidInput, "journal base has no UTF-8 file name"));
    };
    let dir = match base.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let suffix = format!(".{SEGMENT_EXTENSION}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
        let entry = entry.map_err(io(&dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(digits) = name
            .strip_prefix(stem)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| rest.strip_suffix(suffix.as_str()))
        else {
            continue;
        };
        if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(number) = digits.parse::<u32>() {
            found.push((number, segment_path(base, number)));
        }
    }
    found.sort_by_key(|(n, _)| *n);
    Ok(found)
}

/// Why a record that passed its checksum still ends the readable journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordProblem {
    /// Its kind or flags decode to nothing.
    #[error("{0}")]
    Decode(DecodeError),
    /// Its instrument is not in the segment's table.
    #[error("instrument {instrument} is not in the table ({count} entries)")]
    UnknownInstrument {
        /// The instrument index found.
        instrument: u16,
        /// Table size.
        count: usize,
    },
    /// Its `ts_recv` is before the previous record's (in this segment or the one before).
    #[error("ts_recv {found} is before the previous record's {previous}")]
    OutOfOrder {
        /// The previous record's `ts_recv`.
        previous: i64,
        /// This record's `ts_recv`.
        found: i64,
    },
}

/// Why a journal segment's readable part ends before its last byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CutReason {
    /// The file ends inside a record: a write that a crash interrupted.
    #[error("a partial record of {bytes} bytes at the end (a torn write)")]
    TornTail {
        /// The partial record's length (1 to 63).
        bytes: u64,
    },
    /// A whole record whose CRC32C does not match: corruption, or zeros from a half-extended file.
    #[error("record {index} at byte {offset}: checksum {stored:#010x} does not match {computed:#010x}")]
    BadChecksum {
        /// Record index in the segment.
        index: u64,
        /// Byte offset in the segment.
        offset: u64,
        /// The stored CRC32C.
        stored: u32,
        /// The CRC32C of the bytes.
        computed: u32,
    },
    /// A record with a good checksum that is still not valid: a writer bug or a forged file.
    #[error("record {index} at byte {offset}: {problem}")]
    BadRecord {
        /// Record index in the segment.
        index: u64,
        /// Byte offset in the segment.
        offset: u64,
        /// What is wrong with it.
        problem: RecordProblem,
    },
}

/// The report of a segment read (or truncated) only up to its last good record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// The segment.
    pub path: PathBuf,
    /// Records kept: every record before the first bad one.
    pub good_records: u64,
    /// Where the readable segment ends: the header length + 64 × `good_records`.
    pub cut_at_offset: u64,
    /// Bytes after the cut that are not returned (or were truncated away), bad record included.
    pub dropped_bytes: u64,
    /// What was found at the cut.
    pub reason: CutReason,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: kept {} records, cut at byte {} dropping {} bytes: {}",
            self.path.display(),
            self.good_records,
            self.cut_at_offset,
            self.dropped_bytes,
            self.reason
        )
    }
}

/// One journal segment read into memory, checked, and cut at its first bad record.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    header: Header,
    records: Vec<RawRecord>,
    recovery: Option<Recovery>,
    file_bytes: u64,
}

/// Reads as many bytes as `buf` holds or the file has, whichever is less.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Journal {
    /// Opens one segment: reads it, checks the header and its kind, then checks every record (CRC,
    /// decoding, instrument, `ts_recv` order) and keeps those before the first bad one. Damage in
    /// the records is not an error: it is reported by [`Journal::recovery`].
    ///
    /// # Errors
    /// [`ReplayError::Io`], [`ReplayError::Header`] (a damaged header: nothing in the file can be
    /// trusted), [`ReplayError::WrongKind`] for a tick file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReplayError> {
        Self::open_after(path.as_ref(), i64::MIN)
    }

    /// [`Journal::open`] for a segment whose first record must not precede `previous` (the last
    /// `ts_recv` of the segment before it).
    fn open_after(path: &Path, previous: i64) -> Result<Self, ReplayError> {
        let path = path.to_path_buf();
        let mut file = File::open(&path).map_err(io(&path))?;
        let file_bytes = file.metadata().map_err(io(&path))?.len();
        let mut fixed = [0u8; 64];
        let got = read_up_to(&mut file, &mut fixed).map_err(io(&path))?;
        if got < fixed.len() {
            let source = HeaderError::Truncated { len: got, need: fixed.len() };
            return Err(ReplayError::Header { path, source });
        }
        // The stored header length, bounded by the file: a damaged length makes `Header::parse`
        // report the mismatch instead of making this read allocate it.
        let stored_len = u64::from(u32::from_le_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]));
        let want = usize::try_from(stored_len.clamp(64, file_bytes)).unwrap_or(64);
        let mut head = vec![0u8; want];
        head[..64].copy_from_slice(&fixed);
        file.read_exact(&mut head[64..]).map_err(io(&path))?;
        let header =
            Header::parse(&head).map_err(|source| ReplayError::Header { path: path.clone(), source })?;
        if header.kind != FileKind::Journal {
            return Err(ReplayError::WrongKind { path, found: header.kind, expected: FileKind::Journal });
        }
        let start = header.len_bytes() as u64;
        let body = file_bytes.saturating_sub(start);
        let whole = body / RECORD_SIZE as u64;
        let tail = body % RECORD_SIZE as u64;
        let Ok(count) = usize::try_from(whole) else {
            return Err(io_kind(&path, std::io::ErrorKind::OutOfMemory, "segment too large to read"));
        };
        let mut records = vec![RawRecord::zeroed(); count];
        file.read_exact(bytemuck::cast_slice_mut(&mut records)).map_err(io(&path))?;
        let mut journal = Self { path, header, records, recovery: None, file_bytes };
        journal.scan(previous, tail);
        Ok(journal)
    }

    /// Finds the first bad record (or the torn tail), cuts the records there and records why.
    fn scan(&mut self, mut previous: i64, tail: u64) {
        let count = self.header.instruments.len();
        let mut cut = None;
        for (i, r) in self.records.iter().enumerate() {
            let index = i as u64;
            let offset = self.offset_of(index);
            let computed = checksum(r);
            let problem = if r.crc != computed {
                cut = Some((i, CutReason::BadChecksum { index, offset, stored: r.crc, computed }));
                break;
            } else if let Err(e) = decode(r) {
                RecordProblem::Decode(e)
            } else if usize::from(r.instrument) >= count {
                RecordProblem::UnknownInstrument { instrument: r.instrument, count }
            } else if r.ts_recv < previous {
                RecordProblem::OutOfOrder { previous, found: r.ts_recv }
            } else {
                previous = r.ts_recv;
                continue;
            };
            cut = Some((i, CutReason::BadRecord { index, offset, problem }));
            break;
        }
        let (good, reason) = match cut {
            Some((good, reason)) => (good, reason),
            None if tail > 0 => (self.records.len(), CutReason::TornTail { bytes: tail }),
            None => return,
        };
        self.records.truncate(good);
        let cut_at_offset = self.offset_of(good as u64);
        self.recovery = Some(Recovery {
            path: self.path.clone(),
            good_records: good as u64,
            cut_at_offset,
            dropped_bytes: self.file_bytes - cut_at_offset,
            reason,
        });
    }

    /// Checks the segment at `path` like [`Journal::open`] and truncates it to its last good record
    /// (then fsyncs it), so that appending can resume after a crash. Returns the report, or `None`
    /// when the segment was whole and nothing was changed.
    ///
    /// # Errors
    /// As [`Journal::open`], and [`ReplayError::Io`] when the file cannot be truncated.
    pub fn recover_in_place(path: impl AsRef<Path>) -> Result<Option<Recovery>, ReplayError> {
        Self::recover_after(path.as_ref(), i64::MIN).map(|j| j.recovery)
    }

    /// [`Journal::recover_in_place`] returning the segment as read, for [`JournalWriter`].
    fn recover_after(path: &Path, previous: i64) -> Result<Self, ReplayError> {
        let journal = Self::open_after(path, previous)?;
        if let Some(r) = &journal.recovery {
            let file = OpenOptions::new().write(true).open(path).map_err(io(path))?;
            file.set_len(r.cut_at_offset).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
        }
        Ok(journal)
    }

    /// Opens every segment of the journal at `base` in order (see [`JournalSegments`]). Reading
    /// stops at the first damage: in a segment (its [`Recovery`]) or a missing segment number; the
    /// segments after it are not read and are listed as dropped.
    ///
    /// # Errors
    /// [`ReplayError::Io`] when there is no segment at all (naming segment 1) or one cannot be
    /// read, [`ReplayError::Header`] / [`ReplayError::WrongKind`] for a segment's header, and
    /// [`ReplayError::SegmentTable`] when a segment's instrument table differs from the first's.
    pub fn open_segments(base: impl AsRef<Path>) -> Result<JournalSegments, ReplayError> {
        let base = base.as_ref().to_path_buf();
        let listed = list_segments(&base)?;
        if listed.is_empty() {
            let first = segment_path(&base, 1);
            return Err(io_kind(&first, std::io::ErrorKind::NotFound, "no journal segment"));
        }
        let mut segments: Vec<Self> = Vec::with_capacity(listed.len());
        let mut cut = None;
        let mut previous = i64::MIN;
        for (at, (number, path)) in listed.iter().enumerate() {
            let expected = u32::try_from(at + 1).unwrap_or(u32::MAX);
            let reason = if *number != expected {
                Some(SegmentsCutReason::Missing { number: expected, path: segment_path(&base, expected) })
            } else {
                let journal = Self::open_after(path, previous)?;
                if let Some(first) = segments.first()
                    && first.header.instruments != journal.header.instruments
                {
                    return Err(ReplayError::SegmentTable { path: path.clone(), first: first.path.clone() });
                }
                previous = journal.last_ts_recv().unwrap_or(previous);
                let damaged = journal.recovery.clone();
                segments.push(journal);
                damaged.map(SegmentsCutReason::Damaged)
            };
            if let Some(reason) = reason {
                let rest = &listed[if *number == expected { at + 1 } else { at }..];
                let mut dropped_bytes = match &reason {
                    SegmentsCutReason::Damaged(r) => r.dropped_bytes,
                    SegmentsCutReason::Missing { .. } => 0,
                };
                for (_, p) in rest {
                    dropped_bytes += std::fs::metadata(p).map_err(io(p))?.len();
                }
                let dropped_segments = rest.iter().map(|(_, p)| p.clone()).collect();
                cut = Some(SegmentsCut { reason, dropped_segments, dropped_bytes });
                break;
            }
        }
        Ok(JournalSegments { base, segments, cut })
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header (its instrument table is what the records' `instrument` fields index).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The instrument table.
    pub fn instruments(&self) -> &[Instrument] {
        &self.header.instruments
    }

    /// The good records, in file order: every one passed its CRC, decodes, names an instrument in
    /// the table and keeps `ts_recv` non-decreasing.
    pub fn records(&self) -> &[RawRecord] {
        &self.records
    }

    /// Good records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is readable (a fresh journal, or damage at its first record).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The cut, when the segment was not read to its last byte. `None` means every byte was a
    /// good record.
    pub fn recovery(&self) -> Option<&Recovery> {
        self.recovery.as_ref()
    }

    /// Bytes in the file when it was read (good records, header and any dropped tail).
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Byte offset of record `index` in the file.
    pub fn offset_of(&self, index: u64) -> u64 {
        self.header.len_bytes() as u64 + index * RECORD_SIZE as u64
    }

    /// The last good record's `ts_recv`.
    pub fn last_ts_recv(&self) -> Option<i64> {
        self.records.last().map(|r| r.ts_recv)
    }

    /// The good records decoded, in file order.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        // Every kept record decoded during the scan, so nothing is filtered out here.
        self.records.iter().filter_map(|r| decode(r).ok())
    }
}

/// Why a journal's segments were read only up to a point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentsCutReason {
    /// A segment was cut (it is the last of [`JournalSegments::segments`]).
    Damaged(Recovery),
    /// A segment number is missing while later ones exist.
    Missing {
        /// The missing number.
        number: u32,
        /// The path it would have.
        path: PathBuf,
    },
}

/// The report of a journal whose segments were read only up to a point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentsCut {
    /// Where and why reading stopped.
    pub reason: SegmentsCutReason,
    /// The segments after the cut, present but not read.
    pub dropped_segments: Vec<PathBuf>,
    /// Bytes not returned: the damaged segment's dropped tail plus the dropped segments' sizes.
    pub dropped_bytes: u64,
}

/// A whole journal: its segments in order, read up to the first damage.
#[derive(Debug)]
pub struct JournalSegments {
    base: PathBuf,
    segments: Vec<Journal>,
    cut: Option<SegmentsCut>,
}

impl JournalSegments {
    /// The journal's base path (segments are `<base>.NNNNNN.kj`).
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The segments read, in order; the last may be cut (see [`JournalSegments::cut`]).
    pub fn segments(&self) -> &[Journal] {
        &self.segments
    }

    /// The instrument table, the same in every segment.
    pub fn instruments(&self) -> &[Instrument] {
        self.segments.first().map_or(&[], |s| s.instruments())
    }

    /// Where reading stopped before the end, if it did. `None` means every segment was whole.
    pub fn cut(&self) -> Option<&SegmentsCut> {
        self.cut.as_ref()
    }

    /// Good records in all segments.
    pub fn len(&self) -> usize {
        self.segments.iter().map(Journal::len).sum()
    }

    /// Whether no record is readable.
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(Journal::is_empty)
    }

    /// Every good record, segment after segment.
    pub fn records(&self) -> impl Iterator<Item = &RawRecord> + '_ {
        self.segments.iter().flat_map(Journal::records)
    }

    /// Every good record decoded, segment after segment.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        self.segments.iter().flat_map(Journal::events)
    }
}

/// Appends events to a journal, rolling over to a new segment at
/// [`JournalConfig::segment_bytes`]. See the module docs for what survives a crash.
#[derive(Debug)]
pub struct JournalWriter {
    base: PathBuf,
    config: JournalConfig,
    instruments: Vec<Instrument>,
    header_bytes: Vec<u8>,
    segment: u32,
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    segment_len: u64,
    records: u64,
    last_recv: i64,
    failed: bool,
}

/// fsyncs `path`'s folder so that a rename or creation in it is durable (best effort: not every
/// filesystem supports fsync on a folder).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// Creates a segment holding only `header`: temporary file, fsync, rename, fsync of the folder. The
/// returned handle is positioned after the header, ready to append.
fn create_segment(path: &Path, header: &[u8]) -> Result<File, ReplayError> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(io_kind(path, std::io::ErrorKind::AlreadyExists, "journal segment already exists"));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file =
        OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&tmp).map_err(io(&tmp))?;
    file.write_all(header).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_parent(path);
    Ok(file)
}

impl JournalWriter {
    /// Starts a journal at `base` with the default segment size: creates `<base>.000001.kj`.
    ///
    /// # Errors
    /// As [`JournalWriter::create_with`].
    pub fn create(base: impl AsRef<Path>, instruments: Vec<Instrument>) -> Result<Self, ReplayError> {
        Self::create_with(base, instruments, JournalConfig::default())
    }

    /// Starts a journal at `base` whose segments roll over at `config.segment_bytes`.
    ///
    /// # Errors
    /// [`ReplayError::Io`] (`AlreadyExists`) when a segment of `base` exists already (a journal is
    /// never overwritten), or when the first segment cannot be created; [`ReplayError::Table`] when
    /// an instrument does not fit the table.
    pub fn create_with(
        base: impl AsRef<Path>,
        instruments: Vec<Instrument>,
        config: JournalConfig,
    ) -> Result<Self, ReplayError> {
        let base = base.as_ref().to_path_buf();
        if let Some((_, existing)) = list_segments(&base)?.first() {
            return Err(io_kind(existing, std::io::ErrorKind::AlreadyExists, "journal already exists"));
        }
        let path = segment_path(&base, 1);
        let header = Header { kind: FileKind::Journal, instruments, record_count: 0 };
        let header_bytes =
            header.to_bytes().map_err(|reason| ReplayError::Table { path: path.clone(), reason })?;
        let file = create_segment(&path, &header_bytes)?;
        Ok(Self {
            base,
            config,
            instruments: header.instruments,
            segment_len: header_bytes.len() as u64,
            header_bytes,
            segment: 1,
            path,
            file,
            buf: Vec::with_capacity(BUFFER_BYTES + RECORD_SIZE),
            records: 0,
            last_recv: i64::MIN,
            failed: false,
        })
    }

    /// Reopens the journal at `base` for appending, with the default segment size.
    ///
    /// # Errors
    /// As [`JournalWriter::open_append_with`].
    pub fn open_append(base: impl AsRef<Path>) -> Result<(Self, Option<Recovery>), ReplayError> {
        Self::open_append_with(base, JournalConfig::default())
    }

    /// Reopens the journal at `base` for appending: recovers its last segment first (truncating a
    /// torn or corrupt tail, see [`Journal::recover_in_place`]) and returns that report with the
    /// writer, so a crash's damage is never silently written over. Appending continues after the
    /// last good record, with the same instrument table and `ts_recv` order.
    ///
    /// Only the last two segments are read (the one before gives the `ts_recv` to continue from),
    /// so reopening costs the same for a long journal as for a short one. Damage in an older
    /// segment is not looked for here: no crash can cause it (each segment was fsynced before the
    /// next existed), and [`Journal::open_segments`] finds and reports it when the journal is read.
    ///
    /// # Errors
    /// [`ReplayError::Io`] (`NotFound`, naming segment 1) when there is no segment;
    /// [`ReplayError::MissingSegment`] when the numbering has a gap;
    /// [`ReplayError::DamagedSegment`] when the segment before the last is damaged (appending would
    /// strand the last one behind the damage); [`ReplayError::SegmentTable`] when the last two
    /// segments' tables differ; the errors of [`Journal::open`].
    pub fn open_append_with(
        base: impl AsRef<Path>,
        config: JournalConfig,
    ) -> Result<(Self, Option<Recovery>), ReplayError> {
        let base = base.as_ref().to_path_buf();
        let listed = list_segments(&base)?;
        let Some((last_number, last_path)) = listed.last().cloned() else {
            let first = segment_path(&base, 1);
            return Err(io_kind(&first, std::io::ErrorKind::NotFound, "no journal segment"));
        };
        for (at, (number, _)) in listed.iter().enumerate() {
            let expected = u32::try_from(at + 1).unwrap_or(u32::MAX);
            if *number != expected {
                return Err(ReplayError::MissingSegment { path: segment_path(&base, expected) });
            }
        }
        let mut previous = i64::MIN;
        let mut earlier_bytes = Vec::new();
        let mut earlier_records = 0u64;
        let mut before: Option<Journal> = None;
        if let Some(at) = listed.len().checked_sub(2) {
            for (_, p) in &listed[..at] {
                earlier_bytes.push(std::fs::metadata(p).map_err(io(p))?.len());
            }
            let prior = Journal::open(&listed[at].1)?;
            if let Some(r) = prior.recovery() {
                return Err(ReplayError::DamagedSegment {
                    path: r.path.clone(),
                    offset: r.cut_at_offset,
                    reason: r.reason,
                });
            }
            previous = prior.last_ts_recv().unwrap_or(previous);
            earlier_records += prior.len() as u64;
            before = Some(prior);
        }
        let last = Journal::recover_after(&last_path, previous)?;
        if let Some(prior) = &before
            && prior.instruments() != last.instruments()
        {
            return Err(ReplayError::SegmentTable { path: last_path, first: prior.path.clone() });
        }
        let header =
            Header { kind: FileKind::Journal, instruments: last.header.instruments.clone(), record_count: 0 };
        let header_bytes =
            header.to_bytes().map_err(|reason| ReplayError::Table { path: last_path.clone(), reason })?;
        let header_len = header_bytes.len() as u64;
        earlier_records +=
            earlier_bytes.iter().map(|b| b.saturating_sub(header_len) / RECORD_SIZE as u64).sum::<u64>();
        let mut file = OpenOptions::new().write(true).open(&last_path).map_err(io(&last_path))?;
        let segment_len = file.seek(SeekFrom::End(0)).map_err(io(&last_path))?;
        let writer = Self {
            base,
            config,
            instruments: header.instruments,
            header_bytes,
            segment: last_number,
            path: last_path,
            file,
            buf: Vec::with_capacity(BUFFER_BYTES + RECORD_SIZE),
            segment_len,
            records: earlier_records + last.len() as u64,
            last_recv: last.last_ts_recv().unwrap_or(previous),
            failed: false,
        };
        Ok((writer, last.recovery))
    }

    /// The journal's base path.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The segment being appended to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of the segment being appended to (from 1).
    pub fn segment(&self) -> u32 {
        self.segment
    }

    /// The instrument table every segment carries.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// Records in the journal, all segments (earlier segments counted from their lengths).
    pub fn len(&self) -> u64 {
        self.records
    }

    /// Whether the journal holds no record.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The configuration in use.
    pub fn config(&self) -> JournalConfig {
        self.config
    }

    /// Appends one event (encoded, then as [`JournalWriter::append_raw`]).
    ///
    /// # Errors
    /// As [`JournalWriter::append_raw`].
    pub fn append(&mut self, ev: &Event) -> Result<(), ReplayError> {
        self.append_raw(&encode(ev))
    }

    /// Appends one record, setting its `crc`: any kind, market or journal-only. The record is
    /// checked as a reader would check it, so the writer never writes what would cut the journal;
    /// a refused record leaves the journal unchanged.
    ///
    /// # Errors
    /// [`ReplayError::OutOfOrder`] when its `ts_recv` is before the previous record's,
    /// [`ReplayError::UnknownInstrument`], [`ReplayError::BadRecord`] when it does not decode (each
    /// naming the segment and the place the record would have taken); [`ReplayError::Io`] when a
    /// write or a rollover fails, after which the writer refuses every call (reopen it with
    /// [`JournalWriter::open_append`], which cuts whatever the failure left).
    pub fn append_raw(&mut self, r: &RawRecord) -> Result<(), ReplayError> {
        self.usable()?;
        let offset = self.segment_len;
        let index = (offset - self.header_bytes.len() as u64) / RECORD_SIZE as u64;
        if r.ts_recv < self.last_recv {
            return Err(ReplayError::OutOfOrder {
                path: self.path.clone(),
                index,
                offset,
                previous: self.last_recv,
                found: r.ts_recv,
            });
        }
        if usize::from(r.instrument) >= self.instruments.len() {
            return Err(ReplayError::UnknownInstrument {
                path: self.path.clone(),
                index,
                offset,
                instrument: r.instrument,
                count: self.instruments.len(),
            });
        }
        if let Err(source) = decode(r) {
            return Err(ReplayError::BadRecord { path: self.path.clone(), index, offset, source });
        }
        let has_records = self.segment_len > self.header_bytes.len() as u64;
        if has_records && self.segment_len + RECORD_SIZE as u64 > self.config.segment_bytes {
            self.roll_over()?;
        }
        let mut sealed = *r;
        sealed.crc = checksum(r);
        self.buf.extend_from_slice(bytemuck::bytes_of(&sealed));
        self.segment_len += RECORD_SIZE as u64;
        self.records += 1;
        self.last_recv = r.ts_recv;
        if self.buf.len() >= BUFFER_BYTES {
            self.write_out()?;
        }
        Ok(())
    }

    /// Hands the buffered records to the operating system (no fsync): they then survive a crash of
    /// this process, not of the machine.
    ///
    /// # Errors
    /// [`ReplayError::Io`]; the writer then refuses every call.
    pub fn flush(&mut self) -> Result<(), ReplayError> {
        self.usable()?;
        self.write_out()
    }

    /// Makes every record appended so far durable: flush, then `fdatasync` of the segment. After
    /// it returns `Ok`, those records survive a power loss (module docs).
    ///
    /// # Errors
    /// [`ReplayError::Io`]; the writer then refuses every call, since a failed fsync may have lost
    /// pages the kernel will not write again.
    pub fn sync(&mut self) -> Result<(), ReplayError> {
        self.usable()?;
        self.write_out()?;
        if let Err(source) = self.file.sync_data() {
            self.failed = true;
            return Err(ReplayError::Io { path: self.path.clone(), source });
        }
        Ok(())
    }

    fn usable(&self) -> Result<(), ReplayError> {
        if self.failed {
            return Err(io_kind(
                &self.path,
                std::io::ErrorKind::Other,
                "an earlier write failed; reopen the journal with open_append",
            ));
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<(), ReplayError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(source) = self.file.write_all(&self.buf) {
            self.failed = true;
            return Err(ReplayError::Io { path: self.path.clone(), source });
        }
        self.buf.clear();
        Ok(())
    }

    /// Completes the current segment durably, then starts the next one.
    fn roll_over(&mut self) -> Result<(), ReplayError> {
        self.write_out()?;
        if let Err(source) = self.file.sync_data() {
            self.failed = true;
            return Err(ReplayError::Io { path: self.path.clone(), source });
        }
        let next = self.segment.saturating_add(1);
        let path = segment_path(&self.base, next);
        match create_segment(&path, &self.header_bytes) {
            Ok(file) => {
                self.file = file;
                self.path = path;
                self.segment = next;
                self.segment_len = self.header_bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

impl Drop for JournalWriter {
    /// Hands buffered records to the operating system (no fsync: call [`JournalWriter::sync`]
    /// for durability); a failure here cannot be reported and is left for the next open to cut.
    fn drop(&mut self) {
        if !self.failed {
            let _ = self.write_out();
        }
    }
}

#[cfg(test)]
mod tests;
