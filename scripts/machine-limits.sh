#!/usr/bin/env bash
# This machine's own limits, the yardsticks for the broker's figures:
#   - loopback TCP throughput between two processes (one stream, 1 MiB writes),
#   - sequential write bandwidth with a final fdatasync (and without: page cache only),
#   - fdatasyncs/s after appending 4 KiB and 1 MiB,
#   - the loopback round-trip floor: 64 KiB echoed by another process, 2000 times a
#     second (what any request/response pays here before the broker does anything).
# All are `rill bench limits ...` subcommands (Rust, so the probe is not the bottleneck).
#
#   scripts/machine-limits.sh [--dir DIR] [--json]
#
#   --dir DIR   filesystem to measure (default: $RILL_DATA_DIR, else ~/.local/share/rill,
#               i.e. where `rill serve` keeps its data). A scratch file is made and removed.
#   --json      one JSON object on stdout instead of the text lines.
# Environment: RILL_BIN (default: target/release/rill, built if absent),
#              RILL_LIMITS_TCP_SECS (5), RILL_LIMITS_DISK_MIB (1024), RILL_LIMITS_FSYNC_SECS (3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DIR="${RILL_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/rill}"
JSON=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DIR="$2"; shift 2 ;;
        --json) JSON=1; shift ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$DIR"

BIN="${RILL_BIN:-target/release/rill}"
if [ -z "${RILL_BIN:-}" ] && [ ! -x "$BIN" ]; then
    cargo build --release --quiet >&2
fi

TCP_SECS="${RILL_LIMITS_TCP_SECS:-5}"
DISK_MIB="${RILL_LIMITS_DISK_MIB:-1024}"
FSYNC_SECS="${RILL_LIMITS_FSYNC_SECS:-3}"

if [ "$JSON" -eq 1 ]; then
    tcp=$("$BIN" bench limits tcp --duration "${TCP_SECS}s" --json)
    disk=$("$BIN" bench limits disk --dir "$DIR" --mib "$DISK_MIB" --json)
    cache=$("$BIN" bench limits disk --dir "$DIR" --mib "$DISK_MIB" --no-fdatasync --json)
    f4k=$("$BIN" bench limits fsync --dir "$DIR" --size 4096 --duration "${FSYNC_SECS}s" --json)
    f1m=$("$BIN" bench limits fsync --dir "$DIR" --size 1048576 --duration "${FSYNC_SECS}s" --json)
    rtt=$("$BIN" bench limits rtt --size 65536 --rate 2000 --duration "${FSYNC_SECS}s" --json)
    printf '{"tcp":%s,"write_fdatasync":%s,"write_page_cache":%s,"fdatasync_4k":%s,"fdatasync_1m":%s,"rtt_64k":%s}\n' \
        "$tcp" "$disk" "$cache" "$f4k" "$f1m" "$rtt"
else
    "$BIN" bench limits tcp --duration "${TCP_SECS}s"
    "$BIN" bench limits disk --dir "$DIR" --mib "$DISK_MIB"
    "$BIN" bench limits disk --dir "$DIR" --mib "$DISK_MIB" --no-fdatasync
    "$BIN" bench limits fsync --dir "$DIR" --size 4096 --duration "${FSYNC_SECS}s"
    "$BIN" bench limits fsync --dir "$DIR" --size 1048576 --duration "${FSYNC_SECS}s"
    "$BIN" bench limits rtt --size 65536 --rate 2000 --duration "${FSYNC_SECS}s"
fi
