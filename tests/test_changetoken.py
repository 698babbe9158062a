"""The change token on recorded fetchProjectLogs replies (conformance `events-*` goldens).

The goldens replace every event time by `<millis>`; each test stamps the recorded rows with the
times its case needs (distinct milliseconds, or one shared millisecond) and checks what the
token says: equal exactly when no event was added.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from azstate.changetoken import FIRST_PAGE, ChangeToken, read_token, token_from_page
from azstate.wire.replies import ProjectLogEntry, project_logs

SCENARIOS = Path(__file__).parent / "conformance" / "scenarios"


def recorded(scenario: str, step: str) -> dict[str, Any]:
    golden = json.loads((SCENARIOS / f"{scenario}.golden.json").read_text())
    for s in golden["steps"]:
        if s["name"] == step:
            body: dict[str, Any] = s["body"]["json"]
            return body
    raise KeyError(step)


def stamped(reply: dict[str, Any], times: Sequence[int]) -> list[ProjectLogEntry]:
    """The recorded reply, its `<millis>` replaced by `times` in row order, parsed."""
    rows = reply["logData"]
    assert len(rows) == len(times)
    body = {**reply, "logData": [[r[0], t, r[2], r[3]] for r, t in zip(rows, times, strict=True)]}
    return project_logs(body)


def every_recorded_log() -> list[tuple[str, str]]:
    out = []
    for path in sorted(SCENARIOS.glob("events-*.golden.json")):
        for s in json.loads(path.read_text())["steps"]:
            body = s["body"].get("json")
            if isinstance(body, dict) and body.get("logData"):
                out.append((path.name.removesuffix(".golden.json"), s["name"]))
    return out


@pytest.mark.parametrize(("scenario", "step"), every_recorded_log())
def test_every_recorded_log_gives_a_token_that_survives_json(scenario: str, step: str) -> None:
    reply = recorded(scenario, step)
    n = len(reply["logData"])
    rows = stamped(reply, [1000 - i for i in range(n)])
    token = token_from_page(rows, size=n + 1)
    assert token is not None and token.newest == 1000 and len(token.entries) == 1
    assert ChangeToken.from_json(json.loads(json.dumps(token.to_json()))) == token


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("logs-3-upload", "logs-3-upload-same"),  # an identical zip again
        ("logs-3-upload-same", "logs-3-describe"),
        ("logs-3-describe", "logs-3-describe-same"),  # the same text again
    ],
)
def test_a_repeated_identical_event_changes_the_token_even_in_the_same_millisecond(
    before: str, after: str
) -> None:
    old = recorded("events-project-mutations", before)
    new = recorded("events-project-mutations", after)
    n_old = len(old["logData"])
    old_times = [1000 - i for i in range(n_old)]
    token = token_from_page(stamped(old, old_times), size=10)
    # the new event one millisecond later
    later = token_from_page(stamped(new, [1001, *old_times][: len(new["logData"])]), size=10)
    # ... or in the very millisecond of the previous newest event
    tied = token_from_page(stamped(new, [1000, *old_times][: len(new["logData"])]), size=10)
    assert token is not None and later is not None and tied is not None
    assert token != later and token != tied and later != tied


def test_the_same_tie_read_in_either_order_is_the_same_token() -> None:
    """Upload and the schedule removal it causes, in one millisecond (4 of 80 recorded runs)."""
    reply = recorded("events-schedule-mutations", "logs-3-upload-drops-beta")
    rows = stamped(reply, [2000, 2000, 1990])
    swapped = [rows[1], rows[0], rows[2]]
    assert token_from_page(rows, size=3) == token_from_page(swapped, size=3)
    # two rows of one millisecond fill a page of two: the millisecond may hold more
    assert token_from_page(rows[:2], size=2) is None
    # a short page ends the log: complete
    assert token_from_page(rows[:2], size=5) is not None


def test_a_back_dated_event_is_still_a_different_token() -> None:
    """Equality only: a newer token is never "older", a smaller time never means "unchanged"."""
    reply = recorded("events-permission-mutations", "logs-3-add-user")
    a = token_from_page(stamped(reply, [3000, 2000, 1000]), size=3)
    b = token_from_page(stamped(reply, [2999, 2000, 1000]), size=3)
    assert a is not None and b is not None and a != b


def test_read_token_doubles_the_page_while_every_row_shares_the_newest_millisecond() -> None:
    row = ["azkaban", 0, "DESCRIPTION", "Description changed to x"]
    log = [ProjectLogEntry(user="azkaban", time=5000, type="SCHEDULE", message=f"s{i}")
           for i in range(11)]  # fmt: skip
    log.append(ProjectLogEntry(user=row[0], time=4000, type="CREATED", message=None))
    asked: list[int] = []

    def read(size: int) -> list[ProjectLogEntry]:
        asked.append(size)
        return log[:size]

    token = read_token(read)
    assert asked == [FIRST_PAGE, 2 * FIRST_PAGE, 4 * FIRST_PAGE]
    assert token.newest == 5000 and len(token.entries) == 11
    asked.clear()
    assert read_token(lambda size: (asked.append(size), log[-1:])[1]) == ChangeToken(
        newest=4000, entries=(("azkaban", "CREATED", "\x00null"),)
    )
    assert asked == [FIRST_PAGE]


def test_a_null_message_and_an_empty_message_differ() -> None:
    a = token_from_page([ProjectLogEntry(user="u", time=1, type="CREATED", message=None)], 4)
    b = token_from_page([ProjectLogEntry(user="u", time=1, type="CREATED", message="")], 4)
    assert a != b


@pytest.mark.parametrize(
    "bad", [None, [], {"newest": 1}, {"newest": "x", "entries": []}, {"newest": 1, "entries": [1]}]
)
def test_a_damaged_token_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        ChangeToken.from_json(bad)
