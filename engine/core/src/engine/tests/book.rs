//! Book-level matching (`venue/depth.rs`): sweeps that take each level once, resting behind the
//! visible queue, prints working off the queue ahead, the queue models, market-by-order queues,
//! time in force and flags on a book, maker/taker commission, amends; and the property test that
//! runs the matcher on the fast book and on the naive reference book.

use kestrel_types::BookSide::{Ask, Bid};
use kestrel_types::{BookOrder, OrderAction};
use proptest::{prop_assert, prop_assert_eq};

use super::*;
use crate::book::FillMode;
use crate::book::reference::RefL2Book;
use crate::engine::latency::Fifo;
use crate::engine::ledger::Ledger;
use crate::engine::venue::{Report, ReportKind, Venue, VenueOrder, VenueSetup};
use crate::order::Side;

/// The instrument with a 0.5 tick (`p(5)`) and a lot of 1.
fn instrument() -> kestrel_types::Instrument {
    kestrel_types::Instrument::try_new(
        I0,
        kestrel_types::InstrumentSpec {
            symbol: "X".into(),
            venue: kestrel_types::VenueId(0),
            tick_size: p(5),
            lot_size: q(1),
            display_decimals: 1,
            multiplier: Ratio::ONE,
            quote_currency: "USD".parse().unwrap(),
            settlement_currency: "USD".parse().unwrap(),
        },
    )
    .unwrap()
}

