#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (libFuzzer's -max_total_time) and
# fails if any of them crashes (a panic, an abort, a timeout or running out of memory).
#
#   scripts/fuzz.sh SECONDS [TARGET...]     all targets, or the ones named
#
# Installs what it needs when missing: the nightly toolchain and cargo-fuzz. Targets are
# built without a sanitizer (the crate is safe Rust but for the mmap'd indexes; libFuzzer's
# coverage guidance stays) and with debug assertions, so integer overflow panics.
# Each target starts from fuzz/corpus/<target>/ and fuzz/regressions/<target>/; new inputs
# go to fuzz/target/corpus/<target>/ (not committed). A crash leaves its input in
# fuzz/artifacts/<target>/: once fixed, commit it to fuzz/regressions/<target>/, where
# `cargo test` replays it (src/fuzzing.rs).
set -euo pipefail

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
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
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

FLAGS=(--sanitizer none --debug-assertions)
cargo +nightly fuzz build "${FLAGS[@]}"

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo +nightly fuzz list)
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
    cargo +nightly fuzz run "${FLAGS[@]}" "$t" \
        "$FUZZ/target/corpus/$t" "$FUZZ/corpus/$t" "$FUZZ/regressions/$t" -- \
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
