#!/usr/bin/env bash
# Produce throughput by producer mode, as a Markdown section for benches/RESULTS.md:
#   1. plain vs idempotent produce with acks=all, with `rill bench produce [--idempotent]`
#      (the same pipelining either way, so the broker's cost shows) and with librdkafka's
#      own rdkafka_performance (scripts/rdkafka-perf.sh; its idempotent producer paces
#      itself differently); runs alternate, each on a fresh broker, so both see the same
#      machine; the ratio of the medians is the figure;
#   2. transactions/s with `rill bench txn` (classic path and Transactions V2).
#
#   scripts/producer-modes.sh [--runs N] [--count N] [--txn-secs S]
#
# Environment: RILL_BIN (default target/release/rill, built if absent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=3
COUNT=400000
TXN_SECS=10
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --count) COUNT="$2"; shift 2 ;;
        --txn-secs) TXN_SECS="$2"; shift 2 ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
BIN="${RILL_BIN:-target/release/rill}"
if [ -z "${RILL_BIN:-}" ] && [ ! -x "$BIN" ]; then
    cargo build --release --quiet >&2
fi
export RILL_BIN="$BIN"
say() { printf '[producer-modes] %s\n' "$*" >&2; }

# Starts a broker on a fresh data dir; sets BROKER_PID, BROKER_DIR, ADDR.
BROKER_PID=""
BROKER_DIR=""
start_broker() {
    BROKER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rill-producer-modes.XXXXXX")"
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$BROKER_DIR/data" --log-level warn \
        --ready-file "$BROKER_DIR/ready" 2>"$BROKER_DIR/rill.log" &
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

bench_once() {
    start_broker
    "$BIN" bench produce -b "$ADDR" --acks -1 --depth 4 --duration 5s --json "$@" |
        python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mib_per_s"], 1))'
    stop_broker
}
# "% 400000 messages ... in 812ms: 492610 msgs/s and 504.43 MB/s, ..."
mbps() { sed -nE 's/.* ([0-9.]+) MB\/s.*/\1/p' | tail -n1; }

RPLAIN=()
RIDEM=()
PLAIN=()
IDEM=()
for i in $(seq 1 "$RUNS"); do
    say "run $i/$RUNS: rill bench produce, plain then --idempotent"
    RPLAIN+=("$(bench_once)")
    RIDEM+=("$(bench_once --idempotent)")
    say "run $i/$RUNS: rdkafka_performance, plain then idempotent"
    PLAIN+=("$(scripts/rdkafka-perf.sh --acks -1 --batch-size 65536 --count "$COUNT" --produce-only 2>/dev/null | mbps)")
    IDEM+=("$(RDKAFKA_PERF_ARGS="-X enable.idempotence=true" scripts/rdkafka-perf.sh --acks -1 --batch-size 65536 --count "$COUNT" --produce-only 2>/dev/null | mbps)")
done

# Produce round trip (librdkafka's own measure) in each mode: p50 in ms.
rtt_p50() {
    RDKAFKA_PERF_ARGS="$* -X debug=protocol" scripts/rdkafka-perf.sh --acks -1 --batch-size 65536 --count 100000 --produce-only 2>&1 |
        sed -nE 's/.*ProduceResponse.* rtt ([0-9.]+)ms.*/\1/p' | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "?" }'
}
say "Produce round trips, plain and idempotent (librdkafka debug=protocol)"
RTT_PLAIN="$(rtt_p50)"
RTT_IDEM="$(rtt_p50 -X enable.idempotence=true)"

start_broker
TXN=()
for spec in "classic 1 1" "classic 4 4" "v2 4 4"; do
    read -r mode c p <<<"$spec"
    flag=()
    [ "$mode" = v2 ] && flag=(--v2)
    say "rill bench txn $mode, $c producers, $p partitions"
    TXN+=("$mode|$c|$p|$("$BIN" bench txn -b "$ADDR" -t "txn-$mode-$c" -c "$c" -p "$p" --duration "${TXN_SECS}s" --json "${flag[@]}")")
done
stop_broker

python3 - "$RUNS" "$COUNT" "$TXN_SECS" "$RTT_PLAIN" "$RTT_IDEM" "${RPLAIN[*]}" "${RIDEM[*]}" "${PLAIN[*]}" "${IDEM[*]}" "${TXN[@]}" <<'PY'
import json, statistics, sys
runs, count, secs, rtt_plain, rtt_idem = sys.argv[1:6]
rplain, ridem, plain, idem = ([float(x) for x in a.split()] for a in sys.argv[6:10])
med = statistics.median
fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs)
print(f"## Producer modes (`scripts/producer-modes.sh --runs {runs} --count {count}`)\n")
print("Plain and idempotent produce with `rill bench produce --acks -1 --depth 4 --duration 5s "
      "[--idempotent]` (1 KiB records, 64 per batch, one partition; idempotent: a producer id "
      "from InitProducerId, every batch with its sequence number and a fresh CRC), each run on "
      f"a fresh broker, the modes alternating, {runs} runs each:\n")
print("| mode | runs (MiB/s) | median |")
print("|---|---|---|")
print(f"| plain | {fmt(rplain)} | {med(rplain):.0f} |")
print(f"| idempotent | {fmt(ridem)} | {med(ridem):.0f} |")
print(f"\nIdempotent / plain with the same pipelining: **{med(ridem) / med(rplain):.2f}** "
      "(target ≥ 0.90).\n")
print(f"The same with librdkafka's `rdkafka_performance`, acks=all, {count} records of 1 KiB, "
      "batch.size=65536, linger.ms=5, one partition (MB are 10^6 bytes):\n")
print("| mode | runs (MB/s) | median |")
print("|---|---|---|")
print(f"| plain (`enable.idempotence=false`) | {fmt(plain)} | {med(plain):.0f} |")
print(f"| idempotent (`enable.idempotence=true`) | {fmt(idem)} | {med(idem):.0f} |")
ratio = med(idem) / med(plain)
note = (f"librdkafka's own Produce round trip (`-X debug=protocol`, 100000 records) has p50 "
        f"{rtt_idem} ms idempotent vs {rtt_plain} ms plain in this run")
try:
    faster = float(rtt_idem) <= float(rtt_plain)
except ValueError:
    faster = None
if faster:
    note += (": the broker answers the idempotent requests no slower, so the gap is the "
             "client's pacing (librdkafka's idempotent producer keeps fewer batches in flight), "
             "not the broker's work.")
elif faster is False:
    note += "."
print(f"\nIdempotent / plain with librdkafka: **{ratio:.2f}**. {note}\n")
print(f"Transactions with `rill bench txn` ({secs} s each, 10 records of 100 B per transaction, "
      "one batch; each transaction is AddPartitionsToTxn + Produce + EndTxn on the classic path, "
      "Produce v12 + EndTxn v5 under Transactions V2; default fsync policy):\n")
print("| path | producers | partitions | transactions/s | records/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|")
for t in sys.argv[10:]:
    mode, c, p, js = t.split("|", 3)
    d = json.loads(js)
    print(f"| {mode} | {c} | {p} | {d['transactions_per_s']:.0f} | {d['records_per_s']:.0f} | "
          f"{d['latency_p50_us'] / 1000:.2f} | {d['latency_p99_us'] / 1000:.2f} |")
PY
