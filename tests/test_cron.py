"""The Quartz cron module against Quartz 2.2.1's own answers, and its helpers.

tests/data/quartz-vectors.jsonl was computed by Quartz 2.2.1 in 2026 (see
../shared/testdata/README-quartz-vectors.md), so the search horizon is pinned to 2126 here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azstate import cron
from azstate.errors import CronError

VECTORS = Path(__file__).parent / "data" / "quartz-vectors.jsonl"
HORIZON = 2126


def _rows() -> list[dict[str, Any]]:
    with VECTORS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _comparable(message: str | None) -> str | None:
    """Wrapped Java exceptions are compared up to the class name (their text varies by JDK)."""
    if message and message.startswith("Illegal cron expression format (java"):
        return re.split(r"[:)]", message, maxsplit=1)[0]
    return message


def _verdict(row: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = cron.parse(row["expr"], max_year=HORIZON)
    except cron.CronParseError as exc:
        return {
            "valid": False,
            "error": _comparable(exc.quartz_message),
            "next": [],
            "fails": False,
        }
    after = datetime.fromisoformat(row["after"])
    try:
        times = parsed.next_times(after, row["tz"], 8, max_year=HORIZON, strict=True)
        fails = False
    except cron.CronSearchError as exc:
        times, fails = list(exc.found), True
    return {
        "valid": True,
        "error": None,
        "next": [t.isoformat() for t in times],
        "fails": fails,
    }


def test_every_vector_agrees_with_quartz() -> None:
    rows = _rows()
    assert len(rows) == 300
    mismatches = []
    for row in rows:
        expected = {
            "valid": row["valid"],
            "error": _comparable(row["error"]),
            "next": row["next"],
            "fails": "next_error" in row,
        }
        got = _verdict(row)
        if got != expected:
            mismatches.append(f"{row['expr']!r} {row['tz']} {row['after']}: {got} != {expected}")
    assert not mismatches, "\n".join(mismatches)


def test_failing_searches_list_what_quartz_found_before_failing() -> None:
    rows = [row for row in _rows() if "next_error" in row]
    assert rows
    for row in rows:
        parsed = cron.parse(row["expr"], max_year=HORIZON)
        times = parsed.next_times(datetime.fromisoformat(row["after"]), row["tz"], 8)
        assert [t.isoformat() for t in times] == row["next"]


def test_parse_is_cached_and_keeps_the_source() -> None:
    first = cron.parse("0 0 2 ? * *")
    assert cron.parse("0 0 2 ? * *") is first
    assert first.source == "0 0 2 ? * *"


def test_unix_cron_error_shows_the_quartz_equivalent() -> None:
    with pytest.raises(cron.CronParseError) as caught:
        cron.parse("*/5 * * * *")
    assert caught.value.quartz_message == "Unexpected end of expression."
    assert "'0 */5 * * * ?'" in str(caught.value)
    assert isinstance(caught.value, CronError)


def test_check_schedulable_refuses_what_never_fires() -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert cron.check_schedulable("0 0 2 ? * *", "UTC", now).source == "0 0 2 ? * *"
    with pytest.raises(CronError, match="never fires"):
        cron.check_schedulable("0 0 0 31 2 ?", "UTC", now)
    with pytest.raises(CronError, match="cannot be scheduled"):
        cron.check_schedulable("0 0 L * * ?", "UTC", now)


QUIRKS = Path(__file__).parent / "data" / "cron" / "quartz-quirks.jsonl"


def test_every_quirk_case_agrees_with_quartz() -> None:
    """Edge cases run through real Quartz (see tests/data/cron/README.md)."""
    with QUIRKS.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    assert len(rows) > 100
    mismatches = []
    for row in rows:
        expected = {
            "valid": row["valid"],
            "error": _comparable(row["error"]),
            "next": row["next"],
            "fails": "next_error" in row,
        }
        got = _verdict(row)
        if got != expected:
            mismatches.append(f"{row['expr']!r} {row['tz']} {row['after']}: {got} != {expected}")
    assert not mismatches, "\n".join(mismatches)


def _times(expr: str, tz: str, after: str, count: int = 3) -> list[str]:
    parsed = cron.parse(expr, max_year=HORIZON)
    moments = parsed.next_times(datetime.fromisoformat(after), tz, count, max_year=HORIZON)
    return [t.isoformat() for t in moments]


def test_spring_forward_skips_the_missing_hour() -> None:
    times = _times("0 30 2 * * ?", "America/Los_Angeles", "2026-03-07T12:00:00-08:00")
    assert times == [
        "2026-03-09T02:30:00-07:00",
        "2026-03-10T02:30:00-07:00",
        "2026-03-11T02:30:00-07:00",
    ]


def test_fall_back_fires_once_at_the_second_occurrence() -> None:
    times = _times("0 30 1 * * ?", "America/Los_Angeles", "2026-10-31T12:00:00-07:00")
    assert times[:2] == ["2026-11-01T01:30:00-08:00", "2026-11-02T01:30:00-08:00"]
    every_second = _times("* * * * * ?", "America/Los_Angeles", "2026-11-01T01:30:00-07:00", 1)
    assert every_second == ["2026-11-01T01:30:01-08:00"]


def test_a_restart_inside_a_half_hour_gap_moves_forward_first() -> None:
    """Lord Howe skips 02:00-02:30: the hour restarts at 02:00, which becomes 02:30."""
    times = _times("34 9-53/6 2 ? 10 *", "Australia/Lord_Howe", "2026-10-04T01:30:00+10:30", 2)
    assert times == ["2026-10-04T02:33:34+11:00", "2026-10-04T02:39:34+11:00"]


def test_expressions_valid_in_one_zone_can_never_fire_in_another() -> None:
    parsed = cron.parse("0 30 2 ? 3 1L 2027")
    after = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert parsed.next_after(after, "Europe/Berlin") is None
    assert parsed.next_after(after, "UTC") == datetime(2027, 3, 28, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "first"),
    [
        ("0 0 0 ? * L", "2026-11-28T00:00:00+00:00"),
        ("0 0 0 ? * 0#1", "2026-12-05T00:00:00+00:00"),
        ("0 0 0 ? * MON/2", "2026-11-23T00:00:00+00:00"),
        ("0 0 0 ? * MONDAY", "2026-11-23T00:00:00+00:00"),
        ("0 0 22-2 * * ?", "2026-11-22T22:00:00+00:00"),
        ("0 0 0 ? NOV-FEB FRI-MON", "2026-11-23T00:00:00+00:00"),
        ("0 0 99 * * ?", "2026-11-22T13:00:00+00:00"),
        ("0 0 5/0 * * ?", "2026-11-23T05:00:00+00:00"),
        ("0 0 0 15W,3 * ?", "2026-12-03T00:00:00+00:00"),
        ("0 0 0 31W * ?", "2026-12-31T00:00:00+00:00"),
        ("0 0 12x * * ? 2026 extra", "2026-11-23T12:00:00+00:00"),
        ("0 0 0 ? * 2%", "2026-11-23T00:00:00+00:00"),
    ],
)
def test_lenient_quartz_readings(expr: str, first: str) -> None:
    assert _times(expr, "UTC", "2026-11-22T12:00:00+00:00", 1) == [first]


def test_year_horizon_is_this_year_plus_one_hundred() -> None:
    after = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert cron.parse("0 0 0 1 1 ? 2126").next_after(after, "UTC", max_year=2126) is not None
    assert cron.parse("0 0 0 1 1 ? 2127").next_after(after, "UTC", max_year=2126) is None
    assert cron.parse("0 0 0 1 1 ? 2127").next_after(after, "UTC", max_year=2127) is not None
    with pytest.raises(cron.CronParseError, match="Start year must be less than stop year"):
        cron.parse("0 0 0 1 1 ? 2130/10", max_year=2126)


def test_next_after_is_strictly_after_and_keeps_the_zone() -> None:
    parsed = cron.parse("0 0 2 ? * *")
    at_fire = datetime(2026, 11, 23, 2, tzinfo=UTC)
    assert parsed.next_after(at_fire, "UTC") == datetime(2026, 11, 24, 2, tzinfo=UTC)
    nxt = parsed.next_after(at_fire, ZoneInfo("Asia/Kolkata"))
    assert nxt is not None and nxt.utcoffset() == timedelta(hours=5, minutes=30)
    with pytest.raises(ValueError):
        parsed.next_after(datetime(2026, 11, 23, 2), "UTC")


def test_search_failures_raise_with_what_was_found() -> None:
    after = datetime(2026, 11, 22, 12, tzinfo=UTC)
    with pytest.raises(cron.CronSearchError):
        cron.parse("0 0 L * * ?").next_after(after, "UTC")
    zero_w = cron.parse("0 0 0 0W * ?")
    base = datetime(2027, 1, 31, 12, tzinfo=UTC)
    with pytest.raises(cron.CronSearchError) as caught:
        zero_w.next_times(base, "UTC", 5, strict=True)
    assert caught.value.found == (datetime(2027, 2, 1, tzinfo=UTC),)
    assert zero_w.next_times(base, "UTC", 5) == [datetime(2027, 2, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("0 0 0 31 2 ?", "never fires"),
        ("0 0 0 1 1 ? 2020", "never fires"),
        ("0 0 L * * ?", "cannot be scheduled"),
        ("0 0 0 , * *", "day-of-week AND a day-of-month"),
        ("0 0 0 ? * ,", "cannot be scheduled"),
        ("0 0 0 0W * ?", "cannot be scheduled"),
        ("0 0 0 L-30W 3 ?", "cannot be scheduled"),
        ("0 0 0 L-28W * ?", "cannot be scheduled"),
        ("0 0 12 * *", "Quartz equivalent"),
    ],
)
def test_check_schedulable_refuses_what_azkaban_cannot_run(expr: str, reason: str) -> None:
    with pytest.raises(CronError, match=reason):
        cron.check_schedulable(expr, "UTC", datetime(2026, 11, 22, 12, tzinfo=UTC))


def test_check_schedulable_accepts_ordinary_schedules() -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    for expr in ("0 0 2 ? * *", "0 30 8 L-5W * ?", "0 0 0 L-27W * ?", " 0 0 1 ? * MON "):
        assert cron.check_schedulable(expr, "America/Los_Angeles", now).source == expr
    with pytest.raises(CronError, match="unknown time zone"):
        cron.check_schedulable("0 0 2 ? * *", "Mars/Olympus", now)


def test_expression_is_immutable() -> None:
    parsed = cron.parse("0 0 2 ? * *")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.source = "0 0 3 ? * *"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("0 0 2 ? * *", "  0\t0  2 ? *\t* "),
        ("0 0 2 ? * mon-fri", "0 0 2 ? * MON-FRI"),
        ("0 0 2 ? * MON-FRI 2030", "0 0 2 ? * MON-FRI 2030 ignored tokens"),
    ],
)
def test_normalize_equates_spellings_quartz_reads_alike(left: str, right: str) -> None:
    assert cron.normalize(left) == cron.normalize(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("0 0 2 ? * *", "0 0 2 * * ?"),
        ("0 0 2 ? * *", "0 0 3 ? * *"),
        ("0 0 2 ? * 1", "0 0 2 ? * 0#1"),
    ],
)
def test_normalize_keeps_different_schedules_apart(left: str, right: str) -> None:
    assert cron.normalize(left) != cron.normalize(right)


def test_normalize_text() -> None:
    assert cron.normalize("\t0  0 2 ? * mon \t") == "0 0 2 ? * MON"


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("0 0 2 ? * *", "At 02:00"),
        ("0 */5 * * * ?", "Every 5 minutes"),
        ("0 0 0 ? * 1", "At 00:00, only on Sunday"),
        ("0 0 0 ? * 7", "At 00:00, only on Saturday"),
        ("0 15 10 ? * 6#3", "At 10:15, on the third Friday of the month"),
        ("0 0 0 L * ?", "At 00:00, on the last day of the month"),
    ],
)
def test_describe_reads_quartz_day_numbers(expr: str, text: str) -> None:
    assert cron.describe(expr) == text


def test_describe_refuses_what_quartz_refuses() -> None:
    with pytest.raises(cron.CronParseError):
        cron.describe("0 0 2 * * *")
    assert cron.describe("0 0 L * * ?")


@pytest.mark.parametrize(
    ("unix", "quartz"),
    [
        ("*/5 * * * *", "0 */5 * * * ?"),
        ("0 12 * * *", "0 0 12 * * ?"),
        ("30 6 1 * *", "0 30 6 1 * ?"),
        ("0 9 * * 1-5", "0 0 9 ? * 2-6"),
        ("0 9 * * 0,7", "0 0 9 ? * 1,1"),
        ("0 9 * * MON-FRI", "0 0 9 ? * MON-FRI"),
        ("0 0 * * 5-7", "0 0 0 ? * 6-1"),
        ("@hourly", "0 0 * * * ?"),
        ("@weekly", "0 0 0 ? * SUN"),
        ("0 0 1 1 *", "0 0 0 1 1 ?"),
    ],
)
def test_quartz_equivalent_of_unix_crons(unix: str, quartz: str) -> None:
    assert cron.quartz_equivalent(unix) == quartz
    cron.parse(quartz)


@pytest.mark.parametrize("text", ["0 0 2 ? * *", "0 9 1 * 1", "* * *", "0 9 * * 8"])
def test_quartz_equivalent_is_none_without_one(text: str) -> None:
    assert cron.quartz_equivalent(text) is None


def test_unix_weekday_conversion_fires_on_the_same_days() -> None:
    after = datetime(2026, 11, 22, 12, tzinfo=UTC)
    quartz = cron.quartz_equivalent("0 0 * * 1-7/2")
    assert quartz is not None
    days = {t.strftime("%a") for t in cron.parse(quartz).next_times(after, "UTC", 14)}
    assert days == {"Mon", "Wed", "Fri", "Sun"}


def test_thousands_of_schedules_are_checked_and_fire() -> None:
    """Every expression of a large fleet is checked and yields its next times in order (how
    fast is bench/'s business: timed assertions flake on a loaded machine)."""
    after = datetime(2026, 11, 22, 12, tzinfo=UTC)
    for minute in range(60):
        for hour in range(24):
            for tail in ("* * ?", "? * MON-FRI", "L * ?"):
                expr = f"0 {minute} {hour} {tail}"
                cron.check_schedulable(expr, "America/Los_Angeles", after)
                times = cron.parse(expr).next_times(after, "America/Los_Angeles", 5)
                assert len(times) == 5 and times == sorted(set(times)) and times[0] > after
    far = cron.parse("0 0 0 29 2 ? 2124")
    assert far.next_after(after, "UTC", max_year=2126) == datetime(2124, 2, 29, tzinfo=UTC)
    assert cron.parse("0 0 0 31 2 ?").next_after(after, "UTC", max_year=2126) is None


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("0 0 0 ? * MON/2", "At 00:00, only on Monday"),
        ("0 0 0 ? * L", "At 00:00, only on Saturday"),
        ("0 0 12x * * ? 2026 extra", "At 12:00, only in 2026"),
        ("0 0/15 * * * ?", "Every 15 minutes"),
        ("0 0 0 15W,3 * ?", "At 00:00, on the weekday nearest day 3 of the month"),
    ],
)
def test_describe_says_what_quartz_understood_not_what_was_typed(expr: str, text: str) -> None:
    assert cron.describe(expr) == text


