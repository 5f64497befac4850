//! Generates one `#[test]` per conformance scenario file, so that a failure names its scenario.
//!
//! Scenarios are found at build time in `../shared/conformance/scenarios` (the public set, beside
//! the repository) and in `tests/conformance/scenarios` (Kestrel's own, checked in). A new file
//! becomes a new test on the next build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && !name.ends_with(".expected.json")
        })
        .collect();
    files.sort();
    files
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dirs = [
        ("public", manifest.join("../../shared/conformance/scenarios")),
        ("kestrel", manifest.join("conformance/scenarios")),
    ];
    let mut code = String::new();
    for (set, dir) in &dirs {
        println!("cargo::rerun-if-changed={}", dir.display());
        for file in scenario_files(dir) {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
            let ident: String = stem
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                .collect();
            let path = file.canonicalize().unwrap_or(file.clone());
            let _ = writeln!(
                code,
                "#[test]\nfn {set}_{ident}() {{\n    check({:?});\n}}\n",
                path.display().to_string()
            );
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("conformance_cases.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::warning=cannot write {}: {e}", out.display());
    }
}
