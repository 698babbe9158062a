"""Is this reply an error? Every shape of azkaban-api.md section 1.4, from status, headers, body.

Azkaban answers almost every error with HTTP 200, in at least five shapes, and sometimes says
`"status": "success"` next to an `"error"`. The checks run in the order of trap 1: the HTTP
status (a redirect with its message in a cookie, upload's real codes, Jetty's 500 page), then a
body that is not JSON (the login page, plain-text login errors, Azkaban's HTML error box), then
an `error` key (a string or an exception object), then `status: error`. The three replies that
mean "your session is gone" become SessionExpiredError, which the client answers by logging in
again; failures of the login itself become LoginError.

Pure: no I/O, no secrets. The client redacts messages before raising them.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from azstate.errors import AzkabanError, LoginError, SessionExpiredError
from azstate.plan import Call

SUCCESS_COOKIE = "azkaban.success.message"
WARN_COOKIE = "azkaban.warn.message"
FAILURE_COOKIE = "azkaban.failure.message"

LOGIN = "POST / login"
"""The description of the login request, which is never a Call (it carries the password)."""

_COOKIE_ATTRIBUTES = frozenset(
    {"path", "domain", "expires", "max-age", "version", "comment", "secure", "httponly",
     "samesite", "discard", "port", "commenturl"}
)  # fmt: skip
_NEW_COOKIE = re.compile(r"\s*([^=;,\s]+)\s*=")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_ALERT = re.compile(
    r'<div class="alert alert-danger"[^>]*>\s*<h4>\s*Error\s*</h4>(.*?)</div>',
    re.IGNORECASE | re.DOTALL,
)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_JETTY6_REASON = re.compile(r"Reason:\s*<pre>(.*?)</pre>", re.IGNORECASE | re.DOTALL)
_SNIPPET = 200


@dataclass(frozen=True)
class CallInfo:
    """What detection needs to know of the request: a Call, or the login's description."""

    method: str
    path: str
    action: str
    multipart: bool = False

    @classmethod
    def of(cls, call: Call | CallInfo | str) -> CallInfo:
        if isinstance(call, CallInfo):
            return call
        if isinstance(call, Call):
            return cls(call.method, call.path, call.action, call.multipart)
        method, path, action = ([*call.split(maxsplit=2), "", "", ""])[:3]
        return cls(method, path, action)

    @property
    def is_login(self) -> bool:
        return self.action == "login" and self.method == "POST"

    @property
    def is_page(self) -> bool:
        """A GET of an HTML page (no ajax, action, delete or download): HTML is the answer."""
        return self.method in ("GET", "HEAD") and self.action == ""

    def error(
        self, message: str, status: int, kind: type[AzkabanError] = AzkabanError
    ) -> AzkabanError:
        return kind(message, method=self.method, path=self.path, action=self.action, status=status)


@dataclass(frozen=True)
class Examined:
    """The verdict on one reply, with the JSON body parsed once for the caller."""

    error: AzkabanError | None
    json: Any = None
    cookies: dict[str, str] = field(default_factory=dict)


def detect(
    call: Call | CallInfo | str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    cookies: Mapping[str, str] | None = None,
) -> AzkabanError | None:
    """The error this reply stands for, or None when the call succeeded."""
    return examine(call, status, headers, body, cookies=cookies).error


def examine(
    call: Call | CallInfo | str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    cookies: Mapping[str, str] | None = None,
) -> Examined:
    """detect(), also handing back the parsed JSON body and the decoded message cookies.

    ``cookies`` are the decoded Set-Cookie values when the caller has them one header each;
    otherwise they are parsed from ``headers`` (which may hold several joined by commas).
    """
    info = CallInfo.of(call)
    jar = dict(cookies) if cookies is not None else cookies_from_headers(headers)
    parsed = _parse_json(body)
    error = _verdict(info, status, headers, body, parsed, jar)
    return Examined(error, parsed, jar)


def _verdict(
    info: CallInfo,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    parsed: Any,
    jar: Mapping[str, str],
) -> AzkabanError | None:
    if 300 <= status < 400:
        return _redirect(info, status, headers, jar)
    if not 200 <= status < 300:
        return info.error(_status_message(status, body, parsed), status)
    if not body:
        return _empty(info, status, headers)
    if parsed is None:
        return _not_json(info, status, headers, body)
    if isinstance(parsed, dict):
        found = _json_error(info, status, parsed)
        if found is not None:
            return found
    failure = jar.get(FAILURE_COOKIE)
    if failure:
        return info.error(_clean(failure), status)
    return None


def _redirect(
    info: CallInfo, status: int, headers: Mapping[str, str], jar: Mapping[str, str]
) -> AzkabanError | None:
    """Delete, and downloads that fail, answer 302 with their message in a cookie (trap 9)."""
    failure = jar.get(FAILURE_COOKIE)
    if failure:
        return info.error(_clean(failure), status)
    if jar.get(SUCCESS_COOKIE):
        return None
    location = header(headers, "Location") or "nowhere"
    return info.error(f"unexpected redirect (HTTP {status}) to {location}", status)


def _status_message(status: int, body: bytes, parsed: Any) -> str:
    """Upload's 400/403/410/500 carry JSON `error` with `<br>` line breaks; Jetty's pages HTML."""
    if isinstance(parsed, dict) and parsed.get("error") is not None:
        return _error_text(parsed["error"])
    text = _decode(body)
    if _looks_html(text, None):
        page = _html_error(text)
        if page:
            return page
        return f"HTTP {status}"
    snippet = _snippet(text)
    return f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"


