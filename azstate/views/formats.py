"""The output formats: the one list every --format choice and every renderer switch uses."""

from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    """The output formats, the one list every --format choice is built from (the lead moves it
    to plan.py beside the other enums when the typed Change lands)."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


def as_format(value: str, what: str) -> Format:
    """A format by name, or a ValueError naming what was being written and the choices."""
    try:
        return Format(value)
    except ValueError:
        choices = ", ".join(f.value for f in Format)
        raise ValueError(f"unknown {what} format {value!r}: expected one of {choices}") from None
