#!/usr/bin/env bash
# Run librdkafka's own integration test suite (tests/test-runner) against a
# fresh `rill serve`.
#
#   compat/librdkafka/run.sh                  the ids in tests.allow (fails if any does not pass)
#   compat/librdkafka/run.sh 0034 0081 ...    just these ids (fails if any FAILs or TIMEOUTs)
#   compat/librdkafka/run.sh --all-candidates every test id of the suite, as a report (exit 0)
#   compat/librdkafka/run.sh --build-only     fetch + build librdkafka and its test runner, then stop
#   compat/librdkafka/run.sh --kip848 [...]   any of the above with group.protocol=consumer (KIP-848)
#                                             for the suite's group consumers; the allow list is
#                                             then tests.allow.kip848
#
# The librdkafka source is the copy bundled in the `rdkafka-sys` crate (pinned
# below), fetched with cargo into a cache outside the repo and built there once:
#   ${RILL_LIBRDKAFKA_CACHE:-$HOME/.cache/rill/librdkafka}
# Nothing of librdkafka is ever copied into this repository.
#
# Environment:
#   RILL_BIN                        broker binary (default target/debug/rill, built if absent)
#   RILL_LIBRDKAFKA_CACHE           cache dir (see above)
#   RILL_LIBRDKAFKA_TEST_TIMEOUT    wall-clock limit per entry, seconds (default 900;
#                                   the runner has its own, shorter, per-test timeouts)
#   RILL_LIBRDKAFKA_KAFKA_VERSION   broker version the suite assumes (default 4.0.0: Rill
#                                   follows Kafka 4, e.g. no Produce v0-2 / MsgVersion 0-1)
#   RILL_LIBRDKAFKA_RUNNER_ARGS     extra test-runner args (e.g. -Q for quick mode)
#   RILL_LIBRDKAFKA_LOG_DIR         where per-test logs go (default compat/librdkafka/logs)
#   RILL_LIBRDKAFKA_JOBS            make -j for the build (default 2)
#   RILL_LIBRDKAFKA_GROUP_DELAY_MS  broker's group.initial.rebalance.delay.ms (default 3000,
#                                   Kafka's default, which the suite's timings assume)
#   RILL_LIBRDKAFKA_AUTHORIZER      `acl` (default: --authorizer acl with
#                                   --allow-everyone-if-no-acl-found true, as the suite's
#                                   trivup clusters run Kafka) or `none` (no authorizer)
#   RILL_LIBRDKAFKA_DEBUG           librdkafka `debug=` contexts for the clients (e.g. protocol,broker)
#   RILL_LOG_LEVEL                  broker log level (default info)
#   RILL_LIBRDKAFKA_RESULTS         also write the verdicts to this file, one
#                                   "<entry>\t<status>\t<detail>" line each after "# " header lines
#                                   (read by conformance/report.py)
#
# KAFKA_PATH (and BROKERS) are set for the suite: $RILL_BIN's `kafka-tools install` writes
# Kafka's bin/kafka-topics.sh, kafka-acls.sh, ... into the run's temp dir.
set -euo pipefail

# rdkafka-sys 4.10.0+2.12.1 bundles librdkafka 2.12.1.
RDKAFKA_SYS_VERSION="4.10.0+2.12.1"
LIBRDKAFKA_VERSION="2.12.1"
# Features that need nothing beyond Debian's zlib/zstd/lz4/ssl -dev packages. The suite
# is run in plaintext; SSL (OpenSSL) is built in for rdkafka_performance over SSL and
# SASL_SSL (scripts/tls-bench.sh) and SCRAM; SASL/GSSAPI and the OIDC HTTP client are off.
CONFIGURE_ARGS=(--enable-ssl --disable-gssapi --disable-curl --enable-zlib --enable-zstd --enable-lz4-ext)
# Ids that test.c does not flag as local but whose tests only ever talk to
# librdkafka's built-in mock cluster: they never contact rill, so are not run.
MOCK_ONLY_IDS=" 0068 0139 0150 "
# Debian packages for the build; rapidjson-dev lets 0053 validate the statistics JSON.
PACKAGES=(build-essential pkg-config python3 zlib1g-dev libzstd-dev liblz4-dev libssl-dev rapidjson-dev)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${RILL_LIBRDKAFKA_CACHE:-$HOME/.cache/rill/librdkafka}"
SRC="$CACHE/librdkafka-$LIBRDKAFKA_VERSION"
TESTS_DIR="$SRC/tests"
JOBS="${RILL_LIBRDKAFKA_JOBS:-2}"
TEST_TIMEOUT="${RILL_LIBRDKAFKA_TEST_TIMEOUT:-900}"
KAFKA_VERSION="${RILL_LIBRDKAFKA_KAFKA_VERSION:-4.0.0}"
LOG_DIR="${RILL_LIBRDKAFKA_LOG_DIR:-$HERE/logs}"
GROUP_DELAY_MS="${RILL_LIBRDKAFKA_GROUP_DELAY_MS:-3000}"
AUTHORIZER="${RILL_LIBRDKAFKA_AUTHORIZER:-acl}"
case "$AUTHORIZER" in acl | none) ;; *) printf '[librdkafka] error: RILL_LIBRDKAFKA_AUTHORIZER must be acl or none\n' >&2; exit 2 ;; esac
read -r -a RUNNER_ARGS <<<"${RILL_LIBRDKAFKA_RUNNER_ARGS:-}"

