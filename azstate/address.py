"""Resource addresses: the names plans, targets and reports use for one thing on the server.

    project.NAME                        existence and description
    project.NAME.files                  the uploaded zip's content
    project.NAME.schedule.FLOW          a flow's cron schedule and options
    project.NAME.sla.FLOW               the SLA of that schedule
    project.NAME.permission.user.USER   one permission entry (or .group.GROUP)

Project names cannot hold dots (Azkaban's name rule), so the first two segments are unambiguous
and a flow or user name may keep any dots it has.
"""

from __future__ import annotations

from enum import StrEnum
from functools import total_ordering

from azstate.errors import PlanError


class Kind(StrEnum):
    PROJECT = "project"
    FILES = "files"
    SCHEDULE = "schedule"
    SLA = "sla"
    PERMISSION = "permission"


# Apply order of kinds inside a project: creation first, then what depends on it.
KIND_ORDER = {Kind.PROJECT: 0, Kind.FILES: 1, Kind.SCHEDULE: 2, Kind.SLA: 3, Kind.PERMISSION: 4}


@total_ordering
class Address:
    """An immutable, hashable, sortable resource address."""

    __slots__ = ("_key", "kind", "name", "principal", "project")

    def __init__(
        self, project: str, kind: Kind = Kind.PROJECT, name: str = "", principal: str = ""
    ) -> None:
        self.project = project
        self.kind = kind
        self.name = name
        self.principal = principal  # "user" or "group" for permissions
        self._key = (project.lower(), KIND_ORDER[kind], principal, name)

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
        parts = text.split(".", 2)
        if len(parts) < 2 or parts[0] != "project" or not parts[1]:
            raise PlanError(
                f"invalid address {text!r}: expected project.NAME[.files|.schedule.FLOW|"
                ".sla.FLOW|.permission.user.USER|.permission.group.GROUP]"
            )
        project = parts[1]
        if len(parts) == 2:
            return cls(project)
        rest = parts[2]
        if rest == "files":
            return cls(project, Kind.FILES)
        head, _, tail = rest.partition(".")
        if head in ("schedule", "sla") and tail:
            return cls(project, Kind(head), tail)
        if head == "permission":
            principal, _, name = tail.partition(".")
            if principal in ("user", "group") and name:
                return cls(project, Kind.PERMISSION, name, principal)
        raise PlanError(f"invalid address {text!r}: unknown resource {rest!r}")

    @property
    def project_address(self) -> Address:
        return Address(self.project)

    def contains(self, other: Address) -> bool:
        """A project address targets everything in the project; others only themselves."""
        if self.kind is Kind.PROJECT:
            return self.project.lower() == other.project.lower()
        return self == other

    def __str__(self) -> str:
        base = f"project.{self.project}"
        match self.kind:
            case Kind.PROJECT:
                return base
            case Kind.FILES:
                return f"{base}.files"
            case Kind.SCHEDULE | Kind.SLA:
                return f"{base}.{self.kind.value}.{self.name}"
            case Kind.PERMISSION:
                return f"{base}.permission.{self.principal}.{self.name}"

    def __repr__(self) -> str:
        return f"Address({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Address) and self._key == other._key

    def __lt__(self, other: Address) -> bool:
        return self._key < other._key

    def __hash__(self) -> int:
        return hash(self._key)
