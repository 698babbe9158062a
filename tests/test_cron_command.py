"""`azstate cron` through the real entry point: exit codes, JSON lines, files and stdin."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from azstate.cli import main

AFTER = "2026-11-22T12:00:00+00:00"


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _cron_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]]]:
    """`azstate cron ARGS --after AFTER --json`: its exit code and one object per line."""
    code = main(["cron", *args, "--after", AFTER, "--json"])
    return code, _json_lines(capsys.readouterr().out)


def test_json_gives_one_object_per_expression(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["cron", "0 15 10 ? * 6#3", "0 0 2 ? * *", "--after", AFTER, "--count", "2", "--json"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert _json_lines(out) == [
        {
            "expr": "0 15 10 ? * 6#3",
            "valid": True,
            "error": None,
            "description": "At 10:15, on the third Friday of the month",
            "next": ["2026-12-18T10:15:00+00:00", "2027-01-15T10:15:00+00:00"],
        },
        {
            "expr": "0 0 2 ? * *",
            "valid": True,
            "error": None,
            "description": "At 02:00",
            "next": ["2026-11-23T02:00:00+00:00", "2026-11-24T02:00:00+00:00"],
        },
    ]
    assert list(_json_lines(out)[0]) == ["expr", "valid", "error", "description", "next"]


def test_an_invalid_expression_exits_1_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, rows = _cron_json(capsys, "0 0 2 ? * *", "*/5 * * * *")
    assert code == 1
    assert [r["valid"] for r in rows] == [True, False]
    assert rows[1]["error"].startswith("Unexpected end of expression.")
    assert "'0 */5 * * * ?'" in rows[1]["error"]
    assert rows[1]["description"] is None
    assert rows[1]["next"] == []


def test_never_firing_is_invalid_with_one_reason_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 14: `0 0 0 31 2 ?` was both "valid" and "refused", exit 0. Azkaban refuses it."""
    code, (never, broken) = _cron_json(capsys, "0 0 0 31 2 ?", "0 0 L * * ?")
    assert code == 1
    assert never["valid"] is False and never["next"] == [] and never["description"] is None
    assert "never fires" in never["error"] and "Azkaban refuses" in never["error"]
    assert broken["valid"] is False and broken["next"] == [] and broken["description"] is None
    assert "cannot be scheduled" in broken["error"]


@pytest.mark.parametrize(
    "expr", ["0 0 0 31 2 ?", "0 0 L * * ?", "0 0 0 1 1 ? 2020", "0/60 0 2 ? * *", "nope"]
)
def test_text_gives_exactly_one_verdict(expr: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cron", expr, "--after", AFTER, "--no-color"])
    out = capsys.readouterr().out
    assert code == 1
    verdicts = [line.split()[0] for line in out.splitlines()[2:] if line.startswith("  ")]
    assert verdicts == ["invalid"], out
    assert "valid " not in out.replace("invalid ", "") and "refused  " not in out
    assert "next" not in out


def test_quartz23_refusal_is_invalid_and_says_what_to_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 2.2 server takes `0/60`, 2.3 refuses it: configuration must suit both, so invalid."""
    code, (seconds, hours) = _cron_json(capsys, "0/60 0 2 ? * *", "0 0 0/24 ? * *")
    assert code == 1
    assert seconds == {
        "expr": "0/60 0 2 ? * *",
        "valid": False,
        "error": (
            "refused by Quartz 2.3 and later: step 60 exceeds 59 in the seconds field ('0/60'); "
            "write 0 if you mean only second 0 (the whole expression as Quartz 2.2 reads it: "
            "'0 0 2 ? * *')"
        ),
        "description": None,
        "next": [],
    }
    assert "step 24 exceeds 23 in the hours field" in hours["error"]
    assert main(["cron", "0 0 2 ? * *", "--after", AFTER, "--json"]) == 0


def test_count_zero_in_text_lists_no_times_and_does_not_say_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["cron", "0 0 2 ? * *", "--after", AFTER, "--count", "0", "--no-color"])
    out = capsys.readouterr().out
    assert code == 0
    assert "valid    At 02:00" in out
    assert "(none)" not in out and "next" not in out


def test_file_from_stdin_skips_blank_and_comment_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("# nightly\n\n0 0 2 ? * *\n  # indented\n0 12 * * *\n")
    )
    code, rows = _cron_json(capsys, "--file", "-", "--count", "1")
    assert code == 1
    assert [r["expr"] for r in rows] == ["0 0 2 ? * *", "0 12 * * *"]


def test_file_from_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "crons.txt"
    source.write_text("0 0 2 ? * *\r\n0 30 8 L-5W * ?\n", encoding="utf-8")
    code, rows = _cron_json(capsys, "--file", str(source), "--count", "1")
    assert code == 0
    assert [r["next"] for r in rows] == [
        ["2026-11-23T02:00:00+00:00"],
        ["2026-11-25T08:30:00+00:00"],
    ]


def test_fire_times_follow_the_timezone_and_a_naive_after_is_read_in_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "cron",
            "0 30 2 * * ?",
            "--timezone",
            "America/Los_Angeles",
            "--after",
            "2026-03-07T12:00:00",
            "--count",
            "2",
            "--json",
        ]
    )
    (row,) = _json_lines(capsys.readouterr().out)
    assert code == 0
    assert row["next"] == ["2026-03-09T02:30:00-07:00", "2026-03-10T02:30:00-07:00"]


def test_human_output_has_verdict_description_and_times(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["cron", "0 0 2 ? * *", "nope", "--after", AFTER, "--count", "2", "--no-color"])
    out = capsys.readouterr().out
    assert code == 1
    assert "0 0 2 ? * *" in out and "At 02:00" in out
    assert "Mon 2026-11-23 02:00:00 +00:00 UTC" in out
    assert "Tue 2026-11-24 02:00:00 +00:00 UTC" in out
    assert "invalid  Illegal characters for this position: 'NOP'" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cron", "0 0 2 ? * *", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["cron", "0 0 2 ? * *", "--after", "yesterday"], "invalid --after 'yesterday'"),
        (["cron", "0 0 2 ? * *", "--count", "-1"], "--count must be 0 or more"),
        (["cron"], "no expression given"),
        (["cron", "--file", "/nonexistent/crons.txt"], "cannot read --file /nonexistent/crons.txt"),
    ],
)
def test_bad_arguments_are_one_clean_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.startswith("Error: ") and message in captured.err
    assert "Traceback" not in captured.err


def test_count_zero_lists_no_times_but_still_judges(capsys: pytest.CaptureFixture[str]) -> None:
    code, (row,) = _cron_json(capsys, "0 0 2 ? * *", "--count", "0")
    assert code == 0
    assert row["valid"] is True and row["error"] is None and row["next"] == []
