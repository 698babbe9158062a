"""The command line as a newcomer meets it: help texts, typos, flags that cannot go together.

Help texts are snapshots (tests/snapshots/help-*.txt, 100 columns): update them with
AZSTATE_UPDATE_SNAPSHOTS=1 after a deliberate change and read the diff.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from azstate.cli import COMMANDS, build_parser, main
from tests.e2e.workspace import flow20

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("AZSTATE_UPDATE_SNAPSHOTS") == "1"
CALLING = {"plan", "apply", "import"}


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser(only=command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[command]
    return found


@pytest.fixture(autouse=True)
def _columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


@pytest.mark.parametrize("argv", [(), *((c.name,) for c in COMMANDS), ("sandbox", "serve")])
def test_help_text_snapshot(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    text = _help(capsys, *argv)
    path = SNAPSHOTS / f"help-{'-'.join(argv) or 'azstate'}.txt"
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing snapshot {path}: run with AZSTATE_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text()


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_flag_has_help_and_every_command_an_example(command: str) -> None:
    parser = _subparser(command)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help and action.help != argparse.SUPPRESS, (command, action.dest)
    assert parser.epilog and f"azstate {command}" in parser.epilog.split("examples:")[1]


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_verbose_only_where_calls_are_made(command: str) -> None:
    flags = {s for a in _subparser(command)._actions for s in a.option_strings}
    assert ("-v" in flags) == (command in CALLING)
    epilog = _subparser(command).epilog or ""
    for name in ("AZKABAN_URL", "AZKABAN_USERNAME", "AZKABAN_PASSWORD"):
        assert (name in epilog) == (command in CALLING)


def test_top_level_help_names_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys)
    for name in ("AZKABAN_URL", "AZKABAN_USERNAME", "AZKABAN_PASSWORD"):
        assert name in text


def test_apply_help_says_what_happens_without_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = " ".join(_help(capsys, "apply").split())
    assert "without a terminal (CI), apply does not ask: it needs --auto-approve" in text
    assert "one line on stderr per finished change" in text


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_target_help_documents_the_address_grammar(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    text = _help(capsys, command)
    for form in (
        "project.NAME ",
        "project.NAME.files",
        "project.NAME.schedule.FLOW",
        "project.NAME.sla.FLOW",
        "project.NAME.permission.user.USER",
        "project.NAME.permission.group.GROUP",
        'project.etl.permission.group["ops.team"]',
    ):
        assert form in text, form


def test_format_has_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("plan", "apply", "show"):
        fmt = next(a for a in _subparser(command)._actions if a.dest == "format")
        assert fmt.help and "json" in fmt.help


# -- typos ---------------------------------------------------------------------------------------


def test_unknown_flag_names_the_command_usage_and_the_nearest_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["apply", "--auto-aprove"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("usage: azstate apply ")
    assert err.rstrip().endswith(
        "Error: unrecognized arguments: --auto-aprove; did you mean --auto-approve?"
    )


def test_unknown_flag_with_nothing_near_gets_no_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["plan", "--zzzzzz"])
    err = capsys.readouterr().err
    assert err.startswith("usage: azstate plan ") and "did you mean" not in err


def test_a_value_after_an_unknown_flag_is_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["plan", "--password", "hunter2"])
    err = capsys.readouterr().err
    assert "hunter2" not in err and "AZKABAN_PASSWORD" in err


def test_unknown_command_suggests_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["aply"])
    assert exit_.value.code == 1
    assert "Error: unknown command 'aply'; did you mean apply?" in capsys.readouterr().err


def test_misspelt_required_key_reports_the_suggestion_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow20(tmp_path / "src", {"daily": ["a"]})
    config = tmp_path / "azstate.toml"
    config.write_text(
        '[projects.etl]\ndescription = "d"\nsource = "src"\n\n'
        '[projects.etl.schedules.daily]\ncrons = "0 0 2 ? * *"\n'
    )
    assert main(["validate", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f'Error: {config}:6: projects.etl.schedules.daily.crons: unknown key; did you mean "cron"?'
    ]


# -- a saved plan is applied whole ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["-c", "other.toml"], "-c/--config"),
        (["--config", "other.toml"], "-c/--config"),
        (["--target", "project.etl"], "--target"),
        (["--var", "env=prod"], "--var"),
    ],
)
def test_plan_shaping_flags_beside_a_planfile_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text("{}")
    assert main(["apply", str(saved), *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {named} cannot be used with a PLANFILE")
    assert "applied whole" in err and "Traceback" not in err


# -- the sandbox says how to log in ----------------------------------------------------------------


def test_sandbox_serve_help_names_its_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "sandbox", "serve")
    assert "user azkaban, password azkaban" in " ".join(text.split())
    assert "AZKABAN_USERNAME=azkaban AZKABAN_PASSWORD=azkaban" in text
