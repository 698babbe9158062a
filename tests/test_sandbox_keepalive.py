"""The keep-alive the sandbox builds on werkzeug's request handler (azstate/sandbox/server.py).

werkzeug's development server closes every connection; the sandbox keeps them open as Jetty
does, which rests on how werkzeug's handler drains a request and sends its headers. These
tests pin that behaviour on the werkzeug range pyproject.toml allows: requests share one
connection (also a POST with a body followed at once by the next request), no reply says
``Connection: close``, and replies are not held back by Nagle's algorithm.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from azstate.sandbox.server import SandboxServer
from azstate.wire.client import AzkabanClient


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class Connection:
    """One raw HTTP/1.1 connection: what is sent, and replies read by Content-Length."""

    def __init__(self, server: SandboxServer) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        self.host = f"{server.host}:{server.port}"
        self._buffer = b""

    def request(self, method: str, target: str, body: bytes = b"", **headers: str) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}"]
        if body or method == "POST":
            lines += ["Content-Type: application/x-www-form-urlencoded"]
            lines += [f"Content-Length: {len(body)}"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(marker, 1)
        return head

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def reply(self) -> Reply:
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:])}
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._read_until(b"\r\n"), 16):
                body += self._read(size)
                self._read(2)
            self._read(2)
        else:
            body = self._read(int(headers.get("content-length", "0")))
        return Reply(status, headers, body)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(sandbox: SandboxServer) -> Iterator[Connection]:
    c = Connection(sandbox)
    try:
        yield c
    finally:
        c.close()


def _login(conn: Connection) -> str:
    body = urlencode({"action": "login", "username": "azkaban", "password": "azkaban"})
    conn.send(conn.request("POST", "/", body.encode()))
    reply = conn.reply()
    assert reply.status == 200, reply.body
    return str(json.loads(reply.body)["session.id"])


def _theirs(sandbox: SandboxServer, conn: Connection) -> list[socket.socket]:
    """The server's ends of this connection: the sockets whose peer is our socket."""
    ours = conn.sock.getsockname()
    return [s for s in sandbox.open_connections() if s.getpeername() == ours]


def test_requests_on_one_connection_are_answered_over_it(
    sandbox: SandboxServer, conn: Connection
) -> None:
    sid = _login(conn)
    for _ in range(3):
        conn.send(conn.request("GET", f"/index?ajax=fetchallprojects&session.id={sid}"))
        reply = conn.reply()
        assert reply.status == 200 and b"projects" in reply.body
        assert reply.headers.get("connection", "").lower() != "close"
    assert len(_theirs(sandbox, conn)) == 1
    assert len(sandbox.open_connections()) == 1


def test_a_post_body_followed_at_once_by_the_next_request_loses_neither(
    sandbox: SandboxServer, conn: Connection
) -> None:
    """werkzeug drains what follows a reply; on an open connection that is the next request,
    which the sandbox must keep. Both requests go out in one write before any reply is read."""
    sid = _login(conn)
    create = urlencode({"action": "create", "name": "etl", "description": "d", "session.id": sid})
    fetch = f"/index?ajax=fetchallprojects&session.id={sid}"
    conn.send(conn.request("POST", "/manager", create.encode()) + conn.request("GET", fetch))
    first, second = conn.reply(), conn.reply()
    assert first.status == 200 and b"success" in first.body
    assert second.status == 200 and b'"etl"' in second.body
    assert len(_theirs(sandbox, conn)) == 1


def test_replies_are_sent_without_delay(sandbox: SandboxServer, conn: Connection) -> None:
    """Headers and body go out in two writes: with Nagle's algorithm on, the body would wait
    for the client's delayed ACK on every kept-open reply."""
    _login(conn)
    (server_end,) = _theirs(sandbox, conn)
    assert server_end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_client_makes_its_calls_over_one_connection(sandbox: SandboxServer) -> None:
    with AzkabanClient(sandbox.url, "azkaban", SecretStr("azkaban")) as client:
        client.login()
        client.create_project("etl", "d")
        for _ in range(3):
            assert [p.name for p in client.fetch_all_projects()] == ["etl"]
        assert len(sandbox.open_connections()) == 1
        assert client.stats.count("GET", "fetchallprojects") == 3


def test_stopping_the_server_closes_kept_open_connections(sandbox: SandboxServer) -> None:
    conn = Connection(sandbox)
    try:
        _login(conn)
        sandbox.stop()
        conn.sock.settimeout(10)
        assert conn.sock.recv(1) == b""
    finally:
        conn.close()
