//! Tick files: the streaming writer (temp file, fsync, rename) and the memory-mapped reader with
//! typed validation.
//!
//! # Safety of the mapping
//! Tick files are written once, renamed into place and never modified; a concurrent truncation by
//! another process would raise SIGBUS, which is documented here rather than defended against (as
//! ripgrep does).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use kestrel_types::{Event, Instrument, Timestamp};
use memmap2::Mmap;

use crate::error::ReplayError;
use crate::format::{FileKind, Header, RECORD_SIZE, RawRecord, RecordKind, decode, encode};

/// Writes a tick file: records go to a temporary file beside the target, which becomes the target
/// only when [`TickWriter::finish`] has flushed and fsynced it. An unfinished writer leaves nothing
/// behind under the target name.
#[derive(Debug)]
pub struct TickWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
    header: Header,
    last_recv: i64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io { path: path.to_path_buf(), source }
}

impl TickWriter {
    /// Starts a tick file for `instruments` at `path`.
    ///
    /// # Errors
    /// [`ReplayError::Io`] when the temporary file cannot be created; [`ReplayError::Table`] when an
    /// instrument does not fit the table.
    pub fn create(path: impl AsRef<Path>, instruments: Vec<Instrument>) -> Result<Self, ReplayError> {
        let path = path.as_ref().to_path_buf();
        let mut tmp = path.clone().into_os_string();
        tmp.push(format!(".tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let header = Header { kind: FileKind::Tick, instruments, record_count: 0 };
        let bytes = header.to_bytes().map_err(|reason| ReplayError::Table { path: path.clone(), reason })?;
        let file = File::create(&tmp).map_err(io(&tmp))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&bytes).map_err(io(&tmp))?;
        Ok(Self { path, tmp, out: Some(out), header, last_recv: i64::MIN })
    }

    /// Records written so far.
    pub fn len(&self) -> u64 {
        self.header.record_count
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.header.record_count == 0
    }

    /// Appends one event.
    ///
    /// # Errors
    /// [`ReplayError::OutOfOrder`] when its `ts_recv` is before the previous one's,
    /// [`ReplayError::UnknownInstrument`], [`ReplayError::MisplacedKind`] for a journal-only kind,
    /// [`ReplayError::Io`]; the file is unchanged by a refused event.
    pub fn push(&mut self, ev: &Event) -> Result<(), ReplayError> {
        self.push_raw(&encode(ev))
    }

    /// Appends one already encoded record (same checks as [`TickWriter::push`]).
    ///
    /// # Errors
    /// As [`TickWriter::push`].
    pub fn push_raw(&mut self, r: &RawRecord) -> Result<(), ReplayError> {
        let index = self.header.record_count;
        let offset = (self.header.len_bytes() as u64) + index * RECORD_SIZE as u64;
        if r.ts_recv < self.last_recv {
            return Err(ReplayError::OutOfOrder {
                path: self.path.clone(),
                index,
                offset,
                previous: self.last_recv,
                found: r.ts_recv,
            });
        }
        if usize::from(r.instrument) >= self.header.instruments.len() {
            return Err(ReplayError::UnknownInstrument {
                path: self.path.clone(),
                index,
                offset,
                instrument: r.instrument,
                count: self.header.instruments.len(),
            });
        }
        if RecordKind::try_from(r.kind).is_ok_and(RecordKind::is_journal_only) {
            let kind = RecordKind::try_from(r.kind).map_or("?", RecordKind::name);
            return Err(ReplayError::MisplacedKind {
                path: self.path.clone(),
                index,
                offset,
                kind,
                file: FileKind::Tick,
            });
        }
        let Some(out) = self.out.as_mut() else { return Ok(()) };
        out.write_all(bytemuck::bytes_of(r)).map_err(io(&self.tmp))?;
        self.last_recv = r.ts_recv;
        self.header.record_count += 1;
        Ok(())
    }

    /// Byte offset that record `index` has (or will have) in the file.
    pub fn offset_of(&self, index: u64) -> u64 {
        self.header.len_bytes() as u64 + index * RECORD_SIZE as u64
    }

    /// Appends `count` already validated records read from `src` (raw, `RECORD_SIZE` bytes each,
    /// as [`TickWriter::push_raw`] would write them), the last of which has `ts_recv == last_recv`.
    ///
    /// Unlike [`TickWriter::push_raw`] this does **not** check order, instruments or kinds: the
    /// caller vouches that the records were checked as they were produced (the converter's
    /// collector does exactly `push_raw`'s checks at push time). In return the bytes move with one
    /// `std::io::copy` between files, which on Linux is an in-kernel `copy_file_range` — no read,
    /// decode and re-write per record. Debug builds still check the order at the seam.
    ///
    /// # Errors
    /// [`ReplayError::Io`] on a failed copy, or when `src` does not hold exactly `count` records;
    /// the writer is then unusable (dropping it removes the temporary file).
    pub fn append_validated_from(
        &mut self,
        src: &mut File,
        count: u64,
        last_recv: i64,
    ) -> Result<(), ReplayError> {
        debug_assert!(count == 0 || last_recv >= self.last_recv, "records out of order at the seam");
        let Some(out) = self.out.as_mut() else { return Ok(()) };
        out.flush().map_err(io(&self.tmp))?;
        let copied = std::io::copy(src, out.get_mut()).map_err(io(&self.tmp))?;
        let expected = count * RECORD_SIZE as u64;
        if copied != expected {
            let source = std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("copied {copied} bytes of records, expected {expected}"),
            );
            return Err(ReplayError::Io { path: self.tmp.clone(), source });
        }
        if count > 0 {
            self.last_recv = last_recv;
        }
        self.header.record_count += count;
        Ok(())
    }

