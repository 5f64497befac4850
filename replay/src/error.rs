//! `ReplayError`: what can go wrong reading or writing tick files and journals. Every variant names
//! the file; record-level variants name the record index and its byte offset.

use std::path::PathBuf;

use crate::format::header::HeaderError;
use crate::format::record::DecodeError;

/// A tick-file or journal error.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be opened, read, written or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The header is not valid.
    #[error("{path}: {source}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: HeaderError,
    },
    /// The body is not a whole number of records: the file was cut short.
    #[error("{path}: truncated: {extra} stray bytes after record {records} (byte {offset})")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Whole records present.
        records: u64,
        /// Offset of the partial record.
        offset: u64,
        /// Its length.
        extra: u64,
    },
    /// The header's record count disagrees with the file's length.
    #[error("{path}: header says {header} records, the file holds {found}")]
    CountMismatch {
        /// The file.
        path: PathBuf,
        /// Count in the header.
        header: u64,
        /// Records in the body.
        found: u64,
    },
    /// A record that does not decode.
    #[error("{path}: record {index} at byte {offset}: {source}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// Record index.
        index: u64,
        /// Byte offset.
        offset: u64,
        /// What is wrong.
        source: DecodeError,
    },
    /// A record for an instrument the table does not have.
    #[error(
        "{path}: record {index} at byte {offset}: instrument {instrument} is not in the table ({count} entries)"
    )]
    UnknownInstrument {
        /// The file.
        path: PathBuf,
        /// Record index.
        index: u64,
        /// Byte offset.
        offset: u64,
        /// The instrument index found.
        instrument: u16,
        /// Table size.
        count: usize,
    },
    /// `ts_recv` went backwards within the file.
    #[error(
        "{path}: record {index} at byte {offset}: ts_recv {found} is before the previous record's {previous}"
    )]
    OutOfOrder {
        /// The file.
        path: PathBuf,
        /// Record index.
        index: u64,
        /// Byte offset.
        offset: u64,
        /// The previous record's `ts_recv`.
        previous: i64,
        /// This record's `ts_recv`.
        found: i64,
    },
    /// A journal record whose CRC32C does not match.
    #[error(
        "{path}: record {index} at byte {offset}: checksum {stored:#010x} does not match {computed:#010x}"
    )]
    BadChecksum {
        /// The file.
        path: PathBuf,
        /// Record index.
        index: u64,
        /// Byte offset.
        offset: u64,
        /// Stored CRC32C.
        stored: u32,
        /// Computed CRC32C.
        computed: u32,
    },
    /// A file of the other kind (a journal opened as a tick file, or the reverse).
    #[error("{path}: is a {found:?} file, expected a {expected:?} file")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// Its kind.
        found: crate::format::FileKind,
        /// The kind asked for.
        expected: crate::format::FileKind,
    },
    /// A record kind that only journals may hold, in a tick file (or the reverse).
    #[error("{path}: record {index} at byte {offset}: a {kind} record does not belong in a {file:?} file")]
    MisplacedKind {
        /// The file.
        path: PathBuf,
        /// Record index.
        index: u64,
        /// Byte offset.
        offset: u64,
        /// The record's kind name.
        kind: &'static str,
        /// The file's kind.
        file: crate::format::FileKind,
    },
    /// The instrument table cannot be written (a symbol too long, say).
    #[error("{path}: {reason}")]
    Table {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A journal segment whose instrument table differs from an earlier segment's: the records'
    /// instrument indices would mean different things, so the segments are not one journal.
    #[error("{path}: instrument table differs from the one in {first}")]
    SegmentTable {
        /// The segment.
        path: PathBuf,
        /// The earlier segment it was compared with.
        first: PathBuf,
    },
    /// A journal segment number is missing while later segments exist: appending would continue a
    /// journal with a hole in it.
    #[error("{path}: journal segment missing (later segments exist)")]
    MissingSegment {
        /// The path the missing segment would have.
        path: PathBuf,
    },
    /// A journal segment that is not the last is damaged: appending after the last would strand
    /// records behind the damage, where no reader returns them.
    #[error(
        "{path}: damaged at byte {offset} ({reason}) and later segments exist; appending would strand them"
    )]
    DamagedSegment {
        /// The damaged segment.
        path: PathBuf,
        /// Where its readable part ends.
        offset: u64,
        /// What was found there.
        reason: crate::journal::CutReason,
    },
    /// Two files being merged have an instrument of the same symbol and venue with different
    /// specifications (tick, lot, decimals, multiplier, currencies): one merged table cannot hold
    /// both without changing the meaning of someone's prices.
    #[error(
        "{path}: instrument {instrument} ({symbol}) differs from the instrument of that symbol and venue in {first}"
    )]
    InstrumentConflict {
        /// The file whose instrument conflicts.
        path: PathBuf,
        /// Its index in that file's table.
        instrument: u16,
        /// Its symbol.
        symbol: String,
        /// The file that brought the instrument into the merged table first.
        first: PathBuf,
    },
}
