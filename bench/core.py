"""CPU time of the pure core on a no-change fleet: the configuration validated into models,
the server's replies mapped back, both normalized, diffed, and the plan rendered as text and
JSON. Only file and network I/O are left out: the TOML text and the reply bodies are built
in memory first, in the shapes the server sends (azkaban-api.md sections 4-6)."""

from __future__ import annotations

import io
import json
import time
import tomllib
from typing import Any

from fleet import fleet_toml, project_names
from rich.console import Console

from azstate.cli import tune_gc
from azstate.config import Config
from azstate.diff import DiffOptions, diff
from azstate.refresh import _permissions
from azstate.resources import desired_state
from azstate.state import LiveIds, ProjectState, ServerState, SourceFiles
from azstate.views import json as json_view
from azstate.views import text as text_view
from azstate.wire import replies

DIGEST = "d" * 64


def _replies(names: list[str]) -> dict[str, str]:
    """Reply bodies as the server sends them, keyed by call."""
    listing = {
        "projects": [
            {
                "projectId": pid,
                "projectName": name,
                "createdBy": "azkaban",
                "createdTime": 1700000000000,
                "userPermissions": [
                    {"first": "azkaban", "second": {"types": ["ADMIN"]}},
                    {"first": "reader", "second": {"types": ["READ"]}},
                ],
                "groupPermissions": [
                    {"first": "analysts", "second": {"types": ["READ", "EXECUTE"]}}
                ],
            }
            for pid, name in enumerate(names, 1)
        ]
    }
    out = {"fetchallprojects": json.dumps(listing)}
    for i, name in enumerate(names):
        for flow, cron, emails in (
            ("daily", f"0 {i % 60} 2 ? * *", ["oncall@example.com"]),
            ("hourly", f"0 {i % 60} * ? * *", []),
        ):
            options: dict[str, Any] = {
                "notifyOnFirstFailure": True,
                "notifyOnLastFailure": False,
                "failureEmails": emails,
                "successEmails": [],
                "pipelineLevel": None,
                "concurrentOption": "skip",
                "flowParameters": {},
                "failureAction": "FINISH_CURRENTLY_RUNNING",
                "disabledJobs": [],
                "slaOptions": [],
            }
            if flow == "daily":
                options["slaOptions"] = [
                    {
                        "type": "FLOW_SUCCEED",
                        "flowName": flow,
                        "jobName": "",
                        "duration": {"seconds": 7200},
                        "emails": ["oncall@example.com"],
                    }
                ]
            sched = {"scheduleId": str(2 * i), "cronExpression": cron, "executionOptions": options}
            out[f"{name}/{flow}"] = json.dumps({"schedule": sched})
        out[f"{name}/sla"] = json.dumps(
            {
                "settings": [
                    {"id": "", "duration": "120m", "rule": "SUCCEED", "actions": ["EMAIL"]}
                ],
                "slaEmails": ["oncall@example.com"],
            }
        )
    return out


def _live(bodies: dict[str, str]) -> ServerState:
    projects: dict[str, ProjectState] = {}
    for item in replies.project_listings(json.loads(bodies["fetchallprojects"])):
        name = item.name
        schedules, slas, ids = {}, {}, {}
        for flow in ("daily", "hourly"):
            live = replies.live_schedule(json.loads(bodies[f"{name}/{flow}"]))
            assert live is not None
            schedules[flow], ids[flow] = live.value, live.schedule_id
            if live.has_sla:
                sla = replies.sla_from_info(json.loads(bodies[f"{name}/sla"]))
                if sla is not None:
                    slas[flow] = sla
        projects[name.lower()] = ProjectState(
            name=name,
            description=f"Benchmark project {int(name[-4:])}",
            files={"digest": DIGEST},
            schedules=schedules,
            slas=slas,
            permissions=_permissions(item.user_permissions, item.group_permissions),
            ids=LiveIds(project_id=item.project_id, version=1, schedule_ids=ids),
        )
    return ServerState(projects=projects, user="azkaban")


def measure(schedules: int) -> tuple[float, float]:
    """(CPU seconds of the core, CPU seconds of parsing the TOML text with the stdlib)."""
    count = schedules // 2
    names = project_names(count)
    text = fleet_toml(count, url="http://bench")
    bodies = _replies(names)
    source = {
        "content_digest": DIGEST,
        "flows": frozenset({"daily", "hourly"}),
        "jobs": {"daily": frozenset({"extract", "load"}), "hourly": frozenset({"extract", "load"})},
        "zip_size": 1000,
        "zip_sha256": "e" * 64,
    }
    start = time.process_time()
    data = tomllib.loads(text)
    parsed = time.process_time()
    config = Config.model_validate(data)
    sources = {n: SourceFiles(zip_name=f"{n}.zip", **source) for n in names}
    desired = desired_state(config, sources, user="azkaban")
    live = _live(bodies)
    plan = diff(desired, live, DiffOptions(server="http://bench", timezone="America/Los_Angeles"))
    assert not plan.has_changes, [c.address for c in plan.changes][:5]
    text_view.render(plan, Console(file=io.StringIO(), width=100))
    json_view.render(plan)
    return time.process_time() - parsed, parsed - start


def core_benchmark(repeats: int = 3) -> tuple[float, float, float]:
    """(CPU at 1,000 schedules, CPU at 10,000, stdlib TOML parse at 10,000); each the best of
    `repeats` runs, so that another process's burst on a shared machine does not count."""
    tune_gc()  # as the command line does
    measure(1_000)  # warm-up: imports, pydantic's first validations, cron caches
    small = min(measure(1_000)[0] for _ in range(repeats))
    runs = [measure(10_000) for _ in range(repeats)]
    return small, min(r[0] for r in runs), min(r[1] for r in runs)


if __name__ == "__main__":
    small, large, toml = core_benchmark()
    print(f"1,000: {small:.3f} s  10,000: {large:.3f} s  growth x{large / small:.1f}")
