"""The generated JSON Schemas are committed, current, and accept what azstate accepts."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from azstate.cli import main
from azstate.commands.schema import render

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = (
    "out of date; regenerate with: azstate schema config > schema/azstate.schema.json && "
    "azstate schema plan > schema/plan.schema.json"
)


@pytest.mark.parametrize(
    ("kind", "file"), [("config", "azstate.schema.json"), ("plan", "plan.schema.json")]
)
def test_committed_schema_is_current(kind: str, file: str) -> None:
    committed = (ROOT / "schema" / file).read_text()
    assert committed == render(kind), f"schema/{file} is {REGENERATE}"


def test_schema_command_prints_config_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "azstate configuration"
    assert set(schema["properties"]) == {
        "extends", "variables", "defaults", "server", "azstate", "projects"
    }


def test_schema_command_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "plan"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "azstate plan"


def test_schema_has_descriptions_for_editors() -> None:
    schema = json.loads(render("config"))
    schedule = schema["$defs"]["ScheduleConfig"]["properties"]
    assert "Quartz" in schedule["cron"]["description"]
    assert schedule["concurrent"]["enum"] == ["skip", "ignore", "pipeline", "queue"]
    rule = schema["$defs"]["SlaRuleConfig"]["properties"]
    assert "anyOf" in rule["duration"]
    assert "null" not in json.dumps(schema)


@pytest.mark.parametrize("example", ["quickstart", "flow1"])
def test_examples_point_editors_at_the_schema(example: str) -> None:
    path = ROOT / "examples" / example / "azstate.toml"
    first = path.read_text().splitlines()[0]
    match = re.fullmatch(r"#:schema (\S+)", first)
    assert match, "the first line should be a taplo/tombi #:schema directive"
    assert (path.parent / match.group(1)).resolve() == ROOT / "schema" / "azstate.schema.json"


@pytest.mark.parametrize(
    "toml",
    [
        ROOT / "examples/quickstart/azstate.toml",
        ROOT / "examples/flow1/azstate.toml",
        *sorted((ROOT / "examples/gitops").glob("*/azstate.toml")),
    ],
)
def test_examples_are_valid_against_the_schema(toml: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "schema/azstate.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(tomllib.loads(toml.read_text()))


@pytest.mark.parametrize(
    "case",
    [
        "server_key_typo",
        "project_key_typo",
        "concurrent_typo",
        "failure_emails_string",
        "sla_rule_key_typo",
        "permissions_value_typo",
        "sla_duration_words",
        "project_missing_description",
    ],
)
def test_schema_rejects_what_editors_should_flag(case: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "schema/azstate.schema.json").read_text())
    doc = tomllib.loads((ROOT / "tests/scenarios/bad_config" / f"{case}.toml").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(doc))


def test_plan_schema_accepts_a_plan_with_an_upload() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from azstate.plan import Action, Call, Change, Plan, UploadFile

    plan = Plan(
        server="http://127.0.0.1:8081",
        changes=(
            Change(
                address="project.etl.files",
                action=Action.UPDATE,
                before={"digest": "a"},
                after={"digest": "b"},
                calls=(
                    Call(
                        method="POST",
                        path="/manager",
                        params=(("ajax", "upload"), ("project", "etl")),
                        multipart=True,
                        upload=UploadFile(name="etl.zip", size=3, sha256="0" * 64),
                    ),
                    Call(method="GET", path="/x", params=(("a", "1"), ("a", "2"))),
                ),
            ),
        ),
    )
    schema = json.loads((ROOT / "schema/plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(plan.to_json())


def test_plan_schema_is_the_models_own_and_accepts_every_scenario_plan() -> None:
    import jsonschema

    from azstate.plan import Origin, Plan
    from tests.test_diff import CASES, run_case

    schema = json.loads(render("plan"))
    assert schema == Plan.model_json_schema(mode="serialization")
    validator = jsonschema.Draft202012Validator(schema)
    checked: list[Plan] = []
    for path in CASES:
        _, plan = run_case(path)
        if isinstance(plan, Plan):
            validator.validate(plan.to_json())
            checked.append(plan)
            for change in plan.changes:  # origins, when a later format writes them
                known = change.model_copy(update={"origin": Origin.EDIT})
                validator.validate(plan.model_copy(update={"changes": (known,)}).to_json())
    assert len(checked) > 40
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**checked[0].to_json(), "format_version": "2"})
