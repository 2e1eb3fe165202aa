#!/usr/bin/env bash
# Builds and tests compat/external-crate as a crate outside this repository: copied to a
# temp dir, depending on rill by path, with the repository's Cargo.lock so the shared
# target dir reuses what `cargo build` already compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp -r compat/external-crate/. "$dir/"
sed "s|@RILL_PATH@|$root|" compat/external-crate/Cargo.toml.in >"$dir/Cargo.toml"
rm "$dir/Cargo.toml.in"
cp Cargo.lock "$dir/Cargo.lock"
cd "$dir"
CARGO_TARGET_DIR="$root/target" cargo test --quiet