def test_describe_of_an_unsearchable_expression_says_it_never_fires() -> None:
    assert cron.describe("0 0 L * * ?").startswith("Never fires: the hour field")


def test_canonical_spelling_is_shared_by_equivalent_expressions() -> None:
    spellings = ["0 0/15 * * * ?", "0 */15 * * * ?", "0 0,15,30,45 * * * ? *", "0 /15 * * * ?"]
    assert {cron.canonical(cron.parse(e)) for e in spellings} == {"0 */15 * * * ? *"}


# Quartz 2.3 ---------------------------------------------------------------------------------

VECTORS_23 = Path(__file__).parent / "data" / "quartz23-vectors.jsonl"


def _rows_23() -> list[dict[str, Any]]:
    with VECTORS_23.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _verdict_in(expr: str, quartz: cron.Quartz) -> tuple[bool, str | None]:
    try:
        cron.parse(expr, max_year=HORIZON, quartz=quartz)
    except cron.CronParseError as exc:
        return False, _comparable(exc.quartz_message)
    return True, None


def _fire_times(expr: str, row: dict[str, Any], quartz: cron.Quartz) -> tuple[list[str], bool]:
    parsed = cron.parse(expr, max_year=HORIZON, quartz=quartz)
    after = datetime.fromisoformat(row["after"])
    try:
        times = parsed.next_times(after, row["tz"], 3, max_year=HORIZON, strict=True)
    except cron.CronSearchError as exc:
        return [t.isoformat() for t in exc.found], True
    return [t.isoformat() for t in times], False


