//! `Event`: one timestamped market or journal event, as tick files store it and the engine consumes
//! it. Small, `Copy`, no heap, no strings.

use crate::{Bar, InstrumentId, Price, Qty, Timestamp};

/// Which side of the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BookSide {
    /// Bids (buyers).
    Bid,
    /// Asks (sellers).
    Ask,
}

/// Who took liquidity in a trade, when the venue says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Aggressor {
    /// Not reported.
    Unknown,
    /// A buyer lifted the ask.
    Buy,
    /// A seller hit the bid.
    Sell,
}

/// A trade print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Trade {
    /// Price.
    pub price: Price,
    /// Size (positive).
    pub size: Qty,
    /// Who took liquidity.
    pub aggressor: Aggressor,
    /// The venue's trade id (0 when none).
    pub trade_id: u64,
}

/// The best bid and ask with their sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quote {
    /// Best bid.
    pub bid: Price,
    /// Size at the best bid.
    pub bid_size: Qty,
    /// Best ask.
    pub ask: Price,
    /// Size at the best ask.
    pub ask_size: Qty,
}

/// A market-by-price change: the new absolute size at one price (0 removes the level).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelUpdate {
    /// Side of the level.
    pub side: BookSide,
    /// Price of the level.
    pub price: Price,
    /// New total size there (absolute, not a delta).
    pub size: Qty,
}

/// What happened to an order in a market-by-order (L3) feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderAction {
    /// A new resting order.
    Add,
    /// The order left the book.
    Cancel,
    /// Its price or size changed.
    Modify,
    /// It traded (size is the traded amount).
    Fill,
}

/// A market-by-order event with the venue's order id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BookOrder {
    /// What happened.
    pub action: OrderAction,
    /// Side of the order.
    pub side: BookSide,
    /// Its price.
    pub price: Price,
    /// Its size (remaining for add/modify, traded for fill, removed for cancel).
    pub size: Qty,
    /// The venue's order id.
    pub order_id: u64,
}

/// An execution report as the engine journalled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecRecord {
    /// Engine order id.
    pub order: u64,
    /// Execution sequence number (the engine's dense stand-in for the venue's execution id).
    pub exec: u64,
    /// Order status after the report, as its code (the engine's `Status` in declaration order).
    pub status: u8,
    /// Executed quantity of this report (signed).
    pub qty: Qty,
    /// Execution price.
    pub price: Price,
    /// Fee, in nano-units of the settlement currency.
    pub fee: i64,
}

/// What a command asked a venue to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// A new order.
    Submit,
    /// Cancel an order.
    Cancel,
    /// Change an order's price or quantity.
    Amend,
}

/// A command as the engine issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommandRecord {
    /// Submit, cancel or amend.
    pub kind: CommandKind,
    /// Buy (bid) or sell (ask).
    pub side: BookSide,
    /// Exec type code (the engine's `ExecType` in declaration order).
    pub exec_type: u8,
    /// Engine order id.
    pub order: u64,
    /// Quantity (positive).
    pub qty: Qty,
    /// Price (limit or trigger; 0 for market).
    pub price: Price,
    /// Second price (a stop-limit's limit; 0 when none).
    pub price2: Price,
}

/// What an event carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Payload {
    /// A trade print.
    Trade(Trade),
    /// Best bid and ask.
    Quote(Quote),
    /// A market-by-price level change.
    Level(LevelUpdate),
    /// The book is empty from here on.
    BookClear,
    /// A snapshot follows: levels until `SnapshotEnd` replace the book.
    SnapshotBegin,
    /// The snapshot is complete.
    SnapshotEnd,
    /// A market-by-order event.
    Order(BookOrder),
    /// A bar (the event's `ts_event` is its completion time).
    Bar(Bar),
    /// Journal: an execution report.
    Exec(ExecRecord),
    /// Journal: a command the engine issued.
    Command(CommandRecord),
    /// Journal: a timer fired.
    Timer {
        /// The timer's id.
        id: u64,
    },
}

/// One event: when it happened at the venue, when it reached us, for which instrument, and what.
///
/// Keeping both timestamps puts the feed latency in the data, so a replay can model it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// When the venue says it happened.
    pub ts_event: Timestamp,
    /// When it reached the recorder: the order a replay delivers events in.
    pub ts_recv: Timestamp,
    /// The instrument (an index into the file's instrument table).
    pub instrument: InstrumentId,
    /// What happened.
    pub payload: Payload,
}
