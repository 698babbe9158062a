"""The output formats: plan.Format is the one list; here, the lookup every renderer uses."""

from __future__ import annotations

from azstate.plan import Format

__all__ = ["Format", "as_format"]


def as_format(value: str, what: str) -> Format:
    """A format by name, or a ValueError naming what was being written and the choices."""
    try:
        return Format(value)
    except ValueError:
        choices = ", ".join(f.value for f in Format)
        raise ValueError(f"unknown {what} format {value!r}: expected one of {choices}") from None
