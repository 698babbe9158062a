"""Hand-built plans for the view tests: every action on every resource type, and big fleets.

The views are pure functions of a Plan, so they are tested on plans built here rather than on
a server: what a reviewer sees must not depend on how the plan was made.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from azstate.address import Kind
from azstate.apply import ChangeOutcome
from azstate.origins import Origin
from azstate.plan import Action, Baseline, Call, Change, Plan, UploadFile
from azstate.wire.calls import restore

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)  # 05:00 in Los Angeles (PDT)
TZ = "America/Los_Angeles"
SERVER = "https://azkaban.example.com:8443"
SHA = "5f" * 32
Outcome = ChangeOutcome  # the report takes what apply gives it


def console(width: int = 100) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)


def output(con: Console) -> str:
    file = con.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def schedule(cron: str, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "cron": cron,
        "concurrent": "skip",
        "pipeline_level": None,
        "failure_action": "finish_current",
        "failure_emails": ["oncall@example.com"],
        "success_emails": [],
        "notify_on_first_failure": True,
        "notify_on_last_failure": False,
        "disabled_jobs": [],
        "parameters": {},
    }
    value.update(overrides)
    return value


def sla(
    *rules: dict[str, Any], emails: tuple[str, ...] = ("oncall@example.com",)
) -> dict[str, Any]:
    return {"emails": sorted(emails), "rules": list(rules)}


def rule(
    job: str = "", kind: str = "SUCCESS", minutes: int = 120, **actions: bool
) -> dict[str, Any]:
    return {
        "job": job,
        "rule": kind,
        "minutes": minutes,
        "email": actions.get("email", False),
        "kill": actions.get("kill", False),
    }


def call(path: str, *params: tuple[str, str], upload: UploadFile | None = None) -> Call:
    """A call with the flags wire/calls.py gives it (so a plan round-trips through JSON)."""
    return restore(
        Call(
            method="POST",
            path=path,
            params=params,
            multipart=upload is not None,
            upload=upload,
        )
    )


def schedule_call(project: str, flow: str, cron: str) -> Call:
    return call(
        "/schedule",
        ("ajax", "scheduleCronFlow"),
        ("projectName", project),
        ("flow", flow),
        ("cronExpression", cron),
    )


UPLOAD = UploadFile(name="etl.zip", size=12_345, sha256=SHA)


def full_changes() -> list[Change]:
    """One change of every action, over every resource type, deliberately out of order."""
    return [
        Change(
            address="project.etl.schedule.daily_load",
            action=Action.CREATE,
            after=schedule(
                "0 0 2 ? * *",
                disabled_jobs=["optional_step"],
                parameters={"env": "prod"},
            ),
            calls=(schedule_call("etl", "daily_load", "0 0 2 ? * *"),),
        ),
        Change(
            address="project.etl",
            action=Action.CREATE,
            after={"description": "Nightly ETL"},
            calls=(
                call(
                    "/manager",
                    ("action", "create"),
                    ("name", "etl"),
                    ("description", "Nightly ETL"),
                ),
            ),
        ),
        Change(
            address="project.etl.files",
            action=Action.CREATE,
            after={"digest": "ab" * 32, "flows": ["daily_load"], "zip": "etl.zip", "size": 12_345},
            calls=(call("/manager", ("ajax", "upload"), ("project", "etl"), upload=UPLOAD),),
        ),
        Change(
            address="project.etl.sla.daily_load",
            action=Action.CREATE,
            after=sla(rule(email=True), rule("load", "FINISH", 90, kill=True)),
            reason="sent with the schedule's scheduleCronFlow call",
        ),
        Change(
            address="project.etl.permission.user.alice",
            action=Action.CREATE,
            after={"perms": ["execute", "read"]},
            calls=(
                call("/manager", ("ajax", "addPermission"), ("project", "etl"), ("name", "alice")),
            ),
        ),
        Change(
            address="project.billing.schedule.hourly",
            action=Action.UPDATE,
            before=schedule("0 0 4 ? * *", failure_emails=["old@x.com", "oncall@example.com"]),
            after=schedule("0 30 3 ? * *", failure_emails=["new@x.com", "oncall@example.com"]),
            calls=(schedule_call("billing", "hourly", "0 30 3 ? * *"),),
            reason="re-posting a schedule drops its SLA: the SLA is sent again in the same call",
        ),
        Change(
            address="project.billing.sla.hourly",
            action=Action.UPDATE,
            before=sla(rule("load", "FINISH", 60, email=True)),
            after=sla(rule("load", "FINISH", 90, email=True)),
            reason="sent with the schedule's scheduleCronFlow call",
        ),
        Change(
            address="project.billing.files",
            action=Action.UPDATE,
            before={"digest": "cd" * 32, "flows": ["hourly", "legacy"]},
            after={"digest": "ef" * 32, "flows": ["hourly"], "zip": "billing.zip", "size": 2_048},
            calls=(call("/manager", ("ajax", "upload"), ("project", "billing"), upload=UPLOAD),),
            reason="every upload creates a new project version",
        ),
        Change(
            address="project.billing.schedule.legacy",
            action=Action.DELETE,
            before=schedule("0 15 1 ? * *"),
            reason=(
                "removed by the server when the new files are uploaded: "
                "flow legacy no longer exists"
            ),
        ),
        Change(
            address="project.billing.permission.user.bob",
            action=Action.REPLACE,
            before={"perms": ["read"]},
            after={"perms": ["admin"]},
            calls=(
                call(
                    "/manager",
                    ("ajax", "changePermission"),
                    ("project", "billing"),
                    ("name", "bob"),
                ),
            ),
        ),
        Change(
            address="project.billing.permission.group.contractors",
            action=Action.DELETE,
            before={"perms": ["read", "write"]},
            calls=(call("/manager", ("ajax", "changePermission"), ("project", "billing")),),
            reason="not in the configuration's permissions table",
        ),
        Change(
            address="project.billing",
            action=Action.UPDATE,
            before={"description": "Billing"},
            after={"description": "Billing jobs"},
            calls=(call("/manager", ("ajax", "changeDescription"), ("project", "billing")),),
        ),
        Change(
            address="project.old",
            action=Action.DELETE,
            before={"description": "Retired"},
            calls=(call("/manager", ("project", "old"), ("delete", "true")),),
            reason="deleting a project also removes its schedules and SLAs",
        ),
    ]


BASELINE = Baseline(revision="release-41", commit="0123456789abcdef" * 2 + "01234567")

# Who moved each change of full_changes() in the three-way fixture; the rest are edits.
ORIGINS: dict[str, tuple[Origin, dict[str, Origin]]] = {
    "project.billing.schedule.hourly": (
        Origin.CONFLICT,
        {"cron": Origin.CONFLICT, "failure_emails": Origin.EDIT},
    ),
    "project.billing.sla.hourly": (Origin.DRIFT, {"rules": Origin.DRIFT}),
    "project.billing.permission.group.contractors": (Origin.DRIFT, {"": Origin.DRIFT}),
}


def three_way_changes() -> list[Change]:
    """full_changes() as a --baseline plan sees them: a conflict on the hourly cron (the
    baseline held 0 0 1), drift on an SLA and a permission added on the server, edits else."""
    out = []
    for change in full_changes():
        origin, fields = ORIGINS.get(
            str(change.address),
            (Origin.EDIT, {f: Origin.EDIT for f in change.changed_fields()}),
        )
        update: dict[str, Any] = {"origin": origin, "field_origins": fields}
        if origin is Origin.CONFLICT:
            update["base"] = change.before.model_copy(  # type: ignore[union-attr]
                update={"cron": "0 0 1 ? * *"}
            )
        out.append(change.model_copy(update=update))
    return out


def three_way_plan(**overrides: Any) -> Plan:
    three_way = {"baseline": BASELINE, "converged": ("project.etl.schedule.weekly",)}
    return full_plan(**{"changes": tuple(three_way_changes()), **three_way, **overrides})


def full_plan(**overrides: Any) -> Plan:
    data: dict[str, Any] = {
        "server": SERVER,
        "timezone": TZ,
        "user": "azkaban",
        "changes": tuple(full_changes()),
    }
    data.update(overrides)
    return Plan(**data)


def empty_plan(**overrides: Any) -> Plan:
    data: dict[str, Any] = {"server": SERVER, "timezone": TZ}
    data.update(overrides)
    return Plan(**data)


def one_change_plan() -> Plan:
    change = Change(
        address="project.etl.schedule.daily_load",
        action=Action.UPDATE,
        before=schedule("0 0 2 ? * *"),
        after=schedule("0 0 2 ? * *", failure_emails=["oncall@example.com", "lead@example.com"]),
        calls=(schedule_call("etl", "daily_load", "0 0 2 ? * *"),),
    )
    return Plan(server=SERVER, timezone=TZ, changes=(change,))


def big_plan(n: int) -> Plan:
    """A fleet: n changes over n // 5 projects, every fifth project deleted, crons everywhere."""
    changes: list[Change] = []
    i = 0
    project = 0
    while len(changes) < n:
        name = f"team{project:04d}"
        if project % 5 == 4:
            changes.append(
                Change(
                    address=f"project.{name}",
                    action=Action.DELETE,
                    before={"description": f"Team {project}"},
                    calls=(call("/manager", ("project", name), ("delete", "true")),),
                )
            )
        else:
            for flow in ("daily", "hourly", "weekly", "monthly", "adhoc"):
                if len(changes) >= n:
                    break
                hour = i % 24
                changes.append(
                    Change(
                        address=f"project.{name}.schedule.{flow}",
                        action=Action.UPDATE,
                        before=schedule(f"0 0 {hour} ? * *"),
                        after=schedule(
                            f"0 0 {(hour + 1) % 24} ? * *",
                            failure_emails=["oncall@example.com", f"{name}@example.com"],
                        ),
                        calls=(schedule_call(name, flow, f"0 0 {(hour + 1) % 24} ? * *"),),
                    )
                )
                i += 1
        project += 1
    return Plan(server=SERVER, timezone=TZ, changes=tuple(changes))


def test_full_plan_has_every_action_on_every_kind() -> None:
    plan = full_plan()
    actions = {c.action for c in plan.changes}
    kinds = {c.address.kind for c in plan.changes}
    assert actions == {Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE}
    assert kinds == set(Kind)
    # the replacement counts as one create and one delete, as Terraform counts it
    assert plan.summary.model_dump() == {"create": 6, "update": 4, "delete": 4}


def test_big_plan_has_the_size_asked_for_and_deletions() -> None:
    plan = big_plan(2_000)
    assert len(plan.changes) == 2_000
    assert plan.summary.delete > 50
