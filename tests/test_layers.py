"""Layered configuration: extends, [defaults], [variables] and sensitive values (issue 16, item 1).

Each test writes a few small files and checks what load_config makes of them: the merged values,
the file and line every error names, and that a sensitive value never shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azstate.cli import main
from azstate.errors import ConfigError, SourceError
from azstate.load import LoadedConfig, load_config
from azstate.resolved import render_resolved

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "hunter2-Secret"
FLOW = {
    "p.project": "azkaban-flow-version: 2.0\n",
    "daily.flow": (
        "nodes:\n  - name: extract\n    type: command\n  - name: load\n    type: command\n"
    ),
    "hourly.flow": "nodes:\n  - name: ping\n    type: command\n",
}


@pytest.fixture(autouse=True)
def no_variables_from_the_developer(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AZSTATE_VAR_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def a_repository(tmp_path: Path) -> None:
    """The layouts here are repositories (``../base.toml`` from ``env/`` stays inside one):
    outside git, the boundary would be the configuration's own directory."""
    _git(tmp_path, "init", "-q")


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


def write(root: Path, files: dict[str, str], *, track: bool = True) -> Path:
    """The files, added to git's index (``track``): untracked ones would be warned about."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if track:
        _git(root, "add", "-A")
    return root


def flows(root: Path) -> None:
    write(root, FLOW)


def load(path: Path, **kwargs: object) -> LoadedConfig:
    return load_config(path, now=NOW, environ={}, **kwargs)  # type: ignore[arg-type]


def error_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load(path, **kwargs)
    return str(info.value)


def refusal(root: Path, text: str) -> str:
    """The error a configuration of one file, azstate.toml holding text, is refused with."""
    write(root, {"azstate.toml": text})
    return error_of(root / "azstate.toml")


BASE = """\
[server]
timezone = "UTC"
timeout = 10

[projects.etl]
description = "ETL"
source = "flows"

