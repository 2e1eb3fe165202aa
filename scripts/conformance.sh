#!/usr/bin/env bash
# Rill's conformance suites (protocol-tests/ and compat/) and their report card.
#
#   scripts/conformance.sh                         against rill serve processes it starts
#                                                  itself; rewrites conformance/REPORT.md + .json
#   scripts/conformance.sh --bootstrap HOST:PORT   against a broker someone else started
#                                                  (Rill, Kafka, ...); the report goes to
#                                                  target/conformance/HOST_PORT/ and stdout
# Options:
#   --librdkafka        also run librdkafka's test suite (the allow list,
#                       compat/librdkafka/run.sh, ~20 min; only with a broker it starts)
#                       and record it in conformance/librdkafka.tsv; without it the
#                       report includes that file's last recorded result
#   --out DIR           where the report goes (raw results in DIR/raw)
#   --security PLAINTEXT  the target listener's protocol; only PLAINTEXT today
#   --without NEED,...  capabilities the target lacks although its ApiVersions lists them
#                       (kip848, transactions, ...: compat/target.py CAPABILITIES)
#   -- ARGS             pytest arguments instead of `compat` (e.g. compat/test_kcat.py,
#                       or compat -k codec)
#
# With --bootstrap, differential mode (compat/differential/) also compares the target's
# answers with Rill's field by field (RILL_DIFF_BOOTSTRAP); the report lists differences.
#
# Against another broker, tests that need what it cannot offer (a broker they may
# restart or start with flags, its log, a broker of their own, capabilities missing
# from its ApiVersions) are skipped with the reason, never failed: compat/README.md, "Against
# another broker". Installs what the suites need, as scripts/test.sh does.
# Exit status: 0 when nothing failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
# The target is what the arguments say, never an environment left over from a caller
# (e.g. this script run by a test that itself runs against --bootstrap).
unset RILL_BOOTSTRAP RILL_CONFORMANCE_SKIPS RILL_DIFF_BOOTSTRAP

BOOTSTRAP=""
OUT=""
LIBRDKAFKA=0
SECURITY=PLAINTEXT
PYTEST_ARGS=()
die() {
    echo "conformance.sh: $*" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --bootstrap) BOOTSTRAP="${2:?--bootstrap needs HOST:PORT}"; shift 2 ;;
        --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
        --librdkafka) LIBRDKAFKA=1; shift ;;
        --security) SECURITY="${2:?--security needs a protocol}"; shift 2 ;;
        --without) export RILL_TARGET_WITHOUT="${2:?--without needs a list}"; shift 2 ;;
        --) shift; PYTEST_ARGS=("$@"); break ;;
        -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
case "${SECURITY^^}" in
    PLAINTEXT) ;;
    *) die "--security $SECURITY: only PLAINTEXT targets are supported so far (the suites' clients are configured for PLAINTEXT; SASL and TLS are tested against brokers the suite starts)" ;;
esac
if [ -n "$BOOTSTRAP" ]; then
    [[ "$BOOTSTRAP" =~ ^[^:]+:[0-9]+$ ]] || die "--bootstrap wants HOST:PORT, got $BOOTSTRAP"
    [ "$LIBRDKAFKA" -eq 0 ] || die "--librdkafka starts its own brokers; it cannot run against --bootstrap"
fi

step() {
    printf '\n==== %s [%s] ====\n' "$*" "$(date +%T)"
}

# RUN: this run's raw results (JUnit XML, cargo output, skip list), wiped first.
if [ -n "$OUT" ]; then
    RUN="$OUT/raw"
elif [ -n "$BOOTSTRAP" ]; then
    RUN="$ROOT/target/conformance/${BOOTSTRAP//[^A-Za-z0-9._-]/_}"
    OUT="$RUN"
else
    RUN="$ROOT/target/conformance/rill"
    OUT="$ROOT/conformance"
fi
if [ -n "$BOOTSTRAP" ]; then
    TARGET="$BOOTSTRAP"
else
    TARGET="rill serve, started by the suites"
fi
rm -rf "$RUN"
mkdir -p "$RUN" "$OUT"

step "prerequisites and build (scripts/test.sh --compat-only --collect-only)"
scripts/test.sh --compat-only --collect-only -q >"$RUN/prerequisites.log" 2>&1 || {
    tail -30 "$RUN/prerequisites.log"
    die "installing prerequisites failed (log: $RUN/prerequisites.log)"
}

python3 - "$RUN/meta.json" "$TARGET" <<'EOF'
import json, subprocess, sys, datetime
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
json.dump({"target": sys.argv[2], "commit": commit or "?",
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": "scripts/conformance.sh" + (" --bootstrap …" if "serve" not in sys.argv[2] else "")},
          open(sys.argv[1], "w"))
EOF

export RILL_RUN_ID="${RILL_RUN_ID:-$(date +%s | tail -c 7)}"
ENVS=()
if [ -n "$BOOTSTRAP" ]; then
    ENVS=(RILL_BOOTSTRAP="$BOOTSTRAP" RILL_CONFORMANCE_SKIPS="$RUN/protocol-skips.tsv")
    # The target must answer before anything is judged against it.
    "$ROOT/.venv/bin/python" -c "import sys; sys.path.insert(0, 'compat'); import target; target.api_versions('$BOOTSTRAP')" ||
        die "no Kafka broker answers ApiVersions at $BOOTSTRAP"
fi

status=0
step "protocol-tests (cargo test --test protocol) against $TARGET"
env "${ENVS[@]}" cargo test --test protocol >"$RUN/protocol.txt" 2>&1 || status=1
grep -E '^test result|FAILED|^conformance: skipped' "$RUN/protocol.txt" || true

step "differential mode (cargo test --test differential): the target's answers vs Rill's, field by field"
DIFF_ENV=()
[ -z "$BOOTSTRAP" ] || DIFF_ENV=(RILL_DIFF_BOOTSTRAP="$BOOTSTRAP")
rm -f "$ROOT/target/tmp/differential-report.txt"
env "${DIFF_ENV[@]}" cargo test --test differential -- --nocapture >"$RUN/differential.txt" 2>&1 || status=1
[ ! -f "$ROOT/target/tmp/differential-report.txt" ] || cp "$ROOT/target/tmp/differential-report.txt" "$RUN/"
grep -E '^test result|FAILED|^SKIPPED differential|^differential ' "$RUN/differential.txt" || true

step "compat suite (pytest compat) against $TARGET"
[ "${#PYTEST_ARGS[@]}" -gt 0 ] || PYTEST_ARGS=(compat)
env "${ENVS[@]}" "$ROOT/.venv/bin/python" -m pytest -q --junitxml="$RUN/compat.xml" "${PYTEST_ARGS[@]}" || status=1

LIB_TSV="$ROOT/conformance/librdkafka.tsv"
if [ "$LIBRDKAFKA" -eq 1 ]; then
    step "librdkafka test suite, allow list (compat/librdkafka/run.sh)"
    RILL_LIBRDKAFKA_RESULTS="$LIB_TSV" compat/librdkafka/run.sh || status=1
fi

step "report card"
LIB_ARGS=()
[ -z "$BOOTSTRAP" ] && [ -f "$LIB_TSV" ] && LIB_ARGS=(--librdkafka "$LIB_TSV")
python3 conformance/report.py "$RUN" --out "$OUT" "${LIB_ARGS[@]+"${LIB_ARGS[@]}"}"
echo
echo "conformance report: $OUT/REPORT.md (and report.json)"
exit "$status"
