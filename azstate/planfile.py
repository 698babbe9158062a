"""Saved plans: written by `plan --out`, checked and executed by `apply PLANFILE`.

A saved plan is the plan JSON itself (format_version "1"). It carries the configuration digest
and, per change, a fingerprint of the live value it was planned against. Applying it re-plans
the same targets against the live server and refuses when anything differs: the server, the
configuration or sources, or any planned resource.
"""

from __future__ import annotations

import json
from pathlib import Path

from azstate.errors import AzstateError, StalePlanError
from azstate.plan import FORMAT_VERSION, Plan


def save(plan: Plan, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(plan.dumps(), encoding="utf-8")
    tmp.replace(path)


def load(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AzstateError(f"{path}: no such plan file") from exc
    except (OSError, ValueError) as exc:
        raise AzstateError(f"{path}: not a saved plan ({exc})") from exc
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise AzstateError(
            f"{path}: not a saved plan of format version {FORMAT_VERSION}"
        )
    try:
        return Plan.from_json(data)
    except ValueError as exc:
        raise AzstateError(f"{path}: the saved plan is damaged ({exc})") from exc


def check_fresh(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan that no longer describes what apply would do now."""
    if saved.server.rstrip("/") != fresh.server.rstrip("/"):
        raise StalePlanError(
            f"the plan was made for {saved.server}, not {fresh.server}; make a new plan"
        )
    problems: list[str] = []
    if saved.config_digest != fresh.config_digest:
        problems.append("the configuration or its sources changed since the plan was made")
    old = {c.address: c for c in saved.changes}
    new = {c.address: c for c in fresh.changes}
    changed = sorted(
        a for a in set(old) | set(new)
        if a not in old or a not in new
        or (old[a].action, old[a].fingerprint, old[a].calls)
        != (new[a].action, new[a].fingerprint, new[a].calls)
    )
    if changed:
        problems.append("these resources changed on the server: " + ", ".join(changed))
    if problems:
        raise StalePlanError(
            "the saved plan is stale: " + "; ".join(problems) + ". Make a new plan.",
            changed=tuple(changed),
        )