[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"
failure_emails = ["a@example.com", "b@example.com"]
disabled_jobs = ["load"]
parameters = { env = "base", batch = "100" }
"""


# extends: merge order, arrays, paths --------------------------------------------------------


def test_an_overlay_merges_tables_key_by_key_and_replaces_every_other_value(
    tmp_path: Path,
) -> None:
    flows(tmp_path / "flows")
    write(tmp_path, {"base.toml": BASE})
    write(
        tmp_path,
        {
            "prod/azstate.toml": """\
extends = ["../base.toml"]

[server]
timeout = 60

[projects.etl.schedules.daily]
failure_emails = ["oncall@example.com"]
disabled_jobs = []
parameters = { env = "prod" }
"""
        },
    )
    loaded = load(tmp_path / "prod/azstate.toml")
    server = loaded.config.server
    assert (server.timezone, server.timeout) == ("UTC", 60)
    schedule = loaded.config.projects["etl"].schedules["daily"]
    assert schedule.cron == "0 0 2 ? * *"
    assert schedule.failure_emails == ("oncall@example.com",)  # replaced, not appended
    assert schedule.disabled_jobs == ()  # [] empties the base's list
    assert schedule.parameters == {"env": "prod", "batch": "100"}  # a table: merged
    # the base's source stays relative to the base, not to the file that extends it
    assert loaded.config.projects["etl"].source == tmp_path / "flows"
    assert set(loaded.files) == {tmp_path / "base.toml", tmp_path / "prod/azstate.toml"}


def test_extends_is_recursive_and_each_file_is_laid_once_in_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "root.toml": '[server]\ntimezone = "UTC"\ntimeout = 1\nparallelism = 1\n',
            "left.toml": 'extends = ["root.toml"]\n[server]\ntimeout = 2\n',
            "right.toml": 'extends = ["root.toml"]\n[server]\nparallelism = 3\n',
            "top.toml": 'extends = ["left.toml", "right.toml"]\n[azstate]\nprune = ["x-*"]\n',
        },
    )
    config = load(tmp_path / "top.toml").config
    # root once, then left, then right, then top: right does not bring root's timeout back
    assert (config.server.timeout, config.server.parallelism) == (2, 3)
    assert config.azstate.prune == ("x-*",)


def test_a_later_base_wins_over_an_earlier_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.toml": "[server]\ntimeout = 1\n",
            "b.toml": "[server]\ntimeout = 2\n",
            "top.toml": 'extends = ["a.toml", "b.toml"]\n',
        },
    )
    assert load(tmp_path / "top.toml").config.server.timeout == 2


def test_a_source_written_by_the_overlay_is_relative_to_the_overlay(tmp_path: Path) -> None:
    flows(tmp_path / "flows")
    flows(tmp_path / "env/prod/flows")
    write(tmp_path, {"base.toml": BASE})
    write(
        tmp_path,
        {
            "env/prod/azstate.toml": (
                'extends = ["../../base.toml"]\n[projects.etl]\nsource = "flows"\n'
            )
        },
    )
    loaded = load(tmp_path / "env/prod/azstate.toml")
    assert loaded.config.projects["etl"].source == tmp_path / "env/prod/flows"


def test_a_missing_source_is_named_at_the_base_line_that_wrote_it(tmp_path: Path) -> None:
    write(tmp_path, {"base.toml": BASE, "env/azstate.toml": 'extends = ["../base.toml"]\n'})
    message = error_of(tmp_path / "env/azstate.toml")
    assert message.startswith(f"{tmp_path / 'base.toml'}:7: projects.etl.source: ")
    assert "does not exist" in message


def test_a_directory_reads_bases_as_bases_not_as_parts(tmp_path: Path) -> None:
    flows(tmp_path / "conf/flows")
    write(
        tmp_path,
        {
            "conf/base.toml": BASE,
            "conf/prod.toml": 'extends = ["base.toml"]\n[server]\ntimeout = 99\n',
            "conf/other.toml": '[projects.other]\ndescription = "Other"\n',
        },
    )
    loaded = load(tmp_path / "conf")
    # base.toml is not read a second time as a part of its own (its project would be declared
    # twice), and [server] is set once: by prod.toml over base.toml
    assert set(loaded.config.projects) == {"etl", "other"}
    assert loaded.config.server.timeout == 99
    assert len(loaded.files) == 3


def test_a_directory_still_refuses_a_project_declared_twice(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "conf/a.toml": '[projects.etl]\ndescription = "A"\n',
            "conf/b.toml": '\n[projects.ETL]\ndescription = "B"\n',
        },
    )
    message = error_of(tmp_path / "conf")
    assert message.startswith(f'{tmp_path / "conf/b.toml"}:2: projects.ETL: project "ETL"')
    assert f'is the same as "etl" ({tmp_path / "conf/a.toml"}, line 1)' in message


def test_a_cycle_is_refused_with_its_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        {
            "a.toml": 'extends = ["b.toml"]\n',
            "b.toml": '# b\nextends = ["c.toml"]\n',
            "c.toml": "[server]\ntimeout = 1\n\n# back to the start\nextends_ = 1\n",
        },
    )
    (tmp_path / "c.toml").write_text('extends = [\n  "a.toml",\n]\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("a.toml", environ={})
    assert str(info.value) == (
        "c.toml:2: extends[0]: extends makes a cycle: a.toml -> b.toml -> c.toml -> a.toml"
    )


def test_a_file_that_extends_itself_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, {"a.toml": 'extends = ["./a.toml"]\n'})
    assert "extends makes a cycle: " in error_of(tmp_path / "a.toml")


def test_bad_extends_are_named_at_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"a.toml": '# top\nextends = ["nope.toml"]\n'})
    assert error_of(Path("a.toml")) == (
        "a.toml:2: extends[0]: no such file: nope.toml (a path in extends is relative to the "
        "file that names it)"
    )
    write(tmp_path, {"a.toml": 'extends = "base.toml"\n'})
    assert error_of(Path("a.toml")) == (
        'a.toml:1: extends: expected an array of paths, got a string ("base.toml") (write '
        'extends = ["base.toml"])'
    )
    write(tmp_path, {"a.toml": 'extends = ["${var.env}.toml"]\n'})
    assert error_of(Path("a.toml")).endswith("; extends takes no variables")


def test_an_error_in_a_base_names_the_base_and_one_in_the_overlay_names_the_overlay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "base.toml": '[projects.etl]\ndescription = "E"\n\n[projects.etl.schedules.d]\n'
            'cron = "0 0 2 ? * *"\nconcurrent = "sometimes"\n',
            "env/top.toml": 'extends = ["../base.toml"]\n\n[projects.etl.schedules.d]\n'
            "notify_on_last_failure = 1\n",
        },
    )
    message = error_of(Path("env/top.toml"))
    lines = message.splitlines()
    assert lines[0].startswith("base.toml:6: projects.etl.schedules.d.concurrent: ")
    assert lines[1].startswith("env/top.toml:4: projects.etl.schedules.d.notify_on_last_failure: ")
    # a missing key points at the table, in the file that declared it
    write(tmp_path, {"base.toml": '[projects.etl]\ndescription = "E"\nsource = 5\n'})
    write(tmp_path, {"env/top.toml": 'extends = ["../base.toml"]\n'})
    assert error_of(Path("env/top.toml")).startswith(
        "base.toml:3: projects.etl.source: expected a path as a string"
    )


def test_locate_answers_with_the_file_that_wrote_the_value(tmp_path: Path) -> None:
    flows(tmp_path / "flows")
    write(tmp_path, {"base.toml": BASE})
    write(tmp_path, {"top.toml": 'extends = ["base.toml"]\n\n[projects.etl]\nprotect = true\n'})
    loaded = load(tmp_path / "top.toml")
    assert loaded.locate("projects.etl.protect") == (str(tmp_path / "top.toml"), 4)
    assert loaded.locate("projects.ETL.schedules.daily.cron") == (str(tmp_path / "base.toml"), 10)


# defaults -----------------------------------------------------------------------------------

DEFAULTS = """\
[defaults.schedule]
concurrent = "pipeline"
pipeline_level = 2
failure_emails = ["oncall@example.com"]
parameters = { team = "data" }

[defaults.sla]
emails = ["sla@example.com"]
rules = [{ rule = "FINISH", duration = "3h", email = true }]

[projects.etl]
description = "ETL"
source = "flows"
"""


def test_defaults_fill_what_a_schedule_leaves_out_and_never_override(tmp_path: Path) -> None:
    flows(tmp_path / "flows")
    write(
        tmp_path,
        {
            "azstate.toml": DEFAULTS
            + """
[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"
concurrent = "skip"
parameters = { env = "prod" }

[projects.etl.schedules.daily.sla]
rules = [{ rule = "SUCCESS", duration = "2h", email = true }]

[projects.etl.schedules.hourly]
cron = "0 0 * ? * *"
failure_emails = []
"""
        },
    )
    schedules = load(tmp_path / "azstate.toml").config.projects["etl"].schedules
    daily, hourly = schedules["daily"], schedules["hourly"]
    # explicit > default; a default pipeline_level is not forced on a skip schedule
    assert (daily.concurrent.value, daily.pipeline_level) == ("skip", None)
    assert daily.failure_emails == ("oncall@example.com",)
    assert daily.parameters == {"env": "prod"}  # an option is filled whole
    assert daily.sla is not None
    assert [r.rule.value for r in daily.sla.rules] == ["SUCCESS"]
    assert daily.sla.emails == ("sla@example.com",)
    # default > Azkaban's default
    assert (hourly.concurrent.value, hourly.pipeline_level) == ("pipeline", 2)
    assert hourly.failure_emails == ()  # [] is a value
    assert hourly.parameters == {"team": "data"}
    assert hourly.sla is None  # defaults never create an SLA


def test_required_keys_are_checked_after_defaults(tmp_path: Path) -> None:
    flows(tmp_path / "flows")
    write(
        tmp_path,
        {
            "azstate.toml": '[defaults.schedule]\ncron = "0 0 4 ? * *"\n\n[defaults.sla]\n'
            'rules = [{ rule = "SUCCESS", duration = 30, kill = true }]\n\n'
            '[projects.etl]\ndescription = "E"\nsource = "flows"\n\n'
            "[projects.etl.schedules.daily]\nsla = {}\n"
        },
    )
    daily = load(tmp_path / "azstate.toml").config.projects["etl"].schedules["daily"]
    assert daily.cron == "0 0 4 ? * *"
    assert daily.sla is not None and daily.sla.rules[0].duration == 30
    write(
        tmp_path,
        {"azstate.toml": '[projects.etl]\ndescription = "E"\n\n[projects.etl.schedules.daily]\n'},
    )
    assert error_of(tmp_path / "azstate.toml").startswith(
        f"{tmp_path / 'azstate.toml'}:4: projects.etl.schedules.daily.cron: missing"
    )


def test_a_bad_default_is_named_at_the_defaults_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.toml": '[defaults.schedule]\nnotify_on_first_failure = "yes"\n',
            "top.toml": 'extends = ["base.toml"]\n[projects.etl]\ndescription = "E"\n'
            '[projects.etl.schedules.daily]\ncron = "0 0 2 ? * *"\n',
        },
    )
    # once, at its own key (not once more for every schedule that received it)
    assert error_of(tmp_path / "top.toml") == (
        f"{tmp_path / 'base.toml'}:2: defaults.schedule.notify_on_first_failure: expected true or "
        'false, got a string ("yes")'
    )


def test_a_default_that_does_not_fit_a_schedule_is_named_at_the_defaults_line(
    tmp_path: Path,
) -> None:
    flows(tmp_path / "flows")
    write(
        tmp_path,
        {
            "base.toml": "[defaults.schedule]\npipeline_level = 1\n\n[defaults.sla]\n"
            'rules = [{ job = "lod", rule = "FINISH", duration = "1h", kill = true }]\n',
            "top.toml": 'extends = ["base.toml"]\n[projects.etl]\ndescription = "E"\n'
            'source = "flows"\n[projects.etl.schedules.daily]\ncron = "0 0 2 ? * *"\n'
            "sla = {}\n",
        },
    )
    base = tmp_path / "base.toml"
    assert error_of(tmp_path / "top.toml") == (
        f"{base}:2: projects.etl.schedules.daily.pipeline_level: only allowed with concurrent "
        '= "pipeline" (this schedule has concurrent = "skip")'
    )
    (tmp_path / "base.toml").write_text(
        (tmp_path / "base.toml").read_text().replace("pipeline_level = 1", "")
    )
    assert error_of(tmp_path / "top.toml") == (
        f'{base}:5: projects.etl.schedules.daily.sla.rules[0].job: no job "lod" in flow '
        '"daily" (did you mean "load"?); its jobs: extract, load'
    )


def test_defaults_refuse_an_sla_and_unknown_keys(tmp_path: Path) -> None:
    assert refusal(tmp_path, "[defaults.schedule.sla]\nemails = []\n") == (
        f"{tmp_path / 'azstate.toml'}:1: defaults.schedule.sla: unknown key: a default never "
        "creates an SLA; [defaults.sla] fills the sla tables that schedules have"
    )
    assert "defaults.project: unknown key" in refusal(
        tmp_path, "[defaults.project]\nprotect = true\n"
    )


# variables ----------------------------------------------------------------------------------

VARIABLES = """\
[variables]
env = "staging"
team = { default = "data", description = "owning team" }

[projects.etl]
description = "ETL ${var.env} of ${var.team}"

[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"
parameters.start = "${azkaban.flow.start.timestamp}"
parameters.literal = "$${var.env} costs $$5"
parameters.odd = "${env}"
"""


def test_variables_come_from_flag_then_environment_then_default(tmp_path: Path) -> None:
    write(tmp_path, {"azstate.toml": VARIABLES})
    path = tmp_path / "azstate.toml"
    assert load(path).config.projects["etl"].description == "ETL staging of data"
    environ = {"AZSTATE_VAR_env": "qa", "AZSTATE_VAR_team": "ops"}
    loaded = load_config(path, now=NOW, environ=environ)
    assert loaded.config.projects["etl"].description == "ETL qa of ops"
    loaded = load_config(path, now=NOW, environ=environ, variables={"env": "prod"})
    assert loaded.config.projects["etl"].description == "ETL prod of ops"
    assert loaded.variables["env"].origin == "--var"
    assert loaded.variables["team"].origin == "AZSTATE_VAR_team"


def test_only_var_references_are_interpolated(tmp_path: Path) -> None:
    write(tmp_path, {"azstate.toml": VARIABLES})
    parameters = (
        load(tmp_path / "azstate.toml").config.projects["etl"].schedules["daily"].parameters
    )
    assert parameters == {
        "start": "${azkaban.flow.start.timestamp}",
        "literal": "${var.env} costs $$5",
        "odd": "${env}",
    }


def test_keys_are_not_interpolated(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "azstate.toml": '[variables]\nk = "x"\n\n[projects.etl]\ndescription = "${var.k}"\n\n'
            '[projects.etl.schedules.daily]\ncron = "0 0 2 ? * *"\n'
            'parameters = { "${var.k}" = "v" }\n'
        },
    )
    schedule = load(tmp_path / "azstate.toml").config.projects["etl"].schedules["daily"]
    assert schedule.parameters == {"${var.k}": "v"}


def test_an_undeclared_variable_is_an_error_everywhere(tmp_path: Path) -> None:
    write(tmp_path, {"azstate.toml": VARIABLES.replace("${var.team}", "${var.teem}")})
    for require in (True, False):
        assert error_of(tmp_path / "azstate.toml", require_values=require) == (
            f"{tmp_path / 'azstate.toml'}:6: projects.etl.description: ${{var.teem}}: no variable "
            '"teem" is declared (did you mean "team"?)'
        )


def test_a_variable_with_no_value_fails_plan_but_not_validate(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "azstate.toml": '[variables]\nurl = { description = "no default" }\ncron = {}\n\n'
            '[server]\nurl = "${var.url}"\n\n[projects.etl]\ndescription = "E"\n\n'
            '[projects.etl.schedules.daily]\ncron = "${var.cron}"\n'
        },
    )
    path = tmp_path / "azstate.toml"
    assert error_of(path).splitlines()[0] == (
        f'{path}:6: server.url: ${{var.url}}: variable "url" has no value: set it with --var '
        "url=VALUE or AZSTATE_VAR_url, or give it a default"
    )
    loaded = load(path, require_values=False)
    assert loaded.unknown == {"server.url", "projects.etl.schedules.daily.cron"}
    assert loaded.document["server"]["url"] == "${var.url}"  # as written, for --resolved
    assert loaded.config.server.url is None  # not checked, and left out
    # a required value is checked with a stand-in, but kept as written
    assert loaded.config.projects["etl"].schedules["daily"].cron == "${var.cron}"
    resolved = render_resolved(loaded).splitlines()
    assert f'url = "${{var.url}}"  # from {path}:6; unknown: uses a variable with no value' in (
        resolved
    )


def test_bad_references_and_var_flags_are_errors(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[variables]\nenv = "x"\n[server]\nurl = "${var.en-v}"\n')
    assert message.startswith(f"{tmp_path / 'azstate.toml'}:4: server.url: bad variable reference")
    write(tmp_path, {"azstate.toml": VARIABLES})
    assert error_of(tmp_path / "azstate.toml", variables={"evn": "x"}) == (
        '--var evn: no variable "evn" is declared in [variables] (did you mean "env"?)'
    )


def test_an_unused_variable_is_a_warning(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "azstate.toml": '[variables]\nused = "a"\nspare = "b"\n\n[server]\nurl = "http://${var.used}"\n'
        },
    )
    warnings = load(tmp_path / "azstate.toml").warnings
    assert warnings == (
        f'{tmp_path / "azstate.toml"}:3: variables.spare: variable "spare" is declared but no '
        "value uses it",
    )


def test_variables_change_the_digest_but_a_secret_does_not_enter_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "azstate.toml": '[variables]\nenv = "a"\npw = { sensitive = true }\n\n'
            '[projects.etl]\ndescription = "${var.env}"\n\n[projects.etl.schedules.daily]\n'
            'cron = "0 0 2 ? * *"\nparameters = { pw = "${var.pw}" }\n'
        },
    )
    path = tmp_path / "azstate.toml"
    digests = {
        (env, pw): load(path, variables={"env": env, "pw": pw}).digest
        for env in ("a", "b")
        for pw in ("one", "two")
    }
    assert digests[("a", "one")] != digests[("b", "one")]
    assert digests[("a", "one")] == digests[("a", "two")]


# sensitive values ---------------------------------------------------------------------------

SENSITIVE = """\
[variables]
password = { sensitive = true }
user = "etl"

[defaults.schedule]
parameters = { dsn = "postgres://${var.user}:${var.password}@db/etl" }

[projects.etl]
description = "ETL"

[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"
success_emails = ["${var.user}@example.com"]

[projects.etl.schedules.hourly]
cron = "0 0 * ? * *"
parameters = { password = "${var.password}", user = "${var.user}" }
"""


def test_which_values_are_sensitive_is_exposed(tmp_path: Path) -> None:
    write(tmp_path, {"azstate.toml": SENSITIVE})
    loaded = load(tmp_path / "azstate.toml", variables={"password": SECRET})
    assert loaded.sensitive == {
        "variables.password.default",
        "defaults.schedule.parameters.dsn",
        "projects.etl.schedules.daily.parameters.dsn",  # through [defaults]
        "projects.etl.schedules.hourly.parameters.password",
    }
    hourly = loaded.config.projects["etl"].schedules["hourly"]
    assert hourly.parameters == {"password": SECRET, "user": "etl"}
    assert loaded.is_sensitive("projects.etl.schedules.hourly.parameters")
    assert not loaded.is_sensitive("projects.etl.schedules.hourly.parameters.user")
    assert SECRET not in repr(loaded.variables)


def test_an_overlay_cannot_make_a_variable_less_sensitive(tmp_path: Path) -> None:
    write(tmp_path, {"base.toml": SENSITIVE})
    write(tmp_path, {"top.toml": 'extends = ["base.toml"]\n[variables]\npassword = "default-pw"\n'})
    loaded = load(tmp_path / "top.toml")
    assert loaded.variables["password"].sensitive  # a plain value sets only the default
    assert "variables.password.default" in loaded.sensitive
    write(
        tmp_path,
        {"top.toml": 'extends = ["base.toml"]\n\n[variables]\npassword = { sensitive = false }\n'},
    )
    assert error_of(tmp_path / "top.toml") == (
        f'{tmp_path / "top.toml"}:4: variables.password.sensitive: variable "password" is '
        f"sensitive in {tmp_path / 'base.toml'} (line 2); an overlay cannot make a variable "
        "less sensitive (remove sensitive = false)"
    )


@pytest.mark.parametrize(
    "line",
    [
        'success_emails = ["${var.password}"]',
        'success_emails = ["a ${var.password}@example.com"]',
        'failure_emails = ["${var.user}", "${var.password}"]',
        'cron = "${var.password}"',
        'pipeline_level = "${var.password}"',
        'failure_action = "x${var.password}"',
        'notify_on_last_failure = "${var.password}"',
        'disabled_jobs = ["${var.password}", "${var.password}"]',
    ],
)
def test_a_secret_is_never_in_an_error(tmp_path: Path, line: str) -> None:
    cron = "" if line.startswith("cron") else 'cron = "0 0 * ? * *"\n'
    write(
        tmp_path,
        {
            "azstate.toml": '[variables]\npassword = { sensitive = true }\nuser = "u"\n\n'
            '[projects.etl]\ndescription = "E"\n\n[projects.etl.schedules.hourly]\n'
            f"{cron}{line}\n"
        },
    )
    message = error_of(tmp_path / "azstate.toml", variables={"password": SECRET})
    assert message.startswith(f"{tmp_path / 'azstate.toml'}:")
    assert "projects.etl.schedules.hourly" in message
    assert SECRET not in message and SECRET[:6] not in message


def test_resolved_masks_secrets_and_traces_every_value(tmp_path: Path) -> None:
    write(tmp_path, {"base.toml": SENSITIVE})
    write(
        tmp_path,
        {
            "env/top.toml": 'extends = ["../base.toml"]\n\n[variables]\nuser = "loader"\n\n'
            '[projects.etl.schedules.daily]\ncron = "0 0 5 ? * *"\n'
        },
    )
    loaded = load(tmp_path / "env/top.toml", variables={"password": SECRET})
    text = render_resolved(loaded)
    assert SECRET not in text
    base, top = tmp_path / "base.toml", tmp_path / "env/top.toml"
    lines = text.splitlines()
    assert 'password = { default = "(sensitive)", sensitive = true }  # from --var' in lines
    assert f'user = "loader"  # from {top}:4' in lines
    assert f'cron = "0 0 5 ? * *"  # from {top}:7' in lines
    assert f'success_emails = ["loader@example.com"]  # from {base}:13' in lines
    assert f'dsn = "(sensitive)"  # from {base}:6' in lines
    assert f'password = "(sensitive)"  # from {base}:17' in lines
    # it is TOML, and the masked value is all it holds of the secret
    resolved = tomllib.loads(text)
    daily = resolved["projects"]["etl"]["schedules"]["daily"]
    assert daily["parameters"] == {"dsn": "(sensitive)"}


def test_resolved_writes_back_what_reads_the_same(tmp_path: Path) -> None:
    write(tmp_path, {"azstate.toml": VARIABLES})
    loaded = load(tmp_path / "azstate.toml")
    again = write(tmp_path / "again", {"azstate.toml": render_resolved(loaded)})
    reloaded = load(again / "azstate.toml")
    assert reloaded.config.projects == loaded.config.projects


# the command line ---------------------------------------------------------------------------


def test_validate_resolved_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"base.toml": SENSITIVE, "top.toml": 'extends = ["base.toml"]\n'})
    monkeypatch.setenv("AZSTATE_VAR_password", SECRET)
    assert main(["validate", "-c", "top.toml", "--resolved", "--var", "user=cli"]) == 0
    out = capsys.readouterr().out
    assert '"cli@example.com"' in out and "# from base.toml:13" in out
    assert (
        'password = { default = "(sensitive)", sensitive = true }  # from AZSTATE_VAR_password'
        in out
    )
    assert SECRET not in out


def test_validate_runs_without_values_and_plan_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"azstate.toml": SENSITIVE})
    assert main(["validate"]) == 0
    assert "The configuration is valid." in capsys.readouterr().out
    assert main(["plan", "--sandbox"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "Error: azstate.toml:6: defaults.schedule.parameters.dsn: ${var.password}: "
    )
    assert 'variable "password" has no value' in err
    assert "azstate.toml:17: projects.etl.schedules.hourly.parameters.password: " in err
    assert main(["apply", "--sandbox", "--auto-approve"]) == 1
    assert 'variable "password" has no value' in capsys.readouterr().err
    assert main(["plan", "--sandbox", "--var", "nope=1"]) == 1
    assert 'no variable "nope" is declared' in capsys.readouterr().err
    assert main(["plan", "--sandbox", "--var", "novalue"]) == 1
    assert "--var expects NAME=VALUE" in capsys.readouterr().err


def test_plan_with_variables_against_the_sandbox(tmp_path: Path) -> None:
    """End to end in a child process: --var and AZSTATE_VAR_ reach the server, and apply then
    plan is empty. (Masking the secret in plans is the plan views' work, with loaded.sensitive.)"""
    flows(tmp_path / "flows")
    write(
        tmp_path,
        {
            "azstate.toml": SENSITIVE.replace(
                'description = "ETL"', 'description = "ETL"\nsource = "flows"'
            )
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZKABAN_", "AZSTATE_VAR_"))}
    env.update(PYTHONPATH=str(ROOT), AZSTATE_VAR_password=SECRET, NO_COLOR="1")
    env["AZSTATE_CACHE_DIR"] = str(tmp_path / "cache")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "azstate", *args, "--sandbox", "--var", "user=svc"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    applied = run("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    again = run("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    env["AZSTATE_VAR_password"] = "changed"
    changed = run("plan", "--detailed-exitcode")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "project.etl.schedule.daily" in changed.stdout


# fuzz: any overlay over a base with a secret --------------------------------------------------

FRAGMENTS = [
    "[variables]",
    "password = { sensitive = false }",
    'password = "x"',
    "user = 5",
    'user = { default = "${var.password}" }',
    "[defaults.schedule]",
    "[defaults.sla]",
    "[defaults]",
    'schedule = "x"',
    'concurrent = "${var.password}"',
    'cron = "${var.password}"',
    'cron = "0 0 2 ? * *"',
    'parameters = { a = "${var.password}", b = "${var.user" }',
    "rules = []",
    'rules = [{ rule = "${var.password}", duration = "${var.password}", email = true }]',
    'emails = ["${var.password}x"]',
    "[projects.etl.schedules.daily]",
    "[projects.etl.schedules.daily.sla]",
    "[projects.etl.schedules.other]",
    "sla = {}",
    'failure_emails = ["${var.password}", "${var.password}"]',
    'pipeline_level = "${var.password}"',
    "[projects.etl]",
    "[projects.ETL]",
    'description = "${var.nope}"',
    'description = "$${var.password} ${var.password}"',
    'source = "${var.password}"',
    "[server]",
    'url = "${var.password}"',
    'timezone = "${var.password}"',
]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=10).map("\n".join))
def test_fuzz_overlays_never_crash_or_show_the_secret(tmp_path: Path, text: str) -> None:
    files = {"base.toml": SENSITIVE, "top.toml": f'extends = ["base.toml"]\n{text}\n'}
    write(tmp_path, files, track=False)  # no source: nothing git could warn about
    try:
        loaded = load(tmp_path / "top.toml", variables={"password": SECRET})
    except (ConfigError, SourceError) as exc:
        assert SECRET not in str(exc) and SECRET[:6] not in str(exc)
        return
    resolved = render_resolved(loaded)
    assert SECRET not in resolved
    tomllib.loads(resolved)


def test_validate_says_which_variables_it_could_not_check(tmp_path: Path) -> None:
    flows(tmp_path / "flows")
    write(
        tmp_path,
        {
            "azstate.toml": '[variables]\nsrc = {}\n\n[projects.etl]\ndescription = "E"\n'
            'source = "${var.src}"\n\n[projects.etl.schedules.nope]\ncron = "0 0 2 ? * *"\n'
        },
    )
    # the source cannot be read without its value, so its flows are not checked either
    loaded = load(tmp_path / "azstate.toml", require_values=False)
    assert loaded.sources == {}
    assert loaded.warnings == (
        f'{tmp_path / "azstate.toml"}:2: variables.src: variable "src" has no value here (--var '
        "src=VALUE or AZSTATE_VAR_src), so the values that use it are not checked; plan and "
        "apply need it",
    )
    # with a value, the flows are checked
    message = error_of(tmp_path / "azstate.toml", variables={"src": "flows"})
    assert 'projects.etl.schedules.nope: no flow "nope"' in message


def test_a_variable_must_be_a_string_or_a_table(tmp_path: Path) -> None:
    assert refusal(tmp_path, "[variables]\nport = 8080\n") == (
        f"{tmp_path / 'azstate.toml'}:2: variables.port: expected a table, got an integer "
        '(8080) (write port = "..." or { default = "...", ... })'
    )
    assert "invalid variable name" in refusal(tmp_path, '[variables]\n"my-var" = "x"\n')


def test_a_directory_shares_its_variables_and_declares_each_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "conf/00-vars.toml": '[variables]\nenv = "prod"\n',
            "conf/etl.toml": '[projects.etl]\ndescription = "ETL ${var.env}"\n',
        },
    )
    assert load(tmp_path / "conf").config.projects["etl"].description == "ETL prod"
    write(tmp_path, {"conf/more.toml": '\n[variables]\nenv = "qa"\n'})
    assert error_of(tmp_path / "conf") == (
        f'{tmp_path / "conf/more.toml"}:3: variables.env: variable "env" is already declared '
        f"in {tmp_path / 'conf/00-vars.toml'} (line 2); a directory declares each variable once"
    )


def test_the_ca_bundle_stays_relative_to_the_base_that_names_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"shared/certs/ca.pem": "x", "shared/base.toml": '[server]\nca_bundle = "certs/ca.pem"\n'},
    )
    write(tmp_path, {"env/azstate.toml": 'extends = ["../shared/base.toml"]\n'})
    server = load(tmp_path / "env/azstate.toml").config.server
    assert server.ca_bundle == str(tmp_path / "shared/certs/ca.pem")


def test_a_source_path_built_from_a_secret_is_not_shown(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "azstate.toml": "[variables]\ndir = { sensitive = true }\n\n[projects.etl]\n"
            'description = "E"\nsource = "flows-${var.dir}"\n'
        },
    )
    message = error_of(tmp_path / "azstate.toml", variables={"dir": SECRET})
    assert message == (
        f"{tmp_path / 'azstate.toml'}:6: projects.etl.source: (sensitive) does not exist (a "
        "source is relative to the file that names it)"
    )


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="${}var.xz_ ", max_size=30))
def test_escaped_text_interpolates_back_to_itself(text: str) -> None:
    from azstate.variables import Variable, escape, interpolate

    variables = {"x": Variable("x", "VALUE", sensitive=False, origin="default")}
    result = interpolate(escape(text), variables, require_values=True)
    assert result.text == text and not result.problems and not result.used
    assert escape("${azkaban.flow.start.timestamp}") == "${azkaban.flow.start.timestamp}"


def test_no_repr_of_the_loaded_configuration_holds_a_secret_it_did_not_have_to(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"azstate.toml": SENSITIVE})
    loaded = load(tmp_path / "azstate.toml", variables={"password": SECRET})
    assert SECRET not in repr(loaded.toml) + repr(loaded.variables) + repr(loaded.sensitive)
