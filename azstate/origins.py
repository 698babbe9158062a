"""Who moved a value: the three-way comparison of baseline B, configuration C and server S.

Without a record of what was last applied, a plan only knows that S differs from C. With the
configuration of the last apply (B, read from git by baseline.py) each differing field has an
origin (design.md section 3):

    C != B and S == B            edit      the change under review
    C == B and S != B            drift     changed on the server since the last apply
    C != B, S != B and S != C    conflict  both moved it
    C != B and S == C            converged already on the server: no change at all

Values are compared in their normalised JSON form (what the plan shows), field by field; a whole
resource that is missing on one side is compared as a whole. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class Origin(StrEnum):
    """Who moved a value: the configuration (edit), the server (drift), both (conflict), or
    not known (a plan without a baseline cannot tell)."""

    EDIT = "edit"
    DRIFT = "drift"
    CONFLICT = "conflict"
    UNKNOWN = "unknown"


# The strongest origin names a change: a conflict needs the reviewer's eyes most.
_STRENGTH = {Origin.UNKNOWN: 0, Origin.EDIT: 1, Origin.DRIFT: 2, Origin.CONFLICT: 3}

Value = Mapping[str, Any] | None


def _field(base: Any, config: Any, server: Any) -> Origin | None:
    """One field's origin, or None when the server already holds the configured value."""
    if server == config:
        return None
    if config != base and server == base:
        return Origin.EDIT
    if config == base:
        return Origin.DRIFT
    return Origin.CONFLICT


def field_origins(
    base: Value, config: Value, server: Value, fields: Iterable[str] | None = None
) -> dict[str, Origin]:
    """The origin of every field in which the server differs from the configuration.

    ``fields`` limits the comparison to the fields the plan shows (a value's display-only
    parts, such as the zip name of an upload, are left out by the caller). A resource absent on
    one side is one field, ``""``: its creation or deletion as a whole.
    """
    if config is None or server is None:
        whole = _field(_whole(base), _whole(config), _whole(server))
        return {} if whole is None else {"": whole}
    names = sorted(set(fields) if fields is not None else set(config) | set(server))
    base_map: Mapping[str, Any] = base or {}
    out: dict[str, Origin] = {}
    for name in names:
        origin = _field(base_map.get(name), config.get(name), server.get(name))
        if origin is not None:
            out[name] = origin
    return out


def _whole(value: Value) -> Any:
    return None if value is None else dict(value)


def strongest(origins: Iterable[Origin]) -> Origin:
    """A change's origin: conflict > drift > edit; unknown when nothing is known."""
    best = Origin.UNKNOWN
    for origin in origins:
        if _STRENGTH[origin] > _STRENGTH[best]:
            best = origin
    return best


def converged(base: Value, config: Value, server: Value) -> bool:
    """The configuration moved since the baseline, and the server already holds it."""
    return config != base and config == server
