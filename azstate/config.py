"""The TOML file as frozen pydantic models (design.md section 2); field names are the TOML keys.

Validation here is about one value at a time and is strict on purpose: a TOML ``"true"`` is not
a boolean, ``30`` is not a string, an unknown key is an error. Whatever needs more than the
value itself (where a key is in which file, the server's time zone for "does this cron ever
fire", the flows in a source) is checked by load.py, which also turns pydantic's errors into
ConfigErrors with file, line and key path. Messages raised here are written for that: they say
what was found and what is expected, and never repeat the key path (load.py adds it).

Two conveniences, both documented in the schema: enum values are case-insensitive
(``"success"``, ``"READ"``), and flow ``parameters`` may be numbers or booleans in the TOML;
they are sent to Azkaban as text (``true``/``false``, ``3``, ``1.5``), which is all it takes.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from azstate import cron
from azstate.errors import CronError
from azstate.state import Concurrent, FailureAction, Perm, SlaRule

PROJECT_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*")
PROJECT_NAME_MAX = 64
DESCRIPTION_MAX = 2048
DEFAULT_TIMEZONE = "America/Los_Angeles"
CRON_FIELDS = "seconds minutes hours day-of-month month day-of-week [year]"
_DURATION = re.compile(
    r"(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?|(?P<hh>\d+):(?P<mm>\d{2})", re.IGNORECASE
)
_JAVA_INT_MAX = 2**31 - 1
E = TypeVar("E", bound=StrEnum)


def quoted(value: object) -> str:
    """A value as the user would write it in TOML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def suggestion(word: str, choices: Iterable[str]) -> str | None:
    """The closest choice to a mistyped word, ignoring case, '_' and '-'; None if none is close."""
    options = list(choices)

    def squash(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "")

    for option in options:
        if squash(option) == squash(word):
            return option
    close = difflib.get_close_matches(word.lower(), [o.lower() for o in options], n=1, cutoff=0.6)
    if not close:
        return None
    return next(o for o in options if o.lower() == close[0])


@functools.cache
def _members(kind: type[StrEnum]) -> dict[str, StrEnum]:
    """An enum's members by lower-cased value (a fleet's file names thousands of them)."""
    return {m.value.lower(): m for m in kind}


def _enum_value(kind: type[E], value: object, *, hints: dict[str, str] | None = None) -> E:
    if isinstance(value, str):
        member = _members(kind).get(value.strip().lower())
        if isinstance(member, kind):
            return member
    allowed = [m.value for m in kind]
    listed = ", ".join(quoted(a) for a in allowed)
    if not isinstance(value, str):
        raise ValueError(f"expected one of {listed}, got {quoted(value)}")
    hint = (hints or {}).get(value.strip().lower().replace("-", "_"))
    if hint is None:
        close = suggestion(value, allowed)
        hint = f'did you mean "{close}"?' if close else None
    return_hint = f" ({hint})" if hint else ""
    raise ValueError(f"{quoted(value)} is not allowed; expected one of {listed}{return_hint}")


_FAILURE_HINTS = {
    "finishcurrent": 'Azkaban calls it finishCurrent; write "finish_current"',
    "finish_currently_running": 'write "finish_current"',
    "cancelimmediately": 'Azkaban calls it cancelImmediately; write "cancel_all"',
    "cancel_immediately": 'write "cancel_all"',
    "finishpossible": 'Azkaban calls it finishPossible; write "finish_possible"',
    "finish_all_possible": 'write "finish_possible"',
}
_CONCURRENT_HINTS = {
    "true": 'write "ignore" to let runs overlap',
    "false": 'write "skip" to skip a run while one is going',
}
_RULE_HINTS = {
    "succeed": 'SUCCEED is how Azkaban reports it; write "SUCCESS"',
    "success_finish": 'one rule per line: "SUCCESS" or "FINISH"',
    "finished": 'write "FINISH"',
}
_PERM_HINTS = {
    "all": 'write "admin" (it holds every other permission)',
    "execute_flow": 'write "execute"',
    "exec": 'write "execute"',
}


def _concurrent(value: object) -> Concurrent:
    return _enum_value(Concurrent, value, hints=_CONCURRENT_HINTS)


