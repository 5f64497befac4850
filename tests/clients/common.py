"""Shared helpers of the client scripts: where the simulator is, the keys, and loud checks.

Every script runs one real client against `kestrel sim binance` (SIM_PORT) and exits non-zero on the
first mismatch. Library warnings and errors (the SDK logs a payload it cannot parse into its strict
models) are failures too.
"""

import logging
import os
import sys
import time

PORT = int(os.environ["SIM_PORT"])
HTTP = f"http://127.0.0.1:{PORT}"
WS = f"ws://127.0.0.1:{PORT}"
KEY = os.environ["BINANCE_API_KEY"]
SECRET = os.environ["BINANCE_API_SECRET"]

_logged = []


# Benign notices a client logs at WARNING on a normal close.
_BENIGN = ("CLOSE frame received",)


class _Recorder(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        if not any(b in msg for b in _BENIGN):
            _logged.append(f"{record.name}: {msg}")


logging.getLogger().addHandler(_Recorder(level=logging.WARNING))
logging.getLogger().setLevel(logging.WARNING)

_passed = []


def check(cond, what, detail=None):
    """Fails the script at once when `cond` is false."""
    if not cond:
        print(f"FAIL {what}" + (f": {detail!r}" if detail is not None else ""), flush=True)
        sys.exit(1)
    _passed.append(what)
    print(f"ok   {what}", flush=True)


def is_dec(v):
    """A Binance decimal: a JSON string with 8 places."""
    return isinstance(v, str) and "." in v and len(v.split(".")[1]) == 8


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def wait_for(pred, what, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            check(True, what)
            return
        time.sleep(0.05)
    check(False, what, "timed out")


def done(name):
    """Ends the script: no library warnings allowed."""
    check(not _logged, f"{name}: no library warnings or errors", _logged[:5])
    print(f"PASS {name}: {len(_passed)} checks", flush=True)
