#!/usr/bin/env python3
"""Kestrel against hftbacktest's own converter on the same Binance USD-M (or Tardis) trades, same run.

hftbacktest (`pip install hftbacktest`; 2.4.4 measured) converts Binance historical market data with
`hftbacktest.data.utils.binancehistmktdata.convert(depth_filename, trades_filename,
output_filename=None, ...)`: it needs a T_DEPTH depth file next to the trades, reads both with
`csv.reader` into one event array, corrects the latency and the event order (numba), and returns
the array, or also writes it with `numpy.savez_compressed` when `output_filename` is given. Each
round here times, in this order, on the same input (the trades file plus the depth file):

  kestrel  `kestrel convert DEPTH TRADES -o OUT.kt` in a fresh process: read, parse, write the
           tick file, fsync (formats detected from the names: the depth file first, it is older);
  memory   hftbacktest's convert without output_filename: the array is built, nothing is written;
  file     hftbacktest's convert with output_filename=OUT.npz, then an fsync of the .npz so that
           both sides end with a durable file.

hftbacktest runs in this process after one untimed warm-up call on the first 1,000 rows (numba
compiles its functions on first use, without a cache): its import and JIT time are not counted.
Rates are input rows (trades + depth rows) per wall-clock second; the ratios are Kestrel's rate
over hftbacktest's in the same round, under the same load (printed).

    python3 bench/convert/hftbacktest_peer.py TRADES.csv --kestrel target/release/kestrel \
        [--depth DEPTH.csv] [--runs 3] [--out DIR]

TRADES.csv: gen.py's `binance-um/BTCUSDT-trades-2024-08-08.csv` (run.sh makes it). DEPTH.csv
defaults to the real 100-row T_DEPTH sample in ../shared/data/binance/futures-um-tdepth/.

With --tardis, TRADES is a Tardis trades file (gen.py's `tardis/binance-futures_trades_...csv.gz`)
and the peer is `hftbacktest.data.utils.tardis.convert([TRADES])` (read with polars, which uses
every core; no depth file), against `kestrel convert --from tardis-trades TRADES`.
"""

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEPTH = os.path.normpath(os.path.join(
    HERE, "..", "..", "..", "shared", "data", "binance", "futures-um-tdepth",
    "BTCUSDT_T_DEPTH_2022-11-01_depth_snap.first100.csv"))


def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def lines(path):
    import gzip

    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trades")
    ap.add_argument("--depth", default=DEPTH)
    ap.add_argument("--kestrel", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tardis", action="store_true", help="TRADES is a Tardis trades CSV (.gz)")
    ap.add_argument("--out", default=None, help="folder for the outputs (default: beside TRADES)")
    a = ap.parse_args()

    import gzip

    import hftbacktest
    from hftbacktest.data.utils import binancehistmktdata as bh
    from hftbacktest.data.utils import tardis as td

    opener = gzip.open if a.trades.endswith(".gz") else open
    if a.tardis:
        inputs = [a.trades]
        hbt = lambda trades, **kw: td.convert([trades], **kw)
    else:
        inputs = [a.depth, a.trades]
        hbt = lambda trades, **kw: bh.convert(a.depth, trades, **kw)

    out = a.out or os.path.dirname(os.path.abspath(a.trades))
    kt, npz = os.path.join(out, "peer-kestrel.kt"), os.path.join(out, "peer-hftbacktest.npz")
    # Header lines are not rows (both files have one).
    rows = sum(lines(p) - 1 for p in inputs)
    quiet = contextlib.redirect_stdout(io.StringIO())

    with tempfile.TemporaryDirectory() as tmp:  # JIT warm-up, untimed
        small = os.path.join(tmp, "BTCUSDT-trades-warmup.csv")
        with opener(a.trades, "rt") as src, open(small, "w") as dst:
            for _, line in zip(range(1001), src):
                dst.write(line)
        with quiet:
            hbt(small)

    def fresh(path):  # each run writes a new file, as a conversion does (untimed)
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)

    def kestrel():
        fresh(kt)
        t = time.perf_counter()
        fmt = ["--from", "tardis-trades"] if a.tardis else []
        subprocess.run([a.kestrel, "convert", *fmt, *inputs, "-o", kt], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t

    def memory():
        t = time.perf_counter()
        with quiet:
            data = hbt(a.trades)
        dt = time.perf_counter() - t
        assert len(data) >= rows, (len(data), rows)
        return dt

    def to_file():
        fresh(npz)
        t = time.perf_counter()
        with quiet:
            hbt(a.trades, output_filename=npz)
        fd = os.open(npz, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        return time.perf_counter() - t

    print(f"# hftbacktest {getattr(hftbacktest, '__version__', '?')} "
          f"{'tardis' if a.tardis else 'binancehistmktdata'}.convert, {rows:,} rows: "
          + " + ".join(f"{os.path.basename(p)} ({os.path.getsize(p) / 1e6:.0f} MB)" for p in inputs))
    print(f"{'round':>5} {'load':>5} {'kestrel s':>10} {'memory s':>9} {'file s':>8} "
          f"{'kestrel r/s':>12} {'memory r/s':>11} {'file r/s':>10} {'x memory':>9} {'x file':>7}")
    res = []
    for k in range(a.runs):
        l0 = load()
        tk, tm, tf = kestrel(), memory(), to_file()
        res.append((tk, tm, tf))
        print(f"{k + 1:>5} {l0:>5} {tk:>10.3f} {tm:>9.3f} {tf:>8.3f} {rows / tk / 1e6:>11.2f}M "
              f"{rows / tm / 1e6:>10.3f}M {rows / tf / 1e6:>9.3f}M {tm / tk:>8.1f}x {tf / tk:>6.1f}x", flush=True)
    rng = lambda xs: f"{min(xs):.2f}-{max(xs):.2f}"
    print(f"range: kestrel {rng([rows / r[0] / 1e6 for r in res])}M rows/s, hftbacktest memory "
          f"{rng([rows / r[1] / 1e6 for r in res])}M, file {rng([rows / r[2] / 1e6 for r in res])}M; "
          f"same-round ratio memory {rng([r[1] / r[0] for r in res])}x, file {rng([r[2] / r[0] for r in res])}x; "
          f"load now {load()}")
    for p in (kt, npz):
        with contextlib.suppress(FileNotFoundError):
            os.remove(p)


if __name__ == "__main__":
    sys.exit(main())
