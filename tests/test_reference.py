"""The README's configuration reference is generated from the schema and kept current."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from azstate import reference
from azstate.config import json_schema
from azstate.load import load_config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_readme_reference_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert reference.update(text) == text, (
        "README.md's configuration reference is out of date: "
        "run python -m azstate.reference README.md"
    )


def every_key(schema: dict[str, Any]) -> set[str]:
    return {key for definition in schema["$defs"].values() for key in definition["properties"]}


def test_every_key_of_every_table_is_documented() -> None:
    schema = json_schema()
    text = reference.render(schema)
    headers = re.findall(r"^#### `([^`]+)`$", text, re.M)
    assert headers == [
        "variables.NAME",
        "defaults.schedule",
        "defaults.sla",
        "server",
        "azstate",
        "projects.NAME",
        "projects.NAME.permissions",
        "projects.NAME.schedules.FLOW",
        "projects.NAME.schedules.FLOW.sla",
        "projects.NAME.schedules.FLOW.sla.rules[]",
    ]
    assert "#### Top level" in text
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    tables = {part.removesuffix("[]") for h in headers for part in h.split(".")}
    assert every_key(schema) <= documented | tables


def test_defaults_required_keys_and_choices_come_from_the_schema() -> None:
    text = reference.render()
    assert "| `description` | string | required |" in text
    assert "| `cron` | string | required |" in text
    assert '| `timezone` | string | `"America/Los_Angeles"` |' in text
    concurrent = '`"skip"` \\| `"ignore"` \\| `"pipeline"` \\| `"queue"`'
    assert f"| `concurrent` | {concurrent} | `\"skip\"` |" in text
    assert "| `parallelism` | integer | `8` |" in text
    assert "Required. `rules = [{ ... }, ...]`" in text


def test_tables_render_with_four_cells_per_row() -> None:
    """An unescaped pipe in a type or a description would split a cell in two."""
    html = MarkdownIt("commonmark").enable("table").render(reference.render())
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert len(rows) > 30
    for row in rows:
        assert len(re.findall(r"<t[hd][ >]", row)) == 4, row


def test_a_changed_schema_changes_the_reference() -> None:
    schema = json_schema()
    schema["$defs"]["ServerConfig"]["properties"]["timeout"]["description"] = "Wait patiently"
    assert "Wait patiently" in reference.render(schema)
    assert "Wait patiently" not in reference.render()


def test_check_fails_on_a_stale_copy_and_rewriting_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(f"# x\n\n{reference.BEGIN}\nold table\n{reference.END}\n\nafter\n")
    assert reference.main([str(doc), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert reference.main([str(doc)]) == 0
    text = doc.read_text()
    assert "old table" not in text and text.endswith(f"{reference.END}\n\nafter\n")
    assert reference.render() in text
    assert reference.main([str(doc), "--check"]) == 0


def test_a_file_without_markers_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text("# no reference here\n")
    assert reference.main([str(doc)]) == 1
    assert "markers are missing" in capsys.readouterr().err
    assert doc.read_text() == "# no reference here\n"


def test_without_a_file_it_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert reference.main([]) == 0
    assert capsys.readouterr().out == reference.render()


def test_every_table_has_an_example_that_loads(tmp_path: Path) -> None:
    """One complete example per table, each a file the loader accepts as it is written (a
    [server] table is added where the example has none; extends finds its base)."""
    headers = re.findall(r"^#### `?([^`\n]+)`?$", reference.render(), re.M)
    assert sorted(headers) == sorted(reference.EXAMPLES)
    server = '[server]\nurl = "https://azkaban.example.com"\n'
    for n, example in enumerate(reference.EXAMPLES.values()):
        env = tmp_path / str(n) / "env"
        (env / "flows" / "etl").mkdir(parents=True)
        (env / "flows" / "etl" / "etl.project").write_text("azkaban-flow-version: 2.0\n")
        (env.parent / "base.toml").write_text(server)
        # a checkout: ../base.toml is inside its repository, and the flows are tracked
        subprocess.run(["git", "init", "-q"], cwd=env.parent, check=True, capture_output=True)
        subprocess.run(["git", "add", "-A"], cwd=env.parent, check=True, capture_output=True)
        needs_server = "extends" not in example and "[server]" not in example
        (env / "azstate.toml").write_text((server if needs_server else "") + example)
        loaded = load_config(env / "azstate.toml")
        assert loaded.config.server.url, example
