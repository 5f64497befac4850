//! `kestrel generate` and `kestrel inspect` as a person or a script runs them: exact counts, valid
//! files, located errors with exit status 1, the free-space refusal, byte-identical reruns.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kestrel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel")).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn generate(dir: &Path, kind: &str, events: u64, seed: u64) -> PathBuf {
    let path = dir.join(format!("{kind}-{seed}.ktk"));
    let out = kestrel(&[
        "generate",
        "--kind",
        kind,
        "--events",
        &events.to_string(),
        "--seed",
        &seed.to_string(),
        "-o",
        path.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
    assert_eq!(stdout.lines().count(), 1, "one summary line: {stdout}");
    assert!(stdout.starts_with(&format!("wrote {events} {kind} events")), "{stdout}");
    assert!(stdout.contains(&format!("{} bytes", 192 + 64 * events)), "{stdout}");
    assert!(stdout.contains(path.to_str().unwrap()), "{stdout}");
    path
}

/// The count printed for a kind in the `kinds` section.
fn kind_count(report: &str, kind: &str) -> Option<u64> {
    report.lines().skip_while(|l| *l != "kinds").skip(1).take_while(|l| l.starts_with("  ")).find_map(|l| {
        let mut parts = l.split_whitespace();
        (parts.next() == Some(kind)).then(|| parts.next().unwrap().parse().unwrap())
    })
}

#[test]
fn every_kind_generates_and_inspects_as_valid() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3_000u64;
    for (kind, records) in [
        ("trades", &["trade"][..]),
        ("quotes", &["quote"]),
        ("l2", &["level", "snapshot_begin", "snapshot_end"]),
        ("bars", &["bar"]),
        ("mixed", &["trade", "quote"]),
    ] {
        let path = generate(dir.path(), kind, n, 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 192 + 64 * n);
        let out = kestrel(&["inspect", path.to_str().unwrap()]);
        let report = text(&out.stdout);
        assert!(out.status.success(), "{kind}: {report}\n{}", text(&out.stderr));
        assert!(report.contains("Kestrel tick file, version 1, 64-byte records"), "{report}");
        assert!(report.contains(&format!("records      {n} ({} bytes", 192 + 64 * n)), "{report}");
        assert!(report.contains("instruments  1"), "{report}");
        let row = report.lines().find(|l| l.trim_start().starts_with("0 ")).unwrap();
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            ["0", "DEMO", "0", "0.01", "1", "2", "1", "USD", "USD"]
        );
        let total: u64 = records.iter().map(|k| kind_count(&report, k).unwrap_or(0)).sum();
        assert_eq!(total, n, "{kind}: {report}");
        assert!(records.iter().all(|k| kind_count(&report, k).is_some()), "{kind}: {report}");
        assert!(report.contains("first recv   2024-01-02T14:"), "{report}");
        assert!(report.lines().any(|l| l.starts_with("span ")), "{report}");
        assert!(report.trim_end().ends_with("result       valid"), "{report}");
    }
}

#[test]
fn a_damaged_kind_byte_is_reported_with_its_index_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = generate(dir.path(), "mixed", 1_000, 2);
    let mut bytes = std::fs::read(&path).unwrap();
    let index = 637u64;
    let offset = 192 + 64 * index;
    bytes[offset as usize + 16] ^= 0xF0; // kind byte: 1 or 2 becomes 241 or 242
    std::fs::write(&path, &bytes).unwrap();
    let out = kestrel(&["inspect", path.to_str().unwrap()]);
    let (report, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{report}\n{err}");
    let located = format!("record {index} at byte {offset}");
    assert!(report.contains("result       invalid: ") && report.contains(&located), "{report}");
    assert!(err.contains(&located) && err.contains("unknown record kind"), "{err}");
    // The report still counts what the file holds, the damaged record included.
    assert!(report.lines().any(|l| l.trim_start().starts_with("unknown(24")), "{report}");
}

#[test]
fn a_file_that_cannot_be_opened_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.ktk");
    let out = kestrel(&["inspect", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing.ktk"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());

    let path = generate(dir.path(), "trades", 10, 1);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let out = kestrel(&["inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("truncated"), "{}", text(&out.stderr));

    std::fs::write(&path, b"not a tick file at all, not even close to sixty-four bytes long....").unwrap();
    let out = kestrel(&["inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a Kestrel tick file"), "{}", text(&out.stderr));
}

#[test]
fn generate_refuses_a_file_the_disk_cannot_hold_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.ktk");
    // 10^15 events are 64 PB.
    let out = kestrel(&[
        "generate",
        "--kind",
        "trades",
        "--events",
        "1000000000000000",
        "-o",
        path.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs 59604644.78 GiB") && err.contains("GiB free on "), "{err}");
    assert!(err.contains(&dir.path().canonicalize().unwrap().display().to_string()), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written, not even a temporary file"
    );
}

#[test]
fn the_same_seed_gives_a_byte_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["l2", "mixed"] {
        let a = generate(dir.path(), kind, 5_000, 7);
        let a2 = dir.path().join(format!("{kind}-first.ktk"));
        std::fs::rename(&a, &a2).unwrap();
        let b = generate(dir.path(), kind, 5_000, 7);
        let c = generate(dir.path(), kind, 5_000, 8);
        let (a, b, c) = (std::fs::read(a2).unwrap(), std::fs::read(b).unwrap(), std::fs::read(c).unwrap());
        assert!(a == b, "{kind}: same seed, same bytes");
        assert!(a != c, "{kind}: another seed, another file");
    }
}

#[test]
fn generate_takes_an_instrument_and_refuses_unknown_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("es.ktk");
    let p = path.to_str().unwrap();
    let out = kestrel(&[
        "generate", "--kind", "quotes", "--events", "100", "--symbol", "ESH5", "--tick", "0.25", "-o", p,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&kestrel(&["inspect", p]).stdout);
    let row = report.lines().find(|l| l.trim_start().starts_with("0 ")).unwrap();
    assert!(row.contains("ESH5") && row.contains("0.25"), "{report}");
    let out = kestrel(&["generate", "--kind", "ticks", "--events", "1", "-o", p]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown kind");
    assert!(text(&out.stderr).contains("trades"), "{}", text(&out.stderr));
}
