//! The order state machine, as one transition table.
//!
//! Statuses are backtrader's. Every legal move is one line of [`Status::apply`]; anything else is an
//! [`IllegalTransition`] naming the state and the event, which [`super::Order`] turns into a
//! [`super::OrderError::BadTransition`] naming the order too.
//!
//! Live venues add two kinds of moves backtrader never sees, and the table states them instead of
//! hiding them in callers:
//! - **Out of order**: a fill may arrive before the acceptance (`Submitted` + fill), and the
//!   acceptance may then arrive late (`Partial`/`Completed`/`Canceled` + accept: kept, nothing moves).
//! - **Late fills**: a fill the venue executed before it processed our cancel may be reported after
//!   the cancel confirmation. The fill is real — position and cash must see it — so a `Canceled` or
//!   `Expired` order books it and keeps its status (as an order canceled after a partial fill does).

use core::fmt;

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Built, not yet handed to a broker or venue (held bracket legs wait here).
    Created,
    /// Handed to the broker or venue, not yet acknowledged.
    Submitted,
    /// Acknowledged and working.
    Accepted,
    /// Partly filled and still working.
    Partial,
    /// Completely filled.
    Completed,
    /// Canceled (by the user, an OCO sibling, or a bracket).
    Canceled,
    /// Its validity ran out.
    Expired,
    /// Refused for lack of cash or margin (backtrader's `Margin`).
    Margin,
    /// Refused by the venue or by a pre-trade check.
    Rejected,
}

impl Status {
    /// Every status, in backtrader's order (for exhaustive tests and tables).
    pub const ALL: [Self; 9] = [
        Self::Created,
        Self::Submitted,
        Self::Accepted,
        Self::Partial,
        Self::Completed,
        Self::Canceled,
        Self::Expired,
        Self::Margin,
        Self::Rejected,
    ];

    /// Whether the order can still execute (backtrader's `alive()`).
    pub const fn is_alive(self) -> bool {
        matches!(self, Self::Created | Self::Submitted | Self::Accepted | Self::Partial)
    }

    /// Whether the order is at a venue and working (a cancel or amend can be sent).
    pub const fn is_working(self) -> bool {
        matches!(self, Self::Submitted | Self::Accepted | Self::Partial)
    }

    /// Whether nothing more can happen to the order's status.
    pub const fn is_final(self) -> bool {
        !self.is_alive()
    }

    /// backtrader's name for the status, as conformance outputs print it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Submitted => "Submitted",
            Self::Accepted => "Accepted",
            Self::Partial => "Partial",
            Self::Completed => "Completed",
            Self::Canceled => "Canceled",
            Self::Expired => "Expired",
            Self::Margin => "Margin",
            Self::Rejected => "Rejected",
        }
    }

    /// Applies `event`: the whole state machine.
    ///
    /// # Errors
    /// [`IllegalTransition`] for any move the table does not list.
    pub fn apply(self, event: StatusEvent) -> Result<Transition, IllegalTransition> {
        use {Status as S, StatusEvent as E, Transition as T};
        let moved = |to| T::Moved { from: self, to };
        Ok(match (self, event) {
            (S::Created, E::Submit) => moved(S::Submitted),
            (S::Submitted, E::Accept) => moved(S::Accepted),
            // A fill before the acceptance is applied: the venue has executed, whatever it said first.
            (S::Submitted | S::Accepted | S::Partial, E::Fill { completes: true }) => moved(S::Completed),
            (S::Submitted | S::Accepted | S::Partial, E::Fill { completes: false }) => moved(S::Partial),
            // Held legs (transmit=false) can be canceled before they are ever sent.
            (S::Created | S::Submitted | S::Accepted | S::Partial, E::Cancel) => moved(S::Canceled),
            (S::Submitted | S::Accepted | S::Partial, E::Expire) => moved(S::Expired),
            // backtrader: bbroker.py _execute — the opened part of a fill can fail for cash after a
            // closed part executed, so Margin follows Partial too.
            (S::Submitted | S::Accepted | S::Partial, E::Margin) => moved(S::Margin),
            // backtrader: bbroker.py _take_children rejects a leg whose parent is gone before it is sent;
            // pre-trade checks reject before sending; venues reject before working.
            (S::Created | S::Submitted | S::Accepted, E::Reject) => moved(S::Rejected),
            // Out of order or repeated acknowledgements: nothing to do.
            (S::Accepted | S::Partial | S::Completed | S::Canceled | S::Expired, E::Accept) => {
                T::Kept { status: self, why: KeptReason::StaleAccept }
            }
            (S::Canceled, E::Cancel) => T::Kept { status: self, why: KeptReason::RepeatedCancel },
            // A fill the venue made before our cancel or expiry reached it.
            (S::Canceled | S::Expired, E::Fill { .. }) => T::Kept { status: self, why: KeptReason::LateFill },
            (from, event) => return Err(IllegalTransition { from, event }),
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What happened to an order, as far as its status is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusEvent {
    /// Handed to a broker or venue.
    Submit,
    /// Acknowledged.
    Accept,
    /// Executed in part or in full; `completes` when nothing remains.
    Fill {
        /// Whether the fill leaves nothing to execute.
        completes: bool,
    },
    /// Canceled.
    Cancel,
    /// Validity ran out.
    Expire,
    /// Refused for cash or margin.
    Margin,
    /// Refused by a venue or a check.
    Reject,
}

impl StatusEvent {
    /// Every event (for exhaustive tests).
    pub const ALL: [Self; 8] = [
        Self::Submit,
        Self::Accept,
        Self::Fill { completes: false },
        Self::Fill { completes: true },
        Self::Cancel,
        Self::Expire,
        Self::Margin,
        Self::Reject,
    ];
}

impl fmt::Display for StatusEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Submit => f.write_str("Submit"),
            Self::Accept => f.write_str("Accept"),
            Self::Fill { completes: true } => f.write_str("Fill (complete)"),
            Self::Fill { completes: false } => f.write_str("Fill (partial)"),
            Self::Cancel => f.write_str("Cancel"),
            Self::Expire => f.write_str("Expire"),
            Self::Margin => f.write_str("Margin"),
            Self::Reject => f.write_str("Reject"),
        }
    }
}