    /// Completes the file: header with the final count, flush, fsync, rename into place, fsync the
    /// folder. Returns the number of records.
    ///
    /// # Errors
    /// [`ReplayError::Io`] at any step; the target is then untouched.
    pub fn finish(mut self) -> Result<u64, ReplayError> {
        let Some(out) = self.out.take() else { return Ok(self.header.record_count) };
        let mut file = out
            .into_inner()
            .map_err(|e| ReplayError::Io { path: self.tmp.clone(), source: e.into_error() })?;
        let bytes = self
            .header
            .to_bytes()
            .map_err(|reason| ReplayError::Table { path: self.path.clone(), reason })?;
        file.seek(SeekFrom::Start(0)).map_err(io(&self.tmp))?;
        file.write_all(&bytes).map_err(io(&self.tmp))?;
        file.sync_all().map_err(io(&self.tmp))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(io(&self.path))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            // Makes the rename durable; not every filesystem supports fsync on a folder.
            let _ = d.sync_all();
        }
        Ok(self.header.record_count)
    }
}

impl Drop for TickWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            // Unfinished: remove the temporary file; the target name never saw it.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Per-kind counts and the time range of a file, from a full validation pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records.
    pub records: u64,
    /// Records per kind, in [`RecordKind::ALL`] order.
    pub per_kind: [u64; RecordKind::ALL.len()],
    /// First `ts_recv`.
    pub first: Option<Timestamp>,
    /// Last `ts_recv`.
    pub last: Option<Timestamp>,
}

/// An open, memory-mapped tick file whose header has been checked.
#[derive(Debug)]
pub struct TickFile {
    path: PathBuf,
    map: Mmap,
    header: Header,
    start: usize,
}

