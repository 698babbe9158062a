"""CPU time of the pure core (normalize, diff, render text and JSON) on a no-change fleet."""

from __future__ import annotations

import io
import time

from rich.console import Console

from azstate.diff import DiffOptions, diff
from azstate.state import (
    FilesValue,
    LiveIds,
    PermissionValue,
    ProjectState,
    ScheduleValue,
    ServerState,
    SlaRuleValue,
    SlaValue,
)
from azstate.views import json as json_view
from azstate.views import text as text_view


def fleet(schedules: int) -> tuple[ServerState, ServerState]:
    """Equal desired and live states with `schedules` schedules, two per project."""
    desired: dict[str, ProjectState] = {}
    live: dict[str, ProjectState] = {}
    for i in range(schedules // 2):
        name = f"p{i:05d}"
        sched = {
            f: ScheduleValue(
                cron=f"0 {i % 60} {h} ? * *",
                failure_emails=["a@x.com", "b@x.com"],
                parameters={"env": "prod"},
            )
            for f, h in (("daily", 2), ("hourly", "*"))
        }
        slas = {
            "daily": SlaValue(
                emails=["a@x.com"],
                rules=[
                    SlaRuleValue(rule="SUCCESS", minutes=120, email=True),
                    SlaRuleValue(job="load", rule="FINISH", minutes=60, kill=True),
                ],
            )
        }
        perms = {
            "user.reader": PermissionValue(perms=["read"]),
            "group.ops": PermissionValue(perms=["read", "execute"]),
        }
        files = FilesValue(
            digest="d" * 64,
            flows=frozenset({"daily", "hourly"}),
            zip_name=f"{name}.zip",
            zip_size=1000,
            zip_sha256="e" * 64,
        )
        desired[name] = ProjectState(
            name=name,
            description="bench",
            files=files,
            schedules=sched,
            slas=slas,
            permissions=perms,
        )
        live[name] = ProjectState(
            name=name,
            description="bench",
            files=FilesValue(digest="d" * 64),
            schedules=sched,
            slas=slas,
            permissions=perms,
            ids=LiveIds(
                project_id=i + 1, version=1, schedule_ids={"daily": 2 * i, "hourly": 2 * i + 1}
            ),
        )
    return ServerState(projects=desired, user="azkaban"), ServerState(projects=live, user="azkaban")


def measure(schedules: int) -> float:
    desired, live = fleet(schedules)
    start = time.process_time()
    plan = diff(desired, live, DiffOptions(server="http://bench", timezone="America/Los_Angeles"))
    text_view.render(plan, Console(file=io.StringIO(), width=100))
    json_view.render(plan)
    return time.process_time() - start


def core_benchmark() -> list[tuple[str, str, str]]:
    small, large = measure(1_000), measure(10_000)
    return [
        ("core, 1,000 schedules (CPU)", f"{small:.3f} s", ""),
        (
            "core, 10,000 schedules (CPU)",
            f"{large:.3f} s",
            f"target < 2 s; growth x{large / small:.1f} for 10x (linear = 10)",
        ),
    ]
