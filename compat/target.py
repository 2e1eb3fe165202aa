"""Which broker the compat suite tests, and what that broker offers its tests.

By default every test starts its own `rill serve` (see rill_broker.py). With
`RILL_BOOTSTRAP=host:port` (what `scripts/conformance.sh --bootstrap` sets) the suite
tests that broker instead, started by someone else: Rill, Kafka or anything that
speaks the protocol. Then:

* a test that needs something the target does not offer is skipped with the reason;
  it declares that with `@pytest.mark.needs("restart", ...)` (or a module's
  `pytestmark`), see NEEDS;
* `broker_factory()` without arguments gives the target; with arguments (flags, a
  data dir, a port) the test is skipped: it needs a broker started that way;
* names a test makes up (the `topic` fixture, and everything derived from it) get a
  per-run suffix, so tests share the target and the suite can run again on it.

Capabilities (transactions, KIP-848 groups, ...) are read from the target's
ApiVersions answer; the rest cannot be offered by a broker we did not start.
"""

from __future__ import annotations

import os
import socket
import struct
import time

# need -> what it means (the skip reason names it).
NEEDS: dict[str, str] = {
    # What only a broker the suite starts itself offers.
    "restart": "stops, kills or restarts the broker",
    "broker-log": "reads the broker's log",
    "flags": "a broker started with particular flags",
    "fresh": "a broker of its own: the test checks or changes broker-wide state",
    # Capabilities, read from the target's ApiVersions: (API key, lowest version).
    "idempotence": "InitProducerId (idempotent producers)",
    "transactions": "transactions (AddPartitionsToTxn, EndTxn, TxnOffsetCommit)",
    "kip848": "KIP-848 consumer groups (ConsumerGroupHeartbeat)",
    "acls": "ACL administration (DescribeAcls, CreateAcls, DeleteAcls)",
    "scram": "SCRAM credential administration (Describe/AlterUserScramCredentials)",
    "delete-records": "DeleteRecords",
    "describe-producers": "DescribeProducers",
    "list-transactions": "ListTransactions / DescribeTransactions",
}

CAPABILITIES: dict[str, list[int]] = {
    "idempotence": [22],
    "transactions": [24, 26, 28],
    "kip848": [68, 69],
    "acls": [29, 30, 31],
    "scram": [50, 51],
    "delete-records": [21],
    "describe-producers": [61],
    "list-transactions": [65, 66],
}


def external_bootstrap() -> str | None:
    return os.environ.get("RILL_BOOTSTRAP") or None


def run_suffix() -> str:
    """A suffix unique to this run (RILL_RUN_ID, else time and pid)."""
    rid = os.environ.get("RILL_RUN_ID")
    if not rid:
        rid = f"{int(time.time()) % 1_000_000:06d}{os.getpid() % 100:02d}"
        os.environ["RILL_RUN_ID"] = rid
    return rid


def api_versions(bootstrap: str, timeout: float = 10.0) -> dict[int, tuple[int, int]]:
    """ApiVersions v0 (every broker answers it): API key -> (min, max)."""
    host, _, port = bootstrap.rpartition(":")
    client_id = b"rill-conformance"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _read(s, 4))[0]
        data = _read(s, size)
    _corr, error, n = struct.unpack(">ihi", data[:10])
    if error != 0:
        raise RuntimeError(f"ApiVersions v0 from {bootstrap}: error code {error}")
    out = {}
    for i in range(n):
        key, lo, hi = struct.unpack(">hhh", data[10 + 6 * i : 16 + 6 * i])
        out[key] = (lo, hi)
    return out


def _read(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed while reading ApiVersions")
        buf += chunk
    return buf


def offered(bootstrap: str) -> set[str]:
    """The needs an external target satisfies: the capabilities its APIs show, less those
    named in RILL_TARGET_WITHOUT (comma-separated; a feature the broker lists but has
    turned off, e.g. KIP-848 groups on a Kafka 3.x cluster)."""
    apis = api_versions(bootstrap)
    without = {n.strip() for n in os.environ.get("RILL_TARGET_WITHOUT", "").split(",") if n.strip()}
    unknown = without - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"RILL_TARGET_WITHOUT: not a capability: {sorted(unknown)} (one of {sorted(CAPABILITIES)})")
    return {need for need, keys in CAPABILITIES.items() if all(k in apis for k in keys)} - without


def missing_reason(needs: list[str], have: set[str]) -> str | None:
    lacking = [n for n in needs if n not in have]
    if not lacking:
        return None
    return "target lacks: " + "; ".join(f"{n} ({NEEDS[n]})" for n in lacking)
