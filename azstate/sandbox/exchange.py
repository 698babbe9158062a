"""One request as Azkaban's servlets see it, and the reply they build.

Parameters are read the way the servlet container hands them over: ``getParameter`` gives the
first value, from the query string and, for a urlencoded POST, the body after it. A multipart
body is parsed apart into its own map (last part of a name wins, as in MultipartParser), and
only the session id is ever looked for outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from azstate.sandbox import jackson
from azstate.sandbox.javalang import NumberFormatError, parse_int

SESSION_COOKIE = "azkaban.browser.session.id"
SUCCESS_COOKIE = "azkaban.success.message"
WARN_COOKIE = "azkaban.warn.message"
FAILURE_COOKIE = "azkaban.failure.message"

_COOKIE_SPECIALS = frozenset(' "\\,;=\t\r\n\f\b%+')


class ServletError(Exception):
    """An exception Azkaban lets escape: Jetty answers 500 with its HTML error page."""

    def __init__(self, message: str, java_class: str = "javax.servlet.ServletException") -> None:
        super().__init__(message)
        self.message = message
        self.java_class = java_class

    def title(self) -> str:
        return f"{self.java_class}: {self.message}" if self.message else self.java_class


def missing(name: str) -> ServletError:
    return ServletError(f"Missing required parameter '{name}'.")


@dataclass(frozen=True)
class FilePart:
    """A multipart part with a ``filename`` (commons-fileupload's non-form-field item)."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass
class Incoming:
    method: str
    path: str
    query_string: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    parts: dict[str, str | FilePart] | None
    headers: dict[str, str]
    cookies: dict[str, str]
    host_url: str

    @property
    def is_multipart(self) -> bool:
        return self.parts is not None

    def _pairs(self) -> Iterator[tuple[str, str]]:
        yield from self.query
        yield from self.form

    def param(self, name: str) -> str | None:
        for key, value in self._pairs():
            if key == name:
                return value
        return None

    def has(self, name: str) -> bool:
        return self.param(name) is not None

    def names(self) -> list[str]:
        return list(dict.fromkeys(key for key, _ in self._pairs()))

    def require(self, name: str) -> str:
        value = self.param(name)
        if value is None:
            raise missing(name)
        return value

    def require_int(self, name: str) -> int:
        return java_int(self.require(name))

    def int_or(self, name: str, default: int) -> int:
        value = self.param(name)
        if value is None:
            return default
        try:
            return parse_int(value)
        except NumberFormatError:
            return default

    def group(self, prefix: str) -> dict[str, str]:
        """``getParamGroup``: ``prefix[key]=v``; the key is what lies before the last char."""
        start = prefix + "["
        found: dict[str, str] = {}
        for name in self.names():
            if name.startswith(start):
                key = name[len(start) : len(name) - 1]
                found[key] = self.param(name) or ""
        return found

    def map_group(self, prefix: str) -> dict[str, dict[str, str]]:
        """``getMapParamGroup``: ``prefix[a][b]=v``."""
        start = prefix + "["
        found: dict[str, dict[str, str]] = {}
        for name in self.names():
            if not name.startswith(start):
                continue
            end = name.find("]")
            if end < len(start) or end + 2 > len(name) - 1:
                raise ServletError(f"Param group {prefix} is invalid.")
            first = name[len(start) : end]
            second = name[end + 2 : len(name) - 1]
            found.setdefault(first, {})[second] = self.param(name) or ""
        return found

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def redirect_url(self, target: str) -> str:
        """What ``sendRedirect`` puts in Location: made absolute against this server."""
        base = self.host_url.rstrip("/")
        return base + (target if target.startswith("/") else "/" + target)


def java_int(text: str) -> int:
    try:
        return parse_int(text)
    except NumberFormatError as exc:
        raise ServletError(str(exc), exc.java_class) from exc


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[tuple[str, str]] = field(default_factory=list)
    # Set by fault injection: drop the connection instead of answering.
    drop_connection: bool = False
    # Work done once the reply has been sent (logout forgets the session only then).
    after_sent: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        """``writeJSON``: pretty-printed, ``application/json``."""
        return cls(status, jackson.pretty(value).encode("utf-8"), "application/json")

    @classmethod
    def raw(cls, text: str) -> Reply:
        """``resp.getWriter().append(...)``: no Content-Type at all."""
        return cls(200, text.encode("utf-8"), None)

    @classmethod
    def compact_json(cls, value: Any) -> Reply:
        return cls.raw(jackson.compact(value))

    @classmethod
    def html(cls, text: str, status: int = 200) -> Reply:
        return cls(status, text.encode("utf-8"), "text/html;charset=utf-8")

    @classmethod
    def redirect(cls, location: str) -> Reply:
        return cls(302, b"", None, [("Location", location)])

    def set_cookie(self, name: str, value: str | None) -> Reply:
        self.cookies.append((name, value or ""))
        return self

    def cookie_headers(self) -> list[str]:
        return [format_cookie(name, value) for name, value in self.cookies]


def format_cookie(name: str, value: str) -> str:
    """A Set-Cookie value; quoted (backslash escapes) when the value needs it, as Jetty does."""
    if value and any(ch in _COOKIE_SPECIALS or ord(ch) < 0x20 for ch in value):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        value = f'"{escaped}"'
    return f"{name}={value}; Path=/"
