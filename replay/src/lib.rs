//! Kestrel's backtest input: market-data files in, time-ordered events out.
//!
//! # What this crate will own
//! `shared/ARCHITECTURE.md` §7: the tick-file format (a header with an instrument table, then 64-byte
//! `#[repr(C)]` records), its writer, converters from vendor formats, the memory-mapped reader, the
//! k-way merge by `(timestamp, file index, record index)`, and the `Replayer` that calls
//! `Engine::on_event` on the same thread, with the SimBroker behind a latency model.
//!
//! # What is here now
//! - [`bars`]: backtrader's and Yahoo's daily/intraday bar CSVs read into exact [`bars::Bar`]s, with the
//!   timestamps, date window and validation that the conformance scenarios (`FORMAT.md` §1.1) expect.
//! - [`synth`]: seeded synthetic bars (a random walk), and a writer of backtrader CSV so that
//!   backtrader can run on exactly the same bars.
//! - [`format`]: the versioned tick-file and journal format (header, instrument table, 64-byte
//!   records), documented there byte by byte; [`tick`]: its streaming writer (temp file, fsync,
//!   rename) and memory-mapped reader with typed validation errors ([`ReplayError`]).
//! - [`generate`]: seeded synthetic tick data (trades, quotes, both mixed, an L2 book, bars) of any
//!   length, streamed straight into a [`tick::TickWriter`] in constant memory, the same bytes for the
//!   same seed.
//! - [`journal`]: the live engine's append-only journal: CRC32C per record, segments rolled over at
//!   a size, torn or corrupt tails cut at the last good record and reported ([`journal::Recovery`]),
//!   never read past; [`merge`]: the k-way merge of tick files and journals by `(ts_recv, file,
//!   record)`, raw or decoded onto one merged instrument table.
//! - [`convert`]: vendor formats into tick files (`kestrel convert`), one reader module per format,
//!   all feeding a [`convert::Collector`] that infers the instrument table, counts malformed and
//!   off-grid rows and writes the file.
//! - [`data_root`]: where the shared data files are (`$KESTREL_DATA_ROOT`, else the nearest
//!   `shared/data` above a starting folder), as the conformance oracle finds them.

pub mod bars;
pub mod convert;
mod data_root;
mod error;
pub mod format;
pub mod generate;
pub mod journal;
pub mod merge;
pub mod replayer;
pub mod synth;
#[cfg(test)]
mod test_support;
pub mod tick;

pub use data_root::{DATA_ROOT_ENV, DataRootError, data_root};
pub use error::ReplayError;