/// The result of a legal event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The status changed.
    Moved {
        /// Before.
        from: Status,
        /// After.
        to: Status,
    },
    /// A legal event that leaves the status as it is.
    Kept {
        /// The unchanged status.
        status: Status,
        /// Why nothing moved.
        why: KeptReason,
    },
}

impl Transition {
    /// The status after the event.
    pub const fn status(self) -> Status {
        match self {
            Self::Moved { to, .. } => to,
            Self::Kept { status, .. } => status,
        }
    }
}

/// Why a legal event left the status unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeptReason {
    /// An acknowledgement that arrived after a fill or a cancel, or twice.
    StaleAccept,
    /// A second cancel confirmation.
    RepeatedCancel,
    /// A fill reported after the order was canceled or expired: booked, status kept.
    LateFill,
    /// An amend the venue applied without finishing the order (not a table move: see
    /// [`super::Order::replaced`]).
    Amended,
}

/// An event the state machine does not allow in this state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply {event} to an order in status {from}")]
pub struct IllegalTransition {
    /// The status the order was in.
    pub from: Status,
    /// The refused event.
    pub event: StatusEvent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status as S;
    use StatusEvent as E;

    /// The whole table, written out as the expected outcome of every (status, event) pair: a change
    /// to the state machine must change this test.
    #[test]
    fn every_pair_of_status_and_event() {
        // Row per status, column per event in StatusEvent::ALL order:
        // Submit, Accept, Fill(partial), Fill(complete), Cancel, Expire, Margin, Reject.
        // "M:X" moved to X, "K" kept, "-" illegal.
        let table: [(S, [&str; 8]); 9] = [
            (S::Created, ["M:Submitted", "-", "-", "-", "M:Canceled", "-", "-", "M:Rejected"]),
            (
                S::Submitted,
                [
                    "-",
                    "M:Accepted",
                    "M:Partial",
                    "M:Completed",
                    "M:Canceled",
                    "M:Expired",
                    "M:Margin",
                    "M:Rejected",
                ],
            ),
            (
                S::Accepted,
                ["-", "K", "M:Partial", "M:Completed", "M:Canceled", "M:Expired", "M:Margin", "M:Rejected"],
            ),
            (S::Partial, ["-", "K", "M:Partial", "M:Completed", "M:Canceled", "M:Expired", "M:Margin", "-"]),
            (S::Completed, ["-", "K", "-", "-", "-", "-", "-", "-"]),
            (S::Canceled, ["-", "K", "K", "K", "K", "-", "-", "-"]),
            (S::Expired, ["-", "K", "K", "K", "-", "-", "-", "-"]),
            (S::Margin, ["-", "-", "-", "-", "-", "-", "-", "-"]),
            (S::Rejected, ["-", "-", "-", "-", "-", "-", "-", "-"]),
        ];
        for (from, row) in table {
            for (event, want) in StatusEvent::ALL.into_iter().zip(row) {
                let got = match from.apply(event) {
                    Ok(Transition::Moved { from: f, to }) => {
                        assert_eq!(f, from);
                        format!("M:{to}")
                    }
                    Ok(Transition::Kept { status, .. }) => {
                        assert_eq!(status, from);
                        "K".to_owned()
                    }
                    Err(e) => {
                        assert_eq!(e, IllegalTransition { from, event });
                        "-".to_owned()
                    }
                };
                assert_eq!(got, want, "{from} + {event}");
            }
        }
    }

    #[test]
    fn kept_reasons_and_messages() {
        assert_eq!(
            S::Canceled.apply(E::Fill { completes: false }),
            Ok(Transition::Kept { status: S::Canceled, why: KeptReason::LateFill })
        );
        assert_eq!(
            S::Completed.apply(E::Accept),
            Ok(Transition::Kept { status: S::Completed, why: KeptReason::StaleAccept })
        );
        let e = S::Completed.apply(E::Cancel).unwrap_err();
        assert_eq!(e.to_string(), "cannot apply Cancel to an order in status Completed");
    }

    #[test]
    fn alive_working_final() {
        let alive: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_alive()).collect();
        assert_eq!(alive, [S::Created, S::Submitted, S::Accepted, S::Partial]);
        assert!(!S::Created.is_working());
        assert!(S::Partial.is_working());
        assert!(S::Margin.is_final());
    }
}
