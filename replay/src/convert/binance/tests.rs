//! Binance reader tests: the real vendor files in `shared/data/binance/`, small synthetic files of
//! every format in both timestamp units, and damaged inputs (each the right error, with file and
//! line).

use std::io::Write;
use std::path::{Path, PathBuf};

use kestrel_types::{Aggressor, BookSide, Event, Payload, Price, Qty, Timestamp};

use crate::convert::{ConvertError, ConvertOptions, Format, Summary, convert, detect, head};
use crate::tick::TickFile;

/// A one-member zip of `data` named `name`, deflated, written by hand so the tests need no zip crate;
/// with `descriptor` the CRC and sizes follow the data (general-purpose flag bit 3), as streaming
/// zippers write them.
pub(in crate::convert) fn zip_one(name: &str, data: &[u8], descriptor: bool) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    let comp = enc.finish().unwrap();
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let (crc, csize, usize_) =
        (crc.sum(), u32::try_from(comp.len()).unwrap(), u32::try_from(data.len()).unwrap());
    let flags: u16 = if descriptor { 8 } else { 0 };
    let name_len = u16::try_from(name.len()).unwrap();
    let mut out = Vec::new();
    let put16 = |o: &mut Vec<u8>, v: u16| o.extend_from_slice(&v.to_le_bytes());
    let put32 = |o: &mut Vec<u8>, v: u32| o.extend_from_slice(&v.to_le_bytes());
    // Local header.
    put32(&mut out, 0x0403_4b50);
    for v in [20, flags, 8, 0, 0x21] {
        put16(&mut out, v);
    }
    for v in if descriptor { [0, 0, 0] } else { [crc, csize, usize_] } {
        put32(&mut out, v);
    }
    put16(&mut out, name_len);
    put16(&mut out, 0);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&comp);
    if descriptor {
        for v in [0x0807_4b50, crc, csize, usize_] {
            put32(&mut out, v);
        }
    }
    // Central directory.
    let cd_start = u32::try_from(out.len()).unwrap();
    put32(&mut out, 0x0201_4b50);
    for v in [20, 20, flags, 8, 0, 0x21] {
        put16(&mut out, v);
    }
    for v in [crc, csize, usize_] {
        put32(&mut out, v);
    }
    for v in [name_len, 0, 0, 0, 0] {
        put16(&mut out, v);
    }
    put32(&mut out, 0);
    put32(&mut out, 0);
    out.extend_from_slice(name.as_bytes());
    let cd_size = u32::try_from(out.len()).unwrap() - cd_start;
    // End of central directory.
    put32(&mut out, 0x0605_4b50);
    for v in [0, 0, 1, 1] {
        put16(&mut out, v);
    }
    put32(&mut out, cd_size);
    put32(&mut out, cd_start);
    put16(&mut out, 0);
    out
}

/// The shared data folder (`$KESTREL_DATA_ROOT` or the nearest `shared/data`).
pub(in crate::convert) fn data(rel: &str) -> PathBuf {
    crate::data_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("shared/data").join(rel)
}

/// Writes `bytes` to `dir/name`.
pub(in crate::convert) fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Converts `inputs` and reads the tick file back.
pub(in crate::convert) fn run(
    format: Option<Format>,
    inputs: &[PathBuf],
    skip: bool,
) -> Result<(Summary, Vec<Event>), ConvertError> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.kt");
    let opts = ConvertOptions { skip_malformed: skip, ..ConvertOptions::default() };
    let s = convert(format, inputs, &out, opts, None)?;
    let f = TickFile::open(&out).unwrap();
    f.validate().unwrap();
    let evs = f.events().collect::<Result<Vec<_>, _>>().unwrap();
    Ok((s, evs))
}

