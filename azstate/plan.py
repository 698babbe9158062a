"""Plans as data: what would change, and the exact calls that would change it.

A Plan is built by diff.py, rendered by views/, saved by planfile.py and executed by apply.py.
Apply acts on ``Change.calls`` alone; ``reason`` and the before/after values are for people.
The JSON form (format_version "1") is the contract of design.md section 3.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

from azstate.address import Address

FORMAT_VERSION = "1"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NO_OP = "no-op"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UploadFile(_Frozen):
    """An upload's file, by identity: apply finds the bytes by sha256 among the built sources."""

    name: str
    size: int
    sha256: str


class Call(_Frozen):
    """One AJAX request, without the session id (added at send time, never stored)."""

    method: Literal["GET", "POST", "HEAD"]
    path: str
    params: tuple[tuple[str, str], ...] = ()
    multipart: bool = False
    upload: UploadFile | None = None
    mutating: bool = True

    @property
    def action(self) -> str:
        """The ajax or action name, or the page parameter (``delete``) for display and logs."""
        for key, value in self.params:
            if key in ("ajax", "action"):
                return value
        for key, _ in self.params:
            if key in ("delete", "download"):
                return key
        return ""

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "params": dict(self.params),
        }
        if len(dict(self.params)) != len(self.params):
            out["params"] = [list(p) for p in self.params]
        if self.multipart:
            out["multipart"] = True
        if self.upload:
            out["upload"] = self.upload.model_dump()
        return out


class Change(_Frozen):
    address: str
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    calls: tuple[Call, ...] = ()
    reason: str | None = None  # display only: why, or what the server does by itself
    fingerprint: str | None = None  # digest of the live value this change was planned against

    @property
    def addr(self) -> Address:
        return Address.parse(self.address)

    def changed_fields(self) -> list[str]:
        """The top-level fields whose values differ, as DeepDiff finds them: lists compare as
        sets (emails, jobs, SLA rules are unordered on the server), a field on one side only
        counts, and nested differences are reported at their field. Fields equal as plain
        values never reach DeepDiff, which is slow and costly to import (a no-change plan of a
        fleet never needs it)."""
        before, after = self.before or {}, self.after or {}
        if not before or not after:
            return sorted(set(before) | set(after))
        candidates = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        if not candidates:
            return []
        from deepdiff import DeepDiff

        found = DeepDiff(
            {k: before.get(k) for k in candidates},
            {k: after.get(k) for k in candidates},
            ignore_order=True,
            view="tree",
        )
        fields = {
            str(path[0])
            for items in found.values()
            for item in items
            if (path := item.path(output_format="list"))
        }
        return sorted(fields)


class Drift(_Frozen):
    """A live value that differs from the configuration on a resource that exists."""

    address: str
    fields: dict[str, dict[str, Any]]  # field -> {"live": ..., "desired": ...}


class Summary(_Frozen):
    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0


class Plan(_Frozen):
    format_version: str = FORMAT_VERSION
    server: str
    timezone: str = "UTC"
    user: str = ""
    refresh_only: bool = False
    targets: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    drift: tuple[Drift, ...] = ()
    config: str | None = None  # the -c path the plan was made from, for `apply PLANFILE`
    config_digest: str | None = None
    azstate_version: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        counts = {a: 0 for a in ("create", "update", "replace", "delete")}
        for change in self.changes:
            if change.action.value in counts:
                counts[change.action.value] += 1
        return Summary(**counts)

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NO_OP for c in self.changes)

    @property
    def calls(self) -> list[Call]:
        return [call for change in self.changes for call in change.calls]

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["changes"] = [
            {
                **c.model_dump(mode="json", exclude={"calls"}),
                "calls": [x.to_json() for x in c.calls],
            }
            for c in self.changes
        ]
        return data

    def dumps(self) -> str:
        # ASCII, and no "##" a CI log could read as a command ("##[", "##vso["): still exact,
        # since '#' occurs only in strings, where \u0023 is the same character. The rule of
        # views/neutral.for_json, repeated because the core imports no view.
        text = json.dumps(self.to_json(), indent=2, sort_keys=False, ensure_ascii=True)
        return text.replace("##", "#\\u0023") + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        data = dict(data)
        data.pop("summary", None)
        changes = []
        for c in data.get("changes", []):
            c = dict(c)
            calls = []
            for call in c.get("calls", []):
                call = dict(call)
                params = call.get("params", {})
                call["params"] = tuple(
                    tuple(p) for p in (params.items() if isinstance(params, dict) else params)
                )
                calls.append(Call.model_validate(call))
            c["calls"] = tuple(calls)
            changes.append(Change.model_validate(c))
        data["changes"] = tuple(changes)
        return cls.model_validate(data)
