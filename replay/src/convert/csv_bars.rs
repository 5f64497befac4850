//! Reader of this vendor's format (being written in this session; until then it refuses clearly).

use std::path::Path;

#[allow(unused_imports, reason = "placeholder until the reader lands")]
use super::{Collector, ConvertError, Format};

/// Tells whether a file is in this module's format.
pub(super) fn detect(_name: &str, _head: &[u8]) -> Option<Format> {
    None
}

/// Reads a file of this module's format.
pub(super) fn read(format: Format, path: &Path, _coll: &mut Collector) -> Result<(), ConvertError> {
    Err(ConvertError::Format {
        path: path.to_path_buf(),
        reason: format!("{} input is not supported yet", format),
    })
}