/// The error text of a conversion that must fail.
pub(in crate::convert) fn fails(format: Option<Format>, inputs: &[PathBuf]) -> String {
    match run(format, inputs, false) {
        Ok((s, _)) => panic!("converted: {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// Milliseconds as a timestamp.
fn ms(v: i64) -> Timestamp {
    Timestamp::from_nanos(v * 1_000_000)
}

/// Text as a price.
fn px(s: &str) -> Price {
    s.parse().unwrap()
}

/// Text as a size.
fn qty(s: &str) -> Qty {
    s.parse().unwrap()
}

/// The trade of an event (panics otherwise).
fn trade(e: &Event) -> kestrel_types::Trade {
    match e.payload {
        Payload::Trade(t) => t,
        p => panic!("not a trade: {p:?}"),
    }
}

/// Time never goes back, prices are positive, sizes are not negative: the invariants of every output.
fn invariants(evs: &[Event]) {
    for w in evs.windows(2) {
        assert!(w[0].ts_recv <= w[1].ts_recv, "{w:?}");
    }
    for e in evs {
        match e.payload {
            Payload::Trade(t) => assert!(t.price.is_positive() && t.size.is_positive()),
            Payload::Quote(q) => assert!(!q.bid_size.is_negative() && !q.ask_size.is_negative()),
            Payload::Level(l) => assert!(l.price.is_positive() && !l.size.is_negative()),
            Payload::Bar(b) => {
                assert!(b.high >= b.low && b.low.is_positive() && !b.volume.is_negative());
                assert!((b.low..=b.high).contains(&b.open) && (b.low..=b.high).contains(&b.close));
            }
            _ => {}
        }
    }
}

#[test]
fn real_spot_klines_zip_gives_1440_bars_stamped_at_completion() {
    let zip = data("binance/spot/ADABTC-1m-2021-11-28.zip");
    assert_eq!(detect(&zip, &head(&zip, 4096).unwrap()), Some(Format::BinanceKlines));
    let (s, evs) = run(None, std::slice::from_ref(&zip), false).unwrap();
    assert_eq!((s.rows_in, s.records_out, s.skipped), (1440, 1440, 0));
    invariants(&evs);
    let bar = |e: &Event| match e.payload {
        Payload::Bar(b) => b,
        p => panic!("{p:?}"),
    };
    // 1638057600000,0.00002820,0.00002821,0.00002817,0.00002818,85342.70000000,1638057659999,…
    let first = bar(&evs[0]);
    assert_eq!(evs[0].ts_recv, ms(1_638_057_660_000), "close_time + 1 ms: 00:01:00.000");
    assert_eq!(evs[0].ts_recv.to_string(), "2021-11-28T00:01:00.000000000Z");
    assert_eq!((evs[0].ts_event, first.ts), (evs[0].ts_recv, evs[0].ts_recv));
    assert_eq!(
        (first.open, first.high, first.low, first.close, first.volume),
        (px("0.00002820"), px("0.00002821"), px("0.00002817"), px("0.00002818"), qty("85342.7"))
    );
    // 1638143940000,0.00002784,0.00002785,0.00002781,0.00002784,19131.20000000,1638143999999,…
    let last = bar(&evs[1439]);
    assert_eq!(evs[1439].ts_recv.to_string(), "2021-11-29T00:00:00.000000000Z");
    assert_eq!(
        (last.open, last.high, last.low, last.close),
        (px("0.00002784"), px("0.00002785"), px("0.00002781"), px("0.00002784"))
    );
    // One bar a minute, no gaps; volumes add up exactly.
    for w in evs.windows(2) {
        assert_eq!(w[1].ts_recv.nanos() - w[0].ts_recv.nanos(), 60_000_000_000);
    }
    let total = evs.iter().map(|e| bar(e).volume).try_fold(Qty::ZERO, Qty::checked_add).unwrap();
    assert_eq!(total, qty("39091898.6"));
    let (ins, inferred) = &s.instruments[0];
    assert!(inferred);
    assert_eq!(
        (ins.symbol(), ins.tick_size().to_string(), ins.lot_size().to_string()),
        ("ADABTC", "0.00000001".into(), "0.1".into())
    );
}

#[test]
fn real_klines_zip_verifies_its_checksum_and_refuses_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data("binance/spot/ADABTC-1m-2021-11-28.zip")).unwrap();
    let zip = put(dir.path(), "ADABTC-1m-2021-11-28.zip", &bytes);
    // The digest `vendor-samples.sha256` records for the vendor's zip.
    let good = "1f007ee0451e59f63b531c24d222ae16295b5bc125dea78bf11a334bd7a9730c";
    put(
        dir.path(),
        "ADABTC-1m-2021-11-28.zip.CHECKSUM",
        format!("{good}  ADABTC-1m-2021-11-28.zip\n").as_bytes(),
    );
    let (s, _) = run(None, std::slice::from_ref(&zip), false).unwrap();
    assert_eq!(s.records_out, 1440);
    let bad = good.replace('1', "2");
    put(
        dir.path(),
        "ADABTC-1m-2021-11-28.zip.CHECKSUM",
        format!("{bad}  ADABTC-1m-2021-11-28.zip\n").as_bytes(),
    );
    let e = fails(None, std::slice::from_ref(&zip));
    assert!(
        e.contains("ADABTC-1m-2021-11-28.zip: SHA-256 1f007ee0")
            && e.contains(&format!("does not match {bad}")),
        "{e}"
    );
    put(
        dir.path(),
        "ADABTC-1m-2021-11-28.zip.CHECKSUM",
        format!("{good}  OTHER-1m-2021-11-28.zip\n").as_bytes(),
    );
    let e = fails(None, std::slice::from_ref(&zip));
    assert!(e.contains(".CHECKSUM: names \"OTHER-1m-2021-11-28.zip\""), "{e}");
    put(dir.path(), "ADABTC-1m-2021-11-28.zip.CHECKSUM", b"not a checksum\n");
    let e = fails(None, std::slice::from_ref(&zip));
    assert!(e.contains("not in sha256sum format"), "{e}");
}

#[test]
fn real_tdepth_snapshot_becomes_one_snapshot_of_100_bid_levels() {
    let csv = data("binance/futures-um-tdepth/BTCUSDT_T_DEPTH_2022-11-01_depth_snap.first100.csv");
    assert_eq!(detect(&csv, &head(&csv, 4096).unwrap()), Some(Format::BinanceDepth));
    let (s, evs) = run(None, std::slice::from_ref(&csv), false).unwrap();
    assert_eq!((s.rows_in, s.records_out), (100, 102));
    invariants(&evs);
    assert!(matches!(evs[0].payload, Payload::SnapshotBegin));
    assert!(matches!(evs[101].payload, Payload::SnapshotEnd));
    assert!(evs.iter().all(|e| e.ts_recv == ms(1_667_346_579_146)));
    let levels: Vec<_> = evs[1..101]
        .iter()
        .map(|e| match e.payload {
            Payload::Level(l) => l,
            p => panic!("{p:?}"),
        })
        .collect();
    assert!(levels.iter().all(|l| l.side == BookSide::Bid));
    assert_eq!((levels[0].price, levels[0].size), (px("20377.00"), qty("1.770")));
    assert_eq!((levels[99].price, levels[99].size), (px("20365.90"), qty("0.207")));
    assert_eq!(s.instruments[0].0.symbol(), "BTCUSDT");
    assert_eq!(s.instruments.len(), 1, "no instrument from the file name");
}

/// Spot trades rows (`id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`) at `t0` + i in `unit`s.
fn spot_trades(t0: i64) -> String {
    format!(
        "100,42000.10,0.00100000,42.00010000,{},True,True\n\
         101,42000.20,0.50000000,21000.10000000,{},False,True\n\
         102,41999.9,2,83999.8,{},true,True\n",
        t0,
        t0 + 1,
        t0 + 1
    )
}

#[test]
fn spot_trades_in_ms_and_us_plain_and_zipped() {
    let dir = tempfile::tempdir().unwrap();
    // Before 2025: ms. From 2025: µs. Same rows otherwise.
    for (name, t0, unit) in [
        ("BTCUSDT-trades-2024-01-01", 1_704_067_200_000_i64, 1_000_000),
        ("BTCUSDT-trades-2025-01-01", 1_735_689_600_000_000, 1_000),
    ] {
        let text = spot_trades(t0);
        let csv = put(dir.path(), &format!("{name}.csv"), text.as_bytes());
        let zip =
            put(dir.path(), &format!("{name}.zip"), &zip_one(&format!("{name}.csv"), text.as_bytes(), false));
        for input in [csv, zip] {
            assert_eq!(detect(&input, &head(&input, 4096).unwrap()), Some(Format::BinanceTrades));
            let (s, evs) = run(None, &[input], false).unwrap();
            assert_eq!((s.rows_in, s.records_out), (3, 3));
            invariants(&evs);
            assert_eq!(evs[0].ts_recv.nanos(), t0 * unit);
            assert_eq!(evs[2].ts_recv.nanos(), (t0 + 1) * unit);
            let t: Vec<_> = evs.iter().map(trade).collect();
            assert_eq!((t[0].trade_id, t[0].price, t[0].size), (100, px("42000.1"), qty("0.001")));
            // Buyer was maker: the seller hit the bid.
            assert_eq!(
                [t[0].aggressor, t[1].aggressor, t[2].aggressor],
                [Aggressor::Sell, Aggressor::Buy, Aggressor::Sell]
            );
            assert_eq!(s.instruments[0].0.symbol(), "BTCUSDT");
            assert_eq!(s.instruments[0].0.tick_size().to_string(), "0.1", "the finest decimals seen");
        }
    }
}

#[test]
fn futures_trades_with_header_and_a_data_descriptor_zip() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,price,qty,quote_qty,time,is_buyer_maker\n\
                5001,65000.5,0.010,650.005,1714521600001,false\n\
                5002,65000.4,0.002,130.0008,1714521600001,true\n";
    let zip = put(
        dir.path(),
        "ETHUSDT-trades-2024-05-01.zip",
        &zip_one("ETHUSDT-trades-2024-05-01.csv", text.as_bytes(), true),
    );
    let (s, evs) = run(Some(Format::BinanceTrades), &[zip], false).unwrap();
    assert_eq!((s.rows_in, s.records_out), (2, 2), "the header is not a row");
    assert_eq!(evs[1].ts_recv, ms(1_714_521_600_001));
    assert_eq!((trade(&evs[1]).trade_id, trade(&evs[1]).aggressor), (5002, Aggressor::Sell));
    assert_eq!(s.instruments[0].0.symbol(), "ETHUSDT");
}

