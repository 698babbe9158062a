"""Change tokens end to end: every out-of-band change to a cached project shows in the next plan.

Each test converges a project, runs one plan to fill the token cache (and checks that a second
plan then skips the project's reads), makes a change as a person would in the Azkaban UI or API
(the recorded mutation list of azkaban-api.md section 14, one by one), and checks what the next
plan says. The changes that post no event are here too, with how each is caught, and so are the
caches that must not be trusted: another server's, a damaged one, a project deleted and
re-created under the same name.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.workspace import DAILY, ETL, HOURLY, SLA, Result, Workspace, flow20
from tests.test_sandbox import Az, make_zip

READER = """
[projects.etl.permissions]
users = { reader = ["read"] }
"""
FULL = ETL + DAILY + SLA + HOURLY + READER
# Reads a full read of etl makes beyond the listings and its token (version, 2 schedules, 1 SLA).
FULL_READ = {"HEAD download": 1, "GET fetchSchedule": 2, "GET slaInfo": 1}


def calls(ws: Workspace) -> Counter[str]:
    return Counter(f"{e.method} {e.action or e.path}" for e in ws.sandbox.log.snapshot())


def plan(ws: Workspace, *args: str) -> tuple[Result, dict[str, Any], Counter[str]]:
    ws.sandbox.log.clear()
    result = ws.run("plan", "--format", "json", "--detailed-exitcode", "-c", str(ws.config), *args)
    assert result.code in (0, 2), result.err
    data: dict[str, Any] = json.loads(result.out)
    return result, data, calls(ws)


def changed(data: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: c["action"] for c in data["changes"]}


def full_reads(seen: Counter[str]) -> int:
    return seen["GET fetchSchedule"]


@pytest.fixture
def cached(ws: Workspace) -> Workspace:
    """etl converged, its token cached, and a plan that then reads only listings and tokens."""
    ws.write(FULL)
    ws.apply()
    first, data, _ = plan(ws)
    assert first.code == 0, first.out
    second, data, seen = plan(ws)
    assert second.code == 0 and data["changes"] == []
    assert full_reads(seen) == 0 and seen["HEAD download"] == 0, seen
    assert seen["GET fetchProjectLogs"] == 1 and seen["GET /index"] == 1, seen
    assert seen["GET /manager"] == 0, "descriptions come from /index?all"
    return ws


def az(ws: Workspace, user: str = "azkaban") -> Az:
    return Az(ws.sandbox.url, user)


def sid(ws: Workspace, flow: str) -> int:
    reply = az(ws).fetch_schedule(az(ws).project_id("etl"), flow)
    return int(reply["schedule"]["scheduleId"])


def etl_zip(ws: Workspace, *, extra: dict[str, str] | None = None, drop: str = "") -> bytes:
    src = ws.root / "src" / "etl"
    files = {p.name: p.read_text() for p in src.iterdir() if p.name != drop}
    return make_zip({**files, **(extra or {})})


def description(ws: Workspace, text: str) -> dict[str, Any]:
    reply = az(ws).post("/manager", ajax="changeDescription", project="etl", description=text)
    result: dict[str, Any] = reply.json()
    return result


def clock(ws: Workspace, **body: Any) -> None:
    reply = requests.post(ws.sandbox.url + "/__sandbox__/clock", json=body, timeout=10)
    assert reply.status_code == 200, reply.text


# -- the recorded mutations, one by one ------------------------------------------------------

Mutation = Callable[[Workspace], Any]
MUTATIONS: dict[str, tuple[Mutation, dict[str, str]]] = {
    "upload of other files": (
        lambda ws: az(ws).upload("etl", etl_zip(ws, extra={"extra.txt": "x"})),
        {"project.etl.files": "update"},
    ),
    "upload of the same files (new version, same content)": (
        lambda ws: az(ws).upload("etl", etl_zip(ws)),
        {},
    ),
    "upload that drops a scheduled flow": (
        lambda ws: az(ws).upload("etl", etl_zip(ws, drop="hourly.flow")),
        {"project.etl.files": "update", "project.etl.schedule.hourly": "create"},
    ),
    "description changed": (
        lambda ws: description(ws, "edited in the UI"),
        {"project.etl": "update"},
    ),
    "description set to the same text": (lambda ws: description(ws, "Nightly ETL"), {}),
    "cron changed": (
        lambda ws: az(ws).schedule("etl", "hourly", cron="0 30 * ? * *"),
        {"project.etl.schedule.hourly": "update"},
    ),
    "options changed, same cron": (
        lambda ws: az(ws).schedule(
            "etl", "hourly", cron="0 0 * ? * *", failureEmails="someone@example.com"
        ),
        {"project.etl.schedule.hourly": "update"},
    ),
    "identical re-post, which drops the SLA": (
        lambda ws: az(ws).schedule(
            "etl", "daily", cron="0 0 2 ? * *", failureAction="finishCurrent",
            concurrentOption="skip", notifyFailureFirst="true", notifyFailureLast="false",
        ),
        {"project.etl.sla.daily": "create"},
    ),
    "schedule removed": (
        lambda ws: az(ws).post("/schedule", action="removeSched", scheduleId=sid(ws, "hourly")),
        {"project.etl.schedule.hourly": "create"},
    ),
    "SLA changed": (
        lambda ws: az(ws).set_sla(sid(ws, "daily"), ",SUCCESS,3:00,true,false"),
        {"project.etl.sla.daily": "update"},
    ),
    "SLA e-mails changed": (
        lambda ws: az(ws).set_sla(sid(ws, "daily"), ",SUCCESS,2:00,true,false", emails="x@y.z"),
        {"project.etl.sla.daily": "update"},
    ),
    "user permission added": (
        lambda ws: az(ws).permission("addPermission", "etl", "alice", read=True),
        {"project.etl.permission.user.alice": "delete"},
    ),
    "user permission changed": (
        lambda ws: az(ws).permission("changePermission", "etl", "reader", read=True, write=True),
        {"project.etl.permission.user.reader": "update"},
    ),
    "user permission removed": (
        lambda ws: az(ws).permission("changePermission", "etl", "reader"),
        {"project.etl.permission.user.reader": "create"},
    ),
    "group permission added": (
        lambda ws: az(ws).permission("addPermission", "etl", "devs", group=True, read=True),
        {"project.etl.permission.group.devs": "delete"},
    ),
    "proxy user removed (not managed)": (
        lambda ws: az(ws).post("/manager", ajax="removeProxyUser", project="etl", name="nobody"),
        {},
    ),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_every_recorded_mutation_shows_in_the_next_plan(cached: Workspace, name: str) -> None:
    mutate, expected = MUTATIONS[name]
    mutate(cached)
    result, data, seen = plan(cached)
    got = changed(data)
    for address, action in expected.items():
        assert got.get(address) == action, (name, got)
    if not expected:
        assert result.code == 0, (name, got)
    # the event made the project's token change: it was read in full, and is cached again
    assert full_reads(seen) >= 1, seen
    if not expected:
        _, _, again = plan(cached)
        assert full_reads(again) == 0, again


def test_two_events_in_one_millisecond(cached: Workspace) -> None:
    """The cached token's newest millisecond gains a second event: the multiset tells."""
    ws = cached
    clock(ws, frozen_ms="now")
    try:
        ws.write(FULL.replace('cron = "0 0 * ? * *"', 'cron = "0 15 * ? * *"'))
        ws.apply()
        _, data, seen = plan(ws)  # caches a token whose newest millisecond is the frozen one
        assert data["changes"] == []
        _, data, seen = plan(ws)
        assert full_reads(seen) == 0, seen
        az(ws).set_sla(sid(ws, "daily"), ",SUCCESS,3:00,true,false")  # same millisecond
        _, data, seen = plan(ws)
    finally:
        clock(ws, frozen_ms=None)
    assert changed(data) == {"project.etl.sla.daily": "update"}


