#!/usr/bin/env bash
# The `rill bench` produce/consume workload driven by a standard client tool instead:
# librdkafka's `rdkafka_performance` (from the librdkafka source bundled in the
# rdkafka-sys crate, fetched and built by compat/librdkafka/run.sh --build-only into
# ~/.cache/rill/librdkafka). Point --bootstrap at any Kafka-compatible broker to compare
# brokers on your own machine with the same client and the same workload. Producer:
# batch.size=--batch-size (1 MiB by default; message.max.bytes raised to match, so the
# batches really are that big), linger.ms=5, queue.buffering.max.kbytes=1048576,
# queue.buffering.max.messages=1000000. One run is a produce of --count records into a
# fresh topic, then a consume of the same records from the beginning; each reports
# rdkafka_performance's summary line and the broker's CPU time per GB moved.
#
#   scripts/rdkafka-perf.sh [--bootstrap HOST:PORT [--broker-pid PID] [--admin-bootstrap A]]
#                           [--topic T]
#                           [--partitions P] [--count N | --bytes B] [--size BYTES]
#                           [--acks A] [--batch-size BYTES] [--fetch default|10m|50m]
#                           [--fsync POLICY] [--produce-only] [--runs N] [--out FILE]
#                           [--tsv FILE]
#   scripts/rdkafka-perf.sh --sweep [--bytes B] [--runs N] [--out FILE] [--tsv FILE] [...]
#
#   --bootstrap  broker to test; default: start `rill serve` on a free port of 127.0.0.1
#                with a temporary data dir (one broker for all runs), stop it afterwards.
#                A secured listener needs its client settings in RDKAFKA_PERF_ARGS
#                (`-X security.protocol=SASL_SSL -X ssl.ca.location=...`) and
#                --admin-bootstrap
#   --admin-bootstrap  a PLAINTEXT address of the same broker, where topics are created
#                (default: --bootstrap)
#   --broker-pid with --bootstrap: the broker's pid, to read its CPU time (else "n/a")
#   --topic      default rdkafka-perf-<pid>; created with P partitions if absent
#                (CreateTopics via `rill bench idle`, which works against any broker).
#                With --runs > 1 or --sweep it is a prefix: every produce gets a fresh
#                topic <T>-p<P>-s<SIZE>-a<ACKS>-r<RUN>
#   --partitions default 1
#   --count      records to produce, then consume (default 1000000)
#   --bytes      bytes per run instead: count = B / size (--sweep: default 409600000,
#                i.e. 400000 x 1 KiB and 25000 x 16 KiB)
#   --size       record size in bytes (default 1024)
#   --acks       default 1 (-1 = all)
#   --batch-size producer batch.size in bytes (default 1048576). Batches above 1048588
#                bytes exceed the topic's default max.message.bytes
#   --fetch      consumer fetch sizes (default: default):
#                  default  librdkafka's own (no fetch settings passed: 1 MiB per
#                           partition, fetch.max.bytes 50 MiB)
#                  10m      max.partition.fetch.bytes=10485760 fetch.max.bytes=52428800
#                  50m      max.partition.fetch.bytes=52428800 fetch.max.bytes=52428800
#                (receive.message.max.bytes is left to librdkafka, which raises it to
#                fetch.max.bytes + 512 itself; its default, 100000000, is above that)
#   --fsync      rill's --fsync when this script starts it; default: not passed, so
#                the broker's own default (`rill serve --help`: interval:1000)
#   --produce-only  skip the consume runs
#   --runs N     repeat each cell N times (default 1); the table shows the median and
#                the min–max of MB/s and the median CPU-s/GB
#   --out FILE   also write the results as a Markdown table to FILE (the table goes to
#                stdout whenever there is --out, --sweep or --runs > 1)
#   --tsv FILE   also write every run as one tab-separated line to FILE, for other
#                scripts (scripts/data-path-bench.sh): a header line, then mode
#                (produce/consume), partitions, record_size, setting (acks 1/all or fetch
#                default/10m/50m), run, mb_per_s, broker_cpu_s, bytes, note; mb_per_s is
#                empty for a failed run, broker_cpu_s when the broker's pid is unknown.
#                Written before the exit status reports failed runs
#   --sweep      the matrix: partitions {1,4} x record size {1024,16384} x acks {1,all}
#                for produce and, for each (partitions, size), consumes of the acks=all
#                topic just produced with --fetch default, 10m and 50m. Loops are
#                run-major (all cells of run 1, then of run 2, ...)
#
# Broker CPU: utime+stime of the broker process (/proc/PID/stat fields 14 and 15, all
# threads, in clock ticks of `getconf CLK_TCK`) read before each rdkafka_performance run
# and after it plus RDKAFKA_PERF_SETTLE seconds (default 1.5, so the broker's periodic
# fsync of interval:1000 of the run's data is charged to that run, not the next one),
# divided by the bytes moved (count x size) in GB of 10^9 bytes. MB/s is
# rdkafka_performance's own figure: payload bytes per microsecond, so 10^6 bytes/s
# (produce: from the first produce() to the last delivery report; consume: from the
# first message received to the last, so the first fetch response, up to
# max.partition.fetch.bytes per partition, arrives before the clock starts: with --fetch
# 50m and little data per run the consume figure is meaningless, keep --bytes large).
# Page cache: written back (sync) and, when root, dropped before every produce run, as
# scripts/bench-results.sh does (on this VM page cache growing into memory the host
# reclaimed makes writes several times slower; see its comment), but NOT before the
# consume runs: a consumer reading data just produced finds it in the page cache, which
# is the realistic case (and the one a zero-copy send path is for). RILL_BENCH_DROP_CACHES=0
# keeps the cache.
# Environment: RILL_BIN (default target/release/rill, built if absent),
#              RDKAFKA_PERF_ARGS (extra args for every run, e.g. "-X debug=broker"),
#              RDKAFKA_PERF_TIMEOUT (seconds per rdkafka_performance run, default 600).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

