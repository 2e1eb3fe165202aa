#!/usr/bin/env bash
# The benchmark of issue 10 (zero-copy data path), as a Markdown section for
# benches/RESULTS.md (scripts/bench-results.sh embeds it):
#   1. before/after with librdkafka's own tool: `scripts/rdkafka-perf.sh --sweep --runs 1`
#      with the baseline broker and with the current one, alternating (before, after,
#      then after, before, ...), --runs times each; per sweep cell the median and min–max
#      MB/s and the median broker CPU-s per GB of both, and their ratios;
#   2. `rill bench consume` with real clients' fetch shapes, `rill serve --zero-copy true`
#      vs `false` (current binary only): two topics of 1 KiB records are filled once (one
#      partition, and 64 partitions), then brokers started on that data dir with each
#      setting in turn read them back: 1 partition with 1 MiB partition fetches (librdkafka's
#      defaults), 1 partition with 10 MiB ones, and 64 partitions at 1 MiB each, 50 MiB per
#      request, on one connection. MiB/s and broker CPU-s per GB, median of --runs;
#   3. issue 10's targets, computed from 1 (1 partition, 1 KiB records).
#
#   scripts/data-path-bench.sh [--runs N] [--baseline REV_OR_BINARY | --skip-baseline]
#                              [--bytes B] [--consume-bytes B]
#
#   --runs N          sweeps of each binary, and consume runs of each --zero-copy setting
#                     (default 3)
#   --baseline X      the "before" broker (default 33d53db, the commit before issue 10):
#                     an executable file, or a git revision, built with `cargo build
#                     --release` in a temporary `git worktree` (removed afterwards) with
#                     CARGO_TARGET_DIR=target/baseline-<short hash>; the binary is kept
#                     there, so a later run with the same revision does not build again
#   --skip-baseline   no "before": the current binary's sweep only (targets that compare
#                     with before are n/a)
#   --bytes B         payload bytes per sweep cell, passed to rdkafka-perf.sh (default:
#                     its own, 409600000)
#   --consume-bytes B part 2: bytes of record values written into each of the two topics
#                     (default 1073741824, i.e. 1048576 records of 1 KiB)
#
# MB/s (part 1) are rdkafka_performance's 10^6 bytes/s of payload; MiB/s (part 2) are
# `rill bench`'s 2^20 bytes/s of record batches; CPU-s per GB: the broker process's
# utime+stime (/proc/PID/stat) per 10^9 bytes. Client and broker share the machine.
# Page cache: written back and, when root, dropped before every produce (as
# rdkafka-perf.sh and bench-results.sh do; RILL_BENCH_DROP_CACHES=0 keeps it); the consumes
# read data in the page cache (part 2 reads the data dir's files once before measuring).
# Environment: RILL_BIN (the current broker; default target/release/rill, built if
#              absent), DATA_PATH_SETTLE (seconds after each consume before the broker's CPU
#              time is read, default 0.3), and what scripts/rdkafka-perf.sh reads.
# Takes 2 x --runs sweeps (a minute or two each with the defaults), plus a few minutes for
# part 2 (and, the first time for a revision, its release build).
set -euo pipefail
START_DIR="$(pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

RUNS=3
BASELINE=33d53db
SKIP_BASELINE=0
BYTES=""
CONSUME_BYTES=1073741824
ARGS_SHOWN="$*"
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --baseline) BASELINE="$2"; shift 2 ;;
        --skip-baseline) SKIP_BASELINE=1; shift ;;
        --bytes) BYTES="$2"; shift 2 ;;
        --consume-bytes) CONSUME_BYTES="$2"; shift 2 ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$RUNS" in '' | *[!0-9]* | 0) echo "--runs: a positive integer, not $RUNS" >&2; exit 2 ;; esac