#[test]
fn aggtrades_spot_and_futures_in_both_units() {
    let dir = tempfile::tempdir().unwrap();
    let spot_ms = "7,1.5,10,20,22,1704067200123,False,True\n8,1.25,3.5,23,23,1704067200124,True,True\n";
    let spot_us = "7,1.5,10,20,22,1735689600123456,False,True\n8,1.25,3.5,23,23,1735689600124000,True,True\n";
    let fut = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n\
               7,1.5,10,20,22,1704067200123,false\n8,1.25,3.5,23,23,1704067200124,true\n";
    for (name, text, t0) in [
        ("ADAUSDT-aggTrades-2024-01-01.csv", spot_ms, ms(1_704_067_200_123)),
        ("ADAUSDT-aggTrades-2025-01-01.csv", spot_us, Timestamp::from_nanos(1_735_689_600_123_456_000)),
        ("ADAUSDT-aggTrades-2024-01-02.csv", fut, ms(1_704_067_200_123)),
    ] {
        let p = put(dir.path(), name, text.as_bytes());
        assert_eq!(detect(&p, &head(&p, 4096).unwrap()), Some(Format::BinanceAggTrades), "{name}");
        let (s, evs) = run(None, &[p], false).unwrap();
        assert_eq!(s.records_out, 2);
        assert_eq!(evs[0].ts_recv, t0, "{name}");
        let (a, b) = (trade(&evs[0]), trade(&evs[1]));
        assert_eq!((a.trade_id, a.price, a.size, a.aggressor), (7, px("1.5"), qty("10"), Aggressor::Buy));
        assert_eq!((b.trade_id, b.aggressor), (8, Aggressor::Sell));
    }
    let bad = put(dir.path(), "X-aggTrades-2024-01-01.csv", b"7,1.5,10,22,20,1704067200123,false,true\n");
    assert!(
        fails(None, &[bad])
            .ends_with("X-aggTrades-2024-01-01.csv:1: first_trade_id 22 is after last_trade_id 20")
    );
}