say() { printf '[librdkafka] %s\n' "$*"; }
die() {
    printf '[librdkafka] error: %s\n' "$*" >&2
    exit 2
}

# ---------------------------------------------------------------- arguments
# An entry is a 4-digit test id ("0034": every broker test of 0034), optionally
#   @SCENARIO  the tests of that id that need a test scenario, against a broker
#              started to match it ("0111@noautocreate"), or "@nodelay": every broker
#              test of that id against a broker with group.initial.rebalance.delay.ms=0,
#              as Kafka's shipped config/server.properties sets it ("0081@nodelay":
#              0081 makes ~20 new groups under a 180 s limit), and/or
#   :FILTER    only the sub-tests whose name contains FILTER (the runner's SUBTESTS;
#              may contain spaces): "0081:do_test_CreateTopics" runs 0081's
#              CreateTopics sub-tests. At least one matching sub-test must pass.
ENTRY_RE='^([0-9]{4})(@(noautocreate|nodelay))?(:([^#]+))?$'
MODE=allow
IDS=()
ALLOW_FILE="$HERE/tests.allow"
if [ "${1:-}" = "--kip848" ]; then
    shift
    # test.c reads this and sets group.protocol on every group consumer it creates.
    export TEST_CONSUMER_GROUP_PROTOCOL=consumer
    ALLOW_FILE="$HERE/tests.allow.kip848"
fi
case "${1:-}" in
    --all-candidates) MODE=all ;;
    --build-only) MODE=build ;;
    -h | --help)
        awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    "") ;;
    *)
        MODE=ids
        for a in "$@"; do
            [[ "$a" =~ $ENTRY_RE ]] || die "not a test entry (NNNN[@scenario][:subtest-filter]): $a"
            IDS+=("$a")
        done
        ;;
esac

