"""Reply models, and the mapping from what Azkaban reads back to the normalized state values.

What is sent and what is read back differ in spelling (azkaban-api.md traps 21, 24, 27, 28):
ids are numbers in one reply and strings in the next, `{}` means "none", `finishCurrent` comes
back as `FINISH_CURRENTLY_RUNNING`, `SUCCESS` as `SUCCEED`, `1:30` as `"90m"` or 5400 seconds,
a `disabled` JSON list as `disabledJobs` objects, `flowOverride[k]` as `flowParameters`. Each
parser here takes one decoded reply and returns a value that compares equal to the desired one
exactly when the server would behave the same. A reply of an unexpected shape is an
AzkabanError naming the endpoint, never a pydantic or KeyError traceback.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from azstate import cron
from azstate.errors import AzkabanError
from azstate.state import (
    FailureAction,
    Perm,
    PermissionValue,
    ScheduleValue,
    SlaRule,
    SlaRuleValue,
    SlaValue,
    email_set,
)
from azstate.wire.detect import header

log = logging.getLogger("azstate.wire")

T = TypeVar("T")

FAILURE_ACTIONS: dict[str, FailureAction] = {
    "FINISH_CURRENTLY_RUNNING": FailureAction.FINISH_CURRENT,
    "CANCEL_ALL": FailureAction.CANCEL_ALL,
    "FINISH_ALL_POSSIBLE": FailureAction.FINISH_POSSIBLE,
}

# SlaType names in fetchSchedule's slaOptions (SLT:23-26): (flow-level?, rule).
SLA_TYPES: dict[str, tuple[bool, SlaRule]] = {
    "FLOW_SUCCEED": (True, SlaRule.SUCCESS),
    "FLOW_FINISH": (True, SlaRule.FINISH),
    "JOB_SUCCEED": (False, SlaRule.SUCCESS),
    "JOB_FINISH": (False, SlaRule.FINISH),
}

# slaInfo's rule words: only SUCCEED is "succeed"; anything else was stored as finish.
SLA_INFO_RULES: dict[str, SlaRule] = {"SUCCEED": SlaRule.SUCCESS, "FINISH": SlaRule.FINISH}

_MINUTES = re.compile(r"^\s*(-?\d+)\s*m\s*$")
_DESCRIPTION = re.compile(r'<[^>]*\bid="project-description"[^>]*>(.*?)</', re.DOTALL)
_PROJECT_MISSING = re.compile(r"^Project .* doesn't exist\.?$", re.DOTALL)
_NO_VERSION = re.compile(r"with version -?\d+ doesn't exist")


class ReplyModel(BaseModel):
    """Base of the reply models: frozen values, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ProjectListing(ReplyModel):
    """One item of fetchallprojects: no version, description or flows (trap 16)."""

    project_id: int
    name: str
    created_by: str | None = None  # in fact the last user to modify the project
    created_time: int | None = None
    user_permissions: dict[str, PermissionValue] = {}
    group_permissions: dict[str, PermissionValue] = {}


class ScheduleListing(ReplyModel):
    """One item of fetchSchedules: lower-case `flowname`/`projectname`, a numeric id."""

    schedule_id: int
    project_name: str
    flow: str
    cron: str  # cron.normalize()d


class SlaRuleReadBack(ReplyModel):
    """An SLA rule as fetchSchedule's slaOptions show it: no actions there, only the type."""

    job: str  # "" is the whole flow
    rule: SlaRule
    minutes: int


class SlaPartial(ReplyModel):
    """What fetchSchedule tells of a schedule's SLA; slaInfo is needed for email/kill."""

    emails: frozenset[str]
    rules: frozenset[SlaRuleReadBack]


class LiveSchedule(ReplyModel):
    """fetchSchedule's answer: the options as a ScheduleValue, and whether an SLA is set."""

    schedule_id: int
    value: ScheduleValue
    has_sla: bool
    sla_partial: SlaPartial | None = None
    submit_user: str | None = None
    next_exec_time: str | None = None  # server time zone, no zone marker
    unmanaged: tuple[str, ...] = ()  # set options the value cannot hold (import reports them)
    cron_note: str | None = None  # a cron only Quartz 2.2 takes, read as what it means


class UploadResult(ReplyModel):
    project_id: int
    version: int
    warnings: str | None = None


class FlowNode(ReplyModel):
    id: str
    type: str | None = None
    parents: tuple[str, ...] = ()
    embedded_flow: str | None = None


