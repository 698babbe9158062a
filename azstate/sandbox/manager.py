"""``/manager`` (ProjectManagerServlet): projects, uploads, permissions, downloads, pages.

GET with ``project``: ``ajax`` first, then the page parameters in Azkaban's order (logs,
permissions, prop, history, job, flow, delete, purge, download), else the project page; GET
without ``project`` is the "No project set." page. POST: ``ajax`` (``project`` required, else
a 500), ``action=create``, anything else an empty body. Multipart POST: only the parts count.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from azstate.sandbox import pages
from azstate.sandbox.exchange import (
    FAILURE_COOKIE,
    SUCCESS_COOKIE,
    WARN_COOKIE,
    FilePart,
    Reply,
    ServletError,
)
from azstate.sandbox.flowload import FlowData, InstallFailure, levels, load_zip
from azstate.sandbox.javalang import (
    hashmap,
    hashmap_order,
    is_numeric,
    java_length,
    java_trim,
    parse_boolean,
)
from azstate.sandbox.servlet import Context
from azstate.sandbox.store import Project, now_ms
from azstate.sandbox.users import is_admin, is_known_user, normalize

_NAME = re.compile(r"[a-zA-Z][a-zA-Z_0-9|-]*")
_PAGE_PARAMS = ("logs", "permissions", "prop", "history", "job", "flow")
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
CSRF_KEY = hashlib.sha256(b"azstate-sandbox").digest()
# The widths of the projects table's name and description columns (VARCHAR(64), VARCHAR(2048)).
NAME_LIMIT = 64
DESCRIPTION_LIMIT = 2048


def page_reply(html: str) -> Reply:
    """Every logged-in page clears the three message cookies."""
    reply = Reply.html(html)
    for name in (FAILURE_COOKIE, WARN_COOKIE, SUCCESS_COOKIE):
        reply.set_cookie(name, "")
    return reply


def csrf_token(session_id: str) -> str:
    return hmac.new(CSRF_KEY, session_id.encode(), hashlib.sha256).hexdigest()


# -- entry points --------------------------------------------------------------------------


def handle_get(ctx: Context) -> Reply:
    req = ctx.req
    if req.has("project"):
        if req.has("ajax"):
            return _ajax(ctx)
        for name in _PAGE_PARAMS:
            if req.has(name):
                return _sub_page(ctx, name)
        if req.has("delete"):
            return _delete(ctx)
        if req.has("purge"):
            return _purge(ctx)
        if req.has("download"):
            return _download(ctx)
        return _project_page(ctx)
    if req.has("reloadProjectWhitelist"):
        if is_admin(ctx.user):
            return Reply.json(
                {"error": "azkaban.properties doesn't contain property project.whitelist.xml.file"}
            )
        return Reply.json({"error": "Provided session doesn't have admin privilege."})
    return page_reply(pages.message_page(error="No project set."))


def handle_post(ctx: Context) -> Reply:
    req = ctx.req
    if req.has("ajax"):
        return _ajax(ctx)
    if req.has("action") and req.require("action") == "create":
        return _create(ctx)
    return Reply.raw("")


def handle_multipart(ctx: Context) -> Reply:
    parts = ctx.req.parts or {}
    if "ajax" in parts:
        ajax = _text_part(parts, "ajax")
        ret: dict[str, str] = {}
        status = 200
        if ajax == "upload":
            status = _upload(ctx, ret)
        return Reply.json(hashmap(ret), status)
    if "action" in parts and _text_part(parts, "action") == "upload":
        ret = {}
        _upload(ctx, ret)
        name = _text_part(parts, "project")
        reply = Reply.redirect(ctx.req.redirect_url(f"/manager?project={name}"))
        if "error" in ret:
            reply.set_cookie(FAILURE_COOKIE, ret["error"])
        if "warn" in ret:
            reply.set_cookie(WARN_COOKIE, ret["warn"])
        return reply
    return Reply.raw("")


def _text_part(parts: dict[str, str | FilePart], name: str) -> str | None:
    value = parts.get(name)
    if isinstance(value, FilePart):
        raise ServletError(
            "class org.apache.commons.fileupload.disk.DiskFileItem cannot be cast to class "
            "java.lang.String",
            "java.lang.ClassCastException",
        )
    return value


# -- pages -----------------------------------------------------------------------------------


def _project_page(ctx: Context) -> Reply:
    name = ctx.req.require("project")
    project = ctx.store.find_project(name)
    if project is None:
        return page_reply(pages.message_page(error=f"Project {name} not found."))
    if not ctx.allows(project, "READ"):
        return page_reply(pages.message_page(error=f"No permission to view project {name}."))
    flows = sorted(f["id"] for f in project.top_flows())
    admins = [u for u, perm in project.user_permissions.items() if "ADMIN" in perm]
    html = pages.project_page(
        project.name,
        project.id,
        project.description,
        flows,
        admins,
        created=ctx.format_time(project.created_ms),
        modified=ctx.format_time(project.modified_ms),
        modified_by=project.modified_by,
    )
    return page_reply(html)


def _sub_page(ctx: Context, kind: str) -> Reply:
    """The other project pages (logs, permissions, prop, history, job, flow) with their errors."""
    req = ctx.req
    if kind == "history":
        req.require("job")
    name = req.require("project")
    if kind in ("prop", "job", "flow"):
        flow_id = req.require("flow")
    if kind in ("prop", "job"):
        job_id = req.require("job")
    if kind == "prop":
        req.require("prop")
        nested = req.require("propNode")
    project = ctx.store.find_project(name)
    if project is None:
        if kind == "job":
            raise ServletError("", "java.lang.NullPointerException")
        missing = "doesn't exist." if kind in ("logs", "history") else "not found."
        return page_reply(pages.message_page(error=f"Project {name} {missing}"))
    if not ctx.allows(project, "READ"):
        denied = f"No permission Project {name}." if kind == "flow" else (
            f"No permission to view project {name}."
        )  # fmt: skip
        return page_reply(pages.message_page(error=denied))
    if kind in ("prop", "job", "flow"):
        flow = project.flows.get(flow_id)
        if flow is None:
            return page_reply(pages.message_page(error=f"Flow {flow_id} not found."))
        if kind != "flow" and _node(flow, job_id) is None:
            return page_reply(pages.message_page(error=f"Job {job_id} not found."))
        if kind == "prop" and nested not in project.flows:
            return page_reply(pages.message_page(
                error=f"Nested Flow {nested} not found in Flow {flow_id}."))  # fmt: skip
    return page_reply(pages.message_page(heading=f"{project.name}: {kind}"))


# -- create, delete, purge, download ---------------------------------------------------------


def _create(ctx: Context) -> Reply:
    name = ctx.req.param("name")
    description = ctx.req.param("description")
    try:
        _check_new_project(ctx, name, description)
    except _Refused as exc:
        return Reply.compact_json(hashmap({"status": "error", "message": str(exc)}))
    assert name is not None and description is not None
    ctx.store.create_project(name, description, ctx.user.name)
    return Reply.compact_json(
        hashmap({"status": "success", "action": "redirect", "path": f"manager?project={name}"})
    )


class _Refused(Exception):
    """A business error whose message goes back to the client as is."""


def _check_new_project(ctx: Context, name: str | None, description: str | None) -> None:
    if name is None or not java_trim(name):
        raise _Refused("Project name cannot be empty.")
    if description is None or not java_trim(description):
        raise _Refused("Description cannot be empty.")
    if not _NAME.fullmatch(name):
        raise _Refused(
            "Project names must start with a letter, followed by any number of letters, "
            "digits, '-' or '_'."
        )
    if ctx.store.find_project(name) is not None:
        raise _Refused("Project already exists.")
    if java_length(name) > NAME_LIMIT or java_length(description) > DESCRIPTION_LIMIT:
        raise _Refused(f"Insert project{name} for existing project failed. ")


def _delete(ctx: Context) -> Reply:
    name = ctx.req.require("project")
    project = ctx.store.find_project(name)
    if project is None:
        return Reply.redirect(ctx.req.redirect_url("/")).set_cookie(
            FAILURE_COOKIE, f"Project {name} doesn't exist."
        )
    if not ctx.allows(project, "ADMIN"):
        reply = Reply.redirect(ctx.req.redirect_url(f"/manager?project={name}"))
        return reply.set_cookie(
            FAILURE_COOKIE, f"Cannot delete. User '{ctx.user.name}' is not an ADMIN."
        )
    for schedule in sorted(ctx.store.schedules.values(), key=lambda s: s.id):
        if schedule.project_id == project.id:
            ctx.store.log_event(
                project,
                ctx.user.name,
                "SCHEDULE",
                f"removing schedule due to project removed {schedule.id}",
            )
            ctx.store.remove_schedule(schedule)
    ctx.store.deactivate(project, ctx.user.name)
    return Reply.redirect(ctx.req.redirect_url("/")).set_cookie(
        SUCCESS_COOKIE,
        f"Project '{name}' was successfully deleted and associated schedules are removed.",
    )


def _purge(ctx: Context) -> Reply:
    ret: dict[str, Any] = {}
    param = ctx.req.require("project")
    project: Project | None
    if is_numeric(param) and param:
        project = ctx.store.projects.get(int(param))
    else:
        project = ctx.store.find_project(param)
    ok = True
    if project is None:
        ret["error"] = "invalid project"
        ok = False
    elif project.active:
        ret["error"] = f"Project {project.name} should be deleted before purging"
        ok = False
    elif not ctx.allows(project, "ADMIN"):
        ret["error"] = f"Cannot purge. User '{ctx.user.name}' is not an ADMIN."
        ok = False
    else:
        for version, info in project.versions.items():
            if info["stored"]:
                info["stored"] = False
                ctx.store.zip_path(project.id, int(version)).unlink(missing_ok=True)
        ctx.store.log_event(
            project, ctx.user.name, "PURGE", f"Purged versions before {project.version + 1}"
        )
        ctx.store.save_project(project)
    ret["success"] = ok
    return Reply.json(hashmap(ret))


def _download(ctx: Context) -> Reply:
    name = ctx.req.require("project")
    project = ctx.store.find_project(name)
    home = ctx.req.redirect_url("/")
    if project is None:
        return Reply.redirect(home).set_cookie(FAILURE_COOKIE, f"Project {name} doesn't exist.")
    if not ctx.allows(project, "READ"):
        return Reply.redirect(home).set_cookie(
            FAILURE_COOKIE, f"No permission to download project {name}."
        )
    version = ctx.req.require_int("version") if ctx.req.has("version") else -1
    wanted = project.version if version == -1 else version
    info = project.versions.get(str(wanted))
    if info is None:
        return Reply.redirect(home).set_cookie(
            FAILURE_COOKIE, f"Project {name} with version {version} doesn't exist"
        )
    path = ctx.store.zip_path(project.id, wanted)
    if not info["stored"] or not path.exists():
        raise ServletError(
            f"azkaban.project.ProjectManagerException: Project {project.id} version {wanted} "
            "has no stored files",
        )
    reply = Reply(200, path.read_bytes(), "application/zip")
    reply.headers.extend(
        [
            ("Content-Disposition", f'attachment; filename="{info["file"]}"'),
            ("version", str(wanted)),
            ("projectId", str(project.id)),
        ]
    )
    return reply


# -- upload ------------------------------------------------------------------------------------


def _upload(ctx: Context, ret: dict[str, str]) -> int:
    """ajaxHandleUpload: fills ``ret`` and answers the HTTP status it set."""
    parts = ctx.req.parts or {}
    name = _text_part(parts, "project")
    if not name:
        ret["error"] = "No project name found."
        return 400
    project = ctx.store.find_project(name)
    if project is None:
        ret["error"] = f"Installation Failed. Project '{name} doesn't exist."
        return 410
    if not ctx.allows(project, "WRITE"):
        ret["error"] = f"Installation Failed. User '{ctx.user.name}' does not have write access."
        return 400
    item = parts.get("file")
    if item is None:
        raise ServletError("", "java.lang.NullPointerException")
    if not isinstance(item, FilePart):
        raise ServletError(
            "class java.lang.String cannot be cast to class org.apache.commons.fileupload.FileItem",
            "java.lang.ClassCastException",
        )
    extension = _extension(item.filename).lower()
    content_type = item.content_type
    if content_type is None or extension != "zip" or not content_type.startswith(_ZIP_TYPES):
        if extension != "zip":
            ret["error"] = f"File extension '{extension}' unrecognized."
        else:
            shown = "null" if content_type is None else content_type
            ret["error"] = f"Content type '{shown}' does not match extension '{extension}'"
        return 400
    ret["projectId"] = str(project.id)
    status = 200
    try:
        load = load_zip(item.data)
    except InstallFailure as exc:
        message = str(exc)
        if len(message) > 512:
            message = message[:512] + "<br>Too many errors to display.<br>"
        ret["error"] = "Installation Failed.<br>" + message
        status = 500
    else:
        if load.errors:
            text = "Validator Directory Flow reports errors:<br><br>" + "".join(
                f"{error}<br>" for error in load.errors
            )
            ret["error"] = text[:4000]
            status = 500
        else:
            filename = item.filename.replace("\\", "/").rsplit("/", 1)[-1]
            ctx.store.add_version(project, item.data, filename, ctx.user.name, load.flows)
            project.locked_flows = {
                f: m for f, m in project.locked_flows.items() if f in project.flows
            }
            project.overrides = {}
        _drop_vanished_schedules(ctx, project)
        ctx.store.save_project(project)
    ret["version"] = str(project.version)
    return status


def _extension(filename: str) -> str:
    """commons-io ``FilenameUtils.getExtension``."""
    slash = max(filename.rfind("/"), filename.rfind("\\"))
    dot = filename.rfind(".")
    return "" if dot < 0 or dot < slash else filename[dot + 1 :]


def _drop_vanished_schedules(ctx: Context, project: Project) -> None:
    for schedule in sorted(ctx.store.schedules.values(), key=lambda s: s.id):
        if schedule.project_id == project.id and schedule.flow not in project.flows:
            ctx.store.remove_schedule(schedule)
            ctx.store.log_event(
                project,
                "azkaban",
                "SCHEDULE",
                f"Schedule {ctx.describe(schedule)} has been removed due to the flow has been "
                "removed or renamed during upload process.",
            )


# -- the AJAX dispatcher -----------------------------------------------------------------------

_READ = {
    "fetchProjectLogs", "fetchflowjobs", "fetchflowdetails", "fetchflowgraph",
    "fetchflownodedata", "fetchprojectflows", "getPermissions", "getGroupPermissions",
    "getProxyUsers", "fetchFlowExecutions", "fetchLastSuccessfulFlowExecution", "fetchJobInfo",
    "getUploadSetting", "isFlowLocked",
}  # fmt: skip
_WRITE = {"changeDescription", "setJobOverrideProperty"}
_ADMIN = {"changePermission", "addPermission", "addProxyUser", "removeProxyUser", "setFlowLock"}
_CSRF = {"changePermission", "addPermission", "addProxyUser", "removeProxyUser"}


def _ajax(ctx: Context) -> Reply:
    name = ctx.req.require("project")
    ret: dict[str, Any] = {"project": name}
    project = ctx.store.find_project(name)
    if project is None:
        ret["error"] = f"Project {name} doesn't exist."
        return Reply.json(hashmap(ret))
    ret["projectId"] = project.id
    ajax = ctx.req.require("ajax")
    if ajax in _CSRF and not _csrf_ok(ctx):
        return Reply.json({"error": "CSRF validation failed."})
    needed = (
        "READ"
        if ajax in _READ
        else "WRITE"
        if ajax in _WRITE
        else "ADMIN"
        if ajax in _ADMIN
        else None
    )
    if needed is not None and not ctx.allows(project, needed):
        ret["error"] = f"Permission denied. Need {needed} access."
        return Reply.json(hashmap(ret))
    handler = _AJAX.get(ajax)
    if handler is None:
        ret["error"] = f"Cannot execute command {ajax}"
    else:
        handler(ctx, project, ret)
    return Reply.json(hashmap(ret))


def _csrf_ok(ctx: Context) -> bool:
    cookie = ctx.req.cookies.get("azkaban.browser.session.id")
    if not cookie:
        return True
    token = ctx.req.header("X-CSRF-TOKEN")
    return bool(token) and hmac.compare_digest(token or "", csrf_token(cookie))


def _flow_or_error(project: Project, flow_id: str, ret: dict[str, Any]) -> FlowData | None:
    flow = project.flows.get(flow_id)
    if flow is None:
        ret["error"] = f"Flow {flow_id} not found in project {project.name}"
    return flow


def _node(flow: FlowData, node_id: str) -> dict[str, Any] | None:
    return next((n for n in flow["nodes"] if n["id"] == node_id), None)


def _get_project_id(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    """projectId is already in every reply."""


def _fetch_logs(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    """``... ORDER BY event_time DESC LIMIT size OFFSET skip``; an unreadable number counts as
    absent (``getIntParam`` with a default), a negative one is refused by the database."""
    size = ctx.req.int_or("size", 1000)
    skip = ctx.req.int_or("skip", 0)
    if size < 0 or skip < 0:
        shown = "FETCH" if size < 0 else "OFFSET"
        raise ServletError(
            "azkaban.project.ProjectManagerException: Error fetching project log events: "
            f'Invalid value "{size if size < 0 else skip}" for parameter "result {shown}"',
        )
    ret["columns"] = ["user", "time", "type", "message"]
    ret["logData"] = [list(e) for e in ctx.store.project_log(project)[skip : skip + size]]


def _fetch_project_flows(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    top = {f["id"] for f in project.top_flows()}
    ret["flows"] = [{"flowId": i} for i in hashmap_order(project.flows) if i in top]


def _graph(project: Project, flow_id: str, ret: dict[str, Any]) -> None:
    """fillFlowInfo, recursing into embedded flows."""
    flow = _flow_or_error(project, flow_id, ret)
    if flow is None:
        return
    nodes = []
    for node in flow["nodes"]:
        obj: dict[str, Any] = {"id": node["id"], "type": node["type"]}
        if node["condition"] is not None:
            obj["condition"] = node["condition"]
        if node["embedded_flow"] is not None:
            obj["flowId"] = node["embedded_flow"]
            _graph(project, node["embedded_flow"], obj)
        if node["in"]:
            obj["in"] = sorted(node["in"])
        nodes.append(hashmap(obj))
    nodes.sort(key=lambda n: n["id"])
    ret["flow"] = flow_id
    ret["nodes"] = nodes


def _fetch_flow_graph(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    _graph(project, ctx.req.require("flow"), ret)


def _fetch_flow_jobs(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flow_id = ctx.req.require("flow")
    flow = project.flows.get(flow_id)
    if flow is None:
        raise ServletError("", "java.lang.NullPointerException")
    level = levels(flow)
    order = hashmap_order(n["id"] for n in flow["nodes"])
    by_id = {n["id"]: n for n in flow["nodes"]}
    dependents: dict[str, list[str]] = {i: [] for i in order}
    for node in flow["nodes"]:
        for parent in node["in"]:
            dependents.setdefault(parent, []).append(node["id"])
    nodes = [
        hashmap(
            {
                "id": node_id,
                "dependencies": hashmap_order(by_id[node_id]["in"]),
                "dependents": hashmap_order(dependents.get(node_id, [])),
                "level": level.get(node_id, 0),
            }
        )
        for node_id in sorted(order, key=lambda i: level.get(i, 0))
    ]
    ret["flowId"] = flow_id
    ret["nodes"] = nodes
    ret["isLocked"] = flow_id in project.locked_flows


def _fetch_flow_details(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flow_id = ctx.req.require("flow")
    flow = project.flows.get(flow_id)
    if flow is None:
        ret["error"] = f"Flow {flow_id} not found."
        return
    ret["jobTypes"] = hashmap_order(str(n["type"]) for n in flow["nodes"])


def _fetch_flow_node_data(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flow_id = ctx.req.require("flow")
    flow = project.flows.get(flow_id)
    node_id = ctx.req.require("node")
    if flow is None:
        raise ServletError("", "java.lang.NullPointerException")
    node = _node(flow, node_id)
    if node is None:
        ret["error"] = f"Job {node_id} doesn't exist."
        return
    ret["id"] = node_id
    ret["flow"] = flow_id
    ret["type"] = node["type"]
    ret["props"] = hashmap(node["props"])
    if node["type"] == "flow" and node["embedded_flow"] is not None:
        _graph(project, node["embedded_flow"], ret)


def _fetch_job_info(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flow_name = ctx.req.require("flowName")
    job_name = ctx.req.require("jobName")
    flow = project.flows.get(flow_name)
    if flow is None:
        ret["error"] = f"Flow {flow_name} not found in project {project.name}"
        return
    node = _node(flow, job_name)
    if node is None:
        ret["error"] = f"Job {job_name} not found in flow {flow_name}"
        return
    props = node["props"]
    override = project.overrides.get(f"{flow_name}/{job_name}", props)
    ret["jobName"] = node["id"]
    ret["jobType"] = props.get("type")
    ret["generalParams"] = hashmap(props)
    ret["overrideParams"] = hashmap(override)


def _set_job_override(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flow_name = ctx.req.require("flowName")
    job_name = ctx.req.require("jobName")
    flow = project.flows.get(flow_name)
    if flow is None:
        ret["error"] = f"Flow {flow_name} not found in project {project.name}"
        return
    node = _node(flow, job_name)
    if node is None:
        ret["error"] = f"Job {job_name} not found in flow {flow_name}"
        return
    override = ctx.req.group("jobOverride")
    key = f"{flow_name}/{job_name}"
    if flow.get("format") == "2.0":
        # Flow 2.0 rewrites the job in the stored flow file: its config, and its type if given.
        old = dict(node["props"])
        node["type"] = override.get("type", node["type"])
        node["props"] = {k: v for k, v in override.items() if k != "type"}
        node["props"]["type"] = node["type"]
    else:
        old = dict(project.overrides.get(key, {}))
        project.overrides[key] = override
    ctx.store.log_event(project, ctx.user.name, "PROPERTY_OVERRIDE", _property_diff(old, override))
    ctx.store.save_project(project)


def _property_diff(old: dict[str, str], new: dict[str, str]) -> str:
    """PropsUtils.getPropertyDiff, the message of a PROPERTY_OVERRIDE event."""
    text = ""
    created = [k for k in hashmap_order(new) if k not in old]
    deleted = [k for k in hashmap_order(old) if k not in new]
    changed = [k for k in hashmap_order(old) if k in new and old[k] != new[k]]
    if created:
        text += "Newly created Properties: " + "".join(f"[ {k}, {new[k]}], " for k in created)
        text += "\n"
    if deleted:
        text += "Deleted Properties: " + "".join(f"[ {k}, {old[k]}], " for k in deleted) + "\n"
    if changed:
        text += "Modified Properties: " + "".join(f"[ {k}, {old[k]}-->{new[k]}], " for k in changed)
    return text


def _change_description(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    description = ctx.req.require("description")
    project.description = description
    if java_length(description) > DESCRIPTION_LIMIT:
        # The in-memory project changes first; the database column then refuses the text.
        ret["error"] = f"Error update Description, project {project.name}"
        return
    ctx.store.modified(
        project, ctx.user.name, "DESCRIPTION", f"Description changed to {description}"
    )
    ctx.store.save_project(project)


def _permission_list(entries: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        hashmap({"username": name, "permission": list(entries[name])})
        for name in hashmap_order(entries)
    ]


def _get_permissions(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    ret["permissions"] = _permission_list(project.user_permissions)


def _get_group_permissions(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    ret["permissions"] = _permission_list(project.group_permissions)


def _get_proxy_users(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    ret["proxyUsers"] = hashmap_order(project.proxy_users)


def _five_flags(ctx: Context) -> dict[str, bool]:
    return {
        kind: parse_boolean(ctx.req.require(f"permissions[{kind}]"))
        for kind in ("admin", "read", "write", "execute", "schedule")
    }


def _types(flags: dict[str, bool]) -> list[str]:
    if flags["admin"]:
        return ["ADMIN"]
    return normalize(
        kind.upper() for kind in ("read", "write", "execute", "schedule") if flags[kind]
    )


def _add_permission(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    name = ctx.req.require("name")
    group = parse_boolean(ctx.req.require("group"))
    if group:
        if name in project.group_permissions:
            ret["error"] = "Group permission already exists."
            return
    else:
        if name in project.user_permissions:
            ret["error"] = "User permission already exists."
            return
        if not is_known_user(name):
            ret["error"] = "User is invalid."
            return
    types = _types(_five_flags(ctx))
    _set_permission(ctx, project, name, types, group=group)


def _set_permission(
    ctx: Context, project: Project, name: str, types: list[str], *, group: bool
) -> None:
    table = project.group_permissions if group else project.user_permissions
    table[name] = types
    kind = "group" if group else "user"
    ctx.store.log_event(
        project,
        ctx.user.name,
        "GROUP_PERMISSION" if group else "USER_PERMISSION",
        f"Permission for {kind} {name} set to {','.join(types)}",
    )
    ctx.store.save_project(project)


def _change_permission(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flags = _five_flags(ctx)
    group = parse_boolean(ctx.req.require("group"))
    name = ctx.req.require("name")
    table = project.group_permissions if group else project.user_permissions
    if name not in table:
        ret["error"] = f"Permissions for {name} cannot be found."
        return
    if any(flags.values()):
        _set_permission(ctx, project, name, _types(flags), group=group)
        return
    del table[name]
    kind = "group" if group else "user"
    ctx.store.log_event(
        project,
        ctx.user.name,
        "GROUP_PERMISSION" if group else "USER_PERMISSION",
        f"Permission for {kind} {name} removed.",
    )
    ctx.store.save_project(project)


def _add_proxy_user(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    name = ctx.req.require("name")
    ret["error"] = f"User {ctx.user.name} has no permission to add {name} as proxy user."


def _remove_proxy_user(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    name = ctx.req.require("name")
    if name in project.proxy_users:
        project.proxy_users.remove(name)
    ctx.store.log_event(
        project,
        ctx.user.name,
        "PROXY_USER",
        f"Proxy user {name} has been removed form the project.",
    )
    ctx.store.save_project(project)


def _check_write(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    ret["hasWritePermission"] = ctx.allows(project, "WRITE")


def _fetch_flow_executions(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    from azstate.sandbox.executor import status_of

    flow_id = ctx.req.require("flow")
    start = ctx.req.require_int("start")
    length = ctx.req.require_int("length")
    runs = sorted(
        (
            e
            for e in ctx.store.executions.values()
            if e.project_id == project.id and e.flow == flow_id
        ),
        key=lambda e: -e.id,
    )
    ret["flow"] = flow_id
    ret["total"] = len(runs)
    ret["from"] = start
    ret["length"] = length
    chosen = runs[start : start + length] if start >= 0 and length > 0 else []
    ret["executions"] = [
        hashmap(
            {
                "execId": run.id,
                "flowId": run.flow,
                "projectId": run.project_id,
                "status": status_of(run, now_ms()),
                "submitTime": run.submit_ms,
                "startTime": run.start_ms if now_ms() >= run.start_ms else -1,
                "endTime": run.end_ms if now_ms() >= run.end_ms else -1,
                "submitUser": run.submit_user,
            }
        )
        for run in chosen
    ]


def _fetch_last_success(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    from azstate.sandbox.executor import status_of

    flow_id = ctx.req.require("flow")
    stamp = now_ms()
    done = [
        e
        for e in ctx.store.executions.values()
        if e.project_id == project.id and e.flow == flow_id and status_of(e, stamp) == "SUCCEEDED"
    ]
    if not done:
        ret["success"] = "false"
        ret["message"] = "This flow has no successful run."
        return
    ret["success"] = "true"
    ret["message"] = ""
    ret["execId"] = max(e.id for e in done)


def _is_flow_locked(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flow_name = ctx.req.require("flowName")
    if _flow_or_error(project, flow_name, ret) is None:
        return
    ret["flowId"] = flow_name
    ret["isLocked"] = flow_name in project.locked_flows


def _set_flow_lock(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    flow_name = ctx.req.require("flowName")
    if _flow_or_error(project, flow_name, ret) is None:
        return
    locked = parse_boolean(ctx.req.require("isLocked"))
    message = ctx.req.param("flowLockErrorMessage")
    if locked:
        project.locked_flows[flow_name] = message
    else:
        project.locked_flows.pop(flow_name, None)
    ret["isLocked"] = locked
    ret["flowId"] = flow_name
    ret["flowLockErrorMessage"] = message if locked else None
    ctx.store.save_project(project)


def _get_upload_setting(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    ret["isUploadLocked"] = False
    ret["adhocUpload"] = False


def _change_upload_setting(ctx: Context, project: Project, ret: dict[str, Any]) -> None:
    if not is_admin(ctx.user):
        ret["error"] = (
            f"User {ctx.user.name} doesn't have permission to change upload lock settings."
        )
        return
    if ctx.req.param("adhocUpload") is None:
        ret["error"] = "adhocUpload parameter is not set"


_AJAX = {
    "getProjectId": _get_project_id,
    "fetchProjectLogs": _fetch_logs,
    "fetchflowjobs": _fetch_flow_jobs,
    "fetchflowdetails": _fetch_flow_details,
    "fetchflowgraph": _fetch_flow_graph,
    "fetchflownodedata": _fetch_flow_node_data,
    "fetchprojectflows": _fetch_project_flows,
    "changeDescription": _change_description,
    "getPermissions": _get_permissions,
    "getGroupPermissions": _get_group_permissions,
    "getProxyUsers": _get_proxy_users,
    "changePermission": _change_permission,
    "addPermission": _add_permission,
    "changeUploadSetting": _change_upload_setting,
    "getUploadSetting": _get_upload_setting,
    "addProxyUser": _add_proxy_user,
    "removeProxyUser": _remove_proxy_user,
    "fetchFlowExecutions": _fetch_flow_executions,
    "fetchLastSuccessfulFlowExecution": _fetch_last_success,
    "fetchJobInfo": _fetch_job_info,
    "setJobOverrideProperty": _set_job_override,
    "checkForWritePermission": _check_write,
    "setFlowLock": _set_flow_lock,
    "isFlowLocked": _is_flow_locked,
}
