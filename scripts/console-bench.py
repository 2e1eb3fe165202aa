#!/usr/bin/env python3
"""Web console page-load figures with 10,000 partitions.

Starts `rill serve --http-listen 127.0.0.1:0` on a fresh data dir, creates topics
totalling --partitions partitions (through the JSON API), puts a few records in some of
them and a consumer group on one, then measures in headless Chromium (Debian's chromium +
chromedriver, as compat/test_console.py) the time from navigation start to the page's
content rendered (`performance.now()` when the console marks the page done), and the API
response times seen by a plain HTTP client. Prints a Markdown table (median and max of
--runs runs). Optionally writes a screenshot of the overview (--screenshot FILE).

    /work/main/.venv/bin/python scripts/console-bench.py --rill target/release/rill
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "compat"))

import chromium  # noqa: E402
import ck  # noqa: E402
from rill_broker import RillBroker  # noqa: E402


def call(base: str, path: str, body=None, method=None) -> tuple[float, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        out = json.load(r)
    return (time.perf_counter() - t0) * 1000, out


def stats(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f} | {max(xs):.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rill", default=str(ROOT / "target/release/rill"))
    ap.add_argument("--partitions", type=int, default=10_000)
    ap.add_argument("--per-topic", type=int, default=100, help="partitions per topic")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--screenshot", help="write a PNG of the overview here")
    args = ap.parse_args()
    if chromium.available():
        sys.exit(chromium.available())

    import os
    os.environ["RILL_BIN"] = str(Path(args.rill).resolve())
    work = Path(tempfile.mkdtemp(prefix="rill-console-bench-"))
    b = RillBroker(work, data_dir=work / "data", extra_args=["--http-listen", "127.0.0.1:0"])
    b.start()
    try:
        topics = args.partitions // args.per_topic
        t0 = time.perf_counter()
        for i in range(topics):
            call(b.http, "/api/topics", {"name": f"bench-{i:05d}", "partitions": args.per_topic})
        print(f"created {topics} topics x {args.per_topic} partitions in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
        # Some data: a JSON record in partition 0 of every tenth topic, and a group.
        from confluent_kafka import Consumer, Producer
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(0, topics, 10):
            for n in range(20):
                p.produce(f"bench-{i:05d}", value=json.dumps({"order": n, "sku": f"sku-{n % 7}"}), partition=0)
        p.flush(30)
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "bench-readers",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.subscribe(["bench-00000"])
        got = ck.poll_messages(c, 5, timeout=60)
        if got:
            c.commit(message=got[-1], asynchronous=False)

        rows = []
        for label, path in [
            ("GET /api/cluster", "/api/cluster"),
            ("GET /api/topics?limit=50", "/api/topics?limit=50"),
            ("GET /api/topics?search=bench-0099&limit=50", "/api/topics?search=bench-0099&limit=50"),
            ("GET /api/topics?limit=1000", "/api/topics?limit=1000"),
            ("GET /api/groups", "/api/groups"),
            (f"GET /api/topics/bench-00000 ({args.per_topic} partitions)", "/api/topics/bench-00000"),
        ]:
            call(b.http, path)
            rows.append((label, stats([call(b.http, path)[0] for _ in range(args.runs)])))

        d = chromium.driver()
        try:
            def load(url: str, page: str) -> float:
                d.get("about:blank")
                d.get(url)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    t = d.execute_script(
                        "return document.body.dataset.loaded === arguments[0] ? window.rillRendered : null", page)
                    if t is not None:
                        return float(t)
                    time.sleep(0.01)
                raise RuntimeError(f"{url} did not render")

            for label, url, page in [
                ("overview page (topics + groups, first 50)", b.http + "/", "overview"),
                (f"topic page ({args.per_topic} partitions + configs)", b.http + "/#/topic/bench-00000", "topic"),
                ("message browser (newest 50)", b.http + "/#/messages/bench-00000?partition=0", "messages"),
                ("group page", b.http + "/#/group/bench-readers", "group"),
            ]:
                load(url, page)
                rows.append((label + " in Chromium", stats([load(url, page) for _ in range(args.runs)])))
            if args.screenshot:
                d.get("about:blank")
                d.get(b.http + "/")
                load(b.http + "/", "overview")
                d.save_screenshot(args.screenshot)
        finally:
            d.quit()
        c.close()
    finally:
        # A clean shutdown fsyncs every partition: 10k of them take a while.
        b.stop(timeout=300)
        shutil.rmtree(work, ignore_errors=True)

    cluster = f"{topics} topics, {topics * args.per_topic} partitions"
    print(f"\n{cluster}; {args.runs} runs each; times in ms\n")
    print("| what | median | max |\n|---|---:|---:|")
    for label, s in rows:
        print(f"| {label} | {s} |")


if __name__ == "__main__":
    main()