class FlowGraph(ReplyModel):
    flow: str
    nodes: tuple[FlowNode, ...]


class ProjectLogEntry(ReplyModel):
    user: str | None
    time: int | None
    type: str
    message: str | None


class JobInfo(ReplyModel):
    job: str
    type: str | None = None
    general_params: dict[str, str] = {}
    override_params: dict[str, str] = {}


class ExecutionSummary(ReplyModel):
    """One row of fetchFlowExecutions; times in epoch milliseconds, -1 when not yet."""

    exec_id: int
    flow: str
    project_id: int
    status: str
    submit_user: str | None = None
    submit_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None


class Execution(ReplyModel):
    exec_id: int
    project: str | None = None
    flow: str | None = None
    status: str
    nodes: dict[str, str] = {}  # node id -> status


# -- helpers -------------------------------------------------------------------------------


def _shape(endpoint: str, detail: str) -> AzkabanError:
    return AzkabanError(f"unexpected reply shape from {endpoint}: {detail}", action=endpoint)


def _guard(endpoint: str, build: Callable[[], T]) -> T:
    """Run a parse; any surprise in the reply becomes one AzkabanError naming the endpoint."""
    try:
        return build()
    except AzkabanError:
        raise
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise _shape(endpoint, detail) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _shape(endpoint, f"{type(exc).__name__}: {exc}") from exc


def _obj(reply: Any, endpoint: str) -> dict[str, Any]:
    if not isinstance(reply, dict):
        raise _shape(endpoint, f"expected a JSON object, got {type(reply).__name__}")
    return reply


def _int(value: Any) -> int:
    """Ids arrive as numbers or as strings depending on the endpoint (traps 11, 21)."""
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {value!r}")
    return [v for v in value if isinstance(v, str)]


def perms_from_types(types: Any) -> PermissionValue:
    """Azkaban's type names to our Perm set; global-only types (METRICS, ...) are not ours."""
    names = tuple(sorted({str(t).lower() for t in (types or [])}))
    unknown = [n for n in names if n not in _PERMS_BY_NAME]
    if unknown:
        log.debug("ignoring permission types azstate does not manage: %s", ", ".join(unknown))
    return _permission_value(tuple(n for n in names if n in _PERMS_BY_NAME))


_PERMS_BY_NAME = {p.value: p for p in Perm}


@functools.lru_cache(maxsize=256)
def _permission_value(names: tuple[str, ...]) -> PermissionValue:
    """One frozen value per set of types: a listing of a thousand projects repeats a few."""
    return PermissionValue(perms=frozenset(_PERMS_BY_NAME[n] for n in names))


def is_missing_project(error: AzkabanError) -> bool:
    """`Project X doesn't exist.`: how /manager ajax calls say a project is not there."""
    return bool(_PROJECT_MISSING.match(error.message))


def is_missing_version(error: AzkabanError) -> bool:
    """The download's failure cookie when a project has no upload (or not that version)."""
    return bool(_NO_VERSION.search(error.message))


# -- projects ------------------------------------------------------------------------------

Wanted = Callable[[str], bool]


def _wanted(wanted: Wanted | None, name: Any) -> bool:
    """Whether a listing's item is kept; an item without a name string is kept, to be
    refused by the mapping as before."""
    return wanted is None or not isinstance(name, str) or wanted(name.lower())



def project_listings(
    reply: Any, endpoint: str = "fetchallprojects", wanted: Wanted | None = None
) -> list[ProjectListing]:
    """fetchallprojects (or fetchuserprojects): `{"projects":[...]}`, permissions as
    `{"first":name,"second":{"types":[...]}}` pairs. ``wanted`` (a lower-cased project name
    -> bool) skips the others before they are mapped: a --target reads one of a thousand."""

    def build() -> list[ProjectListing]:
        items = _obj(reply, endpoint).get("projects") or []
        return [_listing(item) for item in items if _wanted(wanted, item.get("projectName"))]

    return _guard(endpoint, build)


def _listing(item: dict[str, Any]) -> ProjectListing:
    def pairs(key: str) -> dict[str, PermissionValue]:
        out: dict[str, PermissionValue] = {}
        for pair in item.get(key) or []:
            out[str(pair["first"])] = perms_from_types((pair.get("second") or {}).get("types"))
        return out

    created = item.get("createdTime")
    return ProjectListing(
        project_id=_int(item["projectId"]),
        name=str(item["projectName"]),
        created_by=item.get("createdBy"),
        created_time=_int(created) if created is not None else None,
        user_permissions=pairs("userPermissions"),
        group_permissions=pairs("groupPermissions"),
    )


