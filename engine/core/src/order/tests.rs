//! Order rules: creation defaults, validity, trails, fills (in and out of order, duplicated),
//! pending changes, and the store's client ids and links.

use kestrel_types::{ClientOrderId, ExecId, InstrumentId, OrderId, Price, Qty, Ratio, TimeSpan, Timestamp};

use super::*;

fn q(s: &str) -> Qty {
    s.parse().unwrap()
}
fn p(s: &str) -> Price {
    s.parse().unwrap()
}
fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}
const INS: InstrumentId = InstrumentId(0);
/// A daily bar's timestamp: the session end, as FORMAT.md §1.1 says.
fn daily(date: &str) -> Timestamp {
    t(&format!("{date} 23:59:59.999989"))
}

fn store() -> OrderStore {
    OrderStore::new(64, "T").unwrap()
}

fn new_order(st: &mut OrderStore, spec: OrderSpec) -> OrderId {
    st.create(spec, daily("2006-01-02"), p("100")).unwrap().id()
}

fn fill(id: &str, size: &str, price: &str) -> Fill {
    Fill::bare(ExecId::try_new(id).unwrap(), daily("2006-01-03"), q(size), p(price))
}

#[test]
fn price_defaults_follow_backtrader() {
    let mut st = store();
    // backtrader: order.py OrderData — no price and no limit: the creation close.
    let a = new_order(&mut st, OrderSpec::market(INS, Side::Sell, q("10")));
    assert_eq!(st.order(a).unwrap().price(), p("100"));
    assert_eq!(st.order(a).unwrap().size(), q("-10"));
    // Only a limit: the price is the limit.
    let mut spec = OrderSpec::market(INS, Side::Buy, q("1"));
    spec.exec_type = ExecType::StopLimit;
    spec.price_limit = Some(p("95"));
    let b = new_order(&mut st, spec);
    assert_eq!((st.order(b).unwrap().price(), st.order(b).unwrap().price_limit()), (p("95"), p("95")));
    // Only a price: the limit is the price.
    let c = new_order(&mut st, OrderSpec::priced(INS, Side::Buy, q("1"), ExecType::StopLimit, p("101")));
    assert_eq!(st.order(c).unwrap().price_limit(), p("101"));
}

#[test]
fn impossible_requests_are_refused_with_the_reason() {
    let mut st = store();
    let bad = |spec: OrderSpec| {
        OrderStore::new(4, "X").unwrap().create(spec, Timestamp::EPOCH, p("1")).unwrap_err()
    };
    assert_eq!(
        bad(OrderSpec::market(INS, Side::Buy, Qty::ZERO)),
        OrderError::Spec { order: OrderId(1), reason: SpecError::SizeNotPositive { size: Qty::ZERO } }
    );
    assert_eq!(
        bad(OrderSpec::market(INS, Side::Buy, q("-1"))).to_string(),
        "order OrderId#1: size must be > 0, got -1"
    );
    assert!(matches!(
        bad(OrderSpec::priced(INS, Side::Buy, q("1"), ExecType::Limit, p("-1"))),
        OrderError::Spec { reason: SpecError::NegativePrice { .. }, .. }
    ));
    let mut trail = OrderSpec::market(INS, Side::Sell, q("1"));
    trail.trail = Some(Trail::Amount(p("1")));
    assert!(matches!(bad(trail), OrderError::Spec { reason: SpecError::TrailOnNonTrailing { .. }, .. }));
    trail.exec_type = ExecType::StopTrail;
    trail.trail = Some(Trail::Percent(Ratio::ONE));
    assert!(matches!(bad(trail), OrderError::Spec { reason: SpecError::TrailPercentOutOfRange { .. }, .. }));
    trail.trail = Some(Trail::Amount(p("-0.5")));
    assert!(matches!(bad(trail), OrderError::Spec { reason: SpecError::NegativeTrail, .. }));
    let mut v = OrderSpec::market(INS, Side::Buy, q("1"));
    v.validity = Validity::For(TimeSpan::from_nanos(-1));
    assert!(matches!(bad(v), OrderError::Spec { reason: SpecError::NegativeValidity, .. }));
    assert!(st.is_empty(), "a refused request leaves no order behind");
    assert!(st.create(OrderSpec::market(INS, Side::Buy, q("1")), Timestamp::EPOCH, p("1")).is_ok());
}

