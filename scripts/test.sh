#!/usr/bin/env bash
# The whole Rill test suite, runnable on a fresh Debian machine:
#   1. installs what it needs (kcat, a Python venv with the pinned clients, KafkaJS, and
#      from Debian: Go with sarama and kafka-go, python3-kafka, rsyslog with omkafka; the
#      crates of the Rust rdkafka driver in compat/rust-rdkafka),
#   2. Rust checks: fmt, clippy, build, unit + protocol tests, a short fuzzing pass
#      (scripts/fuzz.sh), bench smoke run,
#   3. container tests: starts dockerd if none answers (installs docker.io if missing),
#      builds the rill:dev image offline and runs compat/containers.rs and the differential
#      mode (compat/differential/), then stops the dockerd it started,
#   4. the compat suite: off-the-shelf Kafka clients against a real `rill serve`.
# Idempotent: installs are skipped when already done. Run from any directory.
#
#   scripts/test.sh                      everything (what CI runs)
#   scripts/test.sh --compat-only [ARGS] prerequisites, cargo build, then pytest compat ARGS
set -euo pipefail

COMPAT_ONLY=0
if [ "${1:-}" = "--compat-only" ]; then
    COMPAT_ONLY=1
    shift
fi
PYTEST_ARGS=("$@")

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
KAFKAJS_DIR="$ROOT/compat/kafkajs"

