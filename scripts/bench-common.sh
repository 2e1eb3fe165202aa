# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run): page-cache hygiene, a process's CPU
# time, and waiting for `rill serve --ready-file`.

# Before each load run: write back and drop the page cache, when allowed (root). On VMs
# whose memory the host backs lazily, page cache growing into never-touched guest memory
# costs ~10x per page (profiled: copy_folio_from_iter_atomic at 70% of the broker), so
# without this a run's speed depends on how much memory earlier runs touched.
# RILL_BENCH_DROP_CACHES=0 turns the dropping off.
DROP_CACHES=0
if [ -w /proc/sys/vm/drop_caches ] && [ "${RILL_BENCH_DROP_CACHES:-1}" = 1 ]; then
    DROP_CACHES=1
fi
fresh_cache() {
    sync
    if [ "$DROP_CACHES" = 1 ]; then echo 1 >/proc/sys/vm/drop_caches; fi
}

# proc_cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat;
# the command name in field 2 may hold spaces, so count from the ')' that ends it).
proc_cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# wait_ready FILE: waits up to 10 s for `rill serve --ready-file FILE`, then prints the
# address it wrote (nothing if it never did).
wait_ready() {
    for _ in $(seq 1 1000); do
        [ -s "$1" ] && break
        sleep 0.01
    done
    head -n1 "$1" 2>/dev/null || true
}

# stop_broker: SIGTERM to $BROKER_PID (if set), wait for it, and forget it.
stop_broker() {
    if [ -n "${BROKER_PID:-}" ]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=""
    fi
}
