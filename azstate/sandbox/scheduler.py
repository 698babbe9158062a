"""``/schedule`` (ScheduleServlet): cron schedules and their SLAs.

AJAX names: slaInfo, setSla, fetchSchedules (alias loadFlow), scheduleFlow, scheduleCronFlow,
fetchSchedule; any other gives ``{}``. ``removeSched`` exists only as a POST ``action``, whose
reply is also copied into a message cookie. A schedule is unique per (project id, flow):
scheduling the same flow again keeps the id and replaces every option, SLAs included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from azstate import cron
from azstate.errors import CronError
from azstate.sandbox import pages
from azstate.sandbox.exchange import FAILURE_COOKIE, SUCCESS_COOKIE, Reply, ServletError
from azstate.sandbox.flowoptions import (
    OptionError,
    Options,
    filter_admin_only,
    options_bean,
    parse_flow_options,
    parse_sla_options,
    sla_web,
    validate_flow_parameters,
)
from azstate.sandbox.javalang import hashmap, hashmap_order, parse_boolean
from azstate.sandbox.manager import page_reply
from azstate.sandbox.servlet import Context
from azstate.sandbox.store import Project, Schedule, now_ms
from azstate.sandbox.users import is_admin

_SERVLET = "javax.servlet.ServletException"


def handle_get(ctx: Context) -> Reply:
    if ctx.req.has("ajax"):
        return _ajax(ctx)
    return page_reply(pages.message_page(heading="Scheduled Flows"))


def handle_post(ctx: Context) -> Reply:
    if ctx.req.has("ajax"):
        return _ajax(ctx)
    ret: dict[str, Any] = {}
    if ctx.req.has("action"):
        action = ctx.req.require("action")
        if action == "scheduleFlow":
            _schedule_flow(ctx, ret)
        elif action == "scheduleCronFlow":
            _schedule_cron_flow(ctx, ret)
        elif action == "removeSched":
            _remove(ctx, ret)
    reply = Reply.json(hashmap(ret))
    if ret.get("status") == "success":
        reply.set_cookie(SUCCESS_COOKIE, ret.get("message"))
    else:
        reply.set_cookie(FAILURE_COOKIE, ret.get("message"))
    return reply


def _ajax(ctx: Context) -> Reply:
    ajax = ctx.req.require("ajax")
    ret: dict[str, Any] = {}
    if ajax == "slaInfo":
        _sla_info(ctx, ret)
    elif ajax == "setSla":
        _set_sla(ctx, ret)
    elif ajax in ("fetchSchedules", "loadFlow"):
        _fetch_schedules(ctx, ret)
    elif ajax == "scheduleFlow":
        _schedule_flow(ctx, ret)
    elif ajax == "scheduleCronFlow":
        _schedule_cron_flow(ctx, ret)
    elif ajax == "fetchSchedule":
        _fetch_schedule(ctx, ret)
    return Reply.json(hashmap(ret))


def next_fire(ctx: Context, schedule: Schedule) -> int:
    """The next fire time after now, in millis (the schedule's ``nextExecTime``)."""
    try:
        expression = cron.parse(schedule.cron)
        after = datetime.fromtimestamp(max(now_ms(), schedule.first_ms) / 1000, ctx.zone)
        moment = expression.next_after(after, ctx.zone)
    except CronError:
        return schedule.first_ms
    if moment is None:
        return schedule.first_ms
    return int(moment.timestamp() * 1000)


def _cron_valid(ctx: Context, expression: str) -> bool:
    """Utils.isCronExpressionValid: Quartz parses it and it fires after now (server zone)."""
    try:
        cron.check_schedulable(expression, ctx.zone)
    except CronError:
        return False
    return True


def _schedule_cron_flow(ctx: Context, ret: dict[str, Any]) -> None:
    project_name = ctx.req.require("projectName")
    flow_name = ctx.req.require("flow")
    project = ctx.store.find_project(project_name)
    if project is None:
        ret["message"] = f"Project {project_name} does not exist"
        ret["status"] = "error"
        return
    if not ctx.allows(project, "SCHEDULE"):
        ret["status"] = "error"
        ret["message"] = f"Permission denied. Cannot execute {flow_name}"
        return
    flow = project.flows.get(flow_name)
    if flow is None:
        ret["status"] = "error"
        ret["message"] = f"Flow {flow_name} cannot be found in project {project_name}"
        return
    if flow_name in project.locked_flows:
        ret["status"] = "error"
        ret["message"] = f"Flow {flow_name} in project {project_name} is locked."
        return
    if flow.get("trigger"):
        ret["status"] = "error"
        ret["message"] = (
            f'<font color="red"> Error: Flow {project_name}.{flow_name} is already associated '
            "with flow trigger, so schedule has to be defined in flow trigger config </font>"
        )
        return
    first_ms = now_ms()
    cron_text = ctx.req.param("cronExpression")
    if cron_text is not None and not _cron_valid(ctx, cron_text):
        ret["error"] = f"This expression <{cron_text}> can not be parsed to quartz cron."
        return
    if cron_text is None:
        ret["error"] = "Cron expression must exist."
    options: Options | None = None
    try:
        options = parse_flow_options(ctx.req, flow_name)
        filter_admin_only(options, is_admin=is_admin(ctx.user))
        validate_flow_parameters(options)
    except (ServletError, OptionError) as exc:
        ret["error"] = exc.message
    back = parse_boolean(ctx.req.param("backExecuteOnce"))
    schedule = Schedule(
        id=-1,
        project_id=project.id,
        project_name=project_name,
        flow=flow_name,
        cron=cron_text or "",
        first_ms=first_ms,
        submit_user=ctx.user.name,
        options=options,
        timezone=ctx.zone.key,
        back_execute_once=back,
    )
    if cron_text is not None:
        _insert(ctx, schedule, options)
    ctx.store.log_event(
        project, ctx.user.name, "SCHEDULE", f"Schedule {ctx.describe(schedule)} has been added."
    )
    ctx.store.save_project(project)
    ret["status"] = "success"
    ret["scheduleId"] = schedule.id
    ret["message"] = f"{project_name}.{flow_name} scheduled."


def _insert(ctx: Context, schedule: Schedule, options: Options | None) -> None:
    """ScheduleManager.insertSchedule: replace in place (same id), else a new trigger id.

    Options that failed to parse are null in Azkaban, and saving the trigger then throws a
    NullPointerException: after the new trigger row took its id (a new schedule, nothing
    kept), or after the cached schedule was replaced (an existing one keeps the new cron and
    null options until a good re-post). No event is logged either way.
    """
    existing = ctx.store.schedule_for(schedule.project_id, schedule.flow)
    if existing is not None:
        schedule.id = existing.id
    if options is None:
        if existing is None:
            ctx.store.new_schedule_id()
        else:
            ctx.store.put_schedule(schedule)
        raise ServletError("", "java.lang.NullPointerException")
    if existing is None:
        schedule.id = ctx.store.new_schedule_id()
    ctx.store.put_schedule(schedule)


def _schedule_flow(ctx: Context, ret: dict[str, Any]) -> None:
    """The deprecated period-based ``scheduleFlow``: checked, but not emulated further."""
    project_name = ctx.req.require("projectName")
    flow_name = ctx.req.require("flow")
    project_id = ctx.req.require_int("projectId")
    project = ctx.store.projects.get(project_id)
    if project is None or not project.active:
        ret["message"] = f"Project {project_name} does not exist"
        ret["status"] = "error"
        return
    if not ctx.allows(project, "SCHEDULE"):
        ret["status"] = "error"
        ret["message"] = f"Permission denied. Cannot execute {flow_name}"
        return
    if flow_name not in project.flows:
        ret["status"] = "error"
        ret["message"] = f"Flow {flow_name} cannot be found in project {project_name}"
        return
    raise ServletError("scheduleFlow (period schedules) is not emulated by the azstate sandbox")


def _fetch_schedule(ctx: Context, ret: dict[str, Any]) -> None:
    project_id = ctx.req.require_int("projectId")
    flow_id = ctx.req.require("flowId")
    schedule = ctx.store.schedule_for(project_id, flow_id)
    if schedule is None:
        return
    ret["schedule"] = hashmap(
        {
            "scheduleId": str(schedule.id),
            "submitUser": schedule.submit_user,
            "firstSchedTime": ctx.format_time(schedule.first_ms),
            "nextExecTime": ctx.format_time(next_fire(ctx, schedule)),
            "period": "null",
            "cronExpression": schedule.cron,
            "executionOptions": (
                None if schedule.options is None else options_bean(schedule.options)
            ),
            "backExecuteOnce": schedule.back_execute_once,
        }
    )


def _fetch_schedules(ctx: Context, ret: dict[str, Any]) -> None:
    schedules = sorted(ctx.store.schedules.values(), key=lambda s: s.id)
    if not schedules:
        return
    ret["items"] = [
        hashmap(
            {
                "scheduleId": s.id,
                "flowname": s.flow,
                "projectname": s.project_name,
                "time": s.first_ms,
                "cron": s.cron,
                "period": 0,
                "history": False,
            }
        )
        for s in schedules
    ]


def _remove(ctx: Context, ret: dict[str, Any]) -> None:
    schedule_id = ctx.req.require_int("scheduleId")
    schedule = ctx.store.schedules.get(schedule_id)
    if schedule is None:
        ret["message"] = f"Schedule with ID {schedule_id} does not exist"
        ret["status"] = "error"
        return
    project = ctx.store.projects.get(schedule.project_id)
    if project is None:
        ret["message"] = f"Project {schedule.project_id} does not exist"
        ret["status"] = "error"
        return
    if not ctx.allows(project, "SCHEDULE"):
        ret["status"] = "error"
        ret["message"] = f"Permission denied. Cannot remove schedule with id {schedule_id}"
        return
    ctx.store.remove_schedule(schedule)
    ctx.store.log_event(
        project, ctx.user.name, "SCHEDULE", f"Schedule {ctx.describe(schedule)} has been removed."
    )
    ctx.store.save_project(project)
    ret["status"] = "success"
    ret["message"] = f"flow {schedule.flow} removed from Schedules."


def _user_text(ctx: Context) -> str:
    """``User.toString()``: ``name: [group,group,]``."""
    return f"{ctx.user.name}: [" + "".join(f"{g}," for g in ctx.user.groups) + "]"


def _set_sla(ctx: Context, ret: dict[str, Any]) -> None:
    try:
        schedule_id = ctx.req.require_int("scheduleId")
        schedule = ctx.store.schedules.get(schedule_id)
        if schedule is None:
            ret["error"] = f"Error loading schedule. Schedule {schedule_id} doesn't exist"
            return
        project = ctx.store.projects.get(schedule.project_id)
        if project is None:
            raise ServletError("", "java.lang.NullPointerException")
        if not ctx.allows(project, "SCHEDULE"):
            ret["error"] = (
                f"User {_user_text(ctx)} does not have permission to set SLA for this flow."
            )
            return
        slas = parse_sla_options(ctx.req, schedule.flow, "settings")
        if not slas:
            ret["error"] = f"SLA for schedule {schedule_id} must have at least one action"
            return
        if schedule.options is None:
            raise ServletError("", "java.lang.NullPointerException")
        schedule.options["slaOptions"] = slas
        ctx.store.put_schedule(schedule)
        ctx.store.log_event(
            project, ctx.user.name, "SLA", f"SLA for flow {schedule.flow} has been added/changed."
        )
        ctx.store.save_project(project)
    except ServletError as exc:
        if exc.java_class != _SERVLET:
            raise
        ret["error"] = exc.message


def _readable_project(ctx: Context, project_id: int) -> Project | None:
    project = ctx.store.projects.get(project_id)
    if project is None or not ctx.allows(project, "READ"):
        return None
    return project


def _sla_info(ctx: Context, ret: dict[str, Any]) -> None:
    try:
        schedule_id = ctx.req.require_int("scheduleId")
    except ServletError as exc:
        if exc.java_class != _SERVLET:
            raise
        ret["error"] = throwable_bean(exc.message)
        return
    schedule = ctx.store.schedules.get(schedule_id)
    if schedule is None:
        ret["error"] = f"Error loading schedule. Schedule {schedule_id} doesn't exist"
        return
    project = _readable_project(ctx, schedule.project_id)
    if project is None:
        ret["error"] = f"Error loading project. Project {schedule.project_id} doesn't exist"
        return
    flow = project.flows.get(schedule.flow)
    if flow is None:
        ret["error"] = (
            f"Error loading flow. Flow {schedule.flow} doesn't exist in {schedule.project_id}"
        )
        return
    if schedule.options is None:
        # getExecutionOptions().getSlaOptions() on the null options of a failed re-post
        raise ServletError("", "java.lang.NullPointerException")
    slas = schedule.options.get("slaOptions") or []
    if slas:
        recipients = slas[0]["emails"]
        alerters = dict(slas[0]["alertersConfigs"])
        alerters["email"] = {"recipients": recipients}
        ret["settings"] = [sla_web(s) for s in slas]
        ret["slaEmails"] = recipients
        ret["slaAlerters"] = hashmap(alerters)
    else:
        emails = schedule.options.get("failureEmails") or flow["failure_emails"]
        if emails:
            ret["slaEmails"] = emails
    ret["allJobNames"] = hashmap_order(n["id"] for n in flow["nodes"])


def throwable_bean(message: str) -> dict[str, Any]:
    """A ServletException as Jackson serialises it when a handler puts it under ``error``."""
    frames = [
        ("azkaban.server.HttpRequestUtils", "getParam", "HttpRequestUtils.java", 358),
        ("azkaban.server.HttpRequestUtils", "getIntParam", "HttpRequestUtils.java", 382),
        ("azkaban.webapp.servlet.AbstractAzkabanServlet", "getIntParam",
         "AbstractAzkabanServlet.java", 131),
        ("azkaban.webapp.servlet.ScheduleServlet", "ajaxSlaInfo", "ScheduleServlet.java", 268),
    ]  # fmt: skip
    return {
        "cause": None,
        "stackTrace": [
            {
                "classLoaderName": "app",
                "moduleName": None,
                "moduleVersion": None,
                "methodName": method,
                "fileName": file,
                "lineNumber": line,
                "className": cls,
                "nativeMethod": False,
            }
            for cls, method, file, line in frames
        ],
        "rootCause": None,
        "message": message,
        "localizedMessage": message,
        "suppressed": [],
    }