# ---------------------------------------------------------------- prerequisites
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)

ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    # python3 may come from elsewhere (pyenv); the build only needs some python3.
    if command -v python3 >/dev/null 2>&1; then
        local m=()
        for p in "${missing[@]}"; do [ "$p" = python3 ] || m+=("$p"); done
        missing=("${m[@]+"${m[@]}"}")
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing: ${missing[*]}"
        "${SUDO[@]}" apt-get update -qq
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# ---------------------------------------------------------------- fetch + build
fetch_source() {
    [ -f "$SRC/.rill-fetched" ] && return 0
    say "fetching librdkafka $LIBRDKAFKA_VERSION (crate rdkafka-sys $RDKAFKA_SYS_VERSION) with cargo"
    local proj="$CACHE/fetch-rdkafka-sys"
    mkdir -p "$proj/src"
    cat >"$proj/Cargo.toml" <<EOF
[package]
name = "rill-librdkafka-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
rdkafka-sys = { version = "=$RDKAFKA_SYS_VERSION", default-features = false }
EOF
    : >"$proj/src/lib.rs"
    (cd "$proj" && cargo fetch --quiet)
    local cargo_home="${CARGO_HOME:-$HOME/.cargo}" crate_dir=""
    for d in "$cargo_home"/registry/src/*/"rdkafka-sys-$RDKAFKA_SYS_VERSION"; do
        [ -d "$d/librdkafka/tests" ] && crate_dir="$d" && break
    done
    [ -n "$crate_dir" ] || die "rdkafka-sys-$RDKAFKA_SYS_VERSION/librdkafka not found under $cargo_home/registry/src"
    grep -q "RD_KAFKA_VERSION  *0x020c01" "$crate_dir/librdkafka/src/rdkafka.h" ||
        die "$crate_dir does not bundle librdkafka $LIBRDKAFKA_VERSION"
    rm -rf "$SRC" "$SRC.tmp"
    cp -a "$crate_dir/librdkafka" "$SRC.tmp"
    chmod -R u+w "$SRC.tmp"
    mv "$SRC.tmp" "$SRC"
    touch "$SRC/.rill-fetched"
}

build_suite() {
    local stamp="rdkafka-sys $RDKAFKA_SYS_VERSION; configure ${CONFIGURE_ARGS[*]}; with ${PACKAGES[*]}"
    if [ -x "$TESTS_DIR/test-runner" ] && [ "$(cat "$SRC/.rill-built" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    say "building librdkafka + test-runner in $SRC (make -j$JOBS; a few minutes on 2 cores)"
    local blog="$CACHE/build.log"
    local t0=$SECONDS
    rm -f "$SRC/.rill-built"
    if ! (cd "$SRC" &&
        ./configure "${CONFIGURE_ARGS[@]}" &&
        make -j"$JOBS" libs &&
        make -j"$JOBS" -C tests build) >"$blog" 2>&1; then
        tail -n 40 "$blog" >&2
        die "build failed (full log: $blog)"
    fi
    echo "$stamp" >"$SRC/.rill-built"
    say "built in $((SECONDS - t0))s (log: $blog)"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
ensure_packages
fetch_source
build_suite
flock -u 9
[ "$MODE" = build ] && exit 0

# ---------------------------------------------------------------- test list
if [ "$MODE" = allow ]; then
    while IFS= read -r line; do
        line="${line%%#*}"
        line="$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$line")"
        [ -z "$line" ] && continue
        [[ "$line" =~ $ENTRY_RE ]] || die "$(basename "$ALLOW_FILE"): not a test entry (NNNN[@scenario][:subtest-filter]): $line"
        IDS+=("$line")
    done <"$ALLOW_FILE"
elif [ "$MODE" = all ]; then
    # Every test id the runner knows, except 0000 (unit tests) and the 8xxx manual ones.
    mapfile -t IDS < <(grep -oE '^\s*_TEST\(\s*[0-9]{4}_' "$TESTS_DIR/test.c" | grep -oE '[0-9]{4}' |
        sort -u | grep -vE '^(0000|8[0-9]{3})$')
    # ... then the ids with tests that only run in the noautocreate scenario.
    mapfile -t -O "${#IDS[@]}" IDS < <(awk '
        match($0, /_TEST\( *[0-9][0-9][0-9][0-9]_/) { id = substr($0, RSTART + 6, RLENGTH - 7); sub(/^ +/, "", id) }
        /\.scenario *= *"[^"]*noautocreate/ { print id "@noautocreate" }' "$TESTS_DIR/test.c" | sort -u)
fi
[ "${#IDS[@]}" -gt 0 ] || die "no test ids to run"

# ---------------------------------------------------------------- broker
if [ -n "${RILL_BIN:-}" ]; then
    [ -x "$RILL_BIN" ] || die "RILL_BIN=$RILL_BIN is not executable"
else
    RILL_BIN="$ROOT/target/debug/rill"
    if [ ! -x "$RILL_BIN" ]; then
        say "building $RILL_BIN"
        (cd "$ROOT" && cargo build --quiet)
    fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rill-librdkafka.XXXXXX")"
# Kafka's shell tools as rill answers them (`rill kafka-tools install`), for the tests that
# run bin/kafka-topics.sh or bin/kafka-acls.sh under KAFKA_PATH (test.c's
# test_kafka_topics / test_kafka_cmd: 0052, 0077, 0109, ...). With TEST_KAFKA_VERSION >= 3
# test.c passes --bootstrap-server "$BROKERS", never --zookeeper.
KAFKA_TOOLS=""
if "$RILL_BIN" kafka-tools install "$WORK/kafka" >/dev/null 2>&1; then
    KAFKA_TOOLS="$WORK/kafka"
else
    say "warning: $RILL_BIN has no 'kafka-tools'; tests that need KAFKA_PATH will fail"
fi
BROKER_PID=""
RUNNER_PID=""
BOOTSTRAP=""
BROKER_STARTS=0

stop_broker() {
    [ -n "$BROKER_PID" ] || return 0
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$BROKER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$BROKER_PID" 2>/dev/null || true
    fi
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

cleanup() {
    local rc=$?
    if [ -n "$RUNNER_PID" ]; then
        kill -TERM "$RUNNER_PID" 2>/dev/null || true
        wait "$RUNNER_PID" 2>/dev/null || true
    fi
    stop_broker
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_broker SCENARIO: a fresh ephemeral broker set up like the suite's trivup
# scenario (tests/scenarios/*.json): 4 partitions per auto-created topic, and
# for "noautocreate" no topic auto-creation.
start_broker() {
    SCENARIO="$1"
    BROKER_STARTS=$((BROKER_STARTS + 1))
    BOOTSTRAP=""
    local ready="$WORK/ready.$BROKER_STARTS" blog="$LOG_DIR/rill.$BROKER_STARTS.log"
    local auto=true extra=() delay="$GROUP_DELAY_MS"
    [ "$SCENARIO" = noautocreate ] && auto=false
    [ "$SCENARIO" = nodelay ] && delay=0
    # The suite expects Kafka's default group.initial.rebalance.delay.ms (3000;
    # e.g. 0113 waits "3000 ms (default)"), while rill defaults to 0.
    local help
    help="$("$RILL_BIN" serve --help 2>/dev/null || true)"
    if grep -q -- '--group-initial-rebalance-delay-ms' <<<"$help"; then
        extra+=(--group-initial-rebalance-delay-ms "$delay")
    fi
    # The suite's trivup clusters run Kafka's ACL authorizer with
    # allow.everyone.if.no.acl.found=true: everything is allowed until a test adds ACLs
    # (0109, 0115, 0119 deny one topic with kafka-acls.sh and expect
    # TOPIC_AUTHORIZATION_FAILED for it only). RILL_LIBRDKAFKA_AUTHORIZER=none turns it off.
    if [ "$AUTHORIZER" = acl ] && grep -q -- '--allow-everyone-if-no-acl-found' <<<"$help"; then
        extra+=(--authorizer acl --allow-everyone-if-no-acl-found true)
    fi
    "$RILL_BIN" serve --ephemeral --listen 127.0.0.1:0 --ready-file "$ready" \
        --default-partitions 4 --auto-create-topics "$auto" "${extra[@]+"${extra[@]}"}" \
        --log-level "${RILL_LOG_LEVEL:-info}" >"$blog" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 200); do
        if [ -s "$ready" ]; then
            BOOTSTRAP="$(head -n1 "$ready" | tr -d '[:space:]')"
            [ -n "$BOOTSTRAP" ] && break
        fi
        kill -0 "$BROKER_PID" 2>/dev/null || {
            tail -n 20 "$blog" >&2
            die "rill exited before it was ready (log: $blog)"
        }
        sleep 0.1
    done
    [ -n "$BOOTSTRAP" ] || die "rill not ready after 20s (log: $blog)"
    {
        echo "bootstrap.servers=$BOOTSTRAP"
        [ -z "${RILL_LIBRDKAFKA_DEBUG:-}" ] || echo "debug=$RILL_LIBRDKAFKA_DEBUG"
    } >"$WORK/test.conf"
    say "$("$RILL_BIN" --version 2>/dev/null | head -1) serving on $BOOTSTRAP (scenario $SCENARIO, authorizer $AUTHORIZER, pid $BROKER_PID, log $blog)"
}

rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
SCENARIO=""

# ---------------------------------------------------------------- run
strip_ansi() { sed -e 's/\x1b\[[0-9;]*m//g' -e 's/\x1b([A-Za-z]//g'; }

# classify ID RC OURS LIMIT SUBFILTER: reads a test-runner log (ANSI stripped) on stdin and
# prints "STATUS<TAB>detail" (OURS=1: killed by our wall-clock limit).
# The runner prints "Test <name> PASSED/FAILED/SKIPPED" as each test ends and a
# summary table at exit, but on a failure it often abort()s before the table
# (e.g. "N thread(s) still active in librdkafka"), so both are read.
classify() {
    awk -v id="$1" -v rc="$2" -v ours="$3" -v limit="$4" -v subf="$5" '
    function after(str, pat) { return match(str, pat) ? substr(str, RSTART + RLENGTH) : "" }
    function name_at(str, pos,    rest) {
        rest = substr(str, pos)
        return match(rest, /^[0-9]+_[A-Za-z0-9_]+/) ? substr(rest, 1, RLENGTH) : ""
    }
    function trim(x) { gsub(/^[ \t]+|[ \t]+$/, "", x); return x }
    {
        line = $0
        if (line ~ /[^ \t]/) last = line
        if (subf != "" && line ~ /\] \[ .*: PASS \([0-9.]+s\) \]$/ && index(line, subf)) subpass++
        if (want_msg) { msgs = msgs (msgs == "" ? "" : " || ") want_msg ": " trim(line); want_msg = ""; }
        if (match(line, /================= Test [0-9]+_[A-Za-z0-9_]+ (PASSED|FAILED|SKIPPED)/)) {
            m = substr(line, RSTART, RLENGTH)
            n = name_at(m, 24)
            if (index(n, id "_") == 1) {
                if (m ~ /PASSED$/) pass[n] = 1
                else if (m ~ /FAILED$/) fail[n] = 1
                else skip[n] = 1
            }
        }
        if (match(line, /### Test "/)) {
            rest = substr(line, RSTART + RLENGTH)
            q = index(rest, "\"")
            who = substr(rest, 1, q - 1)
            where = after(rest, "\" failed at ")
            sub(/ at [A-Z][a-z][a-z] [A-Z][a-z][a-z] .*$/, "", where)
            n = name_at(who, 1)
            if (n != "" && index(n, id "_") == 1) fail[n] = 1
            if (nmsg < 3) { nmsg++; want_msg = who " @ " where }
        }
        r = after(line, "SKIPPING TEST: ")
        if (r != "") { n = name_at(line, 2); if (n != "" && !(n in skipr)) skipr[n] = trim(r) }
        if (line ~ /^\| *[0-9]+_[A-Za-z0-9_]+ *\| *[A-Z_]+ *\|/) {
            split(line, f, "|")
            n = trim(f[2]); stt = trim(f[3])
            if (index(n, id "_") != 1) next
            if (stt == "PASSED") pass[n] = 1
            else if (stt == "FAILED" || stt == "RUNNING") fail[n] = 1
            else if (stt == "SKIPPED") {
                why = trim(f[5])
                # Filtered by the runner (-L, known issue; or silently: another scenario)
                if (why ~ /negative test flags/ || why == "") local_[n] = 1
                else { skip[n] = 1; if (why != "") skipr[n] = why }
            }
        }
    }
    END {
        np = 0; nf = 0; ns = 0
        for (n in pass) if (!(n in fail)) np++
        for (n in fail) { nf++; fl = fl (fl == "" ? "" : ",") n }
        for (n in skip) if (!(n in pass) && !(n in fail)) { ns++; sl = sl (sl == "" ? "" : "; ") n ": " skipr[n] }
        if (ours == 1) {
            printf "TIMEOUT\tkilled after %ss%s; last line: %s\n", limit, (nf ? " (failed: " fl ")" : ""), substr(last, 1, 200)
        } else if (nf > 0 || rc != 0) {
            d = msgs
            if (d == "") d = "exit " rc "; last line: " substr(last, 1, 200)
            printf "FAIL\t%s%s\n", (nf ? "[" fl "] " : "[exit " rc "] "), d
        } else if (np > 0 && subf != "" && !subpass) {
            printf "FAIL\tno sub-test matching \"%s\" ran and passed\n", subf
        } else if (np > 0) {
            printf "PASS\t%s\n", (ns ? "(skipped " sl ")" : "")
        } else if (ns > 0) {
            printf "SKIP\t%s\n", sl
        } else {
            printf "NOTRUN\tfiltered out by the runner: only local (broker-less), known-issue or other-scenario tests under this id\n"
        }
    }'
}

declare -A STATUS DETAIL
run_one() {
    local entry="$1" id scenario=default sub="" log rc=0 t0
    [[ "$entry" =~ $ENTRY_RE ]] || die "bad entry $entry"
    id="${BASH_REMATCH[1]}"
    [ -z "${BASH_REMATCH[3]}" ] || scenario="${BASH_REMATCH[3]}"
    sub="${BASH_REMATCH[5]}"
    if [[ "$MOCK_ONLY_IDS" == *" $id "* ]]; then
        STATUS[$entry]=MOCK
        DETAIL[$entry]="uses only librdkafka's mock cluster, never rill: not run"
        printf '[librdkafka] %-7s %s %s\n' MOCK "$entry" "${DETAIL[$entry]}"
        return 0
    fi
    log="$LOG_DIR/$(tr -c 'A-Za-z0-9@._\n-' '_' <<<"$entry").log"
    if [ "$scenario" != "$SCENARIO" ]; then
        stop_broker
        start_broker "$scenario"
    fi
    t0=$SECONDS
    (
        cd "$TESTS_DIR"
        export LD_LIBRARY_PATH="$SRC/src:$SRC/src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        # nodelay is a broker setting; the runner's scenario stays default.
        export RDKAFKA_TEST_CONF="$WORK/test.conf" TESTS="$id" TEST_KAFKA_VERSION="$KAFKA_VERSION" \
            TEST_SCENARIO="${scenario/nodelay/default}"
        [ -z "$sub" ] || export SUBTESTS="$sub"
        [ -z "$KAFKA_TOOLS" ] || export KAFKA_PATH="$KAFKA_TOOLS" BROKERS="$BOOTSTRAP"
        exec timeout -k 10 "$TEST_TIMEOUT" ./test-runner -p1 -L "${RUNNER_ARGS[@]+"${RUNNER_ARGS[@]}"}"
    ) >"$log" 2>&1 &
    RUNNER_PID=$!
    wait "$RUNNER_PID" 2>/dev/null || rc=$?
    RUNNER_PID=""
    local secs=$((SECONDS - t0))

    local verdict st detail
    # timeout(1) exits 124 (or 137 after -k); the runner's own per-test timeout
    # SIGKILLs itself (137) well before ours and is reported as a FAIL.
    local ours=0
    if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$secs" -ge "$TEST_TIMEOUT" ]; }; then ours=1; fi
    verdict="$(strip_ansi <"$log" | classify "$id" "$rc" "$ours" "$TEST_TIMEOUT" "$sub" || true)"
    st="${verdict%%$'\t'*}"
    detail="${verdict#*$'\t'}"
    [ -n "$st" ] || { st=FAIL; detail="could not classify (exit $rc)"; }

    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        local old="$LOG_DIR/rill.$BROKER_STARTS.log"
        wait "$BROKER_PID" 2>/dev/null || true
        st=FAIL
        detail="BROKER DIED during this test (log: $old); $detail"
        BROKER_PID=""
        start_broker "$scenario"
    fi
    STATUS[$entry]=$st
    DETAIL[$entry]=$detail
    printf '[librdkafka] %-7s %s (%ss) %s\n' "$st" "$entry" "$secs" "$detail"
}

say "running ${#IDS[@]} entries with test-runner -p1 -L ${RUNNER_ARGS[*]:-} (TEST_KAFKA_VERSION=$KAFKA_VERSION, per-test limit ${TEST_TIMEOUT}s; logs in $LOG_DIR)"
for entry in "${IDS[@]}"; do
    run_one "$entry"
done

# ---------------------------------------------------------------- summary
passed=0 failed=0 skipped=0
echo
echo "==== librdkafka $LIBRDKAFKA_VERSION test suite against rill ===="
for entry in "${IDS[@]}"; do
    st="${STATUS[$entry]}"
    case "$st" in
        PASS) passed=$((passed + 1)) ;;
        FAIL | TIMEOUT) failed=$((failed + 1)) ;;
        *) skipped=$((skipped + 1)) ;;
    esac
    printf '%-7s %-30s %s\n' "$st" "$entry" "${DETAIL[$entry]}"
done
echo
echo "librdkafka: $passed passed, $failed failed, $skipped skipped"
if [ -n "${RILL_LIBRDKAFKA_RESULTS:-}" ]; then
    {
        printf '# librdkafka %s test suite, %s entries (%s)\n' "$LIBRDKAFKA_VERSION" "${#IDS[@]}" "$MODE"
        printf '# %s passed, %s failed, %s skipped\n' "$passed" "$failed" "$skipped"
        printf '# run %s against rill at %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?')"
        for entry in "${IDS[@]}"; do
            printf '%s\t%s\t%s\n' "$entry" "${STATUS[$entry]}" "${DETAIL[$entry]}"
        done
    } >"$RILL_LIBRDKAFKA_RESULTS"
fi

case "$MODE" in
    all) exit 0 ;;
    ids) [ "$failed" -eq 0 ] ;;
    allow) [ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ] ;;
esac
