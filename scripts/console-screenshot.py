#!/usr/bin/env python3
"""Makes docs/console.png: a broker with a few topics, JSON records and a consumer group
that lags (confluent-kafka), photographed by headless Chromium's own `--screenshot`.

    /work/main/.venv/bin/python scripts/console-screenshot.py [--rill target/debug/rill] [--out docs/console.png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "compat"))

import chromium  # noqa: E402
import ck  # noqa: E402
from rill_broker import RillBroker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rill", default=str(ROOT / "target/debug/rill"))
    ap.add_argument("--out", default=str(ROOT / "docs/console.png"))
    ap.add_argument("--page", default="/", help="console path to photograph, e.g. /#/group/billing")
    args = ap.parse_args()
    if chromium.available():
        sys.exit(chromium.available())
    os.environ["RILL_BIN"] = str(Path(args.rill).resolve())
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    work = Path(tempfile.mkdtemp(prefix="rill-console-shot-"))
    b = RillBroker(work, extra_args=["--http-listen", "127.0.0.1:0"])
    b.start()
    consumer = reader = None
    try:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        layout = {"orders": 6, "payments": 3, "clickstream": 12, "inventory-updates": 4, "audit-log": 1}
        for f in admin.create_topics([NewTopic(t, n) for t, n in layout.items()]).values():
            f.result()
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(1200):
            p.produce("orders", key=f"customer-{i % 40}", value=json.dumps(
                {"order_id": 10_000 + i, "sku": f"SKU-{i % 17:03d}", "qty": 1 + i % 3, "status": "placed"}))
            if i % 3 == 0:
                p.produce("payments", key=f"order-{10_000 + i}", value=json.dumps({"amount": 19.9 + i % 50, "currency": "EUR"}))
            if i % 2 == 0:
                p.produce("clickstream", value=json.dumps({"page": f"/p/{i % 23}", "ms": 40 + i % 300}))
        for i in range(90):
            p.produce("audit-log", value=f"user {i % 5} logged in".encode())
        p.flush(30)
        consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "billing",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe(["orders", "payments"])
        if ck.poll_messages(consumer, 900):
            consumer.commit(asynchronous=False)  # every partition's position
        # A second look a little later gives the in-rates something to show.
        for i in range(300):
            p.produce("clickstream", value=json.dumps({"page": f"/p/{i % 23}", "ms": 40 + i % 300}))
        p.flush(10)
        urls = b.http + args.page
        # One look first so the in-rate sample exists, then photograph a second later.
        subprocess.run([chromium.CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--dump-dom", urls], capture_output=True, timeout=60)
        for i in range(200):
            p.produce("clickstream", value=json.dumps({"page": f"/p/{i % 23}", "ms": 40 + i % 300}))
            time.sleep(0.01)
        p.flush(10)
        # A second group fetching between the two looks gives the out-rates something.
        reader = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "analytics",
                           "auto.offset.reset": "earliest", "enable.auto.commit": False})
        reader.subscribe(["clickstream"])
        if ck.poll_messages(reader, 1300, timeout=10):
            reader.commit(asynchronous=False)
        consumer.poll(0.1)  # keep the billing member alive
        subprocess.run([chromium.CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1400,600",
                        "--virtual-time-budget=3000", f"--screenshot={args.out}", urls],
                       check=True, capture_output=True, timeout=60)
        print(f"wrote {args.out}")
    finally:
        if consumer is not None:
            consumer.close()
        if reader is not None:
            reader.close()
        b.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
