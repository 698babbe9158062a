"""project.NAME: existence and description.

Azkaban requires a non-blank description at create but gives no JSON read-back of it: the
refresh reads the project page. A description that could not be read (None) is never a change.
"""

from __future__ import annotations

from azstate.address import Address
from azstate.plan import Action, Change
from azstate.resources import ProjectContext
from azstate.state import ProjectState
from azstate.wire import calls


def _value(state: ProjectState) -> dict[str, str | None]:
    return {"description": state.description}


def plan(ctx: ProjectContext) -> list[Change]:
    addr = Address.project_(ctx.name)
    ids = ctx.live.ids if ctx.live else None
    extra = ids.project_id if ids else None
    if ctx.creating:
        assert ctx.desired is not None
        call = calls.create_project(ctx.name, ctx.desired.description or "")
        return [ctx.change(addr, Action.CREATE, None, _value(ctx.desired), (call,))]
    if ctx.deleting:
        assert ctx.live is not None
        return [
            ctx.change(
                addr,
                Action.DELETE,
                _value(ctx.live),
                None,
                (calls.delete_project(ctx.live.name),),
                reason="deleting a project also removes its schedules and SLAs",
                fingerprint_extra=extra,
            )
        ]
    if ctx.desired is None or ctx.live is None:
        return []
    want, have = ctx.desired.description, ctx.live.description
    if have is None or want is None or want == have:
        return []
    return [
        ctx.change(
            addr,
            Action.UPDATE,
            _value(ctx.live),
            _value(ctx.desired),
            (calls.change_description(ctx.name, want),),
            fingerprint_extra=extra,
        )
    ]
