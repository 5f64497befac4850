//! Kestrel's live runtime (ARCHITECTURE.md §6): one single-threaded event loop, pinned to a core
//! when it can be, fed by lock-free SPSC rings (`rtrb`) from gateway threads and draining the
//! engine's venue requests into a ring back to them.
//!
//! - [`run`]: the loop: fixed ring order, a bounded batch per ring, timer events when the clock
//!   passes the engine's next due time, requests published as soon as they are made, a backoff when
//!   idle, and a clean shutdown. No lock, allocation or syscall per event.
//! - [`Tap`], [`JournalTap`]: every inbound event, in processing order, to a journal (the tick
//!   store's journal format), so a live session replays to the same
//!   [`StateHash`](kestrel_engine::engine::StateHash).
//! - [`clock`]: the hot path's clock (the TSC through `quanta`, calibrated to wall time).
//! - [`harness`]: the loopback latency harness behind `kestrel bench latency`.
//! - [`alloc`]: a global allocator that counts per thread, to prove the loop allocates nothing.

pub mod alloc;
pub mod clock;
pub mod harness;
mod pin;
mod run;
mod tap;

pub use pin::pin_or_warn;
pub use run::{RuntimeConfig, RuntimeStats, run};
pub use tap::{JournalTap, NoTap, Tap};
