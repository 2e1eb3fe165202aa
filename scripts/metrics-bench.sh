#!/usr/bin/env bash
# What scraping /metrics costs the produce path: on one release broker (same run), produce
# throughput (`rill bench produce`) with nobody scraping vs with `GET /metrics` every
# second, runs alternating, plus an idle topic of --idle-partitions partitions so every
# scrape renders that many partitions' gauges. Prints each run, the medians and the
# ratio with/without (issue 13's target: >= 0.98), the broker's CPU time per million
# records both ways (steadier than throughput on a shared machine), and the scrapes'
# durations.
#
#   scripts/metrics-bench.sh [--runs PAIRS] [--secs S] [--idle-partitions P]
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
    if [ -s "$WORK/rill.log" ]; then tail -n 5 "$WORK/rill.log" >&2; fi
    [ -z "$SCRAPER_PID" ] || kill "$SCRAPER_PID" 2>/dev/null || true
    if [ -n "$BROKER_PID" ]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Retention checked every second: the measured topic keeps ~1.3 GB at most (the runs
# write several GB each, which would fill the disk otherwise).
"$BIN" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --log-retention-check-interval-ms 1000 --log-level warn --ready-file "$WORK/ready" >/dev/null 2>"$WORK/rill.log" &
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
# The measured topic, created once (4 partitions, 2 connections, 2 requests in flight,
# at most 256 MiB + a 64 MiB segment kept per partition), and a warm-up run.
PRODUCE=("$BIN" bench produce -b "$ADDR" -t metrics-bench -p 4 -c 2 --depth 2 --json
    --topic-config retention.bytes=268435456 --topic-config segment.bytes=67108864)
sync
"${PRODUCE[@]}" --duration 5s >/dev/null

scraper() {
    while :; do
        curl -s -o /dev/null -w '%{time_total}\n' "$HTTP/metrics" >>"$WORK/scrapes" || true
        sleep 1
    done
}

# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
TCK="$(getconf CLK_TCK)"
# One produce run: "records/s broker-CPU-ms-per-million-records".
run() {
    local t0 t1
    t0="$(proc_cpu_ticks "$BROKER_PID")"
    "${PRODUCE[@]}" --duration "${SECS}s" >"$WORK/run.json"
    t1="$(proc_cpu_ticks "$BROKER_PID")"
    python3 - "$WORK/run.json" "$((t1 - t0))" "$TCK" <<'EOF2'
import json, sys
r = json.load(open(sys.argv[1]))
cpu_ms = int(sys.argv[2]) * 1000 / int(sys.argv[3])
print(round(r["records_per_s"]), round(cpu_ms / (r["records"] / 1e6), 1))
EOF2
}

OFF=()
ON=()
OFF_CPU=()
ON_CPU=()
run_off() {
    read -r r c < <(run)
    OFF+=("$r")
    OFF_CPU+=("$c")
    say "pair $i without scraping: $r records/s, broker $c CPU-ms per million records"
}
run_on() {
    scraper &
    SCRAPER_PID=$!
    read -r r c < <(run)
    kill "$SCRAPER_PID" 2>/dev/null || true
    wait "$SCRAPER_PID" 2>/dev/null || true
    SCRAPER_PID=""
    ON+=("$r")
    ON_CPU+=("$c")
    say "pair $i scraped every second: $r records/s, broker $c CPU-ms per million records"
}
# Pairs in ABBA order, so a drift over the run (page cache, other load) favours neither.
for i in $(seq 1 "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then run_off; run_on; else run_on; run_off; fi
done

BYTES="$(curl -s "$HTTP/metrics" | wc -c)"
python3 - "$BYTES" "$IDLE" "$WORK/scrapes" "${OFF[*]}" "${ON[*]}" "${OFF_CPU[*]}" "${ON_CPU[*]}" <<'EOF'
import statistics, sys
size, idle, scrapes, off, on, off_cpu, on_cpu = sys.argv[1:8]
off = [float(x) for x in off.split()]
on = [float(x) for x in on.split()]
off_cpu = [float(x) for x in off_cpu.split()]
on_cpu = [float(x) for x in on_cpu.split()]
times = [float(x) * 1000 for x in open(scrapes).read().split()]
m_off, m_on = statistics.median(off), statistics.median(on)
print(f"produce records/s without scraping: {' '.join(f'{x:.0f}' for x in off)} (median {m_off:.0f})")
print(f"produce records/s scraped every 1 s: {' '.join(f'{x:.0f}' for x in on)} (median {m_on:.0f})")
pairs = sorted(b / a for a, b in zip(off, on))
print(f"ratio with/without: {m_on / m_off:.3f} of the medians, {statistics.median(pairs):.3f} "
      f"median of the {len(pairs)} pairs' ratios (target >= 0.98)")
c_off, c_on = statistics.median(off_cpu), statistics.median(on_cpu)
print(f"broker CPU-ms per million records: without {c_off:.0f}, scraped {c_on:.0f} "
      f"(efficiency ratio without/with {c_off / c_on:.3f})")
print(f"scrapes: {len(times)}, median {statistics.median(times):.1f} ms, max {max(times):.1f} ms, "
      f"{int(size) / 1e6:.2f} MB each with {idle} idle partitions")
EOF
