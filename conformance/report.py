#!/usr/bin/env python3
"""The conformance report card: features x clients, from one run's results.

    conformance/report.py RUN_DIR [--out DIR] [--librdkafka TSV] [--target TEXT]

RUN_DIR holds what scripts/conformance.sh wrote:
  compat.xml            pytest's JUnit XML for compat/
  protocol.txt          `cargo test --test protocol` output ("test x ... ok")
  protocol-skips.tsv    "<test>\\t<reason>" for protocol-tests skipped by a need
  differential.txt      `cargo test --test differential -- --nocapture` output
  differential-report.txt  its differing fields, if any
  meta.json             target, commit, date
The librdkafka allow-list result is a TSV of "<entry>\\t<PASS|FAIL|...>\\t<detail>"
(compat/librdkafka/run.sh with RILL_LIBRDKAFKA_RESULTS).

Writes REPORT.md and report.json to --out (default RUN_DIR) and prints REPORT.md.
Which feature and client a test counts for is decided by the rules below, from the
test's file, name and parameters; a test no rule names is listed under "other".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

# ------------------------------------------------------------------ features
# A test's row: first by the file or protocol-tests module it is in when that is about
# one feature, else by the first keyword rule matching "file::name[params]".
GROUPS_CLASSIC = "consumer groups (classic)"
GROUPS_848 = "consumer groups (KIP-848)"
BY_FILE: dict[str, str] = {
    "test_acl": "ACLs",
    "acls": "ACLs",
    "test_sasl": "SASL",
    "sasl": "SASL",
    "test_tls": "TLS",
    "test_quotas": "quotas",
    "quotas": "quotas",
    "test_transactions": "transactions",
    "transactions": "transactions",
    "test_idempotence": "idempotence",
    "idempotence": "idempotence",
    "test_groups_kip848": GROUPS_848,
    "test_groups_confluent": GROUPS_CLASSIC,
    "test_groups_other": GROUPS_CLASSIC,
    "test_compaction": "compaction",
    "test_log_lifecycle": "retention, DeleteRecords, compression.type",
    "test_restart": "restart and recovery",
    "test_torture": "restart and recovery",
    "restart": "restart and recovery",
    "test_configs": "configs",
    "configs": "configs",
    "test_http": "observability (HTTP, metrics, console)",
    "test_metrics": "observability (HTTP, metrics, console)",
    "test_console": "observability (HTTP, metrics, console)",
    "metrics": "observability (HTTP, metrics, console)",
    "test_log_shippers": "log shippers",
    "test_cli": "tooling (CLI, Kafka scripts, Kafka env)",
    "test_kafka_tools": "tooling (CLI, Kafka scripts, Kafka env)",
    "test_kafka_env": "tooling (CLI, Kafka scripts, Kafka env)",
    "test_data_path": "produce/fetch: large and mid-batch reads",
    "test_conformance": "conformance mode and report card",
    "bad_input": "bad input",
    "differential": "differential mode (answers vs Rill's)",
    "api_versions": "metadata and API versions",
    "metadata": "metadata and API versions",
    "replicas": "metadata and API versions",
    "list_offsets": "list offsets and timestamps",
    "admin": "admin: topics and partitions",
}
# Files and modules with tests of several features: keyword rules, first match wins.
FEATURES: list[tuple[str, str]] = [
    ("transactions", r"transaction|read_committed|transform"),
    ("idempotence", r"idempoten|producer_id"),
    (GROUPS_848, r"kip848|\[consumer-"),  # [consumer-...]: group.protocol=consumer
    (GROUPS_CLASSIC, r"group"),
    ("produce/fetch: gzip", r"gzip"),
    ("produce/fetch: snappy", r"snappy"),
    ("produce/fetch: lz4", r"lz4"),
    ("produce/fetch: zstd", r"zstd"),
    ("configs", r"config"),
    ("retention, DeleteRecords, compression.type", r"retention|delete_records|log_dirs"),
    ("list offsets and timestamps", r"list_offsets|offsets_for_times|watermark|query_offsets|offsets"),
    ("admin: topics and partitions", r"admin|create_topic|delete_topic|partitions|describe_cluster"),
    ("metadata and API versions", r"metadata|api_versions|_is_\d"),
    ("produce/fetch", r"produce|fetch|consume|record|acks|auto_create|codec|writer|reader|reads|syncprod|async"),
]
ROWS = [
    "produce/fetch",
    "produce/fetch: gzip",
    "produce/fetch: snappy",
    "produce/fetch: lz4",
    "produce/fetch: zstd",
    "produce/fetch: large and mid-batch reads",
    "list offsets and timestamps",
    "metadata and API versions",
    "admin: topics and partitions",
    "configs",
    GROUPS_CLASSIC,
    GROUPS_848,
    "idempotence",
    "transactions",
    "compaction",
    "retention, DeleteRecords, compression.type",
    "restart and recovery",
    "SASL",
    "TLS",
    "ACLs",
    "quotas",
    "bad input",
    "differential mode (answers vs Rill's)",
    "observability (HTTP, metrics, console)",
    "tooling (CLI, Kafka scripts, Kafka env)",
    "log shippers",
    "conformance mode and report card",
    "librdkafka test suite (allow list)",
    "other",
]

# ------------------------------------------------------------------- clients
# (client, regex over "file::name[params]"), first match wins.
CLIENTS: list[tuple[str, str]] = [
    ("raw protocol", r"^[a-z_]+::"),
    ("rdkafka (Rust)", r"test_rust_rdkafka\.py"),
    ("sarama", r"sarama"),
    ("kafka-go", r"kafkago"),
    ("python3-kafka 2.0.2", r"test_debian_clients\.py"),
    ("rsyslog omkafka", r"rsyslog"),
    ("browser", r"test_console\.py"),
    ("rill CLI", r"test_cli\.py"),
    ("Kafka scripts", r"test_kafka_tools\.py"),
    ("Kafka image env", r"test_kafka_env\.py"),
    ("HTTP", r"test_http\.py"),
    ("harness", r"test_conformance\.py"),
    ("KafkaJS", r"kafkajs"),
    ("aiokafka", r"aiokafka"),
    ("kafka-python", r"kafka[-_]python"),
    ("kcat", r"kcat"),
    ("confluent-kafka", r"."),
]

# Columns: the clients users run first, then the librdkafka suite and raw requests, then tools.
CLIENT_ORDER = [
    "confluent-kafka",
    "kafka-python",
    "aiokafka",
    "KafkaJS",
    "kcat",
    "sarama",
    "kafka-go",
    "rdkafka (Rust)",
    "python3-kafka 2.0.2",
    "rsyslog omkafka",
    "librdkafka suite",
    "raw protocol",
    "rill CLI",
    "Kafka scripts",
    "Kafka image env",
    "HTTP",
    "browser",
    "harness",
]
assert set(CLIENT_ORDER) == {c for c, _ in CLIENTS} | {"librdkafka suite"}


def classify(key: str) -> tuple[str, str]:
    low = key.lower()
    where = low.split(".py::")[0] if ".py::" in low else low.split("::")[0]
    feature = BY_FILE.get(where) or next((f for f, rx in FEATURES if re.search(rx, low)), "other")
    client = next(c for c, rx in CLIENTS if re.search(rx, low))
    return feature, client


# -------------------------------------------------------------------- inputs
def compat_results(path: Path) -> list[dict]:
    out = []
    if not path.exists():
        return out
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").rpartition(".")[2]
        key = f"{module}.py::{case.get('name')}"
        outcome, reason = "pass", ""
        for child in case:
            if child.tag in ("failure", "error"):
                message = child.get("message") or child.tag
                outcome, reason = "fail", message.splitlines()[0][:300]
            elif child.tag == "skipped":
                if child.get("type") == "pytest.xfail":
                    outcome, reason = "xfail", child.get("message") or ""
                else:
                    outcome, reason = "skip", _skip_reason(child.get("message") or "")
        out.append({"suite": "compat", "test": key, "outcome": outcome, "reason": reason})
    return out


def _skip_reason(msg: str) -> str:
    # pytest's JUnit message for a skip is "path:line: reason" or just the reason.
    return re.sub(r"^\S+:\d+: ", "", msg).strip()


LINE = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)")


def protocol_results(path: Path, skips_path: Path) -> list[dict]:
    out = []
    if not path.exists():
        return out
    skips = {}
    if skips_path.exists():
        for line in skips_path.read_text().splitlines():
            name, _, reason = line.partition("\t")
            skips[name.strip()] = reason.strip()
    for line in path.read_text(errors="replace").splitlines():
        m = LINE.match(line)
        if not m:
            continue
        name, st = m.groups()
        if name in skips:
            outcome, reason = "skip", skips[name]
        else:
            outcome, reason = {"ok": "pass", "FAILED": "fail", "ignored": "ignored"}[st], ""
        if outcome == "ignored":
            continue  # #[ignore]d benches, not part of the suite
        out.append({"suite": "protocol-tests", "test": name, "outcome": outcome, "reason": reason})
    return out


SKIP_LINE = re.compile(r"^SKIPPED differential mode: (.*)$")


def differential_results(path: Path) -> list[dict]:
    """The differential mode's tests; its comparison with a reference broker is a skip
    with the reason when there was none."""
    if not path.exists():
        return []
    text = path.read_text(errors="replace")
    skip = next((m.group(1) for m in map(SKIP_LINE.match, text.splitlines()) if m), None)
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        if not m or m.group(2) == "ignored":
            continue
        name, st = m.groups()
        outcome, reason = ("pass", "") if st == "ok" else ("fail", "")
        if name == "rill_matches_the_reference_broker" and skip and outcome == "pass":
            outcome, reason = "skip", f"no reference broker: {skip}"
        out.append({"suite": "differential", "test": f"differential::{name}", "outcome": outcome, "reason": reason})
    return out


def librdkafka_results(path: Path | None) -> tuple[list[dict], list[str]]:
    if path is None or not path.exists():
        return [], []
    rows, header = [], []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            header.append(line.lstrip("# ").strip())
            continue
        entry, _, rest = line.partition("\t")
        st, _, detail = rest.partition("\t")
        outcome = {"PASS": "pass", "FAIL": "fail", "TIMEOUT": "fail"}.get(st, "skip")
        rows.append({"suite": "librdkafka", "test": entry, "outcome": outcome, "reason": detail if outcome != "pass" else ""})
    return rows, header


# -------------------------------------------------------------------- output
SYMBOL = {"pass": "✓", "fail": "✗", "skip": "skip", "xfail": "xfail"}


def cell(results: list[dict]) -> str:
    n = defaultdict(int)
    for r in results:
        n[r["outcome"]] += 1
    parts = []
    for o in ("pass", "fail", "xfail", "skip"):
        if n[o]:
            parts.append(f"{n[o]} {SYMBOL[o]}")
    return " ".join(parts)


def render(results: list[dict], meta: dict, lib_header: list[str]) -> str:
    totals = defaultdict(int)
    for r in results:
        totals[r["outcome"]] += 1
    grid: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        grid[r["feature"]][r["client"]].append(r)
    assert set(grid) <= set(ROWS), set(grid) - set(ROWS)
    features = [f for f in ROWS if f in grid]
    clients = [c for c in CLIENT_ORDER if any(c in grid[f] for f in features)]

    out = [f"# Conformance report: {meta.get('target', '?')}", ""]
    out.append(
        f"Run {meta.get('date', '?')} at commit `{meta.get('commit', '?')}`"
        f" by `{meta.get('command', 'scripts/conformance.sh')}`."
    )
    out.append("")
    out.append(
        f"**Totals: {totals['pass']} passed, {totals['fail']} failed, {totals['xfail']} known failures (strict xfail),"
        f" {totals['skip']} skipped** over {len(results)} tests"
        f" (protocol-tests {sum(1 for r in results if r['suite'] == 'protocol-tests')},"
        f" differential {sum(1 for r in results if r['suite'] == 'differential')},"
        f" compat {sum(1 for r in results if r['suite'] == 'compat')},"
        f" librdkafka allow list {sum(1 for r in results if r['suite'] == 'librdkafka')})."
    )
    out.append("")
    out.append("Cells count tests: ✓ passed, ✗ failed, xfail = a known client or protocol-version")
    out.append("limit (reason below), skip = the target lacks what the test needs (reason below).")
    out.append("")
    out.append("| feature | " + " | ".join(clients) + " |")
    out.append("| --- | " + " | ".join("---" for _ in clients) + " |")
    for f in features:
        out.append(f"| {f} | " + " | ".join(cell(grid[f].get(c, [])) for c in clients) + " |")
    out.append("")
    if lib_header:
        out.append("librdkafka allow list: " + "; ".join(lib_header) + ".")
        out.append("")

    for title, outcome in (("Failures", "fail"), ("Known failures (strict xfail)", "xfail"), ("Skipped", "skip")):
        rows = [r for r in results if r["outcome"] == outcome]
        if not rows:
            continue
        out.append(f"## {title} ({len(rows)})")
        out.append("")
        if outcome == "skip":
            by_reason: dict[str, list[str]] = defaultdict(list)
            for r in rows:
                by_reason[r["reason"] or "(no reason given)"].append(r["test"])
            for reason, tests in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                out.append(f"- {reason}: {len(tests)} — " + ", ".join(f"`{t}`" for t in sorted(tests)))
        else:
            for r in rows:
                out.append(f"- `{r['test']}` ({r['client']}, {r['feature']}): {r['reason']}")
        out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--librdkafka", type=Path, help="allow-list results TSV")
    args = ap.parse_args()
    run: Path = args.run_dir
    out_dir: Path = args.out or run
    meta = json.loads((run / "meta.json").read_text()) if (run / "meta.json").exists() else {}

    results = (
        protocol_results(run / "protocol.txt", run / "protocol-skips.tsv")
        + differential_results(run / "differential.txt")
        + compat_results(run / "compat.xml")
    )
    for r in results:
        r["feature"], r["client"] = classify(r["test"])
    lib, lib_header = librdkafka_results(args.librdkafka)
    for r in lib:
        r["feature"], r["client"] = "librdkafka test suite (allow list)", "librdkafka suite"
    results += lib
    if not results:
        print(f"no results in {run}", file=sys.stderr)
        return 2

    md = render(results, meta, lib_header)
    diff_report = run / "differential-report.txt"
    if diff_report.exists() and diff_report.read_text().strip():
        md += "\n## Differential mode: the target's answers vs Rill's\n\n```\n" + diff_report.read_text().strip() + "\n```\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "REPORT.md").write_text(md + "\n")
    summary = defaultdict(int)
    for r in results:
        summary[r["outcome"]] += 1
    (out_dir / "report.json").write_text(
        json.dumps({"meta": meta, "totals": dict(summary), "librdkafka": lib_header, "tests": results}, indent=1) + "\n"
    )
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
