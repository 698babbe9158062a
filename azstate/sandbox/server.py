"""SandboxServer: the emulator on a real socket, served from a background thread.

Tests start one per test on port 0; ``azstate sandbox serve`` runs one in the foreground;
``ensure_local_sandbox`` gives ``--sandbox`` commands one for the life of the process.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from azstate.errors import AzstateError
from azstate.private import write_file
from azstate.redaction import redact
from azstate.sandbox.app import SandboxApp
from azstate.sandbox.faults import Faults, LoggedRequest, RequestLog
from azstate.sandbox.store import Store

__all__ = ["LateReply", "LoggedRequest", "SandboxServer", "ensure_local_sandbox"]

log = logging.getLogger("azstate.sandbox")

SslContext = ssl.SSLContext | tuple[str, str] | None


_AFTER_RESPONSE = "azstate.after_response"
_OPEN: dict[Any, set[socket.socket]] = {}  # by server: connections kept open for more requests
_OPEN_LOCK = threading.Lock()
# How often the serving thread looks for a stop: what stop() waits at most, and most tests
# start and stop a sandbox of their own.
_POLL = 0.01
_REQUEST = threading.local()  # on a request thread: .connection, the socket it answers on


class _NothingLeft(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return 0


class _QuietHandler(WSGIRequestHandler):
    """werkzeug logs every request to stderr by default; the sandbox logs at debug level.

    Jetty keeps HTTP/1.1 connections open between requests (the recorded replies carry no
    ``Connection: close``), so the sandbox does too, closing an idle one after Jetty's 30 s:
    werkzeug's server closes every connection, which would make clients pay a new one per
    call here that they never pay against Azkaban. werkzeug then reads whatever follows a
    reply and throws it away, which on an open connection is the next request; so once the
    reply is out, the rest of this request's body is read here and werkzeug is shown an empty
    stream.
    """

    timeout = 30
    # werkzeug sets HTTP/1.1 on a threaded server's handler class when the class does not say;
    # said here, keep-alive does not rest on that.
    protocol_version = "HTTP/1.1"
    _body: LimitedStream | None = None
    _socket_file: Any = None

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), redact(message % args))

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; on an open connection Nagle's algorithm would
        # hold the body back for the client's delayed ACK (40 ms a reply).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with _OPEN_LOCK:
            _OPEN.setdefault(self.server, set()).add(self.connection)
        _REQUEST.connection = self.connection

    def finish(self) -> None:
        with _OPEN_LOCK:
            _OPEN.get(self.server, set()).discard(self.connection)
        super().finish()

    def make_environ(self) -> Any:
        environ = super().make_environ()
        length = str(environ.get("CONTENT_LENGTH") or "")
        self._body = None
        if not environ.get("wsgi.input_terminated") and length.isdigit():
            self._body = LimitedStream(self.rfile, int(length))  # type: ignore[arg-type]
            environ["wsgi.input"] = self._body
        environ[_AFTER_RESPONSE] = self._after_response
        return environ

    def _after_response(self) -> None:
        try:
            if self._body is not None:
                self._body.exhaust()
        except (OSError, ValueError):
            self.close_connection = True
        self._socket_file, self.rfile = self.rfile, _NothingLeft()  # type: ignore[assignment]

    def run_wsgi(self) -> None:
        self._socket_file = None
        try:
            super().run_wsgi()
        finally:
            if self._socket_file is not None:
                self.rfile = self._socket_file

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)


def _keep_alive(app: Any) -> Any:
    """The app, telling the handler when its reply has been sent in full."""

    def serve(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        reply = app(environ, start_response)
        try:
            yield from reply
        finally:
            if hasattr(reply, "close"):
                reply.close()
            done = environ.get(_AFTER_RESPONSE)
            if done is not None:
                done()

    return serve


class LateReply:
    """A ``slow`` fault's ``on_fire`` hook: the reply waits until the client gave up on it.

    A reply later than the client's timeout, made without a fixed sleep: the request waits
    until its client closes the connection (what requests does when its read times out), then
    the server does the work and answers nobody, as Jetty finishes a request whose client went
    away. Tests then need no margin between a delay and a timeout, and wait no longer than the
    client does. ``after``: the work waits that much longer still (a server busy after its
    client left, so the client's first look finds nothing done yet). ``limit`` bounds the wait
    when a client never gives up; ``gave_up`` then says False (None: the fault has not fired).
    """

    def __init__(self, limit: float = 30.0, after: float = 0.0) -> None:
        self.limit = limit
        self.after = after
        self.gave_up: bool | None = None
        self._waited = threading.Event()

    def __call__(self) -> None:
        connection: socket.socket | None = getattr(_REQUEST, "connection", None)
        if connection is None:
            raise RuntimeError("LateReply runs on a sandbox request thread, as a fault's on_fire")
        try:
            self.gave_up = _client_left(connection, self.limit)
        finally:
            self._waited.set()
        if self.after > 0:
            time.sleep(self.after)

    def client_gave_up(self, timeout: float = 30.0) -> bool:
        """Whether the client closed the connection rather than wait for this reply, once the
        server has seen it do so (the client may be on to its next request already)."""
        self._waited.wait(timeout)
        return self.gave_up is True


def _client_left(connection: socket.socket, limit: float) -> bool:
    """Whether the peer closed ``connection`` within ``limit`` seconds (it sends nothing
    while it waits for a reply, so the socket turns readable only when it goes)."""
    deadline = time.monotonic() + limit
    while (left := deadline - time.monotonic()) > 0:
        try:
            readable, _, _ = select.select([connection], [], [], left)
        except (OSError, ValueError):
            return True  # closed on this side meanwhile: the server is stopping
        if not readable:
            return False
        if isinstance(connection, ssl.SSLSocket):
            return True  # its close_notify or FIN; a TLS socket cannot be peeked
        try:
            if connection.recv(1, socket.MSG_PEEK) == b"":
                return True
        except OSError:
            return True
        time.sleep(0.01)  # bytes of something else: look again
    return False


class SandboxServer:
    """The Azkaban emulator on ``host:port`` (port 0: a free one), state in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        timezone: str = "America/Los_Angeles",
        ssl_context: SslContext = None,
    ) -> None:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise AzstateError(f"unknown time zone {timezone!r} for the sandbox") from exc
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.timezone = timezone
        self.ssl_context = ssl_context
        self.store = Store(self.data_dir)
        self.faults = Faults()
        self.log = RequestLog()
        self.app = SandboxApp(self.store, self.faults, self.log, zone)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> SandboxServer:
        """Listen, then serve from a daemon thread; returns once the socket accepts."""
        if self._server is not None:
            return self
        try:
            server = make_server(
                self.host,
                self.port,
                _keep_alive(self.app),
                threaded=True,
                request_handler=_QuietHandler,
                ssl_context=self.ssl_context,
            )
        except OSError as exc:
            raise AzstateError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self._server = server
        self.port = int(server.server_port)
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL},
            name=f"azstate-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def open_connections(self) -> list[socket.socket]:
        """The server's ends of the client connections open now: tests check with them that
        a client's requests share one connection and that replies are not held back."""
        with _OPEN_LOCK:
            return list(_OPEN.get(self._server, ()))

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with _OPEN_LOCK:
            still_open = _OPEN.pop(server, set())
        for connection in still_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_LOCAL: dict[Path, SandboxServer] = {}
_LOCAL_LOCK = threading.Lock()


def ensure_local_sandbox(data_dir: Path) -> str:
    """A sandbox for this process (one per data directory) on a loopback port: its URL.

    The port is kept in the data directory and taken again next time when it is free, so the
    sandbox keeps one address across commands: a plan saved by one ``--sandbox`` command is for
    the same server as the next one's. It stops when the interpreter exits, like the command
    that needed it.
    """
    key = Path(data_dir).resolve()
    with _LOCAL_LOCK:
        server = _LOCAL.get(key)
        if server is None:
            server = _start_on_remembered_port(key)
            _LOCAL[key] = server
            atexit.register(server.stop)
        return server.url


def _start_on_remembered_port(data_dir: Path) -> SandboxServer:
    port_file = data_dir / "port"
    try:
        port = int(port_file.read_text().strip())
    except (OSError, ValueError):
        port = 0
    try:
        server = SandboxServer(data_dir=data_dir, host="127.0.0.1", port=port).start()
    except AzstateError:
        if port == 0:
            raise
        server = SandboxServer(data_dir=data_dir, host="127.0.0.1", port=0).start()
    if server.port != port:
        with contextlib.suppress(OSError):
            write_file(port_file, f"{server.port}\n")
    return server
