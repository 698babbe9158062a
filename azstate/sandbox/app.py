"""The WSGI application: from an HTTP request to the servlet that answers it.

The steps follow LoginAbstractAzkabanServlet. Find the session (the cookie first, the
``session.id`` parameter only when there is no cookie; for multipart also a ``session.id``
part); refuse a POST with ``password=`` in its query string; log in on any path with a POST
``action=login``; answer a missing or expired session in the shape that depends on the method,
the ``ajax`` parameter and the ``X-Requested-With`` header; else hand over to the servlet of
the path. Fault injection and the request log wrap all of it.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from werkzeug.wrappers import Request, Response

from azstate.sandbox import executor, listing, manager, pages, scheduler
from azstate.sandbox.control import Control
from azstate.sandbox.exchange import SESSION_COOKIE, FilePart, Incoming, Reply, ServletError
from azstate.sandbox.faults import MUTATING, Fault, Faults, LoggedRequest, RequestLog
from azstate.sandbox.javalang import hashmap
from azstate.sandbox.servlet import Context
from azstate.sandbox.store import Store
from azstate.sandbox.users import USERS, LoginRefused, User, authenticate

log = logging.getLogger("azstate.sandbox")

_INVALID_SESSION = hashmap(
    {"status": "error", "message": "Invalid Session. Need to re-login", "action": "login"}
)
_SECRET_PARAMS = frozenset({"password", "session.id"})


@dataclass(frozen=True)
class _Servlet:
    get: Callable[[Context], Reply]
    post: Callable[[Context], Reply]
    multipart: Callable[[Context], Reply] | None = None


def _redirect_index(ctx: Context) -> Reply:
    return Reply.redirect(ctx.req.redirect_url("/index"))


def _other_get(ctx: Context) -> Reply:
    """Servlets azstate never calls (history, triggers, ...): a page, or ``{}`` for ajax."""
    if ctx.req.has("ajax"):
        return Reply.json({})
    return manager.page_reply(pages.message_page(heading=ctx.req.path.strip("/").title()))


def _other_post(ctx: Context) -> Reply:
    return Reply.json({}) if ctx.req.has("ajax") else Reply.raw("")


_OTHER_SERVLETS = (
    "/triggers", "/flowtrigger", "/flowtriggerinstance", "/history", "/jmx", "/stats", "/notes",
)  # fmt: skip
_SERVLETS = {
    "/manager": _Servlet(manager.handle_get, manager.handle_post, manager.handle_multipart),
    "/schedule": _Servlet(scheduler.handle_get, scheduler.handle_post),
    "/executor": _Servlet(executor.handle_get, executor.handle_post),
    "/index": _Servlet(listing.handle_get, listing.handle_post),
    **{path: _Servlet(_other_get, _other_post) for path in _OTHER_SERVLETS},
}
_INDEX_REDIRECT = _Servlet(_redirect_index, _redirect_index)


class ConnectionDropped(ConnectionError):
    """Raised after closing the socket on purpose; werkzeug treats it as a dropped client."""


class SandboxApp:
    def __init__(self, store: Store, faults: Faults, requests: RequestLog, zone: ZoneInfo) -> None:
        self.store = store
        self.faults = faults
        self.log = requests
        self.zone = zone
        self.control = Control(faults, requests, store)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/__sandbox__/"):
            return self.control(request)(environ, start_response)
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        if request.path == "/status":
            return _to_response(self._status(request))(environ, start_response)
        reply, entry = self._answer(request)
        self.log.record(entry)
        if reply.drop_connection:
            _drop(environ)
        return _to_response(reply)(environ, start_response)

    def _answer(self, request: Request) -> tuple[Reply, LoggedRequest]:
        try:
            incoming = _incoming(request)
        except ServletError as exc:
            reply = _error_page(exc, request.path)
            return reply, LoggedRequest(request.method, request.path, None, {}, 500, False)
        action = _action_of(incoming)
        fault = self.faults.take(incoming.path, action, incoming.method)
        if fault is not None and fault.on_fire is not None:
            fault.on_fire()
        mutating = _is_mutating(incoming, action)
        params = _logged_params(incoming)
        if fault is not None and fault.kind == "reset_before":
            reply = Reply(drop_connection=True)
        elif fault is not None and fault.kind in ("http500", "error200"):
            reply = _fault_reply(fault, incoming, action)
        else:
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            if fault is not None and fault.kind == "expire_session":
                self._expire(incoming)
            reply = self._dispatch(incoming)
            reply.drop_connection = fault is not None and fault.kind == "reset_after"
        entry = LoggedRequest(
            method=incoming.method,
            path=incoming.path,
            action=action,
            params=params,
            status=0 if reply.drop_connection else reply.status,
            mutating=mutating,
            bytes=len(reply.body),
            fault=fault.kind if fault is not None else None,
        )
        return reply, entry

    def _status(self, request: Request) -> Reply:
        """StatusServlet: no login; Jackson pretty JSON and a newline."""
        if request.method not in ("GET", "HEAD"):
            message = f"HTTP method {request.method} is not supported by this URL"
            html = pages.jetty_error(405, message, request.path)
            return Reply(405, html.encode("utf-8"), "text/html;charset=iso-8859-1")
        status = {
            "version": "azstate-sandbox",
            "pid": str(os.getpid()),
            "installationPath": str(self.store.root),
            "usedMemory": 0,
            "xmx": 0,
            "isDatabaseUp": True,
            "executorStatusMap": {},
        }
        reply = Reply.json(status)
        reply.body += b"\n"
        return reply

    def _forget(self, session_id: str) -> None:
        with self.store.lock:
            self.store.drop_session(session_id)

    def _expire(self, incoming: Incoming) -> None:
        with self.store.lock:
            for sid in (incoming.cookies.get(SESSION_COOKIE), incoming.param("session.id")):
                if sid:
                    self.store.drop_session(sid)
            part = (incoming.parts or {}).get("session.id")
            if isinstance(part, str):
                self.store.drop_session(part)

    def _dispatch(self, incoming: Incoming) -> Reply:
        try:
            with self.store.lock:
                return self._route(incoming)
        except ServletError as exc:
            return _error_page(exc, incoming.path)
        except Exception as exc:
            log.exception("sandbox handler failed on %s %s", incoming.method, incoming.path)
            return _error_page(ServletError(repr(exc), "java.lang.RuntimeException"), incoming.path)

    def _route(self, req: Incoming) -> Reply:
        cookie_sid = req.cookies.get(SESSION_COOKIE) or ""
        sid = cookie_sid or req.param("session.id")
        session = self.store.session(sid)
        user = USERS[session.user] if session is not None else None
        servlet = _SERVLETS.get(req.path, _INDEX_REDIRECT)
        if req.method in ("GET", "HEAD", "DELETE"):
            if req.has("logout"):
                reply = Reply.redirect(req.redirect_url("/"))
                if session is not None:
                    reply.after_sent.append(lambda: self._forget(session.id))
                return reply
            if user is None:
                if req.has("ajax"):
                    return Reply.json({"error": "session"})
                return Reply.html(pages.login_page())
            if req.method == "DELETE":
                return Reply.raw("")
            return servlet.get(self._context(req, user, bool(cookie_sid)))
        if req.method == "POST":
            return self._post(req, servlet, user, bool(cookie_sid))
        if req.method == "OPTIONS":
            reply = Reply.raw("")
            reply.headers.append(("Allow", "GET, HEAD, POST, TRACE, OPTIONS, DELETE"))
            return reply
        message = f"HTTP method {req.method} is not supported by this URL"
        return Reply(
            405,
            pages.jetty_error(405, message, req.path).encode("utf-8"),
            "text/html;charset=iso-8859-1",
        )

    def _post(self, req: Incoming, servlet: _Servlet, user: User | None, cookie: bool) -> Reply:
        if "password=" in req.query_string:
            return Reply.raw("Login error. Must pass username and password in request body")
        if req.parts is not None:
            if user is None:
                part = req.parts.get("session.id")
                session = self.store.session(part) if isinstance(part, str) else None
                if session is not None:
                    user = USERS[session.user]
                else:
                    name, password = req.parts.get("username"), req.parts.get("password")
                    if name is None or password is None:
                        return Reply.raw("Login error. Need username and password")
                    try:
                        user = authenticate(_text(name), _text(password))
                    except LoginRefused as exc:
                        return Reply.raw(f"Login error: {exc}")
            if servlet.multipart is None:
                return Reply.raw("")
            return servlet.multipart(self._context(req, user, cookie))
        if req.param("action") == "login":
            return self._login(req)
        if user is None:
            if req.has("username") and req.has("password"):
                try:
                    user = authenticate(req.param("username"), req.param("password"))
                except LoginRefused as exc:
                    return Reply.raw(f"Login error: {exc}")
            elif req.header("X-Requested-With") == "XMLHttpRequest":
                return Reply.compact_json(_INVALID_SESSION)
            else:
                return Reply.html(pages.login_page())
        return servlet.post(self._context(req, user, cookie))

    def _login(self, req: Incoming) -> Reply:
        username, password = req.param("username"), req.param("password")
        if username is None or password is None:
            return Reply.json({"error": "Incorrect Login."})
        try:
            user = authenticate(username, password)
        except LoginRefused as exc:
            return Reply.json({"error": f"Incorrect Login. {exc}"})
        sid = str(uuid.uuid4())
        self.store.add_session(sid, user.name)
        reply = Reply.json(hashmap({"status": "success", "session.id": sid}))
        return reply.set_cookie(SESSION_COOKIE, sid)

    def _context(self, req: Incoming, user: User, cookie: bool) -> Context:
        return Context(self.store, req, user, self.zone, session_from_cookie=cookie)


def _text(value: str | FilePart) -> str:
    return value if isinstance(value, str) else value.data.decode("latin-1")


def _incoming(request: Request) -> Incoming:
    environ = request.environ
    method = request.method.upper()
    query_string = environ.get("QUERY_STRING", "")
    query = parse_qsl(query_string, keep_blank_values=True)
    form: list[tuple[str, str]] = []
    parts: dict[str, str | FilePart] | None = None
    content_type = (request.content_type or "").lower()
    if method == "POST" and content_type.startswith("multipart/"):
        parts = _multipart(request)
    elif method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        body = request.get_data(cache=False).decode("utf-8", "replace")
        form = parse_qsl(body, keep_blank_values=True)
    cookies = {key: request.cookies.get(key) or "" for key in request.cookies}
    return Incoming(
        method=method,
        path=request.path,
        query_string=query_string,
        query=query,
        form=form,
        parts=parts,
        headers={k.lower(): v for k, v in request.headers.items()},
        cookies=cookies,
        host_url=f"{environ.get('wsgi.url_scheme', 'http')}://{request.host}/",
    )


def _multipart(request: Request) -> dict[str, str | FilePart]:
    """MultipartParser: every part into one map, the last part of a name winning."""
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise ServletError(
            "org.apache.commons.fileupload.FileUploadException: the request was rejected "
            "because no multipart boundary was found"
        )
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    decoder.receive_data(request.get_data(cache=False))
    decoder.receive_data(None)
    parts: dict[str, str | FilePart] = {}
    current: Field | File | None = None
    chunks: list[bytes] = []
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, (NeedData, Epilogue)):
                break
            if isinstance(event, (Field, File)):
                current, chunks = event, []
            elif isinstance(event, Data) and current is not None:
                chunks.append(event.data)
                if not event.more_data:
                    parts[current.name] = _part_value(current, b"".join(chunks))
                    current = None
    except ValueError as exc:
        raise ServletError(f"org.apache.commons.fileupload.FileUploadException: {exc}") from exc
    return parts


def _part_value(event: Field | File, data: bytes) -> str | FilePart:
    content_type = event.headers.get("content-type")
    if isinstance(event, File):
        return FilePart(event.filename, content_type, data)
    charset = "latin-1"
    if content_type and "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip()
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return data.decode("latin-1")


def _action_of(req: Incoming) -> str | None:
    """What fault filters and the log call this request: the ajax or action value, mostly."""
    if req.method == "POST" and req.param("action") == "login":
        return "login"
    if req.has("logout") and req.method != "POST":
        return "logout"
    if req.parts is not None:
        for key in ("ajax", "action"):
            value = req.parts.get(key)
            if isinstance(value, str):
                return value
        return None
    if req.has("ajax"):
        return req.param("ajax")
    if req.path == "/manager" and req.method in ("GET", "HEAD") and req.has("project"):
        for key in ("delete", "purge", "download"):
            if req.has(key):
                return key
        return None
    return req.param("action")


def _is_mutating(req: Incoming, action: str | None) -> bool:
    if action is None or (req.path, action) not in MUTATING:
        return False
    if action in ("create", "removeSched", "upload"):
        return req.method == "POST" and not (action == "removeSched" and req.has("ajax"))
    if action in ("delete", "purge"):
        return req.method == "GET"
    return True


def _logged_params(req: Incoming) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in [*req.query, *req.form]:
        params.setdefault(key, value)
    for key, part in (req.parts or {}).items():
        params[key] = part.filename if isinstance(part, FilePart) else part
    return {k: v for k, v in params.items() if k not in _SECRET_PARAMS}


def _fault_reply(fault: Fault, req: Incoming, action: str | None) -> Reply:
    if fault.kind == "http500":
        return _error_page(
            ServletError("injected by the azstate sandbox", "java.lang.RuntimeException"), req.path
        )
    message = "Injected fault: the azstate sandbox answered an error and did nothing."
    if req.path == "/manager" and action == "create":
        return Reply.compact_json(hashmap({"status": "error", "message": message}))
    if req.path == "/schedule" and action in ("scheduleCronFlow", "removeSched"):
        return Reply.json(hashmap({"status": "error", "message": message}))
    return Reply.json({"error": message})


def _error_page(exc: ServletError, path: str) -> Reply:
    html = pages.jetty_error(500, exc.title(), path)
    return Reply(500, html.encode("utf-8"), "text/html;charset=iso-8859-1")


def _drop(environ: dict[str, Any]) -> None:
    """Close the client's connection at once (with a reset), then stop werkzeug answering."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionDropped("connection dropped by fault injection")


def _to_response(reply: Reply) -> Response:
    response = Response(reply.body, status=reply.status)
    del response.headers["Content-Type"]
    if reply.content_type is not None:
        response.headers["Content-Type"] = reply.content_type
    for name, value in reply.headers:
        response.headers.add(name, _latin1(value))
    for header in reply.cookie_headers():
        response.headers.add("Set-Cookie", _latin1(header))
    for work in reply.after_sent:
        response.call_on_close(work)
    return response


def _latin1(value: str) -> str:
    """Header values go out as the UTF-8 bytes Java writes; WSGI wants them as latin-1 text."""
    return value.encode("utf-8").decode("latin-1")
