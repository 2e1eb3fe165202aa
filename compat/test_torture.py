"""Short crash-loop torture run (scripts/torture.py): kill -9 under produce load with
--fsync always while retention and the log cleaner run; nothing acknowledged may be lost
or corrupted. The full run (100 cycles) is reported in benches/RESULTS.md."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rill_broker import rill_bin

pytestmark = pytest.mark.needs("restart")  # kill -9 loops of a rill it starts

ROOT = Path(__file__).resolve().parent.parent


def test_kill9_loop_loses_nothing_acknowledged(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "torture.py"), "--cycles", "6", "--verify-every", "3",
         "--bin", str(rill_bin()), "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["kill9"] == 6
    assert r["records_acknowledged"] > 1000
    assert r["acknowledged_lost"] == 0 and r["corrupted"] == 0 and r["mismatched"] == 0
    assert r["low_watermark_moved_back"] == 0
    # Retention and compaction really ran during the loop.
    assert r["retention_low_watermark"] > 0
    assert r["compacted_records_in_log"] < r["compacted_records_acknowledged"]