def test_every_quartz23_vector_agrees_with_both_versions() -> None:
    """Each row: 2.2.1's verdict, 2.3.2's verdict and message, and the fire times of each."""
    rows = _rows_23()
    assert len(rows) == 300
    mismatches = []
    for row in rows:
        expr = row["expr"]
        got = {
            "221": _verdict_in(expr, cron.Quartz.V2_2)[0],
            "232": _verdict_in(expr, cron.Quartz.V2_3),
        }
        expected = {
            "221": row["valid_221"],
            "232": (row["valid_232"], _comparable(row["error_232"])),
        }
        if got != expected:
            mismatches.append(f"{expr!r}: {got} != {expected}")
            continue
        if row["valid_232"] and "next_error" in row:
            # the rows keep no partial list when Quartz's search failed: it fails here too
            found, fails = _fire_times(expr, row, cron.Quartz.V2_3)
            if not fails or found[: len(row["next_232"])] != row["next_232"]:
                mismatches.append(f"{expr!r} 2.3 search should fail: {found}")
        elif row["valid_232"]:
            times = _fire_times(expr, row, cron.Quartz.V2_3)
            if times != (row["next_232"], False):
                mismatches.append(f"{expr!r} 2.3 times: {times} != {row['next_232']}")
        elif row["valid_221"]:
            times = _fire_times(expr, row, cron.Quartz.V2_2)
            if times != (row["next_221"], False):
                mismatches.append(f"{expr!r} 2.2 times: {times} != {row['next_221']}")
    assert not mismatches, "\n".join(mismatches)


