"""``/executor`` (ExecutorServlet): executions that run and finish by themselves.

Nothing is executed: at submission an execution gets a short timeline (preparing, then each
job after its parents, a few tens of milliseconds each) and every read derives the statuses
from the clock, so a client polling ``fetchexecflow`` sees PREPARING, RUNNING, then SUCCEEDED
within about half a second. Disabled jobs end SKIPPED, as on a real server.
"""

from __future__ import annotations

from typing import Any

from azstate.sandbox import pages
from azstate.sandbox.exchange import Reply, ServletError
from azstate.sandbox.flowload import FlowData
from azstate.sandbox.flowoptions import (
    OptionError,
    filter_admin_only,
    options_bean,
    parse_flow_options,
    validate_flow_parameters,
)
from azstate.sandbox.javalang import hashmap, hashmap_order
from azstate.sandbox.manager import page_reply
from azstate.sandbox.servlet import Context
from azstate.sandbox.store import Execution, Project, now_ms

PREPARE_MS = 120
JOB_MS = 40
GAP_MS = 10
RUNNING_GRACE_MS = 2000
_SERVER_ADMIN = frozenset(
    {"updateProp", "ramp", "reloadExecutors", "enableQueueProcessor", "disableQueueProcessor",
     "fetchscheduledflowgraph"}
)  # fmt: skip
_FINAL = ("SUCCEEDED", "FAILED", "KILLED", "SKIPPED", "CANCELLED", "EXECUTION_STOPPED")


def handle_get(ctx: Context) -> Reply:
    if ctx.req.has("ajax"):
        return _ajax(ctx)
    return page_reply(pages.message_page(heading="Executions"))


def handle_post(ctx: Context) -> Reply:
    if ctx.req.has("ajax"):
        return _ajax(ctx)
    return Reply.raw("")


def status_of(execution: Execution, stamp: int) -> str:
    if execution.cancelled_ms is not None and stamp >= execution.cancelled_ms:
        return "KILLED"
    if stamp < execution.start_ms:
        return "PREPARING"
    if stamp < execution.end_ms:
        return "RUNNING"
    return execution.final_status


def _node_status(node: dict[str, Any], execution: Execution, stamp: int) -> str:
    cancelled = execution.cancelled_ms
    if cancelled is not None and stamp >= cancelled and cancelled < node["end"]:
        return "KILLED" if cancelled >= node["start"] else "CANCELLED"
    if stamp < node["start"]:
        return "READY"
    if stamp < node["end"]:
        return "RUNNING"
    return str(node["status"])


def _project_for(ctx: Context, project_id: int, kind: str, ret: dict[str, Any]) -> Project | None:
    """filterProjectByPermission by id (a deleted project is still found by its id)."""
    project = ctx.store.projects.get(project_id)
    if project is None:
        ret["error"] = "Project 'null' not found."
        return None
    if not ctx.allows(project, kind):
        ret["error"] = f"User '{ctx.user.name}' doesn't have {kind} permissions on {project.name}"
        return None
    return project


def _project_named(ctx: Context, name: str, kind: str, ret: dict[str, Any]) -> Project | None:
    project = ctx.store.find_project(name)
    if project is None:
        ret["error"] = "Project 'null' not found."
        return None
    if not ctx.allows(project, kind):
        ret["error"] = f"User '{ctx.user.name}' doesn't have {kind} permissions on {project.name}"
        return None
    return project


def _ajax(ctx: Context) -> Reply:
    ajax = ctx.req.require("ajax")
    ret: dict[str, Any] = {}
    if ctx.req.has("execid"):
        exec_id = ctx.req.require_int("execid")
        execution = ctx.store.executions.get(exec_id)
        if execution is None:
            ret["error"] = f"Cannot find execution '{exec_id}'"
        else:
            handler = _BY_EXECUTION.get(ajax)
            if handler is not None:
                handler(ctx, execution, ret)
    elif ajax == "getRunning":
        project_name = ctx.req.require("project")
        flow_id = ctx.req.require("flow")
        _get_running(ctx, project_name, flow_id, ret)
    elif ajax == "flowInfo":
        project_name = ctx.req.require("project")
        flow_id = ctx.req.require("flow")
        _flow_info(ctx, project_name, flow_id, ret)
    elif ajax in _SERVER_ADMIN:
        pass
    else:
        ret["project"] = ctx.req.require("project")
        if ajax == "executeFlow":
            _execute(ctx, ret)
    return Reply.json(hashmap(ret))


