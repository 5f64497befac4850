//! Taps on the loop: what sees every inbound event in processing order (the journal), and what
//! may look at the engine after each one (tests comparing state hashes).

use kestrel_engine::engine::{Engine, TickStrategy};
use kestrel_replay::ReplayError;
use kestrel_replay::journal::JournalWriter;
use kestrel_types::Event;

/// Called by [`crate::run`] around each event. Every method defaults to nothing, so a tap
/// implements only what it needs and an unused hook costs nothing (static dispatch).
pub trait Tap<S: TickStrategy> {
    /// The event, as the engine is about to process it (its `ts_recv` already made monotonic).
    fn inbound(&mut self, _ev: &Event) {}

    /// The engine after it processed the event.
    fn processed(&mut self, _engine: &Engine<S>, _ev: &Event) {}

    /// The end of a pass over the rings.
    fn end_of_batch(&mut self) {}
}

/// No tap.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTap;

impl<S: TickStrategy> Tap<S> for NoTap {}

/// Appends every inbound event to a journal, in processing order.
///
/// The writer buffers (one `write` per 1,024 records), so appending costs no syscall per event;
/// what the buffer holds is lost if the process dies before [`JournalTap::finish`] (see
/// `kestrel_replay::journal` for what survives a crash). The first append error is kept and the
/// tap stops appending: the session runs on, and [`JournalTap::finish`] reports it.
#[derive(Debug)]
pub struct JournalTap {
    writer: JournalWriter,
    appended: u64,
    error: Option<ReplayError>,
}

impl JournalTap {
    /// A tap appending to `writer`.
    pub fn new(writer: JournalWriter) -> Self {
        Self { writer, appended: 0, error: None }
    }

    /// Records appended so far.
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// Flushes and syncs the journal; returns the records appended.
    ///
    /// # Errors
    /// The first append error of the session, else the flush's or the sync's.
    pub fn finish(mut self) -> Result<u64, ReplayError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.writer.sync()?;
        Ok(self.appended)
    }
}

impl<S: TickStrategy> Tap<S> for JournalTap {
    fn inbound(&mut self, ev: &Event) {
        if self.error.is_some() {
            return;
        }
        match self.writer.append(ev) {
            Ok(()) => self.appended += 1,
            Err(e) => self.error = Some(e),
        }
    }
}
