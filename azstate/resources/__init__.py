"""The resource units, and what is derived from their declarations.

UNITS is the registry: one unit per kind (resources/unit.py states the contract). From their
declarations come the desired and live project states, the changes of one project, the apply
order inside a project, what a targeted change brings along, and which changes a failure
stops. Adding a resource kind is one new module here and one entry in UNITS; diff, apply,
refresh and the views stay as they are (docs/architecture.md lists the places it does touch).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from azstate.address import Address, Kind
from azstate.config import Config, ProjectConfig
from azstate.plan import Action, Change
from azstate.resources import files, permission, project, schedule, sla
from azstate.resources.unit import ProjectContext, Unit
from azstate.snapshot import ProjectSnapshot, ServerSnapshot
from azstate.state import LiveIds, ProjectState, ServerState, SourceFiles

__all__ = [
    "UNITS",
    "ProjectContext",
    "Unit",
    "apply_key",
    "check_registry",
    "desired_project",
    "desired_state",
    "live_project",
    "live_state",
    "plan_project",
    "stops",
    "unit_for",
    "verify_reads",
    "with_needs",
]

UNITS: tuple[Unit, ...] = (project.UNIT, files.UNIT, schedule.UNIT, sla.UNIT, permission.UNIT)

_BY_KIND: Mapping[Kind, Unit] = {unit.kind: unit for unit in UNITS}


def unit_for(kind: Kind) -> Unit:
    return _BY_KIND[kind]


def desired_project(name: str, config: ProjectConfig, source: SourceFiles | None) -> ProjectState:
    """The configuration of one project as the normalized values the server is compared with."""
    fields: dict[str, Any] = {}
    for unit in UNITS:
        fields.update(unit.desired(config, source))
    allow = config.permissions is not None and config.permissions.allow_admin_removal
    return ProjectState(name=name, protect=config.protect, allow_admin_removal=allow, **fields)


def desired_state(
    config: Config,
    sources: Mapping[str, SourceFiles],
    user: str = "",
    only: frozenset[str] | None = None,
) -> ServerState:
    """``only`` (lower names): just those projects, for a plan that reads no other."""
    return ServerState(
        projects={
            name.lower(): desired_project(name, project, sources.get(name))
            for name, project in config.projects.items()
            if only is None or name.lower() in only
        },
        user=user,
    )


def live_project(snapshot: ProjectSnapshot) -> ProjectState:
    """What a refresh read, as the values the configuration is compared with (pure)."""
    fields: dict[str, Any] = {}
    for unit in UNITS:
        fields.update(unit.live(snapshot))
    return ProjectState(
        name=snapshot.name,
        ids=LiveIds(
            project_id=snapshot.project_id,
            version=snapshot.files.version if snapshot.files else None,
            schedule_ids={flow: read.schedule_id for flow, read in snapshot.schedules.items()},
            unmanaged={
                flow: read.unmanaged for flow, read in snapshot.schedules.items() if read.unmanaged
            },
            cron_notes={
                flow: read.cron_note for flow, read in snapshot.schedules.items() if read.cron_note
            },
        ),
        **fields,
    )


def live_state(snapshot: ServerSnapshot) -> ServerState:
    return ServerState(
        projects={key: live_project(p) for key, p in snapshot.projects.items()},
        user=snapshot.user,
    )


def plan_project(ctx: ProjectContext) -> list[Change]:
    return [change for unit in UNITS for change in unit.plan(ctx)]


def apply_key(change: Change) -> tuple[int, Any]:
    """Apply order inside a project: the units' phases, then the address."""
    return (unit_for(change.address.kind).phase(change.action), change.address)


def _needs(change: Change, other: Change) -> bool:
    unit = unit_for(change.address.kind)
    return other is not change and any(n.met_by(change.address, other) for n in unit.needs)


def stops(change: Change, stopped: Change) -> bool:
    """Whether ``change`` must not be sent because ``stopped`` failed or was not attempted:
    it needs it, or it removes something (nothing is removed once something went wrong)."""
    if not change.address.same_project(stopped.address):
        return False
    return change.action is Action.DELETE or _needs(change, stopped)


def verify_reads(
    changes: Iterable[Change], desired: Mapping[str, ProjectState]
) -> dict[str, frozenset[Address]]:
    """What apply's verification re-reads, by lower project name: per change, what its unit
    declares (Unit.verify_reads: the resource, and the server's own consequences)."""
    out: dict[str, set[Address]] = {}
    for change in changes:
        if change.action is Action.NO_OP:
            continue
        key = change.address.project.lower()
        unit = unit_for(change.address.kind)
        out.setdefault(key, set()).update(unit.verify_reads(change, desired.get(key)))
    return {key: frozenset(addresses) for key, addresses in out.items()}


def with_needs(chosen: Iterable[Change], changes: Sequence[Change]) -> list[Change]:
    """The chosen changes and, transitively, every change of ``changes`` they need."""
    picked = {id(c) for c in chosen}
    queue = [c for c in changes if id(c) in picked]
    while queue:
        change = queue.pop()
        for other in changes:
            if id(other) not in picked and _needs(change, other):
                picked.add(id(other))
                queue.append(other)
    return [c for c in changes if id(c) in picked]


def check_registry() -> list[str]:
    """Declarations that contradict each other: a unit applied before something it needs."""
    problems = []
    for unit in UNITS:
        for need in unit.needs:
            needed = unit_for(need.kind)
            actions = need.actions or frozenset(needed.phases)
            last = max(needed.phase(a) for a in actions if a is not Action.DELETE or need.actions)
            for action, phase in unit.phases.items():
                if action is not Action.DELETE and phase <= last:
                    problems.append(f"{unit.kind} {action} applies before its need {need.kind}")
    return problems
