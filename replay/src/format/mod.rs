//! Kestrel's tick-file and journal format, version 1.
//!
//! A file is a header followed by fixed 64-byte records. Everything is little-endian. Tick files are
//! written once (to a temporary file, fsynced, then renamed) and never modified; journals are
//! append-only and every record carries a CRC32C so that a torn or corrupt tail is found.
//!
//! # Header
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `KESTRELT` |
//! | 8 | 2 | version (1) |
//! | 10 | 2 | record size (64) |
//! | 12 | 1 | file kind: 1 tick file, 2 journal |
//! | 13 | 3 | reserved, zero |
//! | 16 | 4 | header length in bytes: where records start (a multiple of 64) |
//! | 20 | 4 | number of instruments |
//! | 24 | 8 | number of records (tick files; 0 in journals, whose length decides) |
//! | 32 | 4 | CRC32C of the header with this field zeroed |
//! | 36 | 28 | reserved, zero |
//! | 64 | 128 × n | instrument table (below) |
//!
//! Instrument entry (128 bytes): symbol (32 bytes, UTF-8, zero-padded), venue `u8`, display decimals
//! `u8`, 6 reserved bytes, tick size `i64`, lot size `i64`, multiplier `i64` (nano-units), quote
//! currency (12 bytes, zero-padded), settlement currency (12 bytes), 48 reserved bytes.
//!
//! # Records
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | `ts_event`: ns since the epoch, when the venue says it happened |
//! | 8 | 8 | `ts_recv`: ns since the epoch, when it reached the recorder (the replay order) |
//! | 16 | 1 | kind ([`RecordKind`]) |
//! | 17 | 1 | flags: bits 0–1 side or aggressor (0 none, 1 bid/buy, 2 ask/sell), bits 2–7 per kind |
//! | 18 | 2 | instrument (index into the table) |
//! | 20 | 4 | CRC32C of the record with this field zeroed (journals; 0 in tick files) |
//! | 24 | 8 × 5 | fields `a`..`e` (nano-units or ids, per kind) |
//!
//! | kind | a | b | c | d | e | flags bits 2–7 |
//! |---|---|---|---|---|---|---|
//! | 1 trade | price | size | | | trade id | |
//! | 2 quote | bid | bid size | ask | ask size | | |
//! | 3 level | price | size (absolute; 0 removes) | | | | |
//! | 4 book clear, 5 snapshot begin, 6 snapshot end | | | | | | |
//! | 7 order (L3) | price | size | | | venue order id | action 1 add, 2 cancel, 3 modify, 4 fill |
//! | 8 bar | open | high | low | close | volume | |
//! | 16 execution | order id | quantity | price | fee | execution seq | status code |
//! | 17 command | order id | quantity | price | second price | | bits 2–3 kind (1 submit, 2 cancel, 3 amend), 4–7 exec type code |
//! | 18 timer | timer id | | | | | |
//!
//! Within a file, `ts_recv` never decreases: a reader refuses a file where it does.

pub mod header;
pub mod record;

pub use header::{FileKind, Header, INSTRUMENT_ENTRY, MAGIC, VERSION};
pub use record::{RECORD_SIZE, RawRecord, RecordKind, decode, encode};