BOOTSTRAP=""
ADMIN_BOOTSTRAP=""
CPU_PID=""
TOPIC="rdkafka-perf-$$"
PARTITIONS=1
COUNT=""
BYTES=""
SIZE=1024
ACKS=1
BATCH=1048576
FETCH=default
FSYNC=""
PRODUCE_ONLY=0
RUNS=1
OUT=""
TSV=""
SWEEP=0
ARGS_SHOWN="$*"
while [ $# -gt 0 ]; do
    case "$1" in
        --bootstrap) BOOTSTRAP="$2"; shift 2 ;;
        --broker-pid) CPU_PID="$2"; shift 2 ;;
        --admin-bootstrap) ADMIN_BOOTSTRAP="$2"; shift 2 ;;
        --topic) TOPIC="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --count) COUNT="$2"; shift 2 ;;
        --bytes) BYTES="$2"; shift 2 ;;
        --size) SIZE="$2"; shift 2 ;;
        --acks) ACKS="$2"; shift 2 ;;
        --batch-size) BATCH="$2"; shift 2 ;;
        --fetch) FETCH="$2"; shift 2 ;;
        --fsync) FSYNC="$2"; shift 2 ;;
        --produce-only) PRODUCE_ONLY=1; shift ;;
        --runs) RUNS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --tsv) TSV="$2"; shift 2 ;;
        --sweep) SWEEP=1; shift ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$FETCH" in default | 10m | 50m) ;; *) echo "--fetch: default, 10m or 50m, not $FETCH" >&2; exit 2 ;; esac
if [ "$SWEEP" = 1 ] && [ -n "$COUNT" ]; then
    echo "--count does not apply to --sweep (record sizes differ): use --bytes" >&2
    exit 2
fi
if [ -n "$CPU_PID" ] && [ -z "$BOOTSTRAP" ]; then
    echo "--broker-pid goes with --bootstrap (the script reads its own broker's pid)" >&2
    exit 2
fi
[ "$SWEEP" = 1 ] && [ -z "$BYTES" ] && BYTES=409600000
read -r -a EXTRA <<<"${RDKAFKA_PERF_ARGS:-}"
SETTLE="${RDKAFKA_PERF_SETTLE:-1.5}"
RUN_TIMEOUT="${RDKAFKA_PERF_TIMEOUT:-600}"

say() { printf '[rdkafka-perf] %s\n' "$*" >&2; }

# librdkafka: fetched and built by the compat script (the library and its test runner),
# then the example tool on top.
SRC="${RILL_LIBRDKAFKA_CACHE:-$HOME/.cache/rill/librdkafka}/librdkafka-2.12.1"
PERF="$SRC/examples/rdkafka_performance"
compat/librdkafka/run.sh --build-only >&2
# Rebuilt whenever the library was (a configure change, say).
if [ ! -x "$PERF" ] || [ "$PERF" -ot "$SRC/.rill-built" ]; then
    say "building rdkafka_performance"
    make -s -C "$SRC/examples" rdkafka_performance >&2
fi