#[test]
fn bookticker_in_both_units_with_event_time_as_receive_time() {
    let dir = tempfile::tempdir().unwrap();
    let header =
        "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time\n";
    let rows_ms = "9001,49999.9,1.5,50000.1,2.0,1687392000123,1687392000125\n\
                   9002,49999.8,0,50000.0,0.5,1687392000124,1687392000125\n";
    let rows_us = "9001,49999.9,1.5,50000.1,2.0,1735689600123000,1735689600125500\n\
                   9002,49999.8,0,50000.0,0.5,1735689600124000,1735689600125500\n";
    for (name, text, recv) in [
        ("BTCUSDT-bookTicker-2023-06-22.csv", format!("{header}{rows_ms}"), ms(1_687_392_000_125)),
        (
            "BTCUSDT-bookTicker-2025-01-01.csv",
            format!("{header}{rows_us}"),
            Timestamp::from_nanos(1_735_689_600_125_500_000),
        ),
        ("BTCUSDT-bookTicker-2023-06-23.csv", rows_ms.to_owned(), ms(1_687_392_000_125)),
    ] {
        let p = put(dir.path(), name, text.as_bytes());
        assert_eq!(detect(&p, &head(&p, 4096).unwrap()), Some(Format::BinanceBookTicker), "{name}");
        let (s, evs) = run(None, &[p], false).unwrap();
        assert_eq!(s.records_out, 2);
        assert_eq!(evs[0].ts_recv, recv, "{name}");
        assert!(evs[0].ts_event < evs[0].ts_recv, "transaction time is the event time");
        match evs[1].payload {
            Payload::Quote(q) => assert_eq!(
                (q.bid, q.bid_size, q.ask, q.ask_size),
                (px("49999.8"), Qty::ZERO, px("50000"), qty("0.5"))
            ),
            p => panic!("{p:?}"),
        }
    }
}