def _execute(ctx: Context, ret: dict[str, Any]) -> None:
    project_name = ctx.req.require("project")
    flow_id = ctx.req.require("flow")
    project = _project_named(ctx, project_name, "EXECUTE", ret)
    if project is None:
        ret["error"] = f"Project '{project_name}' doesn't exist."
        return
    ret["flow"] = flow_id
    flow = project.flows.get(flow_id)
    if flow is None:
        ret["error"] = (
            f"Flow '{flow_id}' cannot be found in project "
            f"azkaban.project.Project@{id(project) & 0xFFFFFFF:x}"
        )
        return
    try:
        options = parse_flow_options(ctx.req, flow_id)
        validate_flow_parameters(options)
    except ServletError as exc:
        if exc.java_class != "javax.servlet.ServletException":
            raise
        ret["error"] = f"Error parsing flow options: {exc.message}"
        return
    except OptionError as exc:
        raise ServletError(exc.message, exc.java_class) from exc
    if not options["failureEmailsOverridden"]:
        options["failureEmails"] = list(flow["failure_emails"])
    if not options["successEmailsOverridden"]:
        options["successEmails"] = list(flow["success_emails"])
    if not options["failureActionOverridden"] and flow.get("failure_action"):
        options["failureAction"] = _failure_action(flow["failure_action"])
    try:
        from azstate.sandbox.users import is_admin

        filter_admin_only(options, is_admin=is_admin(ctx.user))
    except OptionError as exc:
        ret["error"] = f"Error submitting flow {flow_id}. {exc.message}"
        ret["execid"] = -1
        return
    if flow_id in project.locked_flows:
        ret["message"] = f"Flow {flow_id} for project {project.name} is locked."
        ret["execid"] = -1
        return
    stamp = now_ms()
    running = sorted(
        e.id
        for e in ctx.store.executions.values()
        if e.project_id == project.id and e.flow == flow_id and status_of(e, stamp) not in _FINAL
    )
    message = ""
    if running:
        concurrent = options["concurrentOption"]
        if concurrent == "skip":
            ret["error"] = (
                f"Error submitting flow {flow_id}. Flow {flow_id} is already running. "
                "Skipping execution."
            )
            ret["execid"] = -1
            return
        if concurrent == "pipeline":
            options["pipelineExecutionId"] = running[-1]
            message = (
                f"Flow {flow_id} is already running with exec id {running[-1]}. Pipelining "
                f"level {options['pipelineLevel']}. \n"
            )
        else:
            message = (
                f"Flow {flow_id} is already running with exec id "
                f"{','.join(str(r) for r in running)}. Will execute concurrently. \n"
            )
    execution = _new_execution(ctx, project, flow, options, stamp)
    ret["message"] = message + f"Execution queued successfully with exec id {execution.id}"
    ret["execid"] = execution.id


def _failure_action(text: str) -> str:
    mapping = {
        "finish_current": "FINISH_CURRENTLY_RUNNING",
        "cancel_all": "CANCEL_ALL",
        "finish_all_possible": "FINISH_ALL_POSSIBLE",
    }
    return mapping.get(text.lower(), "FINISH_CURRENTLY_RUNNING")


