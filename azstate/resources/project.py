"""project.NAME: existence and description.

Azkaban requires a non-blank description at create but gives no JSON read-back of it: the
refresh reads the project page. A description that could not be read (None) is never a change.
Creation comes first and deletion last: everything else in the project lives inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azstate.address import Address, Kind
from azstate.config import ProjectConfig
from azstate.plan import Action, Call, Change
from azstate.resources.reading import Listed, Pending, Reader
from azstate.resources.unit import ProjectContext, Unit, by_action
from azstate.snapshot import ProjectSnapshot
from azstate.state import ProjectState, ProjectValue, SourceFiles
from azstate.wire import calls
from azstate.wire.client import AzkabanClient


def _value(state: ProjectState) -> ProjectValue:
    return ProjectValue(description=state.description)


class ProjectUnit(Unit):
    kind = Kind.PROJECT
    value_type = ProjectValue
    phases = by_action(20, create=0, delete=90)
    state_fields = ("description",)

    def desired(self, project: ProjectConfig, source: SourceFiles | None) -> Mapping[str, Any]:
        return {"description": project.description}

    def read(self, reader: Reader, listed: Listed) -> Mapping[str, Pending[Any]]:
        """The description, from the project page (no JSON call returns it, trap 7)."""
        if listed.desired is None:
            return {}
        name = listed.item.name
        return {
            "description": reader.submit(Address(name), reader.client.project_description, name)
        }

    def live(self, snapshot: ProjectSnapshot) -> Mapping[str, Any]:
        return {"description": snapshot.description}

    def plan(self, ctx: ProjectContext) -> list[Change]:
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

    def happened(
        self, client: AzkabanClient, change: Change, call: Call, data: bytes | None
    ) -> bool:
        project = change.address.project
        if change.action is Action.CREATE:
            return client.get_project_id(project) is not None
        if change.action is Action.DELETE:
            return not client.project_exists(project)
        return False


UNIT = ProjectUnit()
