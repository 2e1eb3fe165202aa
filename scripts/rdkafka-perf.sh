#!/usr/bin/env bash
# The `rill bench` produce/consume workload driven by a standard client tool instead:
# librdkafka's `rdkafka_performance` (from the librdkafka source bundled in the
# rdkafka-sys crate, fetched and built by compat/librdkafka/run.sh --build-only into
# ~/.cache/rill/librdkafka). Point --bootstrap at any Kafka-compatible broker to compare
# brokers on your own machine with the same client and the same workload:
# 1 KiB records, acks=1, batches of ~64 KiB (batch.size=65536, linger.ms=5).
#
#   scripts/rdkafka-perf.sh [--bootstrap HOST:PORT] [--topic T] [--partitions P]
#                           [--count N] [--size BYTES] [--acks A] [--fsync POLICY]
#                           [--produce-only]
#
#   --bootstrap  broker to test; default: start `rill serve` (release build) on a free
#                port with a temporary data dir, and stop it afterwards
#   --topic      default rdkafka-perf-<pid>; created with P partitions if absent
#                (CreateTopics via `rill bench idle`, which works against any broker)
#   --partitions default 1
#   --count      records to produce, then consume (default 1000000)
#   --size       record size in bytes (default 1024)
#   --acks       default 1
#   --fsync      rill's --fsync when this script starts it (default interval:1000)
#   --produce-only  skip the consume run
# Environment: RILL_BIN (default target/release/rill, built if absent),
#              RDKAFKA_PERF_ARGS (extra args for both runs, e.g. "-X debug=broker").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

BOOTSTRAP=""
TOPIC="rdkafka-perf-$$"
PARTITIONS=1
COUNT=1000000
SIZE=1024
ACKS=1
FSYNC="interval:1000"
PRODUCE_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bootstrap) BOOTSTRAP="$2"; shift 2 ;;
        --topic) TOPIC="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --count) COUNT="$2"; shift 2 ;;
        --size) SIZE="$2"; shift 2 ;;
        --acks) ACKS="$2"; shift 2 ;;
        --fsync) FSYNC="$2"; shift 2 ;;
        --produce-only) PRODUCE_ONLY=1; shift ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
read -r -a EXTRA <<<"${RDKAFKA_PERF_ARGS:-}"

say() { printf '[rdkafka-perf] %s\n' "$*" >&2; }

# librdkafka: fetched and built by the compat script (the library and its test runner),
# then the example tool on top.
SRC="${RILL_LIBRDKAFKA_CACHE:-$HOME/.cache/rill/librdkafka}/librdkafka-2.12.1"
PERF="$SRC/examples/rdkafka_performance"
if [ ! -x "$PERF" ]; then
    compat/librdkafka/run.sh --build-only >&2
    say "building rdkafka_performance"
    make -s -C "$SRC/examples" rdkafka_performance >&2
fi

BIN="${RILL_BIN:-$ROOT/target/release/rill}"
if [ -z "${RILL_BIN:-}" ] && [ ! -x "$BIN" ]; then
    say "building $BIN"
    cargo build --release --quiet >&2
fi

BROKER_PID=""
WORK=""
cleanup() {
    if [ -n "$BROKER_PID" ]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    [ -z "$WORK" ] || rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "$BOOTSTRAP" ]; then
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/rill-rdkafka-perf.XXXXXX")"
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --fsync "$FSYNC" \
        --log-level warn --ready-file "$WORK/ready" 2>"$WORK/rill.log" &
    BROKER_PID=$!
    for _ in $(seq 1 500); do
        [ -s "$WORK/ready" ] && break
        sleep 0.01
    done
    BOOTSTRAP="$(head -n1 "$WORK/ready")"
    [ -n "$BOOTSTRAP" ] || { cat "$WORK/rill.log" >&2; echo "rill did not start" >&2; exit 1; }
    say "started rill on $BOOTSTRAP (--fsync $FSYNC)"
fi

"$BIN" bench idle --bootstrap "$BOOTSTRAP" --topic "$TOPIC" --partitions "$PARTITIONS" >&2

say "produce: $COUNT records of $SIZE B, acks=$ACKS, batch.size=65536, linger.ms=5, $PARTITIONS partition(s)"
"$PERF" -P -t "$TOPIC" -b "$BOOTSTRAP" -s "$SIZE" -c "$COUNT" -a "$ACKS" \
    -X batch.size=65536 -X linger.ms=5 -X queue.buffering.max.kbytes=1048576 \
    -X queue.buffering.max.messages=1000000 "${EXTRA[@]}" 2> >(grep -v CONFWARN >&2) | grep -E '^% [0-9]+ messages' | tail -n 1

[ "$PRODUCE_ONLY" -eq 1 ] && exit 0
PARTS=()
for ((p = 0; p < PARTITIONS; p++)); do PARTS+=(-p "$p"); done
say "consume: $COUNT records from the beginning"
"$PERF" -C -t "$TOPIC" -b "$BOOTSTRAP" "${PARTS[@]}" -o beginning -c "$COUNT" \
    -X fetch.max.bytes=67108864 -X max.partition.fetch.bytes=4194304 \
    "${EXTRA[@]}" 2> >(grep -v CONFWARN >&2) | grep -E '^% [0-9]+ messages' | tail -n 1
