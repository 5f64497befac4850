//! Shared helpers: where the Binance fixtures live and how to read them.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// `shared/protocols/binance/fixtures`, beside the repository.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/protocols/binance/fixtures")
}

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The frames of a cryptofeed `*_sequence.txt` (line 1 is the connection line; each other line is
/// `<recv epoch>: <frame>`).
pub fn sequence_frames(text: &str) -> Vec<&str> {
    text.lines().skip(1).filter_map(|l| l.split_once(": ").map(|(_, f)| f)).collect()
}
