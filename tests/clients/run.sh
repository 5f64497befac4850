#!/usr/bin/env bash
# Runs the real Binance clients against `kestrel sim binance` on loopback and fails loudly on any
# mismatch. The venv lives in a cache dir; the pinned clients are installed from PyPI only when
# missing. Nothing else leaves the machine: every client talks to 127.0.0.1.
#
#   tests/clients/run.sh            # all three clients
#   KESTREL=path/to/kestrel tests/clients/run.sh   # an already built binary
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kestrel/sim-clients"
venv="$cache/venv"
pins=(binance-sdk-spot==13.3.0 binance-connector==3.13.0 ccxt==4.5.90)
per_script_timeout="${SIM_CLIENT_TIMEOUT:-90}"

mkdir -p "$cache"
if [[ ! -x "$venv/bin/python" ]]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian splits venv out of python3: install it where we can (root with apt), then retry.
        rm -rf "$venv"
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
            export DEBIAN_FRONTEND=noninteractive
            pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt-get install -y -qq "python$pyver-venv" >/dev/null 2>&1 ||
                { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "python$pyver-venv" >/dev/null 2>&1; } || true
        fi
        python3 -m venv "$venv"
    fi
fi
missing=()
for pin in "${pins[@]}"; do
    name="${pin%%==*}" want="${pin##*==}"
    have="$("$venv/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')"
    [[ "$have" == "$want" ]] || missing+=("$pin")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    "$venv/bin/python" -m pip install -q "${missing[@]}"
fi

if [[ -z "${KESTREL:-}" ]]; then
    (cd "$root" && cargo build -q -p kestrel)
    KESTREL="${CARGO_TARGET_DIR:-$root/target}/debug/kestrel"
fi

# Throwaway keys of this run only (the simulator reads them from the environment).
export BINANCE_API_KEY="sim-key-$$"
export BINANCE_API_SECRET="sim-secret-$RANDOM$RANDOM"

out="$(mktemp)"
"$KESTREL" sim binance --listen 127.0.0.1:0 >"$out" 2>"$out.err" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -f "$out" "$out.err"' EXIT
for _ in $(seq 1 100); do
    [[ -s "$out" ]] && break
    sleep 0.1
done
banner="$(head -n1 "$out")"
[[ -n "$banner" ]] || { echo "FAIL: the simulator printed no start line"; cat "$out.err"; exit 1; }
export SIM_PORT="$("$venv/bin/python" -c 'import json,sys; print(json.loads(sys.argv[1])["listening"].rsplit(":",1)[1])' "$banner")"
echo "simulator: $banner"

failed=()
for script in connector.py sdk_spot.py ccxt_binance.py; do
    echo "== $script"
    if ! (cd "$here" && timeout "$per_script_timeout" "$venv/bin/python" "$script"); then
        failed+=("$script")
    fi
done
if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all clients passed"