#[test]
fn validity_resolves_to_backtrader_expiry_instants() {
    let created = daily("2006-01-06"); // a Friday
    // DAY: the creation date at 23:59:59.009999, before the bar's own 23:59:59.999989 stamp.
    assert_eq!(Validity::Day.expiry(created), Some(t("2006-01-06 23:59:59.009999")));
    assert_eq!(Validity::For(TimeSpan::ZERO).expiry(created), Validity::Day.expiry(created));
    // One day: the next calendar day's session end, so a Monday bar expires it first.
    let one_day = Validity::For(TimeSpan::from_dhms(1, 0, 0, 0).unwrap()).expiry(created);
    assert_eq!(one_day, Some(daily("2006-01-07")));
    assert_eq!(Validity::Until(t("2006-01-09")).expiry(created), Some(t("2006-01-09")));
    assert_eq!(Validity::Gtc.expiry(created), None);

    let mut st = store();
    let mut spec = OrderSpec::priced(INS, Side::Buy, q("1"), ExecType::Limit, p("90"));
    spec.validity = Validity::Day;
    let id = st.create(spec, created, p("100")).unwrap().id();
    let o = st.order(id).unwrap();
    assert!(!o.is_expired_at(t("2006-01-06 23:59:59.009999")), "expiry is strictly after the instant");
    assert!(o.is_expired_at(daily("2006-01-06")), "a daily DAY order expires on its own bar's stamp");
    // Market orders never expire.
    let mut m = OrderSpec::market(INS, Side::Buy, q("1"));
    m.validity = Validity::Day;
    let id = st.create(m, created, p("100")).unwrap().id();
    assert!(!st.order(id).unwrap().is_expired_at(daily("2007-01-01")));
}

#[test]
fn trailing_stops_start_one_distance_away_and_only_tighten() {
    let mut st = store();
    let mut spec = OrderSpec::priced(INS, Side::Sell, q("1"), ExecType::StopTrail, p("100"));
    spec.trail = Some(Trail::Amount(p("10")));
    let id = new_order(&mut st, spec);
    let o = st.order_mut(id).unwrap();
    assert_eq!(o.price(), p("90"));
    o.trail_adjust(p("105")).unwrap();
    assert_eq!(o.price(), p("95"));
    o.trail_adjust(p("99")).unwrap();
    assert_eq!(o.price(), p("95"), "a sell stop never falls");

    // Buy, percent, stop-limit: the limit keeps its creation offset (price - plimit = -1).
    let mut spec = OrderSpec::priced(INS, Side::Buy, q("1"), ExecType::StopTrailLimit, p("100"));
    spec.price_limit = Some(p("101"));
    spec.trail = Some(Trail::Percent("0.02".parse().unwrap()));
    let id = new_order(&mut st, spec);
    let o = st.order_mut(id).unwrap();
    assert_eq!((o.price(), o.price_limit()), (p("102"), p("103")));
    o.trail_adjust(p("90")).unwrap();
    assert_eq!((o.price(), o.price_limit()), (p("91.8"), p("92.8")));
    o.trail_adjust(p("95")).unwrap();
    assert_eq!(o.price(), p("91.8"), "a buy stop never rises");

    // No trail at all: a zero distance (backtrader allows it).
    let id = new_order(&mut st, OrderSpec::priced(INS, Side::Sell, q("1"), ExecType::StopTrail, p("50")));
    assert_eq!(st.order(id).unwrap().price(), p("50"));
}