#[test]
fn futures_klines_with_a_header_and_spot_klines_in_us() {
    let dir = tempfile::tempdir().unwrap();
    let fut = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n\
               1704067200000,42283.5,42554.5,42261.0,42475.2,1490.1,1704070799999,63234531.37,15621,741.2,31453645.12,0\n";
    let spot_us = "1735689600000000,93576.00,93610.93,93537.50,93610.93,8.21827,1735689659999999,768978.1,1531,3.7,346263.7,0\n";
    let p = put(dir.path(), "BTCUSDT-1h-2024-01-01.csv", fut.as_bytes());
    let (_, evs) = run(None, &[p], false).unwrap();
    assert_eq!(evs[0].ts_recv.to_string(), "2024-01-01T01:00:00.000000000Z");
    let p = put(dir.path(), "BTCUSDT-1m-2025-01-01.csv", spot_us.as_bytes());
    let (_, evs) = run(None, &[p], false).unwrap();
    assert_eq!(evs[0].ts_recv.to_string(), "2025-01-01T00:01:00.000000000Z", "close_time + 1 µs");
    let bad = put(dir.path(), "BTCUSDT-1m-2025-01-02.csv", spot_us.replace("93537.50", "93620").as_bytes());
    assert!(fails(None, &[bad]).contains("BTCUSDT-1m-2025-01-02.csv:1: open 93576 high 93610.93 low 93620"));
}

/// `T_DEPTH` rows: one snapshot, then updates whose `pu` chain is given.
fn depth_file(pus: [i64; 2]) -> String {
    format!(
        "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n\
         BTCUSDT,1667346579146,100,100,b,snap,20377.00,1.770,-1\n\
         BTCUSDT,1667346579146,100,100,a,snap,20377.10,0.5,-1\n\
         BTCUSDT,1667346579150,95,110,a,set,20377.10,0.000,90\n\
         BTCUSDT,1667346579150,95,110,b,set,20377.00,2.000,90\n\
         BTCUSDT,1667346579160,111,120,b,set,20376.90,1,{}\n\
         BTCUSDT,1667346579160,111,120,a,set,20377.30,1,{}\n\
         BTCUSDT,1667346579170,121,130,a,set,20377.20,3,120\n",
        pus[0], pus[1]
    )
}