BIN="${RILL_BIN:-$ROOT/target/release/rill}"
if [ -z "${RILL_BIN:-}" ] && [ ! -x "$BIN" ]; then
    say "building $BIN"
    cargo build --release --quiet >&2
fi

BROKER_PID=""
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rill-rdkafka-perf.XXXXXX")"
cleanup() {
    if [ -n "$BROKER_PID" ]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

FSYNC_SHOWN="${FSYNC:-broker default}"
if [ -z "$BOOTSTRAP" ]; then
    FSYNC_ARG=()
    [ -z "$FSYNC" ] || FSYNC_ARG=(--fsync "$FSYNC")
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" "${FSYNC_ARG[@]}" \
        --log-level warn --ready-file "$WORK/ready" 2>"$WORK/rill.log" &
    BROKER_PID=$!
    CPU_PID=$BROKER_PID
    BOOTSTRAP="$(wait_ready "$WORK/ready")"
    [ -n "$BOOTSTRAP" ] || { cat "$WORK/rill.log" >&2; echo "rill did not start" >&2; exit 1; }
    say "started rill on $BOOTSTRAP (--fsync: $FSYNC_SHOWN), pid $BROKER_PID"
else
    FSYNC_SHOWN="external broker"
fi
CLK_TCK="$(getconf CLK_TCK)"
# cpu_ticks: the broker's CPU time in clock ticks, or nothing when unknown.
cpu_ticks() {
    [ -n "$CPU_PID" ] || return 0
    proc_cpu_ticks "$CPU_PID"
}


fetch_args() {
    case "$1" in
        default) ;;
        10m) echo "-X max.partition.fetch.bytes=10485760 -X fetch.max.bytes=52428800" ;;
        50m) echo "-X max.partition.fetch.bytes=52428800 -X fetch.max.bytes=52428800" ;;
    esac
}
# Larger batches than librdkafka's message.max.bytes (1000000) need it raised: the request
# is capped at min(batch.size, message.max.bytes).
MSG_MAX=$((BATCH > 1000000 ? BATCH : 1000000))
PRODUCER_ARGS=(-X "batch.size=$BATCH" -X linger.ms=5 -X "message.max.bytes=$MSG_MAX"
    -X queue.buffering.max.kbytes=1048576 -X queue.buffering.max.messages=1000000)

# One line per run: mode partitions size setting run mb_per_s cpu_ticks bytes note
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
RAW=$([ "$SWEEP" = 0 ] && echo 1 || echo 0) # single mode: summary lines on stdout as before
FAILED=0 # runs without a result: the script then exits 1, after the table

# perf_run MODE P SIZE SETTING RUN COUNT ARGS...: one rdkafka_performance run, measured.
perf_run() {
    local mode="$1" p="$2" size="$3" setting="$4" run="$5" count="$6"
    shift 6
    local out="$WORK/perf.out" err="$WORK/perf.err" rc=0 before after line mbps="" note=""
    before="$(cpu_ticks)"
    timeout -k 10 "$RUN_TIMEOUT" "$PERF" "$@" "${EXTRA[@]}" >"$out" 2>"$err" || rc=$?
    if [ -n "$CPU_PID" ]; then
        sleep "$SETTLE"
        after="$(cpu_ticks)"
    fi
    grep -v CONFWARN "$err" >&2 || true
    if [ "$mode" = produce ]; then
        line="$(grep -E '^% [0-9]+ messages produced' "$out" | tail -n 1 || true)"
    else
        line="$(grep -E '^% [0-9]+ messages \(' "$out" | tail -n 1 || true)"
    fi
    if [ -n "$line" ]; then
        if [ "$RAW" = 1 ]; then printf '%s\n' "$line"; else say "$line"; fi
    fi
    # "... in 235ms: 424980 msgs/s and 435.18 MB/s, ..." / "... msgs/s (1150.43 MB/s)"
    mbps="$(printf '%s\n' "$line" | sed -nE 's/.*[ (]([0-9.]+) MB\/s.*/\1/p')"
    if [ "$rc" = 124 ]; then
        note="timed out after ${RUN_TIMEOUT}s"
        mbps=""
    elif [ "$rc" != 0 ]; then
        note="rdkafka_performance exit $rc"
        mbps=""
    elif [ -z "$mbps" ]; then
        note="no summary line"
    elif [ "$mode" = produce ]; then
        local delivered failed
        delivered="$(printf '%s\n' "$line" | sed -nE 's/.*, ([0-9]+) delivered .*/\1/p')"
        failed="$(printf '%s\n' "$line" | sed -nE 's/.*, ([0-9]+) failed\).*/\1/p')"
        if [ "$delivered" != "$count" ] || [ "$failed" != 0 ]; then
            note="$delivered/$count delivered, $failed failed"
        fi
    else
        local got
        got="$(printf '%s\n' "$line" | sed -nE 's/^% ([0-9]+) messages.*/\1/p')"
        [ "$got" = "$count" ] || note="$got/$count consumed"
    fi
    # librdkafka log lines at level 0-4 (emerg..warning), CONFWARN aside, and "% Error".
    local warns
    warns="$(grep -v CONFWARN "$err" | grep -cE '^%[0-4]\||^% Error' || true)"
    if [ "$warns" != 0 ]; then
        note="${note:+$note; }$warns librdkafka warning/error line(s): $(grep -v CONFWARN "$err" | grep -E '^%[0-4]\||^% Error' | head -n 1 | cut -c1-100)"
    fi
    [ -n "$mbps" ] || FAILED=$((FAILED + 1))
    local ticks=""
    [ -z "${after:-}" ] || ticks=$((after - before))
    if [ "$RAW" = 1 ] && [ -n "$ticks" ] && [ -n "$mbps" ]; then
        awk -v t="$ticks" -v hz="$CLK_TCK" -v b="$((count * size))" 'BEGIN {
            printf "%% broker CPU %.2f s for %d bytes: %.2f CPU-s/GB\n", t / hz, b, t / hz / (b / 1e9) }'
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$p" "$size" "$setting" "$run" \
        "$mbps" "$ticks" "$((count * size))" "${note//$'\t'/ }" >>"$RESULTS"
}

