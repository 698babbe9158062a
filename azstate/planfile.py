"""Saved plans: written by `plan --out`, checked and executed by `apply PLANFILE`.

A saved plan is the plan JSON itself (format_version "2"; a version 1 plan, made before plans
had origins, is refused in one line). It carries the configuration digest and, per change, a
fingerprint of the live value it was planned against. Applying it re-plans the same targets
against the live server and refuses when anything differs: the server, the configuration or
sources, or any planned resource.
"""

from __future__ import annotations

import json
from pathlib import Path

from azstate.address import Address
from azstate.errors import AzstateError, StalePlanError
from azstate.plan import FORMAT_VERSION, Change, Plan


def save(plan: Plan, path: Path) -> None:
    """Written beside the target and renamed, so an interrupted save never leaves half a plan."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(plan.dumps(), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise AzstateError(f"{path}: cannot save the plan ({exc.strerror or exc})") from exc


def load(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AzstateError(f"{path}: no such plan file") from exc
    except (OSError, ValueError) as exc:
        raise AzstateError(f"{path}: not a saved plan ({exc})") from exc
    if not isinstance(data, dict) or "format_version" not in data:
        raise AzstateError(f"{path}: not a saved plan (no format_version)")
    if data["format_version"] != FORMAT_VERSION:
        raise AzstateError(
            f"{path}: a plan of format version {data['format_version']}, and this azstate "
            f"applies version {FORMAT_VERSION} only: make a new plan with azstate plan --out"
        )
    try:
        return Plan.from_json(data)
    except ValueError as exc:
        raise AzstateError(f"{path}: the saved plan is damaged ({exc})") from exc


def check_server(saved: Plan, url: str) -> None:
    """Refuse a plan made for another server before reading anything from this one."""
    if _server_key(saved.server) != _server_key(url):
        raise StalePlanError(
            f"the plan was made for {saved.server}, not {url}; make a new plan for this server"
        )


def check_user(saved: Plan, username: str) -> None:
    """Refuse a plan made for another user: ownership (the applying user's own permission
    entry, which Azkaban grants whoever creates a project) was computed for that user."""
    if saved.user and saved.user != username:
        raise AzstateError(
            f"the plan was made for {saved.user}, and this apply is logged in as {username}: "
            f"apply it as {saved.user}, or make a new plan as {username} "
            f"(or with --plan-for {username})"
        )


def _server_key(url: str) -> str:
    return url.strip().rstrip("/").lower()


def check_fresh(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan that no longer describes what apply would do now."""
    check_server(saved, fresh.server)
    problems: list[str] = []
    if saved.config_digest != fresh.config_digest:
        problems.append("the configuration or its sources changed since the plan was made")
    old = {c.address: c for c in saved.changes}
    new = {c.address: c for c in fresh.changes}
    changed: list[Address] = []
    described: list[str] = []
    for address in sorted(set(old) | set(new)):
        why = _difference(old.get(address), new.get(address))
        if why:
            changed.append(address)
            described.append(f"{address} ({why})")
    if described:
        problems.append("these resources would be planned differently now: " + ", ".join(described))
    if problems:
        raise StalePlanError(
            "the saved plan is stale: " + "; ".join(problems) + ". Make a new plan.",
            changed=tuple(str(a) for a in changed),
        )


def _difference(old: Change | None, new: Change | None) -> str | None:
    """Why one resource's saved change no longer holds, in words; None when it still does."""
    if old is None:
        return "not in the plan, but it needs a change now"
    if new is None:
        return "in the plan, but it needs no change now"
    if old.fingerprint != new.fingerprint:
        return "its live value changed on the server"
    if (old.action, old.calls) != (new.action, new.calls):
        return "the configuration now asks for something else"
    return None
