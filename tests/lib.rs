//! Support for the integration tests: the per-thread counting allocator, which lives with the
//! runtime (the latency harness counts with it too).

pub use kestrel_runtime::alloc::{CountingAllocator, count_allocations, thread_allocations};