def _failure_action(value: object) -> FailureAction:
    return _enum_value(FailureAction, value, hints=_FAILURE_HINTS)


def _sla_rule(value: object) -> SlaRule:
    return _enum_value(SlaRule, value, hints=_RULE_HINTS)


def _perm(value: object) -> Perm:
    return _enum_value(Perm, value, hints=_PERM_HINTS)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


def _email(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("an e-mail address must not be empty")
    if re.search(r"[\s,;]", text):
        raise ValueError(
            f"{quoted(value)} holds a space, ',' or ';': give one address per array item"
        )
    if not re.fullmatch(r"[^@]+@[^@]+", text):
        raise ValueError(f"{quoted(value)} is not an e-mail address (expected name@domain)")
    return text


def _project_name(name: str) -> str:
    if not PROJECT_NAME.fullmatch(name):
        raise ValueError(
            f"invalid project name {quoted(name)}: Azkaban project names start with a letter, "
            "followed by letters, digits, '-' or '_'"
        )
    if len(name) > PROJECT_NAME_MAX:
        raise ValueError(
            f"project name {quoted(name[:20] + '...')} is {len(name)} characters long; Azkaban "
            f"allows at most {PROJECT_NAME_MAX}"
        )
    return name


def _principal(name: str) -> str:
    if not name.strip() or name != name.strip():
        raise ValueError(f"invalid name {quoted(name)}: no empty names or surrounding spaces")
    return name


def _flow_id(name: str) -> str:
    if not name.strip() or name != name.strip():
        raise ValueError(f"invalid flow name {quoted(name)}: no empty names or surrounding spaces")
    return name


def parse_duration(value: object) -> int:
    """SLA durations in minutes: 90, "90m", "2h", "1h30m", "2:00" (H:MM)."""
    expected = 'expected minutes (90) or a duration such as "90m", "2h", "1h30m" or "2:00"'
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{expected}, got {quoted(value)}")
    if isinstance(value, int):
        minutes = value
    else:
        text = value.strip()
        match = _DURATION.fullmatch(text) if text else None
        if match is None or not any(match.groupdict().values()):
            hint = ""
            if text.isdigit():
                hint = f' (write {text} without quotes, or "{text}m")'
            elif re.fullmatch(r"\d+\s*d", text, re.IGNORECASE):
                hint = f' (days are not supported: write "{int(text[:-1]) * 24}h")'
            raise ValueError(f"{expected}, got {quoted(value)}{hint}")
        if match["hh"] is not None:
            if int(match["mm"]) > 59:
                raise ValueError(f"{quoted(value)}: the minutes after ':' must be 00 to 59")
            minutes = int(match["hh"]) * 60 + int(match["mm"])
        else:
            minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    if minutes <= 0:
        raise ValueError(f"a duration must be at least 1 minute, got {quoted(value)}")
    if minutes > _JAVA_INT_MAX:
        raise ValueError(f"{quoted(value)} is too long for Azkaban")
    return minutes


def _parameter_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"expected a string, number or boolean, got {describe_value(value)}")


def describe_value(value: object) -> str:
    """What the user wrote, in TOML words: 'a string ("x")', 'an integer (5)', 'a table'."""
    match value:
        case bool():
            return f"a boolean ({quoted(value)})"
        case str():
            return f"a string ({quoted(value[:60])})"
        case int():
            return f"an integer ({value})"
        case float():
            return f"a float ({value})"
        case dict():
            return "a table"
        case list() | tuple():
            return "an array"
        case _ if hasattr(value, "isoformat"):
            return f"a date/time ({value})"
        case _:
            return type(value).__name__


def _emails_override(emails: str) -> Any:
    """The field of Azkaban's failureEmailsOverride / successEmailsOverride flag."""
    return Field(
        default=None,
        description=(
            f"Whether {emails} replace the flow's own; by default true when {emails} is not "
            "empty."
        ),
    )


def _at_least_one(values: tuple[Any, ...]) -> tuple[Any, ...]:
    if not values:
        raise ValueError("must not be empty: give at least one")
    return values


def _description(text: str) -> str:
    _non_blank(text)
    if len(text) > DESCRIPTION_MAX:
        raise ValueError(f"is {len(text)} characters long; Azkaban keeps at most {DESCRIPTION_MAX}")
    return text


