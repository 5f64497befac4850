//! `Secrets` and `Secret`: venue credentials that cannot leak through logs, errors or serialisation.
//!
//! A venue session needs an API key and secret (sometimes a passphrase or a private key). They come
//! from the environment (`KESTREL_BINANCE_API_KEY`, names chosen by the caller) or from a file of
//! `key = value` lines that only its owner may read, and then live in a [`Secrets`] handed to
//! `Venue::new`. Keys (`api_key`, `api_secret`) are names, not secrets; values are secrets.
//!
//! # Invariants
//! - No value appears in any `Debug` or `Display` output, errors included: errors name variables,
//!   files, line numbers and key names, never a value nor the text of a malformed line (which could be
//!   a pasted secret). There is no `Serialize`, no `Clone` and no `PartialEq` (no timing oracle).
//! - The only way to the text is [`Secret::expose`], so every use is greppable.
//! - Our copies are overwritten with zeros on drop (`zeroize`), and so is the buffer a file was read into.
//!
//! # Limitations
//! - The process environment keeps its own copy of a variable; only Kestrel's copy is wiped.
//! - The file-permission check exists on Unix only (elsewhere there is no mode to check). Like ssh, it
//!   refuses any access by group or others; unlike ssh it does not check the owner.
//! - A file that grows while it is read may make the read buffer reallocate, leaving an unwiped copy
//!   of its first bytes in freed memory.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The largest secrets file read: credentials are a few hundred bytes, so anything larger is a
/// wrong path (a log, a device), refused before it fills memory.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// One secret value (an API secret, a passphrase): printable as `***` only, wiped on drop.
///
/// Exists so that a credential can be passed around, stored in a venue's session and put in a
/// struct that derives `Debug` without ever being written to a log by accident.
pub struct Secret(Zeroizing<String>);

impl Secret {
    fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret text, for signing a request or filling a login message.
    ///
    /// Named so that every place a secret leaves its wrapper can be found with grep; do not keep the
    /// returned text longer than the call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a [`Secrets`] was loaded from: said in errors and safe to log, as it holds no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretsOrigin {
    /// Environment variables named by the caller.
    Environment,
    /// A `key = value` file.
    File(PathBuf),
    /// Values given in code (venue simulators and tests).
    Memory,
}

impl fmt::Display for SecretsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("the environment"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Memory => f.write_str("values given in code"),
        }
    }
}

/// Why secrets could not be loaded or a key could not be found.
///
/// Every variant names the variable, file, line or key involved and never contains a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A variable the caller asked for is not set.
    #[error("environment variable {var} is not set (needed for secret `{key}`)")]
    MissingVar {
        /// The variable.
        var: String,
        /// The key it was to fill.
        key: String,
    },
    /// A variable holds bytes that are not UTF-8 (credentials are text).
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicodeVar {
        /// The variable.
        var: String,
    },
    /// A variable is set but empty: an empty credential is always a configuration mistake.
    #[error("environment variable {var} is empty")]
    EmptyVar {
        /// The variable.
        var: String,
    },
    /// The file could not be opened or read.
    #[error("{}: cannot read secrets file: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is accessible by group or others, so the secrets in it may already be known to them.
    #[error(
        "{}: permissions {mode:04o} are too open: a secrets file must not be accessible by group or \
         others (chmod 600 it)",
        .path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is larger than any credentials file (a wrong path).
    #[error("{}: {bytes}+ bytes is too large for a secrets file (at most {max})", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Bytes read before giving up.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// A line is not UTF-8.
    #[error("{}:{line}: not valid UTF-8", .path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A line is neither blank, a `#` comment, nor `key = value`. The line's text is not repeated,
    /// since it may be a secret pasted on its own.
    #[error("{}:{line}: {reason} (want `key = value`)", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key has nothing after its `=`.
    #[error("{}:{line}: key `{key}` has an empty value", .path.display())]
    EmptyValue {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The key.
        key: String,
    },
    /// A key appears twice: which one was meant is unknowable, so neither is taken.
    #[error("{}:{line}: key `{key}` is already set on line {first_line}", .path.display())]
    DuplicateKey {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the second occurrence.
        line: usize,
        /// The key.
        key: String,
        /// 1-based line number of the first occurrence.
        first_line: usize,
    },
    /// A key given in code is empty, has a character outside `A-Z a-z 0-9 _ . -`, or is given twice.
    #[error("secret key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A venue asked for a key that was not loaded.
    #[error("no secret `{key}` in {origin}")]
    MissingKey {
        /// The key asked for.
        key: String,
        /// Where the secrets came from.
        origin: SecretsOrigin,
    },
}

