#!/usr/bin/env bash
# Measures `docker run rill:dev` → first answered Kafka request (ApiVersions), N times,
# and the image size. Needs a Docker engine and the image (scripts/image.sh).
#
#   scripts/container-bench.sh [N]        default N=10
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
image=rill:dev
cargo build --release --quiet
rill=target/release/rill

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now_ms() { date +%s%3N; }

times=()
for i in $(seq 1 "$runs"); do
    port=$(free_port)
    name="rill-bench-$$-$i"
    t0=$(now_ms)
    docker run -d --rm --name "$name" --network host "$image" --ephemeral \
        --listen "127.0.0.1:$port" >/dev/null
    until "$rill" health --bootstrap "127.0.0.1:$port" --timeout-ms 200 2>/dev/null; do
        if [ $(($(now_ms) - t0)) -gt 10000 ]; then
            echo "no answer within 10 s" >&2
            docker rm -f "$name" >/dev/null 2>&1 || true
            exit 1
        fi
        sleep 0.005
    done
    t1=$(now_ms)
    times+=($((t1 - t0)))
    docker rm -f "$name" >/dev/null 2>&1 || true
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
size=$(docker image inspect "$image" --format '{{.Size}}')
echo "image $image: $((size / 1024)) KiB"
echo "docker run -> first answered ApiVersions over $runs runs (ms): min $(echo "$sorted" | head -1)," \
    "median $(echo "$sorted" | sed -n "$(((runs + 1) / 2))p"), max $(echo "$sorted" | tail -1)"