/// An engine whose book starts as `bids` and `asks` (tenths, units), after a whole snapshot.
fn booked_with(config: EngineConfig, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Engine<Recorder> {
    let mut e = engine_with(config);
    e.set_instruments(&[instrument()]);
    e.on_event(&ev(1, Payload::SnapshotBegin));
    for (price, size) in bids {
        e.on_event(&level(1, Bid, *price, *size));
    }
    for (price, size) in asks {
        e.on_event(&level(1, Ask, *price, *size));
    }
    e.on_event(&ev(1, Payload::SnapshotEnd));
    e
}

fn booked(bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Engine<Recorder> {
    booked_with(config(), bids, asks)
}

fn print(us: i64, aggressor: Aggressor, price: i64, size: i64) -> Event {
    ev(us, Payload::Trade(Trade { price: p(price), size: q(size), aggressor, trade_id: 0 }))
}

fn mbo(us: i64, action: OrderAction, id: u64, side: BookSide, price: i64, size: i64) -> Event {
    ev(us, Payload::Order(BookOrder { action, side, price: p(price), size: q(size), order_id: id }))
}

const TAKER: Liquidity = Liquidity::Taker;
const MAKER: Liquidity = Liquidity::Maker;

#[test]
fn the_rebuilt_book_is_the_market_state_and_partial_until_its_snapshot_ends() {
    let mut e = engine();
    e.set_instruments(&[instrument()]);
    e.on_event(&ev(1, Payload::SnapshotBegin));
    e.on_event(&level(1, Bid, 1000, 5));
    e.on_event(&level(1, Ask, 1010, 3));
    assert_eq!(e.market(I0).unwrap().best, None, "partial until the snapshot ends");
    e.on_event(&ev(1, Payload::SnapshotEnd));
    assert_eq!(e.market(I0).unwrap().best_ask(), Some((p(1010), q(3))));
    e.on_event(&level(2, Ask, 1005, 1));
    assert_eq!(e.market(I0).unwrap().best_ask(), Some((p(1005), q(1))));
    let books = e.strategy().seen.iter().filter(|s| matches!(s, Seen::Book(_))).count();
    assert!(books >= 2, "on_book on each top change");
    assert_eq!(e.counters().book_errors, 0);
    // An update off the tick grid is refused by the book and counted; the engine runs on.
    e.on_event(&level(3, Bid, 1001, 1));
    assert_eq!(e.counters().book_errors, 1);
}

#[test]
fn a_market_order_walks_the_levels_and_each_level_is_taken_once_until_the_feed_updates_it() {
    let mut e = booked(&[(1000, 5)], &[(1010, 3), (1015, 6)]);
    let a = buy(&mut e, 5, OrderKind::Market);
    e.on_event(&level(2, Bid, 995, 2)); // its first look: the asks as they are
    assert_eq!(
        e.strategy().fills(),
        vec![(a, q(3), p(1010), TAKER, Status::Partial), (a, q(2), p(1015), TAKER, Status::Completed)]
    );
    // The feed has not updated the asks: 1010 is spent, 1015 has 4 left.
    let b = buy(&mut e, 5, OrderKind::Market);
    e.on_event(&level(3, Bid, 990, 1));
    assert_eq!(e.strategy().fills()[2..], [(b, q(4), p(1015), TAKER, Status::Partial)]);
    // A market order's remainder works on: the feed's next word on 1010 is fresh liquidity.
    e.on_event(&level(4, Ask, 1010, 2));
    assert_eq!(e.strategy().fills()[3..], [(b, q(1), p(1010), TAKER, Status::Completed)]);
}

#[test]
fn a_marketable_limit_walks_to_its_limit_and_rests_the_rest_behind_the_visible_queue() {
    let mut e = booked(&[(1000, 5)], &[(1010, 3), (1015, 6), (1020, 5)]);
    let id = buy(&mut e, 12, limit(1015));
    e.on_event(&level(2, Bid, 995, 2));
    assert_eq!(
        e.strategy().fills(),
        vec![(id, q(3), p(1010), TAKER, Status::Partial), (id, q(6), p(1015), TAKER, Status::Partial)]
    );
    // The rest (3) bids at 101.5, an empty level: nothing ahead, the next sell print fills it.
    e.on_event(&print(3, Aggressor::Sell, 1015, 2));
    assert_eq!(e.strategy().fills()[2..], [(id, q(2), p(1015), MAKER, Status::Partial)]);
    let o = e.context().order(id).copied().unwrap();
    assert_eq!(o.remaining(), q(1));
}

#[test]
fn prints_at_a_resting_price_work_off_the_queue_ahead_first() {
    for optimistic in [false, true] {
        let mut e = booked_with(EngineConfig { optimistic, ..config() }, &[(1000, 5)], &[(1010, 3)]);
        let id = buy(&mut e, 4, limit(1000));
        e.on_event(&level(2, Bid, 995, 1)); // it rests behind the 5 bid at 100.0
        e.on_event(&print(3, Aggressor::Sell, 1000, 3));
        e.on_event(&level(3, Bid, 1000, 2)); // the print's decrease: no cancel to model
        e.on_event(&print(4, Aggressor::Sell, 1000, 4));
        let fills = e.strategy().fills();
        if optimistic {
            // At the front: the first print fills 3, the second the last 1.
            assert_eq!(
                fills,
                vec![
                    (id, q(3), p(1000), MAKER, Status::Partial),
                    (id, q(1), p(1000), MAKER, Status::Completed)
                ]
            );
        } else {
            // 3 of the 5 ahead go with the first print; the second takes the other 2, then 2 of ours.
            assert_eq!(fills, vec![(id, q(2), p(1000), MAKER, Status::Partial)]);
        }
        // A buyer's print never fills a resting buy.
        e.on_event(&print(5, Aggressor::Buy, 1000, 9));
        assert_eq!(e.strategy().fills().len(), if optimistic { 2 } else { 1 });
    }
}

#[test]
fn a_print_through_a_resting_price_or_the_book_moving_through_it_fills_it_at_its_limit() {
    let mut e = booked(&[(1000, 5)], &[(1010, 3)]);
    let id = buy(&mut e, 6, limit(1000));
    e.on_event(&level(2, Bid, 995, 1));
    // A sell printed below our bid: everything at 100.0 went first, ours too.
    e.on_event(&print(3, Aggressor::Sell, 995, 2));
    assert_eq!(e.strategy().fills(), vec![(id, q(2), p(1000), MAKER, Status::Partial)]);
    // Asks come down through our bid: they fill it at our limit, as a maker, up to their size.
    e.on_event(&level(4, Ask, 1000, 3));
    assert_eq!(e.strategy().fills()[1..], [(id, q(3), p(1000), MAKER, Status::Partial)]);
    // Taken once: the same ask level does not fill it again until the feed updates it.
    e.on_event(&level(5, Bid, 990, 1));
    assert_eq!(e.strategy().fills().len(), 2);
    e.on_event(&level(6, Ask, 1000, 4));
    assert_eq!(e.strategy().fills()[2..], [(id, q(1), p(1000), MAKER, Status::Completed)]);
}

/// Buy 1 behind 10 at 100.0; 10 more join behind; 5 cancel somewhere; then a sell prints 10.
fn after_a_cancel(model: QueueModel) -> Vec<(OrderId, Qty, Price, Liquidity, Status)> {
    let mut e = booked_with(EngineConfig { queue_model: model, ..config() }, &[(1000, 10)], &[(1010, 3)]);
    buy(&mut e, 1, limit(1000));
    e.on_event(&level(2, Bid, 995, 1));
    e.on_event(&level(3, Bid, 1000, 20));
    e.on_event(&level(4, Bid, 1000, 15));
    e.on_event(&print(5, Aggressor::Sell, 1000, 10));
    e.strategy().fills()
}

#[test]
fn the_queue_models_decide_where_a_cancel_came_from() {
    // Risk-averse: the cancel came from behind us; the print of 10 only clears the 10 ahead.
    assert!(after_a_cancel(QueueModel::RiskAverse).is_empty());
    // Probabilistic: half the level is ahead, so with power 1 the cancel is ahead half the time
    // (then 5 ahead, and the print fills us); the same seed always decides the same way.
    let mut filled = 0;
    for seed in 0..64 {
        let model = QueueModel::Probabilistic { power: 1, seed };
        let fills = after_a_cancel(model);
        assert_eq!(fills, after_a_cancel(model), "seed {seed}: deterministic");
        filled += usize::from(!fills.is_empty());
    }
    assert!((16..=48).contains(&filled), "about half of 64 seeds move us up: {filled}");
}

#[test]
fn a_market_by_order_book_knows_the_queue_ahead_exactly() {
    let mut e = engine();
    e.set_instruments(&[instrument()]);
    e.on_event(&mbo(1, OrderAction::Add, 1, Bid, 1000, 3));
    e.on_event(&mbo(1, OrderAction::Add, 2, Bid, 1000, 2));
    e.on_event(&mbo(1, OrderAction::Add, 3, Ask, 1010, 4));
    let id = buy(&mut e, 4, limit(1000));
    e.on_event(&mbo(2, OrderAction::Add, 4, Bid, 1000, 4)); // our first look: behind orders 1 and 2
    e.on_event(&mbo(3, OrderAction::Cancel, 4, Bid, 1000, 0)); // behind us: nothing changes
    e.on_event(&mbo(4, OrderAction::Cancel, 1, Bid, 1000, 0)); // ahead: 2 left ahead
    e.on_event(&print(5, Aggressor::Sell, 1000, 3));
    assert_eq!(e.strategy().fills(), vec![(id, q(1), p(1000), MAKER, Status::Partial)]);
    // The print's own records (Databento: fill, then cancel) follow; order 2 leaves the queue.
    e.on_event(&mbo(5, OrderAction::Fill, 2, Bid, 1000, 2));
    e.on_event(&mbo(5, OrderAction::Cancel, 2, Bid, 1000, 0));
    // A modify that loses priority sends an order behind us; one that keeps it stays ahead.
    e.on_event(&mbo(6, OrderAction::Add, 5, Bid, 1000, 2));
    e.on_event(&mbo(6, OrderAction::Modify, 5, Bid, 1000, 3));
    e.on_event(&print(7, Aggressor::Sell, 1000, 3));
    assert_eq!(e.strategy().fills()[1..], [(id, q(3), p(1000), MAKER, Status::Completed)]);
    assert_eq!(e.counters().book_errors, 0);
}

#[test]
fn time_in_force_and_flags_on_a_book() {
    let asks = [(1010, 3), (1015, 6)];
    // FOK: the crossing levels hold 9, not 10 → canceled without a fill; 9 → filled at once.
    let mut e = booked(&[(1000, 5)], &asks);
    let id = submit(&mut e, req(Side::Buy, 10, limit(1015)).with_tif(TimeInForce::Fok));
    e.on_event(&level(2, Bid, 995, 1));
    assert!(e.strategy().fills().is_empty());
    assert_eq!(last_update(&e, id), (Status::Canceled, UpdateReason::FokUnfilled));
    let id = submit(&mut e, req(Side::Buy, 9, limit(1015)).with_tif(TimeInForce::Fok));
    e.on_event(&level(3, Bid, 990, 1));
    assert_eq!(e.strategy().fills().len(), 2);
    assert_eq!(last_update(&e, id).0, Status::Completed);
    // IOC: takes what is within its limit, the rest is canceled.
    let mut e = booked(&[(1000, 5)], &asks);
    let id = submit(&mut e, req(Side::Buy, 5, limit(1010)).with_tif(TimeInForce::Ioc));
    e.on_event(&level(2, Bid, 995, 1));
    assert_eq!(e.strategy().fills(), vec![(id, q(3), p(1010), TAKER, Status::Partial)]);
    assert_eq!(last_update(&e, id), (Status::Canceled, UpdateReason::IocRemainder));
    // Post-only: rejected if it would take, rests otherwise.
    let mut e = booked(&[(1000, 5)], &asks);
    let taking = submit(&mut e, req(Side::Buy, 1, limit(1010)).post_only());
    let resting = submit(&mut e, req(Side::Buy, 1, limit(1005)).post_only());
    e.on_event(&level(2, Bid, 995, 1));
    assert_eq!(last_update(&e, taking), (Status::Rejected, UpdateReason::PostOnlyWouldTake));
    assert_eq!(last_update(&e, resting).0, Status::Accepted);
    // Reduce-only: flat, a sell reduces nothing.
    let id = submit(&mut e, req(Side::Sell, 1, OrderKind::Market).reduce_only());
    e.on_event(&level(3, Bid, 990, 1));
    assert_eq!(last_update(&e, id), (Status::Canceled, UpdateReason::ReduceOnly));
}

#[test]
fn a_stop_triggers_when_the_book_reaches_it_and_then_sweeps() {
    let mut e = booked(&[(1000, 2), (990, 4)], &[(1010, 3)]);
    let id = sell(&mut e, 5, OrderKind::Stop { stop: p(995) });
    e.on_event(&level(2, Ask, 1015, 1));
    assert!(e.strategy().fills().is_empty(), "best bid 100.0 is above the stop");
    e.on_event(&level(3, Bid, 1000, 0)); // best bid 99.0: at or through the stop
    assert_eq!(e.strategy().fills(), vec![(id, q(4), p(990), TAKER, Status::Partial)]);
}

#[test]
fn makers_and_takers_pay_their_own_commission() {
    let rate = |r: &str| {
        CommissionScheme::try_new(CommissionParams {
            commission: r.parse::<Ratio>().unwrap(),
            ..CommissionParams::setcommission()
        })
        .unwrap()
    };
    let config = EngineConfig { scheme: rate("0.001"), maker_scheme: Some(rate("0.0002")), ..config() };
    let mut e = booked_with(config, &[(1000, 5)], &[(1010, 3)]);
    buy(&mut e, 3, OrderKind::Market);
    sell(&mut e, 2, limit(1020));
    e.on_event(&level(2, Bid, 995, 1));
    e.on_event(&print(3, Aggressor::Buy, 1020, 2));
    let fees: Vec<_> = e
        .strategy()
        .seen
        .iter()
        .filter_map(|s| match s {
            Seen::Fill(f) => Some((f.liquidity, f.commission.to_string())),
            _ => None,
        })
        .collect();
    // Taker: 3 × 101 × 0.001; maker: 2 × 102 × 0.0002.
    assert_eq!(fees, vec![(TAKER, "0.303".to_string()), (MAKER, "0.0408".to_string())]);
    e.finish();
    assert_eq!(e.ledger(), e.venue_ledger());
    assert_eq!(e.ledger().fees().to_string(), "0.3438");
}

#[test]
fn an_amend_to_a_new_price_joins_the_back_of_that_level() {
    let mut e = booked(&[(1000, 5), (995, 7)], &[(1010, 3)]);
    let id = buy(&mut e, 2, limit(1000));
    e.on_event(&level(2, Ask, 1015, 1));
    e.context().amend(id, Some(p(995)), None).unwrap();
    e.on_event(&level(3, Ask, 1020, 1)); // the amend's answer; the order measures its queue again
    assert_eq!(last_update(&e, id), (Status::Accepted, UpdateReason::Amended));
    e.on_event(&level(4, Ask, 1025, 1));
    e.on_event(&print(5, Aggressor::Sell, 995, 7)); // the 7 ahead at 99.5
    assert!(e.strategy().fills().is_empty());
    e.on_event(&print(6, Aggressor::Sell, 995, 2));
    assert_eq!(e.strategy().fills(), vec![(id, q(2), p(995), MAKER, Status::Completed)]);
}

/// One step of a random stream against the venue.
#[derive(Clone, Debug)]
enum Step {
    Level(BookSide, i64, i64),
    Print(Aggressor, i64, i64),
    Order(Side, Option<i64>, i64, TimeInForce),
    Cancel(usize),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let book_side = prop_oneof![Just(Bid), Just(Ask)];
    let aggressor = prop_oneof![Just(Aggressor::Buy), Just(Aggressor::Sell), Just(Aggressor::Unknown)];
    let tif =
        prop_oneof![4 => Just(TimeInForce::Gtc), 1 => Just(TimeInForce::Ioc), 1 => Just(TimeInForce::Fok)];
    prop_oneof![
        5 => (book_side, 0i64..16, 0i64..8).prop_map(|(s, t, n)| Step::Level(s, t, n)),
        2 => (aggressor, 0i64..16, 1i64..6).prop_map(|(a, t, n)| Step::Print(a, t, n)),
        2 => (side, proptest::option::of(0i64..16), 1i64..8, tif)
            .prop_map(|(s, l, n, f)| Step::Order(s, l, n, f)),
        1 => (0usize..8).prop_map(Step::Cancel),
    ]
}

/// Bids live on ticks 0..8 and asks on 8..16 above 100.0 (so the feed's book never crosses).
fn tick_price(side: BookSide, t: i64) -> Price {
    let t = match side {
        Bid => t % 8,
        Ask => 8 + t % 8,
    };
    p(1000 + 5 * t)
}

fn venue(model: QueueModel) -> Venue {
    let setup = VenueSetup {
        slots: 64,
        instruments: 1,
        lane_capacity: 64,
        taker: CommissionScheme::broker_default(),
        maker: CommissionScheme::broker_default(),
        optimistic: false,
        model,
    };
    Venue::new(setup, Ledger::new(Money::try_from_units(1_000_000).unwrap(), 1).unwrap())
}

fn drain(replies: &mut Fifo<Report>) -> Vec<Report> {
    std::iter::from_fn(|| replies.pop().map(|d| d.msg)).collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// The matcher on the fast book and on the naive `BTreeMap` book gives the same reports for
    /// every step; no order fills more than its size; each level's liquidity since the feed's
    /// last word on it is taken at most once; the position is the signed sum of the fills and the
    /// cash moved by exactly their notional (no quantity or cash created or lost).
    #[test]
    fn the_matcher_agrees_on_the_fast_and_the_reference_book_and_conserves_everything(
        steps in proptest::collection::vec(step(), 1..120),
        probabilistic in proptest::bool::ANY,
    ) {
        let model = if probabilistic {
            QueueModel::Probabilistic { power: 2, seed: 7 }
        } else {
            QueueModel::RiskAverse
        };
        let mut fast_book = crate::book::L2Book::new(crate::book::L2Config::new(p(5))).unwrap();
        let mut ref_book = RefL2Book::new(p(5), fast_book.window());
        let (mut fast, mut naive) = (venue(model), venue(model));
        let (mut fast_out, mut ref_out) = (Fifo::with_bound(1024), Fifo::with_bound(1024));
        let mut sizes = [Qty::ZERO; 64];
        let mut filled = [Qty::ZERO; 64];
        let mut sides = [Side::Buy; 64];
        let mut taken: std::collections::BTreeMap<(bool, Price), Qty> = Default::default();
        let (mut position, mut cash_out) = (Qty::ZERO, kestrel_types::Notional::ZERO);
        let mut next_slot = 0u32;
        for (k, s) in steps.iter().enumerate() {
            let now = t(k as i64 + 1);
            let payload = match *s {
                Step::Level(side, tk, n) => {
                    let u = LevelUpdate { side, price: tick_price(side, tk), size: q(n) };
                    prop_assert_eq!(fast_book.apply(&u), ref_book.apply(&u));
                    taken.remove(&(side == Bid, u.price));
                    Some(Payload::Level(u))
                }
                Step::Print(aggressor, tk, n) => {
                    let side = if aggressor == Aggressor::Buy { Ask } else { Bid };
                    Some(Payload::Trade(Trade { price: tick_price(side, tk), size: q(n), aggressor, trade_id: 0 }))
                }
                Step::Order(side, limit, n, tif) if next_slot < 64 => {
                    let slot = next_slot;
                    next_slot += 1;
                    let book_side = if side == Side::Buy { Ask } else { Bid };
                    let kind = limit.map_or(OrderKind::Market, |tk| OrderKind::Limit { limit: tick_price(book_side, tk) });
                    let order = VenueOrder {
                        instrument: I0, side, kind, remaining: q(n), triggered: true, evaluated: false,
                        working: true, tif, post_only: false, reduce_only: false, ..VenueOrder::EMPTY
                    };
                    (sizes[slot as usize], sides[slot as usize]) = (q(n), side);
                    fast.arrive(slot, order, &mut fast_out, now);
                    naive.arrive(slot, order, &mut ref_out, now);
                    None
                }
                Step::Order(..) => None,
                Step::Cancel(j) => {
                    let slot = j as u32 % next_slot.max(1);
                    fast.cancel(slot, &mut fast_out, now);
                    naive.cancel(slot, &mut ref_out, now);
                    None
                }
            };
            if let Some(payload) = payload {
                fast.on_book(0, &payload, &fast_book, now, now, &mut fast_out);
                naive.on_book(0, &payload, &ref_book, now, now, &mut ref_out);
            }
            let (a, b) = (drain(&mut fast_out), drain(&mut ref_out));
            prop_assert_eq!(&a, &b, "step {}: {:?}", k, s);
            for r in a {
                let ReportKind::Fill { qty, price, liquidity, .. } = r.kind else { continue };
                let slot = r.slot as usize;
                filled[slot] = filled[slot].checked_add(qty).unwrap();
                prop_assert!(filled[slot] <= sizes[slot], "slot {} overfilled", slot);
                let (signed, notional) = match sides[slot] {
                    Side::Buy => (qty, qty.notional(price)),
                    Side::Sell => (Qty::ZERO.checked_sub(qty).unwrap(), Notional::ZERO.checked_sub(qty.notional(price)).unwrap()),
                };
                position = position.checked_add(signed).unwrap();
                cash_out = cash_out.checked_add(notional).unwrap();
                if liquidity == Liquidity::Taker {
                    // A taker fill comes from a level of the side it takes from.
                    let from = if sides[slot] == Side::Buy { Ask } else { Bid };
                    let took = taken.entry((from == Bid, price)).or_insert(Qty::ZERO);
                    *took = took.checked_add(qty).unwrap();
                    prop_assert!(*took <= fast_book.level(from, price), "level {:?} taken twice", price);
                }
            }
        }
        prop_assert_eq!(fast.ledger.position(I0).size(), position);
        let start = Money::try_from_units(1_000_000).unwrap().to_notional().unwrap();
        prop_assert_eq!(fast.ledger.cash_exact(), start.checked_sub(cash_out).unwrap());
        prop_assert_eq!(&fast.ledger, &naive.ledger);
    }
}

#[test]
fn an_mbo_book_in_the_engine_refuses_bad_records_and_runs_on() {
    let mut e = engine_with(EngineConfig { mbo_fills: FillMode::Report, ..config() });
    e.set_instruments(&[instrument()]);
    e.on_event(&mbo(1, OrderAction::Add, 1, Bid, 1000, 3));
    e.on_event(&mbo(2, OrderAction::Cancel, 99, Bid, 1000, 0)); // unknown order
    e.on_event(&mbo(3, OrderAction::Add, 1, Bid, 1000, 3)); // duplicate id
    assert_eq!(e.counters().book_errors, 2);
    assert_eq!(e.market(I0).unwrap().best_bid(), Some((p(1000), q(3))));
}
