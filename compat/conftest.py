"""Fixtures for the compat suite: real `rill serve` processes on 127.0.0.1.

* `broker`          - a fresh ephemeral broker per test; yields its "host:port".
* `broker_factory`  - make more brokers (persistent --data-dir, other flags);
                      each is a `RillBroker` that can be stopped, kill -9'd and
                      restarted on the same data dir.
* `topic`           - a unique topic name for the test.

When a test fails, the tail of every broker log it used is added to the report.

With RILL_BOOTSTRAP=host:port the suite tests that broker instead (target.py):
`broker` is that address, `broker_factory()` gives it, and tests that need more
(`@pytest.mark.needs(...)`, or broker_factory called with flags) are skipped.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import target  # noqa: E402
from rill_broker import BrokerError, RillBroker, rill_bin  # noqa: E402

EXTERNAL = target.external_bootstrap()
_OFFERED: set[str] | None = None


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs(*names): what the test needs beyond a plain broker (compat/target.py NEEDS); "
        "skipped with the reason against a target that lacks it",
    )


def pytest_report_header(config):
    if EXTERNAL:
        return f"target: external broker {EXTERNAL} (offers: {', '.join(sorted(_offered())) or 'nothing extra'})"
    return f"rill binary: {rill_bin()}"


def _offered() -> set[str]:
    global _OFFERED
    if _OFFERED is None:
        _OFFERED = target.offered(EXTERNAL) if EXTERNAL else set(target.NEEDS)
    return _OFFERED


def pytest_collection_modifyitems(config, items):
    for item in items:
        needs = [n for m in item.iter_markers("needs") for n in m.args]
        unknown = [n for n in needs if n not in target.NEEDS]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown need(s) {unknown}; see compat/target.py NEEDS")
        if not EXTERNAL:
            continue
        reason = target.missing_reason(needs, _offered())
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.failed:
        for i, broker in enumerate(getattr(item, "_rill_brokers", [])):
            report.sections.append((f"rill broker #{i} log tail ({broker.log_path})", broker.log_tail(80)))


class ExternalBroker:
    """The target broker, for tests written against a RillBroker: an address and
    nothing else. Using what only a started broker has is a test bug (an undeclared
    need), reported as such."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.listeners = {"PLAINTEXT": bootstrap}
        self.http = None
        self.log_path = Path("/nonexistent/external-broker.log")

    def running(self) -> bool:
        return True

    def log_tail(self, lines: int = 60) -> str:
        return f"(external broker {self.bootstrap}: no log)"

    def _undeclared(self, what: str, need: str):
        pytest.fail(
            f"test {what} the external broker {self.bootstrap}: declare @pytest.mark.needs({need!r})",
            pytrace=False,
        )

    def start(self):
        return self.bootstrap

    def stop(self, *a, **k):
        self._undeclared("stops", "restart")

    def kill(self, *a, **k):
        self._undeclared("kills", "restart")

    def restart(self, *a, **k):
        self._undeclared("restarts", "restart")


def describe(kwargs: dict) -> str:
    """The broker a test asked broker_factory for, as a skip reason."""
    shown = {k: v for k, v in kwargs.items() if k not in ("data_dir", "env")}
    flags = RillBroker(Path(tempfile.gettempdir()), **shown).flags()
    if kwargs.get("data_dir"):
        flags.insert(0, "a data dir of its own")
    flags += [f"{k}={v}" for k, v in (kwargs.get("env") or {}).items()]
    return " ".join(flags) or "default flags"


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
        if EXTERNAL:
            if kwargs:
                pytest.skip(f"target lacks: flags (a broker started with {describe(kwargs)})")
            return ExternalBroker(EXTERNAL)
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
    if EXTERNAL:
        # One broker for every test: the module keeps test_kcat's and test_confluent's
        # test_acks[0] apart, the run's suffix keeps this run apart from earlier ones.
        module = request.node.module.__name__.removeprefix("test_")
        suffix = f"-{target.run_suffix()}"
        return f"compat-{module}-{name}"[: 200 - len(suffix)] + suffix
    return f"compat-{name}"[:200]
