//! `Instrument`: what is traded and the grid it trades on.
//!
//! Display precision, tick and lot live here rather than in each value, so one `Price` type serves
//! every instrument. An `Instrument` is validated once at construction; afterwards its fields are
//! read-only, so a zero tick or a lot finer than the nano grid cannot exist.

use crate::decimal::Rounding;
use crate::error::ArithError;
use crate::nano::NANO_DECIMALS;
use crate::{Currency, InstrumentId, Price, Qty, Ratio, VenueId};

/// The fields a caller provides to build an [`Instrument`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// The venue's symbol (`ESH1`, `BTCUSDT`, `EUR_USD`, `ORCL`).
    pub symbol: String,
    /// Where it trades.
    pub venue: VenueId,
    /// Smallest price increment (> 0).
    pub tick_size: Price,
    /// Smallest quantity increment (> 0).
    pub lot_size: Qty,
    /// Decimal places used to show prices (0 to 9, at least the tick's own places).
    pub display_decimals: u8,
    /// Contract multiplier (> 0): money per unit of price per unit of size (50 for ES, 1 for stock).
    pub multiplier: Ratio,
    /// The currency prices are quoted in.
    pub quote_currency: Currency,
    /// The currency cash settles in (differs from quote for quanto and some FX products).
    pub settlement_currency: Currency,
}

/// Why an [`InstrumentSpec`] was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    /// A size, tick or multiplier that must be positive is not.
    #[error("instrument {symbol}: {field} must be > 0, got {value}")]
    NotPositive {
        /// Symbol of the instrument.
        symbol: String,
        /// Which field.
        field: &'static str,
        /// Its value as text.
        value: String,
    },
    /// `display_decimals` above 9, or fewer than the tick needs.
    #[error("instrument {symbol}: display_decimals {decimals} must be {min}..=9 for tick {tick}")]
    BadDecimals {
        /// Symbol of the instrument.
        symbol: String,
        /// Requested places.
        decimals: u8,
        /// Places the tick needs.
        min: u8,
        /// The tick.
        tick: Price,
    },
    /// An empty symbol.
    #[error("instrument with an empty symbol")]
    EmptySymbol,
}

/// A price or size that is not on the instrument's grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// The price is not a multiple of the tick size.
    #[error("{instrument}: price {price} is not a multiple of the tick {tick}")]
    OffTick {
        /// The instrument.
        instrument: InstrumentId,
        /// The price.
        price: Price,
        /// Its tick.
        tick: Price,
    },
    /// The quantity is not a multiple of the lot size.
    #[error("{instrument}: quantity {qty} is not a multiple of the lot {lot}")]
    OffLot {
        /// The instrument.
        instrument: InstrumentId,
        /// The quantity.
        qty: Qty,
        /// Its lot.
        lot: Qty,
    },
}

/// A validated instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instrument {
    id: InstrumentId,
    spec: InstrumentSpec,
}

/// Decimal places `v` needs (0..=9).
fn places(raw: i64) -> u8 {
    let mut r = raw;
    let mut p = NANO_DECIMALS;
    while p > 0 && r % 10 == 0 {
        r /= 10;
        p -= 1;
    }
    // p ≤ 9.
    u8::try_from(p).unwrap_or(9)
}