def check_cron(expr: str) -> str:
    """Quartz's verdict on the text alone; whether it ever fires depends on the zone (load.py)."""
    try:
        cron.parse(expr)
    except CronError as exc:
        message = getattr(exc, "quartz_message", None) or str(exc)
        tokens = expr.split()
        equivalent = cron.quartz_equivalent(expr) if len(tokens) in (1, 5) else None
        if equivalent is not None:
            message = message.rstrip().removesuffix(".") + "."
            message += (
                " This is a Unix cron; Quartz needs seconds first and one '?' day field: "
                f"write {quoted(equivalent)}"
            )
        elif "day-of-week AND a day-of-month" in message and _question_mark_fix(tokens):
            message += (
                f" Put '?' in one of the two day fields: {quoted(_question_mark_fix(tokens))}"
            )
        else:
            message += f' (Quartz fields: {CRON_FIELDS}, e.g. "0 0 2 ? * *")'
        raise ValueError(f"invalid Quartz cron {quoted(expr)}: {message}") from None
    return expr


def _question_mark_fix(tokens: list[str]) -> str | None:
    if len(tokens) < 6:
        return None
    if tokens[5] == "*":
        return " ".join([*tokens[:5], "?", *tokens[6:]])
    if tokens[3] == "*":
        return " ".join([*tokens[:3], "?", *tokens[4:]])
    return None


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = suggestion(name, sorted(_zones()))
        hint = f' (did you mean "{close}"?)' if close else ' such as "America/Los_Angeles"'
        raise ValueError(f"unknown time zone {quoted(name)}: expected an IANA name{hint}") from None
    return name


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f'expected an http:// or https:// URL such as "https://azkaban.example.com:8443", '
            f"got {quoted(url)}"
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"bad port in {quoted(url)}") from None
    return url.strip()


def _enum_schema(kind: type[StrEnum], description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "enum": [m.value for m in kind], "description": description}
    )


Text = Annotated[str, Strict()]
NonBlank = Annotated[str, Strict(), AfterValidator(_non_blank)]
Email = Annotated[str, Strict(), AfterValidator(_email)]
Emails = Annotated[
    tuple[Email, ...],
    Field(description="E-mail addresses, one per item."),
]
ProjectName = Annotated[str, AfterValidator(_project_name)]
Principal = Annotated[str, AfterValidator(_principal)]
FlowId = Annotated[str, AfterValidator(_flow_id)]
PermValue = Annotated[
    Perm,
    BeforeValidator(_perm),
    _enum_schema(Perm, "A project permission (admin holds all the others)."),
]
Perms = Annotated[
    tuple[PermValue, ...],
    AfterValidator(_at_least_one),
    WithJsonSchema(
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "string",
                "enum": [p.value for p in Perm],
                "description": "A project permission (admin holds all the others).",
            },
        }
    ),
]
Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {
                    "type": "string",
                    "pattern": r"^\s*(\d+\s*[hH])?\s*(\d+\s*[mM])?\s*$|^\s*\d+:[0-5]\d\s*$",
                },
            ],
            "description": 'Minutes (90), or "90m", "2h", "1h30m", "2:00" (H:MM).',
            "examples": ["2h", "1h30m", "90m", "2:00", 90],
        }
    ),
]
ParameterValue = Annotated[
    str,
    BeforeValidator(_parameter_value),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


def _table(description: str, **field: Any) -> Any:
    """An optional table, empty by default. Built by a factory, not a shared {}: pydantic
    deep-copies a mutable default for every model, five times per project of a fleet. The
    schema still says the default is {}."""
    return Field(
        default_factory=dict,
        json_schema_extra={"default": {}},
        description=description,
        **field,
    )


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerConfig(_Model):
    """[server]: where the Azkaban web server is and how to talk to it."""

    url: Annotated[Text, AfterValidator(_check_url)] | None = Field(
        default=None,
        description="Base URL of the Azkaban web server; AZKABAN_URL overrides it.",
        examples=["https://azkaban.example.com:8443"],
    )
    timezone: Annotated[Text, AfterValidator(check_timezone)] = Field(
        default=DEFAULT_TIMEZONE,
        description="The server's default.timezone.id: cron schedules fire in this zone.",
    )
    verify_tls: Annotated[bool, Strict()] = Field(
        default=True, description="Check the server's TLS certificate."
    )
    ca_bundle: NonBlank | None = Field(
        default=None,
        description="A PEM file of CA certificates to trust, relative to this file.",
    )
    timeout: Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)] = Field(
        default=30, description="Seconds to wait for each request."
    )
    parallelism: Annotated[int, Strict(), Field(ge=1, le=64)] = Field(
        default=8, description="Requests in flight at once (1 to 64)."
    )


