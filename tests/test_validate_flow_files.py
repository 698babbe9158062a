"""`validate` refuses what the uploaded zip would not hold (issue 13 item 4): a schedule of a
flow, an SLA job or a disabled job that only a hidden file, a directory azstate leaves out of the
zip, or nothing at all defines. Before, a schedule of flow `.hidden` validated and apply failed
with "Flow .hidden cannot be found"."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from azstate.cli import main

NESTED = """\
nodes:
  - name: start
    type: command
    config:
      command: echo 1
  - name: sub
    type: flow
    dependsOn: [start]
    nodes:
      - name: inner
        type: command
        config:
          command: echo 2
"""
ONE_NODE = "nodes:\n  - name: only\n    type: command\n    config:\n      command: echo\n"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / ".git").mkdir(parents=True)
    (src / ".h").mkdir()
    (src / "p.project").write_text("azkaban-flow-version: 2.0\n")
    (src / "main.flow").write_text(NESTED)
    (src / ".hidden.flow").write_text(ONE_NODE)
    (src / ".git" / "vcs.flow").write_text(ONE_NODE)  # .git is not zipped
    (src / ".h" / "shown.flow").write_text(ONE_NODE)  # a hidden directory is walked
    return src


def validate(tmp_path: Path, schedules: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    config = tmp_path / "azstate.toml"
    body = '[projects.etl]\ndescription = "E"\nsource = "src"\n' + textwrap.dedent(schedules)
    config.write_text(body)
    code = main(["--no-color", "validate", "-c", str(config)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out + err


@pytest.mark.parametrize("flow", [".hidden", "vcs"])
def test_a_schedule_of_a_flow_the_zip_lacks_is_refused(
    flow: str, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = validate(
        tmp_path, f'[projects.etl.schedules."{flow}"]\ncron = "0 0 2 ? * *"\n', capsys
    )
    assert code == 1
    assert f'no flow "{flow}" in {tmp_path / "src"}; its flows: main, shown' in text, text
    hidden = flow.startswith(".")
    assert ("Azkaban ignores files whose names start with a dot" in text) is hidden, text


def test_flows_in_hidden_directories_and_embedded_sla_jobs_are_accepted(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = validate(
        tmp_path,
        """
        [projects.etl.schedules.shown]
        cron = "0 0 2 ? * *"

        [projects.etl.schedules.main]
        cron = "0 0 3 ? * *"
        disabled_jobs = ["start"]
        sla.emails = ["ops@example.com"]
        sla.rules = [{ job = "sub:inner", rule = "SUCCESS", duration = "1h", email = true }]
        """,
        capsys,
    )
    assert code == 0, text
    assert "Azkaban ignores files whose names start with a dot" in text
    assert ".hidden.flow" in text and "vcs.flow" not in text


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('disabled_jobs = ["only"]', "disabled_jobs"),
        ('disabled_jobs = ["sub:missing"]', "disabled_jobs"),
    ],
)
def test_a_disabled_job_the_flow_lacks_is_refused(
    setting: str, key: str, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = validate(
        tmp_path, f'[projects.etl.schedules.main]\ncron = "0 0 3 ? * *"\n{setting}\n', capsys
    )
    assert code == 1
    assert f"projects.etl.schedules.main.{key}" in text, text


@pytest.mark.parametrize("job", ["only", "sub:missing", "inner"])
def test_an_sla_job_the_flow_lacks_is_refused(
    job: str, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = validate(
        tmp_path,
        f"""
        [projects.etl.schedules.main]
        cron = "0 0 3 ? * *"

        [projects.etl.schedules.main.sla]
        emails = ["ops@example.com"]
        rules = [{{ job = "{job}", rule = "SUCCESS", duration = "1h", email = true }}]
        """,
        capsys,
    )
    assert code == 1
    assert f'no job "{job}" in flow "main"' in text, text


def test_a_flow10_job_only_a_hidden_file_defines_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "end.job").write_text("type=command\ncommand=echo\n")
    (src / ".start.job").write_text("type=command\ncommand=echo\n")
    code, text = validate(
        tmp_path,
        '[projects.etl.schedules.end]\ncron = "0 0 3 ? * *"\ndisabled_jobs = ["start"]\n',
        capsys,
    )
    assert code == 1
    assert "projects.etl.schedules.end.disabled_jobs" in text and '"start"' in text, text
