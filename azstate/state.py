"""The normalized values that desired (config) and live (server) both map into.

Everything that differs only in spelling between what Azkaban is sent and what it reads back is
settled before a value is built here: cron whitespace and case, email lists as sets, SLA
durations in minutes, rule and action names, option names and defaults, permission sets with
ADMIN implying the rest. Two values compare equal exactly when the server would behave the
same, which is what makes a plan right after an apply empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Concurrent(StrEnum):
    SKIP = "skip"
    IGNORE = "ignore"
    PIPELINE = "pipeline"
    QUEUE = "queue"


class FailureAction(StrEnum):
    FINISH_CURRENT = "finish_current"
    CANCEL_ALL = "cancel_all"
    FINISH_POSSIBLE = "finish_possible"


class SlaRule(StrEnum):
    SUCCESS = "SUCCESS"
    FINISH = "FINISH"


class Perm(StrEnum):
    READ = "read"
    WRITE = "write"
    EXECUTE = "execute"
    SCHEDULE = "schedule"
    ADMIN = "admin"


Principal = Literal["user", "group"]
_ADMIN_ONLY = frozenset({Perm.ADMIN})


def email_set(values: Iterable[str]) -> frozenset[str]:
    """Azkaban splits on , ; and white space and keeps empty entries; we never care for those."""
    return frozenset(v.strip() for v in values if v and v.strip())


class SourceFiles(Frozen):
    """What azstate knows of a project's local source after reading it (load.py builds it)."""

    content_digest: str  # sha256 over sorted (path, sha256(content)); see archive.py
    flows: frozenset[str]
    jobs: Mapping[str, frozenset[str]]  # flow id -> job (node) ids, embedded flows included
    zip_name: str
    zip_size: int
    zip_sha256: str  # digest of the exact bytes uploaded
    # path -> sha256 prefix (archive.short_digests): what a files change lists file by file
    file_digests: Mapping[str, str] = {}


class ProjectValue(Frozen):
    """A project's own settings: today its description (None: could not be read)."""

    description: str | None = None


class FilesValue(Frozen):
    """The uploaded content, compared by content digest alone (never by version or zip bytes).

    The zip fields are set on the desired side only: they name the exact bytes an upload sends.
    """

    digest: str | None  # None: nothing uploaded yet
    flows: frozenset[str] | None = None  # None: not read
    # path -> sha256 prefix; in a change, only the files that differ (None: not listed)
    files: Mapping[str, str] | None = None
    zip_name: str | None = None
    zip_size: int | None = None
    zip_sha256: str | None = None

    def plan_json(self) -> dict[str, Any]:
        """The plan's spelling (design.md section 3): ``zip`` and ``size`` for the upload, and
        no sha256 (the upload call names it); unknown parts left out."""
        out: dict[str, Any] = {"digest": self.digest}
        if self.flows is not None:
            out["flows"] = sorted(self.flows)
        if self.files is not None:
            out["files"] = dict(sorted(self.files.items()))
        if self.zip_name:
            out["zip"] = self.zip_name
            out["size"] = self.zip_size
        return out

    @classmethod
    def from_plan_json(cls, data: Mapping[str, Any]) -> FilesValue:
        return cls(
            digest=data.get("digest"),
            flows=frozenset(data["flows"]) if data.get("flows") is not None else None,
            files=dict(data["files"]) if data.get("files") is not None else None,
            zip_name=data.get("zip"),
            zip_size=data.get("size"),
        )


# The endSchedTime Azkaban gives a schedule posted without one (2050-01-01 UTC, C:88). No fetch
# returns it, so it is write-only: azstate never sends it, and every re-post resets it to this.
END_SCHED_TIME_DEFAULT = "2050-01-01T00:00:00Z"

Props = tuple[tuple[str, str], ...]  # sorted (name, value) pairs
NodeProps = tuple[tuple[str, Props], ...]  # sorted (node, props) pairs, no empty props


