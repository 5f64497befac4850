//! Pinning the engine thread to a core, degrading to a warning where that is not possible
//! (containers, CI runners with fewer cores than asked for).
//!
//! Cores are named by their operating-system CPU number, not by an index into
//! `core_affinity::get_core_ids()`: that list is the *calling thread's* allowed set, so a thread
//! spawned by an already pinned thread would see only its parent's core and "core 0" would mean the
//! parent's core — two spinning threads on one CPU.

/// Pins the current thread to CPU `cpu`; says why on stderr and returns `false` when it cannot, so
/// the caller runs on unpinned.
pub fn pin_or_warn(cpu: usize) -> bool {
    // The affinity mask holds this many CPUs; beyond it the mask cannot even name the CPU.
    const MASK_CPUS: usize = 1024;
    if cpu < MASK_CPUS && core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        true
    } else {
        eprintln!(
            "kestrel: warning: pinning to CPU {cpu} failed (not present or not allowed); running unpinned"
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_spawned_by_a_pinned_thread_can_pin_to_another_cpu() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 {
            eprintln!("one CPU: nothing to check");
            return;
        }
        std::thread::spawn(move || {
            assert!(pin_or_warn(1));
            let child = std::thread::spawn(|| {
                let pinned = pin_or_warn(0);
                (pinned, core_affinity::get_core_ids().unwrap_or_default())
            });
            let (pinned, ids) = child.join().unwrap();
            assert!(pinned);
            assert_eq!(ids.iter().map(|c| c.id).collect::<Vec<_>>(), vec![0], "the child runs on CPU 0 only");
        })
        .join()
        .unwrap();
        assert!(!pin_or_warn(1 << 20), "a CPU that does not exist is a warning, not a pin");
    }
}
