//! Finding the shared data folder (`shared/data`): scenario files name bar files relative to it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The variable that overrides where the shared data folder is; the conformance oracle honours the
/// same one, so Kestrel and backtrader read the same files.
pub const DATA_ROOT_ENV: &str = "KESTREL_DATA_ROOT";

/// Why the shared data folder could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataRootError {
    /// `$KESTREL_DATA_ROOT` is set but is not a directory.
    #[error("${DATA_ROOT_ENV} is {}, which is not a directory", .path.display())]
    EnvNotADirectory {
        /// The variable's value.
        path: PathBuf,
    },
    /// No `shared/data` directory in `start` or any folder above it.
    #[error("no shared/data folder in {} or above it, and ${DATA_ROOT_ENV} is not set", .start.display())]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
}

/// The shared data folder: `$KESTREL_DATA_ROOT` when set (and non-empty), else the first
/// `shared/data` directory found in `start` or its ancestors.
///
/// Exists because the repository is cloned with `shared/` beside it (`../shared`), while a test runs
/// from its crate's folder and a tool from anywhere: tests pass `env!("CARGO_MANIFEST_DIR")`, tools the
/// current directory.
///
/// # Errors
/// [`DataRootError`] naming the variable's value or the starting folder.
pub fn data_root(start: &Path) -> Result<PathBuf, DataRootError> {
    locate(std::env::var_os(DATA_ROOT_ENV), start)
}

/// [`data_root`] with the variable's value passed in, so tests need not change the environment.
fn locate(env_value: Option<OsString>, start: &Path) -> Result<PathBuf, DataRootError> {
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        return if path.is_dir() { Ok(path) } else { Err(DataRootError::EnvNotADirectory { path }) };
    }
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("data"))
        .find(|candidate| candidate.is_dir())
        .ok_or_else(|| DataRootError::NotFound { start: start.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_up_to_the_nearest_shared_data() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("shared").join("data");
        let start = dir.path().join("main").join("replay");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&start).unwrap();
        assert_eq!(locate(None, &start).unwrap(), data);
        assert_eq!(locate(Some(OsString::new()), &start).unwrap(), data, "an empty variable is unset");
    }

    #[test]
    fn the_variable_wins_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let start = dir.path().join("nowhere");
        assert_eq!(locate(Some(elsewhere.clone().into()), &start).unwrap(), elsewhere);
        let missing = dir.path().join("missing");
        let err = locate(Some(missing.clone().into()), &start).unwrap_err();
        assert_eq!(err, DataRootError::EnvNotADirectory { path: missing });
        assert!(err.to_string().starts_with("$KESTREL_DATA_ROOT is "), "{err}");
    }

    #[test]
    fn says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate(None, dir.path()).unwrap_err();
        assert_eq!(err, DataRootError::NotFound { start: dir.path().to_owned() });
    }
}
