//! `kestrel inspect FILE`: what a tick file holds and whether it is valid.
//!
//! Prints the header (format version, file kind, record count, size), the instrument table, the
//! count per record kind, the time range of `ts_recv`, and the result of a full validation pass:
//! `valid`, or the first bad record with its index and byte offset (then the command fails, exit
//! status 1, so scripts can gate on it). A file that cannot be opened at all fails the same way.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;
use kestrel_replay::format::{FileKind, RECORD_SIZE, RecordKind, VERSION};
use kestrel_replay::tick::TickFile;
use kestrel_types::{NANOS_PER_DAY, NANOS_PER_SEC, Timestamp};

/// Options of `kestrel inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The tick file.
    file: PathBuf,
}

/// Runs `kestrel inspect`: the report goes to `out`; an invalid or unreadable file is an error.
pub(crate) fn run(args: &InspectArgs, out: &mut impl Write) -> Result<()> {
    let file = TickFile::open(&args.file)?;
    let header = file.header();
    let mut r = String::new();
    let kind = match header.kind {
        FileKind::Tick => "tick file",
        FileKind::Journal => "journal",
    };
    let header_bytes = file.offset_of(0);
    let _ = writeln!(r, "file         {}", args.file.display());
    let _ = writeln!(r, "format       Kestrel {kind}, version {VERSION}, {RECORD_SIZE}-byte records");
    let _ = writeln!(
        r,
        "records      {} ({} bytes: header {header_bytes}, records {})",
        header.record_count,
        file.file_bytes(),
        file.file_bytes() - header_bytes
    );
    let _ = writeln!(r, "instruments  {}", header.instruments.len());
    let mut rows = vec![
        ["id", "symbol", "venue", "tick", "lot", "decimals", "multiplier", "quote", "settlement"]
            .map(String::from),
    ];
    for (i, ins) in header.instruments.iter().enumerate() {
        rows.push([
            i.to_string(),
            ins.symbol().to_owned(),
            ins.venue().0.to_string(),
            ins.tick_size().to_string(),
            ins.lot_size().to_string(),
            ins.display_decimals().to_string(),
            ins.multiplier().to_string(),
            ins.quote_currency().to_string(),
            ins.settlement_currency().to_string(),
        ]);
    }
    table(&mut r, &rows);
    let verdict = file.validate();
    // A valid file's counts come from the validation pass; an invalid one is counted raw (kind
    // bytes as they are), so the report still says what the file holds.
    let (counts, first, last) = match &verdict {
        Ok(stats) => {
            let counts: Vec<(String, u64)> = RecordKind::ALL
                .iter()
                .zip(stats.per_kind)
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| (k.name().to_owned(), n))
                .collect();
            (counts, stats.first.map(Timestamp::nanos), stats.last.map(Timestamp::nanos))
        }
        Err(_) => raw_counts(&file),
    };
    let _ = writeln!(r, "kinds");
    if counts.is_empty() {
        let _ = writeln!(r, "  (no records)");
    }
    let width = counts.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, n) in &counts {
        let _ = writeln!(r, "  {k:<width$}  {n}");
    }
    match (first, last) {
        (Some(first), Some(last)) => {
            let _ = writeln!(r, "first recv   {}", Timestamp::from_nanos(first));
            let _ = writeln!(r, "last recv    {}", Timestamp::from_nanos(last));
            let _ = writeln!(r, "span         {}", span(last.saturating_sub(first)));
        }
        _ => {
            let _ = writeln!(r, "time         (no records)");
        }
    }
    match &verdict {
        Ok(_) => {
            let _ = writeln!(r, "result       valid");
        }
        Err(e) => {
            let _ = writeln!(r, "result       invalid: {e}");
        }
    }
    out.write_all(r.as_bytes())?;
    verdict.map(|_| ()).map_err(|e| anyhow!(e))
}

/// Counts per kind byte and the first and last `ts_recv`, without judging anything.
fn raw_counts(file: &TickFile) -> (Vec<(String, u64)>, Option<i64>, Option<i64>) {
    let mut by_byte = [0u64; 256];
    for rec in file.records() {
        by_byte[usize::from(rec.kind)] += 1;
    }
    let counts = (0u8..=255)
        .filter(|b| by_byte[usize::from(*b)] > 0)
        .map(|b| {
            let name =
                RecordKind::try_from(b).map_or_else(|b| format!("unknown({b})"), |k| k.name().to_owned());
            (name, by_byte[usize::from(b)])
        })
        .collect();
    let recs = file.records();
    (counts, recs.first().map(|r| r.ts_recv), recs.last().map(|r| r.ts_recv))
}

/// Left-aligned columns, two spaces apart, indented by two.
fn table(out: &mut String, rows: &[[String; 9]]) {
    let mut widths = [0usize; 9];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(" ");
        for (w, cell) in widths.iter().zip(row) {
            let _ = write!(line, " {cell:<w$} ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// A span of ns as `[Nd ]HH:MM:SS.nnnnnnnnn` (negative spans, from a file out of order, get a `-`).
fn span(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    let day = NANOS_PER_DAY.unsigned_abs();
    let sec = NANOS_PER_SEC.unsigned_abs();
    let (days, rest) = (ns / day, ns % day);
    let (secs, frac) = (rest / sec, rest % sec);
    let days = if days > 0 { format!("{days}d ") } else { String::new() };
    format!("{sign}{days}{:02}:{:02}:{:02}.{frac:09}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_clock_time() {
        assert_eq!(span(0), "00:00:00.000000000");
        assert_eq!(span(3_723_000_000_001), "01:02:03.000000001");
        assert_eq!(span(NANOS_PER_DAY + 1), "1d 00:00:00.000000001");
        assert_eq!(span(-1), "-00:00:00.000000001");
    }
}