def project_id(reply: Any) -> int:
    """getProjectId (or any /manager ajax reply): the numeric `projectId`."""
    return _guard("getProjectId", lambda: _int(_obj(reply, "getProjectId")["projectId"]))


def project_flows(reply: Any) -> list[str]:
    """fetchprojectflows: top-level flow ids, sorted (the server's order is a HashMap's);
    embedded flows are left out by the server."""

    def build() -> list[str]:
        flows = _obj(reply, "fetchprojectflows").get("flows") or []
        return sorted({str(f["flowId"]) for f in flows})

    return _guard("fetchprojectflows", build)


def flow_graph(reply: Any) -> FlowGraph:
    def node(raw: dict[str, Any]) -> FlowNode:
        return FlowNode(
            id=str(raw["id"]),
            type=raw.get("type"),
            parents=tuple(_str_list(raw.get("in"))),
            embedded_flow=raw.get("flowId"),
        )

    def build() -> FlowGraph:
        body = _obj(reply, "fetchflowgraph")
        return FlowGraph(flow=str(body["flow"]), nodes=tuple(node(n) for n in body["nodes"]))

    return _guard("fetchflowgraph", build)


def permissions(reply: Any, endpoint: str = "getPermissions") -> dict[str, PermissionValue]:
    """getPermissions / getGroupPermissions: the key is `username` even for groups."""

    def build() -> dict[str, PermissionValue]:
        items = _obj(reply, endpoint).get("permissions") or []
        return {str(i["username"]): perms_from_types(i.get("permission")) for i in items}

    return _guard(endpoint, build)


def job_info(reply: Any) -> JobInfo:
    def build() -> JobInfo:
        body = _obj(reply, "fetchJobInfo")

        def props(key: str) -> dict[str, str]:
            return {str(k): str(v) for k, v in (body.get(key) or {}).items()}

        return JobInfo(
            job=str(body["jobName"]),
            type=body.get("jobType"),
            general_params=props("generalParams"),
            override_params=props("overrideParams"),
        )

    return _guard("fetchJobInfo", build)


def proxy_users(reply: Any) -> list[str]:
    return _guard(
        "getProxyUsers", lambda: sorted(_str_list(_obj(reply, "getProxyUsers").get("proxyUsers")))
    )


def upload_result(reply: Any) -> UploadResult:
    """`projectId` and `version` come as strings here, and there is no `status` (trap 11)."""

    def build() -> UploadResult:
        body = _obj(reply, "upload")
        warn = body.get("warn")
        return UploadResult(
            project_id=_int(body["projectId"]),
            version=_int(body["version"]),
            warnings=re.sub(r"<br\s*/?>", "\n", str(warn)).strip() if warn else None,
        )

    return _guard("upload", build)


def download_identity(headers: Mapping[str, str]) -> tuple[int, int]:
    """The download reply's `projectId` and `version` headers, as numbers."""

    def build() -> tuple[int, int]:
        pid, version = header(headers, "projectId"), header(headers, "version")
        if pid is None or version is None:
            raise ValueError("no projectId/version headers")
        return _int(pid), _int(version)

    return _guard("download", build)


# The project page's own line-break marker: before escaping, ``<br>`` and ``<br/>`` (lower case,
# exactly) become it, and after escaping it (also one typed by the user) becomes ``<br>``.
_PAGE_NEWLINE = "!NEWLINE!"
_PAGE_BREAK = "<br>"
_SURROGATE_PAIR = re.compile(r"&#(\d+);&#(\d+);")


def description_as_shown(text: str) -> str:
    """A description as the project page shows it: the one form descriptions are compared in.

    The server stores a description exactly (white space included, section 14), and the page
    shows it exactly except that ``<br>``, ``<br/>`` and a literal ``!NEWLINE!`` all come out
    as ``<br>``. Comparing both sides in this form makes a plan agree with what can be read
    back wherever it is read: the page (which already shows this form) or the ``/index?all``
    listing (which shows the exact text). ``validate`` warns where the form differs from the
    text, since such a change cannot be seen on the page.
    """
    marked = text.replace("<br/>", _PAGE_NEWLINE).replace("<br>", _PAGE_NEWLINE)
    return marked.replace(_PAGE_NEWLINE, _PAGE_BREAK)


