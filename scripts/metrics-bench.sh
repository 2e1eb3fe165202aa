#!/usr/bin/env bash
# What scraping /metrics costs the produce path: on one release broker (same run), produce
# throughput (`rill bench produce`) with nobody scraping vs with `GET /metrics` every
# second, runs alternating, plus an idle topic of --idle-partitions partitions so every
# scrape renders that many partitions' gauges. Prints each run, the medians and the
# ratio with/without (issue 13's target: >= 0.98), and the scrapes' durations.
#
#   scripts/metrics-bench.sh [--runs N] [--secs S] [--idle-partitions P]
#
# Environment: RILL_BIN (default target/release/rill, built if absent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=3
SECS=10
IDLE=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --secs) SECS="$2"; shift 2 ;;
        --idle-partitions) IDLE="$2"; shift 2 ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
BIN="${RILL_BIN:-target/release/rill}"
if [ -z "${RILL_BIN:-}" ] && [ ! -x "$BIN" ]; then
    cargo build --release --quiet >&2
fi
command -v curl >/dev/null || { echo "metrics-bench: curl is needed" >&2; exit 1; }
say() { printf '[metrics-bench] %s\n' "$*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rill-metrics-bench.XXXXXX")"
BROKER_PID=""
SCRAPER_PID=""
cleanup() {
    [ -z "$SCRAPER_PID" ] || kill "$SCRAPER_PID" 2>/dev/null || true
    if [ -n "$BROKER_PID" ]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --log-level warn --ready-file "$WORK/ready" >/dev/null 2>"$WORK/rill.log" &
BROKER_PID=$!
for _ in $(seq 1 1000); do [ -s "$WORK/ready" ] && break; sleep 0.01; done
ADDR="$(head -n1 "$WORK/ready")"
HTTP="$(grep '^http://' "$WORK/ready" | tail -n1)"
[ -n "$ADDR" ] && [ -n "$HTTP" ] || { echo "broker did not start:" >&2; cat "$WORK/rill.log" >&2; exit 1; }
say "broker $ADDR, metrics $HTTP/metrics"

if [ "$IDLE" -gt 0 ]; then
    say "creating an idle topic of $IDLE partitions"
    "$BIN" topic create -b "$ADDR" -p "$IDLE" metrics-bench-idle >/dev/null
fi
# The measured topic, created once (4 partitions, 2 connections, 2 requests in flight).
PRODUCE=("$BIN" bench produce -b "$ADDR" -t metrics-bench -p 4 -c 2 --depth 2 --json)
"${PRODUCE[@]}" --duration 2s >/dev/null

scraper() {
    while :; do
        curl -s -o /dev/null -w '%{time_total}\n' "$HTTP/metrics" >>"$WORK/scrapes" || true
        sleep 1
    done
}

rate() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["records_per_s"]))'; }

OFF=()
ON=()
for i in $(seq 1 "$RUNS"); do
    r="$("${PRODUCE[@]}" --duration "${SECS}s" | rate)"
    OFF+=("$r")
    say "run $i without scraping: $r records/s"
    scraper &
    SCRAPER_PID=$!
    r="$("${PRODUCE[@]}" --duration "${SECS}s" | rate)"
    kill "$SCRAPER_PID" 2>/dev/null || true
    wait "$SCRAPER_PID" 2>/dev/null || true
    SCRAPER_PID=""
    ON+=("$r")
    say "run $i scraped every second: $r records/s"
done

BYTES="$(curl -s "$HTTP/metrics" | wc -c)"
python3 - "$BYTES" "$IDLE" "$WORK/scrapes" "${OFF[*]}" "${ON[*]}" <<'EOF'
import statistics, sys
size, idle, scrapes, off, on = sys.argv[1:6]
off = [float(x) for x in off.split()]
on = [float(x) for x in on.split()]
times = [float(x) * 1000 for x in open(scrapes).read().split()]
m_off, m_on = statistics.median(off), statistics.median(on)
print(f"produce records/s without scraping: {' '.join(f'{x:.0f}' for x in off)} (median {m_off:.0f})")
print(f"produce records/s scraped every 1 s: {' '.join(f'{x:.0f}' for x in on)} (median {m_on:.0f})")
print(f"ratio with/without: {m_on / m_off:.3f} (target >= 0.98)")
print(f"scrapes: {len(times)}, median {statistics.median(times):.1f} ms, max {max(times):.1f} ms, "
      f"{int(size) / 1e6:.2f} MB each with {idle} idle partitions")
EOF