class AzstateSettings(_Model):
    """[azstate]: how azstate treats what the file does not declare."""

    prune: tuple[NonBlank, ...] = Field(
        default=(),
        description=(
            "Globs (fnmatch, case-insensitive): server projects that match and are not "
            "declared here are deleted."
        ),
        examples=[["etl-*"]],
    )
    protect: tuple[NonBlank, ...] = Field(
        default=(),
        description=(
            "Globs (fnmatch, case-insensitive): a plan that would delete a server project "
            "matching one of them (through prune) is refused."
        ),
        examples=[["etl-prod*"]],
    )


class SlaRuleConfig(_Model):
    """One SLA rule: the flow (or one job) must succeed or finish within a duration."""

    job: NonBlank | None = Field(
        default=None,
        description=(
            "The job the rule watches; omit for the whole flow. Jobs inside an embedded flow "
            "are named parent:job."
        ),
    )
    rule: Annotated[
        SlaRule,
        BeforeValidator(_sla_rule),
        _enum_schema(SlaRule, "SUCCESS: must succeed in time; FINISH: must finish in time."),
    ]
    duration: Duration
    email: Annotated[bool, Strict()] = Field(
        default=False, description="E-mail sla.emails when the rule is missed."
    )
    kill: Annotated[bool, Strict()] = Field(
        default=False, description="Kill the flow (or job) when the rule is missed."
    )

    @model_validator(mode="after")
    def _needs_an_action(self) -> SlaRuleConfig:
        if not (self.email or self.kill):
            raise ValueError(
                "the rule has no action: set email = true, kill = true, or both "
                "(Azkaban refuses an SLA rule without one)"
            )
        return self


def _no_bracket(name: str) -> str:
    """Names sent as the first part of `group[name][key]`: Azkaban ends that part at the first
    `]`, so a name holding one would reach the server cut short."""
    _non_blank(name)
    if "]" in name:
        raise ValueError(f"{quoted(name)} holds ']', which Azkaban cannot read in this name")
    return name


def _alerter_name(name: str) -> str:
    _no_bracket(name)
    if name.strip().lower() == "email":
        raise ValueError(
            "the e-mail alerter's recipients are sla.emails: write them there, not in alerters"
        )
    return name


def _alerter_value(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    if re.search(r"[,;]", value):
        raise ValueError(
            f"{quoted(value)} holds ',' or ';', where Azkaban splits alerter settings: give one "
            "value per array item"
        )
    if value != value.strip():
        raise ValueError(f"{quoted(value)} has surrounding spaces, which Azkaban strips")
    return value


AlerterName = Annotated[str, Strict(), AfterValidator(_alerter_name)]
AlerterValue = Annotated[str, Strict(), AfterValidator(_alerter_value)]


class SlaConfig(_Model):
    """A schedule's SLA: rules for the flow or its jobs, one set of alerters for all."""

    emails: Emails = ()
    alerters: dict[AlerterName, dict[NonBlank, tuple[AlerterValue, ...]]] = _table(
        (
            "SLA alerters other than e-mail, as Azkaban's slaAlerters[NAME][KEY]: "
            '{ pagerduty = { service = ["svc-1"] } }. Every rule shares them; which names '
            "do anything depends on the alerter plugins of the server."
        ),
        examples=[{"pagerduty": {"service": ["svc-1"]}}],
    )
    rules: Annotated[tuple[SlaRuleConfig, ...], AfterValidator(_at_least_one)] = Field(
        description="At least one rule.", json_schema_extra={"minItems": 1}
    )

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: tuple[SlaRuleConfig, ...]) -> tuple[SlaRuleConfig, ...]:
        seen: set[tuple[str | None, SlaRule]] = set()
        for rule in rules:
            key = (rule.job, rule.rule)
            if key in seen:
                what = f"job {quoted(rule.job)}" if rule.job else "the whole flow"
                raise ValueError(f"two {rule.rule.value} rules for {what}: keep one")
            seen.add(key)
        return rules


