"""Project-name globs (``prune``, ``protect``): one rule for the planner and the refresh."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matches(name: str, globs: Iterable[str]) -> bool:
    """Azkaban names are case-insensitive, so globs are too."""
    return any(fnmatchcase(name.lower(), g.lower()) for g in globs)