def unescape_page_text(text: str) -> str:
    """One pass of the server's HTML escaping undone (commons-lang ``escapeHtml``).

    It writes a character outside the BMP as two ``&#N;`` references, one per UTF-16 unit;
    a standard unescape turns each into U+FFFD, so pairs are joined first.
    """

    def join(found: re.Match[str]) -> str:
        high, low = int(found.group(1)), int(found.group(2))
        if 0xD800 <= high < 0xDC00 and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return found.group(0)

    return html.unescape(_SURROGATE_PAIR.sub(join, text))


def description_from_page(page: str) -> str | None:
    """The description on the project page, as ``description_as_shown`` spells it; None if the
    page has no description element (section 14).

    The page escapes twice: the page code escapes the text (with its line-break marker made
    ``<br>``), then the template escapes all of that once more. Undoing the template's pass
    leaves the only ``<`` of the text in the ``<br>`` breaks; undoing the page code's pass
    between them gives the text back. White space is the stored text's, kept as it is.
    """
    found = _DESCRIPTION.search(page)
    if found is None:
        return None
    once = html.unescape(found.group(1))
    return _PAGE_BREAK.join(unescape_page_text(part) for part in once.split(_PAGE_BREAK))


def project_logs(reply: Any) -> list[ProjectLogEntry]:
    """fetchProjectLogs: `logData` rows `[user, time, type, message]`, newest first."""

    def build() -> list[ProjectLogEntry]:
        rows = _obj(reply, "fetchProjectLogs").get("logData") or []
        return [
            ProjectLogEntry(
                user=r[0],
                time=_int(r[1]) if r[1] is not None else None,
                type=str(r[2]),
                message=r[3],
            )
            for r in rows
        ]

    return _guard("fetchProjectLogs", build)


# -- schedules -----------------------------------------------------------------------------


def schedule_listings(reply: Any, wanted: Wanted | None = None) -> list[ScheduleListing]:
    """fetchSchedules: `{}` (no `items`) when the server has no schedule at all (trap 24).
    ``wanted``: as for project_listings, by the schedule's project."""

    def build() -> list[ScheduleListing]:
        items = _obj(reply, "fetchSchedules").get("items") or []
        return [
            ScheduleListing(
                schedule_id=_int(i["scheduleId"]),
                project_name=str(i["projectname"]),
                flow=str(i["flowname"]),
                cron=cron.normalize(str(i.get("cron") or "")),
            )
            for i in items
            if _wanted(wanted, i.get("projectname"))
        ]

    return _guard("fetchSchedules", build)


def scheduled_id(reply: Any) -> int:
    """scheduleCronFlow's `scheduleId`, a number here (a string in fetchSchedule)."""

    def build() -> int:
        sid = _int(_obj(reply, "scheduleCronFlow")["scheduleId"])
        if sid < 0:
            raise ValueError("scheduleId -1: nothing was stored")
        return sid

    return _guard("scheduleCronFlow", build)


def live_schedule(reply: Any) -> LiveSchedule | None:
    """fetchSchedule: `{}` is "no schedule"; otherwise the options mapped back (trap 27)."""

    def build() -> LiveSchedule | None:
        body = _obj(reply, "fetchSchedule")
        if "schedule" not in body:
            return None
        sched = body["schedule"]
        raw_options = sched.get("executionOptions")
        options = raw_options or {}
        sla_options = options.get("slaOptions") or []
        partial = _sla_partial(sla_options) if sla_options else None
        value = schedule_value(
            str(sched.get("cronExpression") or ""),
            raw_options,
            back_execute_once=bool(sched.get("backExecuteOnce")),
        )
        submit_user = sched.get("submitUser")
        if submit_user is not None:
            value = value.model_copy(update={"submitted_by": str(submit_user)})
        return LiveSchedule(
            schedule_id=_int(sched["scheduleId"]),
            value=value,
            has_sla=bool(sla_options),
            sla_partial=partial,
            submit_user=sched.get("submitUser"),
            next_exec_time=sched.get("nextExecTime"),
            unmanaged=unmanaged_options(raw_options),
            cron_note=cron.quartz22_note(str(sched.get("cronExpression") or "")),
        )

    return _guard("fetchSchedule", build)