def _pairs(v: Any) -> Props:
    if isinstance(v, Mapping):
        v = v.items()
    return tuple(sorted((str(k), str(x)) for k, x in v))


class ScheduleValue(Frozen):
    """Every option fetchSchedule reads back and scheduleCronFlow accepts (section 14).

    ``submitted_by`` and ``end_sched_time`` are display-only: they are what a re-post changes
    by itself (the submitting user becomes the applying one; the never-returned endSchedTime is
    reset), so the plan shows them, but they never make two values differ.
    """

    cron: str  # cron.normalize()d
    concurrent: str = Concurrent.SKIP.value  # free string on the server
    pipeline_level: int | None = None  # with concurrent = pipeline only
    queue_level: int | None = None  # with concurrent = queue only (kept as pipelineLevel)
    failure_action: FailureAction = FailureAction.FINISH_CURRENT
    failure_action_override: bool = False
    failure_emails: frozenset[str] = frozenset()
    failure_emails_override: bool = False
    success_emails: frozenset[str] = frozenset()
    success_emails_override: bool = False
    notify_on_first_failure: bool = True
    notify_on_last_failure: bool = False
    mail_creator: str = "default"
    # "job" at the top of the flow, "sub:inner" inside embedded flow "sub" (any depth)
    disabled_jobs: frozenset[str] = frozenset()
    parameters: Props = ()  # the flow root's properties (flowParameters)
    runtime_properties: NodeProps = ()  # per job node, "sub:inner" inside embedded flows
    back_execute_once: bool = False
    # live only: executionOptions is null (a re-post refused in option parsing leaves the cron
    # in place without options until a good re-post)
    no_options: bool = False
    # live only: what the schedule holds that no request can set again (memoryCheck false, ...),
    # in words; a re-post loses it, so no configuration equals it and the plan shows its loss
    cannot_repost: tuple[str, ...] = ()
    submitted_by: str | None = None  # display only: live submitUser, or the applying user
    end_sched_time: str | None = None  # display only: write-only, None when not known

    @field_validator("parameters", mode="before")
    @classmethod
    def _sorted_parameters(cls, v: Any) -> Any:
        return _pairs(v)

    @field_validator("runtime_properties", mode="before")
    @classmethod
    def _sorted_runtime_properties(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            v = v.items()
        nodes = ((str(node), _pairs(props)) for node, props in v)
        return tuple(sorted((node, props) for node, props in nodes if props))

    @field_validator("failure_emails", "success_emails", mode="before")
    @classmethod
    def _emails(cls, v: Any) -> Any:
        return email_set(v)

    def compared(self) -> tuple[Any, ...]:
        """The fields that make two schedules behave differently (not the display-only ones)."""
        return tuple(v for k, v in self.__dict__.items() if k not in DISPLAY_ONLY)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScheduleValue):
            return NotImplemented
        return self.compared() == other.compared()

    def __hash__(self) -> int:
        return hash(self.compared())


# Shown in a plan as what a re-post does by itself; never a difference, never drift.
DISPLAY_ONLY = frozenset({"submitted_by", "end_sched_time"})


class SlaRuleValue(Frozen):
    job: str = ""  # "" is the whole flow
    rule: SlaRule
    minutes: int
    email: bool = False
    kill: bool = False


AlerterConfigs = tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]