def _disabled_names(options: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for job in options.get("disabledJobs") or []:
        if job is not None:
            names.add(job["name"])
    return names


def _new_execution(
    ctx: Context, project: Project, flow: FlowData, options: dict[str, Any], stamp: int
) -> Execution:
    start = stamp + PREPARE_MS
    nodes, end = _timeline(project, flow, start, "", _disabled_names(options))
    execution = Execution(
        id=ctx.store.new_execution_id(),
        project_id=project.id,
        project_name=project.name,
        flow=flow["id"],
        submit_user=ctx.user.name,
        submit_ms=stamp,
        start_ms=start,
        end_ms=end + GAP_MS,
        options=options,
        nodes=nodes,
    )
    ctx.store.put_execution(execution)
    return execution


def _timeline(
    project: Project, flow: FlowData, start: int, prefix: str, disabled: set[str]
) -> tuple[list[dict[str, Any]], int]:
    """Each node starts when its parents are done; an embedded flow spans its own nodes."""
    by_id = {n["id"]: n for n in flow["nodes"]}
    done: dict[str, int] = {}
    placed: dict[str, dict[str, Any]] = {}

    def place(node_id: str, trail: frozenset[str]) -> int:
        if node_id in done:
            return done[node_id]
        node = by_id[node_id]
        parents = [p for p in node["in"] if p in by_id and p not in trail]
        begin = max((place(p, trail | {node_id}) for p in parents), default=start) + GAP_MS
        entry: dict[str, Any] = {
            "id": node_id,
            "type": node["type"],
            "in": list(node["in"]),
            "nested": prefix + node_id,
            "start": begin,
        }
        if node["condition"] is not None:
            entry["condition"] = node["condition"]
        embedded = project.flows.get(node["embedded_flow"] or "")
        if node_id in disabled:
            entry.update(end=begin, status="SKIPPED")
        elif embedded is not None:
            children, finish = _timeline(project, embedded, begin, f"{prefix}{node_id}:", set())
            entry.update(end=finish + GAP_MS, status="SUCCEEDED", nodes=children,
                         flow=embedded["id"])  # fmt: skip
        else:
            entry.update(end=begin + JOB_MS, status="SUCCEEDED")
        end: int = entry["end"]
        done[node_id] = end
        placed[node_id] = entry
        return end

    finish = max((place(node_id, frozenset()) for node_id in by_id), default=start)
    return [placed[i] for i in hashmap_order(by_id)], finish


def _node_info(node: dict[str, Any], execution: Execution, stamp: int) -> dict[str, Any]:
    status = _node_status(node, execution, stamp)
    started = status not in ("READY", "CANCELLED")
    finished = status in _FINAL
    obj: dict[str, Any] = {
        "id": node["id"],
        "status": status,
        "startTime": node["start"] if started else -1,
        "endTime": node["end"] if finished else -1,
        "updateTime": (node["end"] + 2 if finished else node["start"] if started else 0),
        "type": node["type"],
    }
    if "condition" in node:
        obj["condition"] = node["condition"]
    obj["nestedId"] = node["nested"]
    obj["attempt"] = 0
    if node["in"]:
        obj["in"] = hashmap_order(node["in"])
    if "nodes" in node:
        obj["flow"] = node["flow"]
        obj["nodes"] = [_node_info(child, execution, stamp) for child in node["nodes"]]
        obj["flowId"] = node["flow"]
    return hashmap(obj)


def _fetch_exec_flow(ctx: Context, execution: Execution, ret: dict[str, Any]) -> None:
    project = _project_for(ctx, execution.project_id, "READ", ret)
    if project is None:
        return
    stamp = now_ms()
    status = status_of(execution, stamp)
    finished = status in _FINAL
    ret["submitTime"] = execution.submit_ms
    ret["submitUser"] = execution.submit_user
    ret["execid"] = execution.id
    ret["projectId"] = execution.project_id
    ret["project"] = project.name
    ret["id"] = execution.flow
    ret["status"] = status
    ret["startTime"] = execution.start_ms if stamp >= execution.start_ms else -1
    ret["endTime"] = execution.end_ms if finished else -1
    ret["updateTime"] = execution.end_ms + 5 if finished else stamp
    ret["type"] = None
    ret["nestedId"] = execution.flow
    ret["attempt"] = 0
    ret["flow"] = execution.flow
    ret["nodes"] = [_node_info(node, execution, stamp) for node in execution.nodes]
    ret["flowId"] = execution.flow


def _fetch_exec_flow_update(ctx: Context, execution: Execution, ret: dict[str, Any]) -> None:
    ctx.req.require("lastUpdateTime")
    project = _project_for(ctx, execution.project_id, "READ", ret)
    if project is None:
        return
    stamp = now_ms()
    status = status_of(execution, stamp)
    finished = status in _FINAL
    ret["id"] = execution.flow
    ret["nodes"] = [_node_info(node, execution, stamp) for node in execution.nodes]
    ret["status"] = status
    ret["startTime"] = execution.start_ms if stamp >= execution.start_ms else -1
    ret["endTime"] = execution.end_ms if finished else -1
    ret["updateTime"] = execution.end_ms + 5 if finished else stamp


def _cancel(ctx: Context, execution: Execution, ret: dict[str, Any]) -> None:
    if _project_for(ctx, execution.project_id, "EXECUTE", ret) is None:
        return
    stamp = now_ms()
    if status_of(execution, stamp) in _FINAL:
        ret["error"] = f"Execution {execution.id} of flow {execution.flow} isn't running."
        return
    execution.cancelled_ms = stamp
    execution.final_status = "KILLED"
    execution.end_ms = min(execution.end_ms, stamp + GAP_MS)
    ctx.store.put_execution(execution)


def _not_running(ctx: Context, execution: Execution, ret: dict[str, Any]) -> None:
    if _project_for(ctx, execution.project_id, "EXECUTE", ret) is None:
        return
    if status_of(execution, now_ms()) not in _FINAL:
        return
    if ctx.req.param("ajax") == "retryFailedJobs":
        ret["error"] = "Flow has already finished. Please re-execute."
    else:
        ret["error"] = f"Execution {execution.id} of flow {execution.flow} isn't running."


def _logs(ctx: Context, execution: Execution, ret: dict[str, Any]) -> None:
    if _project_for(ctx, execution.project_id, "READ", ret) is None:
        return
    offset = ctx.req.require_int("offset")
    length = ctx.req.require_int("length")
    if ctx.req.param("ajax") == "fetchExecJobLogs":
        job = ctx.req.require("jobId")
        if not any(n["nested"] == job for n in execution.nodes):
            ret["error"] = f"Job {job} doesn't exist in {execution.id}"
            return
        text = f"INFO - Starting job {job} (azstate sandbox: nothing is run)\n"
    else:
        text = f"INFO - Running execution {execution.id} of flow {execution.flow}\n"
    chunk = text[offset : offset + max(length, 0)] if offset >= 0 else ""
    ret["length"] = len(chunk)
    ret["offset"] = offset
    ret["data"] = pages.escape_html(chunk)


def _exec_flow_info(ctx: Context, execution: Execution, ret: dict[str, Any]) -> None:
    project = _project_for(ctx, execution.project_id, "READ", ret)
    if project is None:
        return
    options = options_bean(execution.options)
    ret["successEmails"] = options["successEmails"]
    ret["failureEmails"] = options["failureEmails"]
    ret["flowParam"] = options["flowParameters"]
    ret["failureAction"] = {
        "FINISH_CURRENTLY_RUNNING": "finishCurrent",
        "CANCEL_ALL": "cancelImmediately",
        "FINISH_ALL_POSSIBLE": "finishPossible",
    }.get(options["failureAction"])
    ret["notifyFailureFirst"] = options["notifyOnFirstFailure"]
    ret["notifyFailureLast"] = options["notifyOnLastFailure"]
    ret["concurrentOptions"] = options["concurrentOption"]
    ret["pipelineLevel"] = options["pipelineLevel"]


def _get_running(ctx: Context, project_name: str, flow_id: str, ret: dict[str, Any]) -> None:
    """Lists running executions, and (as a real server does) just-finished ones for a while."""
    project = _project_named(ctx, project_name, "EXECUTE", ret)
    if project is None:
        return
    stamp = now_ms()
    ids = sorted(
        e.id
        for e in ctx.store.executions.values()
        if e.project_id == project.id
        and e.flow == flow_id
        and (status_of(e, stamp) not in _FINAL or stamp - e.end_ms < RUNNING_GRACE_MS)
    )
    if ids:
        ret["execIds"] = ids


def _flow_info(ctx: Context, project_name: str, flow_id: str, ret: dict[str, Any]) -> None:
    project = _project_named(ctx, project_name, "READ", ret)
    if project is None:
        return
    flow = project.flows.get(flow_id)
    if flow is None:
        ret["error"] = f"Error loading flow. Flow {flow_id} doesn't exist in {project_name}"
        return
    ret["successEmails"] = flow["success_emails"]
    ret["failureEmails"] = flow["failure_emails"]
    schedule = ctx.store.schedule_for(project.id, flow_id)
    if schedule is not None:
        from azstate.sandbox.scheduler import next_fire

        ret["scheduled"] = next_fire(ctx, schedule)


_BY_EXECUTION = {
    "fetchexecflow": _fetch_exec_flow,
    "fetchexecflowupdate": _fetch_exec_flow_update,
    "cancelFlow": _cancel,
    "pauseFlow": _not_running,
    "resumeFlow": _not_running,
    "retryFailedJobs": _not_running,
    "fetchExecFlowLogs": _logs,
    "fetchExecJobLogs": _logs,
    "flowInfo": _exec_flow_info,
}