#[test]
fn depth_snapshot_then_updates_and_a_gap_named_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), "BTCUSDT_T_DEPTH_2022-11-01_depth_update.csv", depth_file([110, 110]).as_bytes());
    let (s, evs) = run(None, &[p], false).unwrap();
    assert_eq!((s.rows_in, s.records_out), (7, 9));
    invariants(&evs);
    let kinds: Vec<_> = evs.iter().map(|e| std::mem::discriminant(&e.payload)).collect();
    assert_eq!(kinds[0], std::mem::discriminant(&Payload::SnapshotBegin));
    assert_eq!(kinds[3], std::mem::discriminant(&Payload::SnapshotEnd));
    match evs[4].payload {
        Payload::Level(l) => assert_eq!((l.side, l.price, l.size), (BookSide::Ask, px("20377.1"), Qty::ZERO)),
        p => panic!("{p:?}"),
    }
    // pu 109 where the previous update ended at 110: data is missing.
    let gap = put(dir.path(), "BTCUSDT_T_DEPTH_2022-11-01_gap.csv", depth_file([109, 109]).as_bytes());
    let e = fails(None, std::slice::from_ref(&gap));
    assert!(
        e.ends_with("_gap.csv:6: update-id gap: pu 109 but the previous update ended at 110 (data missing)"),
        "{e}"
    );
    // Skipping drops the whole message after the gap (both its rows, each counted), not the next.
    let (s, _) = run(None, &[gap], true).unwrap();
    assert_eq!((s.rows_in, s.skipped, s.records_out), (7, 2, 7));
    assert_eq!(s.examples[1].line, 7);
}

#[test]
fn damaged_rows_are_errors_naming_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let good = "1,10.5,1,10.5,1704067200000,true,true\n";
    let cases: [(&str, &str); 13] = [
        ("2,10.5,1,10.5,99999999999999,true,true\n", ":2: time 99999999999999 is after 2262"),
        ("2,10.x,1,10.5,1704067200001,true,true\n", ":2: price \"10.x\": invalid character 'x' at byte 3"),
        ("2,10.5,1,10.5,1704067200001,true\n", ":2: 6 columns, expected 7"),
        ("2,10.5,1,10.5,1704067200001,true,true,9\n", ":2: 8 columns, expected 7"),
        ("2,NaN,1,10.5,1704067200001,true,true\n", ":2: price \"NaN\": invalid character 'N' at byte 0"),
        ("2,10.5,-1,10.5,1704067200001,true,true\n", ":2: qty -1 is negative"),
        ("2,10.5,1,10.5,17040672000x1,true,true\n", ":2: time \"17040672000x1\" is not a whole number"),
        ("2,10.5,1,10.5,1704067200001000,true,true\n", ":2: time 1704067200001000 is not in milliseconds"),
        ("2,10.5,1,10.5,1704067199999,true,true\n", ":2: time goes backwards"),
        ("2,10.5,1,10.5,1704067200001,yes,true\n", ":2: is_buyer_maker \"yes\" is not true or false"),
        ("\n", ":2: empty line"),
        ("2,0,1,0,1704067200001,true,true\n", ":2: price 0 is not positive"),
        (
            "2,10.5,1,1e400x,1704067200001,true,true\n",
            ":2: quote_qty \"1e400x\" is not a non-negative decimal",
        ),
    ];
    for (i, (row, want)) in cases.iter().enumerate() {
        let p = put(
            dir.path(),
            &format!("BTCUSDT-trades-2024-01-{:02}.csv", i + 1),
            format!("{good}{row}{good}").as_bytes(),
        );
        let e = fails(Some(Format::BinanceTrades), std::slice::from_ref(&p));
        assert!(e.starts_with(&p.display().to_string()) && e.contains(want), "case {i}: {e}");
    }
    // With --skip-malformed each is counted and the rest converted (the last row of a backwards
    // case is then fine again: it is after the first).
    let p = put(
        dir.path(),
        "BTCUSDT-trades-2024-02-01.csv",
        format!("{good}{}{}", cases[0].0, cases[1].0).as_bytes(),
    );
    let (s, _) = run(None, &[p], true).unwrap();
    assert_eq!(
        (s.rows_in, s.skipped, s.records_out, s.examples[0].line, s.examples[1].line),
        (3, 2, 1, 2, 3)
    );
    // Bytes that are not text.
    let p = put(
        dir.path(),
        "BTCUSDT-trades-2024-04-01.csv",
        b"1,10.5,1,10.5,1704067200000,true,true\n2,1\xff,1\n",
    );
    assert!(fails(None, &[p]).ends_with("BTCUSDT-trades-2024-04-01.csv:2: not UTF-8 text"));
    // A header that is not Binance's is refused as a whole.
    let p = put(dir.path(), "BTCUSDT-trades-2024-03-01.csv", b"id,px,qty,quote_qty,time,is_buyer_maker\n");
    assert!(fails(Some(Format::BinanceTrades), &[p]).contains(": line 1: unexpected header"));
}

