#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (libFuzzer's -max_total_time) and fails
# if any of them crashes (a panic, an abort, a timeout or running out of memory).
#
#   scripts/fuzz.sh [--dev] SECONDS [TARGET...]     all targets, or the ones named
#
# The targets are cargo-fuzz's (`cargo +nightly fuzz run <target>` works the same for
# development), but this script needs no cargo-fuzz: it builds them itself with nightly
# and the flags cargo-fuzz passes (SanitizerCoverage for libFuzzer's guidance, `--cfg
# fuzzing`, debug assertions so integer overflow panics; no sanitizer: the crate is safe
# Rust but for the mmap'd indexes), for the host target so build scripts and proc macros
# stay uninstrumented. It installs the nightly toolchain if missing.
#
#   --dev   build without optimisations: the build takes a fraction of the time and the
#           targets run slower (what CI's short pass uses); default: release
#
# Each target starts from fuzz/corpus/<target>/ and fuzz/regressions/<target>/; new inputs
# go to fuzz/target/corpus/<target>/ (not committed). A crash leaves its input in
# fuzz/artifacts/<target>/: once fixed, commit it to fuzz/regressions/<target>/, where
# `cargo test` replays it (src/fuzzing.rs).
set -euo pipefail

PROFILE=release
if [ "${1:-}" = --dev ]; then
    PROFILE=debug
    shift
fi
if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh [--dev] SECONDS [TARGET...]" >&2
    exit 2
fi
SECONDS_PER_TARGET="$1"
shift

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
FUZZ="$ROOT/fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
HOST="$(rustc +nightly -vV | sed -n 's/^host: //p')"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-pc-table"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
RUSTFLAGS+=" --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
BUILD=(cargo +nightly build --manifest-path "$FUZZ/Cargo.toml" --target "$HOST" --bins)
[ "$PROFILE" = release ] && BUILD+=(--release)
printf '==== building the fuzz targets (%s) [%s] ====\n' "$PROFILE" "$(date +%T)"
RUSTFLAGS="$RUSTFLAGS" "${BUILD[@]}"
BIN_DIR="$FUZZ/target/$HOST/$PROFILE"

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$FUZZ/Cargo.toml" | grep -v '^rill-fuzz$')
fi

# The harnesses' temporary directories (a broker's data dir, partition logs) live here and
# go when the run ends, however it ends.
export TMPDIR="$FUZZ/target/tmp"
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT

failed=()
summary=()
for t in "${TARGETS[@]}"; do
    printf '\n==== fuzz %s: %s s [%s] ====\n' "$t" "$SECONDS_PER_TARGET" "$(date +%T)"
    mkdir -p "$FUZZ/target/corpus/$t" "$FUZZ/corpus/$t" "$FUZZ/regressions/$t"
    log="$FUZZ/target/fuzz-$t.log"
    status=0
    mkdir -p "$FUZZ/artifacts/$t"
    "$BIN_DIR/$t" "$FUZZ/target/corpus/$t" "$FUZZ/corpus/$t" "$FUZZ/regressions/$t" \
        -artifact_prefix="$FUZZ/artifacts/$t/" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs="$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')"
    cov="$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+' || true)"
    if [ "$status" -ne 0 ]; then
        tail -40 "$log"
        failed+=("$t")
        summary+=("$(printf '%-18s CRASHED  (log: %s)' "$t" "${log#"$ROOT"/}")")
    else
        summary+=("$(printf '%-18s ok  %10s executions in %s s  %s' "$t" "${execs:-?}" "$SECONDS_PER_TARGET" "$cov")")
    fi
done

printf '\n==== fuzz summary ====\n'
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashed: ${failed[*]} (reproducers in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
