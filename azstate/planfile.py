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

from pydantic import ValidationError

from azstate.address import Address
from azstate.errors import AzstateError, StalePlanError
from azstate.plan import FORMAT_VERSION, Change, Plan
from azstate.private import write_file


def save(plan: Plan, path: Path) -> None:
    """Written beside the target and renamed, so an interrupted save never leaves half a plan;
    0600, since a plan holds what the server holds."""
    try:
        write_file(path, plan.dumps(), parents=False)
    except OSError as exc:
        raise AzstateError(f"{path}: cannot save the plan ({exc.strerror or exc})") from exc


def load(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AzstateError(f"{path}: no such plan file") from exc
    except IsADirectoryError as exc:
        raise AzstateError(f"{path}: a directory, not a saved plan") from exc
    except OSError as exc:
        raise AzstateError(f"{path}: cannot read the plan ({exc.strerror or exc})") from exc
    except RecursionError:
        raise AzstateError(f"{path}: not a saved plan (JSON nested too deeply)") from None
    except ValueError as exc:
        raise AzstateError(f"{path}: not a saved plan (not JSON: {_first_line(exc)})") from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise AzstateError(f"{path}: not a saved plan (no format_version)")
    if data["format_version"] != FORMAT_VERSION:
        raise AzstateError(
            f"{path}: a plan of format version {data['format_version']}, and this azstate "
            f"applies version {FORMAT_VERSION} only: make a new plan with azstate plan --out"
        )
    try:
        return Plan.from_json(data)
    except ValidationError as exc:
        raise AzstateError(f"{path}: the saved plan is damaged: {_what_is_wrong(exc)}") from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, AzstateError) as exc:
        raise AzstateError(f"{path}: the saved plan is damaged: {_first_line(exc)}") from None


def _what_is_wrong(exc: ValidationError) -> str:
    """pydantic's report in one line: where the first problem is and what it is; the value
    itself is left out (a plan may be large, and it is the file's, not azstate's, wording)."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "not a plan"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "the plan"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {_first_line(first.get('msg', 'invalid'))}{more}"


def _first_line(what: object) -> str:
    text = str(what).strip() or type(what).__name__
    return text.splitlines()[0][:300]


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