#[test]
fn damaged_zips_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text: String =
        (0..2000).map(|i| format!("{i},1.{i},2,2.{i},{},true,true\n", 1_704_067_200_000_i64 + i)).collect();
    let zip = zip_one("BTCUSDT-trades-2024-01-01.csv", text.as_bytes(), false);
    // Cut inside the deflate stream.
    let p = put(dir.path(), "BTCUSDT-trades-2024-01-01.zip", &zip[..zip.len() / 2]);
    let e = fails(None, std::slice::from_ref(&p));
    let want = format!("{}: after line 979: zip member: incomplete deflate stream (truncated", p.display());
    assert!(e.starts_with(&want), "{e}");
    // Cut in the central directory: every row was read, but the archive is incomplete.
    let p = put(dir.path(), "BTCUSDT-trades-2024-01-02.zip", &zip[..zip.len() - 10]);
    let e = fails(None, std::slice::from_ref(&p));
    assert!(e.contains("no end-of-central-directory record") && e.contains("after line 2000"), "{e}");
    // A flipped byte in the compressed data: the garbage rows it inflates to are explained by the
    // damaged member (a CRC or deflate error), not reported as bad rows.
    let mut flipped = zip.clone();
    flipped[200] ^= 0x55;
    let p = put(dir.path(), "BTCUSDT-trades-2024-01-03.zip", &flipped);
    let e = fails(None, std::slice::from_ref(&p));
    assert!(e.starts_with(&format!("{}: zip member", p.display())), "{e}");
    assert!(e.contains("reading it failed first: ") && e.contains("columns, expected 7"), "{e}");
    // A wrong CRC in the header with intact data.
    let mut crc = zip.clone();
    crc[14] ^= 1;
    let p = put(dir.path(), "BTCUSDT-trades-2024-01-04.zip", &crc);
    assert!(fails(None, &[p]).contains("zip member CRC-32 is"));
    // Two members.
    let mut two = zip_one("a.csv", b"1,1,1,1,1704067200000,true,true\n", false);
    let cd = two.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
    two.truncate(cd);
    two.extend_from_slice(&zip);
    let p = put(dir.path(), "BTCUSDT-trades-2024-01-05.zip", &two);
    assert!(fails(None, &[p]).contains("more than one member"));
    // A checksum mismatch wins over the parse error it causes.
    let p = put(dir.path(), "BTCUSDT-trades-2024-01-06.zip", &zip[..zip.len() / 2]);
    put(
        dir.path(),
        "BTCUSDT-trades-2024-01-06.zip.CHECKSUM",
        format!("{}  BTCUSDT-trades-2024-01-06.zip\n", "0".repeat(64)).as_bytes(),
    );
    let e = fails(None, &[p]);
    assert!(e.contains("does not match 0000") && e.contains("reading it failed too"), "{e}");
    // And the same zip intact, with its right checksum, converts.
    let p = put(dir.path(), "BTCUSDT-trades-2024-01-07.zip", &zip);
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&zip).iter().map(|b| format!("{b:02x}")).collect();
    put(
        dir.path(),
        "BTCUSDT-trades-2024-01-07.zip.CHECKSUM",
        format!("{digest}  BTCUSDT-trades-2024-01-07.zip\n").as_bytes(),
    );
    assert_eq!(run(None, &[p], false).unwrap().0.records_out, 2000);
}

