#!/usr/bin/env bash
# The log lifecycle's costs, as a Markdown section for benches/RESULTS.md:
#   1. the log cleaner's throughput (`rill bench lifecycle`: MiB of log compacted per
#      second, uncompressed and lz4 batches) and a retention pass over 10k partitions;
#   2. produce throughput into a compacted topic with the cleaner running vs not
#      (`rill bench produce --keys`, acks=all), runs alternating, each on a fresh broker;
#      the cleaner's work during the "on" runs is read from the broker's log.
#
#   scripts/lifecycle-bench.sh [--runs N] [--secs S] [--clean-mib M]
#
# Environment: RILL_BIN (default target/release/rill, built if absent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=3
SECS=10
CLEAN_MIB=256
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --secs) SECS="$2"; shift 2 ;;
        --clean-mib) CLEAN_MIB="$2"; shift 2 ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
BIN="${RILL_BIN:-target/release/rill}"
if [ -z "${RILL_BIN:-}" ] && [ ! -x "$BIN" ]; then
    cargo build --release --quiet >&2
fi
say() { printf '[lifecycle-bench] %s\n' "$*" >&2; }

BROKER_PID=""
BROKER_DIR=""
start_broker() {
    BROKER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rill-lifecycle.XXXXXX")"
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$BROKER_DIR/data" --log-level info \
        --ready-file "$BROKER_DIR/ready" "$@" 2>"$BROKER_DIR/rill.log" &
    BROKER_PID=$!
    for _ in $(seq 1 500); do [ -s "$BROKER_DIR/ready" ] && break; sleep 0.01; done
    ADDR="$(head -n1 "$BROKER_DIR/ready")"
}
stop_broker() {
    if [ -n "$BROKER_PID" ]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    [ -z "$BROKER_DIR" ] || rm -rf "$BROKER_DIR"
    BROKER_PID=""
    BROKER_DIR=""
}
trap stop_broker EXIT

say "rill bench lifecycle: cleaner ($CLEAN_MIB MiB, none and lz4) and retention (10k partitions)"
LIFE_NONE="$("$BIN" bench lifecycle --clean-mib "$CLEAN_MIB" --json)"
LIFE_LZ4="$("$BIN" bench lifecycle --clean-mib "$CLEAN_MIB" --codec 3 --partitions 10 --json)"

# One produce run into a compacted topic; prints "MiB/s cleaned_MB".
produce_once() {
    local backoff="$1"
    start_broker --log-cleaner-backoff-ms "$backoff"
    local mibs
    mibs="$("$BIN" bench produce -b "$ADDR" -t compacted -p 4 -c 4 --keys 64 --acks -1 --depth 4 \
        --duration "${SECS}s" --json \
        --topic-config cleanup.policy=compact --topic-config segment.bytes=8388608 \
        --topic-config min.cleanable.dirty.ratio=0.5 |
        python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mib_per_s"], 1))')"
    local cleaned
    cleaned="$(sed -nE 's/.*compacted partition.* bytes_read=([0-9]+).*/\1/p' "$BROKER_DIR/rill.log" |
        awk '{ s += $1 } END { printf "%.0f", s / 1e6 }')"
    stop_broker
    echo "$mibs $cleaned"
}

ON=()
OFF=()
CLEANED=()
for i in $(seq 1 "$RUNS"); do
    say "run $i/$RUNS: produce to a compacted topic, cleaner on then off"
    read -r m c <<<"$(produce_once 100)"
    ON+=("$m")
    CLEANED+=("$c")
    read -r m _ <<<"$(produce_once 100000000)"
    OFF+=("$m")
done

python3 - "$RUNS" "$SECS" "$CLEAN_MIB" "$LIFE_NONE" "$LIFE_LZ4" "${ON[*]}" "${OFF[*]}" "${CLEANED[*]}" <<'PY'
import json, statistics, sys
runs, secs, mib, none, lz4, on, off, cleaned = sys.argv[1:9]
none, lz4 = json.loads(none), json.loads(lz4)
on, off, cleaned = ([float(x) for x in a.split()] for a in (on, off, cleaned))
med = statistics.median
fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs)
print(f"## Log lifecycle (`scripts/lifecycle-bench.sh --runs {runs} --secs {secs}`)\n")
print(f"The log cleaner, in-process (`rill bench lifecycle`): {mib} MiB of keyed records "
      f"(1 KiB values, 64 per batch, {none['cleaner']['keys']} distinct keys) written to one "
      "partition in 64 MiB segments, then compacted in one go (map build + rewrite + swap, "
      "fsyncs included):\n")
print("| batches | log MiB | cleaned in | MiB/s of log cleaned | records removed |")
print("|---|---|---|---|---|")
for name, r in (("uncompressed", none["cleaner"]), ("lz4", lz4["cleaner"])):
    print(f"| {name} | {r['log_mib']:.0f} | {r['clean_seconds']:.2f} s | "
          f"**{r['cleaned_mib_per_s']:.0f}** | {r['records_removed']} |")
ret = none["retention"]
print(f"\nA retention pass over {ret['partitions']} partitions (1000 topics of 10): "
      f"**{ret['idle_pass_ms']:.1f} ms** when nothing is due (the steady cost every "
      f"`--log-retention-check-interval-ms`); **{ret['deleting_pass_ms']:.0f} ms** for a pass "
      f"that rolls and deletes every partition's expired data ({ret['deleted_segments']} "
      "segments).\n")
print(f"Produce into a compacted topic while the cleaner works: `rill bench produce -p 4 -c 4 "
      f"--keys 64 --acks -1 --depth 4 --duration {secs}s` (1 KiB records, 64 per batch, every "
      "batch superseding the last; topic `segment.bytes=8388608`), each run on a fresh broker, "
      "cleaner on (`--log-cleaner-backoff-ms 100`) and off alternating:\n")
print("| cleaner | runs (MiB/s) | median | MB cleaned during the run |")
print("|---|---|---|---|")
print(f"| on | {fmt(on)} | {med(on):.0f} | {fmt(cleaned)} |")
print(f"| off | {fmt(off)} | {med(off):.0f} | 0 |")
print(f"\nProduce with the cleaner running / without: **{med(on) / med(off):.2f}** (target ≥ 0.90).\n")
PY
