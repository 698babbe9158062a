"""Laying TOML documents over each other, remembering which file wrote each value.

A layered configuration (``extends = ["../base.toml"]``) is the merge of several documents:
tables merge key by key, any other value (an array too, even ``[]``) replaces what was there.
Every message about a value must name the file and line that wrote it, and a relative path must
be read from that file's directory, so the merge keeps an Origins map beside the document.

Origins is sparse on purpose: an entry says "this merged path, and everything under it that has
no entry of its own, was written by this file at this path". The bottom layer is one entry at
the root, so a configuration with no ``extends`` costs nothing; an overlay adds one entry per
value (or new table) it writes. A table that an overlay merges into keeps the file that first
declared it, which is where a "missing key" message points.

This module is pure: load.py reads the files and hands their documents in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

KeyPath = tuple[str | int, ...]
F = TypeVar("F")


@dataclass(frozen=True)
class Origin(Generic[F]):
    """A file and the key path, inside that file, of a value it wrote."""

    file: F
    path: KeyPath


class Origins(Generic[F]):
    """Merged key path -> Origin; the longest recorded prefix of a path answers for it."""

    def __init__(self) -> None:
        self._map: dict[KeyPath, Origin[F]] = {}

    def set(self, path: KeyPath, origin: Origin[F]) -> None:
        self._map[path] = origin

    def of(self, path: KeyPath) -> Origin[F] | None:
        """Where ``path`` was written (for a key nobody wrote: its nearest written table)."""
        for end in range(len(path), -1, -1):
            origin = self._map.get(path[:end])
            if origin is not None:
                return Origin(origin.file, (*origin.path, *path[end:]))
        return None

    def forget_under(self, path: KeyPath) -> None:
        """Drops the entries below ``path`` (a table replaced by another value)."""
        size = len(path)
        for key in [k for k in self._map if len(k) > size and k[:size] == path]:
            del self._map[key]

    def items(self) -> Iterator[tuple[KeyPath, Origin[F]]]:
        return iter(list(self._map.items()))


def copy_tree(value: Any) -> Any:
    """A copy of a TOML value whose tables and arrays may be changed without touching the file's."""
    if isinstance(value, Mapping):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def lay_over(
    base: dict[str, Any],
    origins: Origins[F],
    overlay: Mapping[str, Any],
    file: F,
    at: KeyPath = (),
) -> None:
    """Lays ``overlay`` (the document of ``file``) over ``base`` in place.

    Tables merge key by key; any other value replaces, arrays included, so a base list is
    never silently extended and ``[]`` empties it.
    """
    for key, value in overlay.items():
        path = (*at, key)
        current = base.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            lay_over(current, origins, value, file, path)
            continue
        if isinstance(current, dict):
            origins.forget_under(path)
        base[key] = copy_tree(value)
        origins.set(path, Origin(file, path))
