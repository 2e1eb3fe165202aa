#!/usr/bin/env bash
# Produce throughput by producer mode, as a Markdown section for benches/RESULTS.md:
#   1. plain vs idempotent produce with acks=all, measured with librdkafka's own
#      rdkafka_performance (scripts/rdkafka-perf.sh), runs alternating so both see the
#      same machine; the ratio of the medians is the figure;
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

# "% 400000 messages (409600000 bytes) produced in 812ms: 492610 msgs/s and 504.43 MB/s"
mbps() { sed -nE 's/.* ([0-9.]+) MB\/s.*/\1/p' | tail -n1; }
PLAIN=()
IDEM=()
for i in $(seq 1 "$RUNS"); do
    say "run $i/$RUNS: plain acks=all"
    PLAIN+=("$(scripts/rdkafka-perf.sh --acks -1 --count "$COUNT" --produce-only 2>/dev/null | mbps)")
    say "run $i/$RUNS: idempotent acks=all"
    IDEM+=("$(RDKAFKA_PERF_ARGS="-X enable.idempotence=true" scripts/rdkafka-perf.sh --acks -1 --count "$COUNT" --produce-only 2>/dev/null | mbps)")
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rill-producer-modes.XXXXXX")"
BROKER_PID=""
cleanup() {
    [ -z "$BROKER_PID" ] || { kill -TERM "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --log-level warn \
    --ready-file "$WORK/ready" 2>"$WORK/rill.log" &
BROKER_PID=$!
for _ in $(seq 1 500); do [ -s "$WORK/ready" ] && break; sleep 0.01; done
ADDR="$(head -n1 "$WORK/ready")"
TXN=()
for spec in "classic 1 1" "classic 4 4" "v2 4 4"; do
    read -r mode c p <<<"$spec"
    flag=()
    [ "$mode" = v2 ] && flag=(--v2)
    say "rill bench txn $mode, $c producers, $p partitions"
    TXN+=("$mode|$c|$p|$("$BIN" bench txn -b "$ADDR" -t "txn-$mode-$c" -c "$c" -p "$p" --duration "${TXN_SECS}s" --json "${flag[@]}")")
done

python3 - "$RUNS" "$COUNT" "$TXN_SECS" "${PLAIN[*]}" "${IDEM[*]}" "${TXN[@]}" <<'PY'
import json, statistics, sys
runs, count, secs, plain, idem = sys.argv[1:6]
plain = [float(x) for x in plain.split()]
idem = [float(x) for x in idem.split()]
mp, mi = statistics.median(plain), statistics.median(idem)
print(f"## Producer modes (`scripts/producer-modes.sh --runs {runs} --count {count}`)\n")
print(f"Plain and idempotent produce with librdkafka's `rdkafka_performance`, acks=all, {count} records of 1 KiB, "
      "batch.size=65536, linger.ms=5, one partition, `--fsync interval:1000`; the two alternate, "
      f"{runs} runs each (MB are 10^6 bytes):\n")
print("| mode | runs (MB/s) | median |")
print("|---|---|---|")
print(f"| plain (`enable.idempotence=false`) | {', '.join(f'{x:.0f}' for x in plain)} | {mp:.0f} |")
print(f"| idempotent (`enable.idempotence=true`) | {', '.join(f'{x:.0f}' for x in idem)} | {mi:.0f} |")
print(f"\nIdempotent / plain: **{mi / mp:.2f}** (target ≥ 0.90).\n")
print(f"Transactions with `rill bench txn` ({secs} s each, 10 records of 100 B per transaction, one "
      "batch; each transaction is AddPartitionsToTxn + Produce + EndTxn on the classic path, "
      "Produce v12 + EndTxn v5 under Transactions V2; default fsync policy):\n")
print("| path | producers | partitions | transactions/s | records/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|")
for t in sys.argv[6:]:
    mode, c, p, js = t.split("|", 3)
    d = json.loads(js)
    print(f"| {mode} | {c} | {p} | {d['transactions_per_s']:.0f} | {d['records_per_s']:.0f} | "
          f"{d['latency_p50_us']/1000:.2f} | {d['latency_p99_us']/1000:.2f} |")
PY
