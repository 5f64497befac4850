#!/usr/bin/env python3
"""Seeded inputs for the `kestrel convert` benchmark (bench/convert/run.sh), one per `--from` format.

Each input copies the layout of the real vendor file of its format in ../shared/data/<vendor>/ (or,
where that folder has none, the layout Kestrel's reader documents for it): same header or none,
same column order, same number formatting (Binance spot's 8 decimals, Tardis's shortest decimals,
HistData's glued milliseconds...), same timestamp units. Only the values are made up: seeded random
walks on the instrument's tick grid, with clock steps that repeat timestamps as real feeds do.
Binary formats are scaled from the real files instead: the DBN MBP-1 file, the hftbacktest .npz and
the NautilusTrader Parquet file are tiled with their clocks shifted, keeping every record and the
file's own metadata, compression and row-group layout.

    python3 bench/convert/gen.py OUTDIR [--rows N] [--only fmt,fmt] [--force]

writes the inputs under OUTDIR/rows-N/ (skipping files that already exist unless --force) and
OUTDIR/rows-N/manifest.tsv, whose path it prints: one line per benchmark case,
`case|--from name|one extra kestrel argument or nothing|input paths (space separated)|note`.
N (default 5,000,000) is the row count of the tick formats; bar, kline, snapshot and
order-book-message formats use fewer rows (see `cases`). Needs numpy, pyarrow and the zstd and gzip
tools; nothing is downloaded.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data"))
CHUNK = 250_000
T0_MS = 1723075200000  # 2024-08-08T00:00:00Z


def rng(name):
    """One generator per format, seeded from its name, so every format's input is fixed."""
    return np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))


def walk(r, n, start, step=3):
    """A random walk of integer ticks starting at `start`, never below 1."""
    w = start + np.cumsum(r.integers(-step, step + 1, n))
    return np.maximum(w, 1)


def ms_clock(r, n, t0=T0_MS, mean=17.0, repeat=0.45):
    """Millisecond times: `repeat` of the steps are 0 (same-ms trades), the rest exponential."""
    steps = np.floor(r.exponential(mean / (1 - repeat), n)).astype(np.int64)
    steps[r.random(n) < repeat] = 0
    steps[0] = 0
    return t0 + np.cumsum(steps)


def fixed(v, d, out=None):
    """Integers in units of 10^-d as text with `out` decimals (default d), as Binance prints."""
    out = d if out is None else out
    q, m = divmod(int(v), 10**d)
    if out == 0:
        return str(q)
    frac = f"{m:0{d}d}" + "0" * (out - d)
    return f"{q}.{frac[:out]}"


def short(v, d):
    """Integers in units of 10^-d as the shortest decimal (`9682`, `9681.9`), as Tardis prints."""
    q, m = divmod(int(v), 10**d)
    if m == 0:
        return str(q)
    return f"{q}.{m:0{d}d}".rstrip("0")


def write_text(path, chunks, header=None, gz=False):
    """Writes lines (chunks of strings) to path; gzip through the gzip tool when gz."""
    tmp = path + ".part"
    if gz:
        f = open(tmp, "wb")
        proc = subprocess.Popen(["gzip", "-c", "-6"], stdin=subprocess.PIPE, stdout=f)
        out = proc.stdin
    else:
        out = open(tmp, "wb", buffering=1 << 20)
    if header:
        out.write((header + "\n").encode())
    for lines in chunks:
        if lines:
            out.write(("\n".join(lines) + "\n").encode())
    out.close()
    if gz:
        proc.wait()
        f.close()
    os.replace(tmp, path)


def chunked(n):
    for a in range(0, n, CHUNK):
        yield a, min(n, a + CHUNK)


# ---------------------------------------------------------------------------------------------
# Binance (data.binance.vision; USD-M T_DEPTH)
# ---------------------------------------------------------------------------------------------