#[test]
fn fills_accumulate_and_complete() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::priced(INS, Side::Sell, q("10"), ExecType::Limit, p("101")));
    let o = st.order_mut(id).unwrap();
    o.submit().unwrap();
    o.accept().unwrap();
    let r = o.apply_fill(&fill("e1", "-4", "101")).unwrap();
    assert_eq!(r, FillOutcome::Applied(Transition::Moved { from: Status::Accepted, to: Status::Partial }));
    assert_eq!(o.remaining(), q("-6"));
    let r = o.apply_fill(&fill("e2", "-6", "102")).unwrap();
    assert_eq!(r, FillOutcome::Applied(Transition::Moved { from: Status::Partial, to: Status::Completed }));
    assert_eq!(o.executed().price().unwrap(), p("101.6"));
    assert_eq!(o.fills().len(), 2);
    // Nothing more can fill it.
    let e = o.apply_fill(&fill("e3", "-1", "102")).unwrap_err();
    assert!(matches!(e, OrderError::Overfill { .. }));
}

#[test]
fn a_fill_before_the_acceptance_is_applied_and_the_late_acceptance_kept() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("5")));
    let o = st.order_mut(id).unwrap();
    o.submit().unwrap();
    let r = o.apply_fill(&fill("x", "2", "100")).unwrap();
    assert_eq!(r, FillOutcome::Applied(Transition::Moved { from: Status::Submitted, to: Status::Partial }));
    let late = o.accept().unwrap();
    assert_eq!(late, Transition::Kept { status: Status::Partial, why: KeptReason::StaleAccept });
    assert_eq!(o.status(), Status::Partial);
}

#[test]
fn a_duplicated_execution_id_is_ignored() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("5")));
    st.order_mut(id).unwrap().submit().unwrap();
    let f = fill("dup-1", "2", "100");
    assert!(matches!(st.apply_fill(id, &f).unwrap(), FillOutcome::Applied(_)));
    let before = st.order(id).unwrap().clone();
    assert_eq!(st.apply_fill(id, &f).unwrap(), FillOutcome::Duplicate);
    // Even with other numbers: the id is what identifies the execution.
    assert_eq!(st.apply_fill(id, &fill("dup-1", "3", "99")).unwrap(), FillOutcome::Duplicate);
    assert_eq!(st.order(id).unwrap(), &before);
}

#[test]
fn bad_fills_are_refused_and_change_nothing() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("5")));
    st.order_mut(id).unwrap().submit().unwrap();
    let before = st.order(id).unwrap().clone();
    assert_eq!(
        st.apply_fill(id, &fill("a", "-1", "100")).unwrap_err(),
        OrderError::WrongSide { order: id, size: q("5"), fill: q("-1") }
    );
    assert_eq!(st.apply_fill(id, &fill("b", "0", "100")).unwrap_err(), OrderError::ZeroFill { order: id });
    assert_eq!(
        st.apply_fill(id, &fill("c", "6", "100")).unwrap_err().to_string(),
        "order OrderId#1: fill of 6 exceeds the remaining 5"
    );
    assert_eq!(st.order(id).unwrap(), &before);
    // A created order that was never sent cannot fill.
    let held = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("5")));
    assert!(matches!(st.apply_fill(held, &fill("d", "1", "1")), Err(OrderError::BadTransition { .. })));
    assert_eq!(
        st.apply_fill(OrderId(99), &fill("e", "1", "1")),
        Err(OrderError::UnknownOrder { order: OrderId(99) })
    );
}

#[test]
fn a_fill_after_the_cancel_is_booked_and_the_order_stays_canceled() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::priced(INS, Side::Buy, q("5"), ExecType::Limit, p("99")));
    let o = st.order_mut(id).unwrap();
    o.submit().unwrap();
    o.accept().unwrap();
    o.request_cancel().unwrap();
    assert_eq!(o.pending(), Some(PendingChange::Cancel));
    o.cancel(daily("2006-01-03")).unwrap();
    assert_eq!(o.pending(), None, "the answer settles the pending cancel");
    let r = o.apply_fill(&fill("late", "3", "99")).unwrap();
    assert_eq!(
        r,
        FillOutcome::Applied(Transition::Kept { status: Status::Canceled, why: KeptReason::LateFill })
    );
    assert_eq!(o.executed().size, q("3"));
    assert_eq!(o.remaining(), q("2"));
}

