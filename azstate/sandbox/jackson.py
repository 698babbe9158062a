"""JSON text the way Azkaban's Jackson 1.9 writes it.

``writeJSON`` always uses Jackson's default pretty printer: two-space indented objects, arrays
on one line (``[ "a", "b" ]``), ``"key" : value``, ``{ }`` and ``[ ]`` when empty, no newline at
the end. A few handlers write compact JSON instead (project create, the POST invalid-session
reply). Dict order is written as given: callers put HashMap-backed objects in Java's order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
}


def quote(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return f'"{text}"'
    out = ['"']
    for ch in text:
        escaped = _ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def pretty(value: Any) -> str:
    """Jackson 1.9 ``DefaultPrettyPrinter`` output."""
    parts: list[str] = []
    _pretty(value, 0, parts)
    return "".join(parts)


def _pretty(value: Any, depth: int, out: list[str]) -> None:
    if isinstance(value, Mapping):
        if not value:
            out.append("{ }")
            return
        out.append("{")
        inner = "  " * (depth + 1)
        for index, (key, item) in enumerate(value.items()):
            out.append("," if index else "")
            out.append("\n" + inner + quote(str(key)) + " : ")
            _pretty(item, depth + 1, out)
        out.append("\n" + "  " * depth + "}")
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            out.append("[ ]")
            return
        out.append("[ ")
        for index, item in enumerate(value):
            if index:
                out.append(", ")
            _pretty(item, depth, out)
        out.append(" ]")
    else:
        out.append(_scalar(value))


def compact(value: Any) -> str:
    """Jackson without a pretty printer: no spaces at all."""
    if isinstance(value, Mapping):
        return "{" + ",".join(quote(str(k)) + ":" + compact(v) for k, v in value.items()) + "}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ",".join(compact(v) for v in value) + "]"
    return _scalar(value)
