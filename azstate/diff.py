"""plan = diff(desired, live, options): ownership, prune, protect and targets, with no I/O.

Ownership (design.md §2): a declared project is owned whole; an undeclared project is left
alone unless its name matches a prune glob, and then it is deleted. The resource units in
resources/ compare values and build calls; this module decides which projects they look at
and which of their changes make it into the plan.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from azstate import __version__
from azstate.address import Address, Kind
from azstate.errors import PlanError
from azstate.globs import matches
from azstate.lockout import lockout_risks
from azstate.plan import Action, Change, Drift, Plan
from azstate.resources import ProjectContext, plan_project, unit_for, with_needs
from azstate.state import (
    DISPLAY_ONLY,
    PermissionValue,
    ProjectState,
    ServerState,
    permission_key,
)


@dataclass(frozen=True)
class DiffOptions:
    server: str = ""
    timezone: str = "UTC"
    prune: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()  # globs of projects no plan may delete
    targets: tuple[Address, ...] = ()
    refresh_only: bool = False
    config_digest: str | None = None


def diff(desired: ServerState, live: ServerState, options: DiffOptions) -> Plan:
    changes: list[Change] = []
    for key in _project_keys(desired, live, options.prune):
        want, have = desired.projects.get(key), live.projects.get(key)
        name = want.name if want else have.name if have else key
        ctx = ProjectContext(
            name=name,
            desired=want,
            live=have,
            user=live.user or desired.user,
            prune_glob=None if want else _prune_glob(name, options.prune),
        )
        changes.extend(plan_project(ctx))
    _check_protect(changes, desired, options.protect)
    if options.targets:
        _check_targets(options.targets, desired, live)
        changes = _targeted(changes, options.targets)
    if not options.refresh_only:
        _check_lockout(changes, desired, live, live.user or desired.user)
    changes.sort(key=lambda c: c.address)
    drift = tuple(_drift(changes))
    if options.refresh_only:
        changes = []
    return Plan(
        server=options.server,
        timezone=options.timezone,
        user=live.user or desired.user,
        refresh_only=options.refresh_only,
        targets=options.targets,
        changes=tuple(changes),
        drift=drift,
        config_digest=options.config_digest,
        azstate_version=__version__,
    )


def _project_keys(desired: ServerState, live: ServerState, prune: tuple[str, ...]) -> list[str]:
    keys = set(desired.projects)
    keys.update(k for k, p in live.projects.items() if k not in keys and matches(p.name, prune))
    return sorted(keys)


def _prune_glob(name: str, globs: tuple[str, ...]) -> str | None:
    """The first prune glob that selects a project (globs.matches' rule), for the plan to
    name."""
    return next((g for g in globs if fnmatchcase(name.lower(), g.lower())), None)


def _addresses(state: ServerState) -> list[Address]:
    """Every address a state holds: its projects and what is inside them."""
    out: list[Address] = []
    for project in state.projects.values():
        name = project.name
        out.append(Address.project_(name))
        if project.files is not None:
            out.append(Address.files(name))
        out += [Address.schedule(name, flow) for flow in project.schedules]
        out += [Address.sla(name, flow) for flow in project.slas]
        for key in project.permissions or {}:
            principal, _, who = key.partition(".")
            out.append(Address.permission(name, "group" if principal == "group" else "user", who))
    return out


def _check_targets(targets: tuple[Address, ...], desired: ServerState, live: ServerState) -> None:
    """A target that names nothing in the configuration or on the server (the projects
    azstate manages there: declared or pruned, all a refresh reads) is a typo: planning "no
    changes" for it would read as "all is well". The error names the nearest addresses."""
    known = _addresses(desired) + _addresses(live)
    for target in targets:
        if any(target.contains(a) for a in known):
            continue
        names = sorted({str(a) for a in known})
        near = difflib.get_close_matches(str(target), names, n=3, cutoff=0.5)
        hint = f"; nearest: {', '.join(near)}" if near else ""
        raise PlanError(
            f"--target {target} matches nothing in the configuration or on the server{hint}"
        )


def _check_protect(changes: list[Change], desired: ServerState, globs: tuple[str, ...]) -> None:
    refused = []
    for change in changes:
        addr = change.address
        if addr.kind is Kind.PROJECT and change.action in (Action.DELETE, Action.REPLACE):
            declared: ProjectState | None = desired.get(addr.project)
            if (declared is not None and declared.protect) or matches(addr.project, globs):
                refused.append(addr.project)
    if refused:
        raise PlanError(
            "the plan would delete protected project(s): "
            + ", ".join(refused)
            + " (remove the protection in the configuration first)"
        )


def _check_lockout(
    changes: list[Change], desired: ServerState, live: ServerState, user: str
) -> None:
    """Refuse permission changes that could leave the applying user, or everyone, without
    ADMIN on a project that stays (lockout.py says which), unless its configuration allows it.
    Checked on the changes apply would make, so after targeting."""
    touched: dict[str, list[Change]] = {}
    recreated: set[str] = set()
    deleted: set[str] = set()
    for change in changes:
        key = change.address.project.lower()
        if change.address.kind is Kind.PERMISSION:
            touched.setdefault(key, []).append(change)
        elif change.address.kind is Kind.PROJECT and change.action is Action.DELETE:
            deleted.add(key)  # the project goes whole (prune): its entries go with it
        elif change.address.kind is Kind.PROJECT and change.action is not Action.UPDATE:
            recreated.add(key)
    refused: list[str] = []
    for key, permission_changes in sorted(touched.items()):
        if key in deleted:
            continue
        declared, have = desired.get(key), live.get(key)
        if declared is not None and declared.allow_admin_removal:
            continue
        if key in recreated or have is None:
            # Azkaban makes the creator ADMIN at create; nothing else is there yet.
            now: dict[str, frozenset[str]] = {permission_key("user", user): frozenset({"admin"})}
        elif have.permissions is None:
            continue  # not read: nothing to compare against
        else:
            now = {k: frozenset(v.perms) for k, v in have.permissions.items()}
        after = dict(now)
        for change in permission_changes:
            entry = permission_key(
                "group" if change.address.principal == "group" else "user", change.address.name
            )
            if change.action is Action.DELETE or change.after is None:
                after.pop(entry, None)
            elif isinstance(change.after, PermissionValue):
                after[entry] = frozenset(change.after.perms)
        if not any("admin" in perms for perms in now.values()):
            continue  # nobody holds ADMIN already: not this plan's doing (nor can it repair it)
        risks = lockout_risks(after, now, user)
        if risks:
            name = declared.name if declared is not None else key
            refused.append(f"{name}: " + "; ".join(risks))
    if refused:
        raise PlanError(
            "the plan could leave the applying user, or everyone, without ADMIN: "
            + "; ".join(refused)
            + " (keep an ADMIN entry, or set allow_admin_removal = true in the project's "
            "[projects.NAME.permissions] table if this is meant)"
        )


def _targeted(changes: list[Change], targets: tuple[Address, ...]) -> list[Change]:
    """Keep targeted changes and what they need (the units' declarations: a project's
    creation, a pending upload, the schedule an SLA travels with)."""
    chosen = [c for c in changes if any(t.contains(c.address) for t in targets)]
    return with_needs(chosen, changes)


def _drift(changes: list[Change]) -> Iterable[Drift]:
    """Live values that differ from the configuration on resources that exist on the server."""
    for change in changes:
        if change.before is None or change.action is Action.CREATE:
            continue
        if change.action is Action.DELETE and not change.calls:
            continue  # the server's consequence of another change (an upload, a project delete)
        if change.after is None:
            # Not in the configuration at all: the change itself shows every value that goes,
            # and a field-by-field "configuration: nothing" would only repeat it.
            yield Drift(address=change.address, fields={})
            continue
        before, after = change.before_json or {}, change.after_json or {}
        names = unit_for(change.address.kind).drift_fields(change)
        fields = {
            f: {"live": before.get(f), "desired": after.get(f)}
            for f in names
            if f not in DISPLAY_ONLY
        }
        yield Drift(address=change.address, fields=fields)