def _node_name(name: str) -> str:
    _no_bracket(name)
    if name == "ROOT":
        raise ValueError(
            "ROOT is the flow itself: its runtime properties are the schedule's parameters, "
            "write them there"
        )
    return name


NodeName = Annotated[str, Strict(), AfterValidator(_node_name)]
Level = Annotated[int, Strict(), Field(ge=0, le=_JAVA_INT_MAX)]


class ScheduleConfig(_Model):
    """A cron schedule of one flow (the table's key is the flow id) and its run options.

    Every option Azkaban keeps for a schedule is here; one left out takes Azkaban's default.
    Azkaban never returns a schedule's end time (endSchedTime): azstate never sends it, so each
    apply that (re-)posts a schedule resets it to Azkaban's default, 2050-01-01.
    """

    cron: Annotated[Text, AfterValidator(check_cron)] = Field(
        description="Quartz cron: seconds minutes hours day-of-month month day-of-week [year].",
        examples=["0 0 2 ? * *", "0 30 6 ? * MON-FRI"],
    )
    concurrent: Annotated[
        Concurrent,
        BeforeValidator(_concurrent),
        _enum_schema(
            Concurrent,
            "When a run is still going: skip the new one, ignore (run both), pipeline, or queue.",
        ),
    ] = Concurrent.SKIP
    pipeline_level: Level | None = Field(
        default=None,
        validate_default=True,
        description=(
            "Required with concurrent = pipeline (0 or more). The executor acts on 1 (wait for "
            "the previous run's same job) and 2 (wait for that job's children); Azkaban keeps "
            "any other value but it means nothing to the executor."
        ),
    )
    queue_level: Level | None = Field(
        default=None,
        validate_default=True,
        description=(
            "Only with concurrent = queue (0 or more, default 1): Azkaban keeps it (as the "
            "pipeline level); what it means is up to the executor of the server."
        ),
    )
    failure_action: Annotated[
        FailureAction,
        BeforeValidator(_failure_action),
        _enum_schema(FailureAction, "What to do with running jobs when one fails."),
    ] = FailureAction.FINISH_CURRENT
    failure_action_override: Annotated[bool, Strict()] = Field(
        default=False, description="Azkaban's failureActionOverride flag, kept as it is."
    )
    failure_emails: Emails = ()
    failure_emails_override: Annotated[bool, Strict()] | None = _emails_override("failure_emails")
    success_emails: Emails = ()
    success_emails_override: Annotated[bool, Strict()] | None = _emails_override("success_emails")
    notify_on_first_failure: Annotated[bool, Strict()] = Field(
        default=True,
        description="Email failure_emails as soon as the first job of a run fails.",
    )
    notify_on_last_failure: Annotated[bool, Strict()] = Field(
        default=False,
        description="Email failure_emails when a failed run has finished.",
    )
    mail_creator: Annotated[str, Strict()] = Field(
        default="default",
        description="The name of the mail creator the server formats e-mails with.",
    )
    disabled_jobs: tuple[NonBlank, ...] = Field(
        default=(),
        description=(
            'Jobs to skip in scheduled runs; "sub:inner" is job inner inside embedded flow sub '
            '("sub" skips all of it).'
        ),
    )
    parameters: dict[NonBlank, ParameterValue] = _table(
        "Flow parameter overrides (the flow's own runtime properties), sent as text."
    )
    runtime_properties: dict[NodeName, dict[NonBlank, ParameterValue]] = _table(
        (
            'Properties per job node, sent as text: { "sub:inner" = { memory = "2g" } }. The '
            "flow's own are parameters (ROOT is not a node name here)."
        ),
        examples=[{"start": {"memory": "2g"}, "sub:inner": {"depth": 5}}],
    )
    back_execute_once: Annotated[bool, Strict()] = Field(
        default=False, description="Azkaban's backExecuteOnce flag, kept as it is."
    )
    sla: SlaConfig | None = None

    @field_validator("pipeline_level")
    @classmethod
    def _pipeline_level(cls, level: int | None, info: ValidationInfo) -> int | None:
        concurrent = info.data.get("concurrent")
        if concurrent is None:
            return level
        if concurrent is Concurrent.PIPELINE:
            if level is None:
                raise ValueError(
                    'required with concurrent = "pipeline": 1 (wait for the previous run\'s '
                    "same job) or 2 (wait for that job's children)"
                )
        elif level is not None:
            raise ValueError(
                f'only allowed with concurrent = "pipeline" (this schedule has '
                f'concurrent = "{concurrent.value}")'
            )
        return level

    @field_validator("queue_level")
    @classmethod
    def _queue_level(cls, level: int | None, info: ValidationInfo) -> int | None:
        concurrent = info.data.get("concurrent")
        if concurrent is not None and concurrent is not Concurrent.QUEUE and level is not None:
            raise ValueError(
                f'only allowed with concurrent = "queue" (this schedule has '
                f'concurrent = "{concurrent.value}")'
            )
        return level

    @field_validator("disabled_jobs")
    @classmethod
    def _unique_jobs(cls, jobs: tuple[str, ...]) -> tuple[str, ...]:
        for index, job in enumerate(jobs):
            if job in jobs[:index]:
                raise ValueError(f"{quoted(job)} is listed twice")
            if any(not part.strip() for part in job.split(":")):
                raise ValueError(
                    f'{quoted(job)}: an empty name around ":" (write "sub:inner" for job inner '
                    "of embedded flow sub)"
                )
        return jobs


