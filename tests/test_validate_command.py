"""`azstate validate` as a user runs it: exit codes, stdout summary, one clean error on stderr."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from azstate.cli import main

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "scenarios" / "bad_config"
CASES = sorted(p.stem for p in BAD.glob("*.expected"))
_NOW = re.compile(r"after \d{4}-\d\d-\d\d \d\d:\d\d in")


@pytest.mark.parametrize("name", CASES)
def test_bad_config_exits_1_with_the_message_on_stderr(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(BAD)
    target = name if (BAD / name).is_dir() else f"{name}.toml"
    assert main(["validate", "-c", target]) == 1
    out, err = capsys.readouterr()
    expected = "Error: " + (BAD / f"{name}.expected").read_text()
    assert _NOW.sub("after NOW in", err) == _NOW.sub("after NOW in", expected)
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("example", ["quickstart", "flow1"])
def test_examples_validate_clean(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-color", "validate", "-c", str(ROOT / "examples" / example)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "The configuration is valid." in out
    assert "Warning" not in out


def test_summary_lists_projects_flows_and_schedules(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT / "examples" / "quickstart")
    assert main(["validate", "--no-color"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "azstate.toml: 1 project, 2 flows found, 1 schedule"
    assert lines[1] == "  quickstart: Flow 2.0, flows: daily_load, hourly_check"
    assert re.fullmatch(
        r"    schedule daily_load: 0 0 2 \? \* \*, next \d{4}-\d\d-\d\d 02:00 P[SD]T \+ SLA",
        lines[2],
    )
    assert lines[-1] == "The configuration is valid."


def test_warnings_are_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "azstate.toml").write_text('[projects.etl]\ndescription = "E"\nsource = "empty"\n')
    assert main(["validate", "-c", str(tmp_path / "azstate.toml"), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "Warning: project etl" in out
    assert "uploading deletes every schedule" in out


def test_validate_needs_no_credentials_or_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZKABAN_URL", "http://127.0.0.1:9")
    assert main(["validate", "-c", str(ROOT / "examples" / "flow1")]) == 0


def test_missing_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    assert capsys.readouterr().err == (
        "Error: azstate.toml: no such file or directory (run azstate where it is, or pass -c "
        "PATH)\n"
    )


def test_malicious_source_is_refused_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "secret").write_text("x")
    (tmp_path / "flows" / "a.job").symlink_to(tmp_path / "secret")
    (tmp_path / "azstate.toml").write_text('[projects.etl]\ndescription = "E"\nsource = "flows"\n')
    assert main(["validate", "-c", str(tmp_path / "azstate.toml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {tmp_path}/flows/a.job: symbolic link points outside")
    assert "Traceback" not in err


def test_summary_is_styled_by_the_theme_and_values_are_never_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "[red]x[bold]").mkdir()
    (tmp_path / "azstate.toml").write_text(
        '[projects.etl]\ndescription = "E"\nsource = "[red]x[bold]"\n'
    )
    assert main(["validate", "-c", str(tmp_path / "azstate.toml")]) == 0
    out = capsys.readouterr().out
    assert "[red]x[bold]" in out  # the warning names the directory as it is spelled
    assert "Warning: " in out and out.rstrip().endswith("The configuration is valid.")


def test_summary_view_counts_in_english_and_neutralises_values() -> None:
    from datetime import UTC, datetime

    from azstate.views.validate import ProjectLine, ScheduleLine, ValidateSummary, summary_lines

    summary = ValidateSummary(
        files=("a.toml",),
        timezone="UTC",
        projects=(
            ProjectLine(
                "etl", True, "2.0", ("daily",), (ScheduleLine("daily", "0 0 2 ? * *", True),)
            ),
        ),
        flows_found=1,
        warnings=("source \x1b[2Jx\nis empty",),
    )
    lines = [t.plain for t in summary_lines(summary, now=datetime(2024, 6, 1, tzinfo=UTC))]
    assert lines[0] == "a.toml: 1 project, 1 flow found, 1 schedule"
    assert lines[1] == "  etl (protected): Flow 2.0, flows: daily"
    assert lines[2] == "    schedule daily: 0 0 2 ? * *, next 2024-06-01 02:00 UTC + SLA"
    assert lines[3] == "Warning: source \\u001b[2Jx\\nis empty"