/// A venue's credentials by key (`api_key`, `api_secret`, …): what `Venue::new` receives.
///
/// Exists so that credentials travel as one value whose every field prints as `***` and is wiped on
/// drop. Keys are ASCII, case-insensitive (stored lower-case) and not secret; values are [`Secret`]s.
///
/// ```
/// use kestrel_gateway::Secrets;
///
/// let secrets = Secrets::from_values([("api_key", "k-123".to_owned())])?;
/// assert_eq!(secrets.get("API_KEY")?.expose(), "k-123");
/// assert_eq!(format!("{secrets:?}"), r#"Secrets { origin: Memory, entries: {"api_key": ***} }"#);
/// # Ok::<(), kestrel_gateway::SecretsError>(())
/// ```
pub struct Secrets {
    origin: SecretsOrigin,
    entries: BTreeMap<String, Secret>,
}

impl Secrets {
    /// The conventional variable for a venue's key: `KESTREL_<VENUE>_<KEY>`, upper-case, with every
    /// character outside `A-Z 0-9` replaced by `_` (`("binance", "api_key")` → `KESTREL_BINANCE_API_KEY`).
    ///
    /// Exists so that every venue crate names its variables the same way.
    pub fn env_var_name(venue: &str, key: &str) -> String {
        let upper = |s: &str| -> String {
            s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
        };
        format!("KESTREL_{}_{}", upper(venue), upper(key))
    }

    /// Loads each `(key, variable)` pair from the process environment; every variable is required.
    ///
    /// The caller names the variables (see [`Secrets::env_var_name`]), so a deployment can use the
    /// conventional names or its own.
    ///
    /// # Errors
    /// [`SecretsError::MissingVar`], [`SecretsError::NotUnicodeVar`] or [`SecretsError::EmptyVar`]
    /// naming the variable; [`SecretsError::InvalidKey`] for a bad or repeated key.
    pub fn from_env<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, SecretsError> {
        Self::from_lookup(vars, |var| std::env::var_os(var))
    }

