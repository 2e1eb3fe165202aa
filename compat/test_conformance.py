"""Conformance mode (scripts/conformance.sh --bootstrap): this suite run against a broker
it did not start, and the report card made from such a run.

A nested pytest runs a few compat files with RILL_BOOTSTRAP pointing at a broker
started here (as a user would start one by hand): tests that only need a broker pass,
tests that need more are skipped with the reason, none fails, and a second run on the
same broker gives the same verdicts. conformance/report.py then turns the JUnit XML into
the report card."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import target
from conftest import ExternalBroker

ROOT = Path(__file__).resolve().parent.parent
FILES = ["compat/test_kcat.py", "compat/test_restart.py", "compat/test_debian_clients.py"]


def nested_run(
    bootstrap: str, out: Path, run_id: str, files: list[str] = FILES, **env_extra: str
) -> dict[str, tuple[str, str]]:
    """pytest `files` against `bootstrap`; returns test -> (outcome, skip reason)."""
    env = {**os.environ, "RILL_BOOTSTRAP": bootstrap, "RILL_RUN_ID": f"{run_id}{os.getpid()}", **env_extra}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider", f"--junitxml={out}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    verdicts = {}
    for case in ET.parse(out).getroot().iter("testcase"):
        name = f"{case.get('classname').rpartition('.')[2]}::{case.get('name')}"
        outcome, reason = "pass", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "fail"
            elif child.tag == "skipped":
                outcome, reason = "skip", child.get("message") or ""
        verdicts[name] = (outcome, reason)
    return verdicts


def test_against_a_broker_started_by_hand(broker, tmp_path):
    first = nested_run(broker, tmp_path / "one.xml", "c1")
    kcat = {k: v for k, v in first.items() if k.startswith("test_kcat::")}
    assert len(kcat) >= 10, first
    # Every kcat test but one runs and passes; that one wants --default-partitions 3.
    skipped = {k: v[1] for k, v in kcat.items() if v[0] == "skip"}
    assert list(skipped) == ["test_kcat::test_metadata_and_auto_create"], kcat
    assert "target lacks: flags (a broker started with --default-partitions 3)" in skipped[
        "test_kcat::test_metadata_and_auto_create"
    ]
    assert all(v[0] == "pass" for k, v in kcat.items() if k not in skipped), kcat
    # test_restart.py declares needs("restart"): every test skipped, with that reason.
    restart = {k: v for k, v in first.items() if k.startswith("test_restart::")}
    assert restart and all(
        v[0] == "skip" and "target lacks: restart (stops, kills or restarts the broker)" in v[1]
        for v in restart.values()
    ), restart
    # Debian's kafka-python: its admin test lists only what it made on the shared broker.
    debian = {k: v for k, v in first.items() if k.startswith("test_debian_clients::")}
    assert debian and all(v[0] in ("pass", "skip") for v in debian.values()), debian
    assert not any(v[0] == "fail" for v in first.values()), first

    # Again on the same broker (its topics from the first run still there): same verdicts.
    second = nested_run(broker, tmp_path / "two.xml", "c2")
    assert {k: v[0] for k, v in second.items()} == {k: v[0] for k, v in first.items()}

    # The report card of that run: rows by feature, a kcat column, reasons listed.
    run = tmp_path / "run"
    run.mkdir()
    (run / "compat.xml").write_bytes((tmp_path / "two.xml").read_bytes())
    (run / "meta.json").write_text(json.dumps({"target": broker, "commit": "test", "date": "now"}))
    r = subprocess.run(
        [sys.executable, str(ROOT / "conformance" / "report.py"), str(run)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    md = (run / "REPORT.md").read_text()
    assert md == r.stdout
    header = next(line for line in md.splitlines() if line.startswith("| feature |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert "kcat" in columns and "confluent-kafka" in columns, header
    gzip = next(line for line in md.splitlines() if line.startswith("| produce/fetch: gzip |"))
    assert [c.strip() for c in gzip.strip("|").split("|")][columns.index("kcat")] == "1 ✓", gzip
    assert "target lacks: restart" in md and "## Skipped" in md
    data = json.loads((run / "report.json").read_text())
    want = {
        "pass": sum(v[0] == "pass" for v in second.values()),
        "skip": sum(v[0] == "skip" for v in second.values()),
    }
    assert data["totals"] == want, (data["totals"], want)
    assert {t["test"].replace(".py::", "::") for t in data["tests"]} == set(second)


def test_capabilities_come_from_api_versions(broker):
    """What an external Rill offers: every capability need (its ApiVersions lists them)."""
    apis = target.api_versions(broker)
    assert apis[18][0] == 0 and apis[0][1] >= 9, apis  # ApiVersions v0+, Produce up to v9+
    assert target.offered(broker) == set(target.CAPABILITIES)
    assert target.missing_reason(["restart", "transactions"], target.offered(broker)) == (
        "target lacks: restart (stops, kills or restarts the broker)"
    )
    assert target.missing_reason(["transactions"], target.offered(broker)) is None


def test_undeclared_needs_fail_with_the_need_to_declare():
    b = ExternalBroker("127.0.0.1:9")
    for call, need in ((b.restart, "restart"), (b.stop, "restart"), (b.kill, "restart")):
        with pytest.raises(pytest.fail.Exception, match=f"declare @pytest.mark.needs\\('{need}'\\)"):
            call()


def test_conformance_sh_makes_the_report_card(broker, tmp_path):
    """scripts/conformance.sh --bootstrap as a user runs it (compat narrowed to one
    file): protocol-tests with their declared skips, differential mode against the
    target, the report card printed and written, exit 0."""
    out = tmp_path / "report"
    # Names of its own: under `conformance.sh --bootstrap` this test shares the target
    # with the outer run, whose RILL_RUN_ID it would inherit.
    env = {**os.environ, "RILL_RUN_ID": f"cs{os.getpid()}"}
    r = subprocess.run(
        [str(ROOT / "scripts" / "conformance.sh"), "--bootstrap", broker, "--out", str(out), "--", "compat/test_kcat.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-3000:]
    md = (out / "REPORT.md").read_text()
    assert md in r.stdout
    data = json.loads((out / "report.json").read_text())
    suites = {t["suite"] for t in data["tests"]}
    assert suites == {"protocol-tests", "differential", "compat"}, suites
    assert data["totals"].get("fail", 0) == 0, data["totals"]
    raw = [t for t in data["tests"] if t["suite"] == "protocol-tests"]
    skipped = [t for t in raw if t["outcome"] == "skip"]
    # the restart tests need a broker they may restart: skipped with that reason
    assert any(t["test"].startswith("restart::") and "estart" in t["reason"] for t in skipped), skipped
    assert len(skipped) < len(raw) and all(t["reason"] for t in skipped)
    # differential mode compared the target (a Rill) with Rill: it ran and matched
    (ref,) = [t for t in data["tests"] if t["test"] == "differential::rill_matches_the_reference_broker"]
    assert ref["outcome"] == "pass", ref
    assert "0 differences" in md
    header = next(line for line in md.splitlines() if line.startswith("| feature |"))
    assert "raw protocol" in header and "kcat" in header, header
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(
            [str(ROOT / "scripts" / "conformance.sh"), "--bootstrap", broker, "--security", "SASL_SSL"],
            cwd=ROOT, capture_output=True, check=True, timeout=60,
        )


def test_a_capability_the_target_lacks_skips_its_tests(broker, tmp_path, monkeypatch):
    """RILL_TARGET_WITHOUT=kip848 (conformance.sh --without kip848), as for a broker that
    lists ConsumerGroupHeartbeat with KIP-848 turned off: test_groups_kip848.py declares
    needs("kip848") and is skipped whole, with that reason."""
    verdicts = nested_run(
        broker, tmp_path / "kip848.xml", "w", ["compat/test_groups_kip848.py"], RILL_TARGET_WITHOUT="kip848"
    )
    assert len(verdicts) >= 6
    for name, (outcome, reason) in verdicts.items():
        assert outcome == "skip", (name, outcome)
        assert "target lacks: kip848 (KIP-848 consumer groups (ConsumerGroupHeartbeat))" in reason, (name, reason)
    monkeypatch.setenv("RILL_TARGET_WITHOUT", "kip849")
    with pytest.raises(ValueError, match="not a capability"):
        target.offered(broker)
