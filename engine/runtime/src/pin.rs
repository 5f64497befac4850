//! Pinning the engine thread to a core, degrading to a warning where that is not possible
//! (containers, CI runners with fewer cores than asked for).

/// Pins the current thread to core `index` (of `core_affinity::get_core_ids`); says why on stderr
/// and returns `false` when it cannot, so the caller runs on unpinned.
pub fn pin_or_warn(index: usize) -> bool {
    let Some(ids) = core_affinity::get_core_ids() else {
        eprintln!("kestrel: warning: cannot list cores; running unpinned");
        return false;
    };
    let Some(id) = ids.get(index).copied() else {
        eprintln!("kestrel: warning: core {index} does not exist ({} cores); running unpinned", ids.len());
        return false;
    };
    if core_affinity::set_for_current(id) {
        true
    } else {
        eprintln!("kestrel: warning: pinning to core {index} failed; running unpinned");
        false
    }
}
