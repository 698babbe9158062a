"""``/index`` (ProjectServlet): the project listings.

``fetchallprojects`` lists every active project whatever the caller may see;
``fetchuserprojects`` only those where the user (``user`` param, else the session's) has a
direct user permission with ADMIN or READ. Items are SimplifiedProject beans, whose
``createdBy`` is really the last modifier. Without ``ajax`` the page: ``?all`` lists every
active project (no permission filter), otherwise the user's own (the ``fetchuserprojects``
rule), each with its description escaped once and ``Last modified on ... by ...``. POST does
nothing at all.
"""

from __future__ import annotations

from typing import Any

from azstate.sandbox import pages
from azstate.sandbox.exchange import Reply
from azstate.sandbox.javalang import hashmap_order
from azstate.sandbox.manager import page_reply
from azstate.sandbox.servlet import Context
from azstate.sandbox.store import Project


def handle_get(ctx: Context) -> Reply:
    if ctx.req.has("ajax"):
        ajax = ctx.req.require("ajax")
        ret: dict[str, Any] = {}
        if ajax == "fetchallprojects":
            ret["projects"] = [_simplified(p) for p in ctx.store.active_projects()]
        elif ajax == "fetchuserprojects":
            user = ctx.req.param("user")
            name = user if user else ctx.user.name
            ret["projects"] = [
                _simplified(p) for p in ctx.store.active_projects() if _reads(p, name)
            ]
        return Reply.json(ret)
    view = "all" if ctx.req.has("all") else "personal"
    chosen = ctx.store.active_projects()
    if view == "personal":
        chosen = [p for p in chosen if _reads(p, ctx.user.name)]
    # Newest change first (the recorded page's order; Azkaban does not specify one).
    chosen.sort(key=lambda p: (p.modified_ms, p.id), reverse=True)
    entries = [
        pages.IndexEntry(
            name=p.name,
            description=p.description,
            modified=ctx.format_time(p.modified_ms),
            modified_by=p.modified_by,
        )
        for p in chosen
    ]
    return page_reply(pages.index_page(entries, view=view))


def handle_post(ctx: Context) -> Reply:
    return Reply.raw("")


def _reads(project: Project, user: str) -> bool:
    """``getUserProjects``: a direct user permission with ADMIN or READ (no roles, no groups)."""
    return bool({"ADMIN", "READ"} & set(project.user_permissions.get(user, [])))


def _pairs(entries: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"first": name, "second": {"types": list(entries[name])}} for name in hashmap_order(entries)
    ]


def _simplified(project: Project) -> dict[str, Any]:
    return {
        "projectId": project.id,
        "projectName": project.name,
        "createdBy": project.modified_by,
        "createdTime": project.created_ms,
        "userPermissions": _pairs(project.user_permissions),
        "groupPermissions": _pairs(project.group_permissions),
    }