class SlaValue(Frozen):
    """The SLA rules of a schedule and the alerters every rule shares.

    ``emails`` are the e-mail alerter's recipients; ``alerters`` hold every other alerter's
    settings (``slaAlerters[name][key]``, read back as ``alertersConfigs``), sorted by alerter
    and key, each value as the list the server split it into.
    """

    emails: frozenset[str] = frozenset()
    rules: frozenset[SlaRuleValue]
    alerters: AlerterConfigs = ()

    @field_validator("emails", mode="before")
    @classmethod
    def _emails(cls, v: Any) -> Any:
        return email_set(v)

    @field_validator("alerters", mode="before")
    @classmethod
    def _sorted_alerters(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            v = v.items()
        out = []
        for name, config in v:
            items = config.items() if isinstance(config, Mapping) else config
            settings = tuple(sorted((str(k), tuple(str(x) for x in xs)) for k, xs in items))
            if settings:
                out.append((str(name), settings))
        return tuple(sorted(out))


class PermissionValue(Frozen):
    perms: frozenset[Perm]

    @field_validator("perms", mode="before")
    @classmethod
    def _admin_holds_only_admin(cls, v: Any) -> Any:
        perms = frozenset(p if isinstance(p, Perm) else Perm(str(p).lower()) for p in v)
        return _ADMIN_ONLY if Perm.ADMIN in perms else perms


def permission_key(principal: Principal, name: str) -> str:
    return f"{principal}.{name}"


class LiveIds(Frozen):
    """Server-side identities a refresh learns; never compared, used to address calls."""

    project_id: int
    version: int | None = None  # None: no upload yet
    schedule_ids: Mapping[str, int] = {}
    # by flow: what a schedule holds that Azkaban itself cannot re-post (import notes them)
    unmanaged: Mapping[str, tuple[str, ...]] = {}
    # by flow: the live cron was one only Quartz 2.2 takes; import writes what it means, noted
    cron_notes: Mapping[str, str] = {}


class ProjectState(Frozen):
    """One project as desired or as live.

    On the desired side ``None`` means "not managed" (no source, no permissions table); on the
    live side it means "not read" (the refresh skipped it).
    """

    name: str
    description: str | None = None
    files: FilesValue | None = None
    schedules: Mapping[str, ScheduleValue] = {}
    slas: Mapping[str, SlaValue] = {}
    permissions: Mapping[str, PermissionValue] | None = None  # key: permission_key()
    protect: bool = False
    allow_admin_removal: bool = False  # desired only: [projects.NAME.permissions]
    ids: LiveIds | None = None  # live only


class ServerState(Frozen):
    """Projects keyed by lower-cased name: Azkaban treats names case-insensitively."""

    projects: Mapping[str, ProjectState] = {}
    user: str = ""  # the applying user, whose own permission entry is kept

    def get(self, name: str) -> ProjectState | None:
        return self.projects.get(name.lower())


# A resource's value as a plan carries it; which one a change holds follows from its address.
Value = ProjectValue | FilesValue | ScheduleValue | SlaValue | PermissionValue


def plan_json(value: BaseModel | None) -> dict[str, Any] | None:
    """A value as plan JSON: jsonable(), or the files value's own spelling."""
    if isinstance(value, FilesValue):
        return value.plan_json()
    return jsonable(value)


def duration(minutes: int) -> str:
    """Minutes as the TOML spells durations: 90 -> 1h30m, 120 -> 2h, 45 -> 45m (export writes
    it, views show it)."""
    hours, mins = divmod(int(minutes), 60)
    if hours and mins:
        return f"{hours}h{mins}m"
    if hours:
        return f"{hours}h"
    return f"{mins}m"


def jsonable(value: BaseModel | None) -> dict[str, Any] | None:
    """A value as plan JSON: sets as sorted lists, pairs as objects, enums as their text."""
    if value is None:
        return None
    out: dict[str, Any] = {}
    for key, field in value:
        out[key] = _json_field(key, field)
    return out


def _json_field(key: str, field: Any) -> Any:
    if isinstance(field, BaseModel):
        return jsonable(field)
    if key == "parameters":
        return dict(field)
    if key == "runtime_properties":
        return {node: dict(props) for node, props in field}
    if key == "alerters":
        return {name: {k: list(xs) for k, xs in config} for name, config in field}
    if isinstance(field, frozenset):
        items = [_json_field("", x) for x in field]
        return sorted(
            items, key=lambda x: str(sorted(x.items())) if isinstance(x, dict) else str(x)
        )
    if isinstance(field, StrEnum):
        return field.value
    if isinstance(field, Mapping):
        return {k: _json_field(k, v) for k, v in sorted(field.items())}
    if isinstance(field, tuple):
        return [_json_field("", x) for x in field]
    return field