def _empty(info: CallInfo, status: int, headers: Mapping[str, str]) -> AzkabanError | None:
    if info.method == "HEAD":
        # HEAD runs the GET code without a body: the only HTML a download HEAD gets with 200
        # is the login page, i.e. an expired session.
        if "html" in (header(headers, "Content-Type") or "").lower():
            return info.error(
                "session expired (the server answered with its login page)",
                status,
                SessionExpiredError,
            )
        return None
    return info.error("empty reply: the server did not recognise the request", status)


def _not_json(
    info: CallInfo, status: int, headers: Mapping[str, str], body: bytes
) -> AzkabanError | None:
    if body.startswith(b"PK\x03\x04"):
        if info.action == "download":
            return None
        return info.error("unexpected zip file in the reply", status)
    text = _decode(body)
    if _looks_html(text, header(headers, "Content-Type")):
        if 'id="login-form"' in text:
            if info.is_login:
                return info.error("the server answered with its login page", status, LoginError)
            return info.error(
                "session expired (the server answered with its login page)",
                status,
                SessionExpiredError,
            )
        message = _html_error(text)
        if message:
            return info.error(message, status)
        if info.is_page:
            return None
        return info.error("unexpected HTML page in the reply", status)
    stripped = text.strip()
    if stripped.startswith("Login error. Need username and password") and not info.is_login:
        return info.error(f"session expired ({stripped})", status, SessionExpiredError)
    if stripped.startswith("Login error"):
        return info.error(stripped, status, LoginError)
    return info.error(f"unexpected reply: {_snippet(stripped)}", status)


def _json_error(info: CallInfo, status: int, reply: dict[str, Any]) -> AzkabanError | None:
    error = reply.get("error")
    if error == "session":
        return info.error("session expired", status, SessionExpiredError)
    if reply.get("status") == "error" and reply.get("action") == "login":
        message = str(reply.get("message") or "Invalid Session")
        return info.error(f"session expired ({message})", status, SessionExpiredError)
    kind: type[AzkabanError] = LoginError if info.is_login else AzkabanError
    if error is not None:
        return info.error(_error_text(error), status, kind)
    if reply.get("status") == "error":
        return info.error(_clean(str(reply.get("message") or "error")), status, kind)
    if info.is_login and not reply.get("session.id"):
        return info.error("the login reply holds no session id", status, LoginError)
    return None


def _error_text(error: Any) -> str:
    """`error` is a string, or a serialised Java exception whose `message` says what failed."""
    if isinstance(error, dict):
        seen: dict[str, Any] | None = error
        while isinstance(seen, dict):
            for key in ("message", "localizedMessage"):
                if isinstance(seen.get(key), str) and seen[key]:
                    return _clean(seen[key])
            seen = seen.get("cause") or seen.get("rootCause")
        return "the server failed with an exception that has no message"
    text = _clean(str(error))
    return text or "the server answered an empty error"


def _clean(message: str) -> str:
    """Upload errors use `<br>` for line breaks (the published docs say `\\n`)."""
    return _BR.sub("\n", message).strip()


def _html_error(text: str) -> str | None:
    """Azkaban's own error box, or the title of Jetty's error page."""
    alert = _ALERT.search(text)
    if alert:
        return _SPACE.sub(" ", html.unescape(_TAG.sub("", alert.group(1)))).strip() or None
    if "HTTP ERROR" in text:
        title = _TITLE.search(text)
        if title:
            message = html.unescape(_TAG.sub("", title.group(1))).strip()
            return re.sub(r"^Error\s+(\d{3})\s*", r"HTTP \1: ", message).rstrip(": ")
        reason = _JETTY6_REASON.search(text)
        if reason:
            return html.unescape(reason.group(1)).strip()
        return "the server's error page"
    return None


def _looks_html(text: str, content_type: str | None) -> bool:
    return "html" in (content_type or "").lower() or text.lstrip().startswith("<")


def _parse_json(body: bytes) -> Any:
    """JSON whatever the Content-Type says: create and invalid-session replies have none."""
    start = body.lstrip()[:1]
    if start not in (b"{", b"["):
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _snippet(text: str) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, ignoring case, from any mapping (a plain dict included)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


# -- cookies -------------------------------------------------------------------------------


def cookies_from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Cookies set by a reply whose Set-Cookie headers may have been joined with commas."""
    joined = header(headers, "Set-Cookie")
    return parse_set_cookie(split_set_cookie(joined)) if joined else {}


def split_set_cookie(joined: str) -> list[str]:
    """Undo the comma-joining of several Set-Cookie headers.

    A comma starts a new cookie only outside double quotes and when `name=` follows it (so the
    commas in a quoted message or an `Expires` date stay put).
    """
    parts: list[str] = []
    start, in_quote, escaped = 0, False, False
    for i, char in enumerate(joined):
        if in_quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quote = False
        elif char == '"':
            in_quote = True
        elif char == ",":
            follower = _NEW_COOKIE.match(joined, i + 1)
            if follower and follower.group(1).lower() not in _COOKIE_ATTRIBUTES:
                parts.append(joined[start:i])
                start = i + 1
    parts.append(joined[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_set_cookie(values: Iterable[str]) -> dict[str, str]:
    """name -> value; a value in double quotes loses them and `\\x` becomes `x` (Jetty 9 style),
    an unquoted one ends at the first `;` (Jetty 6 style)."""
    jar: dict[str, str] = {}
    for raw in values:
        name, sep, rest = raw.partition("=")
        if not sep:
            continue
        rest = rest.lstrip()
        if rest.startswith('"'):
            value, i, escaped = [], 1, False
            while i < len(rest):
                char = rest[i]
                if escaped:
                    value.append(char)
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    break
                else:
                    value.append(char)
                i += 1
            jar[name.strip()] = "".join(value)
        else:
            jar[name.strip()] = rest.split(";", 1)[0].strip()
    return jar