def test_what_azkaban_refuses_among_the_quartz23_vectors_is_refused() -> None:
    """Valid but never firing again, or Quartz's search failing: Azkaban refuses (or hangs)."""
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    for row in _rows_23():
        if row["valid_232"] and (not row["next_232"] or "next_error" in row):
            with pytest.raises(CronError):
                cron.check_schedulable(row["expr"], row["tz"], now, quartz=cron.Quartz.V2_3)


def test_every_expression_only_quartz22_takes_has_an_equivalent_both_take() -> None:
    """The rewrite fires as the server's 2.2 fires the original, and 2.3 accepts it."""
    rows = _rows_23()
    only_22 = [r for r in rows if r["valid_221"] and not r["valid_232"]]
    assert len(only_22) >= 100
    for row in only_22:
        equivalent = cron.quartz22_equivalent(row["expr"])
        assert equivalent is not None, row["expr"]
        assert _fire_times(equivalent, row, cron.Quartz.V2_3) == (row["next_221"], False)
        assert cron.normalize(row["expr"]) == equivalent
        with pytest.raises(cron.Quartz23Refusal) as caught:
            cron.parse(row["expr"], quartz=cron.Quartz.V2_3)
        assert str(caught.value).startswith("refused by Quartz 2.3 and later: step ")
        assert repr(equivalent) in str(caught.value)
    for row in rows:
        if not (row["valid_221"] and not row["valid_232"]):
            assert cron.quartz22_equivalent(row["expr"]) is None, row["expr"]