def unmanaged_options(options: Mapping[str, Any] | None) -> tuple[str, ...]:
    """What executionOptions hold that Azkaban itself cannot take back in a scheduleCronFlow,
    in words: every re-post loses it, so whoever adopts a server must hear of it. Everything
    else is in the ScheduleValue (section 14)."""
    if options is None:
        return ()  # the value says so (no_options), and the plan re-posts the schedule
    found: list[str] = []
    if options.get("memoryCheck") is False:
        found.append("memoryCheck false (no request parameter sets it; a re-post turns it on)")
    if options.get("pipelineExecutionId") is not None:
        found.append(
            f"pipelineExecutionId {options['pipelineExecutionId']} (no request parameter sets "
            "it; a re-post clears it)"
        )
    for name in _literal_colon_names(options.get("disabledJobs")):
        found.append(
            f"disabled job given literally as {name!r}, which names no node and disables "
            "nothing; a re-post drops it"
        )
    return tuple(found)


def schedule_value(
    cron_expression: str, options: Mapping[str, Any] | None, *, back_execute_once: bool = False
) -> ScheduleValue:
    """executionOptions (Jackson's ExecutionOptions bean) as the ScheduleValue that was sent.

    `queue` keeps its level in `pipelineLevel` (`queueLevel` reads 0). `null` options (a
    refused re-post of an existing schedule) read as Azkaban's defaults with `no_options` set,
    so that no configuration equals them. A literal `sub:inner` disabled name disables
    nothing, so it is left out (unmanaged_options names it). `backExecuteOnce` sits beside the
    options in the reply, so the caller passes it.
    """
    missing = options is None
    options = options or {}
    concurrent = str(options.get("concurrentOption") or "skip")
    raw_level = options.get("pipelineLevel")
    level = _int(raw_level) if raw_level is not None else None
    action_name = options.get("failureAction") or "FINISH_CURRENTLY_RUNNING"
    if action_name not in FAILURE_ACTIONS:
        raise ValueError(f"unknown failureAction {action_name!r}")
    notify_first = options.get("notifyOnFirstFailure")
    creator = options.get("mailCreator")
    return ScheduleValue(
        cron=cron.normalize(cron_expression),
        concurrent=concurrent,
        pipeline_level=level if concurrent == "pipeline" else None,
        queue_level=level if concurrent == "queue" else None,
        failure_action=FAILURE_ACTIONS[action_name],
        failure_action_override=bool(options.get("failureActionOverridden")),
        failure_emails=email_set(_str_list(options.get("failureEmails"))),
        failure_emails_override=bool(options.get("failureEmailsOverridden")),
        success_emails=email_set(_str_list(options.get("successEmails"))),
        success_emails_override=bool(options.get("successEmailsOverridden")),
        notify_on_first_failure=True if notify_first is None else bool(notify_first),
        notify_on_last_failure=bool(options.get("notifyOnLastFailure")),
        mail_creator="default" if creator is None else str(creator),
        disabled_jobs=frozenset(disabled_paths(options.get("disabledJobs"))),
        parameters=_props(options.get("flowParameters")),
        runtime_properties=tuple(
            (str(node), _props(props))
            for node, props in (options.get("runtimeProperties") or {}).items()
        ),
        back_execute_once=back_execute_once,
        no_options=missing,
        cannot_repost=unmanaged_options(None if missing else options),
    )


def _props(raw: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in (raw or {}).items())


def disabled_paths(items: Any) -> list[str]:
    """`disabledJobs` beans (`{"name","children","embeddedFlow"}`) as TOML names: `job` at the
    top, `sub:inner` for a child of embedded flow `sub`, at any depth. An embedded flow with no
    children disables nothing and gives nothing; so do `null` items (objects sent without
    `children`, section 13) and plain names holding ':' (stored literally, section 14)."""
    return [path for path, name in _disabled_leaves(items, "") if ":" not in name]


def _literal_colon_names(items: Any) -> list[str]:
    return [name for _, name in _disabled_leaves(items, "") if ":" in name]


def _disabled_leaves(items: Any, parent: str) -> Iterator[tuple[str, str]]:
    """(path, name) of every leaf of the bean tree, where the path names its embedded flows."""
    for item in items or []:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = str(item["name"])
        children = item.get("children")
        if item.get("embeddedFlow") or children is not None:
            yield from _disabled_leaves(children, f"{parent}{name}:")
        else:
            yield parent + name, name