class PermissionsConfig(_Model):
    """Permission entries of a project; when present they are the whole truth for it."""

    users: dict[Principal, Perms] = _table(
        'User name to permissions, e.g. alice = ["read", "execute"].',
    )
    groups: dict[Principal, Perms] = _table(
        'Group name to permissions, e.g. analysts = ["read"].',
    )
    allow_admin_removal: Annotated[bool, Strict()] = Field(
        default=False,
        description=(
            "Let a plan take ADMIN from a group, from the applying user, or from every entry. "
            "Without it such a plan is refused: Azkaban cannot tell which groups the applying "
            "user is in, and a project nobody administers cannot be repaired through its API."
        ),
    )


class ProjectConfig(_Model):
    """An Azkaban project, owned whole: description, files, schedules, SLAs, permissions."""

    description: Annotated[Text, AfterValidator(_description)] = Field(
        description="Required by Azkaban, non-blank, at most 2048 characters.",
        json_schema_extra={"minLength": 1, "maxLength": DESCRIPTION_MAX},
    )
    source: (
        Annotated[
            Path,
            BeforeValidator(lambda v: _source(v)),
            WithJsonSchema(
                {
                    "type": "string",
                    "minLength": 1,
                    "description": "A directory or a .zip file, relative to this file.",
                }
            ),
        ]
        | None
    ) = None
    protect: Annotated[bool, Strict()] = Field(
        default=False, description="Refuse any plan that deletes this project."
    )
    permissions: PermissionsConfig | None = None
    schedules: dict[FlowId, ScheduleConfig] = _table(
        "One schedule per flow; the key is the flow id."
    )


def _source(value: object) -> object:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a path as a string, got {describe_value(value)}")
    if not value.strip():
        raise ValueError("must not be empty: give a directory or a .zip file")
    if "\0" in value:
        raise ValueError("holds a NUL character, which no path can")
    return Path(value)


def _all_optional(model: type[BaseModel], name: str, doc: str, *, leave_out: str = "") -> Any:
    """``model`` with every field optional and no default of its own, for [defaults.*].

    Derived, not written out, so that an option added to the schedule or SLA model can be
    given a default with no second declaration; each value is checked by the option's own type.
    """
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        if key == leave_out:
            continue
        kind: Any = info.annotation
        if info.metadata:
            kind = Annotated[(kind, *info.metadata)]
        fields[key] = (kind | None, Field(default=None, description=info.description))
    return create_model(name, __base__=_Model, __doc__=doc, **fields)