#[test]
fn pending_cancel_and_replace_are_visible_until_the_venue_answers() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::priced(INS, Side::Buy, q("10"), ExecType::Limit, p("99")));
    let o = st.order_mut(id).unwrap();
    assert!(matches!(o.request_cancel(), Err(OrderError::NotWorking { status: Status::Created, .. })));
    o.submit().unwrap();
    o.accept().unwrap();

    let amend = Amend { price: Some(p("98")), size: Some(q("8")), ..Amend::default() };
    o.request_replace(amend).unwrap();
    assert_eq!(o.pending(), Some(PendingChange::Replace(amend)));
    assert!(matches!(o.request_replace(amend), Err(OrderError::ChangePending { .. })));
    // A fill in between still happens, as at a real venue, and counts against the new size.
    o.apply_fill(&fill("f1", "3", "99")).unwrap();
    assert_eq!(o.replaced().unwrap(), Transition::Kept { status: Status::Partial, why: KeptReason::Amended });
    assert_eq!((o.price(), o.size(), o.remaining()), (p("98"), q("8"), q("5")));
    assert_eq!(o.pending(), None);

    // A cancel supersedes nothing pending and can be refused by the venue.
    o.request_cancel().unwrap();
    assert!(matches!(o.request_cancel(), Err(OrderError::ChangePending { .. })));
    assert!(matches!(o.request_replace(Amend::default()), Err(OrderError::ChangePending { .. })));
    o.cancel_rejected().unwrap();
    assert_eq!(o.pending(), None);
    assert!(matches!(o.cancel_rejected(), Err(OrderError::NoChangePending { expected: "cancel", .. })));
    assert!(matches!(o.replaced(), Err(OrderError::NoChangePending { expected: "replace", .. })));

    // An amend below what executed is refused up front; one down to exactly it completes the order.
    let below = Amend { size: Some(q("2")), ..Amend::default() };
    assert!(matches!(o.request_replace(below), Err(OrderError::AmendBelowFilled { .. })));
    o.request_replace(Amend { size: Some(q("3")), ..Amend::default() }).unwrap();
    assert_eq!(o.replaced().unwrap(), Transition::Moved { from: Status::Partial, to: Status::Completed });
    assert!(o.remaining().is_zero());
}

#[test]
fn a_fill_completing_the_order_settles_a_pending_cancel() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("2")));
    let o = st.order_mut(id).unwrap();
    o.submit().unwrap();
    o.request_cancel().unwrap();
    o.apply_fill(&fill("f", "2", "100")).unwrap();
    assert_eq!((o.status(), o.pending()), (Status::Completed, None));
    // The venue's late "too late to cancel" finds nothing pending: a typed error, nothing changes.
    assert!(o.cancel_rejected().is_err());
    o.request_replace(Amend::default()).unwrap_err();
}

#[test]
fn client_order_ids_are_unique_and_a_resubmission_is_recognised() {
    let mut st = store();
    let a = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("1")));
    let b = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("1")));
    assert_eq!(st.order(a).unwrap().client_id().as_str(), "T-1");
    assert_eq!(st.order(b).unwrap().client_id().as_str(), "T-2");
    assert_eq!(st.by_client_id(&ClientOrderId::try_new("T-2").unwrap()), Some(b));

    let cid = ClientOrderId::try_new("strat-7").unwrap();
    let mut spec = OrderSpec::priced(INS, Side::Sell, q("3"), ExecType::Limit, p("105"));
    spec.client_id = Some(cid);
    let first = st.create(spec, Timestamp::EPOCH, p("100")).unwrap();
    assert!(matches!(first, Submission::New(_)));
    // After a reconnect the strategy sends the same request again: the same order, not a second one.
    let again = st.create(spec, Timestamp::EPOCH, p("100")).unwrap();
    assert_eq!(again, Submission::Recognised(first.id()));
    assert_eq!(st.len(), 3);
    // The same id with a different request is a mistake.
    spec.size = q("4");
    assert_eq!(
        st.create(spec, Timestamp::EPOCH, p("100")).unwrap_err(),
        OrderError::DuplicateClientId { client_id: cid, existing: first.id() }
    );
    // A generated id cannot be taken by a user request either.
    let mut clash = OrderSpec::market(INS, Side::Buy, q("9"));
    clash.client_id = Some(ClientOrderId::try_new("T-1").unwrap());
    assert!(matches!(st.create(clash, Timestamp::EPOCH, p("1")), Err(OrderError::ReservedClientId { .. })));
    assert_eq!(st.len(), 3);
}

