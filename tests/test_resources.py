"""The resource units' declarations, and what is derived from them: apply order, what a
failure stops, targeting, typed values that round-trip through plan JSON, idempotent calls,
and the refresh snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azstate.address import Address, Kind
from azstate.config import ProjectConfig
from azstate.errors import AzkabanError, AzstateError, TransportError, describe
from azstate.plan import Action, ApplyStatus, Change, Plan, UploadFile
from azstate.resources import (
    UNITS,
    check_registry,
    live_state,
    stops,
    unit_for,
    with_needs,
)
from azstate.sandbox.server import SandboxServer
from azstate.snapshot import FilesRead, ProjectSnapshot, ScheduleRead, ServerSnapshot
from azstate.state import Perm, PermissionValue, ScheduleValue, SlaRule, SlaRuleValue, SlaValue
from azstate.wire import calls
from tests.test_diff import CASES, run_case


def test_one_unit_per_kind_and_declarations_agree() -> None:
    assert [u.kind for u in UNITS] == list(Kind)
    assert check_registry() == []
    for unit in UNITS:
        assert set(unit.phases) >= {Action.CREATE, Action.UPDATE, Action.DELETE}


def _change(text: str, action: Action = Action.UPDATE) -> Change:
    return Change(address=Address.parse(text), action=action)


def test_a_failure_stops_what_needs_it_and_every_removal_in_its_project() -> None:
    create = _change("project.etl", Action.CREATE)
    files = _change("project.etl.files")
    schedule = _change("project.etl.schedule.daily")
    sla = _change("project.etl.sla.daily")
    other_sla = _change("project.etl.sla.hourly")
    grant = _change("project.etl.permission.user.bob", Action.CREATE)
    revoke = _change("project.etl.permission.user.eve", Action.DELETE)
    elsewhere = _change("project.other.schedule.daily", Action.DELETE)
    assert all(stops(c, create) for c in (files, schedule, sla, grant, revoke))
    assert stops(schedule, files) and stops(sla, files) and not stops(grant, files)
    assert stops(sla, schedule) and not stops(other_sla, schedule)
    assert stops(revoke, grant) and not stops(elsewhere, grant)
    assert not stops(grant, _change("project.etl"))  # a description update needs nothing


def test_a_target_brings_what_it_needs_transitively() -> None:
    changes = [
        _change("project.etl", Action.CREATE),
        _change("project.etl.files", Action.CREATE),
        _change("project.etl.schedule.daily", Action.CREATE),
        _change("project.etl.sla.daily", Action.CREATE),
        _change("project.etl.permission.user.bob", Action.CREATE),
        _change("project.etl.schedule.hourly", Action.CREATE),
    ]
    got = with_needs([changes[3]], changes)
    assert [str(c.address) for c in got] == [
        "project.etl",
        "project.etl.files",
        "project.etl.schedule.daily",
        "project.etl.sla.daily",
    ]


def test_apply_order_follows_the_declared_phases() -> None:
    from azstate.apply import execution_order

    changes = (
        _change("project.etl.schedule.old", Action.DELETE),
        _change("project.etl.permission.user.eve", Action.DELETE),
        _change("project.etl.permission.user.bob", Action.CREATE),
        _change("project.etl.sla.daily"),
        _change("project.etl.schedule.daily"),
        _change("project.etl"),
        _change("project.etl.files"),
    )
    [group] = execution_order(Plan(server="s", changes=changes))
    assert [str(c.address) for c in group] == [
        "project.etl.files",
        "project.etl",
        "project.etl.schedule.daily",
        "project.etl.sla.daily",
        "project.etl.permission.user.bob",
        "project.etl.permission.user.eve",
        "project.etl.schedule.old",
    ]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_plan_json_round_trips_typed_values(path: Path) -> None:
    _, plan = run_case(path)
    if not isinstance(plan, Plan):
        return
    loaded = Plan.from_json(json.loads(plan.dumps()))
    assert loaded == plan
    assert loaded.dumps() == plan.dumps()
    for change in loaded.changes:
        value_type = unit_for(change.address.kind).value_type
        for value in (change.before, change.after):
            assert value is None or isinstance(value, value_type)


def test_only_whole_value_writes_are_idempotent() -> None:
    sched = ScheduleValue(cron="0 0 2 ? * *")
    sla = SlaValue(rules=frozenset({SlaRuleValue(rule=SlaRule.SUCCESS, minutes=60)}))
    perms = frozenset({Perm.READ})
    upload = UploadFile(name="etl.zip", size=1, sha256="0" * 64)
    idempotent = [
        calls.schedule_cron_flow("etl", "daily", sched, sla),
        calls.set_sla(7, sla),
        calls.change_description("etl", "d"),
        calls.change_permission("etl", "user", "bob", perms),
        calls.fetch_schedules(),
    ]
    not_idempotent = [
        calls.create_project("etl", "d"),
        calls.delete_project("etl"),
        calls.upload("etl", upload),
        calls.remove_schedule(7),
        calls.add_permission("etl", "user", "bob", perms),
    ]
    assert all(c.idempotent for c in idempotent)
    assert not any(c.idempotent for c in not_idempotent)
    assert all(calls.restore(c.model_copy(update={"idempotent": False})) == c for c in idempotent)


def _snapshot() -> ServerSnapshot:
    sla = SlaValue(rules=frozenset({SlaRuleValue(rule=SlaRule.SUCCESS, minutes=90)}))
    return ServerSnapshot(
        user="azkaban",
        projects={
            "etl": ProjectSnapshot(
                name="ETL",
                project_id=3,
                created_time=1,
                description="d",
                files=FilesRead(version=2, digest="abc"),
                schedules={
                    "daily": ScheduleRead(
                        schedule_id=9,
                        value=ScheduleValue(cron="0 0 2 ? * *"),
                        unmanaged=("useExecutor",),
                        sla=sla,
                    ),
                    "gone": ScheduleRead(schedule_id=10),
                },
                user_permissions={"azkaban": PermissionValue(perms=frozenset({Perm.ADMIN}))},
            )
        },
    )


def test_a_snapshot_serialises_with_its_version_and_builds_live_state_purely() -> None:
    snapshot = _snapshot()
    text = snapshot.model_dump_json()
    assert json.loads(text)["snapshot_version"] == 1
    assert ServerSnapshot.model_validate_json(text) == snapshot
    live = live_state(snapshot)
    assert live == live_state(ServerSnapshot.model_validate_json(text))
    etl = live.projects["etl"]
    assert etl.name == "ETL" and etl.description == "d" and etl.files is not None
    assert etl.files.digest == "abc" and etl.ids is not None and etl.ids.version == 2
    assert set(etl.schedules) == {"daily"} and set(etl.slas) == {"daily"}
    assert etl.ids.schedule_ids == {"daily": 9, "gone": 10}
    assert etl.ids.unmanaged == {"daily": ("useExecutor",)}
    assert etl.permissions == {"user.azkaban": PermissionValue(perms=frozenset({Perm.ADMIN}))}


def test_an_error_keeps_its_type_and_shows_its_notes_first() -> None:
    exc = TransportError("connection reset")
    exc.add_note("reading project.etl.files")
    assert isinstance(exc, TransportError)
    assert describe(exc) == "reading project.etl.files: connection reset"
    assert describe(AzstateError("plain")) == "plain"


def test_apply_statuses_keep_the_report_words() -> None:
    assert [s.value for s in ApplyStatus] == [
        "applied",
        "failed",
        "transient failure",
        "outcome unknown",
        "not attempted",
        "interrupted",
    ]
    assert not ApplyStatus.APPLIED.failed and not ApplyStatus.NOT_ATTEMPTED.failed
    assert ApplyStatus.REFUSED.failed and ApplyStatus.UNKNOWN.failed


def test_each_state_field_has_one_unit_and_each_unit_fills_its_own() -> None:
    from azstate.state import ProjectState

    owned = [f for unit in UNITS for f in unit.state_fields]
    assert len(owned) == len(set(owned))
    assert set(owned) == set(ProjectState.model_fields) - {
        "name", "protect", "allow_admin_removal", "ids"
    }
    project = _snapshot().projects["etl"]
    config = ProjectConfig.model_validate(
        {
            "description": "d",
            "permissions": {"users": {"a": ["read"]}},
            "schedules": {
                "daily": {
                    "cron": "0 0 2 ? * *",
                    "sla": {"rules": [{"rule": "success", "duration": "1h", "email": True}]},
                }
            },
        }
    )
    for unit in UNITS:
        assert set(unit.live(project)) == set(unit.state_fields)
        assert set(unit.desired(config, None)) == set(unit.state_fields)


def test_origins_are_always_written_and_read_back() -> None:
    from azstate.plan import Origin

    plain = _change("project.etl")
    written = json.loads(Plan(server="s", changes=(plain,)).dumps())["changes"][0]
    assert written["origin"] == "unknown" and "base" not in written
    known = plain.model_copy(
        update={"origin": Origin.DRIFT, "field_origins": {"description": Origin.CONFLICT}}
    )
    plan = Plan(server="s", changes=(known,))
    data = json.loads(plan.dumps())["changes"][0]
    assert list(data)[-3:] == ["calls", "origin", "field_origins"]
    assert data["origin"] == "drift" and data["field_origins"] == {"description": "conflict"}
    assert Plan.from_json(json.loads(plan.dumps())) == plan


def test_a_failed_read_keeps_its_error_type_and_names_the_resource(
    sandbox: SandboxServer,
) -> None:
    from pydantic import SecretStr

    from azstate.refresh import RefreshScope, read
    from azstate.state import FilesValue, ProjectState
    from azstate.wire.client import AzkabanClient

    client = AzkabanClient(sandbox.url, "azkaban", SecretStr("azkaban"))
    client.send(calls.create_project("etl", "ETL"))
    # the description comes from /index?all; the files' version is a read of its own
    sandbox.faults.add("http500", path="/manager", method="HEAD", times=None)
    desired = ProjectState(name="etl", description="ETL", files=FilesValue(digest="d"))
    scope = RefreshScope(declared={"etl": desired})
    with pytest.raises(AzkabanError) as caught:
        read(client, scope, parallelism=2)
    assert type(caught.value) is AzkabanError  # not re-raised as the base class
    assert describe(caught.value).startswith("reading project.etl.files: ")
