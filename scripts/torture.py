#!/usr/bin/env python3
"""Crash-loop torture run: kill -9 `rill serve --fsync always` under produce load, over and
over, while retention and the log cleaner run, then check that no acknowledged record was
lost or corrupted.

Each cycle starts the broker on the same data directory, produces to three topics with
confluent-kafka's default (idempotent, acks=all) producer for a random moment, and kills
the broker with SIGKILL mid-load. Three topics exercise the three lifecycles:

  plain      cleanup.policy=delete, no limits: every acknowledged record must be at its
             acknowledged offset with its value.
  retained   retention.bytes/segment.bytes small: the same, for offsets at or above the
             low watermark (below it retention may delete); the low watermark never moves
             back.
  compacted  cleanup.policy=compact: for every key, the latest acknowledged record is
             still there, or a later record of the same key supersedes it.

Any record that fails to decode (CRC, framing) counts as corrupted.

    .venv/bin/python scripts/torture.py [--cycles 100] [--bin target/release/rill] [--json out.json]

Prints a report; exits 1 if anything acknowledged was lost or corrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent

TOPICS = {
    "plain": ({}, 2),
    "retained": ({"retention.bytes": "65536", "segment.bytes": "16384"}, 1),
    "compacted": (
        {
            "cleanup.policy": "compact",
            "segment.bytes": "16384",
            "segment.ms": "200",
            "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "0",
        },
        1,
    ),
}
KEYS = 200


def default_bin() -> str:
    for p in ("target/release/rill", "target/debug/rill"):
        if (ROOT / p).exists():
            return str(ROOT / p)
    sys.exit("no rill binary: cargo build first, or pass --bin")


class Broker:
    def __init__(self, binary: str, data: Path, log: Path):
        self.binary, self.data, self.log = binary, data, log
        self.proc = None
        self.addr = None

    def start(self) -> float:
        ready = self.data.parent / "ready"
        ready.unlink(missing_ok=True)
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [
                self.binary, "serve",
                "--listen", "127.0.0.1:0",
                "--data-dir", str(self.data),
                "--fsync", "always",
                "--ready-file", str(ready),
                "--log-retention-check-interval-ms", "100",
                "--log-cleaner-backoff-ms", "50",
                "--log-level", "warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),
        )
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() - t0 > 30:
                raise RuntimeError("broker not ready within 30 s")
            time.sleep(0.002)
        # Line 1: the Kafka listener (an `http://` line may follow).
        self.addr = ready.read_text().splitlines()[0].strip()
        return time.monotonic() - t0

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def create_topics(addr: str):
    admin = AdminClient({"bootstrap.servers": addr})
    fs = admin.create_topics(
        [NewTopic(t, p, config=c) for t, (c, p) in TOPICS.items()], operation_timeout=10
    )
    for f in fs.values():
        f.result()


def produce_cycle(addr: str, cycle: int, seconds: float, acked: dict, broker: Broker):
    """Produces until `seconds` pass, kills the broker mid-load, and records every
    acknowledged record as (topic, partition, offset) -> (key, value)."""
    p = Producer({"bootstrap.servers": addr})
    errors = []

    def on_delivery(err, msg):
        if err is None:
            acked[(msg.topic(), msg.partition(), msg.offset())] = (msg.key(), msg.value())
        else:
            errors.append(err)

    seq = 0
    deadline = time.monotonic() + seconds
    rng = random.Random(cycle)
    while time.monotonic() < deadline:
        topic = rng.choice(list(TOPICS))
        key = f"k{rng.randrange(KEYS)}".encode()
        value = f"{cycle}:{seq}:".encode() + b"x" * rng.randrange(10, 400)
        try:
            p.produce(topic, key=key, value=value, on_delivery=on_delivery)
            seq += 1
        except BufferError:
            p.poll(0.01)
        p.poll(0)
    broker.kill9()
    # Whatever was not acknowledged before the kill is not counted.
    p.purge()
    p.flush(0)
    p.poll(0)
    return seq


def read_all(addr: str, topic: str, partitions: int):
    """Every record of a topic: {(partition, offset): (key, value)}, low watermarks and
    the number of records that failed to decode."""
    c = Consumer(
        {
            "bootstrap.servers": addr,
            "group.id": f"torture-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "check.crcs": True,
        }
    )
    out, lows, corrupt = {}, {}, 0
    for part in range(partitions):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
        lows[part] = lo
        if hi <= lo:
            continue
        c.assign([TopicPartition(topic, part, lo)])
        last = lo - 1
        deadline = time.monotonic() + 60
        while last < hi - 1 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    corrupt += 1
                    print(f"  decode error on {topic}/{part}: {m.error()}", file=sys.stderr)
                continue
            out[(part, m.offset())] = (m.key(), m.value())
            last = m.offset()
        # Compaction leaves gaps: reaching past the last offset read is fine.
    c.close()
    return out, lows, corrupt


def verify(addr: str, acked: dict, prev_lows: dict):
    report = {"lost": 0, "mismatched": 0, "corrupted": 0, "low_watermark_moved_back": 0,
              "retained_low_watermark": 0, "compacted_in_log": 0, "compacted_acked": 0}
    for topic, (_, partitions) in TOPICS.items():
        log, lows, corrupt = read_all(addr, topic, partitions)
        report["corrupted"] += corrupt
        for part, lo in lows.items():
            if lo < prev_lows.get((topic, part), 0):
                report["low_watermark_moved_back"] += 1
            prev_lows[(topic, part)] = lo
        mine = {(p, o): kv for (t, p, o), kv in acked.items() if t == topic}
        if topic == "retained":
            report["retained_low_watermark"] = lows.get(0, 0)
        if topic == "compacted":
            # Evidence the cleaner ran: fewer records in the log than were acknowledged.
            report["compacted_in_log"] = len(log)
            report["compacted_acked"] = len(mine)
            latest = {}
            for (p, o), (k, v) in mine.items():
                if k not in latest or o > latest[k][0]:
                    latest[k] = (o, v)
            last_in_log = {}
            for (p, o), (k, v) in log.items():
                if k not in last_in_log or o > last_in_log[k][0]:
                    last_in_log[k] = (o, v)
            for k, (o, v) in latest.items():
                have = last_in_log.get(k)
                if have is None or have[0] < o:
                    report["lost"] += 1
                elif have[0] == o and have[1] != v:
                    report["mismatched"] += 1
        else:
            for (p, o), kv in mine.items():
                if o < lows.get(p, 0):
                    continue  # deleted by retention
                got = log.get((p, o))
                if got is None:
                    report["lost"] += 1
                elif got != kv:
                    report["mismatched"] += 1
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--bin", default=None)
    ap.add_argument("--min-load", type=float, default=0.2, help="shortest load before a kill (s)")
    ap.add_argument("--max-load", type=float, default=1.5, help="longest load before a kill (s)")
    ap.add_argument("--verify-every", type=int, default=10, help="check everything every N cycles")
    ap.add_argument("--json", default=None, help="also write the report here")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()
    binary = args.bin or default_bin()

    root = Path(tempfile.mkdtemp(prefix="rill-torture-"))
    broker = Broker(binary, root / "data", root / "broker.log")
    acked: dict = {}
    restarts, produced = [], 0
    prev_lows: dict = {}
    worst = {"lost": 0, "mismatched": 0, "corrupted": 0, "low_watermark_moved_back": 0}
    final = {}
    rng = random.Random(7)
    t_start = time.monotonic()
    try:
        broker.start()
        create_topics(broker.addr)
        for cycle in range(args.cycles):
            if cycle > 0:
                restarts.append(broker.start())
            produced += produce_cycle(broker.addr, cycle, rng.uniform(args.min_load, args.max_load), acked, broker)
            if (cycle + 1) % args.verify_every == 0 or cycle + 1 == args.cycles:
                restarts.append(broker.start())
                r = verify(broker.addr, acked, prev_lows)
                for k in worst:
                    worst[k] = max(worst[k], r[k])
                print(f"cycle {cycle + 1}/{args.cycles}: acked {len(acked)} records, {r}", flush=True)
                broker.kill9()
        # A final graceful restart and check.
        restarts.append(broker.start())
        final = verify(broker.addr, acked, prev_lows)
        broker.stop()
    finally:
        broker.kill9()
    for k in worst:
        worst[k] = max(worst[k], final[k])
    ms = sorted(r * 1000 for r in restarts)
    report = {
        "cycles": args.cycles,
        "kill9": args.cycles,
        "records_sent": produced,
        "records_acknowledged": len(acked),
        "acknowledged_lost": worst["lost"],
        "mismatched": worst["mismatched"],
        "corrupted": worst["corrupted"],
        "low_watermark_moved_back": worst["low_watermark_moved_back"],
        "retention_low_watermark": final["retained_low_watermark"],
        "compacted_records_in_log": final["compacted_in_log"],
        "compacted_records_acknowledged": final["compacted_acked"],
        "restart_ms": {
            "count": len(ms),
            "min": round(ms[0], 1),
            "median": round(statistics.median(ms), 1),
            "p99": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
            "max": round(ms[-1], 1),
        },
        "wall_s": round(time.monotonic() - t_start, 1),
        "binary": binary,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not args.keep and report["acknowledged_lost"] == 0 and report["corrupted"] == 0:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"data kept in {root}", file=sys.stderr)
    ok = report["acknowledged_lost"] == 0 and report["corrupted"] == 0 and report["mismatched"] == 0 \
        and report["low_watermark_moved_back"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
