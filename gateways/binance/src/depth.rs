//! The local order book from Binance's diff stream (DIGEST §10), as a state machine without I/O.
//!
//! The caller feeds it every `depthUpdate` of one symbol and the REST snapshot it fetched when
//! [`BookSync::needs_snapshot`] says so; it emits Kestrel book payloads: `SnapshotBegin`, the
//! snapshot's levels, `SnapshotEnd`, then one `Level` per changed price (absolute size, 0 removes).
//! A lost update is a typed [`Resync`] reason: the book is cleared (`BookClear`) and the
//! machine waits for a new snapshot while buffering again.

use std::collections::VecDeque;

use kestrel_types::{BookSide, LevelUpdate, Payload};

use crate::msg::{DepthSnapshot, DepthUpdateMsg, Level};

/// Why the book had to be dropped and rebuilt from a new snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Resync {
    /// A diff does not continue the book: updates between were lost.
    #[error("update gap: book at {book_id}, next diff starts at {first}")]
    Gap {
        /// The book's update id.
        book_id: u64,
        /// The diff's `U`.
        first: u64,
    },
    /// After the snapshot, the first diff kept does not straddle `lastUpdateId + 1`.
    #[error("first diff {first}..={last} does not contain snapshot {snapshot} + 1")]
    NoStraddle {
        /// The snapshot's `lastUpdateId`.
        snapshot: u64,
        /// The diff's `U`.
        first: u64,
        /// The diff's `u`.
        last: u64,
    },
    /// A diff with `U > u`: not a range.
    #[error("diff with first id {first} after last id {last}")]
    Inverted {
        /// `U`.
        first: u64,
        /// `u`.
        last: u64,
    },
    /// More diffs buffered than allowed while waiting for the snapshot.
    #[error("{limit} diffs buffered without a usable snapshot")]
    BufferFull {
        /// The limit.
        limit: usize,
    },
}

/// A snapshot that cannot be used; the machine keeps buffering and needs another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The snapshot predates the first buffered diff: fetch it again (DIGEST §10 step 3).
    #[error("snapshot {snapshot} older than the first buffered diff {first_buffered}")]
    TooOld {
        /// The snapshot's `lastUpdateId`.
        snapshot: u64,
        /// The first buffered `U`.
        first_buffered: u64,
    },
    /// No diff was buffered yet: the snapshot's place in the stream cannot be checked.
    #[error("snapshot arrived before any diff was buffered")]
    NothingBuffered,
    /// The book is live; a snapshot is not expected.
    #[error("snapshot not expected: the book is live")]
    NotExpected,
    /// A buffered diff could not be applied (the book is cleared and resyncs).
    #[error(transparent)]
    Resync(#[from] Resync),
}

/// A diff kept while the snapshot is fetched.
#[derive(Clone, Debug)]
struct Buffered {
    first: u64,
    last: u64,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

impl Buffered {
    fn of(d: &DepthUpdateMsg<'_>) -> Self {
        Self { first: d.first_update_id, last: d.last_update_id, bids: d.bids.clone(), asks: d.asks.clone() }
    }

    fn view(&self) -> Diff<'_> {
        Diff { first: self.first, last: self.last, bids: &self.bids, asks: &self.asks }
    }
}

/// A diff's range and levels, wherever they are kept.
#[derive(Clone, Copy)]
struct Diff<'a> {
    first: u64,
    last: u64,
    bids: &'a [Level],
    asks: &'a [Level],
}

impl<'a> Diff<'a> {
    fn of(d: &'a DepthUpdateMsg<'_>) -> Self {
        Self { first: d.first_update_id, last: d.last_update_id, bids: &d.bids, asks: &d.asks }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Buffering diffs; a snapshot is needed.
    Buffering,
    /// The book is at `book_id`; `applied` says whether a diff was applied since the snapshot.
    Live { book_id: u64, applied: bool },
}

/// The sync machine of one symbol.
#[derive(Clone, Debug)]
pub struct BookSync {
    state: State,
    buffer: VecDeque<Buffered>,
    limit: usize,
}

/// What a diff did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffOutcome {
    /// Kept until the snapshot arrives.
    Buffered,
    /// Entirely older than the book: dropped.
    Stale,
    /// Applied; the book is now at this update id.
    Applied {
        /// The book's update id.
        book_id: u64,
    },
}

impl BookSync {
    /// A machine that buffers at most `limit` diffs while waiting for a snapshot.
    pub fn new(limit: usize) -> Self {
        Self { state: State::Buffering, buffer: VecDeque::with_capacity(limit.min(1024)), limit }
    }

    /// Whether the caller should fetch a REST snapshot now (buffering with at least one diff).
    pub fn needs_snapshot(&self) -> bool {
        self.state == State::Buffering && !self.buffer.is_empty()
    }

