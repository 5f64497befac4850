//! Kestrel's integration tests: one binary, one module per concern (ARCHITECTURE.md §10).
//!
//! The counting allocator is installed for the whole binary; `no_alloc` reads it per thread, so tests
//! running in parallel do not disturb each other.

#[global_allocator]
static ALLOCATOR: kestrel_tests::CountingAllocator = kestrel_tests::CountingAllocator;

mod book_mbo;
mod conformance;
mod money_flow;
mod no_alloc;
