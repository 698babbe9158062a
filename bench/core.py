"""CPU time of the pure core on a no-change fleet: the configuration validated into models,
the server's replies mapped back, both normalized, diffed, and the plan rendered as text and
JSON. Only file and network I/O are left out: the TOML text and the reply bodies are built
in memory first, in the shapes the server sends (azkaban-api.md sections 4-6)."""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import tomli
from fleet import fleet_toml, project_names
from rich.console import Console

from azstate.cli import tune_gc
from azstate.config import Config
from azstate.diff import DiffOptions, diff
from azstate.resources import desired_state, live_state
from azstate.snapshot import FilesRead, ProjectSnapshot, ScheduleRead, ServerSnapshot
from azstate.state import ServerState, SourceFiles
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
                # as the server writes them back (azkaban-api.md section 14)
                "failureEmailsOverridden": bool(emails),
                "successEmailsOverridden": False,
                "failureActionOverridden": False,
                "mailCreator": "default",
                "memoryCheck": True,
                "runtimeProperties": {},
                "queueLevel": 0,
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
    """What refresh reads from these replies, turned into live state as refresh does."""
    projects: dict[str, ProjectSnapshot] = {}
    for item in replies.project_listings(json.loads(bodies["fetchallprojects"])):
        name = item.name
        schedules: dict[str, ScheduleRead] = {}
        for flow in ("daily", "hourly"):
            live = replies.live_schedule(json.loads(bodies[f"{name}/{flow}"]))
            assert live is not None
            sla = None
            if live.has_sla:
                sla = replies.sla_from_info(json.loads(bodies[f"{name}/sla"]))
            schedules[flow] = ScheduleRead(schedule_id=live.schedule_id, value=live.value, sla=sla)
        projects[name.lower()] = ProjectSnapshot(
            name=name,
            project_id=item.project_id,
            description=f"Benchmark project {int(name[-4:])}",
            files=FilesRead(version=1, digest=DIGEST),
            schedules=schedules,
            user_permissions=item.user_permissions,
            group_permissions=item.group_permissions,
        )
    return live_state(ServerSnapshot(projects=projects, user="azkaban"))


def measure(schedules: int) -> tuple[float, float]:
    """(CPU seconds of the core, CPU seconds of parsing the TOML text as load.py does)."""
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
    data = tomli.loads(text)
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


def core_benchmark(repeats: int = 5) -> tuple[float, float, float, float]:
    """(CPU at 1,000 schedules, CPU at 10,000, growth, TOML parse at 10,000), medians.

    Each figure comes from a fresh process, as every plan does: in one long process the small
    run reuses memory the large one already paged in, and the large one pays for new pages, so
    the growth measured there says more about the allocator than about the code. The sizes
    alternate, each 10,000 run right after a 1,000 run, and the growth is the median of those
    pairs' ratios: a shared machine's bursts and clock changes hit both sides of a pair alike."""
    pairs = [(_sample(1_000), _sample(10_000)) for _ in range(repeats)]
    small = statistics.median(s[0] for s, _ in pairs)
    large = statistics.median(big[0] for _, big in pairs)
    growth = statistics.median(big[0] / s[0] for s, big in pairs)
    return small, large, growth, statistics.median(big[1] for _, big in pairs)


def _sample(schedules: int) -> tuple[float, float]:
    """measure(schedules) in a new interpreter, after a warm-up of 20 schedules there (imports,
    pydantic's first validations)."""
    out = subprocess.run(
        [sys.executable, __file__, "--sample", str(schedules)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    core, toml = out.split()
    return float(core), float(toml)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sample"]:
        tune_gc()  # as the command line does
        measure(20)
        print(*measure(int(sys.argv[2])))
    else:
        small, large, growth, toml = core_benchmark()
        print(f"1,000: {small:.3f} s  10,000: {large:.3f} s  growth x{growth:.1f}")
