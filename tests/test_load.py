"""Loading: the corpus of bad configurations, line numbers of keys, directories, sources, fuzz."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azstate.archive import content_digest_from_dir, zip_files
from azstate.errors import ConfigError, SourceError
from azstate.load import KeyLocator, load_config, parse_key_path, render_key_path

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "scenarios" / "bad_config"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def bad_cases() -> list[str]:
    return sorted(p.stem for p in BAD.glob("*.expected"))


def test_the_corpus_is_big_enough() -> None:
    assert len(bad_cases()) >= 40
    for name in bad_cases():
        assert (BAD / f"{name}.toml").is_file() or (BAD / name).is_dir(), name


@pytest.mark.parametrize("name", bad_cases())
def test_bad_config_gives_its_exact_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    target = name if (BAD / name).is_dir() else f"{name}.toml"
    with pytest.raises((ConfigError, SourceError)) as info:
        load_config(target, now=NOW)
    assert str(info.value) + "\n" == (BAD / f"{name}.expected").read_text()


# Key paths and the locator --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("projects", "etl", "schedules", "daily", "cron"), "projects.etl.schedules.daily.cron"),
        (("projects", "etl", "sla", "rules", 1, "duration"), "projects.etl.sla.rules[1].duration"),
        (("projects", "a.b", "x y", 'q"'), 'projects."a.b"."x y"."q\\""'),
        (("users", "john.doe"), 'users."john.doe"'),
    ],
)
def test_key_path_rendering_round_trips(path: tuple[str | int, ...], text: str) -> None:
    assert render_key_path(path) == text
    assert parse_key_path(text) == path


DOCUMENT = """\
# comment with [brackets] and = signs
[server]
url = "http://x"  # trailing comment
timezone = 'UTC'

[projects.etl]
description = \"\"\"
multi-line [not.a.table]
key = "not a key"
\"\"\"
schedules.nightly.cron = "0 0 2 ? * *"

[projects.etl.schedules.daily]
cron = "0 0 1 ? * *"
parameters = { env = "prod", "odd key" = 'x', nested = { deep = 1 } }
sla.rules = [
  { rule = "SUCCESS", duration = "2h" },   # first
  { job = "load", rule = "FINISH" },
]

[[projects.etl.schedules.weekly.sla.rules]]
rule = "SUCCESS"

[[projects.etl.schedules.weekly.sla.rules]]
rule = "FINISH"
duration = '''1h'''
"projects"."quoted".description = "q"
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("server",), 2),
        (("server", "url"), 3),
        (("server", "timezone"), 4),
        (("projects", "etl"), 6),
        (("projects", "etl", "description"), 7),
        (("projects", "etl", "schedules", "nightly", "cron"), 11),
        (("projects", "etl", "schedules", "daily"), 13),
        (("projects", "etl", "schedules", "daily", "parameters", "odd key"), 15),
        (("projects", "etl", "schedules", "daily", "parameters", "nested", "deep"), 15),
        (("projects", "etl", "schedules", "daily", "sla", "rules", 0, "duration"), 17),
        (("projects", "etl", "schedules", "daily", "sla", "rules", 1), 18),
        (("projects", "etl", "schedules", "daily", "sla", "rules", 1, "rule"), 18),
        (("projects", "etl", "schedules", "weekly", "sla", "rules", 0), 21),
        (("projects", "etl", "schedules", "weekly", "sla", "rules", 1, "duration"), 26),
        (("projects", "etl", "schedules", "weekly", "sla", "rules", 1, "projects", "quoted"), 27),
        (("projects", "etl", "schedules", "daily", "missing"), 13),
        (("projects", "etl", "absent", "deeper"), 6),
        (("nowhere",), None),
    ],
)
def test_locator_finds_lines(path: tuple[str | int, ...], line: int | None) -> None:
    tomllib.loads(DOCUMENT)
    assert KeyLocator(DOCUMENT).find(path) == line


