"""One builder per endpoint: typed arguments in, a Call with Azkaban's own parameter names out.

Every option a schedule has is sent explicitly, so that what fetchSchedule reads back equals
the value that was sent (scheduleCronFlow replaces all options, and the server's defaults are
not always ours). Login is not here: it carries the password, and a Call is data that plans,
logs and dry runs show; the client logs in by itself. No Call ever holds the session id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from azstate.plan import Call, UploadFile
from azstate.state import FailureAction, Perm, Principal, ScheduleValue, SlaRule, SlaValue

Params = tuple[tuple[str, str], ...]
Method = Literal["GET", "POST", "HEAD"]

# The request tokens parseFlowOptions knows (HRU:61-172); fetchSchedule answers enum names.
FAILURE_ACTION_TOKENS: dict[FailureAction, str] = {
    FailureAction.FINISH_CURRENT: "finishCurrent",
    FailureAction.CANCEL_ALL: "cancelImmediately",
    FailureAction.FINISH_POSSIBLE: "finishPossible",
}

# The order of the five flags in every recorded permission request.
PERMISSION_FLAGS: tuple[Perm, ...] = (
    Perm.ADMIN,
    Perm.READ,
    Perm.WRITE,
    Perm.EXECUTE,
    Perm.SCHEDULE,
)


# Writes whose repetition leaves the server as one sending does: each replaces a whole value
# (the schedule and its options, the SLA list, the description, a permission's five flags).
# The others (create, delete, upload, removeSched, addPermission, executeFlow, cancelFlow) are
# never sent twice: after a lost reply apply checks by reads (resources/) whether they took
# effect, and reports the outcome unknown when no read shows it.
IDEMPOTENT_WRITES = frozenset(
    {"scheduleCronFlow", "setSla", "changeDescription", "changePermission"}
)


def restore(call: Call) -> Call:
    """A call with the flags its plan JSON does not hold (``idempotent``), as built here."""
    idempotent = not call.mutating or call.action in IDEMPOTENT_WRITES
    if call.idempotent == idempotent:
        return call
    return call.model_copy(update={"idempotent": idempotent})


def _read(path: str, *params: tuple[str, str], method: Method = "GET") -> Call:
    return Call(method=method, path=path, params=params, mutating=False, idempotent=True)


def _write(path: str, *params: tuple[str, str], method: Method = "POST") -> Call:
    return restore(Call(method=method, path=path, params=params, mutating=True))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _emails(values: Iterable[str]) -> str:
    """Comma-joined: the server splits on `,` `;` and white space, and keeps empty entries."""
    return ",".join(sorted(v for v in values if v))


def sla_duration(minutes: int) -> str:
    """`H:MM`, the only duration setSla parses (`90m` or `5h` are refused, trap 28)."""
    if minutes < 0:
        raise ValueError(f"an SLA duration cannot be negative ({minutes} minutes)")
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}"


def sla_settings(sla: SlaValue) -> tuple[str, ...]:
    """`job,SUCCESS|FINISH,H:MM,email,kill` per rule, in a stable order.

    Only the exact word `SUCCESS` means "succeed" to the server; `SUCCEED` (what it reads back)
    would silently mean FINISH.
    """
    rules = sorted(sla.rules, key=lambda r: (r.job, r.rule.value, r.minutes, r.email, r.kill))
    return tuple(
        ",".join(
            (
                r.job,
                "SUCCESS" if r.rule is SlaRule.SUCCESS else "FINISH",
                sla_duration(r.minutes),
                _bool(r.email),
                _bool(r.kill),
            )
        )
        for r in rules
    )


def _sla_params(sla: SlaValue, group: str) -> Params:
    """The rules, then the alerters every rule shares.

    The e-mail recipients go as `slaEmails` unless the SLA has other alerters: then all of
    them go as `slaAlerters[name][key]`, recipients as `slaAlerters[email][recipients]`, since
    `slaEmails` with `slaAlerters` is refused (a 500 from scheduleCronFlow).
    """
    params = [(f"{group}[{i}]", s) for i, s in enumerate(sla_settings(sla))]
    if sla.alerters:
        if sla.emails:
            params.append(("slaAlerters[email][recipients]", _emails(sla.emails)))
        for name, config in sla.alerters:
            params += [(f"slaAlerters[{name}][{key}]", ",".join(values)) for key, values in config]
    elif sla.emails:
        params.append(("slaEmails", _emails(sla.emails)))
    return tuple(params)


def disabled_json(jobs: Iterable[str]) -> str:
    """`disabled` in Azkaban's form: a top-level job by name, a job inside an embedded flow as
    `{"id":"sub","children":[...]}` (nested the same way at any depth). `sub:inner` sent as a
    plain name would be stored literally and disable nothing (section 14)."""
    return json.dumps(_disabled_tree([tuple(j.split(":")) for j in jobs]), separators=(",", ":"))


def _disabled_tree(paths: list[tuple[str, ...]]) -> list[object]:
    names = sorted({p[0] for p in paths})
    out: list[object] = []
    for name in names:
        if (name,) in paths:
            out.append(name)
        children = [p[1:] for p in paths if p[0] == name and len(p) > 1]
        if children:
            out.append({"id": name, "children": _disabled_tree(children)})
    return out


def _permission_params(
    ajax: str, project: str, principal: Principal, name: str, perms: frozenset[Perm]
) -> Params:
    flags = tuple((f"permissions[{p.value}]", _bool(p in perms)) for p in PERMISSION_FLAGS)
    return (
        ("ajax", ajax),
        ("project", project),
        ("name", name),
        ("group", _bool(principal == "group")),
        *flags,
    )


# -- projects ------------------------------------------------------------------------------


def create_project(name: str, description: str) -> Call:
    """POST only; the reply has no project id (trap 6)."""
    return _write("/manager", ("action", "create"), ("name", name), ("description", description))


def delete_project(name: str) -> Call:
    """A GET with `delete=`; the reply is a 302 with the outcome in a cookie (trap 9)."""
    return _write("/manager", ("project", name), ("delete", "true"), method="GET")


def upload(project: str, file: UploadFile) -> Call:
    """Multipart: `ajax` and `project` must be body parts, the zip goes in as part `file`."""
    return Call(
        method="POST",
        path="/manager",
        params=(("ajax", "upload"), ("project", project)),
        multipart=True,
        upload=file,
        mutating=True,
        idempotent=False,  # a new project version each time
    )


def change_description(project: str, description: str) -> Call:
    return _write(
        "/manager",
        ("ajax", "changeDescription"),
        ("project", project),
        ("description", description),
    )


def add_permission(project: str, principal: Principal, name: str, perms: frozenset[Perm]) -> Call:
    """All five flags and `group` are required (a missing one is a 500, trap 18)."""
    return _write("/manager", *_permission_params("addPermission", project, principal, name, perms))


def change_permission(
    project: str, principal: Principal, name: str, perms: frozenset[Perm]
) -> Call:
    """With every flag false the server removes the entry: that is how one is deleted."""
    return _write(
        "/manager", *_permission_params("changePermission", project, principal, name, perms)
    )


# -- schedules and SLAs --------------------------------------------------------------------


def schedule_cron_flow(project: str, flow: str, value: ScheduleValue, sla: SlaValue | None) -> Call:
    """Every option explicitly; the SLA in the same request, since a re-post wipes it (trap 23).

    The flow's parameters go as `flowOverride[k]`, unless a job node has runtime properties:
    then they go as `runtimeProperty[ROOT][k]` beside them, since the two groups together are a
    500 that leaves the schedule without options. `endSchedTime` is never sent: Azkaban never
    returns it, so each post resets it to its default (2050-01-01), and the submitting user
    becomes the one who posts.
    """
    if value.concurrent == "pipeline" and value.pipeline_level is None:
        raise ValueError("concurrent = pipeline needs a pipeline level (the server answers 500)")
    params: list[tuple[str, str]] = [
        ("ajax", "scheduleCronFlow"),
        ("projectName", project),
        ("flow", flow),
        ("cronExpression", value.cron),
        ("concurrentOption", value.concurrent),
    ]
    if value.concurrent == "pipeline":
        params.append(("pipelineLevel", str(value.pipeline_level)))
    elif value.concurrent == "queue":
        params.append(("queueLevel", str(1 if value.queue_level is None else value.queue_level)))
    params += [
        ("failureAction", FAILURE_ACTION_TOKENS[value.failure_action]),
        ("failureActionOverride", _bool(value.failure_action_override)),
        ("failureEmailsOverride", _bool(value.failure_emails_override)),
        ("successEmailsOverride", _bool(value.success_emails_override)),
        ("failureEmails", _emails(value.failure_emails)),
        ("successEmails", _emails(value.success_emails)),
        ("notifyFailureFirst", _bool(value.notify_on_first_failure)),
        ("notifyFailureLast", _bool(value.notify_on_last_failure)),
        ("mailCreator", value.mail_creator),
        ("backExecuteOnce", _bool(value.back_execute_once)),
        ("disabled", disabled_json(value.disabled_jobs)),
    ]
    if value.runtime_properties:
        params += [(f"runtimeProperty[ROOT][{k}]", v) for k, v in value.parameters]
        params += [
            (f"runtimeProperty[{node}][{k}]", v)
            for node, props in value.runtime_properties
            for k, v in props
        ]
    else:
        params += [(f"flowOverride[{k}]", v) for k, v in value.parameters]
    if sla is not None:
        params += _sla_params(sla, "slaSettings")
    return _write("/schedule", *params)


def set_sla(schedule_id: int, sla: SlaValue) -> Call:
    """Replaces the whole SLA list; cannot clear it (no rules is an error, trap 29). Takes
    `slaAlerters` as scheduleCronFlow does (section 14)."""
    return _write(
        "/schedule",
        ("ajax", "setSla"),
        ("scheduleId", str(schedule_id)),
        *_sla_params(sla, "settings"),
    )


def remove_schedule(schedule_id: int) -> Call:
    """POST `action=removeSched`: `ajax=removeSched` answers `{}` and removes nothing (trap 22)."""
    return _write("/schedule", ("action", "removeSched"), ("scheduleId", str(schedule_id)))


def removed_schedule_id(call: Call) -> int:
    """The schedule a remove_schedule call removes (a lost reply is checked by it)."""
    return int(call.param("scheduleId") or 0)


# -- reads ---------------------------------------------------------------------------------


def fetch_all_projects() -> Call:
    """Every project with ids and permissions, in one call, whatever the caller may read."""
    return _read("/index", ("ajax", "fetchallprojects"))


def fetch_schedules() -> Call:
    """Every schedule of the server: ids, flow and project names, cron; `{}` when none."""
    return _read("/schedule", ("ajax", "fetchSchedules"))


def fetch_schedule(project_id: int, flow: str) -> Call:
    """By project *id* and `flowId` (trap 20); `{}` when the flow has no schedule."""
    return _read(
        "/schedule", ("ajax", "fetchSchedule"), ("projectId", str(project_id)), ("flowId", flow)
    )


def sla_info(schedule_id: int) -> Call:
    return _read("/schedule", ("ajax", "slaInfo"), ("scheduleId", str(schedule_id)))


def project_page(project: str) -> Call:
    """The HTML project page: the only place the description can be read back (trap 7)."""
    return _read("/manager", ("project", project))


def download(project: str, version: int | None = None, *, head: bool = False) -> Call:
    """The current (or a given) zip; HEAD gives just the `version` and `projectId` headers."""
    params: list[tuple[str, str]] = [("project", project), ("download", "true")]
    if version is not None:
        params.append(("version", str(version)))
    return _read("/manager", *params, method="HEAD" if head else "GET")


def fetch_project_flows(project: str) -> Call:
    return _read("/manager", ("ajax", "fetchprojectflows"), ("project", project))


def fetch_flow_graph(project: str, flow: str) -> Call:
    """Unlike fetchflowjobs, an unknown flow is an error reply rather than a 500 (trap 15)."""
    return _read("/manager", ("ajax", "fetchflowgraph"), ("project", project), ("flow", flow))


def get_project_id(project: str) -> Call:
    return _read("/manager", ("ajax", "getProjectId"), ("project", project))


def get_permissions(project: str) -> Call:
    return _read("/manager", ("ajax", "getPermissions"), ("project", project))


def get_group_permissions(project: str) -> Call:
    return _read("/manager", ("ajax", "getGroupPermissions"), ("project", project))


def fetch_project_logs(project: str, *, size: int | None = None, skip: int | None = None) -> Call:
    params: list[tuple[str, str]] = [("ajax", "fetchProjectLogs"), ("project", project)]
    if size is not None:
        params.append(("size", str(size)))
    if skip is not None:
        params.append(("skip", str(skip)))
    return _read("/manager", *params)


def fetch_user_projects(user: str | None = None) -> Call:
    """Only projects with a direct user permission (roles and groups are ignored, trap 16)."""
    params: list[tuple[str, str]] = [("ajax", "fetchuserprojects")]
    if user is not None:
        params.append(("user", user))
    return _read("/index", *params)


def fetch_job_info(project: str, flow: str, job: str) -> Call:
    """Takes `flowName` and `jobName`, not `flow` and `job`."""
    return _read(
        "/manager",
        ("ajax", "fetchJobInfo"),
        ("project", project),
        ("flowName", flow),
        ("jobName", job),
    )


def get_proxy_users(project: str) -> Call:
    return _read("/manager", ("ajax", "getProxyUsers"), ("project", project))


def fetch_flow_executions(project: str, flow: str, *, start: int = 0, length: int = 10) -> Call:
    """`start` and `length` are required by the server (a 500 without them)."""
    return _read(
        "/manager",
        ("ajax", "fetchFlowExecutions"),
        ("project", project),
        ("flow", flow),
        ("start", str(start)),
        ("length", str(length)),
    )


def get_running(project: str, flow: str) -> Call:
    return _read("/executor", ("ajax", "getRunning"), ("project", project), ("flow", flow))


def cancel_flow(exec_id: int) -> Call:
    return _write("/executor", ("ajax", "cancelFlow"), ("execid", str(exec_id)))


def execute_flow(project: str, flow: str) -> Call:
    """Starts a run: a write, never repeated blindly."""
    return _write("/executor", ("ajax", "executeFlow"), ("project", project), ("flow", flow))


def fetch_exec_flow(exec_id: int) -> Call:
    return _read("/executor", ("ajax", "fetchexecflow"), ("execid", str(exec_id)))