@pytest.mark.parametrize(
    ("expr", "field", "top", "write", "whole"),
    [
        ("0/60 0 2 ? * *", "seconds", 59, "write 0 if you mean only second 0", "0 0 2 ? * *"),
        ("0 5/60 2 ? * *", "minutes", 59, "write 5 if you mean only minute 5", "0 5 2 ? * *"),
        ("0 0 0/24 * * ?", "hours", 23, "write 0 if you mean only hour 0", "0 0 0 * * ?"),
        ("0 0 0 1/32 * ?", "day-of-month", 31, "write 1 if you mean only day 1", "0 0 0 1 * ?"),
        ("0 0 0 1 1/13 ?", "month", 12, "write 1 if you mean only month 1", "0 0 0 1 1 ?"),
        ("0 0 0 ? * 1/8", "day-of-week", 7, "write 1 if you mean only weekday 1", "0 0 0 ? * 1"),
    ],
)
def test_quartz23_refusal_names_the_field_and_the_fix(
    expr: str, field: str, top: int, write: str, whole: str
) -> None:
    with pytest.raises(cron.Quartz23Refusal) as caught:
        cron.parse(expr, quartz=cron.Quartz.V2_3)
    message = str(caught.value)
    assert f"exceeds {top} in the {field} field" in message
    assert write in message
    assert f"as Quartz 2.2 reads it: {whole!r}" in message
    assert caught.value.quartz22_reading == whole
    assert cron.parse(expr).source == expr  # what the server (2.2) takes is unchanged


