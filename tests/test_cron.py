"""The Quartz cron module against Quartz 2.2.1's own answers, and its helpers.

tests/data/quartz-vectors.jsonl was computed by Quartz 2.2.1 in 2026 (see
../shared/testdata/README-quartz-vectors.md), so the search horizon is pinned to 2126 here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

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
        parsed = cron.parse(row["expr"])
    except cron.CronParseError as exc:
        return {
            "valid": False,
            "error": _comparable(exc.quartz_message),
            "next": [],
            "fails": False,
        }
    after = datetime.fromisoformat(row["after"])
    try:
        times = parsed.next_times(after, row["tz"], 8, max_year=HORIZON)
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