#[test]
fn the_generated_pattern_is_reserved_so_user_ids_never_collide_with_later_orders() {
    let mut st = store();
    let cid = |s: &str| ClientOrderId::try_new(s).unwrap();
    // "T-9" does not exist yet, but the store will give it to its ninth order: a user may not take it.
    let mut early = OrderSpec::market(INS, Side::Buy, q("1"));
    early.client_id = Some(cid("T-9"));
    assert_eq!(
        st.create(early, Timestamp::EPOCH, p("1")),
        Err(OrderError::ReservedClientId { client_id: cid("T-9") })
    );
    // Nor any other `T-<digits>`, even one the store never generates (leading zero, beyond u64).
    for reserved in ["T-09", "T-0", "T-18446744073709551616"] {
        early.client_id = Some(cid(reserved));
        assert!(matches!(
            st.create(early, Timestamp::EPOCH, p("1")),
            Err(OrderError::ReservedClientId { .. })
        ));
    }
    assert!(st.is_empty(), "a refused request creates nothing");
    // Ids that only look alike are the user's.
    let mut mine = Vec::new();
    for (i, own) in ["T-9x", "T9", "t-9", "T-", "X-9"].into_iter().enumerate() {
        let mut spec = OrderSpec::market(INS, Side::Buy, q("1"));
        spec.client_id = Some(cid(own));
        let id = st.create(spec, Timestamp::EPOCH, p("1")).unwrap().id();
        assert_eq!(id, OrderId(i as u64 + 1));
        mine.push((own, id));
    }
    // The ninth order, placed without an id, gets "T-9" and is found by it; the user's keep theirs.
    while st.len() < 9 {
        new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("1")));
    }
    let ninth = OrderId(9);
    assert_eq!(st.order(ninth).unwrap().client_id(), cid("T-9"));
    assert_eq!(st.by_client_id(&cid("T-9")), Some(ninth));
    for (own, id) in mine {
        assert_eq!(st.order(id).unwrap().client_id(), cid(own));
        assert_eq!(st.by_client_id(&cid(own)), Some(id));
    }
    // A generated id names only an order that has it: order 1 carries the user's "T-9x", not "T-1".
    assert_eq!(st.by_client_id(&cid("T-1")), None);
    assert_eq!(st.by_client_id(&cid("T-6")), Some(OrderId(6)));
    assert_eq!(st.by_client_id(&cid("T-10")), None, "no tenth order yet");
    assert_eq!(st.by_client_id(&cid("T-09")), None, "never generated");
    assert_eq!(st.by_client_id(&cid("T-0")), None);
}

#[test]
fn capacity_and_prefix_are_fixed_at_start() {
    let mut st = OrderStore::new(1, "S").unwrap();
    new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("1")));
    assert_eq!(
        st.create(OrderSpec::market(INS, Side::Buy, q("1")), Timestamp::EPOCH, p("1")),
        Err(OrderError::Capacity { capacity: 1 })
    );
    assert!(OrderStore::new(1, "").is_err());
    assert!(OrderStore::new(1, "has space").is_err());
    assert!(OrderStore::new(1, "01234567890123456789012345678901234567890123456789").is_err());
}

