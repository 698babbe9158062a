"""Every example applies to the sandbox and converges, run as a user runs it: through the CLI,
with `--sandbox`, in a scratch copy (so no `.azstate/` lands in the repository).

The examples are what a newcomer copies first, so they must also apply to a stock Azkaban solo
server: its users file has only `azkaban` and `metrics`, and a permission entry for a user the
server lacks fails with "User is invalid." (the sandbox also knows `reader`, which would hide
that mistake, so the user names are checked here against the stock list).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from azstate.cli import main
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
# examples/gitops is a repository to copy, planned against a real server in its own CI; its
# environments are checked by tests/test_gitops.py.
NOT_HERE = {"gitops"}
ALL = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and p.name not in NOT_HERE)
STOCK_SOLO_USERS = {"azkaban", "metrics"}


def azstate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One CLI run in-process (the same argument parsing, output and exit code as the command
    line, without an interpreter start), from cwd, with no AZKABAN_* leaking in."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AZKABAN_"):
                mp.delenv(name)
        mp.setenv("NO_COLOR", "1")
        mp.chdir(cwd)
        out, err = io.StringIO(), io.StringIO()
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        code = main(list(args))
    return subprocess.CompletedProcess(["azstate", *args], code, out.getvalue(), err.getvalue())


def copy(example: str, tmp_path: Path) -> Path:
    work = tmp_path / example
    shutil.copytree(EXAMPLES / example, work, ignore=shutil.ignore_patterns(".azstate"))
    return work


def apply(work: Path) -> None:
    done = azstate(work, "apply", "--sandbox", "--auto-approve", "-c", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the server matches the configuration" in done.stdout


def test_every_example_directory_is_covered() -> None:
    assert {"quickstart", "flow1", "prune-protect", "zip-source", "multi-file",
            "embedded-sla"} <= set(ALL)
    for example in ALL:
        assert list((EXAMPLES / example).glob("*.toml")), f"examples/{example} has no *.toml"


@pytest.mark.parametrize("example", ALL)
def test_example_applies_then_plans_empty(example: str, tmp_path: Path) -> None:
    work = copy(example, tmp_path)
    apply(work)
    again = azstate(work, "plan", "--sandbox", "--detailed-exitcode", "-c", ".")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout


@pytest.mark.parametrize("example", ALL)
def test_example_names_only_users_a_stock_solo_server_has(example: str) -> None:
    for toml in sorted((EXAMPLES / example).glob("*.toml")):
        for name, project in tomllib.loads(toml.read_text()).get("projects", {}).items():
            users = set(project.get("permissions", {}).get("users", {}))
            assert users <= STOCK_SOLO_USERS, (
                f"{toml.relative_to(ROOT)}: project {name} names {sorted(users - STOCK_SOLO_USERS)}"
                ", which a stock solo server lacks (apply fails: User is invalid.)"
            )


def without_table(text: str, header: str, until: str | None) -> str:
    start = text.index(f"\n{header}\n")
    end = text.index(f"\n{until}\n") if until else len(text)
    return text[:start] + text[end:]


def test_prune_deletes_a_project_whose_table_is_gone(tmp_path: Path) -> None:
    work = copy("prune-protect", tmp_path)
    apply(work)
    toml = work / "azstate.toml"
    toml.write_text(without_table(toml.read_text(), "[projects.demo-dev]", "[projects.demo-prod]"))
    plan = azstate(work, "plan", "--sandbox", "--detailed-exitcode", "-c", ".")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "- project.demo-dev will be deleted" in plan.stdout
    # the creator's ADMIN entry is shown going with the project
    assert "- project.demo-dev.permission.user.azkaban will be deleted" in plan.stdout
    assert "Plan: 0 to create, 0 to update, 2 to delete." in plan.stdout
    apply(work)
    listed = azstate(work, "import", "--sandbox", "--all", "--out", "imported")
    assert listed.returncode == 0, listed.stderr
    imported = tomllib.loads((work / "imported" / "azstate.toml").read_text())
    assert set(imported["projects"]) == {"demo-prod"}


def test_protect_refuses_a_plan_that_deletes_a_protected_project(tmp_path: Path) -> None:
    work = copy("prune-protect", tmp_path)
    apply(work)
    toml = work / "azstate.toml"
    toml.write_text(without_table(toml.read_text(), "[projects.demo-prod]", None))
    plan = azstate(work, "plan", "--sandbox", "-c", ".")
    assert plan.returncode == 1
    assert "protected project(s): demo-prod" in plan.stderr
    assert "Traceback" not in plan.stderr


def test_the_embedded_flow_sla_is_on_the_inner_job(tmp_path: Path) -> None:
    work = copy("embedded-sla", tmp_path)
    apply(work)
    done = azstate(work, "import", "--sandbox", "--project", "embedded", "--out", "imported")
    assert done.returncode == 0, done.stderr
    imported = tomllib.loads((work / "imported" / "azstate.toml").read_text())
    rules = imported["projects"]["embedded"]["schedules"]["pipeline"]["sla"]["rules"]
    assert {"job": "sub:inner", "rule": "FINISH", "duration": "30m", "email": True} in rules


def test_the_zip_source_is_uploaded_as_it_is(tmp_path: Path) -> None:
    work = copy("zip-source", tmp_path)
    dry = azstate(work, "apply", "--sandbox", "--dry-run", "-c", ".")
    assert dry.returncode == 0, dry.stderr
    size = (work / "reports.zip").stat().st_size
    assert "reports.zip" in dry.stdout and str(size) in dry.stdout, dry.stdout
    apply(work)
    done = azstate(work, "import", "--sandbox", "--project", "zipped-reports", "--out", "imported")
    assert done.returncode == 0, done.stderr
    unpacked = work / "imported" / "projects" / "zipped-reports"
    assert sorted(p.name for p in unpacked.iterdir()) == ["fetch.job", "report.job"]


def test_the_multi_file_directory_is_one_configuration(tmp_path: Path) -> None:
    work = copy("multi-file", tmp_path)
    done = azstate(work, "validate", "-c", ".")
    assert done.returncode == 0, done.stderr
    assert "2 projects, 2 flows found, 2 schedules" in done.stdout
    (work / "extra.toml").write_text('[server]\nurl = "http://127.0.0.1:1"\n')
    twice = azstate(work, "validate", "-c", ".")
    assert twice.returncode == 1
    assert "[server] is already set in" in twice.stderr


@pytest.mark.parametrize("example", ALL)
def test_example_files_are_valid_against_the_schema(example: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "schema" / "azstate.schema.json").read_text())
    for toml in sorted((EXAMPLES / example).glob("*.toml")):
        first = toml.read_text().splitlines()[0]
        assert first == "#:schema ../../schema/azstate.schema.json", toml
        jsonschema.Draft202012Validator(schema).validate(tomllib.loads(toml.read_text()))


def test_the_readme_shows_the_multi_file_layout_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- readme-test: not run (multi-file layout) -->\n```text\n", 1)[1]
    paths = [line.split()[0] for line in block.split("```", 1)[0].splitlines()]
    on_disk = {p.name for p in (EXAMPLES / "multi-file").glob("*.toml")}
    assert {p for p in paths if p.endswith(".toml")} == on_disk
    for path in paths:
        assert (EXAMPLES / "multi-file" / path).exists(), path