    /// [`Secrets::from_env`] over any variable lookup: the process environment cannot be changed
    /// safely in a multi-threaded test (`set_var` is `unsafe` in Rust 2024), a closure can.
    fn from_lookup<'a>(
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
        mut lookup: impl FnMut(&str) -> Option<OsString>,
    ) -> Result<Self, SecretsError> {
        let mut entries = BTreeMap::new();
        for (key, var) in vars {
            let name =
                normalise_key(key).map_err(|reason| SecretsError::InvalidKey { key: key.into(), reason })?;
            let raw = lookup(var)
                .ok_or_else(|| SecretsError::MissingVar { var: var.to_owned(), key: name.clone() })?;
            // `into_string` reuses the buffer, so no unwiped copy is left behind on success.
            let value = raw.into_string().map_err(|_| SecretsError::NotUnicodeVar { var: var.to_owned() })?;
            let value = Secret::new(value);
            if value.expose().is_empty() {
                return Err(SecretsError::EmptyVar { var: var.to_owned() });
            }
            if entries.insert(name, value).is_some() {
                return Err(SecretsError::InvalidKey { key: key.into(), reason: "given twice" });
            }
        }
        Ok(Self { origin: SecretsOrigin::Environment, entries })
    }

    /// Loads a file of `key = value` lines.
    ///
    /// Blank lines and lines starting with `#` are skipped. The value is everything after the first
    /// `=`, trimmed, with one pair of matching surrounding quotes (`"…"` or `'…'`) removed; there are
    /// no inline comments, since secrets may contain `#` and `=`. Keys follow [`Secrets`]' rules.
    ///
    /// # Errors
    /// [`SecretsError::TooOpen`] if, on Unix, group or others have any permission on the file (as ssh
    /// refuses a private key); [`SecretsError::Io`], [`SecretsError::TooLarge`]; and
    /// [`SecretsError::NotUtf8`], [`SecretsError::Malformed`], [`SecretsError::EmptyValue`] or
    /// [`SecretsError::DuplicateKey`] naming the file and the line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SecretsError> {
        let path = path.as_ref();
        let io = |source| SecretsError::Io { path: path.to_owned(), source };
        let file = File::open(path).map_err(io)?;
        // Checked on the open handle, so the file checked is the file read.
        let meta = file.metadata().map_err(io)?;
        check_private(path, &meta)?;
        let expected = meta.len().min(MAX_FILE_BYTES) + 1;
        let mut buf = Zeroizing::new(Vec::with_capacity(usize::try_from(expected).unwrap_or(0)));
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf).map_err(io)?;
        let read = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if read > MAX_FILE_BYTES {
            return Err(SecretsError::TooLarge { path: path.to_owned(), bytes: read, max: MAX_FILE_BYTES });
        }
        let entries = parse_file(path, &buf)?;
        Ok(Self { origin: SecretsOrigin::File(path.to_owned()), entries })
    }

    /// Builds secrets from values held in code: for venue simulators and tests, which need a
    /// `Secrets` without touching the environment or the file system.
    ///
    /// # Errors
    /// [`SecretsError::InvalidKey`] for a bad or repeated key or an empty value.
    pub fn from_values<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Result<Self, SecretsError> {
        let mut entries = BTreeMap::new();
        for (key, value) in pairs {
            let value = Secret::new(value);
            let name =
                normalise_key(key).map_err(|reason| SecretsError::InvalidKey { key: key.into(), reason })?;
            if value.expose().is_empty() {
                return Err(SecretsError::InvalidKey { key: key.into(), reason: "empty value" });
            }
            if entries.insert(name, value).is_some() {
                return Err(SecretsError::InvalidKey { key: key.into(), reason: "given twice" });
            }
        }
        Ok(Self { origin: SecretsOrigin::Memory, entries })
    }

    /// The secret under `key` (case-insensitive).
    ///
    /// # Errors
    /// [`SecretsError::MissingKey`] naming the key and where these secrets came from.
    pub fn get(&self, key: &str) -> Result<&Secret, SecretsError> {
        self.entries
            .get(&key.to_ascii_lowercase())
            .ok_or_else(|| SecretsError::MissingKey { key: key.to_owned(), origin: self.origin.clone() })
    }

    /// The loaded keys, sorted: for diagnostics such as "loaded api_key, api_secret from …".
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Where these secrets were loaded from.
    pub fn origin(&self) -> &SecretsOrigin {
        &self.origin
    }
}

impl fmt::Debug for Secrets {
    /// `Secrets { origin: …, entries: {"api_key": ***, …} }`: key names, never values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Entries<'a>(&'a BTreeMap<String, Secret>);
        impl fmt::Debug for Entries<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.iter()).finish()
            }
        }
        f.debug_struct("Secrets")
            .field("origin", &self.origin)
            .field("entries", &Entries(&self.entries))
            .finish()
    }
}

impl fmt::Display for Secrets {
    /// `api_key=***, api_secret=*** (from file /etc/kestrel/binance.secrets)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key}={value}")?;
        }
        write!(f, " (from {})", self.origin)
    }
}

/// Validates a key and lower-cases it; the error reason never repeats the key's text.
fn normalise_key(key: &str) -> Result<String, &'static str> {
    if key.is_empty() {
        return Err("empty key");
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
        return Err("key has a character outside A-Z a-z 0-9 _ . -");
    }
    Ok(key.to_ascii_lowercase())
}

/// Removes one pair of matching surrounding quotes, as `.env` files allow.
fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

