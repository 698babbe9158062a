"""The display-diff model, pure: what each kind of field change means, before any layout."""

from __future__ import annotations

from datetime import datetime

import pytest

from azstate.plan import Action, Change, Drift
from azstate.views import diffmodel
from azstate.views.diffmodel import Item, Shape, Sign
from tests.test_views_fixtures import NOW, TZ, rule, schedule, sla


def update(before: dict[str, object], after: dict[str, object]) -> diffmodel.ChangeView:
    change = Change(
        address="project.a.schedule.f", action=Action.UPDATE, before=before, after=after
    )
    return diffmodel.build(change, TZ, NOW)


def field(view: diffmodel.ChangeView, name: str) -> diffmodel.FieldDiff:
    return next(f for f in view.fields if f.name == name)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0m"), (45, "45m"), (60, "1h"), (90, "1h30m"), (120, "2h"), (1441, "24h1m")],
)
def test_sla_minutes_read_as_the_toml_spells_durations(minutes: int, text: str) -> None:
    assert diffmodel.duration(minutes) == text


def test_sizes() -> None:
    assert diffmodel.human_size(512) == "512 bytes"
    assert diffmodel.human_size(12_345) == "12.1 KiB"
    assert diffmodel.human_size(5 * 1024**3) == "5.0 GiB"


def test_sla_rules_read_as_sentences() -> None:
    assert diffmodel.sla_rule(rule(email=True, kill=True)) == (
        "the flow must succeed within 2h: email, kill"
    )
    assert (
        diffmodel.sla_rule(rule("load", "FINISH", 95))
        == "job load must finish within 1h35m: no action"
    )


def test_map_change_is_entries_key_old_new_then_removed_then_added() -> None:
    view = update(
        schedule("0 0 2 ? * *", parameters={"env": "staging", "old": "x", "same": "1"}),
        schedule("0 0 2 ? * *", parameters={"env": "staging2", "same": "1", "region": "eu"}),
    )
    params = field(view, "parameters")
    assert params.shape is Shape.MAP and params.block
    assert [i.text for i in params.items] == ["old: x", "env: staging → staging2", "region: eu"]
    assert [i.sign for i in params.items] == [Sign.REMOVED, Sign.CHANGED, Sign.ADDED]
    assert params.items[1] == Item(Sign.CHANGED, "staging", "staging2", "env")


def test_map_values_are_quoted_only_when_their_edges_would_be_lost() -> None:
    view = update(
        schedule("0 0 2 ? * *", parameters={"a": "x"}),
        schedule("0 0 2 ? * *", parameters={"a": " x"}),
    )
    assert field(view, "parameters").items[0].text == 'a: x → " x"'


def test_sla_duration_change_is_one_changed_rule() -> None:
    change = Change(
        address="project.a.sla.f",
        action=Action.UPDATE,
        before=sla(rule("x", "FINISH", 60, email=True), rule(email=True)),
        after=sla(rule("x", "FINISH", 120, email=True), rule(email=True)),
    )
    rules = field(diffmodel.build(change, TZ, NOW), "rules")
    assert rules.shape is Shape.KEYED
    assert [i.text for i in rules.items] == ["job x FINISH: 1h → 2h"]


def test_sla_rules_added_removed_and_actions_changed() -> None:
    change = Change(
        address="project.a.sla.f",
        action=Action.UPDATE,
        before=sla(rule("x", "FINISH", 60), rule("y", "SUCCESS", 30), rule("z", "FINISH", 5)),
        after=sla(
            rule("x", "FINISH", 60, email=True, kill=True),
            rule(minutes=90, kill=True),
            rule("z", "FINISH", 10, email=True),
        ),
    )
    rules = field(diffmodel.build(change, TZ, NOW), "rules")
    assert [(i.sign, i.text) for i in rules.items] == [
        (Sign.REMOVED, "job y must succeed within 30m: no action"),
        (Sign.CHANGED, "job x FINISH: no action → email, kill"),
        (Sign.CHANGED, "job z FINISH: 5m → 10m"),
        (Sign.CHANGED, "job z FINISH: no action → email"),
        (Sign.ADDED, "the flow must succeed within 1h30m: kill"),
    ]


