"""The contract of a resource unit, and what the units share.

A unit declares everything about one resource kind: its Kind (and so its address), the type
of its values, the phase each action applies in and what it ``needs``, how its desired value
is built from the configuration, how its live value is read from a refresh snapshot, the
changes (with their calls, built by wire/calls.py) for a difference, and how a lost reply to
one of its non-idempotent calls is checked (through the client). Diff, apply ordering,
targeting and "stop what depends on a failure" are derived from these declarations in
resources/__init__.py; nothing outside resources/ knows a kind's rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from azstate.address import Address, Kind
from azstate.archive import ZipData
from azstate.config import ProjectConfig
from azstate.plan import Action, Call, Change
from azstate.resources.reading import Listed, Pending, Reader
from azstate.snapshot import ProjectSnapshot
from azstate.state import ProjectState, SourceFiles, Value, plan_json
from azstate.wire.client import AzkabanClient


@dataclass(frozen=True)
class Need:
    """A change of this unit's kind needs the changes of ``kind`` (of ``actions``; None: any)
    in the same project, of the same name when ``same_name``: they are applied before it,
    targeting it brings them, and their failure stops it."""

    kind: Kind
    actions: frozenset[Action] | None = None
    same_name: bool = False

    def met_by(self, dependent: Address, other: Change) -> bool:
        addr = other.address
        return (
            addr.kind is self.kind
            and addr.same_project(dependent)
            and (self.actions is None or other.action in self.actions)
            and (not self.same_name or addr.name == dependent.name)
        )


# What every resource inside a project needs: the project, when it is being created.
PROJECT_CREATED = Need(Kind.PROJECT, frozenset({Action.CREATE}))


def by_action(
    phase: int, *, create: int | None = None, delete: int | None = None
) -> dict[Action, int]:
    """A unit's phases: one for every action, unless creation or removal comes elsewhere."""
    out = dict.fromkeys((Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE), phase)
    if create is not None:
        out[Action.CREATE] = create
    if delete is not None:
        out[Action.DELETE] = delete
    return out


@dataclass(frozen=True)
class ProjectContext:
    """Everything the units need to plan one project; derived facts computed once."""

    name: str  # the configuration's spelling when declared, else the server's
    desired: ProjectState | None  # None: the project should not exist (prune)
    live: ProjectState | None  # None: the project does not exist
    user: str  # the applying user
    prune_glob: str | None = None  # the prune glob that selects an undeclared live project

    @property
    def creating(self) -> bool:
        return self.desired is not None and self.live is None

    @property
    def deleting(self) -> bool:
        return self.desired is None and self.live is not None

    @property
    def uploading(self) -> bool:
        """True when the plan uploads new files (so the server drops vanished flows' schedules)."""
        d = self.desired.files if self.desired else None
        if d is None:
            return False
        live = self.live.files if self.live else None
        return live is None or live.digest != d.digest

    @property
    def desired_flows(self) -> frozenset[str] | None:
        files = self.desired.files if self.desired else None
        return files.flows if files else None

    def schedule_id(self, flow: str) -> int | None:
        if self.live is None or self.live.ids is None:
            return None
        return self.live.ids.schedule_ids.get(flow)

    def change(
        self,
        address: Address,
        action: Action,
        before: Value | None,
        after: Value | None,
        calls: tuple[Call, ...] = (),
        reason: str | None = None,
        fingerprint_extra: Any = None,
    ) -> Change:
        return Change(
            address=address,
            action=action,
            before=before,
            after=after,
            calls=calls,
            reason=reason,
            fingerprint=fingerprint(plan_json(before), fingerprint_extra),
        )


def addresses_of(name: str, desired: ProjectState | None) -> frozenset[Address]:
    """Every resource a configured project declares: what a new project's verification reads."""
    out = {Address.project_(name)}
    if desired is None:
        return frozenset(out)
    if desired.files is not None:
        out.add(Address.files(name))
    out.update(Address.schedule(name, flow) for flow in desired.schedules)
    out.update(Address.sla(name, flow) for flow in desired.slas)
    for key in desired.permissions or {}:
        principal, _, who = key.partition(".")
        out.add(Address.permission(name, principal, who))
    return frozenset(out)


def fingerprint(value: Any, extra: Any = None) -> str:
    """A digest of the live value (and identities) a change was planned against."""
    text = json.dumps([value, extra], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Unit:
    """One resource kind. Subclasses set the class attributes and override what they do."""

    kind: ClassVar[Kind]
    value_type: ClassVar[type[Value]]
    # Apply order inside a project, per action: lower first; a dependent's phase is above its
    # needs' (resources.check_registry holds it), and removals come after everything they
    # could still be needed by.
    phases: ClassVar[Mapping[Action, int]]
    needs: ClassVar[tuple[Need, ...]] = ()
    # ProjectState fields this unit fills from the configuration and from a snapshot.
    state_fields: ClassVar[tuple[str, ...]]

    def phase(self, action: Action) -> int:
        return self.phases[action]

    def desired(self, project: ProjectConfig, source: SourceFiles | None) -> Mapping[str, Any]:
        """Its ProjectState fields from one project's configuration (and read sources)."""
        raise NotImplementedError

    def read(self, reader: Reader, listed: Listed) -> Mapping[str, Pending[Any]]:
        """Start the reads of its part of one project: ProjectSnapshot fields by name. Called
        on refresh's thread; the reads run in its pool."""
        return {}

    def live(self, snapshot: ProjectSnapshot) -> Mapping[str, Any]:
        """Its ProjectState fields from what a refresh read (pure)."""
        raise NotImplementedError

    def plan(self, ctx: ProjectContext) -> list[Change]:
        """The changes that make the live project's values of this kind the desired ones."""
        raise NotImplementedError

    def verify_reads(self, change: Change, desired: ProjectState | None) -> frozenset[Address]:
        """What apply's verification re-reads after ``change`` was applied (``desired``: its
        project as configured): the resource itself, and whatever the server changes on its
        own as a consequence of the change's calls. The rest of the project is not read again:
        the plan read it as desired, and nothing the apply sent could have changed it."""
        return frozenset({change.address})

    def happened(
        self, client: AzkabanClient, change: Change, call: Call, data: ZipData | None
    ) -> bool:
        """After a lost reply to a non-idempotent call: does a read show it took effect?
        Reads only. False is "not yet seen": apply asks again for a while, and never sends
        the call again (its outcome is then unknown)."""
        return False

    def origin_fields(self, change: Change) -> list[str]:
        """The fields a change to an existing resource stands for: the ones whose origin
        (edit, drift, conflict) a plan gives."""
        return (
            change.changed_fields()
            if change.after is not None
            else sorted(change.before_json or {})
        )

    def value_from_json(self, data: Mapping[str, Any]) -> Value:
        return self.value_type.model_validate(data)
