"""Transport faults the sandbox cannot make: a peer that is not HTTP, a proxy that refuses.

Each is a tiny raw-socket server on 127.0.0.1 that answers one fixed byte string. The command
must end in one line naming what failed, promptly, with no traceback and no secret.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PASSWORD = "pw-transport-secret"
# azstate in its own clean process, its reads retried as always but without the backoff
# sleeps between the tries (what is shown at the end does not depend on them).
WITHOUT_RETRY_PAUSES = (
    "import sys; from azstate.wire.client import AzkabanClient; "
    "AzkabanClient._pause = lambda *args: None; "
    "from azstate.cli import main; sys.exit(main(sys.argv[1:]))"
)


@contextmanager
def raw_server(reply: bytes) -> Iterator[int]:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)  # kept open: a client waiting for more must time out, not EOF
            conn.settimeout(2)
            try:
                conn.recv(65536)
                conn.sendall(reply)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def run_plan(tmp_path: Path, url: str, **env: str) -> tuple[int, str, float]:
    (tmp_path / "azstate.toml").write_text(f'[server]\nurl = "{url}"\ntimeout = 30\n')
    base = {"PATH": "/usr/bin:/bin", "AZKABAN_USERNAME": "ci", "AZKABAN_PASSWORD": PASSWORD}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_RETRY_PAUSES, "plan", "-v"],
        cwd=tmp_path,
        env={**base, **env, "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


MALFORMED_HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n: broken\r\nX\r\n"
    b"Content-Length: 46\r\n\r\n"
    b'{"session.id":"abc-leak","status":"success"}'
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (MALFORMED_HEADERS, "malformed headers"),
        (b"garbage\r\n\r\n", "garbage\\r\\n"),
    ],
)
def test_a_peer_that_is_not_http_is_one_line_and_prompt(
    tmp_path: Path, reply: bytes, expected: str
) -> None:
    with raw_server(reply) as port:
        code, output, elapsed = run_plan(tmp_path, f"http://127.0.0.1:{port}")
    assert code == 1
    assert "Traceback" not in output
    assert expected in output
    assert PASSWORD not in output and "abc-leak" not in output
    error_lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert elapsed < 15, f"waited {elapsed:.1f} s for a reply that could not be read"


def test_a_refusing_proxy_is_named_as_the_proxy(tmp_path: Path) -> None:
    with raw_server(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n") as port:
        code, output, _ = run_plan(
            tmp_path,
            "https://azkaban.invalid:8443",
            HTTPS_PROXY=f"http://proxyuser:{PASSWORD}@127.0.0.1:{port}",
        )
    assert code == 1
    assert "Traceback" not in output
    assert "proxy" in output and f"127.0.0.1:{port}" in output
    assert PASSWORD not in output and "proxyuser" not in output
