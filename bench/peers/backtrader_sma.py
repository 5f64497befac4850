#!/usr/bin/env python3
"""backtrader running the same bar benchmark as `kestrel bench bars`, for a same-machine ratio.

Usage:
    kestrel bench bars --bars N --csv /tmp/bars.csv     # Kestrel's figure, and the bars it used
    python3 bench/peers/backtrader_sma.py /tmp/bars.csv  # backtrader on exactly those bars

The strategy is the same: SMA(10) / SMA(30) of closes, long only, market orders of one unit on a
cross up, close on a cross down, 0.1% commission, 100,000 cash, backtrader's default broker
(checksubmit on), event mode (`runonce=False`) as the conformance oracle runs it, no observers.
Prints one JSON line like Kestrel's: {"bars":N,"orders":K,"bars_per_sec":X}. Only `cerebro.run()`
is timed (loading the CSV into memory happens in it too, as backtrader preloads).
"""

import json
import sys
import time

import backtrader as bt


class SmaCross(bt.Strategy):
    params = (("fast", 10), ("slow", 30))

    def __init__(self):
        self.fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.cross = bt.indicators.CrossOver(self.fast, self.slow)
        self.orders = 0

    def next(self):
        if self.cross > 0 and self.position.size <= 0:
            self.buy(size=1)
            self.orders += 1
        elif self.cross < 0 and self.position.size > 0:
            self.close()
            self.orders += 1


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: backtrader_sma.py BARS.csv\n")
        return 2
    cerebro = bt.Cerebro(stdstats=False, runonce=False, preload=True)
    data = bt.feeds.BacktraderCSVData(dataname=argv[1], timeframe=bt.TimeFrame.Minutes)
    cerebro.adddata(data)
    cerebro.broker.setcash(100000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(SmaCross)
    start = time.perf_counter()
    strat = cerebro.run()[0]
    elapsed = time.perf_counter() - start
    bars = len(strat.data)
    print(json.dumps({"bars": bars, "orders": strat.orders, "bars_per_sec": round(bars / elapsed)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