# -- changes that post no event --------------------------------------------------------------

# Mixing flowOverride with runtimeProperty[ROOT] is a 500 in option parsing, after the new cron
# is stored: the schedule keeps it with `executionOptions: null`, and no event is posted.
FAILING_OPTIONS = {"flowOverride[a]": "1", "runtimeProperty[ROOT][b]": "2"}


def test_a_failing_re_post_with_a_new_cron_is_caught_by_the_listing(cached: Workspace) -> None:
    broken = az(cached).schedule("etl", "hourly", cron="0 45 * ? * *", **FAILING_OPTIONS)
    assert broken.status_code == 500
    _, data, _ = plan(cached)
    assert changed(data) == {"project.etl.schedule.hourly": "update"}


def test_a_failing_re_post_with_the_same_cron_needs_a_full_refresh(cached: Workspace) -> None:
    """No event and no visible change in the listings: only `--refresh=full` sees the options
    the failed re-post nulled (documented in docs/performance.md)."""
    broken = az(cached).schedule("etl", "daily", cron="0 0 2 ? * *", **FAILING_OPTIONS)
    assert broken.status_code == 500
    _, data, seen = plan(cached)
    assert data["changes"] == [] and full_reads(seen) == 0  # missed: no event, same listings
    _, data, seen = plan(cached, "--refresh=full")
    assert full_reads(seen) == 2
    assert changed(data).get("project.etl.sla.daily") == "create"  # the SLA went with options


def test_a_description_over_2048_posts_no_event_but_shows_on_the_index(cached: Workspace) -> None:
    assert "error" in description(cached, "y" * 3000)
    _, data, _ = plan(cached)
    assert changed(data) == {"project.etl": "update"}


