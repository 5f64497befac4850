//! The runtime loop allocates nothing per event: the latency harness counts the engine thread's
//! allocations from the end of its warm-up (quotes in, orders out, fills back) with the per-thread
//! counting allocator installed here.

use kestrel_runtime::alloc::CountingAllocator;
use kestrel_runtime::harness::{HarnessConfig, run_harness};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn the_engine_thread_allocates_nothing_after_warm_up() {
    let config = HarnessConfig {
        rate: 50_000,
        samples: 20_000,
        warmup: 2_000,
        rtt_samples: 1_000,
        ring_capacity: 1024,
        engine_core: None,
        venue_core: None,
        spin: false,
    };
    let r = run_harness(&config).unwrap();
    assert_eq!(r.tick_to_order.len(), 20_000);
    assert_eq!(r.allocations, Some(0), "the engine thread allocated after warm-up");
    assert_eq!(r.engine.refused, 0);
    assert_eq!(r.engine.fills, 22_000);
}