impl TickFile {
    /// Opens and maps `path`, checking the header, the kind, and that the body is a whole number
    /// of records matching the header's count.
    ///
    /// # Errors
    /// [`ReplayError`] naming the file and what is wrong.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReplayError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        if len < 64 {
            let source = crate::format::header::HeaderError::Truncated {
                len: usize::try_from(len).unwrap_or(0),
                need: 64,
            };
            return Err(ReplayError::Header { path, source });
        }
        // SAFETY: tick files are written once, renamed into place and never modified (module docs);
        // the mapping is read-only.
        #[allow(unsafe_code, reason = "memory-mapping an immutable tick file")]
        let map = unsafe { Mmap::map(&file) }.map_err(io(&path))?;
        let header =
            Header::parse(&map).map_err(|source| ReplayError::Header { path: path.clone(), source })?;
        if header.kind != FileKind::Tick {
            return Err(ReplayError::WrongKind { path, found: header.kind, expected: FileKind::Tick });
        }
        let start = header.len_bytes();
        let body = (map.len() - start) as u64;
        let records = body / RECORD_SIZE as u64;
        let extra = body % RECORD_SIZE as u64;
        if extra != 0 {
            return Err(ReplayError::Truncated {
                path,
                records,
                offset: start as u64 + records * RECORD_SIZE as u64,
                extra,
            });
        }
        if records != header.record_count {
            return Err(ReplayError::CountMismatch { path, header: header.record_count, found: records });
        }
        Ok(Self { path, map, header, start })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header (kind, instrument table, count).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Bytes in the file.
    pub fn file_bytes(&self) -> u64 {
        self.map.len() as u64
    }

    /// The records, cast from the mapping without copying.
    pub fn records(&self) -> &[RawRecord] {
        // The mapping is page-aligned and the header a multiple of 64 bytes, so the body is aligned
        // for RawRecord (alignment 8) and a whole number of records (checked in `open`).
        bytemuck::try_cast_slice(&self.map[self.start..]).unwrap_or(&[])
    }

    /// Byte offset of record `index`.
    pub fn offset_of(&self, index: u64) -> u64 {
        self.start as u64 + index * RECORD_SIZE as u64
    }

    /// Checks every record: known kind and flags, an instrument in the table, no journal-only kind,
    /// `ts_recv` never decreasing. Returns counts and the time range.
    ///
    /// # Errors
    /// The first bad record, as a [`ReplayError`] naming its index and offset.
    pub fn validate(&self) -> Result<Stats, ReplayError> {
        let mut stats = Stats::default();
        let mut previous = i64::MIN;
        let count = self.header.instruments.len();
        for (i, r) in self.records().iter().enumerate() {
            let index = i as u64;
            let offset = self.offset_of(index);
            let path = || self.path.clone();
            let ev =
                decode(r).map_err(|source| ReplayError::BadRecord { path: path(), index, offset, source })?;
            let kind = RecordKind::try_from(r.kind).map_err(|k| ReplayError::BadRecord {
                path: path(),
                index,
                offset,
                source: crate::format::record::DecodeError::UnknownKind(k),
            })?;
            if kind.is_journal_only() {
                return Err(ReplayError::MisplacedKind {
                    path: path(),
                    index,
                    offset,
                    kind: kind.name(),
                    file: FileKind::Tick,
                });
            }
            if usize::from(r.instrument) >= count {
                return Err(ReplayError::UnknownInstrument {
                    path: path(),
                    index,
                    offset,
                    instrument: r.instrument,
                    count,
                });
            }
            if r.ts_recv < previous {
                return Err(ReplayError::OutOfOrder {
                    path: path(),
                    index,
                    offset,
                    previous,
                    found: r.ts_recv,
                });
            }
            previous = r.ts_recv;
            if let Some(k) = RecordKind::ALL.iter().position(|k| *k == kind) {
                stats.per_kind[k] += 1;
            }
            stats.first.get_or_insert(ev.ts_recv);
            stats.last = Some(ev.ts_recv);
            stats.records += 1;
        }
        Ok(stats)
    }

    /// The events in file order, each decoded (and refused with its index and offset if it does
    /// not decode). Ordering and instruments are [`TickFile::validate`]'s job.
    pub fn events(&self) -> impl Iterator<Item = Result<Event, ReplayError>> + '_ {
        self.records().iter().enumerate().map(move |(i, r)| {
            decode(r).map_err(|source| ReplayError::BadRecord {
                path: self.path.clone(),
                index: i as u64,
                offset: self.offset_of(i as u64),
                source,
            })
        })
    }
}

#[cfg(test)]
mod tests;