acks_label() { case "$1" in -1 | all) echo all ;; *) echo "$1" ;; esac; }
# produce TOPIC P SIZE ACKS COUNT RUN
produce() {
    local topic="$1" p="$2" size="$3" acks="$4" count="$5" run="$6"
    "$BIN" bench idle --bootstrap "${ADMIN_BOOTSTRAP:-$BOOTSTRAP}" --topic "$topic" --partitions "$p" >&2
    fresh_cache
    say "produce: $count records of $size B, acks=$acks, batch.size=$BATCH, linger.ms=5, $p partition(s), topic $topic"
    perf_run produce "$p" "$size" "$(acks_label "$acks")" "$run" "$count" \
        -P -t "$topic" -b "$BOOTSTRAP" -s "$size" -c "$count" -a "$acks" "${PRODUCER_ARGS[@]}"
}
# consume TOPIC P SIZE FETCH COUNT RUN: COUNT records from the beginning of TOPIC.
consume() {
    local topic="$1" p="$2" size="$3" fetch="$4" count="$5" run="$6" parts=() i
    for ((i = 0; i < p; i++)); do parts+=(-p "$i"); done
    local fa
    read -r -a fa <<<"$(fetch_args "$fetch")"
    say "consume: $count records from the beginning of $topic, --fetch $fetch"
    perf_run consume "$p" "$size" "$fetch" "$run" "$count" \
        -C -t "$topic" -b "$BOOTSTRAP" "${parts[@]}" -o beginning -c "$count" "${fa[@]}"
}

if [ "$SWEEP" = 1 ]; then
    for run in $(seq 1 "$RUNS"); do
        for p in 1 4; do
            for size in 1024 16384; do
                count=$((BYTES / size))
                for acks in 1 -1; do
                    topic="$TOPIC-p$p-s$size-a$(acks_label "$acks")-r$run"
                    say "run $run/$RUNS"
                    produce "$topic" "$p" "$size" "$acks" "$count" "$run"
                done
                if [ "$PRODUCE_ONLY" = 0 ]; then
                    for fetch in default 10m 50m; do
                        consume "$topic" "$p" "$size" "$fetch" "$count" "$run"
                    done
                fi
            done
        done
    done
else
    [ -z "$BYTES" ] || COUNT=$((BYTES / SIZE))
    COUNT="${COUNT:-1000000}"
    for run in $(seq 1 "$RUNS"); do
        topic="$TOPIC"
        [ "$RUNS" = 1 ] || topic="$TOPIC-p$PARTITIONS-s$SIZE-a$(acks_label "$ACKS")-r$run"
        produce "$topic" "$PARTITIONS" "$SIZE" "$ACKS" "$COUNT" "$run"
        [ "$PRODUCE_ONLY" = 1 ] || consume "$topic" "$PARTITIONS" "$SIZE" "$FETCH" "$COUNT" "$run"
    done