def test_a_flow_lock_is_not_managed_state(cached: Workspace) -> None:
    reply = az(cached).post("/manager", ajax="setFlowLock", project="etl", flowName="daily",
                            isLocked="true")  # fmt: skip
    assert reply.status_code == 200
    _, data, _ = plan(cached)
    assert data["changes"] == []


# -- caches that must not be used ------------------------------------------------------------


def cache_files() -> list[Path]:
    root = Path(os.environ["AZSTATE_CACHE_DIR"]) / "tokens"
    return sorted(root.glob("*.json"))


def test_a_cache_from_another_server_is_not_used(cached: Workspace) -> None:
    (path,) = cache_files()
    data = json.loads(path.read_text())
    data["server"] = "http://another.example.com:8081"
    path.write_text(json.dumps(data))
    description(cached, "edited")  # would be missed by nothing here, but the cache is refused
    result, data, seen = plan(cached)
    assert "not used" in result.err and "another server" in result.err
    assert full_reads(seen) == 2 and changed(data) == {"project.etl": "update"}
    _, _, seen = plan(cached)
    assert full_reads(seen) == 0, "the refused file was replaced by a good one"


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 1, "server": 5}'])
def test_a_damaged_cache_is_not_used(cached: Workspace, damage: bytes) -> None:
    (path,) = cache_files()
    path.write_bytes(damage)
    az(cached).schedule("etl", "hourly", cron="0 0 * ? * *", failureEmails="x@example.com")
    result, data, seen = plan(cached)
    assert "not used" in result.err
    assert full_reads(seen) == 2 and changed(data) == {"project.etl.schedule.hourly": "update"}


def test_the_cache_holds_no_values_and_is_private(cached: Workspace) -> None:
    (path,) = cache_files()
    text = path.read_text()
    assert "Nightly ETL" not in text and "ops@example.com" not in text and "0 0 2" not in text
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_refresh_full_ignores_the_cache(cached: Workspace) -> None:
    _, data, seen = plan(cached, "--refresh=full")
    assert data["changes"] == [] and full_reads(seen) == 2 and seen["HEAD download"] == 1


def test_a_project_deleted_and_re_created_under_the_same_name(cached: Workspace) -> None:
    a = az(cached)
    a.get("/manager", project="etl", delete="true")
    a.create("etl", "Nightly ETL")
    a.upload("etl", etl_zip(cached))
    a.schedule("etl", "daily", cron="0 0 2 ? * *")
    a.schedule("etl", "hourly", cron="0 0 * ? * *")
    _, data, seen = plan(cached)
    got = changed(data)
    assert got.get("project.etl.sla.daily") == "create", got
    assert "project.etl.permission.user.reader" in got, got
    assert full_reads(seen) == 2


def test_a_source_file_edited_within_the_same_second_as_the_build(cached: Workspace) -> None:
    """A trusted build of the tree exists; then a file changes keeping its size and its mtime
    (an edit within the same timestamp tick): the ctime tells, the zip is not reused."""
    ws = cached
    src = ws.root / "src" / "etl"
    old = time.time_ns() - 60 * 10**9
    for f in src.iterdir():
        os.utime(f, ns=(old, old))
    _, data, _ = plan(ws)  # builds the tree again (new stamps), now a trusted entry
    assert data["changes"] == []
    builds = Path(os.environ["AZSTATE_CACHE_DIR"]) / "builds.json"
    entry = json.loads(builds.read_text())["trees"][os.path.realpath(src)]
    assert entry["written_ns"] - old >= 2 * 10**9 and entry["cached"]["built"] is not None
    flow = src / "daily.flow"
    text = flow.read_text()
    flow.write_text(text.replace("echo extract", "echo EXTRACT"))  # same size
    os.utime(flow, ns=(old, old))  # and the same mtime
    _, data, _ = plan(ws)
    assert changed(data) == {"project.etl.files": "update"}


def test_a_new_source_and_a_re_created_tree_are_read(ws: Workspace, tmp_path: Path) -> None:
    """No cache at all (a first CI run): the plan is the full one."""
    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping"]})
    ws.write(FULL)
    result, data, _ = plan(ws)
    assert result.code == 2 and "project.etl" in changed(data)


# -- apply ---------------------------------------------------------------------------------


def test_apply_records_what_it_uploaded_instead_of_downloading_it(ws: Workspace) -> None:
    ws.write(FULL)
    ws.sandbox.log.clear()
    ws.apply()
    seen = calls(ws)
    assert seen["POST upload"] == 1 and seen["GET download"] == 0, seen
    (ws.root / "src" / "etl" / "new.txt").write_text("more")
    ws.sandbox.log.clear()
    ws.apply()  # an update: verified without a download either
    seen = calls(ws)
    assert seen["POST upload"] == 1 and seen["GET download"] == 0, seen
    _, data, seen = plan(ws)  # the digest is cached for later plans too
    assert data["changes"] == [] and seen["GET download"] == 0
