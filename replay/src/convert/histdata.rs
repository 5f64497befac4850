//! HistData.com ASCII FX ticks (`histdata`): `YYYYMMDD HHMMSSmmm,bid,ask,volume`, no header.
//!
//! # Time
//! HistData states that its clock is Eastern Standard Time *without* daylight saving: UTC−5 all
//! year. The text clock is therefore read as a naive date-time and moved 5 hours forward, so
//! `20200101 170000065` is 2020-01-01T22:00:00.065Z, in summer as in winter (using a US/Eastern
//! zone with DST would put every summer tick an hour off). The milliseconds are glued to the
//! seconds (`HHMMSSmmm`, nine digits). One clock stamps both `ts_event` and `ts_recv`: the file has
//! no second one.
//!
//! # Values
//! Each row becomes a [`Quote`]. HistData publishes no sizes (its `volume` column is 0 on every
//! tick file seen), so `bid_size` and `ask_size` are [`Qty::ZERO`]: inventing a size would put a
//! made-up liquidity figure into backtests. Note what that means downstream: the engine's
//! `MarketState::best_bid`/`best_ask` want a positive size, and the L1 fill model fills resting
//! orders against the quoted size, so a zero-size quote is a price without liquidity. The
//! `volume` column is still checked (an exact, non-negative decimal) so that a shifted or damaged
//! row is caught, then dropped. Prices must be positive (an FX rate of 0 is damage, not data);
//! a crossed quote (bid above ask) is kept as the vendor wrote it.
//!
//! # Symbol
//! From the file name, which is all the file says about it: `EURUSD_ticks_….csv` or HistData's own
//! `DAT_ASCII_EURUSD_T_202001.csv` → `EURUSD`; anything else → `UNKNOWN` (give `--instrument
//! symbol=…`). The venue is `VenueId(0)`.
//!
//! # Strictness
//! Wrong field count, a date or time that does not exist, a bad number, a non-positive price, a
//! negative volume, or time going back → a malformed row naming the file and 1-based line. Blank
//! lines are passed over. Gzipped input is read like plain text.

use std::path::Path;

use chrono::NaiveDate;
use kestrel_types::{Event, InstrumentId, NANOS_PER_SEC, Payload, Price, Qty, Quote, Timestamp, VenueId};

use super::tardis::{
    Clock, Fault, Fields, Lines, Next, column, decimal, is_blank, settle, shorten, size, text,
};
use super::{Collector, ConvertError, Format};

/// HistData's clock is UTC−5 all year: add this to its readings for UTC.
const EST_OFFSET_NANOS: i64 = 5 * 3600 * NANOS_PER_SEC;

/// The column names, for errors.
const NAMES: [&str; 4] = ["datetime", "bid", "ask", "volume"];

/// Tells a HistData tick file from its first line, else from HistData's own file name.
pub(super) fn detect(name: &str, head: &[u8]) -> Option<Format> {
    let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if let Ok(line) = std::str::from_utf8(first)
        && looks_like_tick(line)
    {
        return Some(Format::HistData);
    }
    // `dat_ascii_eurusd_t_202001.csv` (the name arrives lower-cased).
    (name.starts_with("dat_ascii_") && name.contains("_t_") && name.ends_with(".csv"))
        .then_some(Format::HistData)
}