def test_set_change_lists_removed_before_added() -> None:
    view = update(
        schedule("0 0 2 ? * *", failure_emails=["a@x", "b@x", "c@x"]),
        schedule("0 0 2 ? * *", failure_emails=["c@x", "d@x", "a@x", "e@x"]),
    )
    emails = field(view, "failure_emails")
    assert emails.shape is Shape.SET and not emails.block
    assert [(i.sign.value, i.text) for i in emails.items] == [
        ("-", "b@x"),
        ("+", "d@x"),
        ("+", "e@x"),
    ]


def test_unchanged_attributes_are_counted() -> None:
    view = update(schedule("0 0 2 ? * *"), schedule("0 0 3 ? * *", concurrent="ignore"))
    assert [f.name for f in view.fields] == ["cron", "concurrent"]
    assert view.unchanged == 19  # every other field of a ScheduleValue
    assert diffmodel.unchanged_note(1) == "# (1 unchanged attribute hidden)"
    assert diffmodel.unchanged_note(8) == "# (8 unchanged attributes hidden)"


def test_cron_fields_carry_their_meaning_and_next_fires() -> None:
    cron = field(update(schedule("0 0 2 ? * *"), schedule("0 0 3 ? * *")), "cron")
    assert cron.before is not None and cron.after is not None
    assert cron.before.cron is not None and cron.after.cron is not None
    assert cron.after.cron.next_times[0] == "Sun 2024-06-02 03:00 PDT"
    assert len(cron.after.cron.next_times) == diffmodel.NEXT_FIRES
    deleted = diffmodel.build(
        Change(
            address="project.a.schedule.f", action=Action.DELETE, before=schedule("0 0 2 ? * *")
        ),
        TZ,
        NOW,
    )
    gone = field(deleted, "cron").before
    assert gone is not None and gone.cron is not None and gone.cron.next_times == ()


def test_a_create_shows_every_valued_field_and_a_delete_every_old_one() -> None:
    created = diffmodel.build(
        Change(address="project.a.schedule.f", action=Action.CREATE, after=schedule("0 0 2 ? * *")),
        TZ,
        NOW,
    )
    names = [f.name for f in created.fields]
    assert "pipeline_level" not in names and "success_emails" not in names  # None, empty
    assert all(f.before is None and f.after is not None for f in created.fields)
    assert created.unchanged == 0


def test_files_fold_the_zip_into_one_upload_and_shorten_digests() -> None:
    view = diffmodel.build(
        Change(
            address="project.a.files",
            action=Action.UPDATE,
            before={"digest": "cd" * 32, "flows": ["a"]},
            after={"digest": "ef" * 32, "flows": ["a"], "zip": "a.zip", "size": 2048},
        ),
        TZ,
        NOW,
    )
    assert [f.name for f in view.fields] == ["content digest", "upload"]
    digest = field(view, "content digest")
    assert digest.before is not None and digest.before.text == "cdcdcdcdcdcd…"
    upload = field(view, "upload")
    assert upload.before is None and upload.after is not None
    assert upload.after.text == "a.zip, 2.0 KiB"
    assert view.unchanged == 1


def test_drift_is_the_same_fields_server_before_configuration() -> None:
    drift = Drift(
        address="project.a.schedule.f",
        fields={
            "cron": {"live": "0 0 4 ? * *", "desired": "0 0 5 ? * *"},
            "parameters": {"live": {"env": "a"}, "desired": {"env": "b"}},
        },
    )
    view = diffmodel.build_drift(drift, TZ, NOW)
    cron, params = view.fields
    assert cron.before is not None and cron.before.text == '"0 0 4 ? * *"'
    assert params.items == (Item(Sign.CHANGED, "a", "b", "env"),)


def test_cron_note_takes_a_naive_now_as_utc() -> None:
    naive = diffmodel.cron_note("0 0 2 ? * *", TZ, datetime(2024, 6, 1, 12, 0))
    assert naive == diffmodel.cron_note("0 0 2 ? * *", TZ, NOW)
    assert naive.next_times[0] == "Sun 2024-06-02 02:00 PDT"


def test_cron_note_of_nothing_or_nonsense_is_empty() -> None:
    assert diffmodel.cron_note(None, TZ, NOW).empty
    assert diffmodel.cron_note("nonsense", TZ, NOW).empty
    assert diffmodel.cron_note("0 0 2 ? * *", TZ, NOW, with_times=False).next_times == ()


def test_values() -> None:
    assert diffmodel.scalar('say "hi"') == '"say \\"hi\\""'
    assert diffmodel.scalar(False) == "false"
    assert diffmodel.scalar(None) == diffmodel.NONE