#[test]
fn detection_by_name_member_and_first_row_without_false_positives() {
    let d = |name: &str, head: &[u8]| super::detect(name, head);
    assert_eq!(d("btcusdt-trades-2024-01-01.zip", b""), Some(Format::BinanceTrades));
    assert_eq!(d("btcusdt-aggtrades-2024-01.zip", b""), Some(Format::BinanceAggTrades));
    assert_eq!(d("btcusdt-15m-2024-01-01.csv", b""), Some(Format::BinanceKlines));
    assert_eq!(d("btcusdt-1mo-2024-01.zip", b""), Some(Format::BinanceKlines));
    assert_eq!(d("btcusdt-bookticker-2024-01-01.zip", b""), Some(Format::BinanceBookTicker));
    assert_eq!(d("btcusdt_t_depth_2022-11-01_depth_update.csv", b""), Some(Format::BinanceDepth));
    // Renamed zip: the member's name tells.
    let z = zip_one("ETHBTC-aggTrades-2024-01-01.csv", b"1,1,1,1,1,1704067200000,true,true\n", false);
    assert_eq!(d("download.zip", &z), Some(Format::BinanceAggTrades));
    // Renamed CSV without header: the row's shape and epoch columns tell.
    assert_eq!(d("x.csv", b"1,0.1,2,0.2,1704067200000,True,True\n"), Some(Format::BinanceTrades));
    assert_eq!(d("x.csv", b"1,0.1,2,0.2,1704067200000,false\n"), Some(Format::BinanceTrades));
    assert_eq!(d("x.csv", b"1,0.1,2,3,4,1704067200000,True,True\n"), Some(Format::BinanceAggTrades));
    assert_eq!(d("x.csv", b"1,0.1,2,0.2,3,1704067200000,1704067200001\n"), Some(Format::BinanceBookTicker));
    // Not Binance: a generic bar CSV, a Tardis file name, a bookDepth file, a checksum file.
    assert_eq!(d("x.csv", b"20200101,1.0,1.1,0.9,1.0,100,0\n"), None);
    assert_eq!(d("binance-futures_trades_2020-02-22_btcusdt.csv", b"exchange,symbol,timestamp\n"), None);
    assert_eq!(d("btcusdt-bookdepth-2024-01-01.zip", b""), None);
    assert_eq!(d("btcusdt-trades-2024-01-01.zip.checksum", b""), None);
}

#[test]
fn split_finds_every_comma_eight_bytes_at_a_time_as_a_plain_split_does() {
    // Every length around the 8-byte word boundaries, commas anywhere (adjacent, first, last), and
    // the bytes next to `,` that a carrying zero-byte test would mistake for one (`-`, `+`, `.`,
    // 0x2c ^ 0x80 = `¬`'s UTF-8 bytes, multi-byte text).
    let alphabet = [",", "-", "+", ".", "0", "9", "a", "¬", "é", "€", "\t", "1,", ",-1"];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for len in 0..200 {
        for _ in 0..20 {
            let mut line = String::new();
            for _ in 0..len % 40 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                line.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let want: Vec<&str> = line.split(',').collect();
            let mut f: [&str; super::MAX_COLS + 1] = [""; super::MAX_COLS + 1];
            let n = super::split(&line, &mut f);
            assert_eq!(n, want.len(), "{line:?}");
            let kept = n.min(f.len());
            assert_eq!(&f[..kept], &want[..kept], "{line:?}");
        }
    }
}
