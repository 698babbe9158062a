"""The few Java behaviours that Azkaban's replies depend on.

The server is Java, and some of its replies show it: lists come out in ``HashMap`` order,
e-mail lists are cut with ``String.split`` (which drops trailing empty strings), numbers are
read with ``Integer.parseInt`` (no spaces, no underscores). Reproducing these here keeps the
emulator's replies byte-for-byte close to the recorded ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

V = TypeVar("V")

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1

_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE_WORDS = frozenset({"true", "on", "yes", "y", "t"})
_FALSE_WORDS = frozenset({"false", "off", "no", "n", "f"})


def java_trim(text: str) -> str:
    """``String.trim()``: strips every character up to U+0020 at both ends, and nothing else
    (U+00A0, U+3000 and U+200B stay, unlike Python's ``str.strip``)."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def java_length(text: str) -> int:
    """``String.length()``: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def string_hash(text: str) -> int:
    """``String.hashCode()``: over UTF-16 code units, as a 32-bit int (unsigned here)."""
    h = 0
    for unit in _utf16_units(text):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h


def _utf16_units(text: str) -> Iterable[int]:
    for ch in text:
        cp = ord(ch)
        if cp < 0x10000:
            yield cp
        else:
            cp -= 0x10000
            yield 0xD800 + (cp >> 10)
            yield 0xDC00 + (cp & 0x3FF)


def hashmap_order(keys: Iterable[str]) -> list[str]:
    """The iteration order of a ``java.util.HashMap``/``HashSet`` filled with ``keys`` in turn.

    Buckets are ``(h ^ h >>> 16) & (capacity - 1)``; the table starts at 16 and doubles when
    the size passes three quarters of it; inside a bucket, insertion order is kept.
    """
    unique = list(dict.fromkeys(keys))
    capacity = 16
    for size in range(1, len(unique) + 1):
        if size > capacity * 0.75:
            capacity *= 2
    position = {key: index for index, key in enumerate(unique)}

    def bucket(key: str) -> tuple[int, int]:
        h = string_hash(key)
        return ((h ^ (h >> 16)) & (capacity - 1), position[key])

    return sorted(unique, key=bucket)


def hashmap(items: Mapping[str, V]) -> dict[str, V]:
    """A dict whose order is the order Java's HashMap would iterate the same entries in."""
    return {key: items[key] for key in hashmap_order(items)}


def split(text: str, regex: str, limit: int = 0) -> list[str]:
    """``String.split(regex, limit)``: with limit 0 trailing empty strings are dropped."""
    pattern = re.compile(regex)
    if pattern.search(text) is None:
        return [text]
    parts = pattern.split(text, maxsplit=limit - 1) if limit > 0 else pattern.split(text)
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def parse_int(text: str) -> int:
    """``Integer.parseInt``: an optional sign and ASCII digits, within 32 bits."""
    return _parse_integer(text, INT_MIN, INT_MAX)


def parse_long(text: str) -> int:
    """``Long.parseLong`` (``Long.valueOf``)."""
    return _parse_integer(text, LONG_MIN, LONG_MAX)


def _parse_integer(text: str, low: int, high: int) -> int:
    if not _INTEGER.fullmatch(text):
        raise NumberFormatError(f'For input string: "{text}"')
    value = int(text)
    if not low <= value <= high:
        raise NumberFormatError(f'For input string: "{text}"')
    return value


def int32(value: int) -> int:
    """Wrap like Java int arithmetic does."""
    return (value + 2**31) % 2**32 - 2**31


def parse_boolean(text: str | None) -> bool:
    """``Boolean.parseBoolean``: only ``true`` (any case) is true."""
    return text is not None and text.lower() == "true"


def boolean_object(text: str) -> bool | None:
    """commons-lang ``BooleanUtils.toBooleanObject``: true/false words, else None."""
    lowered = text.lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    return None


def is_numeric(text: str) -> bool:
    """commons-lang ``StringUtils.isNumeric``: digits only; the empty string counts."""
    return all(ch.isdigit() for ch in text)


class NumberFormatError(ValueError):
    """``java.lang.NumberFormatException``; its message is the JDK's."""

    java_class = "java.lang.NumberFormatException"