impl Instrument {
    /// Validates `spec` and gives it the dense id `id`.
    ///
    /// # Errors
    /// [`InstrumentError`] naming the symbol and the field.
    pub fn try_new(id: InstrumentId, spec: InstrumentSpec) -> Result<Self, InstrumentError> {
        if spec.symbol.is_empty() {
            return Err(InstrumentError::EmptySymbol);
        }
        let not_pos = |field: &'static str, value: String| InstrumentError::NotPositive {
            symbol: spec.symbol.clone(),
            field,
            value,
        };
        if !spec.tick_size.is_positive() {
            return Err(not_pos("tick_size", spec.tick_size.to_string()));
        }
        if !spec.lot_size.is_positive() {
            return Err(not_pos("lot_size", spec.lot_size.to_string()));
        }
        if !spec.multiplier.is_positive() {
            return Err(not_pos("multiplier", spec.multiplier.to_string()));
        }
        let min = places(spec.tick_size.raw());
        if spec.display_decimals > 9 || spec.display_decimals < min {
            return Err(InstrumentError::BadDecimals {
                symbol: spec.symbol.clone(),
                decimals: spec.display_decimals,
                min,
                tick: spec.tick_size,
            });
        }
        Ok(Self { id, spec })
    }

    /// Its dense id.
    pub fn id(&self) -> InstrumentId {
        self.id
    }
    /// The venue's symbol.
    pub fn symbol(&self) -> &str {
        &self.spec.symbol
    }
    /// Where it trades.
    pub fn venue(&self) -> VenueId {
        self.spec.venue
    }
    /// Smallest price increment.
    pub fn tick_size(&self) -> Price {
        self.spec.tick_size
    }
    /// Smallest quantity increment.
    pub fn lot_size(&self) -> Qty {
        self.spec.lot_size
    }
    /// Places used to show prices.
    pub fn display_decimals(&self) -> u8 {
        self.spec.display_decimals
    }
    /// Contract multiplier.
    pub fn multiplier(&self) -> Ratio {
        self.spec.multiplier
    }
    /// Quote currency.
    pub fn quote_currency(&self) -> Currency {
        self.spec.quote_currency
    }
    /// Settlement currency.
    pub fn settlement_currency(&self) -> Currency {
        self.spec.settlement_currency
    }

    /// A price as this instrument shows it (its display decimals, half-even).
    pub fn fmt_price(&self, p: Price) -> String {
        p.to_fixed(self.spec.display_decimals, Rounding::HalfEven)
    }

    /// A quantity as this instrument shows it (the lot's places).
    pub fn fmt_qty(&self, q: Qty) -> String {
        q.to_fixed(places(self.spec.lot_size.raw()), Rounding::HalfEven)
    }

    /// Checks that `p` is on the tick grid (what a live venue will insist on).
    ///
    /// # Errors
    /// [`GridError::OffTick`].
    pub fn check_price(&self, p: Price) -> Result<(), GridError> {
        if p.is_multiple_of(self.spec.tick_size) {
            Ok(())
        } else {
            Err(GridError::OffTick { instrument: self.id, price: p, tick: self.spec.tick_size })
        }
    }

    /// Checks that `q` is a whole number of lots.
    ///
    /// # Errors
    /// [`GridError::OffLot`].
    pub fn check_qty(&self, q: Qty) -> Result<(), GridError> {
        if q.is_multiple_of(self.spec.lot_size) {
            Ok(())
        } else {
            Err(GridError::OffLot { instrument: self.id, qty: q, lot: self.spec.lot_size })
        }
    }

    /// Brings `p` onto the tick grid with `mode` (buy limits round down, sell limits up, say).
    ///
    /// # Errors
    /// [`ArithError::Overflow`] at the edge of the range.
    pub fn round_price(&self, p: Price, mode: Rounding) -> Result<Price, ArithError> {
        p.round_to_multiple(self.spec.tick_size, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es() -> InstrumentSpec {
        InstrumentSpec {
            symbol: "ESH1".into(),
            venue: VenueId(0),
            tick_size: "0.25".parse().unwrap(),
            lot_size: "1".parse().unwrap(),
            display_decimals: 2,
            multiplier: "50".parse().unwrap(),
            quote_currency: Currency::USD,
            settlement_currency: Currency::USD,
        }
    }

    #[test]
    fn validates_and_formats() {
        let i = Instrument::try_new(InstrumentId(1), es()).unwrap();
        assert_eq!(i.fmt_price("3712.5".parse().unwrap()), "3712.50");
        assert_eq!(i.fmt_qty("3".parse().unwrap()), "3");
        assert!(i.check_price("3712.75".parse().unwrap()).is_ok());
        let off = i.check_price("3712.7".parse().unwrap()).unwrap_err();
        assert_eq!(off.to_string(), "InstrumentId#1: price 3712.7 is not a multiple of the tick 0.25");
        assert!(i.check_qty("1.5".parse().unwrap()).is_err());
        assert_eq!(i.round_price("3712.7".parse().unwrap(), Rounding::Floor).unwrap().to_string(), "3712.5");
        assert_eq!(i.multiplier().to_string(), "50");
    }

    #[test]
    fn refuses_impossible_specs() {
        let mut s = es();
        s.tick_size = Price::ZERO;
        assert!(matches!(
            Instrument::try_new(InstrumentId(1), s),
            Err(InstrumentError::NotPositive { field: "tick_size", .. })
        ));
        let mut s = es();
        s.display_decimals = 1;
        assert_eq!(
            Instrument::try_new(InstrumentId(1), s).unwrap_err().to_string(),
            "instrument ESH1: display_decimals 1 must be 2..=9 for tick 0.25"
        );
        let mut s = es();
        s.symbol.clear();
        assert_eq!(Instrument::try_new(InstrumentId(1), s), Err(InstrumentError::EmptySymbol));
        let mut s = es();
        s.lot_size = "-1".parse().unwrap();
        assert!(Instrument::try_new(InstrumentId(1), s).is_err());
    }
}
