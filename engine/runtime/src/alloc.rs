//! A global allocator that counts allocations per thread.
//!
//! The engine's hot path must not allocate. Tests run in parallel and the latency harness runs two
//! threads, so a process-wide counter would see others' allocations; this one counts in a
//! thread-local, and each measure reads only its own thread. A binary opts in with
//! `#[global_allocator] static A: CountingAllocator = CountingAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Wraps the system allocator and counts allocations and reallocations made by the current thread.
pub struct CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting touches
// only a thread-local `Cell` (const-initialised, so reading it never allocates or recurses).
#[allow(unsafe_code, reason = "a global allocator is an unsafe trait; this one only forwards and counts")]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn bump() {
    // `try_with`: during thread teardown the slot may be gone; such allocations are not the test's.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

/// Allocations made by the current thread so far.
pub fn thread_allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Runs `f` and returns its result with the number of allocations the current thread made meanwhile.
pub fn count_allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = thread_allocations();
    let out = f();
    (out, thread_allocations() - before)
}