def test_check_schedulable_follows_the_quartz_it_is_given() -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert cron.check_schedulable("0/60 0 2 ? * *", "UTC", now).seconds == (0,)
    with pytest.raises(CronError, match=r"refused by Quartz 2\.3 and later"):
        cron.check_schedulable("0/60 0 2 ? * *", "UTC", now, quartz=cron.Quartz.V2_3)
    assert cron.check_schedulable("0 0 2 ? * *", "UTC", now, quartz=cron.Quartz.V2_3)


def test_a_live_quartz22_cron_normalizes_to_the_configured_form() -> None:
    """Live `0/60 0 2 ? * *` (a 2.2 server took it) equals configured `0 0 2 ? * *`."""
    assert cron.normalize("0/60 0 2 ? * *") == cron.normalize("0 0 2 ? * *") == "0 0 2 ? * *"
    assert cron.normalize("0 15,45/60 * * * ?") == "0 15,45 * * * ?"
    assert cron.normalize("0\t0\t0\t5-6,2/32\t*\t?") == "0 0 0 5-6,2 * ?"
    assert cron.normalize("99/60 0 0 ? * *") == "0 0 0 ? * *"  # 99 is '*': from the lowest
    # what both versions read alike stays as written
    assert cron.normalize("0 0/15 * * * ?") == "0 0/15 * * * ?"
    assert cron.normalize("0 0 1-5/60 * * ?") == "0 0 1-5/60 * * ?"


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 2 ? * *",  # nothing to rewrite
        "0 */60 2 ? * *",  # 2.2 refuses it too
        "70/60 0 0 ? * *",  # out of range: 2.2 refuses it
        "0 0 0 98/40 * ?",  # 2.2 reads the item as nothing: the field would be empty
        "",
    ],
)
def test_quartz22_equivalent_is_none_where_there_is_none(expr: str) -> None:
    assert cron.quartz22_equivalent(expr) is None


def test_quartz22_note_says_what_import_wrote_and_why() -> None:
    note = cron.quartz22_note(" 0/60 0 2 ? * * ")
    assert note is not None
    assert "'0/60 0 2 ? * *'" in note and "'0 0 2 ? * *'" in note
    assert "Quartz 2.3 and later refuse" in note and "no change" in note
    assert cron.quartz22_note("0 0 2 ? * *") is None


_CRON_TEXT = st.text(alphabet="0123456789/*?-,LW#? \tMONJA", min_size=0, max_size=30)


@settings(max_examples=400, deadline=None)
@given(_CRON_TEXT)
def test_normalize_never_raises_and_a_rewrite_means_what_22_read(text: str) -> None:
    """normalize() reads live data; a rewrite must be accepted by 2.3 and fire as 2.2 fired."""
    cron.normalize(text)
    equivalent = cron.quartz22_equivalent(text)
    if equivalent is None:
        return
    original = cron.parse(text)
    reread = cron.parse(equivalent, quartz=cron.Quartz.V2_3)
    assert dataclasses.replace(reread, source=text) == original
    with pytest.raises(cron.Quartz23Refusal):
        cron.parse(text, quartz=cron.Quartz.V2_3)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.integers(0, 130)).map(lambda p: f"{p[0]}/{p[1]}"),
        min_size=6,
        max_size=6,
    ),
    st.sampled_from([3, 5]),
)
def test_step_items_rewrite_wherever_both_versions_disagree(items: list[str], free: int) -> None:
    fields = list(items)
    fields[free] = "?"
    text = " ".join(fields)
    try:
        cron.parse(text)
    except cron.CronParseError:
        assert cron.quartz22_equivalent(text) is None
        return
    try:
        cron.parse(text, quartz=cron.Quartz.V2_3)
    except cron.Quartz23Refusal:
        # 98/S in a day field is no value at all to 2.2: alone it leaves nothing to write
        assert cron.quartz22_equivalent(text) is not None or "98/" in text
    else:
        assert cron.quartz22_equivalent(text) is None