def binance_trades_um(path, n):
    """USD-M trades: header, `id,price,qty,quote_qty,time,is_buyer_maker`, price 2 decimals on a
    0.1 tick (as the T_DEPTH sample prints BTCUSDT), qty 3 decimals, quote_qty exact."""
    r = rng("binance-trades-um")
    px = walk(r, n, 617_800, 2) * 10  # hundredths, tick 0.1
    qty = np.maximum(1, np.floor(r.lognormal(1.2, 1.6, n))).astype(np.int64)  # thousandths
    ts = ms_clock(r, n)
    maker = r.random(n) < 0.5
    tid = 5_154_003_297

    def gen():
        for a, b in chunked(n):
            yield [
                f"{tid + i},{fixed(px[i], 2)},{fixed(qty[i], 3)},{fixed(px[i] * qty[i], 5)},{ts[i]},"
                f"{'true' if maker[i] else 'false'}"
                for i in range(a, b)
            ]

    write_text(path, gen(), "id,price,qty,quote_qty,time,is_buyer_maker")


def binance_trades_spot(path, n):
    """Spot trades: no header, `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`, 8 decimals
    everywhere, `True`/`False`."""
    r = rng("binance-trades-spot")
    px = walk(r, n, 6_178_012, 3)  # cents
    qty = np.maximum(1, np.floor(r.lognormal(3.0, 1.8, n))).astype(np.int64)  # 1e-5
    ts = ms_clock(r, n)
    maker = r.random(n) < 0.5
    tid = 3_719_500_112

    def gen():
        for a, b in chunked(n):
            yield [
                f"{tid + i},{fixed(px[i], 2, 8)},{fixed(qty[i], 5, 8)},{fixed(px[i] * qty[i], 7, 8)},"
                f"{ts[i]},{'True' if maker[i] else 'False'},True"
                for i in range(a, b)
            ]

    write_text(path, gen())