fi

if [ -n "$TSV" ]; then
    mkdir -p "$(dirname "$TSV")"
    awk -F '\t' -v OFS='\t' -v hz="$CLK_TCK" '
        BEGIN { print "mode", "partitions", "record_size", "setting", "run", "mb_per_s", "broker_cpu_s", "bytes", "note" }
        { if ($7 != "") $7 = sprintf("%.2f", $7 / hz); print }' "$RESULTS" >"$TSV"
    say "wrote $TSV"
fi

if [ "$SWEEP" = 0 ] && [ -z "$OUT" ] && [ "$RUNS" = 1 ]; then
    [ "$FAILED" = 0 ] || exit 1
    exit 0
fi

# The table: one row per cell, in the order run.
CORES="$(nproc)"
case "$BOOTSTRAP" in
    127.* | localhost:* | \[::1\]:* | ::1:*)
        LOOPBACK="client and broker on one machine over loopback ($BOOTSTRAP), sharing its $CORES cores: MB/s includes the client's own cost" ;;
    *) LOOPBACK="" ;;
esac
TABLE="$WORK/table.md"
python3 - "$RESULTS" "$CLK_TCK" "$RUNS" "$BATCH" "$FSYNC_SHOWN" "$DROP_CACHES" "$LOOPBACK" \
    "scripts/rdkafka-perf.sh $ARGS_SHOWN" "$([ -n "$CPU_PID" ] && echo 1 || echo 0)" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$BIN" "$SWEEP" >"$TABLE" <<'PY'
import statistics, sys, time
(path, hz, runs, batch, fsync, dropped, loopback, cmd, has_cpu, commit, binary, sweep) = sys.argv[1:13]
hz = int(hz)
cells = {}
for line in open(path):
    mode, p, size, setting, run, mbps, ticks, nbytes, note = line.rstrip("\n").split("\t")
    c = cells.setdefault((mode, p, size, setting), {"mbps": [], "cpu": [], "notes": [], "n": 0})
    c["n"] += 1
    if mbps:
        c["mbps"].append(float(mbps))
    if ticks and mbps:
        c["cpu"].append(int(ticks) / hz / (int(nbytes) / 1e9))
    if note:
        c["notes"].append(f"run {run}: {note}")
med = statistics.median
def num(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"
print(f"Generated by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
      f"(commit {commit}, broker `{binary}`, --fsync: {fsync}). librdkafka 2.12.1 "
      f"`rdkafka_performance`; producer batch.size={batch}, linger.ms=5; "
      f"{runs} run(s) per cell. Page cache written back"
      f"{' and dropped' if dropped == '1' else ' (not dropped: not root)'} before each produce, "
      "kept for the consumes (which read " + ("the acks=all topic" if sweep == "1" else "the topic")
      + " produced just before, from the beginning).")
if loopback:
    print(f"\nLoopback: {loopback}.")
print()
print("MB/s is rdkafka_performance's figure: payload bytes per second in units of 10^6 bytes "
      "(produce: first produce() to last delivery report; consume: first message to last, "
      "so the first fetch response, up to max.partition.fetch.bytes per partition, is outside "
      "the timed window). "
      "Broker CPU-s/GB: the broker process's utime+stime during the run, per 10^9 payload "
      "bytes (records x record size)" + ("" if has_cpu == "1" else "; n/a: broker pid unknown") + ".")
print()
print("| mode | partitions | record size (B) | acks / fetch | MB/s (10^6 B/s), median (min–max) | broker CPU-s per GB, median | note |")
print("|---|---|---|---|---|---|---|")
for (mode, p, size, setting), c in cells.items():
    m = c["mbps"]
    if m:
        rate = num(med(m)) + (f" ({num(min(m))}–{num(max(m))})" if len(m) > 1 else "")
        if len(m) < c["n"]:
            rate += f" ({len(m)} of {c['n']} runs)"
    else:
        rate = "failed"
    cpu = f"{med(c['cpu']):.2f}" if c["cpu"] else "n/a"
    label = f"acks={setting}" if mode == "produce" else f"fetch {setting}"
    print(f"| {mode} | {p} | {size} | {label} | {rate} | {cpu} | {'; '.join(c['notes'])} |")
PY
if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")"
    cp "$TABLE" "$OUT"
    say "wrote $OUT"
fi
cat "$TABLE"
if [ "$FAILED" != 0 ]; then
    say "$FAILED run(s) failed (see the note column)"
    exit 1
fi