def _sla_partial(options: list[Any]) -> SlaPartial:
    rules: set[SlaRuleReadBack] = set()
    emails: set[str] = set()
    for option in options:
        flow_level, rule = SLA_TYPES[str(option["type"])]
        seconds = _int((option.get("duration") or {}).get("seconds", 0))
        rules.add(
            SlaRuleReadBack(
                job="" if flow_level else str(option.get("jobName") or ""),
                rule=rule,
                minutes=seconds // 60,
            )
        )
        emails |= email_set(_str_list(option.get("emails")))
    return SlaPartial(emails=frozenset(emails), rules=frozenset(rules))


def sla_from_info(reply: Any) -> SlaValue | None:
    """slaInfo as the SlaValue that was set; None when it has no `settings` (no SLA).

    `SUCCEED` is read back for `SUCCESS`, `"90m"` for `1:30`, an `["EMAIL","KILL"]` list for
    the two flags, and `id` `""` (or null, after a restart) for the whole flow (trap 28). The
    one email list is the first rule's, which setSla gives every rule (trap 29).
    """

    def build() -> SlaValue | None:
        body = _obj(reply, "slaInfo")
        settings = body.get("settings")
        if settings is None:
            return None
        rules = frozenset(_sla_rule(s) for s in settings)
        alerters = dict(body.get("slaAlerters") or {})
        email = alerters.pop("email", None) or {}
        emails = body.get("slaEmails")
        if emails is None:
            emails = email.get("recipients")
        return SlaValue(
            emails=email_set(_str_list(emails)),
            rules=rules,
            alerters=tuple(
                (str(name), tuple((str(k), tuple(_str_list(v))) for k, v in (config or {}).items()))
                for name, config in alerters.items()
            ),
        )

    return _guard("slaInfo", build)


def _sla_rule(setting: Mapping[str, Any]) -> SlaRuleValue:
    rule = SLA_INFO_RULES.get(str(setting.get("rule")))
    if rule is None:
        raise ValueError(f"unknown SLA rule {setting.get('rule')!r}")
    actions = {str(a).upper() for a in setting.get("actions") or []}
    return SlaRuleValue(
        job=str(setting.get("id") or ""),
        rule=rule,
        minutes=_sla_minutes(setting.get("duration")),
        email="EMAIL" in actions,
        kill="KILL" in actions,
    )


def _sla_minutes(duration: Any) -> int:
    """`"<minutes>m"`, as slaInfo always writes durations (`5:00` comes back as `300m`)."""
    if isinstance(duration, int) and not isinstance(duration, bool):
        return duration
    found = _MINUTES.match(str(duration))
    if found is None:
        raise ValueError(f"SLA duration {duration!r} is not '<minutes>m'")
    return int(found.group(1))


# -- executions ----------------------------------------------------------------------------


def exec_id(reply: Any) -> int:
    """executeFlow: `execid`, a number."""
    return _guard("executeFlow", lambda: _int(_obj(reply, "executeFlow")["execid"]))


def flow_executions(reply: Any) -> list[ExecutionSummary]:
    """fetchFlowExecutions: the page of runs asked for, newest first."""

    def build() -> list[ExecutionSummary]:
        def millis(value: Any) -> int | None:
            return None if value is None else _int(value)

        return [
            ExecutionSummary(
                exec_id=_int(e["execId"]),
                flow=str(e["flowId"]),
                project_id=_int(e["projectId"]),
                status=str(e["status"]),
                submit_user=e.get("submitUser"),
                submit_time=millis(e.get("submitTime")),
                start_time=millis(e.get("startTime")),
                end_time=millis(e.get("endTime")),
            )
            for e in _obj(reply, "fetchFlowExecutions").get("executions") or []
        ]

    return _guard("fetchFlowExecutions", build)


def running(reply: Any) -> list[int]:
    """getRunning: `{"execIds":[...]}`, or `{}` when nothing runs."""
    return _guard(
        "getRunning", lambda: [_int(i) for i in _obj(reply, "getRunning").get("execIds") or []]
    )


def execution(reply: Any) -> Execution:
    def build() -> Execution:
        body = _obj(reply, "fetchexecflow")
        return Execution(
            exec_id=_int(body["execid"]),
            project=body.get("project"),
            flow=body.get("flowId") or body.get("flow"),
            status=str(body["status"]),
            nodes={str(n["id"]): str(n.get("status")) for n in body.get("nodes") or []},
        )

    return _guard("fetchexecflow", build)