def zip_with_checksum(csv_path, zip_path):
    """The vendor's one-member deflate zip, and its `.CHECKSUM` (`sha256  name`)."""
    with zipfile.ZipFile(zip_path + ".part", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(csv_path, os.path.basename(csv_path))
    os.replace(zip_path + ".part", zip_path)
    h = hashlib.sha256()
    with open(zip_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    with open(zip_path + ".CHECKSUM", "w") as f:
        f.write(f"{h.hexdigest()}  {os.path.basename(zip_path)}\n")


def binance_aggtrades(path, n):
    """USD-M aggTrades: header `agg_trade_id,price,quantity,first_trade_id,last_trade_id,
    transact_time,is_buyer_maker`."""
    r = rng("binance-aggtrades")
    px = walk(r, n, 617_800, 2) * 10
    qty = np.maximum(1, np.floor(r.lognormal(1.8, 1.7, n))).astype(np.int64)
    ts = ms_clock(r, n, mean=30.0, repeat=0.3)
    span = 1 + r.geometric(0.5, n) - 1
    last = 5_154_003_297 + np.cumsum(span)
    first = last - span + 1
    maker = r.random(n) < 0.5
    aid = 2_271_116_004

    def gen():
        for a, b in chunked(n):
            yield [
                f"{aid + i},{fixed(px[i], 2)},{fixed(qty[i], 3)},{first[i]},{last[i]},{ts[i]},"
                f"{'true' if maker[i] else 'false'}"
                for i in range(a, b)
            ]

    write_text(path, gen(), "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker")


def binance_klines(path, n):
    """Spot klines, interval 1s: no header, 12 columns, 8 decimals (as the ADABTC sample)."""
    r = rng("binance-klines")
    o = walk(r, n, 6_178_012, 4)
    c = np.maximum(1, o + r.integers(-4, 5, n))
    h = np.maximum(o, c) + r.integers(0, 4, n)
    lo = np.maximum(1, np.minimum(o, c) - r.integers(0, 4, n))
    vol = r.integers(0, 300_000, n)  # 1e-5
    cnt = r.integers(0, 400, n)
    tb = (vol * r.random(n)).astype(np.int64)
    t0 = T0_MS

    def gen():
        for a, b in chunked(n):
            yield [
                f"{t0 + 1000 * i},{fixed(o[i], 2, 8)},{fixed(h[i], 2, 8)},{fixed(lo[i], 2, 8)},"
                f"{fixed(c[i], 2, 8)},{fixed(vol[i], 5, 8)},{t0 + 1000 * i + 999},"
                f"{fixed(vol[i] * c[i], 7, 8)},{cnt[i]},{fixed(tb[i], 5, 8)},{fixed(tb[i] * c[i], 7, 8)},0"
                for i in range(a, b)
            ]

    write_text(path, gen())


def binance_bookticker(path, n):
    """USD-M bookTicker: header `update_id,best_bid_price,best_bid_qty,best_ask_price,
    best_ask_qty,transaction_time,event_time`."""
    r = rng("binance-bookticker")
    bid = walk(r, n, 617_800, 1) * 10
    ask = bid + 10 * (1 + (r.random(n) < 0.1))
    bq = r.integers(1, 20_000, n)
    aq = r.integers(1, 20_000, n)
    tt = ms_clock(r, n, mean=6.0, repeat=0.5)
    et = tt + r.integers(0, 6, n)
    et = np.maximum.accumulate(et)
    uid = 4_874_373_545_826 + np.cumsum(r.integers(1, 40, n))

    def gen():
        for a, b in chunked(n):
            yield [
                f"{uid[i]},{fixed(bid[i], 2)},{fixed(bq[i], 3)},{fixed(ask[i], 2)},{fixed(aq[i], 3)},{tt[i]},{et[i]}"
                for i in range(a, b)
            ]

    write_text(path, gen(), "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time")


DEPTH_HEADER = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"


def binance_depth(snap_path, upd_path, n):
    """USD-M T_DEPTH pair: the `depth_snap` file (1,000 bid and 1,000 ask `snap` rows sharing one
    update id, `pu=-1`, as the sample) and the `depth_update` file (`set` messages of 1-20 levels
    sharing timestamp and update ids, each `pu` = the previous message's last_update_id)."""
    r = rng("binance-depth")
    mid = 617_800  # tenths
    u0 = 5_154_003_297_000
    ts0 = T0_MS
    rows = [f"BTCUSDT,{ts0},{u0},{u0},b,snap,{fixed((mid - k) * 10, 2)},{fixed(int(r.integers(1, 9000)), 3)},-1" for k in range(1, 1001)]
    rows += [f"BTCUSDT,{ts0},{u0},{u0},a,snap,{fixed((mid + k) * 10, 2)},{fixed(int(r.integers(1, 9000)), 3)},-1" for k in range(0, 1000)]
    write_text(snap_path, [rows], DEPTH_HEADER)
    n = max(n - 2000, 1)
    sizes = r.integers(1, 21, n // 10 + 10)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    m = len(sizes)
    ts = ms_clock(r, m, t0=ts0 + 5, mean=12.0, repeat=0.2)
    spans = r.integers(1, 30, m)
    last = u0 + 10 + np.cumsum(spans)
    first = last - spans + 1
    mids = walk(r, m, mid, 2)

    def gen():
        lines = []
        prev = u0
        for j in range(m):
            k = int(sizes[j])
            offs = r.integers(-40, 41, k)
            qs = r.integers(0, 9000, k)
            qs[r.random(k) < 0.25] = 0
            head = f"BTCUSDT,{ts[j]},{first[j]},{last[j]},"
            tail = f",{prev}"
            for o, q in zip(offs, qs):
                p = mids[j] + o
                side = "b" if o < 0 else "a"
                lines.append(f"{head}{side},set,{fixed(p * 10, 2)},{fixed(q, 3)}{tail}")
            prev = last[j]
            if len(lines) >= CHUNK:
                yield lines
                lines = []
        yield lines

    write_text(upd_path, gen(), DEPTH_HEADER)


# ---------------------------------------------------------------------------------------------
# Tardis.dev CSV (µs; exchange timestamp whole ms, local_timestamp real µs and never decreasing)
# ---------------------------------------------------------------------------------------------

def tardis_clock(r, n, mean=17.0, repeat=0.45):
    exch = ms_clock(r, n, mean=mean, repeat=repeat) * 1000
    local = np.maximum.accumulate(exch + r.integers(100_000, 400_000, n))
    return exch, local


def tardis_trades(path, n, gz=True):
    """`exchange,symbol,timestamp,local_timestamp,id,side,price,amount` (binance-futures)."""
    r = rng("tardis-trades")
    exch, local = tardis_clock(r, n)
    px = walk(r, n, 617_800, 2)  # tenths
    qty = np.maximum(1, np.floor(r.lognormal(1.2, 1.6, n))).astype(np.int64)
    side = r.random(n) < 0.5
    tid = 5_154_003_297

    def gen():
        for a, b in chunked(n):
            yield [
                f"binance-futures,BTCUSDT,{exch[i]},{local[i]},{tid + i},{'buy' if side[i] else 'sell'},"
                f"{short(px[i], 1)},{short(qty[i], 3)}"
                for i in range(a, b)
            ]

    write_text(path, gen(), "exchange,symbol,timestamp,local_timestamp,id,side,price,amount", gz)


def tardis_quotes(path, n):
    """`exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount`."""
    r = rng("tardis-quotes")
    exch, local = tardis_clock(r, n, mean=8.0, repeat=0.2)
    bid = walk(r, n, 617_800, 1)
    ask = bid + 1 + (r.random(n) < 0.1)
    bq = r.integers(1, 20_000, n)
    aq = r.integers(1, 20_000, n)

    def gen():
        for a, b in chunked(n):
            yield [
                f"binance-futures,BTCUSDT,{exch[i]},{local[i]},{short(aq[i], 3)},{short(ask[i], 1)},"
                f"{short(bid[i], 1)},{short(bq[i], 3)}"
                for i in range(a, b)
            ]

    write_text(path, gen(), "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount", True)


def tardis_l2(path, n):
    """incremental_book_L2: an opening snapshot run (1,000 levels a side, `is_snapshot=true`),
    then update messages of 1-20 levels sharing both timestamps; amount 0 removes a level."""
    r = rng("tardis-l2")
    mid = 617_800
    t = T0_MS * 1000
    lt = t + 180_123
    rows = [f"binance-futures,BTCUSDT,{t},{lt},true,ask,{short(mid + k, 1)},{short(int(r.integers(1, 9000)), 3)}" for k in range(1, 1001)]
    rows += [f"binance-futures,BTCUSDT,{t},{lt},true,bid,{short(mid - k, 1)},{short(int(r.integers(1, 9000)), 3)}" for k in range(0, 1000)]
    n = max(n - 2000, 1)
    sizes = r.integers(1, 21, n // 10 + 10)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    m = len(sizes)
    exch, local = tardis_clock(r, m, mean=12.0, repeat=0.2)
    exch += 5000
    local = np.maximum(local, lt + 1)
    mids = walk(r, m, mid, 2)

    def gen():
        lines = rows
        for j in range(m):
            k = int(sizes[j])
            offs = r.integers(-40, 41, k)
            qs = r.integers(0, 9000, k)
            qs[r.random(k) < 0.25] = 0
            head = f"binance-futures,BTCUSDT,{exch[j]},{local[j]},false,"
            for o, q in zip(offs, qs):
                lines.append(f"{head}{'bid' if o < 0 else 'ask'},{short(mids[j] + o, 1)},{short(q, 3)}")
            if len(lines) >= CHUNK:
                yield lines
                lines = []
        yield lines

    write_text(path, gen(), "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount", True)


def tardis_snapshot(path, n):
    """book_snapshot_25: 104 columns, `asks[i].price,asks[i].amount,bids[i].price,bids[i].amount`
    interleaved for i = 0..24; one whole top-25 book per row."""
    r = rng("tardis-snapshot")
    exch, local = tardis_clock(r, n, mean=100.0, repeat=0.0)
    mids = walk(r, n, 617_800, 2)
    header = "exchange,symbol,timestamp,local_timestamp," + ",".join(
        f"asks[{i}].price,asks[{i}].amount,bids[{i}].price,bids[{i}].amount" for i in range(25)
    )
    qs = [short(q, 3) for q in r.integers(1, 20_000, 4096)]
    px = {}

    def p(v):
        s = px.get(v)
        if s is None:
            s = px[v] = short(v, 1)
        return s

    def gen():
        for a, b in chunked(n):
            lines = []
            for i in range(a, b):
                m = int(mids[i])
                k = (i * 97) & 4095
                lv = []
                for j in range(25):
                    lv.append(f"{p(m + 1 + j)},{qs[(k + 2 * j) & 4095]},{p(m - j)},{qs[(k + 2 * j + 1) & 4095]}")
                lines.append(f"binance-futures,BTCUSDT,{exch[i]},{local[i]}," + ",".join(lv))
            yield lines

    write_text(path, gen(), header, True)


# ---------------------------------------------------------------------------------------------
# Binary formats, tiled from the real files
# ---------------------------------------------------------------------------------------------

def dbn_mbp1(path, n):
    """The real MBP-1 v1 file (2,288 80-byte records, ES), tiled with ts_event and ts_recv shifted
    by the file's span per copy; metadata kept; zstd as Databento ships it."""
    src = os.path.join(SHARED, "dbn", "glbx-esu4-20240701.mbp-1.v1.dbn.zst")
    raw = subprocess.run(["zstd", "-dc", src], check=True, capture_output=True).stdout
    mlen = int.from_bytes(raw[4:8], "little")
    head, body = raw[: 8 + mlen], raw[8 + mlen :]
    rec = np.frombuffer(body, dtype=np.uint8).reshape(-1, 80)
    assert (rec[:, 0] == 20).all(), "every record is 80 bytes"
    ts_event = rec[:, 8:16].copy().view("<u8")[:, 0]
    ts_recv = rec[:, 32:40].copy().view("<u8")[:, 0]
    span = int(ts_recv.max() - ts_recv.min()) + 1_000_000
    reps = -(-n // len(rec))
    tmp = path[: -len(".zst")] + ".part"
    with open(tmp, "wb") as f:
        f.write(head)
        for k in range(reps):
            out = rec.copy()
            out[:, 8:16] = (ts_event + np.uint64(k * span)).view(np.uint8).reshape(-1, 8)
            out[:, 32:40] = (ts_recv + np.uint64(k * span)).view(np.uint8).reshape(-1, 8)
            f.write(out.tobytes())
    subprocess.run(["zstd", "-q", "-f", "-3", "--rm", tmp, "-o", path], check=True)


def hftbacktest_npz(path, n):
    """The real hftbacktest 2.4.4 .npz (27,370 events), tiled with both clocks shifted by its span
    per copy, written with numpy.savez_compressed as hftbacktest does."""
    src = os.path.join(SHARED, "hftbacktest", "usdm_btcusdt_20240808.first5000.npz")
    d = np.load(src)["data"]
    lo = min(int(d["exch_ts"].min()), int(d["local_ts"].min()))
    hi = max(int(d["exch_ts"].max()), int(d["local_ts"].max()))
    span = hi - lo + 1_000_000
    reps = -(-n // len(d))
    out = np.tile(d, reps)
    shift = np.repeat(np.arange(reps, dtype=np.int64) * span, len(d))
    out["exch_ts"] += shift
    out["local_ts"] += shift
    np.savez_compressed(path[: -len(".npz")] + ".part", data=out)
    os.replace(path[: -len(".npz")] + ".part.npz", path)


def nautilus_parquet(path, n):
    """NautilusTrader's 64-bit QuoteTick sample (9,500 rows), tiled with ts_event/ts_init shifted;
    same schema and metadata, ZSTD, dictionary on the timestamps, 1,000 rows per group (its
    `rows_per_group`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = os.path.join(SHARED, "nautilus-parquet", "quotes_eurusd_64bit.parquet")
    t = pq.read_table(src)
    reps = -(-n // t.num_rows)
    ev = t.column("ts_event").to_numpy()
    init = t.column("ts_init").to_numpy()
    span = int(max(ev.max(), init.max()) - min(ev.min(), init.min())) + 1_000_000
    shift = np.repeat(np.arange(reps, dtype=np.uint64) * np.uint64(span), t.num_rows)
    cols = {}
    for name in t.column_names:
        c = t.column(name).combine_chunks()
        if name in ("ts_event", "ts_init"):
            cols[name] = pa.array(np.tile(c.to_numpy(), reps) + shift, type=c.type)
        else:
            w = c.type.byte_width
            buf = np.frombuffer(c.buffers()[1], dtype=np.uint8)[c.offset * w : (c.offset + len(c)) * w]
            data = np.tile(buf, reps)
            cols[name] = pa.Array.from_buffers(c.type, len(c) * reps, [None, pa.py_buffer(data.tobytes())])
    out = pa.table(cols, schema=t.schema)
    rpg = int(t.schema.metadata.get(b"rows_per_group", b"1000"))
    pq.write_table(out, path + ".part", row_group_size=rpg, compression="zstd",
                   use_dictionary=["ts_event", "ts_init"])
    os.replace(path + ".part", path)


# ---------------------------------------------------------------------------------------------
# FX ticks, Bybit, bar CSVs
# ---------------------------------------------------------------------------------------------

def histdata(path, n):
    """HistData ASCII ticks: no header, `YYYYMMDD HHMMSSmmm,bid,ask,0`, 6 decimals, EST clock."""
    r = rng("histdata")
    t0 = datetime(2020, 1, 1, 17, 0, 0)
    steps = np.floor(r.exponential(300.0, n)).astype(np.int64)
    ms = np.cumsum(steps)
    bid = walk(r, n, 112_120, 2)  # 1e-5
    ask = bid + r.integers(1, 60, n)

    def gen():
        for a, b in chunked(n):
            lines = []
            for i in range(a, b):
                t = t0 + timedelta(milliseconds=int(ms[i]))
                lines.append(f"{t:%Y%m%d %H%M%S}{t.microsecond // 1000:03d},{fixed(bid[i], 5, 6)},{fixed(ask[i], 5, 6)},0")
            yield lines

    write_text(path, gen())


def bybit_ob(path, n):
    """Bybit ob500 archive: one deflated `.data` member of JSON lines; a 500+500-level snapshot,
    then deltas every ~100 ms of about 60 levels (the sample's mean), `u` +1 per message."""
    r = rng("bybit-ob")
    mid = 19_533  # 1e-4, XRP
    ts = 1733011200691
    u = 20_254_869
    seq = 130_020_238_981
    member = os.path.basename(path)[: -len(".zip")]

    def lv(prices, sizes):
        return ",".join(f'["{fixed(p, 4)}","{s}"]' for p, s in zip(prices, sizes))

    tmp = path + ".part"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z, z.open(member, "w", force_zip64=True) as out:
        b = lv(range(mid - 1, mid - 501, -1), r.integers(1, 100_000, 500))
        a = lv(range(mid, mid + 500), r.integers(1, 100_000, 500))
        lines = [f'{{"topic":"orderbook.500.XRPUSDT","type":"snapshot","ts":{ts},"data":{{"s":"XRPUSDT","b":[{b}],"a":[{a}],"u":{u},"seq":{seq}}},"cts":{ts - 102}}}']
        for j in range(1, n):
            ts += int(r.integers(90, 110))
            u += 1
            seq += int(r.integers(100, 400))
            mid += int(r.integers(-2, 3))
            kb, ka = int(r.integers(5, 55)), int(r.integers(5, 55))
            bp = np.sort(mid - 1 - r.choice(500, kb, replace=False))[::-1]
            ap = np.sort(mid + r.choice(500, ka, replace=False))
            bs = r.integers(0, 100_000, kb)
            bs[r.random(kb) < 0.05] = 0
            as_ = r.integers(0, 100_000, ka)
            as_[r.random(ka) < 0.05] = 0
            lines.append(
                f'{{"topic":"orderbook.500.XRPUSDT","type":"delta","ts":{ts},"data":{{"s":"XRPUSDT","b":[{lv(bp, bs)}],'
                f'"a":[{lv(ap, as_)}],"u":{u},"seq":{seq}}},"cts":{ts - int(r.integers(1, 110))}}}'
            )
            if len(lines) >= 10_000:
                out.write(("\n".join(lines) + "\n").encode())
                lines = []
        if lines:
            out.write(("\n".join(lines) + "\n").encode())
    os.replace(tmp, path)


def bars(r, n, start, d):
    o = walk(r, n, start, 3 * 10 ** max(0, d - 2))
    c = np.maximum(1, o + r.integers(-3, 4, n) * 10 ** max(0, d - 2))
    h = np.maximum(o, c) + r.integers(0, 3, n) * 10 ** max(0, d - 2)
    lo = np.maximum(1, np.minimum(o, c) - r.integers(0, 3, n) * 10 ** max(0, d - 2))
    return o, h, lo, c


def btcsv(path, n):
    """backtrader intraday CSV as 2006-min-005.txt: `Date,Time,Open,High,Low,Close,Volume,
    OpenInterest`, 5-minute bars 09:05-17:30 (102 a weekday), 2 decimals, volume 0."""
    r = rng("btcsv")
    o, h, lo, c = bars(r, n, 357_873, 2)
    day = datetime(1990, 1, 1)

    def gen():
        i = 0
        nonlocal day
        while i < n:
            lines = []
            while i < n and len(lines) < CHUNK:
                if day.weekday() < 5:
                    ds = f"{day:%Y-%m-%d}"
                    for k in range(102):
                        if i >= n:
                            break
                        mins = 9 * 60 + 5 + 5 * k
                        lines.append(f"{ds},{mins // 60:02d}:{mins % 60:02d}:00,{fixed(o[i], 2)},{fixed(h[i], 2)},{fixed(lo[i], 2)},{fixed(c[i], 2)},0,0")
                        i += 1
                day += timedelta(days=1)
            yield lines

    write_text(path, gen(), "Date,Time,Open,High,Low,Close,Volume,OpenInterest")


def yahoo(path, n):
    """Yahoo daily CSV as orcl-1995-2014.txt: `Date,Open,High,Low,Close,Adj Close,Volume`, 6
    decimals, weekdays from 1971 (daily bars cannot go past 2262 in i64 nanoseconds)."""
    r = rng("yahoo")
    o, h, lo, c = bars(r, n, 8_295_000, 6)
    vol = r.integers(1_000_000, 60_000_000, n)
    day = datetime(1971, 1, 1)
    lines = []
    i = 0
    while i < n:
        if day.weekday() < 5:
            lines.append(f"{day:%Y-%m-%d},{fixed(o[i], 6)},{fixed(h[i], 6)},{fixed(lo[i], 6)},{fixed(c[i], 6)},{fixed(c[i], 6)},{vol[i]}")
            i += 1
        day += timedelta(days=1)
    write_text(path, [lines], "Date,Open,High,Low,Close,Adj Close,Volume")


GENERIC_SPEC = "dtformat=%Y%m%d %H%M%S,headers=false,separator=semicolon,openinterest=-1,timeframe=minutes"


def generic_csv(path, n):
    """HistData's 1-minute ASCII bars, a layout users feed to backtrader's GenericCSVData:
    `YYYYMMDD HHMMSS;open;high;low;close;volume`, no header, 6 decimals."""
    r = rng("generic-csv")
    o, h, lo, c = bars(r, n, 112_120, 5)
    t0 = datetime(2015, 1, 1, 17, 0)

    def gen():
        for a, b in chunked(n):
            lines = []
            for i in range(a, b):
                t = t0 + timedelta(minutes=i)
                lines.append(f"{t:%Y%m%d %H%M%S};{fixed(o[i], 5, 6)};{fixed(h[i], 5, 6)};{fixed(lo[i], 5, 6)};{fixed(c[i], 5, 6)};0")
            yield lines

    write_text(path, gen())


# ---------------------------------------------------------------------------------------------

def cases(n):
    """(case, --from, extra args, [(relative path, maker)], note). A maker of None means the file is
    made by the case's first maker (several files per case)."""
    nb = max(1, n // 5)
    return [
        ("btcsv", "btcsv", "", [("btcsv/es-5min.txt", lambda p: btcsv(p, nb))], "5-min bars (the sample is 2,142 rows)"),
        ("yahoo", "yahoo", "", [("yahoo/orcl-daily.csv", lambda p: yahoo(p, 75_000))], "daily bars 1971-2258; real files hold ~5k rows"),
        ("generic-csv", "generic-csv", f"--generic-csv={GENERIC_SPEC}", [("generic/DAT_ASCII_EURUSD_M1_2015.csv", lambda p: generic_csv(p, nb))], "HistData M1 layout"),
        ("binance-trades", "binance-trades", "", [("binance-um/BTCUSDT-trades-2024-08-08.csv", lambda p: binance_trades_um(p, n))], "USD-M, header"),
        ("binance-trades-spot", "binance-trades", "", [("binance-spot/BTCUSDT-trades-2024-08-08.csv", lambda p: binance_trades_spot(p, n))], "spot, no header"),
        ("binance-trades-spot-zip", "binance-trades", "", [("binance-spot/BTCUSDT-trades-2024-08-08.zip", None)], "same rows as zip + .CHECKSUM"),
        ("binance-aggtrades", "binance-aggtrades", "", [("binance-um/BTCUSDT-aggTrades-2024-08-08.csv", lambda p: binance_aggtrades(p, n))], "USD-M, header"),
        ("binance-klines", "binance-klines", "", [("binance-spot/BTCUSDT-1s-2024-08-08.csv", lambda p: binance_klines(p, max(1, 2 * n // 5)))], "spot 1s klines; a real day file is 86,400 rows"),
        ("binance-bookticker", "binance-bookticker", "", [("binance-um/BTCUSDT-bookTicker-2024-08-08.csv", lambda p: binance_bookticker(p, n))], "USD-M, header"),
        ("binance-depth", "binance-depth", "", [
            ("binance-um/BTCUSDT_T_DEPTH_2024-08-08_depth_snap.csv", None),
            ("binance-um/BTCUSDT_T_DEPTH_2024-08-08_depth_update.csv", None)], "snap + update files"),
        ("tardis-trades", "tardis-trades", "", [("tardis/binance-futures_trades_2024-08-08_BTCUSDT.csv.gz", lambda p: tardis_trades(p, n))], ".csv.gz as shipped"),
        ("tardis-trades-plain", "tardis-trades", "", [("tardis/binance-futures_trades_2024-08-08_BTCUSDT.csv", lambda p: tardis_trades(p, n, gz=False))], "same rows, gunzipped"),
        ("tardis-quotes", "tardis-quotes", "", [("tardis/binance-futures_quotes_2024-08-08_BTCUSDT.csv.gz", lambda p: tardis_quotes(p, n))], ".csv.gz"),
        ("tardis-l2", "tardis-l2", "", [("tardis/binance-futures_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz", lambda p: tardis_l2(p, n))], ".csv.gz"),
        ("tardis-snapshot", "tardis-snapshot", "", [("tardis/binance-futures_book_snapshot_25_2024-08-08_BTCUSDT.csv.gz", lambda p: tardis_snapshot(p, max(1, n // 16)))], ".csv.gz, 100 levels a row"),
        ("dbn", "dbn", "", [("dbn/glbx-esu4-mbp-1.v1.dbn.zst", lambda p: dbn_mbp1(p, n))], "MBP-1 v1 tiled from the sample, zstd"),
        ("hftbacktest-npz", "hftbacktest-npz", "", [("hftbacktest/btcusdt_20240808.npz", lambda p: hftbacktest_npz(p, n))], "tiled from the sample"),
        ("nautilus-parquet", "nautilus-parquet", "", [("nautilus/quotes_eurusd_64bit.parquet", lambda p: nautilus_parquet(p, n))], "tiled from the sample"),
        ("histdata", "histdata", "", [("histdata/DAT_ASCII_EURUSD_T_202001.csv", lambda p: histdata(p, n))], ""),
        ("bybit-ob", "bybit-ob", "", [("bybit/2024-12-01_XRPUSDT_ob500.data.zip", lambda p: bybit_ob(p, max(1, n // 25)))], "rows = messages (~60 levels each)"),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--only", default="")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    only = {s for s in a.only.split(",") if s}
    n = a.rows
    tag = os.path.join(a.outdir, f"rows-{n}")
    manifest = []
    for case, fmt, extra, files, note in cases(n):
        paths = [os.path.join(tag, rel) for rel, _ in files]
        manifest.append("|".join([case, fmt, extra, " ".join(paths), note]))
        if only and case not in only:
            continue
        if all(os.path.exists(p) for p in paths) and not a.force:
            continue
        for p in paths:
            os.makedirs(os.path.dirname(p), exist_ok=True)
        print(f"gen {case}: {' '.join(paths)}", file=sys.stderr, flush=True)
        if case == "binance-trades-spot-zip":
            src = os.path.join(tag, "binance-spot", "BTCUSDT-trades-2024-08-08.csv")
            if not os.path.exists(src):
                binance_trades_spot(src, n)
            zip_with_checksum(src, paths[0])
        elif case == "binance-depth":
            binance_depth(paths[0], paths[1], n)
        else:
            files[0][1](paths[0])
    with open(os.path.join(tag, "manifest.tsv"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print(os.path.join(tag, "manifest.tsv"))


if __name__ == "__main__":
    main()