ScheduleDefaults = _all_optional(
    ScheduleConfig,
    "ScheduleDefaults",
    "[defaults.schedule]: options for every schedule that does not set them (explicit value > "
    "default > Azkaban's default). An option is filled whole: a schedule's own parameters "
    "replace the default parameters. Required keys such as cron are checked after defaults; "
    "sla is not allowed here ([defaults.sla] fills existing SLAs).",
    leave_out="sla",
)
SlaDefaults = _all_optional(
    SlaConfig,
    "SlaDefaults",
    "[defaults.sla]: keys for every existing sla table that does not set them; a default "
    "never creates an SLA.",
)


class DefaultsConfig(_Model):
    """[defaults]: values for options a schedule or SLA leaves out (explicit value > default >
    Azkaban's default); required keys such as cron are checked after defaults are applied."""

    schedule: ScheduleDefaults | None = None  # type: ignore[valid-type]
    sla: SlaDefaults | None = None  # type: ignore[valid-type]


def _variable_name(name: str) -> str:
    if not VARIABLE_NAME.fullmatch(name):
        raise ValueError(
            f"invalid variable name {quoted(name)}: letters, digits and '_', not starting with "
            "a digit (it is also the end of AZSTATE_VAR_NAME)"
        )
    return name


def _variable_shorthand(value: object) -> object:
    return {"default": value} if isinstance(value, str) else value


class VariableConfig(_Model):
    """A variable for ${var.NAME} in string values (not in keys), set by --var NAME=VALUE, else AZSTATE_VAR_NAME, else its default; name = "value" is short for name = { default = "value" }. Only ${var.NAME} is replaced: any other ${...} is Azkaban's own and stays as written, and $${ writes a literal ${."""  # noqa: E501

    default: Text | None = Field(
        default=None,
        description=(
            "The value when neither --var NAME=VALUE nor AZSTATE_VAR_NAME sets it; without "
            "one, plan and apply need it set."
        ),
    )
    sensitive: Annotated[bool, Strict()] = Field(
        default=False,
        description=(
            "Never show the value, nor any string that uses it (shown as (sensitive)); an "
            "overlay cannot turn this off."
        ),
    )
    description: Text | None = Field(default=None, description="What the variable is for.")


VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
VariableName = Annotated[str, AfterValidator(_variable_name)]
Variable = Annotated[VariableConfig, BeforeValidator(_variable_shorthand)]


class Config(_Model):
    """The whole configuration: one file, or the merge of a directory of files."""

    extends: tuple[NonBlank, ...] = Field(
        default=(),
        description=(
            "Files to load first, relative to this file (at the top of the file); this file is "
            "laid over them: tables merge key by key, any other value (arrays too) replaces."
        ),
        examples=[["../base.toml"]],
    )
    variables: dict[VariableName, Variable] = _table(
        (
            "Variables for ${var.NAME} in string values, set by --var NAME=VALUE or "
            "AZSTATE_VAR_NAME; $${ writes a literal ${."
        ),
    )
    defaults: DefaultsConfig = Field(default_factory=DefaultsConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    azstate: AzstateSettings = Field(default_factory=AzstateSettings)
    projects: dict[ProjectName, ProjectConfig] = _table("Projects by name (unique ignoring case).")

    @model_validator(mode="after")
    def _unique_ignoring_case(self) -> Config:
        seen: dict[str, str] = {}
        for name in self.projects:
            other = seen.setdefault(name.lower(), name)
            if other != name:
                raise ValueError(
                    f"projects {quoted(other)} and {quoted(name)} differ only in case; Azkaban "
                    "treats them as one project"
                )
        return self


def json_schema() -> dict[str, Any]:
    """The configuration's JSON Schema, for editors and `azstate schema`.

    TOML has no null, so the "or null" of optional fields is left out: an editor should offer
    the value's own type, and omitting the key is how a TOML file says "none".
    """
    schema: dict[str, Any] = _without_null(Config.model_json_schema())
    variables = schema["properties"]["variables"]
    variables["additionalProperties"] = {
        "anyOf": [
            {"type": "string", "description": "The default value (short form)."},
            variables["additionalProperties"],
        ]
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "azstate configuration"
    schema["description"] = (
        "Azkaban projects, schedules, SLAs and permissions for azstate plan and apply."
    )
    return schema


def _without_null(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_null(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _without_null(v) for k, v in node.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1:
            out = {**rest[0], **out}
        else:
            out["anyOf"] = rest
    if out.get("default", 0) is None:
        del out["default"]
    return out
