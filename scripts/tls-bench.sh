#!/usr/bin/env bash
# What TLS costs: produce and consume MB/s over SASL_SSL (SCRAM-SHA-512 inside TLS 1.3)
# against PLAINTEXT, on one `rill serve` with both listeners, in the same run, driven by
# librdkafka's `rdkafka_performance` (built with OpenSSL by compat/librdkafka/run.sh)
# through scripts/rdkafka-perf.sh. Runs alternate PLAINTEXT and SASL_SSL, so drift of the
# machine hits both alike. Prints a table of medians and the SASL_SSL / PLAINTEXT ratio.
#
#   scripts/tls-bench.sh [--bytes B] [--size BYTES] [--partitions P] [--runs N] [--out FILE]
#
#   --bytes       bytes produced (then consumed) per run (default 409600000)
#   --size        record size (default 1024)
#   --partitions  default 1
#   --runs        runs per protocol (default 3)
#   --out FILE    also write the table to FILE
#
# Certificates: a throwaway self-signed one for 127.0.0.1 (openssl). MB/s are medians;
# broker CPU-s per GB moved (read from /proc as in rdkafka-perf.sh) are means. Environment: RILL_BIN (default
# target/release/rill, built if absent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

BYTES=409600000
SIZE=1024
PARTITIONS=1
RUNS=3
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bytes) BYTES="$2"; shift 2 ;;
        --size) SIZE="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
say() { printf '[tls-bench] %s\n' "$*" >&2; }

BIN="${RILL_BIN:-$ROOT/target/release/rill}"
if [ -z "${RILL_BIN:-}" ]; then
    say "building $BIN"
    cargo build --release --quiet >&2
fi

BROKER_PID=""
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rill-tls-bench.XXXXXX")"
cleanup() {
    stop_broker
    rm -rf "$WORK"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$WORK/broker.key" -out "$WORK/broker.pem" 2>/dev/null
echo "bench:bench-secret" >"$WORK/users"
"$BIN" serve --listen PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0 \
    --tls-cert "$WORK/broker.pem" --tls-key "$WORK/broker.key" --users-file "$WORK/users" \
    --data-dir "$WORK/data" --log-level warn --ready-file "$WORK/ready" 2>"$WORK/rill.log" &
BROKER_PID=$!
PLAIN="$(wait_ready "$WORK/ready")"
[ -n "$PLAIN" ] || { cat "$WORK/rill.log" >&2; echo "rill did not start" >&2; exit 1; }
SECURE="$(sed -n 's|^SASL_SSL://||p' "$WORK/ready")"
say "rill pid $BROKER_PID: PLAINTEXT $PLAIN, SASL_SSL $SECURE"
TLS_ARGS="-X security.protocol=SASL_SSL -X ssl.ca.location=$WORK/broker.pem -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=bench -X sasl.password=bench-secret"

for run in $(seq 1 "$RUNS"); do
    for proto in PLAINTEXT SASL_SSL; do
        say "run $run/$RUNS: $proto"
        if [ "$proto" = PLAINTEXT ]; then addr="$PLAIN" args=""; else addr="$SECURE" args="$TLS_ARGS"; fi
        RDKAFKA_PERF_ARGS="$args" RILL_BIN="$BIN" scripts/rdkafka-perf.sh \
            --bootstrap "$addr" --admin-bootstrap "$PLAIN" --broker-pid "$BROKER_PID" \
            --topic "tls-bench-$proto-r$run" --partitions "$PARTITIONS" --bytes "$BYTES" \
            --size "$SIZE" --tsv "$WORK/$proto-$run.tsv" >&2
    done
done

# Medians per protocol and mode, then the ratio.
table="$(for f in "$WORK"/*-*.tsv; do
    proto="$(basename "$f" | sed 's/-[0-9]*\.tsv$//')"
    awk -F '\t' -v p="$proto" 'NR > 1 && $6 != "" { print p "\t" $1 "\t" $6 "\t" $7 / ($8 / 1e9) }' "$f"
done | sort -k1,1 -k2,2 -k3,3n | awk -F '\t' '
    { key = $1 "\t" $2; n[key]++; v[key, n[key]] = $3; cpu[key] += $4 }
    function med(arr, k, m) { return m % 2 ? arr[k, (m + 1) / 2] : (arr[k, m / 2] + arr[k, m / 2 + 1]) / 2 }
    END {
        for (k in n) { mb[k] = med(v, k, n[k]); split(k, kk, "\t"); modes[kk[2]] = 1 }
        print "| mode | PLAINTEXT MB/s | SASL_SSL MB/s | SASL_SSL / PLAINTEXT | broker CPU-s/GB PLAINTEXT | SASL_SSL | runs |"
        print "|---|---|---|---|---|---|---|"
        for (m in modes) {
            a = mb["PLAINTEXT\t" m]; b = mb["SASL_SSL\t" m]
            pa = "PLAINTEXT\t" m; sa = "SASL_SSL\t" m
            printf "| %s | %.1f | %.1f | %.2f | %.2f | %.2f | %d + %d |\n", m, a, b, (a > 0 ? b / a : 0),
                (n[pa] ? cpu[pa] / n[pa] : 0), (n[sa] ? cpu[sa] / n[sa] : 0), n[pa], n[sa]
        }
    }')"
header="TLS cost: $BYTES bytes of $SIZE-byte records per run, $PARTITIONS partition(s), rdkafka_performance (librdkafka 2.12.1, OpenSSL), rill $(git rev-parse --short HEAD 2>/dev/null || echo ?), $(nproc) cores"
printf '%s\n\n%s\n' "$header" "$table"
if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")"
    printf '%s\n\n%s\n' "$header" "$table" >"$OUT"
fi