def test_locator_does_not_see_keys_inside_strings() -> None:
    locator = KeyLocator(DOCUMENT)
    assert ("key",) not in locator.lines
    assert ("not", "a", "table") not in locator.lines
    assert ("projects", "etl", "key") not in locator.lines


def test_locator_counts_crlf_lines() -> None:
    text = '[server]\r\nurl = "x"\r\n\r\n[azstate]\r\nprune = []\r\n'
    assert KeyLocator(text).find(("azstate", "prune")) == 5


# A TOML writer for property tests: every key path of the written document has its line.

bare_keys = st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True)
odd_keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=6)
keys = st.one_of(bare_keys, bare_keys, odd_keys)
scalars = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.dates(),
)


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    match value:
        case bool():
            return "true" if value else "false"
        case str():
            return toml_string(value)
        case int():
            return str(value)
        case float():
            return "inf" if value == math.inf else "-inf" if value == -math.inf else repr(value)
        case date():
            return value.isoformat()
        case dict():
            return (
                "{ "
                + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
                + " }"
            )
        case list():
            return "[\n  " + ",\n  ".join(toml_value(v) for v in value) + ",\n]" if value else "[]"
    raise TypeError(value)


def write_toml(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """Scalars and arrays first, then sub-tables as [headers] (inline when empty)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            tables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    out = "\n".join(lines) + "\n"
    for key, value in tables:
        path = (*prefix, key)
        out += "\n[" + ".".join(toml_key(k) for k in path) + "]\n" + write_toml(value, path)
    return out


documents = st.recursive(
    st.dictionaries(keys, scalars, max_size=4),
    lambda children: st.dictionaries(
        keys,
        st.one_of(scalars, children, st.lists(st.one_of(scalars, children), max_size=3)),
        max_size=4,
    ),
    max_leaves=20,
)


def leaf_paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict):
        out = [prefix] if prefix else []
        for key, value in node.items():
            out += leaf_paths(value, (*prefix, key))
        return out
    if isinstance(node, list):
        out = [prefix]
        for index, value in enumerate(node):
            out += leaf_paths(value, (*prefix, index))
        return out
    return [prefix]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_locator_knows_every_key_of_any_document(doc: dict[str, Any]) -> None:
    text = write_toml(doc)
    assert tomllib.loads(text) == doc
    locator = KeyLocator(text)
    for path in leaf_paths(doc):
        assert path in locator.lines, (path, text)


# Loading good configurations --------------------------------------------------------------------


def test_the_examples_load() -> None:
    for example in ("quickstart", "flow1"):
        loaded = load_config(ROOT / "examples" / example / "azstate.toml")
        assert loaded.warnings == ()
        assert len(loaded.sources) == 1


def test_quickstart_details() -> None:
    loaded = load_config(ROOT / "examples/quickstart")
    source = loaded.sources["quickstart"]
    assert source.flows == {"daily_load", "hourly_check"}
    assert source.zip_name == "quickstart.zip"
    assert source.content_digest == content_digest_from_dir(ROOT / "examples/quickstart/flows")
    assert loaded.artifacts[source.zip_sha256].path.read_bytes()[:2] == b"PK"
    schedule = loaded.config.projects["quickstart"].schedules["daily_load"]
    assert schedule.parameters == {"env": "prod", "batch_size": "500"}
    assert schedule.sla is not None and [r.duration for r in schedule.sla.rules] == [180, 90]
    assert loaded.locate("projects.quickstart.schedules.daily_load.sla.rules[1].duration") == (
        str(ROOT / "examples/quickstart/azstate.toml"),
        28,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


FLOWS = {
    "p.project": "azkaban-flow-version: 2.0\n",
    "nightly.flow": (
        "nodes:\n  - name: extract\n    type: command\n  - name: load\n    type: command\n"
    ),
}


def test_directory_merges_files_and_resolves_sources_per_file(tmp_path: Path) -> None:
    for name, text in FLOWS.items():
        write(tmp_path / "conf/team-a/flows" / name, text)
    write(
        tmp_path / "conf/00-server.toml",
        '[server]\ntimezone = "UTC"\n\n[azstate]\nprune = ["x-*"]\n',
    )
    write(
        tmp_path / "conf/a.toml",
        '[projects.a]\ndescription = "A"\nsource = "team-a/flows"\n\n'
        '[projects.a.schedules.nightly]\ncron = "0 0 2 ? * *"\n',
    )
    write(tmp_path / "conf/b.toml", '[projects.b]\ndescription = "B"\n')
    write(tmp_path / "conf/notes.txt", "ignored")
    loaded = load_config(tmp_path / "conf")
    assert [p.name for p in loaded.files] == ["00-server.toml", "a.toml", "b.toml"]
    assert loaded.config.server.timezone == "UTC"
    assert loaded.config.azstate.prune == ("x-*",)
    assert set(loaded.config.projects) == {"a", "b"}
    assert loaded.config.projects["a"].source == tmp_path / "conf/team-a/flows"
    assert set(loaded.sources) == {"a"}
    assert loaded.locate("projects.b.description") == (str(tmp_path / "conf/b.toml"), 2)
    assert loaded.locate("projects.A.schedules.nightly.cron") == (str(tmp_path / "conf/a.toml"), 6)


def test_empty_directory_and_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"no \*\.toml files in this directory"):
        load_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == (
        "azstate.toml: no such file or directory (run azstate where it is, or pass -c PATH)"
    )


def test_zip_source_is_uploaded_as_is(tmp_path: Path) -> None:
    data = zip_files({k: v.encode() for k, v in FLOWS.items()})
    (tmp_path / "etl.zip").write_bytes(data)
    write(tmp_path / "azstate.toml", '[projects.etl]\ndescription = "E"\nsource = "etl.zip"\n')
    loaded = load_config(tmp_path / "azstate.toml")
    source = loaded.sources["etl"]
    assert source.zip_name == "etl.zip" and source.flows == {"nightly"}
    assert {k: v.path.read_bytes() for k, v in loaded.artifacts.items()} == {
        source.zip_sha256: data
    }


def test_digest_follows_config_and_sources(tmp_path: Path) -> None:
    for name, text in FLOWS.items():
        write(tmp_path / "flows" / name, text)
    config = write(
        tmp_path / "azstate.toml", '[projects.etl]\ndescription = "E"\nsource = "flows"\n'
    )
    first = load_config(config).digest
    assert load_config(config).digest == first
    os.utime(tmp_path / "flows/nightly.flow", (1, 1))
    assert load_config(config).digest == first
    write(tmp_path / "flows/extra.txt", "x")
    second = load_config(config).digest
    assert second != first
    config.write_text(config.read_text() + "protect = true\n")
    assert load_config(config).digest not in (first, second)


def test_ca_bundle_is_resolved_next_to_the_file(tmp_path: Path) -> None:
    write(tmp_path / "certs/ca.pem", "-----BEGIN CERTIFICATE-----\n")
    config = write(tmp_path / "azstate.toml", '[server]\nca_bundle = "certs/ca.pem"\n')
    assert load_config(config).config.server.ca_bundle == str(tmp_path / "certs/ca.pem")


def test_warnings_for_zero_flows_and_sla_email_without_recipients(tmp_path: Path) -> None:
    write(tmp_path / "empty/README", "nothing here")
    write(tmp_path / "flows/p.project", FLOWS["p.project"])
    write(tmp_path / "flows/nightly.flow", FLOWS["nightly.flow"])
    config = write(
        tmp_path / "azstate.toml",
        '[projects.empty]\ndescription = "E"\nsource = "empty"\n\n'
        '[projects.etl]\ndescription = "E"\nsource = "flows"\n\n'
        '[projects.etl.schedules.nightly]\ncron = "0 0 2 ? * *"\n'
        'sla = { rules = [{ rule = "SUCCESS", duration = 60, email = true }] }\n',
    )
    warnings = load_config(config).warnings
    assert warnings == (
        f"project empty ({tmp_path}/empty): no .job files: Azkaban will find no flows, and "
        "uploading deletes every schedule of the project",
        f"{config}:11: projects.etl.schedules.nightly.sla: a rule has email = true but "
        "sla.emails is empty, so nobody is told",
    )


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    config = tmp_path / "azstate.toml"
    config.write_bytes(b'\xef\xbb\xbf[projects.etl]\r\ndescription = "E"\r\nprotect = 1\r\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value) == (
        f"{config}:3: projects.etl.protect: expected true or false, got an integer (1)"
    )


def test_several_problems_are_listed_in_line_order(tmp_path: Path) -> None:
    config = write(
        tmp_path / "c.toml",
        '[server]\ntimeout = -1\nparallelism = 0\n\n[projects.etl]\ndescription = ""\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value).splitlines() == [
        f"{config}:2: server.timeout: must be greater than 0, got -1",
        f"{config}:3: server.parallelism: must be at least 1, got 0",
        f"{config}:6: projects.etl.description: must not be empty or blank",
    ]
    assert info.value.line == 2 and info.value.key == "server.timeout"


# Fuzz: whatever the text, load_config answers with a config or with our own errors -----------

FIELD_VALUES = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=6,
)

BASE: dict[str, Any] = {
    "server": {"url": "http://127.0.0.1:8081", "timezone": "UTC", "timeout": 30, "parallelism": 4},
    "azstate": {"prune": ["etl-*"]},
    "projects": {
        "etl": {
            "description": "E",
            "protect": True,
            "permissions": {"users": {"alice": ["read"]}, "groups": {"g": ["admin"]}},
            "schedules": {
                "nightly": {
                    "cron": "0 0 2 ? * *",
                    "concurrent": "pipeline",
                    "pipeline_level": 1,
                    "failure_action": "cancel_all",
                    "failure_emails": ["a@example.com"],
                    "success_emails": [],
                    "notify_on_first_failure": True,
                    "notify_on_last_failure": False,
                    "disabled_jobs": ["x"],
                    "parameters": {"env": "prod"},
                    "sla": {
                        "emails": ["a@example.com"],
                        "rules": [
                            {"job": "load", "rule": "FINISH", "duration": "1h", "kill": True}
                        ],
                    },
                }
            },
        }
    },
}


def field_paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    return [p for p in leaf_paths(node, prefix) if p]


def replaced(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: replaced(doc[head], rest, value)}
    copy = list(doc)
    copy[head] = replaced(copy[head], rest, value)  # type: ignore[index]
    return copy


def assert_loads_or_our_error(path: Path) -> None:
    with contextlib.suppress(ConfigError, SourceError):
        load_config(path)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(field_paths(BASE)), FIELD_VALUES)
def test_fuzz_any_value_in_any_field(
    tmp_path: Path, path: tuple[str | int, ...], value: Any
) -> None:
    doc = replaced(BASE, path, value)
    config = tmp_path / "fuzz.toml"
    text = write_toml(doc)
    config.write_text(text)
    assert_loads_or_our_error(config)


toml_ish = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "[server]",
                "[projects.etl]",
                "[projects.etl.schedules.f]",
                "[[projects.etl.schedules.f.sla.rules]]",
                'description = "x"',
                'cron = "0 0 2 ? * *"',
                "url = ",
                'rules = [{ rule = "SUCCESS" }]',
                "x.y.z = 1",
                "= 3",
                '"""',
                "'''",
                "{",
                "}",
                "[",
                "]",
                "#",
                'timezone = "UTC"',
                "source = '.'",
                'duration = "2h"',
                "projects = 5",
                "azstate = []",
            ]
        ),
        st.text(max_size=20),
    ),
    max_size=12,
).map("\n".join)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        toml_ish, st.text(max_size=200), st.binary(max_size=100).map(lambda b: b.decode("latin-1"))
    )
)
def test_fuzz_any_text(tmp_path: Path, text: str) -> None:
    config = tmp_path / "fuzz.toml"
    config.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert_loads_or_our_error(config)
