"""The TOML writer behind import, without a server: what it writes reads back as the same
configuration, and what TOML cannot hold becomes a note."""

from __future__ import annotations

import tomllib

from azstate.config import Config
from azstate.export import duration, export
from azstate.state import Perm, PermissionValue, ProjectState, ScheduleValue


def _project(**fields: object) -> ProjectState:
    return ProjectState.model_validate({"name": "etl", "description": "d", **fields})


def test_keys_and_strings_that_need_quoting_read_back_exactly() -> None:
    project = _project(
        name="etl-2",
        description='line one\nline "two"\t\\ é',
        schedules={"flow.with.dots": ScheduleValue(cron="0 0 2 ? * *", parameters={"a b": "c"})},
        permissions={"user.first.last": PermissionValue(perms=frozenset({Perm.READ}))},
    )
    result = export([project], url="http://az", timezone="UTC", sources={})
    doc = tomllib.loads(result.text)
    config = Config.model_validate(doc)
    etl = config.projects["etl-2"]
    assert etl.description == 'line one\nline "two"\t\\ é'
    assert list(etl.schedules) == ["flow.with.dots"]
    assert etl.schedules["flow.with.dots"].parameters == {"a b": "c"}
    assert etl.permissions is not None and list(etl.permissions.users) == ["first.last"]
    assert result.notes == []


def test_defaults_are_left_out_so_the_file_reads_as_written_by_hand() -> None:
    result = export(
        [_project(schedules={"f": ScheduleValue(cron="0 0 2 ? * *")})],
        url="http://az",
        timezone="UTC",
        sources={"etl": "projects/etl"},
    )
    block = result.text.split("[projects.etl.schedules.f]\n", 1)[1]
    assert block.strip() == 'cron = "0 0 2 ? * *"'


def test_projects_come_in_name_order_whatever_the_input_order() -> None:
    names = ["zeta", "Alpha", "mid"]
    result = export(
        [_project(name=n) for n in names], url="http://az", timezone="UTC", sources={}
    )
    assert list(tomllib.loads(result.text)["projects"]) == ["Alpha", "mid", "zeta"]


def test_what_toml_cannot_hold_is_a_note_and_a_comment() -> None:
    odd = ScheduleValue(cron="0 0 2 ? * *", concurrent="queue")
    deep = ScheduleValue(cron="0 0 3 ? * *", concurrent="pipeline", pipeline_level=5)
    result = export(
        [_project(description="", schedules={"a": odd, "b": deep})],
        url="http://az",
        timezone="UTC",
        sources={},
    )
    assert len(result.notes) == 3
    for note in result.notes:
        assert f"# {note}" in result.text
    Config.model_validate(tomllib.loads(result.text))  # still a valid configuration


def test_durations_are_written_the_way_people_write_them() -> None:
    assert [duration(m) for m in (45, 60, 90, 1440)] == ["45m", "1h", "1h30m", "24h"]
