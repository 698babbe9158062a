"""plan = diff(desired, live, options): ownership, prune, protect and targets, with no I/O.

Ownership (design.md §2): a declared project is owned whole; an undeclared project is left
alone unless its name matches a prune glob, and then it is deleted. The resource units in
resources/ compare values and build calls; this module decides which projects they look at
and which of their changes make it into the plan.

Origins: without a baseline a plan only knows that the server differs from the configuration
(every origin ``unknown``). With the configuration of the last apply (``baseline``, the
desired state of ``--baseline REV``) every differing field gets its origin from origins.py, and
the resources the configuration moved that the server already holds are listed as converged.
The baseline's value of an address is found by planning the configuration against the
baseline, as if the baseline were the server: where that plan has no change, the two agree.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from azstate import __version__
from azstate.address import Address, Kind
from azstate.errors import PlanError
from azstate.globs import matches
from azstate.lockout import lockout_risks
from azstate.origins import Origin, field_origins, strongest
from azstate.plan import Action, Baseline, Change, Plan
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
    # Lower names of the projects refresh read (--target's, or apply's verification's): the
    # others are not planned. None: every project. ``declared`` then names every declared
    # project, for the nearest-name hint of a --target that names nothing.
    scope: frozenset[str] | None = None
    declared: tuple[str, ...] = ()
    refresh_only: bool = False
    config_digest: str | None = None
    baseline: Baseline | None = None  # the revision ``diff``'s baseline state was read from


def diff(
    desired: ServerState,
    live: ServerState,
    options: DiffOptions,
    baseline: ServerState | None = None,
) -> Plan:
    """The plan that makes ``live`` the ``desired`` state; with ``baseline`` (the desired state
    of the last applied configuration) a three-way plan."""
    changes = _changes(desired, live, options.prune, options.scope)
    _check_protect(changes, desired, options.protect)
    if options.targets:
        _check_targets(options.targets, desired, live, options.declared)
        changes = _targeted(changes, options.targets)
    if not options.refresh_only:
        _check_lockout(changes, desired, live, live.user or desired.user)
    changes.sort(key=lambda c: c.address)
    converged: list[Address] = []
    if baseline is None:
        changes = [_unknown(c) for c in changes]
    else:
        moved = {c.address: c for c in _changes(desired, baseline, options.prune, options.scope)}
        changes = [_three_way(c, moved.get(c.address)) for c in changes]
        planned = {c.address for c in changes}
        converged = [
            a
            for a in sorted(moved)
            if a not in planned
            and (not options.targets or any(t.contains(a) for t in options.targets))
        ]
    if options.refresh_only:
        changes = _findings(changes, three_way=baseline is not None)
    return Plan(
        server=options.server,
        timezone=options.timezone,
        user=live.user or desired.user,
        refresh_only=options.refresh_only,
        targets=options.targets,
        changes=tuple(changes),
        baseline=options.baseline if baseline is not None else None,
        converged=tuple(converged),
        config_digest=options.config_digest,
        azstate_version=__version__,
    )


def _changes(
    desired: ServerState,
    live: ServerState,
    prune: tuple[str, ...],
    scope: frozenset[str] | None = None,
) -> list[Change]:
    """The changes that make ``live`` the desired state, project by project. Planning the
    configuration against the ``baseline`` (as ``live``) takes the projects either owns.
    ``scope`` (lower names) skips the others: a change needs only what is in its own project,
    and refresh read nothing else, so planning them is wasted work."""
    user = live.user or desired.user
    changes: list[Change] = []
    for key in _project_keys(desired, live, prune):
        if scope is not None and key.lower() not in scope:
            continue
        want, have = desired.projects.get(key), live.projects.get(key)
        name = want.name if want else have.name if have else key
        ctx = ProjectContext(
            name=name,
            desired=want,
            live=have,
            user=user,
            prune_glob=None if want else _prune_glob(name, prune),
        )
        changes.extend(plan_project(ctx))
    return changes


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


def _check_targets(
    targets: tuple[Address, ...],
    desired: ServerState,
    live: ServerState,
    declared: tuple[str, ...] = (),
) -> None:
    """A target that names nothing in the configuration or on the server (the projects
    azstate manages there: declared or pruned, all a refresh reads) is a typo: planning "no
    changes" for it would read as "all is well". The error names the nearest addresses."""
    known = _addresses(desired) + _addresses(live) + [Address.project_(n) for n in declared]
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


def _shown_fields(change: Change) -> list[str] | None:
    """The fields whose difference a change stands for (None: the resource as a whole):
    the unit's choice (a files value differs by its digest, not by the zip's name), without
    what a re-post changes by itself."""
    if change.before is None or change.after is None:
        return None
    names = unit_for(change.address.kind).origin_fields(change)
    return [f for f in names if f not in DISPLAY_ONLY]


def _unknown(change: Change) -> Change:
    """A plain plan: the server differs from the configuration, nobody knows who moved it."""
    fields = _shown_fields(change)
    origins = dict.fromkeys([""] if fields is None else fields, Origin.UNKNOWN)
    return change.model_copy(update={"origin": Origin.UNKNOWN, "field_origins": origins})


def _three_way(change: Change, moved: Change | None) -> Change:
    """The change's origins from B, C and S. ``moved`` is the configuration's change against
    the baseline at the same address: its ``before`` is the baseline's value; without one the
    baseline holds the configured value."""
    config = _compared(change.after_json)
    base = _compared(moved.before_json) if moved is not None else config
    server = _compared(change.before_json)
    origins = field_origins(base, config, server, _shown_fields(change))
    if not origins:
        # Only fields the plan does not show differ (a files value's flows): the whole value.
        whole = field_origins(base, config, server, None)
        origins = {"": strongest(whole.values())}
    origin = strongest(origins.values())
    shown_base = moved.before if moved is not None else change.after
    return change.model_copy(
        update={
            "origin": origin,
            "field_origins": origins,
            "base": shown_base if origin is Origin.CONFLICT else None,
        }
    )


def _compared(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A value as the three-way rule compares it: without what a re-post sets by itself."""
    if value is None:
        return None
    return {k: v for k, v in value.items() if k not in DISPLAY_ONLY}


def _findings(changes: list[Change], *, three_way: bool) -> list[Change]:
    """What a refresh-only plan reports, without calls (it changes nothing): with a baseline
    the drift and the conflicts; without one every difference, a resource missing on the
    server included. Consequences of another difference (a schedule the server drops with the
    files or the project) are not findings of their own."""
    out = []
    for change in changes:
        if change.action is Action.DELETE and not change.calls:
            continue
        if three_way and change.origin not in (Origin.DRIFT, Origin.CONFLICT):
            continue
        out.append(change.model_copy(update={"calls": ()}))
    return out