#[test]
fn oco_groups_follow_their_leader() {
    let mut st = store();
    let a = new_order(&mut st, OrderSpec::priced(INS, Side::Buy, q("1"), ExecType::Limit, p("95")));
    let mut spec = OrderSpec::priced(INS, Side::Buy, q("1"), ExecType::Stop, p("105"));
    spec.oco = Some(a);
    let b = new_order(&mut st, spec);
    // Naming any member joins the same group (backtrader: bbroker.py _ocoize).
    spec.oco = Some(b);
    let c = new_order(&mut st, spec);
    let lone = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("1")));
    assert_eq!(st.order(c).unwrap().oco(), Some(a));
    assert_eq!(st.order(a).unwrap().oco(), Some(a));
    assert_eq!(st.oco_siblings(b).collect::<Vec<_>>(), [a, c]);
    assert_eq!(st.oco_siblings(lone).count(), 0);
    spec.oco = Some(OrderId(42));
    assert_eq!(
        st.create(spec, Timestamp::EPOCH, p("1")).unwrap_err(),
        OrderError::UnknownLink { order: OrderId(5), link: "oco", target: OrderId(42) }
    );
}

#[test]
fn a_bracket_is_held_until_its_last_leg_is_transmitted() {
    let mut st = store();
    let at = daily("2006-01-02");
    let mut parent = OrderSpec::priced(INS, Side::Buy, q("10"), ExecType::Limit, p("100"));
    parent.transmit = false;
    let pid = new_order(&mut st, parent);
    let mut stop = OrderSpec::priced(INS, Side::Sell, q("10"), ExecType::Stop, p("95"));
    stop.parent = Some(pid);
    stop.transmit = false;
    let sid = new_order(&mut st, stop);
    let mut limit = OrderSpec::priced(INS, Side::Sell, q("10"), ExecType::Limit, p("110"));
    limit.parent = Some(pid);
    let lid = new_order(&mut st, limit);

    assert!(!st.order(sid).unwrap().is_active(), "legs wait for their parent");
    assert!(st.order(pid).unwrap().is_active());
    assert_eq!(st.legs(pid), [sid, lid]);
    assert_eq!(st.transmit(pid, at).unwrap(), Released::Held);
    assert_eq!(st.transmit(sid, at).unwrap(), Released::Held);
    assert_eq!(st.transmit(lid, at).unwrap(), Released::Send(vec![pid, sid, lid]));
    // Transmitting twice is a state machine error.
    st.order_mut(pid).unwrap().submit().unwrap();
    assert!(matches!(st.transmit(pid, at), Err(OrderError::BadTransition { .. })));

    // A leg whose parent is gone is rejected (backtrader: bbroker.py _take_children).
    st.order_mut(pid).unwrap().cancel(at).unwrap();
    let mut late = OrderSpec::priced(INS, Side::Sell, q("10"), ExecType::Limit, p("120"));
    late.parent = Some(pid);
    let late_id = new_order(&mut st, late);
    assert_eq!(st.transmit(late_id, at).unwrap(), Released::ParentGone { order: late_id, parent: pid });
    assert_eq!(st.order(late_id).unwrap().status(), Status::Rejected);

    // Legs of legs are refused.
    let mut nested = OrderSpec::market(INS, Side::Buy, q("1"));
    nested.parent = Some(sid);
    assert!(matches!(st.create(nested, at, p("1")), Err(OrderError::NestedBracket { .. })));
    // A standalone order goes at once.
    let solo = new_order(&mut st, OrderSpec::market(INS, Side::Buy, q("1")));
    assert_eq!(st.transmit(solo, at).unwrap(), Released::Send(vec![solo]));
}

#[test]
fn final_statuses_are_stamped_with_their_time() {
    let mut st = store();
    let id = new_order(&mut st, OrderSpec::priced(INS, Side::Buy, q("1"), ExecType::Limit, p("1")));
    let o = st.order_mut(id).unwrap();
    o.submit().unwrap();
    o.expire(daily("2006-01-05")).unwrap();
    assert_eq!(o.executed().at, Some(daily("2006-01-05")));
    assert_eq!(o.status(), Status::Expired);
    assert!(matches!(o.margin(daily("2006-01-06")), Err(OrderError::BadTransition { .. })));
    assert_eq!(ExecType::from_name("StopTrailLimit"), Some(ExecType::StopTrailLimit));
    assert_eq!(ExecType::from_name("Historical"), None);
}
