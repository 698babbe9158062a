"""Resource addresses: the names plans, targets and reports use for one thing on the server.

    project.NAME                        existence and description
    project.NAME.files                  the uploaded zip's content
    project.NAME.schedule.FLOW          a flow's cron schedule and options
    project.NAME.sla.FLOW               the SLA of that schedule
    project.NAME.permission.user.USER   one permission entry (or .group.GROUP)

A name that is not plain (anything outside ``[A-Za-z0-9_-]``, or empty) is written in brackets
as a JSON string: ``project.etl.permission.group["ops.team"]``, ``project.etl.schedule["a b"]``.
That form is the one ``str()`` gives and the one any name can be spelled in; plain names print
as they always did. ``parse`` also takes the unquoted form with dots (``...user.john.doe``):
project names cannot hold dots (Azkaban's name rule), so the first two segments are
unambiguous and everything after the kind (and principal) is the name.
"""

from __future__ import annotations

import json
import re
from enum import Enum, StrEnum
from functools import total_ordering
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from azstate.errors import PlanError


class Kind(StrEnum):
    """Declared in the order addresses sort in (plans and reports list a project's resources
    so). The order changes are applied in is the units' business (resources/)."""

    PROJECT = "project"
    FILES = "files"
    SCHEDULE = "schedule"
    SLA = "sla"
    PERMISSION = "permission"


class Shape(Enum):
    """How an address of a kind names its resource after ``project.NAME``."""

    WHOLE = "project.NAME"  # the project itself
    SINGLE = "project.NAME.KIND"  # one per project
    NAMED = "project.NAME.KIND.NAME"  # one per flow
    PRINCIPAL = "project.NAME.KIND.user|group.NAME"  # one per user or group


# Each kind's spelling; a new kind adds its member to Kind and its shape here.
SHAPES: dict[Kind, Shape] = {
    Kind.PROJECT: Shape.WHOLE,
    Kind.FILES: Shape.SINGLE,
    Kind.SCHEDULE: Shape.NAMED,
    Kind.SLA: Shape.NAMED,
    Kind.PERMISSION: Shape.PRINCIPAL,
}
PRINCIPALS = ("user", "group")
_RANK = {kind: i for i, kind in enumerate(Kind)}
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
_USAGE = (
    "expected project.NAME[.files|.schedule.FLOW|.sla.FLOW|.permission.user.USER|"
    '.permission.group.GROUP], a name other than letters, digits, _ and - quoted as ["..."]'
)


def quote(name: str) -> str:
    """``.name`` when plain, else ``["name"]`` with JSON-string escapes."""
    if _PLAIN.fullmatch(name):
        return f".{name}"
    return f"[{json.dumps(name, ensure_ascii=False)}]"


@total_ordering
class Address:
    """An immutable, hashable, sortable resource address."""

    __slots__ = ("_key", "kind", "name", "principal", "project")

    project: str
    kind: Kind
    name: str
    principal: str
    _key: tuple[str, int, str, str]

    def __init__(
        self, project: str, kind: Kind = Kind.PROJECT, name: str = "", principal: str = ""
    ) -> None:
        object.__setattr__(self, "project", project)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "principal", principal)  # "user" or "group" for permissions
        object.__setattr__(self, "_key", (project.lower(), _RANK[kind], principal, name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("an Address is immutable")

    @classmethod
    def project_(cls, project: str) -> Address:
        return cls(project)

    @classmethod
    def files(cls, project: str) -> Address:
        return cls(project, Kind.FILES)

    @classmethod
    def schedule(cls, project: str, flow: str) -> Address:
        return cls(project, Kind.SCHEDULE, flow)

    @classmethod
    def sla(cls, project: str, flow: str) -> Address:
        return cls(project, Kind.SLA, flow)

    @classmethod
    def permission(cls, project: str, principal: str, name: str) -> Address:
        return cls(project, Kind.PERMISSION, name, principal)

    @classmethod
    def parse(cls, text: str) -> Address:
        """Both spellings: ``schedule.FLOW`` (anything after the dot) and ``schedule["FLOW"]``."""
        parts = text.split(".", 2)
        if len(parts) < 2 or parts[0] != "project" or not parts[1] or "[" in parts[1]:
            raise PlanError(f"invalid address {text!r}: {_USAGE}")
        project = parts[1]
        if len(parts) == 2:
            return cls(project)
        rest = parts[2]
        for kind, shape in SHAPES.items():
            if shape is Shape.WHOLE:
                continue
            if shape is Shape.SINGLE:
                if rest == kind.value:
                    return cls(project, kind)
                continue
            for principal in PRINCIPALS if shape is Shape.PRINCIPAL else ("",):
                prefix = f"{kind.value}.{principal}" if principal else kind.value
                name = _name(text, rest[len(prefix) :]) if rest.startswith(prefix) else None
                if name is not None:
                    return cls(project, kind, name, principal)
        raise PlanError(f"invalid address {text!r}: unknown resource {rest!r}; {_USAGE}")

    @property
    def project_address(self) -> Address:
        return Address(self.project)

    def contains(self, other: Address) -> bool:
        """A project address targets everything in the project; others only themselves."""
        if self.kind is Kind.PROJECT:
            return self.project.lower() == other.project.lower()
        return self == other

    def same_project(self, other: Address) -> bool:
        """Azkaban names projects case-insensitively."""
        return self.project.lower() == other.project.lower()

    def __str__(self) -> str:
        base = f"project.{self.project}"
        match SHAPES[self.kind]:
            case Shape.WHOLE:
                return base
            case Shape.SINGLE:
                return f"{base}.{self.kind.value}"
            case Shape.NAMED:
                return f"{base}.{self.kind.value}{quote(self.name)}"
            case Shape.PRINCIPAL:
                return f"{base}.{self.kind.value}.{self.principal}{quote(self.name)}"

    def __repr__(self) -> str:
        return f"Address({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Address) and self._key == other._key

    def __lt__(self, other: Address) -> bool:
        return self._key < other._key

    def __hash__(self) -> int:
        return hash(self._key)

    # Pydantic: a model field of this type validates from its string and serialises as it, so
    # plan JSON holds the same text as before addresses were typed.
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_str = core_schema.no_info_after_validator_function(cls.parse, core_schema.str_schema())
        return core_schema.json_or_python_schema(
            json_schema=from_str,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_str]),
            serialization=core_schema.to_string_ser_schema(),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "description": "a resource address: " + _USAGE,
            "examples": ["project.etl.schedule.daily", 'project.etl.permission.group["ops.team"]'],
        }


def _name(text: str, rest: str) -> str | None:
    """The name after a kind: ``.NAME`` (legacy, anything) or ``["..."]`` (a JSON string)."""
    if rest.startswith(".") and len(rest) > 1:
        return rest[1:]
    if not rest.startswith("["):
        return None
    try:
        name, end = json.JSONDecoder().raw_decode(rest, 1)
    except ValueError as exc:
        raise PlanError(
            f"invalid address {text!r}: a bracketed name must be a JSON string"
        ) from exc
    if not isinstance(name, str) or rest[end:] != "]":
        raise PlanError(f'invalid address {text!r}: expected ["NAME"] with one JSON string')
    return name
