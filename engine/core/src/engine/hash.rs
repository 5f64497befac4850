//! The engine's state hash: one SHA-256 over a canonical byte encoding of what a session is
//! accountable for, so that a live session and its journal's replay can be compared, and two
//! replays of the same data shown identical.
//!
//! # Encoding (version 1), all integers little-endian
//! 1. the 16 bytes `kestrel-state-v1`;
//! 2. orders issued so far (`u64`) and fills delivered (`u64`);
//! 3. every order the engine holds (open, or with reports in flight), in id order: id (`u64`),
//!    status (`u8`, its index in [`Status::ALL`]), filled (`i64` nano-units), average fill price
//!    (`i64` nano-units, 0 before the first fill);
//! 4. every instrument's position, in instrument order: size (`i64`) and exact cost basis (`i128`,
//!    10^-18 units);
//! 5. the balances: cash (`i128`, 10^-18 units, exact), commission paid and pnl realised (`i128`
//!    nano-units each).
//!
//! Orders that ended and left the engine are not listed one by one; they are in the counts, the
//! positions and the balances they moved. A change to this encoding changes the version string.

use sha2::{Digest, Sha256};

use super::{Core, Engine, TickStrategy};
use crate::order::Status;

/// A state hash: SHA-256 of the encoding in the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateHash(pub [u8; 32]);

impl core::fmt::Display for StateHash {
    /// Lower-case hex.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Core {
    fn state_hash(&self) -> StateHash {
        let mut h = Sha256::new();
        h.update(b"kestrel-state-v1");
        h.update(self.next_id.saturating_sub(1).to_le_bytes());
        h.update(self.counters.fills.to_le_bytes());
        // Not on the event path: a small sort of the held slots is fine here.
        let mut held: Vec<_> = self.slots.iter().filter(|s| s.in_use).map(|s| s.order).collect();
        held.sort_by_key(|o| o.id);
        for o in &held {
            h.update(o.id.0.to_le_bytes());
            let status = Status::ALL.iter().position(|s| *s == o.status).unwrap_or(usize::MAX);
            h.update([u8::try_from(status).unwrap_or(u8::MAX)]);
            h.update(o.filled.raw().to_le_bytes());
            h.update(o.avg_price().map_or(0, |p| p.raw()).to_le_bytes());
        }
        for p in self.ledger.positions() {
            h.update(p.size().raw().to_le_bytes());
            h.update(p.cost_basis().raw().to_le_bytes());
        }
        h.update(self.ledger.cash_exact().raw().to_le_bytes());
        h.update(self.ledger.fees().raw().to_le_bytes());
        h.update(self.ledger.realized().raw().to_le_bytes());
        StateHash(h.finalize().into())
    }
}

impl<S: TickStrategy> Engine<S> {
    /// The state hash of the engine now (see the [module docs](self)).
    pub fn state_hash(&self) -> StateHash {
        self.core.state_hash()
    }
}
