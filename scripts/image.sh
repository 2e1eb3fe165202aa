#!/usr/bin/env bash
# Builds the container images rill:dev and rill:<version> offline: a static release build
# of rill on this machine, copied into a `FROM scratch` image (scripts/image/Dockerfile).
# Nothing is pulled from a registry. Needs a running Docker engine.
#
#   scripts/image.sh            build, tag rill:dev and rill:<version>, print the size
#   scripts/image.sh --print    only print the image tags it would build
#
# Run it:  docker run --rm --network host rill:dev            (a broker on localhost:9092)
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tags=(rill:dev "rill:$version")
if [[ "${1:-}" == "--print" ]]; then
    printf '%s\n' "${tags[@]}"
    exit 0
fi
if ! docker info >/dev/null 2>&1; then
    echo "image.sh: no Docker engine answers (docker info failed); start dockerd first" >&2
    exit 1
fi

# A static binary (glibc, static-pie): the image has no libc to link against. Only the
# `rill` binary itself is linked with crt-static (`cargo rustc` passes the flag to that
# one crate), over the ordinary release build of the library and its dependencies, so
# nothing else is compiled twice. Cargo keeps both links apart and puts back the
# dynamic one at the next `cargo build --release`.
cargo rustc --release --locked --bin rill -- -C target-feature=+crt-static
bin="target/release/rill"
if ! ldd "$bin" 2>&1 | grep -q 'statically linked\|not a dynamic'; then
    echo "image.sh: $bin is not statically linked" >&2
    exit 1
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp scripts/image/Dockerfile "$ctx/Dockerfile"
cp "$bin" "$ctx/rill"
strip "$ctx/rill"
mkdir "$ctx/data" "$ctx/tmp"
chmod 1777 "$ctx/tmp"

# The classic builder: BuildKit may not be installed, and nothing here needs it.
DOCKER_BUILDKIT=0 docker build --quiet "${tags[@]/#/--tag=}" "$ctx" >/dev/null
size=$(docker image inspect --format '{{.Size}}' rill:dev)
echo "built ${tags[*]}: $((size / 1024)) KiB ($(du -k "$ctx/rill" | cut -f1) KiB binary)"
