"""Sensitive values in plans: shown as ``(sensitive)``, saved as a digest salted per plan.

A configuration marks values sensitive through its sensitive variables (the loader knows which
key paths use one). Every plan azstate shows or saves is *sealed*: each string that is, or
contains, a sensitive value is replaced by a marker ``(sensitive:DIGEST)``, where DIGEST is a
SHA-256 of the plan's salt and the whole string. The same field of the change's other side
(the live value, which may hold an older secret) is sealed too, so neither the new nor the old
secret is shown. Because the digest is of the value, a changed secret is still a changed field,
and a saved plan is compared with a fresh one sealed with the saved plan's salt. Only the calls
apply sends are unsealed, from the markers this process made itself; a saved plan never holds
the value. Text and markdown show every marker as ``(sensitive)``; JSON keeps the marker, which
is how it marks a sensitive value. A plan with no sensitive value is not touched at all.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from azstate.errors import AzstateError

if TYPE_CHECKING:
    from azstate.load import LoadedConfig
    from azstate.plan import Plan

SHOWN = "(sensitive)"
MARKER = re.compile(r"\(sensitive:[0-9a-f]{16}\)")
_SHORTEST_INSIDE = 3  # a shorter secret is sealed only where it is the whole string


def new_salt() -> str:
    return secrets.token_hex(16)


def shown(text: str) -> str:
    """What text and markdown print for a string that may hold markers."""
    return MARKER.sub(SHOWN, text)


@dataclass
class Sealer:
    """Seals plan JSON for one plan (one salt), remembering each marker's value for apply."""

    values: frozenset[str]  # whole strings that are sensitive (as the configuration wrote them)
    salt: str = field(default_factory=new_salt)
    _made: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Iterable[str], salt: str | None = None) -> Sealer:
        kept = frozenset(v for v in values if v)
        return cls(kept, salt or new_salt())

    @property
    def active(self) -> bool:
        return bool(self.values)

    def is_sensitive(self, text: str) -> bool:
        return text in self.values or any(
            len(v) >= _SHORTEST_INSIDE and v in text for v in self.values
        )

    def _digest(self, text: str) -> str:
        return hashlib.sha256(f"{self.salt}\0{text}".encode()).hexdigest()[:16]

    def marker(self, text: str) -> str:
        made = f"(sensitive:{self._digest(text)})"
        self._made[made] = text
        return made

    def unseal(self, text: str) -> str:
        """The value behind a marker this sealer made; anything else as it is."""
        return self._made.get(text, text)

    # -- plan JSON ---------------------------------------------------------------------------

    def seal_plan_json(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        """The plan JSON with every sensitive string sealed (and the salt recorded)."""
        out = dict(plan)
        if not self.active:
            return out
        if "changes" in plan:
            out["changes"] = [self._seal_change(c) for c in plan["changes"]]
        if "drift" in plan:  # plans of format 1 only
            out["drift"] = [self._seal_drift(d) for d in plan["drift"]]
        out["sensitive_salt"] = self.salt
        return out

    def _seal_change(self, change: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(change)
        paths: set[tuple[Any, ...]] = set()
        for side in ("after", "before"):
            _find(change.get(side), (), self.is_sensitive, paths)
        for side in ("before", "after"):
            out[side] = self._seal_at(change.get(side), (), paths)
        out["calls"] = [self._seal_call(c) for c in change.get("calls", [])]
        if paths and change.get("fingerprint"):
            # a plain digest of a live value that holds a secret could be guessed at: salted
            out["fingerprint"] = self._digest(str(change["fingerprint"]))
        return out

    def _seal_drift(self, drift: Mapping[str, Any]) -> dict[str, Any]:
        fields = drift.get("fields", {})
        out_fields: dict[str, Any] = {}
        for name, sides in fields.items():
            paths: set[tuple[Any, ...]] = set()
            _find(sides, (), self.is_sensitive, paths)
            # a path under "desired" seals the same path under "live", and the other way round
            tails = {p[1:] for p in paths if p}
            out_fields[name] = {
                side: self._seal_at(value, (), tails) for side, value in sides.items()
            }
        return {**drift, "fields": out_fields}

    def _seal_call(self, call: Mapping[str, Any]) -> dict[str, Any]:
        params = call.get("params", {})
        if isinstance(params, Mapping):
            sealed: Any = {k: self._seal_string(v) for k, v in params.items()}
        else:
            sealed = [[k, self._seal_string(v)] for k, v in params]
        return {**call, "params": sealed}

    def _seal_string(self, value: Any) -> Any:
        if isinstance(value, str) and self.is_sensitive(value):
            return self.marker(value)
        return value

    def _seal_at(self, value: Any, path: tuple[Any, ...], paths: set[tuple[Any, ...]]) -> Any:
        if isinstance(value, str):
            return self.marker(value) if path in paths or self.is_sensitive(value) else value
        if path in paths and value is not None:
            return _seal_all(value, self)
        if isinstance(value, Mapping):
            return {k: self._seal_at(v, (*path, k), paths) for k, v in value.items()}
        if isinstance(value, list):
            return [self._seal_at(v, (*path, i), paths) for i, v in enumerate(value)]
        return value

    # -- what apply sends --------------------------------------------------------------------

    def unseal_params(self, params: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k, self.unseal(v)) for k, v in params)

    def unseal_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.unseal(value)
        if isinstance(value, Mapping):
            return {k: self.unseal_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unseal_json(v) for v in value]
        return value


def secrets_of(loaded: LoadedConfig) -> frozenset[str]:
    """The configuration's sensitive strings: the sensitive variables' values, and every value
    the loader marked sensitive (a string that uses one, as interpolated)."""
    from azstate.load import parse_key_path  # load imports much: only when a plan is made

    found = {v.value for v in loaded.variables.values() if v.sensitive and v.value}
    for text in loaded.sensitive:
        value: Any = loaded.document
        for part in parse_key_path(text):
            found_in_table = isinstance(value, Mapping) and part in value
            found_in_array = isinstance(value, list) and isinstance(part, int) and part < len(value)
            if not (found_in_table or found_in_array):
                value = None
                break
            value = value[part]
        found.update(_strings(value))
    return frozenset(s for s in found if s)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def seal_plan(plan: Plan, sealer: Sealer) -> Plan:
    """The plan as it may be shown and saved."""
    if not sealer.active:
        return plan
    from azstate.plan import Plan

    try:
        return Plan.from_json(sealer.seal_plan_json(plan.to_json()))
    except ValueError as exc:  # a secret where azstate reads a fixed form (an enum, a number)
        raise AzstateError(
            f"a sensitive value is used where azstate needs to read it: {shown(str(exc))}"
        ) from None


def unseal_plan(plan: Plan, sealers: Iterable[Sealer]) -> Plan:
    """The plan with the values behind the markers these sealers made: what apply sends."""
    from azstate.plan import Plan

    data: Any = plan.to_json()
    for sealer in sealers:
        data = sealer.unseal_json(data)
    data.pop("sensitive_salt", None)
    return Plan.from_json(data)


def _find(
    value: Any,
    path: tuple[Any, ...],
    sensitive: Any,
    found: set[tuple[Any, ...]],
) -> None:
    """Collect the paths of sensitive strings; a list holding one is sealed whole (its order
    and length would otherwise tell which element changed)."""
    if isinstance(value, str):
        if sensitive(value):
            found.add(path)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _find(v, (*path, k), sensitive, found)
    elif isinstance(value, list):
        inner: set[tuple[Any, ...]] = set()
        for i, v in enumerate(value):
            _find(v, (*path, i), sensitive, inner)
        if inner:
            found.add(path)


def _seal_all(value: Any, sealer: Sealer) -> Any:
    """Every string inside value sealed (a sensitive list, or the other side of a secret)."""
    if isinstance(value, str):
        return sealer.marker(value)
    if isinstance(value, Mapping):
        return {k: _seal_all(v, sealer) for k, v in value.items()}
    if isinstance(value, list):
        return [_seal_all(v, sealer) for v in value]
    return value