case "$CONSUME_BYTES" in '' | *[!0-9]*) echo "--consume-bytes: a number of bytes" >&2; exit 2 ;; esac
RECORDS=$(((CONSUME_BYTES + 1023) / 1024))
[ "$RECORDS" -gt 0 ] || { echo "--consume-bytes: at least 1" >&2; exit 2; }
SETTLE="${DATA_PATH_SETTLE:-0.3}"

say() { printf '[data-path-bench] %s\n' "$*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rill-data-path.XXXXXX")"
WORKTREE=""
BROKER_PID=""
# shellcheck disable=SC2317 # (run by the EXIT trap)
cleanup() {
    stop_broker
    if [ -n "$WORKTREE" ]; then
        git worktree remove --force "$WORKTREE/src" 2>/dev/null || true
        rm -rf "$WORKTREE"
        git worktree prune 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- binaries
BIN="${RILL_BIN:-$ROOT/target/release/rill}"
if [ -z "${RILL_BIN:-}" ] && [ ! -x "$BIN" ]; then
    say "building $BIN"
    cargo build --release --quiet >&2
fi
[ -x "$BIN" ] || { echo "no broker binary at $BIN" >&2; exit 1; }

BASE_BIN=""
BASE_SHOWN=""
if [ "$SKIP_BASELINE" = 0 ]; then
    case "$BASELINE" in /*) candidate="$BASELINE" ;; *) candidate="$START_DIR/$BASELINE" ;; esac
    if [ -f "$candidate" ] && [ -x "$candidate" ]; then
        BASE_BIN="$candidate"
        BASE_SHOWN="\`$BASE_BIN\`"
    else
        full="$(git rev-parse --verify --quiet "$BASELINE^{commit}" || true)"
        [ -n "$full" ] || { echo "--baseline: $BASELINE is neither an executable file nor a git revision" >&2; exit 2; }
        short="$(git rev-parse --short "$full")"
        TARGET="$ROOT/target/baseline-$short"
        BASE_BIN="$TARGET/release/rill"
        if [ -x "$BASE_BIN" ]; then
            say "baseline $short: reusing $BASE_BIN"
        else
            WORKTREE="$(mktemp -d "${TMPDIR:-/tmp}/rill-baseline.XXXXXX")"
            say "baseline $short: building in a worktree at $WORKTREE/src, CARGO_TARGET_DIR=$TARGET"
            git worktree add --detach "$WORKTREE/src" "$full" >&2
            (cd "$WORKTREE/src" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet >&2)
            git worktree remove --force "$WORKTREE/src" >&2
            rm -rf "$WORKTREE"
            WORKTREE=""
        fi
        [ -x "$BASE_BIN" ] || { echo "the build of $short left no $BASE_BIN" >&2; exit 1; }
        BASE_SHOWN="commit $short (\`${BASE_BIN#"$ROOT"/}\`)"
    fi
fi


# ---------------------------------------------------------------- 1. the sweeps
# One line per sweep: label run exit_status tsv_file
SWEEPS="$WORK/sweeps.tsv"
: >"$SWEEPS"
BYTES_ARG=()
[ -z "$BYTES" ] || BYTES_ARG=(--bytes "$BYTES")
sweep() {
    local label="$1" bin="$2" run="$3" rc=0
    local tsv="$WORK/sweep-$label-$run.tsv"
    say "sweep $run/$RUNS, $label: RILL_BIN=$bin scripts/rdkafka-perf.sh --sweep --runs 1 ${BYTES_ARG[*]}"
    RILL_BIN="$bin" scripts/rdkafka-perf.sh --sweep --runs 1 "${BYTES_ARG[@]}" \
        --topic "data-path-$label" --tsv "$tsv" >"$WORK/sweep-$label-$run.md" || rc=$?
    printf '%s\t%s\t%s\t%s\n' "$label" "$run" "$rc" "$tsv" >>"$SWEEPS"
}
for run in $(seq 1 "$RUNS"); do
    if [ "$SKIP_BASELINE" = 1 ]; then
        sweep after "$BIN" "$run"
    elif [ $((run % 2)) = 1 ]; then
        sweep before "$BASE_BIN" "$run"
        sweep after "$BIN" "$run"
    else
        sweep after "$BIN" "$run"
        sweep before "$BASE_BIN" "$run"
    fi
done

# ---------------------------------------------------------------- 2. rill bench consume
CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() { proc_cpu_ticks "$BROKER_PID"; }
DATA="$WORK/data"
# start_broker ARGS...: `rill serve` on a free port of 127.0.0.1 with the data dir $DATA.
start_broker() {
    rm -f "$WORK/ready"
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" --ready-file "$WORK/ready" \
        --log-level warn "$@" 2>>"$WORK/rill.log" &
    BROKER_PID=$!
    ADDR="$(wait_ready "$WORK/ready")"
    [ -n "$ADDR" ] || { cat "$WORK/rill.log" >&2; echo "rill serve did not start" >&2; exit 1; }
}

FILL_ONE="--topic one --partitions 1 --records $RECORDS"
FILL_MANY="--topic many --partitions 64 --connections 4 --records $RECORDS"
say "filling topics: $RECORDS records of 1 KiB into 'one' (1 partition) and into 'many' (64 partitions)"
start_broker
fresh_cache
# shellcheck disable=SC2086
"$BIN" bench produce -b "$ADDR" $FILL_ONE --json >"$WORK/fill-one.json"
fresh_cache
# shellcheck disable=SC2086
"$BIN" bench produce -b "$ADDR" $FILL_MANY --json >"$WORK/fill-many.json"
stop_broker
sync
# Into the page cache (the second fill's drop evicted the first topic): the consumes read
# what a consumer of recent data reads, memory.
find "$DATA" -type f -exec cat {} + >/dev/null

CASES=(a b c)
declare -A CASE_ARGS=(
    [a]="--topic one --partitions 1 --connections 1 --fetch-partition-bytes 1048576 --fetch-max-bytes 52428800"
    [b]="--topic one --partitions 1 --connections 1 --fetch-partition-bytes 10485760 --fetch-max-bytes 52428800"
    [c]="--topic many --partitions 64 --connections 1 --fetch-partition-bytes 1048576 --fetch-max-bytes 52428800"
)
# One line per consume: zero_copy case run cpu_s json_file
CONSUMES="$WORK/consumes.tsv"
: >"$CONSUMES"
consume_runs() {
    local zc="$1" run="$2" c before after
    say "consume run $run/$RUNS, --zero-copy $zc"
    start_broker --zero-copy "$zc"
    for c in "${CASES[@]}"; do
        local json="$WORK/consume-$zc-$c-$run.json"
        before="$(cpu_ticks)"
        # shellcheck disable=SC2086
        "$BIN" bench consume -b "$ADDR" ${CASE_ARGS[$c]} --json >"$json" || : >"$json"
        sleep "$SETTLE"
        after="$(cpu_ticks)"
        printf '%s\t%s\t%s\t%s\t%s\n' "$zc" "$c" "$run" \
            "$(awk -v t="$((after - before))" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')" \
            "$json" >>"$CONSUMES"
    done
    stop_broker
}
for run in $(seq 1 "$RUNS"); do
    if [ $((run % 2)) = 1 ]; then
        consume_runs true "$run"
        consume_runs false "$run"
    else
        consume_runs false "$run"
        consume_runs true "$run"
    fi
done

# ---------------------------------------------------------------- report
DP_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DP_CORES="$(nproc)"
export DP_COMMIT DP_CORES DP_RUNS="$RUNS" DP_CMD="scripts/data-path-bench.sh${ARGS_SHOWN:+ $ARGS_SHOWN}" \
    DP_BIN="$BIN" DP_BASE="$BASE_SHOWN" DP_SKIP="$SKIP_BASELINE" \
    DP_BYTES="${BYTES:-409600000}" DP_DROPPED="$DROP_CACHES" \
    DP_SWEEPS="$SWEEPS" DP_CONSUMES="$CONSUMES" \
    DP_FILL_ONE="$FILL_ONE" DP_FILL_MANY="$FILL_MANY" DP_SETTLE="$SETTLE"
export DP_CASE_A="${CASE_ARGS[a]}" DP_CASE_B="${CASE_ARGS[b]}" DP_CASE_C="${CASE_ARGS[c]}"
rc=0
python3 - "$WORK/fill-one.json" "$WORK/fill-many.json" >"$WORK/report.md" <<'PY' || rc=$?
import csv, json, os, statistics, sys, time
E = os.environ
med = statistics.median
runs, skip = int(E["DP_RUNS"]), E["DP_SKIP"] == "1"
failures = []

def num(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"
def spread(xs):
    if not xs:
        return "failed"
    return num(med(xs)) + (f" ({num(min(xs))}–{num(max(xs))})" if len(xs) > 1 else "")
def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "n/a"
def cpu(xs):
    return f"{med(xs):.2f}" if xs else "n/a"

# ---- sweeps: cells in the order run, per binary the MB/s and CPU-s/GB of each run
cells = {}
for label, run, rc, path in (l.rstrip("\n").split("\t") for l in open(E["DP_SWEEPS"])):
    if rc != "0":
        failures.append(f"sweep {label} run {run}: scripts/rdkafka-perf.sh exited {rc}")
    if not os.path.exists(path):
        continue
    for r in csv.DictReader(open(path), delimiter="\t"):
        key = (r["mode"], r["partitions"], r["record_size"], r["setting"])
        c = cells.setdefault(key, {"before": {"mbps": [], "cpu": []}, "after": {"mbps": [], "cpu": []}, "notes": []})
        if r["mb_per_s"]:
            c[label]["mbps"].append(float(r["mb_per_s"]))
            if r["broker_cpu_s"]:
                c[label]["cpu"].append(float(r["broker_cpu_s"]) / (int(r["bytes"]) / 1e9))
        if r["note"]:
            c["notes"].append(f"{label} run {run}: {r['note']}")
def m(xs):
    return med(xs) if xs else None

bytes_cell = int(E["DP_BYTES"])
print(f"## Data path (issue 10): zero-copy fetch, copy-free produce (`{E['DP_CMD']}`)\n")
print(f"Generated on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (commit {E['DP_COMMIT']}). "
      f"After: `{E['DP_BIN']}`" + ("" if skip else f"; before: {E['DP_BASE']}") + ". "
      f"Client and broker share this machine's {E['DP_CORES']} cores (loopback), so every "
      "figure includes the client's own cost.\n")
print("### Before/after with librdkafka's `rdkafka_performance`\n")
print(f"`scripts/rdkafka-perf.sh --sweep --runs 1 --bytes {bytes_cell}` with `RILL_BIN` = "
      + ("the current binary" if skip else "each binary, alternating (before then after, then after then before, ...)")
      + f", {runs} sweep(s) per binary, each on a fresh broker with its own data dir "
      "(`--fsync` left at the broker's default). Per cell: "
      f"{bytes_cell} payload bytes (1 KiB or 16 KiB records), producer batch.size=1048576, "
      "linger.ms=5; the consumes read the acks=all topic just produced, from the beginning, "
      "with librdkafka's default fetch sizes (1 MiB per partition), or "
      "max.partition.fetch.bytes 10 MiB / 50 MiB with fetch.max.bytes 50 MiB. "
      "MB/s is rdkafka_performance's figure, in MB = 10^6 bytes of payload per second "
      "(median, min–max over the runs). CPU-s per GB: the broker's utime+stime during the "
      "run per 10^9 payload bytes (median). Page cache "
      + ("written back and dropped" if E["DP_DROPPED"] == "1" else "written back (not dropped: not root)")
      + " before each produce, kept for the consumes. rdkafka_performance's consume clock "
      "starts at the first message, after the first fetch response has arrived, so with "
      "little data per cell the consume figures (fetch 50m most) overstate.\n")
if skip:
    print("| mode | partitions | record size (B) | acks / fetch | MB/s | broker CPU-s per GB | note |")
    print("|---|---|---|---|---|---|---|")
else:
    print("| mode | partitions | record size (B) | acks / fetch | before MB/s | after MB/s | after / before | before CPU-s per GB | after CPU-s per GB | after / before | note |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
for (mode, p, size, setting), c in cells.items():
    label = f"acks={setting}" if mode == "produce" else f"fetch {setting}"
    b, a = c["before"], c["after"]
    notes = "; ".join(c["notes"])
    if skip:
        print(f"| {mode} | {p} | {size} | {label} | {spread(a['mbps'])} | {cpu(a['cpu'])} | {notes} |")
    else:
        print(f"| {mode} | {p} | {size} | {label} | {spread(b['mbps'])} | {spread(a['mbps'])} | "
              f"{ratio(m(a['mbps']), m(b['mbps']))} | {cpu(b['cpu'])} | {cpu(a['cpu'])} | "
              f"{ratio(m(a['cpu']), m(b['cpu']))} | {notes} |")

# ---- rill bench consume, zero-copy on/off
fill = {"one": json.load(open(sys.argv[1])), "many": json.load(open(sys.argv[2]))}
for t, d in fill.items():
    if d.get("errors"):
        failures.append(f"filling '{t}': {d['errors']} errors ({d.get('first_error')})")
cases = {"a": E["DP_CASE_A"], "b": E["DP_CASE_B"], "c": E["DP_CASE_C"]}
names = {"a": "1 partition, 1 MiB partition fetches (librdkafka's defaults)",
         "b": "1 partition, 10 MiB partition fetches",
         "c": "64 partitions, 1 MiB each, 50 MiB per request, one connection"}
res = {(zc, c): {"mibs": [], "cpu": [], "notes": []} for zc in ("true", "false") for c in cases}
for zc, case, run, cpu_s, path in (l.rstrip("\n").split("\t") for l in open(E["DP_CONSUMES"])):
    r = res[(zc, case)]
    try:
        d = json.load(open(path))
    except (OSError, ValueError):
        r["notes"].append(f"run {run}: `rill bench consume` failed")
        failures.append(f"consume --zero-copy {zc} case {case} run {run} failed")
        continue
    note = []
    if d.get("errors"):
        note.append(f"{d['errors']} errors ({d.get('first_error')})")
    want = fill["many" if case == "c" else "one"]["records"]
    if d["records"] != want:
        note.append(f"{d['records']}/{want} records")
    if note:
        r["notes"].append(f"run {run}: " + ", ".join(note))
        failures.append(f"consume --zero-copy {zc} case {case} run {run}: " + ", ".join(note))
        continue
    r["mibs"].append(d["mib_per_s"])
    r["cpu"].append(float(cpu_s) / (d["bytes"] / 1e9))
print()
print("### `rill bench consume`, zero-copy on vs off\n")
print(f"Current binary only. Filled once on a broker started as below (without `--zero-copy`): "
      f"`rill bench produce -b $ADDR {E['DP_FILL_ONE']}` and "
      f"`rill bench produce -b $ADDR {E['DP_FILL_MANY']}` (1 KiB records, 64 per batch; "
      f"{fill['one']['records']} and {fill['many']['records']} records, "
      f"{fill['one']['bytes'] / 2**20:.0f} and {fill['many']['bytes'] / 2**20:.0f} MiB of record "
      "batches), then its files read once into the page cache. Then, per run, "
      "`rill serve --listen 127.0.0.1:0 --data-dir DIR --ready-file FILE --log-level warn "
      "--zero-copy true|false` on that data dir (on and off alternating, the order swapped "
      "every run) and each of these catch-up reads from offset 0 to the end:\n")
for c, args in cases.items():
    print(f"- ({c}) {names[c]}: `rill bench consume -b $ADDR {args} --json`")
print(f"\nMiB/s is `rill bench consume`'s figure (MiB = 2^20 bytes of record batches per second), "
      f"median (min–max) of {runs} run(s); CPU-s per GB: the broker's utime+stime from "
      f"before the consume to {E['DP_SETTLE']} s after it, per 10^9 bytes of record batches "
      "(median).\n")
print("| case | zero-copy on: MiB/s | off: MiB/s | on / off | on: CPU-s per GB | off: CPU-s per GB | on / off | note |")
print("|---|---|---|---|---|---|---|---|")
for c in cases:
    on, off = res[("true", c)], res[("false", c)]
    notes = "; ".join([f"on {n}" for n in on["notes"]] + [f"off {n}" for n in off["notes"]])
    print(f"| ({c}) {names[c]} | {spread(on['mibs'])} | {spread(off['mibs'])} | "
          f"{ratio(m(on['mibs']), m(off['mibs']))} | {cpu(on['cpu'])} | {cpu(off['cpu'])} | "
          f"{ratio(m(on['cpu']), m(off['cpu']))} | {notes} |")

# ---- targets, from the sweep: 1 partition, 1 KiB records
def cell(mode, setting, label, what="mbps"):
    c = cells.get((mode, "1", "1024", setting))
    return m(c[label][what]) if c else None
def fmt(x, unit):
    return "n/a" if x is None else (f"{x:.2f} {unit}" if unit == "CPU-s/GB" else f"{num(x)} {unit}")
def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "not met")
rows = []
def target(name, lhs_label, lhs, rhs_label, rhs, factor, unit, le=False):
    if lhs is None or rhs is None:
        rows.append((name, f"{rhs_label}: {fmt(rhs, unit)}", f"{lhs_label}: {fmt(lhs, unit)}", "n/a", "n/a"))
        return
    ok = lhs <= factor * rhs if le else lhs >= factor * rhs
    rows.append((name, f"{rhs_label}: {fmt(rhs, unit)}", f"{lhs_label}: {fmt(lhs, unit)}",
                 f"{lhs / rhs:.2f}×" if rhs else "n/a", verdict(ok)))
target("consume, fetch 10m: after ≥ 3× before", "after", cell("consume", "10m", "after"),
       "before", cell("consume", "10m", "before"), 3, "MB/s")
target("consume after: fetch 10m ≥ fetch default", "10m", cell("consume", "10m", "after"),
       "default", cell("consume", "default", "after"), 1, "MB/s")
target("consume, fetch default: after ≥ 1.5× before", "after", cell("consume", "default", "after"),
       "before", cell("consume", "default", "before"), 1.5, "MB/s")
target("produce acks=1: after ≥ 1.4× before", "after", cell("produce", "1", "after"),
       "before", cell("produce", "1", "before"), 1.4, "MB/s")
target("produce acks=1, broker CPU-s per GB: after ≤ 0.5× before", "after",
       cell("produce", "1", "after", "cpu"), "before", cell("produce", "1", "before", "cpu"),
       0.5, "CPU-s/GB", le=True)
print()
print("### Targets of issue 10\n")
print("From the sweep above: 1 partition, 1 KiB records, medians"
      + (" (no baseline: `--skip-baseline`, so the comparisons with before are n/a)" if skip else "")
      + ".\n")
print("| target | compared with | measured | ratio | verdict |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
if failures:
    print("\nFailed runs (left out of the medians): " + "; ".join(failures) + ".")
print()
sys.exit(1 if failures else 0)
PY
cat "$WORK/report.md"
exit "$rc"
