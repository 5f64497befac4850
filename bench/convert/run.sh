#!/usr/bin/env bash
# `kestrel convert` throughput, one line per `--from` format (figures in BENCHMARKS.md, "Conversion").
#
# What it measures: the wall time of `kestrel convert --from FMT INPUT... -o OUT.kt`, end to end in a
# fresh process: read and parse the input, spool, write the tick file, fsync, rename. One core (the
# converter is single-threaded). Inputs come from gen.py (seeded, vendor layouts; see its header) and
# sit in the page cache (the first, untimed run reads them once); the output goes to the same
# folder (or KESTREL_BENCH_OUT), on whatever disk holds it, as a new file (the previous run's output is
# removed, untimed, before each run). Rows are input rows as `kestrel convert` counts them (lines, or
# records/array rows for binary formats; messages for bybit-ob); records are tick-file records.
#
# Usage, from anywhere:
#   bench/convert/run.sh                 # every case, 5M-row inputs, 5 timed runs each
#   bench/convert/run.sh binance-trades,tardis-trades   # only these cases
# Environment: KESTREL_BENCH_DIR (inputs and outputs; default /tmp/kestrel-bench-convert),
#   KESTREL_BENCH_OUT (outputs; default $KESTREL_BENCH_DIR/out; /dev/shm for tmpfs),
#   KESTREL_BENCH_ROWS (default 5000000), RUNS (default 5), KESTREL (a kestrel binary: skips the
#   build), CARGO_TARGET_DIR (as cargo). Needs python3 with numpy and pyarrow; uses hyperfine when
#   present, else a timing loop. Inputs are kept between runs (about 3.3 GB at the default size).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${KESTREL_BENCH_DIR:-/tmp/kestrel-bench-convert}
rows=${KESTREL_BENCH_ROWS:-5000000}
runs=${RUNS:-5}
only=${1:-}

if [[ -z "${KESTREL:-}" ]]; then
    (cd "$root" && cargo build --release -p kestrel >&2)
    KESTREL=${CARGO_TARGET_DIR:-$root/target}/release/kestrel
fi

manifest=$(python3 "$here/gen.py" "$dir" --rows "$rows" ${only:+--only "$only"})
out=${KESTREL_BENCH_OUT:-$dir/out}
mkdir -p "$out"
load() { cut -d' ' -f1 /proc/loadavg; }

echo "# $(date -u +%FT%TZ) $(nproc) cpus; $("$KESTREL" --version 2>/dev/null || echo kestrel); runs=$runs"
printf '%-24s %-18s %8s %11s %11s %15s %17s %17s %s\n' case from "input MB" rows records "seconds" "rows/s" "records/s" "load before/after"
while IFS='|' read -r case from extra inputs note; do
    [[ -n "$only" && ",$only," != *",$case,"* ]] && continue
    # shellcheck disable=SC2206
    files=($inputs)
    cmd=("$KESTREL" convert --from "$from" ${extra:+"$extra"} "${files[@]}" -o "$out/$case.kt")
    mb=$(du -cm "${files[@]}" | tail -1 | cut -f1)
    l0=$(load)
    summary=$("${cmd[@]}")  # untimed: warms the page cache, gives the counts
    counts=$(sed -n 's/^converted \([0-9]*\) rows into \([0-9]*\) records.*/\1 \2/p' <<<"$summary")
    times=()
    if command -v hyperfine >/dev/null; then
        hyperfine -N --runs "$runs" --prepare "rm -f $out/$case.kt" --export-json "$out/$case.json" "$(printf '%q ' "${cmd[@]}")" >/dev/null 2>&1
        mapfile -t times < <(python3 -c 'import json,sys; [print(t) for t in json.load(open(sys.argv[1]))["results"][0]["times"]]' "$out/$case.json")
    else
        for _ in $(seq "$runs"); do
            rm -f "$out/$case.kt"
            t0=$(date +%s.%N); "${cmd[@]}" >/dev/null; t1=$(date +%s.%N)
            times+=("$(python3 -c "print($t1 - $t0)")")
        done
    fi
    # shellcheck disable=SC2086  # $counts is two words: rows and records
    python3 - "$case" "$from" "$mb" $counts "$l0" "$(load)" "$note" "${times[@]}" <<'EOF'
import sys
case, fmt, mb, rows, recs, l0, l1, note, *ts = sys.argv[1:]
ts = sorted(float(t) for t in ts)
rows, recs = int(rows), int(recs)
rate = lambda n, t: f"{n / t / 1e6:.2f}M"
print(f"{case:<24} {fmt:<18} {mb:>8} {rows:>11,} {recs:>11,} {ts[0]:>6.3f} - {ts[-1]:<6.3f} "
      f"{rate(rows, ts[-1]):>7} - {rate(rows, ts[0]):<7} {rate(recs, ts[-1]):>7} - {rate(recs, ts[0]):<7} "
      f"{l0}/{l1}  {note}")
EOF
    rm -f "$out/$case.kt"
done < "$manifest"
