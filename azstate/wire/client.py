"""AzkabanClient: sends Calls over HTTP, the way the real server needs them sent.

What it does, and the trap of azkaban-api.md section 12 each rule answers:
- the session id travels as a `session.id` query parameter, form field or multipart part, and
  no cookie is ever stored: a stale cookie would hide it, and with the cookie present the
  permission endpoints demand a CSRF token no API client can compute (traps 2, 4);
- `X-Requested-With: XMLHttpRequest` on every request, so an expired session on a POST comes
  back as JSON rather than the login page (trap 3); redirects are never followed (trap 9);
- every reply goes through detect(): one typed AzkabanError with the call and the server's
  words, whatever the shape (trap 1);
- an expired session (three shapes) means one new login and one resend: the server refused
  the request before doing anything, so even a write may be sent again;
- reads are retried with exponential backoff on 5xx, timeouts and connection failures, up to
  `retries` times; a write only when the request provably never left (connection refused,
  connect timeout). A write whose reply was lost raises TransportError with
  `may_have_reached_server=True`: apply then checks by reading, never by blind resending
  (create and upload are not idempotent, trap 12);
- one DEBUG line per request on the `azstate.wire` logger, and every message this module
  produces, passed through one redactor: no password or session id in logs or errors.

Thread-safe: refresh calls it from many threads; one requests.Session with a pool of
`pool_size` connections is shared, and re-login is serialised.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import logging
import os
import random
import re
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests
import urllib3
from pydantic import SecretStr
from requests.adapters import HTTPAdapter

from azstate.archive import ZipData, ZipOnDisk
from azstate.errors import (
    AzkabanError,
    AzstateError,
    SessionExpiredError,
    TransportError,
)
from azstate.plan import Call, UploadFile
from azstate.redaction import MASK, SECRET_PARAMS, redact
from azstate.state import Perm, PermissionValue, Principal, ScheduleValue, SlaValue
from azstate.wire import calls, replies
from azstate.wire.detect import LOGIN, CallInfo, Examined, examine, parse_set_cookie
from azstate.wire.inflight import InFlight
from azstate.wire.replies import (
    Execution,
    ExecutionSummary,
    FlowGraph,
    JobInfo,
    LiveSchedule,
    ProjectListing,
    ProjectLogEntry,
    ScheduleListing,
    UploadResult,
)

log = logging.getLogger("azstate.wire")
# Header defects are refused and reported as our error (_check_headers); urllib3 would also
# log each one with a traceback.
logging.getLogger("urllib3.connection").setLevel(logging.ERROR)

ZIP_TYPE = "application/zip"
_MAX_DELAY = 10.0


# -- redaction -----------------------------------------------------------------------------


def redact_params(params: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Request parameters with `password` and `session.id` values masked, for logs."""
    return [(k, MASK if k in SECRET_PARAMS else v) for k, v in params]


# -- replies and counters ------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One successful reply: what detect() found no error in."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    json: Any = None
    cookies: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return self.content.decode("latin-1")