    /// The book's update id when live.
    pub fn book_id(&self) -> Option<u64> {
        match self.state {
            State::Live { book_id, .. } => Some(book_id),
            State::Buffering => None,
        }
    }

    /// Feeds one diff; level payloads go to `out`.
    ///
    /// # Errors
    /// [`Resync`] when updates were lost: `BookClear` was emitted, the machine is buffering again
    /// (this diff is kept as the first of the new buffer), and a new snapshot is needed.
    pub fn on_diff(
        &mut self,
        d: &DepthUpdateMsg<'_>,
        out: &mut impl FnMut(Payload),
    ) -> Result<DiffOutcome, Resync> {
        if d.first_update_id > d.last_update_id {
            return Err(Resync::Inverted { first: d.first_update_id, last: d.last_update_id });
        }
        match self.state {
            State::Buffering => {
                if self.buffer.len() >= self.limit {
                    self.buffer.clear();
                    return Err(Resync::BufferFull { limit: self.limit });
                }
                self.buffer.push_back(Buffered::of(d));
                Ok(DiffOutcome::Buffered)
            }
            State::Live { book_id, applied } => match apply(book_id, applied, Diff::of(d), out) {
                Ok(outcome) => {
                    if let DiffOutcome::Applied { book_id } = outcome {
                        self.state = State::Live { book_id, applied: true };
                    }
                    Ok(outcome)
                }
                Err(e) => {
                    self.reset(out);
                    self.buffer.push_back(Buffered::of(d));
                    Err(e)
                }
            },
        }
    }

    /// Feeds the REST snapshot: emits it, then the buffered diffs that follow it.
    ///
    /// # Errors
    /// [`SnapshotError::TooOld`] / [`SnapshotError::NothingBuffered`]: fetch again later, the
    /// buffer is kept; [`SnapshotError::Resync`] when the buffered diffs do not continue it.
    pub fn on_snapshot(
        &mut self,
        s: &DepthSnapshot,
        out: &mut impl FnMut(Payload),
    ) -> Result<u64, SnapshotError> {
        if self.state != State::Buffering {
            return Err(SnapshotError::NotExpected);
        }
        let first_buffered = self.buffer.front().map(|b| b.first).ok_or(SnapshotError::NothingBuffered)?;
        if s.last_update_id < first_buffered {
            return Err(SnapshotError::TooOld { snapshot: s.last_update_id, first_buffered });
        }
        // Drop what the snapshot already contains; the first kept diff must straddle it.
        while self.buffer.front().is_some_and(|b| b.last <= s.last_update_id) {
            self.buffer.pop_front();
        }
        if let Some(b) = self.buffer.front()
            && b.first > s.last_update_id + 1
        {
            let e = Resync::NoStraddle { snapshot: s.last_update_id, first: b.first, last: b.last };
            self.buffer.clear();
            return Err(e.into());
        }
        out(Payload::SnapshotBegin);
        emit(&s.bids, BookSide::Bid, out);
        emit(&s.asks, BookSide::Ask, out);
        out(Payload::SnapshotEnd);
        let mut book_id = s.last_update_id;
        let mut applied = false;
        let mut failed = None;
        for b in &self.buffer {
            match apply(book_id, applied, b.view(), out) {
                Ok(DiffOutcome::Applied { book_id: id }) => {
                    book_id = id;
                    applied = true;
                }
                Ok(_) => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            self.reset(out);
            return Err(e.into());
        }
        self.buffer.clear();
        self.state = State::Live { book_id, applied };
        Ok(book_id)
    }

    /// Drops the book: `BookClear`, back to buffering.
    fn reset(&mut self, out: &mut impl FnMut(Payload)) {
        out(Payload::BookClear);
        self.state = State::Buffering;
        self.buffer.clear();
    }
}

/// Applies one diff to a book at `book_id` (`applied`: a diff was applied since the snapshot).
/// Emits its levels; the caller records the new id.
fn apply(
    book_id: u64,
    applied: bool,
    d: Diff<'_>,
    out: &mut impl FnMut(Payload),
) -> Result<DiffOutcome, Resync> {
    if d.last <= book_id {
        return Ok(DiffOutcome::Stale);
    }
    let next = book_id + 1;
    if !applied && d.first > next {
        return Err(Resync::NoStraddle { snapshot: book_id, first: d.first, last: d.last });
    }
    if d.first > next {
        return Err(Resync::Gap { book_id, first: d.first });
    }
    emit(d.bids, BookSide::Bid, out);
    emit(d.asks, BookSide::Ask, out);
    Ok(DiffOutcome::Applied { book_id: d.last })
}

fn emit(levels: &[Level], side: BookSide, out: &mut impl FnMut(Payload)) {
    for l in levels {
        out(Payload::Level(LevelUpdate { side, price: l.price, size: l.qty }));
    }
}