/// Whether a line has the tick layout: `8 digits, space, 9 digits, then three numbers`.
fn looks_like_tick(line: &str) -> bool {
    let mut parts = line.split(',');
    let (Some(dt), Some(bid), Some(ask), Some(vol), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let b = dt.as_bytes();
    b.len() == 18
        && b[8] == b' '
        && b[..8].iter().chain(&b[9..]).all(u8::is_ascii_digit)
        && [bid, ask, vol].iter().all(|f| f.parse::<Price>().is_ok())
}

/// The symbol a HistData file name carries, or `UNKNOWN`.
fn symbol_of(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let upper = name.to_ascii_uppercase();
    let candidate = if let Some(rest) = upper.strip_prefix("DAT_ASCII_") {
        rest.split_once("_T_").map(|(s, _)| s)
    } else {
        upper.split_once("_TICKS").map(|(s, _)| s)
    };
    match candidate {
        Some(s) if (3..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            s.to_owned()
        }
        _ => "UNKNOWN".to_owned(),
    }
}

/// Parses `YYYYMMDD HHMMSSmmm` (HistData's clock) into UTC.
fn timestamp(field: &str) -> Result<Timestamp, Fault> {
    let bad = |why: &str| {
        Fault::Row(format!("{}: bad date-time {:?}: {why}", column(0, NAMES[0]), shorten(field, 40)))
    };
    let b = field.as_bytes();
    if b.len() != 18 || b[8] != b' ' || !b[..8].iter().chain(&b[9..]).all(u8::is_ascii_digit) {
        return Err(bad("want YYYYMMDD HHMMSSmmm"));
    }
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
    let (y, mo, d) = (num(0..4), num(4..6), num(6..8));
    let (h, mi, s, ms) = (num(9..11), num(11..13), num(13..15), num(15..18));
    let date =
        NaiveDate::from_ymd_opt(i32::try_from(y).unwrap_or(0), mo, d).ok_or_else(|| bad("no such date"))?;
    // No leap seconds: HistData's clock never shows 60.
    let dt = date.and_hms_milli_opt(h, mi, s, ms).filter(|_| s < 60).ok_or_else(|| bad("no such time"))?;
    dt.and_utc()
        .timestamp_nanos_opt()
        .and_then(|ns| ns.checked_add(EST_OFFSET_NANOS))
        .map(Timestamp::from_nanos)
        .ok_or_else(|| bad("outside the timestamp range"))
}

/// A positive price.
fn price(text: &str, index: usize) -> Result<Price, Fault> {
    let p: Price = decimal(text, index, NAMES[index])?;
    if !p.is_positive() {
        return Err(Fault::Row(format!("{}: price {text} is not positive", column(index, NAMES[index]))));
    }
    Ok(p)
}

/// Reads one data line.
fn row(
    coll: &mut Collector,
    fields: &mut Fields,
    clock: &mut Clock,
    ins: &mut Option<InstrumentId>,
    symbol: &str,
    n: u64,
    bytes: &[u8],
) -> Result<(), Fault> {
    let line = text(bytes)?;
    let count = fields.split(line, b',');
    if count != NAMES.len() {
        return Err(Fault::Row(format!("{count} columns, want 4 (YYYYMMDD HHMMSSmmm,bid,ask,volume)")));
    }
    let ts = timestamp(fields.get(line, 0))?;
    let bid = price(fields.get(line, 1), 1)?;
    let ask = price(fields.get(line, 2), 2)?;
    size(fields.get(line, 3), 3, NAMES[3])?;
    clock.check(ts, "tick time")?;
    let id = *ins.get_or_insert_with(|| coll.instrument(symbol, VenueId(0)));
    let quote = Quote { bid, bid_size: Qty::ZERO, ask, ask_size: Qty::ZERO };
    coll.push(&Event { ts_event: ts, ts_recv: ts, instrument: id, payload: Payload::Quote(quote) }, n)?;
    clock.accept(ts, n);
    Ok(())
}

/// Reads a HistData tick file into `coll`.
///
/// # Errors
/// [`ConvertError::Row`] for a malformed row in strict mode; [`ConvertError::Io`].
pub(super) fn read(path: &Path, coll: &mut Collector) -> Result<(), ConvertError> {
    let symbol = symbol_of(path);
    let mut lines = Lines::open(path, coll)?;
    let mut fields = Fields::default();
    let mut clock = Clock::default();
    let mut ins = None;
    loop {
        match lines.next()? {
            Next::End => return Ok(()),
            Next::Broken(n, reason) => {
                coll.row();
                return coll.malformed(coll.row_error(n, reason));
            }
            Next::Line(_, bytes) if is_blank(bytes) => {}
            Next::Line(n, bytes) => {
                coll.row();
                let outcome = row(coll, &mut fields, &mut clock, &mut ins, &symbol, n, bytes);
                settle(coll, n, outcome)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use super::super::tardis::test_util::{
        check_invariants, convert_files, data, expect_row_error, kinds_of,
    };
    use super::*;
    use crate::convert::ConvertOptions;

    fn fx_file() -> PathBuf {
        data("fx-histdata/EURUSD_ticks_20200101.rows1-4750.csv")
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn quote(bid: &str, ask: &str) -> Payload {
        Payload::Quote(Quote {
            bid: bid.parse().unwrap(),
            bid_size: Qty::ZERO,
            ask: ask.parse().unwrap(),
            ask_size: Qty::ZERO,
        })
    }

    #[test]
    fn converts_the_real_file_in_utc() {
        let (summary, evs, _dir) =
            convert_files(Some(Format::HistData), &[fx_file()], ConvertOptions::default());
        assert_eq!((summary.rows_in, summary.records_out, summary.skipped), (4750, 4750, 0));
        assert_eq!(evs.len(), 4750);
        // File clock 17:00:00.065 EST (UTC−5, no DST) is 22:00:00.065 UTC.
        assert_eq!(evs[0].ts_event, ts("2020-01-01T22:00:00.065Z"));
        assert_eq!(evs[0].ts_recv, evs[0].ts_event);
        assert_eq!(evs[0].payload, quote("1.121200", "1.121720"));
        let last = evs.last().unwrap();
        assert_eq!(last.ts_recv, ts("2020-01-02T01:18:57.763Z"), "20:18:57.763 EST crosses midnight UTC");
        assert_eq!(last.payload, quote("1.122320", "1.122340"));
        check_invariants(&evs);
        for e in &evs {
            let Payload::Quote(q) = e.payload else { panic!("{e:?}") };
            assert!(q.bid <= q.ask, "{e:?}");
            assert!(q.bid.is_positive() && q.bid_size.is_zero() && q.ask_size.is_zero());
        }
        let (ins, inferred) = &summary.instruments[0];
        assert_eq!(ins.symbol(), "EURUSD");
        assert!(*inferred);
        assert_eq!(ins.tick_size().to_string(), "0.00001", "the finest decimals seen: 5 significant places");
        assert_eq!(kinds_of(&evs).len(), 1);
    }

    #[test]
    fn est_is_fixed_utc_minus_five_in_summer_too() {
        assert_eq!(timestamp("20200701 120000000").ok().unwrap(), ts("2020-07-01T17:00:00Z"));
        assert_eq!(timestamp("20200101 235959999").ok().unwrap(), ts("2020-01-02T04:59:59.999Z"));
        for bad in [
            "20200230 120000000",
            "20200101 240000000",
            "20200101 126000000",
            "2020-01-01 120000000",
            "20200101 12000000",
        ] {
            assert!(timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn detection_by_content_and_name() {
        let head = std::fs::read(fx_file()).unwrap();
        let name = "eurusd_ticks_20200101.rows1-4750.csv";
        assert_eq!(crate::convert::detect(Path::new(name), &head[..4096]), Some(Format::HistData));
        assert_eq!(detect("whatever.txt", &head[..100]), Some(Format::HistData));
        assert_eq!(detect("dat_ascii_eurusd_t_202001.csv", b""), Some(Format::HistData));
        assert_eq!(
            detect("x.csv", b"20200101 170000065;1.1;1.2;0\n"),
            None,
            "semicolons are HistData's bar layout"
        );
        assert_eq!(detect("x.csv", b"Date,Open,High\n"), None);
        assert_eq!(symbol_of(Path::new("/d/DAT_ASCII_USDJPY_T_202001.csv")), "USDJPY");
        assert_eq!(symbol_of(Path::new("EURUSD_ticks_20200101.rows1-4750.csv")), "EURUSD");
        assert_eq!(symbol_of(Path::new("ticks.csv")), "UNKNOWN");
    }

    #[test]
    fn damaged_rows_name_file_and_line_and_are_counted_when_skipped() {
        let good = "20200101 170000065,1.121200,1.121720,0\n";
        let cases: &[(&str, &str)] = &[
            ("20200101 170000066,1.1212x0,1.121720,0\n", "column 2 (bid): bad number \"1.1212x0\""),
            ("20200101 170000066,NaN,1.121720,0\n", "column 2 (bid): bad number \"NaN\""),
            ("20200101 170000066,1.121200,0\n", "3 columns, want 4"),
            ("20200101 170000066,1.121200,1.121720,0,9\n", "5 columns, want 4"),
            ("20200101 170000064,1.121200,1.121720,0\n", "time goes backwards"),
            ("20200101 170000066,1.121200,1.121720,-1\n", "column 4 (volume): negative size -1"),
            ("20200101 170000066,0,1.121720,0\n", "column 2 (bid): price 0 is not positive"),
            ("20201301 170000066,1.1,1.2,0\n", "no such date"),
        ];
        for (bad, message) in cases {
            let body = format!("{good}{bad}{good}");
            expect_row_error(Format::HistData, "EURUSD_ticks_x.csv", body.as_bytes(), 2, message, 2);
        }
    }

    #[test]
    fn a_file_without_a_symbol_in_its_name_is_unknown_and_can_be_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fx.csv");
        std::fs::File::create(&path).unwrap().write_all(b"20200101 170000065,1.1,1.2,0\r\n\r\n").unwrap();
        let (s, evs, _d) =
            convert_files(Some(Format::HistData), std::slice::from_ref(&path), ConvertOptions::default());
        assert_eq!((s.instruments[0].0.symbol(), evs.len()), ("UNKNOWN", 1));
        let opts =
            ConvertOptions { instrument: "symbol=GBPUSD".parse().unwrap(), ..ConvertOptions::default() };
        let (s, _, _d) = convert_files(Some(Format::HistData), &[path], opts);
        assert_eq!(s.instruments[0].0.symbol(), "GBPUSD");
    }
}