step() {
    printf '\n==== %s [%s] ====\n' "$*" "$(date +%T)"
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi

APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        "${SUDO[@]}" apt-get update -qq
        APT_UPDATED=1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# sha256 of the given files, to tell whether an install is up to date.
stamp_of() {
    cat "$@" | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------- prerequisites
step "prerequisites: system packages (kcat, python3 venv, node, chromium + chromium-driver, Go clients, python3-kafka, rsyslog-kafka)"
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The web console's browser test (compat/test_console.py): Debian's headless Chromium
# and its WebDriver; no test downloads a browser.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
# Debian's own clients for compat/test_go.py, test_debian_clients.py and test_log_shippers.py:
# Go (sarama and kafka-go sources, built offline in GOPATH mode), kafka-python 2.0.2 for the
# system python, rsyslog with omkafka. gcc and libc6-dev (golang-go only recommends them): sarama
# imports a cgo zstd binding. make (with gcc): rdkafka-sys builds the librdkafka it bundles
# for compat/test_rust_rdkafka.py (its configure script and Makefile).
for pkg in golang-go gcc libc6-dev make golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev \
    python3-kafka rsyslog rsyslog-kafka; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}"
else
    echo "all present"
fi
kcat -V 2>&1 | grep -m1 '^Version' || true
python3 --version
echo "node $(node --version), npm $(npm --version 2>/dev/null)"
/usr/bin/chromium --version 2>/dev/null || true
echo "$(go version), $(dpkg-query -W -f='sarama ${Version}' golang-github-shopify-sarama-dev), \
$(dpkg-query -W -f='kafka-go ${Version}' golang-github-segmentio-kafka-go-dev), \
$(dpkg-query -W -f='python3-kafka ${Version}' python3-kafka), $(dpkg-query -W -f='rsyslog-kafka ${Version}' rsyslog-kafka)"

step "prerequisites: Python venv ($VENV) with compat/requirements.txt"
req_stamp="$(stamp_of compat/requirements.txt)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
fi
if [ "$(cat "$VENV/.rill-requirements.sha256" 2>/dev/null)" != "$req_stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r compat/requirements.txt
    echo "$req_stamp" >"$VENV/.rill-requirements.sha256"
else
    echo "up to date"
fi
"$VENV/bin/python" - <<'EOF'
import confluent_kafka, kafka
from kafka import codec
missing = [n for n, ok in [("snappy", codec.has_snappy()), ("lz4", codec.has_lz4()), ("zstd", codec.has_zstd())] if not ok]
assert not missing, f"kafka-python lacks codecs: {missing}"
import aiokafka
from aiokafka import codec as aio_codec
aio_missing = [n for n, ok in [("gzip", aio_codec.has_gzip()), ("snappy", aio_codec.has_snappy()), ("lz4", aio_codec.has_lz4()), ("zstd", aio_codec.has_zstd())] if not ok]
assert not aio_missing, f"aiokafka lacks codecs: {aio_missing}"
print(f"confluent-kafka {confluent_kafka.version()} (librdkafka {confluent_kafka.libversion()[0]}), kafka-python {kafka.__version__}, aiokafka {aiokafka.__version__}")
EOF

step "prerequisites: KafkaJS (npm ci in compat/kafkajs)"
npm_stamp="$(stamp_of "$KAFKAJS_DIR/package.json" "$KAFKAJS_DIR/package-lock.json")"
if [ "$(cat "$KAFKAJS_DIR/node_modules/.rill-lock.sha256" 2>/dev/null)" != "$npm_stamp" ]; then
    (cd "$KAFKAJS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$npm_stamp" >"$KAFKAJS_DIR/node_modules/.rill-lock.sha256"
else
    echo "up to date"
fi
(cd "$KAFKAJS_DIR" && node compat.js selftest - -)

# The Rust rdkafka driver (compat/rust-rdkafka, its own workspace) is built by its test
# into target/compat-rdkafka; its crates are fetched here so nothing downloads at test time.
step "prerequisites: crates of compat/rust-rdkafka (cargo fetch --locked)"
cargo fetch --locked --manifest-path compat/rust-rdkafka/Cargo.toml

# ------------------------------------------------------------------------ Rust
rust_checks() {
    step "cargo fmt --check"
    cargo fmt --all -- --check

    step "cargo clippy --all-targets [--features testcontainers] -- -D warnings"
    cargo clippy --all-targets -- -D warnings
    cargo clippy --all-targets --features testcontainers -- -D warnings

    step "cargo build"
    cargo build

    step "cargo test (unit tests and protocol-tests)"
    cargo test

    step "a crate outside the repo using rill::testing::TestBroker (scripts/external-crate.sh)"
    scripts/external-crate.sh

    # A short pass of every fuzz target (nightly, installed when missing; an unoptimised
    # build, which is most of the step's time). The committed corpora and crash
    # reproducers already ran above, in `cargo test` (src/fuzzing.rs); this looks for new
    # crashes.
    step "scripts/fuzz.sh --dev 5 (each fuzz target for 5 s)"
    scripts/fuzz.sh --dev 5

    if compgen -G "benches/*.rs" >/dev/null; then
        step "cargo bench -- --test (each benchmark run once, as a smoke test)"
        cargo bench -- --test
    else
        step "cargo bench: no benches/*.rs, skipped"
    fi
}

# ------------------------------------------------------------------ containers
# A Docker engine for the container tests: the one already running, or one started here
# (host network only: no bridge, no iptables) and stopped again afterwards.
DOCKERD_PID=""
stop_dockerd() {
    if [ -n "$DOCKERD_PID" ]; then
        "${SUDO[@]}" kill "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            "${SUDO[@]}" kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.2
        done
        echo "stopped the dockerd this script started"
        DOCKERD_PID=""
    fi
}
start_dockerd() {
    if docker info >/dev/null 2>&1; then
        echo "a Docker engine already answers"
        return
    fi
    command -v dockerd >/dev/null 2>&1 || apt_install docker.io
    local log="$ROOT/target/dockerd.log"
    mkdir -p "$ROOT/target"
    "${SUDO[@]}" dockerd --bridge=none --iptables=false --ip-forward=false >"$log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 150); do
        if docker info >/dev/null 2>&1; then
            echo "started dockerd (pid $DOCKERD_PID, log $log)"
            return
        fi
        sleep 0.2
    done
    echo "dockerd did not answer within 30 s; its log:" >&2
    tail -20 "$log" >&2
    stop_dockerd
    exit 1
}
container_tests() {
    step "container tests: dockerd, scripts/image.sh, cargo test --release --features testcontainers --test containers --test differential"
    trap stop_dockerd EXIT
    start_dockerd
    scripts/image.sh
    # differential: Kafka (RILL_DIFF_KAFKA_IMAGE) vs Rill if the engine has the image, else
    # skipped with the reason; its skip paths with and without an engine are tested here.
    cargo test --release --features testcontainers --test containers --test differential
    stop_dockerd
    trap - EXIT
}

if [ "$COMPAT_ONLY" -eq 1 ]; then
    step "cargo build (--compat-only: fmt, clippy, cargo test, benches and containers skipped)"
    cargo build
else
    rust_checks
    container_tests
fi

# ---------------------------------------------------------------------- compat
step "compat suite: pytest compat (confluent-kafka, kafka-python, kcat, KafkaJS, Go, rsyslog, ... vs rill serve)"
export RILL_BIN="$ROOT/target/debug/rill"
# pytest's summary line is the last thing printed: CI reads it.
exec "$VENV/bin/python" -m pytest compat -q "${PYTEST_ARGS[@]}"