fn parse_file(path: &Path, text: &[u8]) -> Result<BTreeMap<String, Secret>, SecretsError> {
    let mut entries = BTreeMap::new();
    let mut first_lines: BTreeMap<String, usize> = BTreeMap::new();
    for (index, raw) in text.split(|b| *b == b'\n').enumerate() {
        let line = index + 1;
        let text =
            std::str::from_utf8(raw).map_err(|_| SecretsError::NotUtf8 { path: path.to_owned(), line })?;
        let text = if line == 1 { text.strip_prefix('\u{feff}').unwrap_or(text) } else { text };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let malformed = |reason| SecretsError::Malformed { path: path.to_owned(), line, reason };
        let Some((key, value)) = text.split_once('=') else {
            return Err(malformed("no `=`"));
        };
        let key = normalise_key(key.trim()).map_err(malformed)?;
        let value = unquote(value.trim());
        if value.is_empty() {
            return Err(SecretsError::EmptyValue { path: path.to_owned(), line, key });
        }
        if let Some(&first_line) = first_lines.get(&key) {
            return Err(SecretsError::DuplicateKey { path: path.to_owned(), line, key, first_line });
        }
        first_lines.insert(key.clone(), line);
        entries.insert(key, Secret::new(value.to_owned()));
    }
    Ok(entries)
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &Metadata) -> Result<(), SecretsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SecretsError::TooOpen { path: path.to_owned(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &Metadata) -> Result<(), SecretsError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Values that must never show up in any printed form.
    const KEY_TEXT: &str = "AKIA-very-identifiable-key-0042";
    const SECRET_TEXT: &str = "s3cr3t/with=equals#and+hash==";

    fn lookup(pairs: &[(&str, &str)]) -> impl FnMut(&str) -> Option<OsString> {
        let map: BTreeMap<String, OsString> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), OsString::from(*v))).collect();
        move |var| map.get(var).cloned()
    }

    /// Writes `body` to a fresh file with permission bits `mode` (Unix) and returns its directory
    /// (kept alive by the caller) and path.
    fn secrets_file(body: &[u8], mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("venue.secrets");
        let mut f = File::create(&path).unwrap();
        f.write_all(body).unwrap();
        drop(f);
        set_mode(&path, mode);
        (dir, path)
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(not(unix))]
    fn set_mode(_path: &Path, _mode: u32) {}

    #[test]
    fn env_var_names_follow_the_convention() {
        assert_eq!(Secrets::env_var_name("binance", "api_key"), "KESTREL_BINANCE_API_KEY");
        assert_eq!(Secrets::env_var_name("gw-ib", "pass.phrase"), "KESTREL_GW_IB_PASS_PHRASE");
    }

    #[test]
    fn loads_named_variables() {
        let vars = [
            ("KESTREL_TESTLOOKUP_API_KEY", KEY_TEXT),
            ("KESTREL_TESTLOOKUP_API_SECRET", SECRET_TEXT),
            ("KESTREL_TESTLOOKUP_UNUSED", "x"),
        ];
        let s = Secrets::from_lookup(
            [("api_key", "KESTREL_TESTLOOKUP_API_KEY"), ("API_Secret", "KESTREL_TESTLOOKUP_API_SECRET")],
            lookup(&vars),
        )
        .unwrap();
        assert_eq!(s.get("api_key").unwrap().expose(), KEY_TEXT);
        assert_eq!(s.get("API_SECRET").unwrap().expose(), SECRET_TEXT, "keys are case-insensitive");
        assert_eq!(s.keys().collect::<Vec<_>>(), ["api_key", "api_secret"]);
        assert_eq!(s.origin(), &SecretsOrigin::Environment);
        let missing = s.get("passphrase").unwrap_err();
        assert!(
            matches!(&missing, SecretsError::MissingKey { key, origin: SecretsOrigin::Environment } if key == "passphrase")
        );
        assert_eq!(missing.to_string(), "no secret `passphrase` in the environment");
    }

    #[test]
    fn missing_and_empty_variables_are_named() {
        let vars = [("KESTREL_TESTMISSING_API_KEY", KEY_TEXT), ("KESTREL_TESTMISSING_EMPTY", "")];
        let err = Secrets::from_lookup(
            [("api_key", "KESTREL_TESTMISSING_API_KEY"), ("api_secret", "KESTREL_TESTMISSING_API_SECRET")],
            lookup(&vars),
        )
        .unwrap_err();
        assert!(
            matches!(&err, SecretsError::MissingVar { var, key } if var == "KESTREL_TESTMISSING_API_SECRET" && key == "api_secret")
        );
        assert!(err.to_string().contains("KESTREL_TESTMISSING_API_SECRET"));

        let err =
            Secrets::from_lookup([("api_key", "KESTREL_TESTMISSING_EMPTY")], lookup(&vars)).unwrap_err();
        assert!(matches!(&err, SecretsError::EmptyVar { var } if var == "KESTREL_TESTMISSING_EMPTY"));

        let err = Secrets::from_lookup(
            [("api_key", "KESTREL_TESTMISSING_API_KEY"), ("API_KEY", "KESTREL_TESTMISSING_API_KEY")],
            lookup(&vars),
        )
        .unwrap_err();
        assert!(matches!(err, SecretsError::InvalidKey { reason: "given twice", .. }));
        let err =
            Secrets::from_lookup([("api key", "KESTREL_TESTMISSING_API_KEY")], lookup(&vars)).unwrap_err();
        assert!(matches!(err, SecretsError::InvalidKey { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_variables_are_refused() {
        use std::os::unix::ffi::OsStringExt;
        let err = Secrets::from_lookup([("api_key", "KESTREL_TESTBYTES_API_KEY")], |_| {
            Some(OsString::from_vec(vec![b'a', 0xff, b'b']))
        })
        .unwrap_err();
        assert!(matches!(&err, SecretsError::NotUnicodeVar { var } if var == "KESTREL_TESTBYTES_API_KEY"));
    }

    /// Marker telling [`env_child`] that it runs in a child process spawned by
    /// [`from_env_reads_the_process_environment`].
    const CHILD_MARKER: &str = "KESTREL_TESTCHILD_SECRETS_FROM_ENV";

    /// The real process environment is only set in a child process: `std::env::set_var` is `unsafe`
    /// in Rust 2024 (other test threads may read the environment), and the workspace denies unsafe
    /// code. The child runs [`env_child`] alone, with the variables given to it at spawn.
    #[test]
    fn from_env_reads_the_process_environment() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["--exact", "secrets::tests::env_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_MARKER, "1")
            .env("KESTREL_TESTCHILD_API_KEY", KEY_TEXT)
            .env("KESTREL_TESTCHILD_API_SECRET", SECRET_TEXT)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "the child test did not run:\n{stdout}\n{stderr}");
    }

    /// Does nothing unless spawned by [`from_env_reads_the_process_environment`].
    #[test]
    fn env_child() {
        if std::env::var_os(CHILD_MARKER).is_none() {
            return;
        }
        let s = Secrets::from_env([
            ("api_key", "KESTREL_TESTCHILD_API_KEY"),
            ("api_secret", "KESTREL_TESTCHILD_API_SECRET"),
        ])
        .unwrap();
        assert_eq!(s.get("api_key").unwrap().expose(), KEY_TEXT);
        assert_eq!(s.get("api_secret").unwrap().expose(), SECRET_TEXT);
    }

    #[test]
    fn from_env_names_an_unset_variable() {
        // A name no environment sets, so nothing needs to be changed.
        let err = Secrets::from_env([("api_key", "KESTREL_TESTUNSET_7F3A9C_API_KEY")]).unwrap_err();
        assert!(
            matches!(&err, SecretsError::MissingVar { var, .. } if var == "KESTREL_TESTUNSET_7F3A9C_API_KEY")
        );
    }

    #[test]
    fn loads_a_private_file() {
        let body = format!(
            "\u{feff}# Binance testnet\n\
             \n\
             api_key = {KEY_TEXT}\r\n\
             \tAPI_SECRET={SECRET_TEXT}   \n\
             passphrase = \"two words\"\n\
             single='quoted'\n\
             half = \"open\n\
             # trailing comment"
        );
        let (_dir, path) = secrets_file(body.as_bytes(), 0o600);
        let s = Secrets::from_file(&path).unwrap();
        assert_eq!(s.get("api_key").unwrap().expose(), KEY_TEXT);
        assert_eq!(s.get("api_secret").unwrap().expose(), SECRET_TEXT, "`=` and `#` inside a value are kept");
        assert_eq!(s.get("passphrase").unwrap().expose(), "two words");
        assert_eq!(s.get("single").unwrap().expose(), "quoted");
        assert_eq!(s.get("half").unwrap().expose(), "\"open", "unmatched quotes are kept");
        assert_eq!(s.keys().count(), 5);
        assert_eq!(s.origin(), &SecretsOrigin::File(path.clone()));
        let missing = s.get("nope").unwrap_err().to_string();
        assert!(missing.contains(&path.display().to_string()), "{missing}");

        let (_dir, read_only) = secrets_file(b"api_key = k\n", 0o400);
        assert_eq!(Secrets::from_file(&read_only).unwrap().get("api_key").unwrap().expose(), "k");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_file_others_can_read() {
        for mode in [0o644, 0o640, 0o604, 0o620, 0o666] {
            let (_dir, path) = secrets_file(format!("api_secret = {SECRET_TEXT}\n").as_bytes(), mode);
            let err = Secrets::from_file(&path).unwrap_err();
            assert!(
                matches!(&err, SecretsError::TooOpen { path: p, mode: m } if *p == path && *m == mode),
                "{mode:o}: {err:?}"
            );
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()) && text.contains("chmod 600"), "{text}");
            assert!(text.contains(&format!("{mode:04o}")), "{text}");
        }
    }

    #[test]
    fn unreadable_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.secrets");
        let err = Secrets::from_file(&path).unwrap_err();
        assert!(matches!(&err, SecretsError::Io { path: p, .. } if *p == path));
        assert!(err.to_string().contains("absent.secrets"));
    }

    #[test]
    fn refuses_a_huge_file() {
        let body = vec![b'#'; usize::try_from(MAX_FILE_BYTES).unwrap() + 10];
        let (_dir, path) = secrets_file(&body, 0o600);
        assert!(matches!(Secrets::from_file(&path), Err(SecretsError::TooLarge { .. })));
    }

    #[test]
    fn malformed_lines_name_file_and_line_but_not_the_text() {
        let cases: [(&[u8], usize, &str); 7] = [
            (b"api_key = k\nS3CRETLINEWITHOUTEQUALS\n", 2, "Malformed"),
            (b"# c\n\n = S3CRETVALUE\n", 3, "Malformed"),
            (b"S3CRET+/PREFIX = rest\n", 1, "Malformed"),
            (b"api_key = k\napi_secret =   \n", 2, "EmptyValue"),
            (b"api_key = k\napi_secret = \"\"\n", 2, "EmptyValue"),
            (b"api_key = k\n\nAPI_KEY = S3CRETVALUE\n", 3, "DuplicateKey"),
            (b"api_key = k\napi_secret = \xff\xfe\n", 2, "NotUtf8"),
        ];
        for (body, want_line, want_kind) in cases {
            let (_dir, path) = secrets_file(body, 0o600);
            let err = Secrets::from_file(&path).unwrap_err();
            let (kind, line) = match &err {
                SecretsError::Malformed { line, .. } => ("Malformed", *line),
                SecretsError::EmptyValue { line, .. } => ("EmptyValue", *line),
                SecretsError::DuplicateKey { line, first_line, .. } => {
                    assert_eq!(*first_line, 1);
                    ("DuplicateKey", *line)
                }
                SecretsError::NotUtf8 { line, .. } => ("NotUtf8", *line),
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!((kind, line), (want_kind, want_line), "{err}");
            let text = err.to_string();
            assert!(text.starts_with(&format!("{}:{want_line}: ", path.display())), "{text}");
            assert!(!text.contains("S3CRET"), "error repeats the line's text: {text}");
            assert!(!format!("{err:?}").contains("S3CRET"), "{err:?}");
        }
    }

    #[test]
    fn values_in_code_for_simulators() {
        let s = Secrets::from_values([("api_key", KEY_TEXT.to_owned())]).unwrap();
        assert_eq!(s.get("API_KEY").unwrap().expose(), KEY_TEXT);
        assert_eq!(s.origin(), &SecretsOrigin::Memory);
        assert!(matches!(
            Secrets::from_values([("api_key", String::new())]),
            Err(SecretsError::InvalidKey { reason: "empty value", .. })
        ));
        assert!(matches!(
            Secrets::from_values([("", "v".to_owned())]),
            Err(SecretsError::InvalidKey { reason: "empty key", .. })
        ));
    }

    #[test]
    fn printing_never_shows_a_value() {
        let (_dir, path) =
            secrets_file(format!("api_key = {KEY_TEXT}\napi_secret = {SECRET_TEXT}\n").as_bytes(), 0o600);
        let s = Secrets::from_file(&path).unwrap();
        let secret = s.get("api_secret").unwrap();
        let printed = [
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{s}"),
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{secret:>40}"),
            format!("{:?}", s.get("missing").unwrap_err()),
            s.get("missing").unwrap_err().to_string(),
        ];
        for text in &printed {
            assert!(!text.contains(KEY_TEXT) && !text.contains(SECRET_TEXT), "leaked: {text}");
            assert!(!text.contains("AKIA") && !text.contains("s3cr3t"), "leaked a fragment: {text}");
        }
        assert_eq!(printed[3], "***");
        assert_eq!(printed[4], "***");
        assert!(
            printed[0].contains("\"api_key\": ***") && printed[0].contains("\"api_secret\": ***"),
            "{}",
            printed[0]
        );
        assert!(printed[2].starts_with("api_key=***, api_secret=*** (from file "), "{}", printed[2]);
    }
}
