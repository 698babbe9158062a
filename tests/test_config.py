"""The configuration models on their own: defaults, conversions, and the values they refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from azstate.config import (
    Config,
    ProjectConfig,
    ScheduleConfig,
    ServerConfig,
    SlaRuleConfig,
    parse_duration,
    suggestion,
)
from azstate.resources import desired_state
from azstate.state import Concurrent, FailureAction, Perm, SlaRule


def schedule(**fields: Any) -> ScheduleConfig:
    return ScheduleConfig.model_validate({"cron": "0 0 2 ? * *", **fields})


def error_text(model: type, data: Any) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return str(info.value)


def test_defaults_follow_the_design() -> None:
    config = Config()
    assert config.server == ServerConfig(
        url=None,
        timezone="America/Los_Angeles",
        verify_tls=True,
        ca_bundle=None,
        timeout=30,
        parallelism=8,
    )
    assert config.azstate.prune == ()
    assert config.projects == {}
    s = schedule()
    assert (s.concurrent, s.pipeline_level, s.failure_action) == (
        Concurrent.SKIP,
        None,
        FailureAction.FINISH_CURRENT,
    )
    assert (s.notify_on_first_failure, s.notify_on_last_failure) == (True, False)
    assert s.failure_emails == s.success_emails == s.disabled_jobs == ()
    assert s.parameters == {} and s.sla is None


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        Config().server.timeout = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        (90, 90),
        ("90m", 90),
        ("2h", 120),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("2:00", 120),
        ("0:45", 45),
        (" 3H ", 180),
        ("10:05", 605),
    ],
)
def test_durations(text: Any, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    "bad", ["", "h", "2 hours", "90", "1d", "1:75", "-5m", 0, -1, True, 1.5, [1]]
)
def test_bad_durations(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_enums_are_case_insensitive() -> None:
    s = schedule(concurrent="PIPELINE", pipeline_level=2, failure_action="Cancel_All")
    assert s.concurrent is Concurrent.PIPELINE and s.failure_action is FailureAction.CANCEL_ALL
    rule = SlaRuleConfig.model_validate({"rule": "finish", "duration": "1h", "kill": True})
    assert rule.rule is SlaRule.FINISH
    project = ProjectConfig.model_validate(
        {"description": "d", "permissions": {"users": {"a": ["READ", "execute"]}}}
    )
    assert project.permissions is not None
    assert project.permissions.users == {"a": (Perm.READ, Perm.EXECUTE)}


def test_parameters_accept_scalars_as_text() -> None:
    s = schedule(parameters={"s": "x", "i": 3, "f": 1.5, "t": True, "n": False})
    assert s.parameters == {"s": "x", "i": "3", "f": "1.5", "t": "true", "n": "false"}


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"concurrent": "pipeline"}, 'required with concurrent = "pipeline"'),
        ({"pipeline_level": 1}, 'only allowed with concurrent = "pipeline"'),
        ({"concurrent": "pipeline", "pipeline_level": -1}, "greater than or equal to 0"),
        ({"concurrent": "pipeline", "pipeline_level": True}, "valid integer"),
        ({"cron": "0 2 * * *"}, 'write "0 0 2 * * ?"'),
        ({"cron": "0 0 2 * * *"}, "Put '?' in one of the two day fields"),
        ({"failure_emails": ["a@b.c", "nope"]}, "is not an e-mail address"),
        ({"disabled_jobs": ["a", "a"]}, "listed twice"),
        ({"parameters": {"": "x"}}, "must not be empty"),
        ({"sla": {"rules": []}}, "must not be empty"),
        ({"sla": {"rules": [{"rule": "SUCCESS", "duration": 5}]}}, "the rule has no action"),
        (
            {"sla": {"rules": [{"rule": "FINISH", "duration": 5, "email": True}] * 2}},
            "two FINISH rules for the whole flow",
        ),
        ({"notify_on_first_failure": 1}, "valid boolean"),
        ({"typo": 1}, "Extra inputs are not permitted"),
    ],
)
def test_schedule_refusals(fields: dict[str, Any], fragment: str) -> None:
    assert fragment in error_text(ScheduleConfig, {"cron": "0 0 2 ? * *", **fields})


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"projects": {"9a": {"description": "d"}}}, "invalid project name"),
        ({"projects": {"a|b": {"description": "d"}}}, "invalid project name"),
        ({"projects": {"a" * 65: {"description": "d"}}}, "at most 64"),
        (
            {"projects": {"a": {"description": "d"}, "A": {"description": "d"}}},
            "differ only in case",
        ),
        ({"projects": {"a": {"description": " \t"}}}, "must not be empty"),
        ({"projects": {"a": {"description": "x" * 2049}}}, "at most 2048"),
        ({"projects": {"a": {"description": "d", "source": ""}}}, "must not be empty"),
        (
            {"projects": {"a": {"description": "d", "permissions": {"users": {"u": []}}}}},
            "must not be empty",
        ),
        (
            {"projects": {"a": {"description": "d", "permissions": {"users": {" u": ["read"]}}}}},
            "invalid name",
        ),
        ({"server": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"server": {"timezone": "../etc/passwd"}}, "unknown time zone"),
        ({"server": {"url": "ftp://x"}}, "http:// or https://"),
        ({"server": {"url": "http://x:99999"}}, "bad port"),
        ({"server": {"timeout": True}}, "valid number"),
        ({"server": {"parallelism": 0}}, "greater than or equal to 1"),
        ({"azstate": {"prune": [""]}}, "must not be empty"),
    ],
)
def test_config_refusals(data: dict[str, Any], fragment: str) -> None:
    assert fragment in error_text(Config, data)


def test_longest_valid_names_and_descriptions() -> None:
    config = Config.model_validate(
        {"projects": {"a" + "-_9" * 21: {"description": "x" * 2048, "source": "flows"}}}
    )
    project = next(iter(config.projects.values()))
    assert project.source == Path("flows")


def test_suggestion() -> None:
    assert suggestion("failureEmails", ["failure_emails", "success_emails"]) == "failure_emails"
    assert suggestion("timezon", ["timezone", "timeout"]) == "timezone"
    assert suggestion("zzz", ["timezone"]) is None


def test_config_feeds_the_desired_state() -> None:
    """The fields other modules read exist with the types they expect."""
    config = Config.model_validate(
        {
            "projects": {
                "etl": {
                    "description": "d",
                    "permissions": {
                        "users": {"alice": ["read"]},
                        "groups": {"g": ["admin", "read"]},
                    },
                    "schedules": {
                        "f": {
                            "cron": "0 0 2 ? * *",
                            "failure_emails": ["a@x.com"],
                            "parameters": {"n": 3},
                            "sla": {
                                "emails": ["a@x.com"],
                                "rules": [
                                    {"job": "j", "rule": "success", "duration": "1h", "email": True}
                                ],
                            },
                        }
                    },
                }
            }
        }
    )
    state = desired_state(config, {})
    project = state.projects["etl"]
    assert project.schedules["f"].parameters == (("n", "3"),)
    assert next(iter(project.slas["f"].rules)).minutes == 60
    assert project.permissions is not None
    assert project.permissions["group.g"].perms == {Perm.ADMIN}


# Layered configuration: [variables] and [defaults] ---------------------------------------------


def test_variables_take_a_string_or_a_table() -> None:
    config = Config.model_validate(
        {"variables": {"env": "prod", "password": {"sensitive": True}}}
    )
    assert config.variables["env"].default == "prod"
    assert not config.variables["env"].sensitive
    assert config.variables["password"].default is None
    assert config.variables["password"].sensitive
    assert "invalid variable name" in error_text(Config, {"variables": {"my-var": "x"}})
    assert "sensitive" in error_text(Config, {"variables": {"x": {"sensitive": "yes"}}})


def test_schedule_defaults_offer_every_schedule_option_but_sla() -> None:
    """Derived from ScheduleConfig: an option added there can be defaulted with no other edit."""
    from azstate.config import DefaultsConfig, SlaConfig

    defaults = DefaultsConfig.model_validate({"schedule": {}, "sla": {}})
    assert defaults.schedule is not None and defaults.sla is not None
    assert set(type(defaults.schedule).model_fields) == set(ScheduleConfig.model_fields) - {"sla"}
    assert set(type(defaults.sla).model_fields) == set(SlaConfig.model_fields)
    # each value is checked by the option's own type, and nothing is required
    assert "cancel_all" in error_text(
        DefaultsConfig, {"schedule": {"failure_action": "cancelImmediately"}}
    )
    assert "extra" in error_text(DefaultsConfig, {"schedule": {"sla": {}}})
    parsed = DefaultsConfig.model_validate({"schedule": {"concurrent": "PIPELINE"}})
    assert parsed.schedule.concurrent is Concurrent.PIPELINE  # type: ignore[union-attr]
