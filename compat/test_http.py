"""The HTTP listener: `/health` and `/ready` as orchestrators and the container
HEALTHCHECK ask them (plain urllib, as any probe), and `rill health`, which asks `/ready`
through the ready file's `http://` line (so it works whatever the Kafka listeners'
security) and falls back to ApiVersions."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.error
import urllib.request

from rill_broker import rill_bin


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_and_ready_answer_on_the_http_listener(broker_factory):
    b = broker_factory(extra_args=["--http-listen", "127.0.0.1:0"])
    assert b.http and b.http.startswith("http://127.0.0.1:"), b.http
    assert get(b.http + "/health") == (200, "ok\n")
    assert get(b.http + "/ready") == (200, "ready\n")
    assert get(b.http + "/no-such-page")[0] == 404
    # The ready file's last line and a stdout line name it.
    assert b.ready_file.read_text().splitlines()[-1] == b.http
    assert f"rill console on {b.http}/" in b.log_tail(200)


def test_http_listen_none_turns_it_off(broker_factory):
    b = broker_factory(extra_args=["--http-listen", "none"])
    assert b.http is None
    assert b.ready_file.read_text() == b.bootstrap + "\n"


def test_an_explicit_http_address_in_use_is_an_error(broker_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        b = broker_factory(start=False, extra_args=["--http-listen", f"127.0.0.1:{port}"])
        proc = subprocess.run(b.argv(), capture_output=True, text=True, timeout=20)
    assert proc.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr, proc.stderr


def rill_health(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(rill_bin()), "health", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_rill_health_asks_ready_over_http(broker_factory, tmp_path):
    b = broker_factory(extra_args=["--http-listen", "127.0.0.1:0"])
    closed = f"127.0.0.1:{free_port()}"
    # The broker's own ready file: healthy.
    ok = rill_health({"RILL_READY_FILE": str(b.ready_file), "RILL_LISTEN": closed})
    assert ok.returncode == 0, ok.stderr
    # Only the http:// line (no Kafka address, and RILL_LISTEN closed): still healthy,
    # so the answer came from /ready.
    only_http = tmp_path / "only-http"
    only_http.write_text(b.http + "\n")
    ok = rill_health({"RILL_READY_FILE": str(only_http), "RILL_LISTEN": closed})
    assert ok.returncode == 0, ok.stderr
    assert rill_health({}, "--http", b.http.removeprefix("http://")).returncode == 0
    # Nothing answers: unhealthy, saying where it asked.
    dead = tmp_path / "dead"
    dead.write_text(f"http://{closed}\n")
    bad = rill_health({"RILL_READY_FILE": str(dead), "RILL_LISTEN": closed})
    assert bad.returncode == 1
    assert closed in bad.stderr, bad.stderr


def test_https_with_basic_auth_and_acls(broker_factory, tmp_path):
    """`--http-listen https://…` serves the endpoints over TLS with the broker's
    certificate; with `--authorizer acl` the API needs a SASL user's password (HTTP
    Basic) and shows what that user's ACLs let it DESCRIBE."""
    import base64
    import ssl

    from test_sasl import USERS
    from test_tls import Pki, tls_args

    pki = Pki(tmp_path / "pki")
    users = tmp_path / "users"
    users.write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
    b = broker_factory(
        extra_args=[
            "--listen", "SASL_PLAINTEXT://127.0.0.1:0", "--users-file", str(users),
            "--authorizer", "acl", "--super-users", "alice",
            "--http-listen", "https://127.0.0.1:0", *tls_args(pki),
        ]
    )  # fmt: skip
    assert b.http and b.http.startswith("https://127.0.0.1:"), b.http
    ctx = ssl.create_default_context(cafile=pki.ca)

    def call(path: str, user: str | None = None, password: str | None = None, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(b.http + path, data=data, method="POST" if body else "GET")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    assert call("/health") == (200, "ok\n")
    assert call("/ready") == (200, "ready\n")
    assert call("/api/cluster")[0] == 401
    assert call("/api/cluster", "alice", "wrong")[0] == 401
    status, body = call("/api/cluster", "alice", USERS["alice"])
    assert status == 200 and '"User:alice"' in body, body
    # alice (a super user) creates a topic through the API; bob, who has no ACLs, may
    # log in but neither sees nor creates topics.
    status, body = call("/api/topics", "alice", USERS["alice"], {"name": "https-secret", "partitions": 1})
    assert status in (200, 201), body
    status, body = call("/api/topics", "alice", USERS["alice"])
    assert status == 200 and "https-secret" in body, body
    status, body = call("/api/topics", "bob", USERS["bob"])
    assert status == 200 and "https-secret" not in body, body
    status, body = call("/api/topics", "bob", USERS["bob"], {"name": "bobs", "partitions": 1})
    assert status == 403 and "TOPIC_AUTHORIZATION_FAILED" in body, body
    # Plain HTTP to the HTTPS port gets no HTTP answer.
    host, port = b.http.removeprefix("https://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = s.recv(100)
        except OSError:
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 200"), answer


def test_https_needs_a_certificate(broker_factory):
    b = broker_factory(start=False, extra_args=["--http-listen", "https://127.0.0.1:0"])
    proc = subprocess.run(b.argv(), capture_output=True, text=True, timeout=20)
    assert proc.returncode != 0
    assert "needs --tls-cert and --tls-key" in proc.stderr, proc.stderr
