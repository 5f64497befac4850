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
}
