"""The wording shared by the text and markdown views."""

from __future__ import annotations

from datetime import datetime

import pytest

from azstate.views import fields
from tests.test_views_fixtures import NOW, TZ, rule


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0m"), (45, "45m"), (60, "1h"), (90, "1h30m"), (120, "2h"), (1441, "24h1m")],
)
def test_sla_minutes_read_as_the_toml_spells_durations(minutes: int, text: str) -> None:
    assert fields.duration(minutes) == text


def test_sizes() -> None:
    assert fields.human_size(512) == "512 bytes"
    assert fields.human_size(12_345) == "12.1 KiB"
    assert fields.human_size(5 * 1024**3) == "5.0 GiB"


def test_sla_rules_read_as_sentences() -> None:
    assert fields.sla_rule(rule(email=True, kill=True)) == (
        "the flow must succeed within 2h: email, kill"
    )
    assert (
        fields.sla_rule(rule("load", "FINISH", 95))
        == "job load must finish within 1h35m: no action"
    )


def test_set_diff_keeps_display_order() -> None:
    assert fields.set_diff(["a", "b", "c"], ["c", "d", "a", "e"]) == (["d", "e"], ["b"])


def test_values() -> None:
    assert fields.field_value("description", 'say "hi"').text == '"say \\"hi\\""'
    assert fields.field_value("notify", False).text == "false"
    assert fields.field_value("pipeline_level", None).text == fields.NONE
    params = fields.field_value("parameters", {"env": "prod", "n": 3})
    assert params.items == ("env=prod", "n=3")
    assert fields.field_value("emails", []).is_empty
    assert fields.field_value("rules", [rule()]).block


def test_display_folds_the_zip_into_one_upload_field() -> None:
    shown = fields.display({"digest": "d", "flows": [], "zip": "a.zip", "size": 2048})
    assert shown == {"digest": "d", "flows": [], "upload": "a.zip, 2.0 KiB"}
    assert fields.display(None) == {}


def test_cron_preview_takes_a_naive_now_as_utc() -> None:
    naive = fields.cron_preview("0 0 2 ? * *", TZ, datetime(2024, 6, 1, 12, 0))
    assert naive == fields.cron_preview("0 0 2 ? * *", TZ, NOW)
    assert naive.next_times[0] == "Sun 2024-06-02 02:00 PDT"
    assert len(naive.next_times) == fields.NEXT_FIRES


def test_cron_preview_of_nothing_or_nonsense_is_empty() -> None:
    assert fields.cron_preview(None, TZ, NOW).empty
    assert fields.cron_preview("nonsense", TZ, NOW).empty
    assert fields.cron_preview("0 0 2 ? * *", TZ, NOW, with_times=False).next_times == ()
