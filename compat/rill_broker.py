"""Start, stop, kill and restart a real `rill serve` process for the compat suite.

The broker is always bound to 127.0.0.1 on an ephemeral port; the port it got is
read back from the ready file that `rill serve --ready-file` writes once it is
accepting connections. Its first line is the first listener's address; with
several listeners (`extra_args=["--listen", "SASL_PLAINTEXT://127.0.0.1:0", ...]`
adds one beside the PLAINTEXT one), one `NAME://host:port` line per listener
follows, read into `RillBroker.listeners`.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Every process started by this module, so that nothing outlives the test run.
_LIVE: set["RillBroker"] = set()


def rill_bin() -> Path:
    env = os.environ.get("RILL_BIN")
    return Path(env) if env else REPO_ROOT / "target" / "debug" / "rill"


class BrokerError(RuntimeError):
    pass


class RillBroker:
    """One broker: either ephemeral (`--ephemeral`) or on a persistent `--data-dir`.

    A broker on a persistent data dir can be stopped (SIGTERM), killed (SIGKILL)
    and started again on the same dir; each start picks a new ephemeral port, so
    callers must re-read `bootstrap` and create new client objects afterwards.
    """

    def __init__(
        self,
        work_dir: Path,
        data_dir: Path | None = None,
        default_partitions: int | None = None,
        auto_create_topics: bool | None = None,
        fsync: str | None = None,
        log_level: str | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        port: int = 0,
    ):
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.default_partitions = default_partitions
        self.auto_create_topics = auto_create_topics
        self.fsync = fsync
        self.log_level = log_level
        self.extra_args = list(extra_args or [])
        # 0: a new ephemeral port at every start; otherwise this port every time (so
        # clients can follow the broker across a restart).
        self.port = port
        self.env = dict(env or {})
        self.ready_file = self.work_dir / "ready"
        self.log_path = self.work_dir / "rill.log"
        self.proc: subprocess.Popen | None = None
        self.bootstrap: str | None = None
        # Listener name -> "host:port" (only the PLAINTEXT one for a single listener).
        self.listeners: dict[str, str] = {}
        # The HTTP listener's "http://host:port" (or "https://…") when it is on (the ready
        # file's last line);
        # pass extra_args=["--http-listen", "127.0.0.1:0"] for one of its own.
        self.http: str | None = None
        self.starts = 0
        # Exit codes of earlier runs, with how each was stopped.
        self.history: list[tuple[str, int | None]] = []

    # ----------------------------------------------------------------- args
    def argv(self) -> list[str]:
        argv = [str(rill_bin()), "serve", "--listen", f"127.0.0.1:{self.port}", "--ready-file", str(self.ready_file)]
        if self.data_dir is None:
            argv.append("--ephemeral")
        else:
            argv += ["--data-dir", str(self.data_dir)]
        if self.default_partitions is not None:
            argv += ["--default-partitions", str(self.default_partitions)]
        if self.auto_create_topics is not None:
            argv += ["--auto-create-topics", "true" if self.auto_create_topics else "false"]
        if self.fsync is not None:
            argv += ["--fsync", self.fsync]
        if self.log_level is not None:
            argv += ["--log-level", self.log_level]
        return argv + self.extra_args

    def flags(self) -> list[str]:
        """What this broker is started with beyond an ephemeral broker on a port, for
        messages: temp paths shortened to their file names."""
        extra = self.argv()[7:] if self.data_dir is None else ["a data dir of its own"] + self.argv()[8:]
        return [f".../{Path(a).name}" if a.startswith("/") else a for a in extra]

    # ------------------------------------------------------------ lifecycle
    def start(self) -> str:
        if self.running():
            raise BrokerError("broker already running")
        if os.environ.get("RILL_BOOTSTRAP"):
            # Testing another broker (compat/target.py): this test needs one of its own.
            import pytest

            pytest.skip(f"target lacks: flags (a broker started with {' '.join(self.flags()) or 'default flags'})")
        binary = rill_bin()
        if not binary.exists():
            raise BrokerError(f"rill binary not found at {binary} (build it or set RILL_BIN)")
        if self.ready_file.exists():
            self.ready_file.unlink()
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.argv())}\n".encode())
        log.flush()
        try:
            self.proc = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                env={**os.environ, "NO_COLOR": "1", **self.env},
                start_new_session=True,
            )
        finally:
            log.close()
        _LIVE.add(self)
        self.bootstrap = self._wait_ready()
        return self.bootstrap

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.ready_file.exists():
                text = self.ready_file.read_text()
                if text.endswith("\n") and text.strip():
                    lines = text.strip().splitlines()
                    addr = lines[0].strip()
                    host, _, port = addr.rpartition(":")
                    if not host or not port.isdigit() or int(port) == 0:
                        raise BrokerError(f"ready file has a malformed address: {text!r}")
                    self.listeners = {"PLAINTEXT": addr}
                    self.http = None
                    for line in lines[1:]:
                        if line.startswith(("http://", "https://")):
                            self.http = line.strip()
                            continue
                        name, sep, listener_addr = line.strip().partition("://")
                        if sep:
                            self.listeners[name] = listener_addr
                    return addr
            rc = self.proc.poll()
            if rc is not None:
                self._forget()
                raise BrokerError(
                    f"rill exited with code {rc} before becoming ready\n--- log tail ---\n{self.log_tail()}"
                )
            time.sleep(0.02)
        self.kill()
        raise BrokerError(
            f"rill did not write its ready file within {READY_TIMEOUT_S}s\n--- log tail ---\n{self.log_tail()}"
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait; SIGKILL if it does not exit in time. Returns the exit code
        of the SIGTERM (a negative code means it was killed by a signal)."""
        if self.proc is None:
            raise BrokerError("broker not started")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.history.append(("sigterm-timeout", None))
                self._forget()
                raise BrokerError(f"rill did not exit within {timeout}s of SIGTERM; killed it") from None
        else:
            rc = self.proc.returncode
        self.history.append(("sigterm", rc))
        self._forget()
        return rc

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.history.append(("sigkill", self.proc.returncode))
        self._forget()

    def restart(self, hard: bool = True) -> str:
        """kill -9 (hard) or SIGTERM, then start again on the same data dir."""
        if self.data_dir is None:
            raise BrokerError("restart needs a persistent data dir")
        if hard:
            self.kill()
        else:
            rc = self.stop()
            if rc != 0:
                raise BrokerError(f"rill exited with {rc} on SIGTERM\n--- log tail ---\n{self.log_tail()}")
        return self.start()

    def _forget(self) -> None:
        self.proc = None
        self.bootstrap = None
        self.listeners = {}
        _LIVE.discard(self)

    # --------------------------------------------------------------- output
    def log_tail(self, lines: int = 60) -> str:
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return "(no log)"
        text = _ANSI.sub("", data.decode("utf-8", "replace"))
        return "\n".join(text.splitlines()[-lines:])


def _kill_all() -> None:
    for broker in list(_LIVE):
        try:
            broker.kill()
        except Exception:
            pass


atexit.register(_kill_all)
