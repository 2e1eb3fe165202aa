"""A log shipper from the Flume world writing into rill: rsyslog's omkafka output
(Debian's rsyslog + rsyslog-kafka 8.2302, on Debian's librdkafka) fed by its imtcp input.

Each test runs its own `rsyslogd -n -f <temp conf> -i <temp pidfile>` in the
foreground with a temp work directory and an imtcp input on an ephemeral port (written
to a file by `listenPortFileName`); no system service, no /dev/log. Syslog lines are
sent over TCP, and confluent-kafka reads what omkafka wrote. omkafka keeps its defaults
(its own partitioning, librdkafka's producer defaults) except `broker.address.family=v4`
as every librdkafka client in this suite.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import ck

RSYSLOGD = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
OMKAFKA = next(
    (p for p in Path("/usr/lib").glob("*/rsyslog/omkafka.so")),
    None,
)
pytestmark = pytest.mark.skipif(
    RSYSLOGD is None or OMKAFKA is None,
    reason="rsyslog / rsyslog-kafka not installed (run scripts/test.sh or apt-get install rsyslog rsyslog-kafka)",
)


class Rsyslog:
    """rsyslogd in the foreground on a temp config: imtcp (ephemeral port) -> omkafka."""

    def __init__(self, work: Path, bootstrap: str, topic: str, extra_action: str = ""):
        self.work = work
        (work / "spool").mkdir(parents=True, exist_ok=True)
        self.port_file = work / "port"
        self.conf = work / "rsyslog.conf"
        self.out = work / "rsyslogd.out"
        self.conf.write_text(
            f"""
global(workDirectory="{work / 'spool'}")
module(load="imtcp")
module(load="omkafka")
template(name="line" type="string" string="%programname% %procid% %msg%")
# rsyslogd's own messages (the default ruleset: imtcp feeds "tokafka") go to a file.
*.* action(type="omfile" file="{work / 'internal.log'}")
input(type="imtcp" port="0" listenPortFileName="{self.port_file}" ruleset="tokafka")
ruleset(name="tokafka") {{
  action(type="omkafka" broker=["{bootstrap}"] topic="{topic}" template="line"
         confParam=["broker.address.family=v4"] {extra_action})
}}
"""
        )
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(self.conf)], capture_output=True, timeout=30)
        assert check.returncode == 0, f"rsyslogd -N1 rejected the config:\n{check.stderr.decode()}"
        self.proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(work / "rsyslogd.pid")],
            stdout=self.out.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while not (self.port_file.exists() and self.port_file.read_text().strip()):
            assert self.proc.poll() is None, f"rsyslogd exited {self.proc.returncode}: {self.output()}"
            assert time.monotonic() < deadline, f"rsyslogd wrote no port file: {self.output()}"
            time.sleep(0.05)
        self.port = int(self.port_file.read_text().strip())

    def output(self) -> str:
        """rsyslogd's stdout/stderr and its own log messages (last 3000 characters)."""
        text = ""
        for f in (self.out, self.work / "internal.log"):
            if f.exists():
                text += f.read_text(errors="replace")
        return text[-3000:]

    def send(self, lines: list[str]) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall("".join(line + "\n" for line in lines).encode())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"rsyslogd ignored SIGTERM for 20 s: {self.output()}")
        return self.proc.returncode


@pytest.fixture
def rsyslog(broker_factory):
    started: list[Rsyslog] = []

    def make(bootstrap: str, topic: str, **kw) -> Rsyslog:
        r = Rsyslog(broker_factory.root / f"rsyslog{len(started)}", bootstrap, topic, **kw)
        started.append(r)
        return r

    yield make
    for r in started:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait()


def syslog_lines(n: int, tag: str, t0: dt.datetime) -> tuple[list[str], dict[bytes, int]]:
    """RFC 5424 lines from app `shipper-TAG` (procid = index), each with its own
    timestamp (ms precision); returns them and the expected record value -> time in ms."""
    lines, expected = [], {}
    for i in range(n):
        ts = t0 + dt.timedelta(milliseconds=1000 * i + i % 1000)
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
        msg = f"event {i} of {n} from {tag}: user=u{i % 7} status={200 + i % 3}"
        lines.append(f"<14>1 {stamp} loghost shipper-{tag} {i} - - {msg}")
        expected[f"shipper-{tag} {i} {msg}".encode()] = int(ts.timestamp() * 1000)
    return lines, expected


def check_arrived(got: list[ck.Got], expected: dict[bytes, int]) -> None:
    """Every expected value exactly once, nothing else; no key, no headers; CreateTime
    = the syslog timestamp in whole seconds (omkafka passes the message time to
    librdkafka at second precision)."""
    values = [g.value for g in got]
    assert len(values) == len(set(values)), "a message arrived twice"
    missing = set(expected) - set(values)
    extra = set(values) - set(expected)
    assert not missing and not extra, f"missing {sorted(missing)[:3]}, unexpected {sorted(extra)[:3]}"
    for g in got:
        assert g.key is None and g.headers == [], g
        want = expected[g.value]
        assert g.timestamp_type == 1 and g.timestamp == want - want % 1000, (g, want)


