//! Fixtures shared by this crate's unit tests.

use kestrel_types::{Currency, Instrument, InstrumentId, InstrumentSpec, VenueId};

/// A BTCUSDT spot instrument (tick 0.01, lot 0.00001, USDT) with id 0.
pub(crate) fn btcusdt() -> Instrument {
    Instrument::try_new(
        InstrumentId(0),
        InstrumentSpec {
            symbol: "BTCUSDT".into(),
            venue: VenueId(1),
            tick_size: "0.01".parse().unwrap(),
            lot_size: "0.00001".parse().unwrap(),
            display_decimals: 2,
            multiplier: "1".parse().unwrap(),
            quote_currency: "USDT".parse().unwrap(),
            settlement_currency: Currency::try_new("USDT").unwrap(),
        },
    )
    .unwrap()
}
