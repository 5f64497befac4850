//! Every scenario in `tests/conformance/malformed` is one the format does not define: the oracle
//! (`shared/conformance/oracle.py`) refuses each with exit 3, and so must `kestrel conform`.

use std::path::Path;
use std::process::Command;

#[test]
fn conform_exits_3_on_every_malformed_scenario() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: expected at least 5 malformed scenarios", dir.display());
    for file in files {
        let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
            .arg("conform")
            .arg(&file)
            .env("KESTREL_DATA_ROOT", Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{}: printed output", file.display());
    }
}
