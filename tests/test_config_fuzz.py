"""Every field validator of every configuration model, fuzzed directly.

load_config turns a pydantic ValidationError into our ConfigError; anything else a validator
raised (a TypeError on an unexpected type, an OverflowError on a huge number, a RecursionError)
would escape as a traceback. So each field, given any value TOML can hold and strings shaped
like what that field parses, must validate or raise ValidationError, nothing else; and the
same value written into a file must load or give our own errors.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from azstate.config import (
    AzstateSettings,
    Config,
    PermissionsConfig,
    ProjectConfig,
    ScheduleConfig,
    ServerConfig,
    SlaConfig,
    SlaRuleConfig,
)
from azstate.errors import ConfigError, SourceError
from azstate.load import load_config

RULE = {"rule": "SUCCESS", "duration": "2h", "email": True}
VALID: dict[type[BaseModel], dict[str, Any]] = {
    ServerConfig: {"url": "http://127.0.0.1:8081", "timezone": "UTC", "timeout": 30.0},
    AzstateSettings: {"prune": ["etl-*"], "protect": ["prod*"]},
    SlaRuleConfig: RULE,
    SlaConfig: {"emails": ["a@example.com"], "rules": [RULE]},
    ScheduleConfig: {"cron": "0 0 2 ? * *", "sla": {"rules": [RULE]}},
    PermissionsConfig: {"users": {"alice": ["read"]}, "groups": {"g": ["admin"]}},
    ProjectConfig: {"description": "E", "schedules": {"daily": {"cron": "0 0 2 ? * *"}}},
    Config: {"projects": {"etl": {"description": "E"}}},
}
FIELDS = [(model, name) for model in VALID for name in model.model_fields]

# Strings shaped like what the validators parse, and edges of them.
SHAPED = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\n",
        "é" * 300,
        "x" * 70_000,
        # urls
        "http://127.0.0.1:99999999999999999999",
        "http://[::1",
        "http://:80",
        "ftp://example.com",
        "https://user:pw@host:-1/",
        "http://h\x00st",
        # time zones
        "../../etc/passwd",
        "/etc/localtime",
        "UTC\n",
        "Etc/GMT+99",
        "America/",
        # durations
        "1h",
        "0:60",
        "99999999999999999999h",
        "1e309m",
        "-1:00",
        "1:-1",
        "H:M",
        "1d",
        "nan",
        "inf",
        # cron
        "0 0 2 ? * *",
        "* * * * *",
        "0 0 0 31 2 ? 2020",
        "0 0 2 ? * 8",
        "0/0 * * ? * *",
        "0 0 2 L-99 * ?",
        "0 0 2 ? * 5#9",
        "0 0 2 ? * * 99999999999999999999",
        "@daily",
        # e-mails, names, permissions, enums
        "a@",
        "@b",
        "a@b@c",
        "a b@c.d",
        "admin",
        "READ",
        "pipeline",
        "finish_current",
        "FINISH",
        "SUCCEED",
    ]
)
TOML_SCALARS = st.one_of(
    st.text(max_size=20),
    SHAPED,
    st.from_regex(r"[0-9*?/,LW#-]{1,4}( [0-9A-Z*?/,LW#-]{1,4}){4,7}", fullmatch=True),
    st.from_regex(r"-?[0-9]{0,25}(:[0-9]{0,3}|[hm])?", fullmatch=True),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),  # nan and inf too: TOML has them
    st.booleans(),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.dates(),
    st.times(),
)
ANY_VALUE = st.recursive(
    TOML_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), SHAPED), children, max_size=3),
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_the_base_values_are_valid(model: type[BaseModel]) -> None:
    model.model_validate(VALID[model])


# A value is drawn once and tried in every field (or as every section): drawing is most of the
# cost, so this tries 36 times as many (field, value) pairs as one field a draw would, in less time.
@settings(max_examples=200, deadline=None)
@given(ANY_VALUE)
def test_any_value_in_any_field_validates_or_is_a_validation_error(value: Any) -> None:
    for model, name in FIELDS:
        note(f"{model.__name__}.{name}")
        with contextlib.suppress(ValidationError):
            model.model_validate({**VALID[model], name: value})


@settings(max_examples=150, deadline=None)
@given(ANY_VALUE)
def test_a_whole_section_of_any_shape(value: Any) -> None:
    """Not a table where one is expected, or a table of anything."""
    for model in VALID:
        note(model.__name__)
        with contextlib.suppress(ValidationError):
            model.model_validate(value)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    return str(value)


TABLES = {
    "server": ('[server]\nurl = "http://127.0.0.1:8081"\ntimezone = "UTC"\n', ServerConfig),
    "azstate": ("[azstate]\n", AzstateSettings),
    "projects.etl": ('[projects.etl]\ndescription = "E"\n', ProjectConfig),
    "projects.etl.schedules.daily": (
        '[projects.etl.schedules.daily]\ncron = "0 0 2 ? * *"\n',
        ScheduleConfig,
    ),
}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(sorted(TABLES)), ANY_VALUE, st.data())
def test_in_a_file_any_value_loads_or_is_our_error(
    tmp_path: Path, table: str, value: Any, data: st.DataObject
) -> None:
    header, model = TABLES[table]
    key = data.draw(st.sampled_from(sorted(model.model_fields)))
    text = '[projects.etl]\ndescription = "E"\n' if table.startswith("projects.etl.") else ""
    text += header + f"{key} = {toml_value(value)}\n"
    config = tmp_path / "azstate.toml"
    config.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(ConfigError, SourceError):
        load_config(config)