@pytest.mark.parametrize(
    "partitioning,extra_action",
    [
        pytest.param("default", "", id="default"),
        pytest.param("round-robin", 'partitions.number="3"', id="partitions.number"),
        pytest.param("librdkafka", 'partitions.auto="on"', id="partitions.auto"),
    ],
)
def test_rsyslog_omkafka_ships_to_topic(broker, topic, rsyslog, partitioning, extra_action):
    """500 syslog lines over TCP into rsyslog reach a 3-partition rill topic through
    omkafka: every one exactly once, the content rendered by the template, CreateTime
    from the syslog timestamp, gap-free offsets; rsyslogd exits 0 on SIGTERM.
    Partitioning: omkafka's default sends everything to partition 0; with
    `partitions.number="3"` it spreads messages round-robin over all 3; with
    `partitions.auto="on"` librdkafka's partitioner picks (keyless: sticky, so any
    subset)."""
    ck.create_topic(broker, topic, partitions=3)
    r = rsyslog(broker, topic, extra_action=extra_action)
    t0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
    lines, expected = syslog_lines(500, "a", t0)
    r.send(lines[:250])
    r.send(lines[250:])
    got = ck.consume_all(broker, topic, 3, expect=500, timeout=60)
    check_arrived(got, expected)
    per: dict[int, list[int]] = {}
    for g in got:
        per.setdefault(g.partition, []).append(g.offset)
    for p, offs in per.items():
        assert sorted(offs) == list(range(len(offs))), f"partition {p}: offsets not 0..n-1"
    if partitioning == "default":
        assert sorted(per) == [0], f"omkafka used partitions {sorted(per)}"
    if partitioning == "round-robin":
        assert sorted(len(v) for v in per.values()) == [166, 167, 167], {p: len(v) for p, v in per.items()}
    assert r.stop() == 0, r.output()
    assert sum(ck.watermarks(broker, topic, p)[1] for p in range(3)) == 500


def test_rsyslog_omkafka_auto_created_topic(broker_factory, topic, rsyslog):
    """omkafka to a topic that does not exist yet: rill auto-creates it (2 default
    partitions) and every message arrives; more messages after a pause still do (the
    same omkafka producer, idle in between)."""
    b = broker_factory(default_partitions=2).bootstrap
    r = rsyslog(b, topic)
    t0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    lines, expected = syslog_lines(40, "b", t0)
    r.send(lines[:20])
    ck.wait_for_topic(b, topic, 2, timeout=30)
    assert len(ck.consume_all(b, topic, 2, expect=20, timeout=60)) == 20
    time.sleep(2)
    r.send(lines[20:])
    got = ck.consume_all(b, topic, 2, expect=40, timeout=60)
    check_arrived(got, expected)
    assert r.stop() == 0, r.output()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RELIABLE = 'queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="2"'


def test_rsyslog_omkafka_rides_out_broker_restart(broker_factory, topic, rsyslog):
    """The shipper's job: rill stops (SIGTERM) while rsyslog keeps accepting lines, and
    comes back on the same port and data dir. With rsyslog's documented reliable-forwarding
    settings (an action queue, retry forever; a 2 s resume interval instead of 30 s to keep
    the test short), every line of before, during and after arrives; lines of the outage
    may arrive twice (rsyslog retries a batch omkafka had already handed to librdkafka:
    at-least-once), nothing else does, and offsets are gap-free.

    With rsyslog's defaults (no action queue, action.resumeRetryCount=0) the lines that
    come while the action is suspended (the outage and the 30 s resume interval after
    it) are discarded by rsyslog: that is rsyslog's delivery contract whatever the
    broker, so this test uses the settings its documentation gives for reliability."""
    b = broker_factory(data_dir="auto", port=_free_port())
    ck.create_topic(b.bootstrap, topic, partitions=1)
    r = rsyslog(b.bootstrap, topic, extra_action=RELIABLE)
    t0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    lines, expected = syslog_lines(90, "c", t0)
    r.send(lines[:30])
    assert len(ck.consume_all(b.bootstrap, topic, 1, expect=30, timeout=60)) == 30
    assert b.stop() == 0
    r.send(lines[30:60])
    time.sleep(2)  # rsyslog has them and cannot deliver
    b.start()
    r.send(lines[60:])
    deadline = time.monotonic() + 90
    while True:
        got = ck.consume_all(b.bootstrap, topic, 1, timeout=30)
        if set(expected) <= {g.value for g in got} or time.monotonic() > deadline:
            break
        time.sleep(1)
    values = [g.value for g in got]
    missing = sorted(set(expected) - set(values))
    assert not missing, f"{len(missing)} lines never arrived, first {missing[:3]}; rsyslog: {r.output()}"
    assert set(values) == set(expected), "unexpected records"
    during = set(list(expected)[30:60])
    twice = {v for v in values if values.count(v) > 1}
    assert twice <= during, f"lines outside the outage arrived twice: {sorted(twice - during)[:3]}"
    assert sorted(g.offset for g in got) == list(range(len(got)))
    for g in got:
        want = expected[g.value]
        assert g.timestamp == want - want % 1000, (g, want)
    assert r.stop() == 0, r.output()
