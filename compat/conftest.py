"""Fixtures for the compat suite: real `rill serve` processes on 127.0.0.1.

* `broker`          - a fresh ephemeral broker per test; yields its "host:port".
* `broker_factory`  - make more brokers (persistent --data-dir, other flags);
                      each is a `RillBroker` that can be stopped, kill -9'd and
                      restarted on the same data dir.
* `topic`           - a unique topic name for the test.

When a test fails, the tail of every broker log it used is added to the report.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rill_broker import BrokerError, RillBroker, rill_bin  # noqa: E402


def pytest_report_header(config):
    return f"rill binary: {rill_bin()}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.failed:
        for i, broker in enumerate(getattr(item, "_rill_brokers", [])):
            report.sections.append((f"rill broker #{i} log tail ({broker.log_path})", broker.log_tail(80)))


@pytest.fixture
def broker_factory(request):
    """Returns make(**kwargs) -> started RillBroker (kwargs as for RillBroker, plus
    start=False to only create it). Temp dirs are removed after a passing test and
    kept (path printed) after a failing one."""
    root = Path(tempfile.mkdtemp(prefix="rill-compat-"))
    brokers: list[RillBroker] = []
    request.node._rill_brokers = brokers

    def make(start: bool = True, **kwargs) -> RillBroker:
        n = len(brokers)
        if kwargs.get("data_dir") == "auto":
            kwargs["data_dir"] = root / f"data{n}"
        broker = RillBroker(root / f"broker{n}", **kwargs)
        brokers.append(broker)
        if start:
            broker.start()
        return broker

    make.root = root
    yield make

    crashed = []
    for broker in brokers:
        if broker.proc is not None and broker.proc.poll() is not None:
            crashed.append(f"died during the test with exit code {broker.proc.returncode}")
            broker._forget()
            continue
        if broker.running():
            try:
                rc = broker.stop()
                if rc != 0:
                    crashed.append(f"exit code {rc} on SIGTERM at teardown")
            except BrokerError as e:
                crashed.append(str(e))
    failed = any(
        getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    if failed or crashed:
        print(f"rill compat temp dir kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    if crashed:
        pytest.fail("rill broker failed: " + "; ".join(crashed), pytrace=False)


@pytest.fixture
def broker(broker_factory) -> str:
    """Bootstrap address ("127.0.0.1:port") of a fresh ephemeral broker."""
    return broker_factory().bootstrap


@pytest.fixture
def topic(request) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)
    return f"compat-{name}"[:200]