class CallStats:
    """Requests sent per (method, action), and reply bytes received; for benchmarks and tests.

    Every HTTP request counts, retries and logins included: it is what the server saw.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._bytes = 0

    def record(self, method: str, action: str, nbytes: int) -> None:
        with self._lock:
            self._calls[(method, action)] += 1
            self._bytes += nbytes

    @property
    def calls(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._calls)

    @property
    def bytes_downloaded(self) -> int:
        with self._lock:
            return self._bytes

    def count(self, method: str | None = None, action: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (m, a), n in self._calls.items()
                if (method is None or m == method) and (action is None or a == action)
            )

    @property
    def total(self) -> int:
        return self.count()

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._bytes = 0


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Refuse to store or send any cookie (trap 2)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


@dataclass(frozen=True)
class _Raw:
    status: int
    headers: Mapping[str, str]
    content: bytes
    cookies: dict[str, str]


class _Failure(Exception):
    """A request that got no reply, classified once: did it leave, may it be retried?"""

    def __init__(self, message: str, *, reached: bool, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.reached = reached
        self.retryable = retryable


# -- the client ----------------------------------------------------------------------------


class AzkabanClient:
    """A logged-in conversation with one Azkaban web server."""

    def __init__(
        self,
        url: str,
        username: str,
        password: SecretStr,
        *,
        timeout: float = 30,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        pool_size: int = 16,
    ) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.verify: bool | str = ca_bundle or verify_tls
        self.stats = CallStats()
        self.in_flight = InFlight()  # what is waiting for a reply now (named when slow)
        self._sid: str | None = None
        self._secrets: set[str] = {password.get_secret_value()}
        self._login_lock = threading.Lock()
        self._secrets_lock = threading.Lock()

        http = requests.Session()
        http.cookies.set_policy(_NoCookies())
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        http.headers["X-Requested-With"] = "XMLHttpRequest"
        http.headers["User-Agent"] = "azstate"
        # The environment is read once here, not on every request (requests stats ~/.netrc and
        # re-reads the CA variables per call), and an explicit ca_bundle beats REQUESTS_CA_BUNDLE.
        http.trust_env = False
        if self.verify is True:
            self.verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
        http.proxies = requests.utils.get_environ_proxies(self.url)
        http.verify = self.verify
        self._http = http
        if self.verify is False:
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
            log.warning(
                "TLS verification is off for %s: anyone on the network path can read the "
                "session and change what is applied",
                self.url,
            )

    def __repr__(self) -> str:
        return f"AzkabanClient({self.url!r}, user={self.username!r})"

    def __enter__(self) -> AzkabanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def also_redact(self, values: Iterable[str]) -> None:
        """More values never to log or show, as the password: the configuration's sensitive
        values, which calls carry as parameters."""
        with self._secrets_lock:
            self._secrets.update(v for v in values if v)

    def redact(self, text: str) -> str:
        """The redactor for this client's secrets: the password and every session id."""
        with self._secrets_lock:
            secrets = tuple(self._secrets)
        return redact(text, secrets)

    # -- sessions ----------------------------------------------------------------------------

    def login(self) -> None:
        """Log in (again): POST `action=login` with the credentials in the form body only."""
        with self._login_lock:
            self._login_locked()

    def _session_id(self) -> str:
        with self._login_lock:
            if self._sid is None:
                self._login_locked()
            assert self._sid is not None
            return self._sid

    def _renew(self, stale: str) -> None:
        """Log in again unless another thread already replaced the stale session."""
        with self._login_lock:
            if self._sid in (None, stale):
                log.info("%s", self.redact(f"session expired; logging in again as {self.username}"))
                self._login_locked()

    def _login_locked(self) -> None:
        data = [
            ("action", "login"),
            ("username", self.username),
            ("password", self._password.get_secret_value()),
        ]
        info = CallInfo.of(LOGIN)
        _, examined = self._exchange(
            info,
            mutating=False,
            params=data,
            request=lambda: self._http.post(self.url + "/", data=data, **self._options()),
        )
        if examined.error is not None:
            raise self._clean(examined.error)
        sid = str(examined.json["session.id"])
        with self._secrets_lock:
            self._secrets.add(sid)
        self._sid = sid

    # -- sending -----------------------------------------------------------------------------

    def send(self, call: Call, *, file_bytes: ZipData | None = None) -> Reply:
        """Send one call; the reply, or the typed error it stands for.

        An expired session is answered by one new login and one resend, writes included:
        each of the three expired-session replies comes before the server looks at the
        request, so nothing was done. ``file_bytes`` are the upload's zip, checked against the
        size and SHA-256 the call names; a zip in a file is streamed from it, opened once and
        read from its start by every attempt.
        """
        if not isinstance(file_bytes, ZipOnDisk):
            return self._send(call, file_bytes)
        try:
            handle = file_bytes.open()
        except OSError as exc:
            name = call.upload.name if call.upload is not None else file_bytes.path.name
            raise AzstateError(f"cannot read the zip of {name}: {exc.strerror}") from exc
        with handle:
            return self._send(call, _Upload(file_bytes, handle))

    def _send(self, call: Call, payload: bytes | _Upload | None) -> Reply:
        filename = self._check_upload(call, payload)
        info = CallInfo.of(call)
        relogged = False
        while True:
            sid = self._session_id()
            params, request = self._prepare(call, sid, payload, filename)
            raw, examined = self._exchange(
                info, mutating=call.mutating, params=params, request=request
            )
            error = examined.error
            if isinstance(error, SessionExpiredError) and not relogged:
                relogged = True
                self._renew(sid)
                continue
            if error is not None:
                raise self._clean(error)
            return Reply(raw.status, raw.headers, raw.content, examined.json, raw.cookies)

    def _check_upload(self, call: Call, data: bytes | _Upload | None) -> str | None:
        """The bytes must be the ones the plan names; the part needs a `.zip` name (trap 10).

        A zip azstate wrote itself (0600, hashed as it was built) is checked by the digest
        taken then and its size now, not read again; a user's own `.zip` source is hashed
        again, since it may have changed since the plan read it. Either way the bytes are
        hashed again as they are sent, and a difference stops the request before its last
        boundary, so the server never takes a whole upload of other bytes."""
        if call.upload is None:
            return None
        if data is None:
            raise AzstateError(f"the upload {call.upload.name} was sent without its bytes")
        if isinstance(data, bytes):
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
        else:
            digest, size = data.measure()
        if digest != call.upload.sha256 or size != call.upload.size:
            raise AzstateError(
                f"the bytes given for {call.upload.name} are not the planned ones "
                f"(sha256 {digest[:12]}, expected {call.upload.sha256[:12]})"
            )
        name = call.upload.name
        return name if name.lower().endswith(".zip") else name + ".zip"

    def _options(self) -> dict[str, Any]:
        """Per request: a Session-level `verify` loses to REQUESTS_CA_BUNDLE in requests."""
        return {
            "timeout": (self.timeout, self.timeout),
            "allow_redirects": False,
            "verify": self.verify,
            # Headers first: a reply whose headers do not parse is refused before its body is
            # awaited (urllib3 would wait for a length it could not read until the timeout).
            "stream": True,
        }

    def _prepare(
        self, call: Call, sid: str, data: bytes | _Upload | None, filename: str | None
    ) -> tuple[list[tuple[str, str]], Callable[[], requests.Response]]:
        """Where the session id goes: query (GET/HEAD), form field (POST), part (multipart)."""
        url = self.url + call.path
        options = self._options()
        if call.method in ("GET", "HEAD"):
            query = [*call.params, ("session.id", sid)]
            return query, lambda: self._http.request(call.method, url, params=query, **options)
        if call.multipart:
            parts: list[tuple[str, tuple[str | None, Any] | tuple[str, bytes, str]]] = [
                ("session.id", (None, sid)),
                *((k, (None, v)) for k, v in call.params),
            ]
            logged = [("session.id", sid), *call.params]
            if isinstance(data, _Upload):
                name = filename or data.zipped.path.name
                logged.append(("file", f"{name} ({data.zipped.size} bytes)"))
                return logged, lambda: _post_streamed(self._http, url, parts, name, data, options)
            if data is not None and filename is not None:
                parts.append(("file", (filename, data, ZIP_TYPE)))
                logged.append(("file", f"{filename} ({len(data)} bytes)"))
            return logged, lambda: self._http.post(url, files=parts, **options)
        form = [*call.params, ("session.id", sid)]
        return form, lambda: self._http.post(url, data=form, **options)

    def _exchange(
        self,
        info: CallInfo,
        *,
        mutating: bool,
        params: list[tuple[str, str]],
        request: Callable[[], requests.Response],
    ) -> tuple[_Raw, Examined]:
        """One request, repeated while the rules allow: reads on 5xx and failures, writes
        only when the request never left."""
        attempt = 0
        while True:
            try:
                raw = self._once(info, params, request)
            except _Failure as failure:
                may_retry = failure.retryable and (not mutating or not failure.reached)
                if may_retry and attempt < self.retries:
                    attempt += 1
                    self._pause(info, attempt, failure.message)
                    continue
                raise TransportError(
                    self.redact(f"{_describe(info)}: {failure.message}"),
                    may_have_reached_server=failure.reached,
                ) from failure.__cause__
            examined = examine(info, raw.status, raw.headers, raw.content, cookies=raw.cookies)
            error = examined.error
            server_failed = error is not None and raw.status >= 500
            if server_failed and not mutating and attempt < self.retries:
                attempt += 1
                self._pause(info, attempt, f"HTTP {raw.status}")
                continue
            return raw, examined

    def _pause(self, info: CallInfo, attempt: int, why: str) -> None:
        delay = min(self.backoff * 2 ** (attempt - 1), _MAX_DELAY)
        delay *= 1 + random.random() * 0.25
        log.info(
            "%s",
            self.redact(
                f"{_describe(info)}: {why}; retry {attempt} of {self.retries} in {delay:.2f} s"
            ),
        )
        time.sleep(delay)

    def _once(
        self,
        info: CallInfo,
        params: list[tuple[str, str]],
        request: Callable[[], requests.Response],
    ) -> _Raw:
        started = time.monotonic()
        waiting = self.in_flight.begin(_waiting_for(info, params))
        try:
            response = request()
            try:
                _check_headers(response)
                content = response.content
            finally:
                response.close()
        except _Failure as bad:
            bad.message = self.redact(f"the reply from {self.url} {bad.message}")
            bad.args = (bad.message,)
            self._log(info, params, f"failed: {bad.message}", started)
            self.stats.record(info.method, info.action, 0)
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            failure = self._classify(exc)
            failure.message = self.redact(failure.message)
            failure.args = (failure.message,)
            self._log(info, params, f"failed: {failure.message}", started)
            self.stats.record(info.method, info.action, 0)
            raise failure from _scrubbed(exc, self.redact)
        finally:
            self.in_flight.end(waiting)
        cookies = parse_set_cookie(_set_cookie_headers(response))
        self.stats.record(info.method, info.action, len(content))
        self._log(info, params, str(response.status_code), started)
        return _Raw(response.status_code, response.headers, content, cookies)

    def _log(
        self, info: CallInfo, params: list[tuple[str, str]], outcome: str, started: float
    ) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        elapsed = (time.monotonic() - started) * 1000
        shown = " ".join(f"{k}={_short(v)}" for k, v in redact_params(params))
        log.debug(
            "%s",
            self.redact(
                f"{info.method} {info.path} {info.action or '-'} [{shown}] -> "
                f"{outcome} in {elapsed:.0f} ms"
            ),
        )

    def _classify(self, exc: BaseException) -> _Failure:
        """Did the request leave? Connection refused or a connect timeout: certainly not. A
        read timeout or a reset after sending: maybe, so a write must be checked, not resent."""
        host = self.url
        if isinstance(exc, requests.exceptions.SSLError):
            return _Failure(
                f"TLS handshake with {host} failed ({_reason(exc)}); check server.ca_bundle",
                reached=False,
                retryable=False,
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return _Failure(
                f"could not connect to {host} within {self.timeout:g} s",
                reached=False,
                retryable=True,
            )
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return _Failure(
                f"no reply from {host} within {self.timeout:g} s", reached=True, retryable=True
            )
        if isinstance(
            exc,
            requests.exceptions.InvalidURL
            | requests.exceptions.MissingSchema
            | requests.exceptions.InvalidSchema,
        ):
            return _Failure(f"bad server URL {host}: {exc}", reached=False, retryable=False)
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = exc.args[0] if exc.args else None
            if isinstance(reason, urllib3.exceptions.MaxRetryError):
                reason = reason.reason
            if isinstance(exc, requests.exceptions.ProxyError):
                proxy = _proxy_shown(self._http.proxies.get(self.url.split(":", 1)[0]))
                return _Failure(
                    f"the proxy {proxy} failed on the way to {host}: {_reason(exc)} "
                    "(check HTTPS_PROXY, HTTP_PROXY and NO_PROXY)",
                    reached=False,
                    retryable=True,
                )
            if isinstance(
                reason,
                urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError,
            ):
                return _Failure(
                    f"cannot connect to {host}: {_reason(exc)}", reached=False, retryable=True
                )
            return _Failure(
                f"the connection to {host} broke before a reply ({_reason(exc)})",
                reached=True,
                retryable=True,
            )
        return _Failure(
            f"the reply from {host} was cut off ({_reason(exc)})", reached=True, retryable=True
        )

    def _clean(self, error: AzkabanError) -> AzkabanError:
        """The same error, its message passed through the redactor."""
        return type(error)(
            self.redact(error.message),
            method=error.method,
            path=error.path,
            action=error.action,
            status=error.status,
        )

    # -- typed reads -------------------------------------------------------------------------

    def fetch_all_projects(self, wanted: replies.Wanted | None = None) -> list[ProjectListing]:
        """``wanted``: keep only the projects whose lower-cased name it accepts."""
        return replies.project_listings(self.send(calls.fetch_all_projects()).json, wanted=wanted)

    def fetch_schedules(self, wanted: replies.Wanted | None = None) -> list[ScheduleListing]:
        """``wanted``: keep only the schedules of projects whose lower-cased name it accepts."""
        return replies.schedule_listings(self.send(calls.fetch_schedules()).json, wanted=wanted)

    def fetch_schedule(self, project_id: int, flow: str) -> LiveSchedule | None:
        return replies.live_schedule(self.send(calls.fetch_schedule(project_id, flow)).json)

    def sla_info(self, schedule_id: int) -> SlaValue | None:
        return replies.sla_from_info(self.send(calls.sla_info(schedule_id)).json)

    def project_version(self, project: str) -> tuple[int, int | None]:
        """(project id, current version) from a HEAD of the download; version None before the
        first upload (the server's failure cookie says `version -1 doesn't exist`)."""
        try:
            reply = self.send(calls.download(project, head=True))
        except AzkabanError as exc:
            if type(exc) is AzkabanError and replies.is_missing_version(exc):
                pid = self.get_project_id(project)
                if pid is None:
                    raise
                return pid, None
            raise
        try:
            return replies.download_identity(reply.headers)
        except AzkabanError as exc:  # a HEAD has no body to explain itself: name the call
            raise AzkabanError(
                exc.message, method="HEAD", path="/manager", action="download"
            ) from exc

    def download(self, project: str, version: int | None = None) -> bytes:
        """The zip of the current (or the given) version."""
        reply = self.send(calls.download(project, version))
        if not reply.content.startswith(b"PK"):
            raise AzkabanError(
                "the download is not a zip file", method="GET", path="/manager", action="download"
            )
        return reply.content

    def project_description(self, project: str) -> str | None:
        """From the HTML project page, the only place it can be read (trap 7); None when the
        page does not show it."""
        return replies.description_from_page(self.send(calls.project_page(project)).text)

    def fetch_project_flows(self, project: str) -> list[str]:
        return replies.project_flows(self.send(calls.fetch_project_flows(project)).json)

    def fetch_flow_graph(self, project: str, flow: str) -> FlowGraph:
        return replies.flow_graph(self.send(calls.fetch_flow_graph(project, flow)).json)

    def get_project_id(self, project: str) -> int | None:
        """The id, looked up ignoring case (trap 8); None when no such project is active."""
        try:
            reply = self.send(calls.get_project_id(project))
        except AzkabanError as exc:
            if type(exc) is AzkabanError and replies.is_missing_project(exc):
                return None
            raise
        return replies.project_id(reply.json)

    def project_exists(self, name: str) -> bool:
        return self.get_project_id(name) is not None

    def get_permissions(self, project: str) -> dict[str, PermissionValue]:
        return replies.permissions(self.send(calls.get_permissions(project)).json)

    def get_group_permissions(self, project: str) -> dict[str, PermissionValue]:
        reply = self.send(calls.get_group_permissions(project))
        return replies.permissions(reply.json, "getGroupPermissions")

    def fetch_project_logs(
        self, project: str, *, size: int | None = None, skip: int | None = None
    ) -> list[ProjectLogEntry]:
        reply = self.send(calls.fetch_project_logs(project, size=size, skip=skip))
        return replies.project_logs(reply.json)

    def fetch_exec_flow(self, exec_id: int) -> Execution:
        return replies.execution(self.send(calls.fetch_exec_flow(exec_id)).json)

    def fetch_user_projects(self, user: str | None = None) -> list[ProjectListing]:
        reply = self.send(calls.fetch_user_projects(user))
        return replies.project_listings(reply.json, "fetchuserprojects")

    def fetch_job_info(self, project: str, flow: str, job: str) -> JobInfo:
        return replies.job_info(self.send(calls.fetch_job_info(project, flow, job)).json)

    def get_proxy_users(self, project: str) -> list[str]:
        return replies.proxy_users(self.send(calls.get_proxy_users(project)).json)

    def fetch_flow_executions(
        self, project: str, flow: str, *, start: int = 0, length: int = 10
    ) -> list[ExecutionSummary]:
        call = calls.fetch_flow_executions(project, flow, start=start, length=length)
        return replies.flow_executions(self.send(call).json)

    def get_running(self, project: str, flow: str) -> list[int]:
        return replies.running(self.send(calls.get_running(project, flow)).json)

    # -- writes: send what the builders make ------------------------------------------------

    def create_project(self, name: str, description: str) -> None:
        self.send(calls.create_project(name, description))

    def delete_project(self, name: str) -> None:
        self.send(calls.delete_project(name))

    def upload(self, project: str, data: bytes, *, filename: str = "project.zip") -> UploadResult:
        file = UploadFile(name=filename, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        reply = self.send(calls.upload(project, file), file_bytes=data)
        return replies.upload_result(reply.json)

    def change_description(self, project: str, description: str) -> None:
        self.send(calls.change_description(project, description))

    def add_permission(
        self, project: str, principal: Principal, name: str, perms: frozenset[Perm]
    ) -> None:
        self.send(calls.add_permission(project, principal, name, perms))

    def change_permission(
        self, project: str, principal: Principal, name: str, perms: frozenset[Perm]
    ) -> None:
        self.send(calls.change_permission(project, principal, name, perms))

    def schedule_cron_flow(
        self, project: str, flow: str, value: ScheduleValue, sla: SlaValue | None = None
    ) -> int:
        """The schedule id (the same one when the flow was scheduled already)."""
        reply = self.send(calls.schedule_cron_flow(project, flow, value, sla))
        return replies.scheduled_id(reply.json)

    def set_sla(self, schedule_id: int, sla: SlaValue) -> None:
        self.send(calls.set_sla(schedule_id, sla))

    def remove_schedule(self, schedule_id: int) -> None:
        self.send(calls.remove_schedule(schedule_id))

    def execute_flow(self, project: str, flow: str) -> int:
        return replies.exec_id(self.send(calls.execute_flow(project, flow)).json)

    def cancel_flow(self, exec_id: int) -> None:
        self.send(calls.cancel_flow(exec_id))


# -- small helpers -------------------------------------------------------------------------


def _describe(info: CallInfo) -> str:
    return " ".join(p for p in (info.method, info.path, info.action) if p)


def _waiting_for(info: CallInfo, params: list[tuple[str, str]]) -> str:
    """'GET /manager fetchprojectflows project=etl': the call and its project, nothing secret."""
    project = next((v for k, v in params if k in ("project", "projectName", "name")), None)
    described = _describe(info)
    return f"{described} project={_short(project, 60)}" if project else described


def _short(value: str, limit: int = 120) -> str:
    value = value.replace("\n", "\\n")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _set_cookie_headers(response: requests.Response) -> list[str]:
    """Each Set-Cookie header on its own: joined with commas they are ambiguous."""
    raw = response.raw
    headers = getattr(raw, "headers", None)
    if headers is not None and hasattr(headers, "getlist"):
        return list(headers.getlist("Set-Cookie"))
    joined = response.headers.get("Set-Cookie")
    return [joined] if joined else []


def _check_headers(response: requests.Response) -> None:
    """Refuse a reply whose header block did not parse (urllib3 only logs it)."""
    original = getattr(response.raw, "_original_response", None)
    message = getattr(original, "msg", None)
    defects = list(getattr(message, "defects", None) or ())
    if defects:
        names = ", ".join(sorted({type(d).__name__ for d in defects}))
        raise _Failure(f"had malformed headers ({names})", reached=True, retryable=False)


def _proxy_shown(proxy: str | None) -> str:
    """The proxy's scheme, host and port only: a proxy URL may carry credentials."""
    if not proxy:
        return "(from the environment)"
    try:
        parts = urlsplit(proxy)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}"
    except ValueError:
        return "(from the environment)"


def _printable(text: str) -> str:
    """Control characters from a peer's bytes, escaped: a message is one line of data."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def _reason(exc: BaseException) -> str:
    return _printable(_raw_reason(exc)).strip()


def _raw_reason(exc: BaseException) -> str:
    """The innermost cause's words (`Connection refused`), not urllib3's URL-laden wrapper."""
    reason: Any = exc.args[0] if exc.args else exc
    while isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = str(reason)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        return found.group(1).strip()
    if isinstance(reason, urllib3.exceptions.ProtocolError) and len(reason.args) > 1:
        return str(reason.args[1]) or type(reason.args[1]).__name__
    return text if len(text) <= 160 else text[:159] + "…"


class _Upload:
    """A zip in a file being uploaded: the file, opened once for every attempt, and the
    digest and size it must have."""

    def __init__(self, zipped: ZipOnDisk, handle: BinaryIO) -> None:
        self.zipped = zipped
        self.handle = handle

    def measure(self) -> tuple[str, int]:
        """sha256 and size of what will be sent (see AzkabanClient._check_upload)."""
        if self.zipped.owned:
            return self.zipped.sha256, os.fstat(self.handle.fileno()).st_size
        self.handle.seek(0)
        hashed = hashlib.sha256()
        size = 0
        while chunk := self.handle.read(_UPLOAD_CHUNK):
            hashed.update(chunk)
            size += len(chunk)
        return hashed.hexdigest(), size


_UPLOAD_CHUNK = 1024 * 1024


class _ChangedWhileSent(AzstateError):
    """The zip's bytes differed from the planned ones as they were sent. Not an OSError, so
    no layer below takes it for a lost connection (and sends again)."""


class _StreamedBody:
    """A multipart body whose file part is read from the upload's file as it is sent: the
    length is known (Content-Length, not chunked), the bytes are those requests would have
    built in memory, and the file is hashed on the way; a difference from the planned digest
    ends the request before its closing boundary, so the server sees a cut request."""

    def __init__(self, head: bytes, upload: _Upload, tail: bytes) -> None:
        upload.handle.seek(0)  # every attempt sends the file from its start
        self._head = head
        self._upload = upload
        self._tail = tail
        self._hashed = hashlib.sha256()
        self._sent = 0
        self._file_done = False
        self._length = len(head) + upload.zipped.size + len(tail)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(_UPLOAD_CHUNK):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        size = size if size > 0 else _UPLOAD_CHUNK
        if self._head:
            out, self._head = self._head[:size], self._head[size:]
            return out
        if not self._file_done:
            chunk = self._upload.handle.read(min(size, self._upload.zipped.size - self._sent + 1))
            if chunk:
                self._sent += len(chunk)
                self._hashed.update(chunk)
                if self._sent <= self._upload.zipped.size:
                    return chunk
            self._file_done = True
            digest = self._hashed.hexdigest()
            if digest != self._upload.zipped.sha256 or self._sent != self._upload.zipped.size:
                raise _ChangedWhileSent(
                    f"{self._upload.zipped.path.name} changed while it was uploaded; the "
                    "request was cut short, so the server did not take it"
                )
        out, self._tail = self._tail[:size], self._tail[size:]
        return out


def _post_streamed(
    http: requests.Session,
    url: str,
    parts: list[tuple[str, Any]],
    filename: str,
    upload: _Upload,
    options: dict[str, Any],
) -> requests.Response:
    """POST the form with the upload's file streamed as its last part. The other parts and
    the file part's headers are encoded by requests itself (with an empty file), so the body
    is the one ``files=`` would have built, only never held whole."""
    encode = requests.models.RequestEncodingMixin._encode_files  # type: ignore[attr-defined]
    encoded, content_type = encode([*parts, ("file", (filename, b"", ZIP_TYPE))], {})
    boundary = content_type.split("boundary=", 1)[1]
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    if not encoded.endswith(tail):
        raise AssertionError("requests encoded a multipart body azstate cannot stream")
    body = _StreamedBody(encoded[: -len(tail)], upload, tail)
    return http.post(url, data=body, headers={"Content-Type": content_type}, **options)


def _scrubbed(exc: BaseException, clean: Callable[[str], str]) -> BaseException:
    """requests' exception, kept as the cause but without the URL's session id in it.

    Its message and chained urllib3 exceptions hold the full URL, query string and all; the
    request object holds the form body. They are rewritten or dropped before chaining.
    """
    exc.args = (clean(str(exc)),)
    if isinstance(exc, requests.RequestException):
        exc.request = None
        exc.response = None
    exc.__cause__ = None
    exc.__context__ = None
    exc.__suppress_context__ = True
    return exc


__all__ = ["AzkabanClient", "CallStats", "Reply", "redact", "redact_params"]
