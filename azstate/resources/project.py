"""project.NAME: existence and description.

Azkaban requires a non-blank description at create but gives no JSON read-back of it: the
refresh reads every description from the /index?all listing (one call for all projects), or
the project page of a project the listing does not show; a page that shows none stops the plan
(a value that could not be read is never taken for "no change"). Descriptions are compared as
the page shows them (wire.replies.description_as_shown): white space exactly, the three
spellings of a page break as one. Creation comes first and deletion last: everything else in
the project lives inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azstate.address import Address, Kind
from azstate.archive import ZipData
from azstate.config import ProjectConfig
from azstate.errors import AzkabanError, PlanError
from azstate.plan import Action, Call, Change
from azstate.resources.reading import Done, Listed, Pending, Reader
from azstate.resources.unit import ProjectContext, Unit, addresses_of, by_action
from azstate.snapshot import ProjectSnapshot
from azstate.state import ProjectState, ProjectValue, SourceFiles
from azstate.wire import calls
from azstate.wire.client import AzkabanClient
from azstate.wire.replies import description_as_shown


def _value(state: ProjectState) -> ProjectValue:
    return ProjectValue(description=state.description)


def read_description(client: AzkabanClient, project: str) -> str:
    """The description from the project page; a page without one is an error naming the call
    (a user that may not read the project gets an error page, which the client raises)."""
    description = client.project_description(project)
    if description is None:
        raise AzkabanError(
            "the project page shows no description (is the project readable by this user?)",
            method="GET",
            path=f"/manager?project={project}",
        )
    return description


def same_description(want: str, have: str) -> bool:
    """Equal as the project page shows them: the one comparison of descriptions, whichever
    page or listing the live one was read from."""
    return description_as_shown(want) == description_as_shown(have)


class ProjectUnit(Unit):
    kind = Kind.PROJECT
    value_type = ProjectValue
    phases = by_action(20, create=0, delete=90)
    state_fields = ("description",)

    def desired(self, project: ProjectConfig, source: SourceFiles | None) -> Mapping[str, Any]:
        return {"description": project.description}

    def read(self, reader: Reader, listed: Listed) -> Mapping[str, Pending[Any]]:
        """The description, from the /index?all listing, else the project page (no JSON call
        returns it, trap 7); also of a project about to be pruned, whose plan shows what goes."""
        if listed.description is not None:
            return {"description": Done(listed.description)}
        name = listed.item.name
        desired = listed.desired
        if not listed.reading(Address.project_(name)) and desired and desired.description:
            return {"description": Done(desired.description)}  # not changed by this apply
        return {"description": reader.submit(Address(name), read_description, reader.client, name)}

    def live(self, snapshot: ProjectSnapshot) -> Mapping[str, Any]:
        return {"description": snapshot.description}

    def verify_reads(self, change: Change, desired: ProjectState | None) -> frozenset[Address]:
        """A new project is verified whole (everything in it is new); a deleted one by its
        absence from the listing, which every read starts with."""
        if change.action is Action.CREATE:
            return addresses_of(change.address.project, desired)
        return frozenset({change.address})

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
            why = f'matches prune glob "{ctx.prune_glob}": ' if ctx.prune_glob else ""
            return [
                ctx.change(
                    addr,
                    Action.DELETE,
                    _value(ctx.live),
                    None,
                    (calls.delete_project(ctx.live.name),),
                    reason=f"{why}deleting the project also removes its files, schedules, SLAs "
                    "and permissions",
                    fingerprint_extra=extra,
                )
            ]
        if ctx.desired is None or ctx.live is None:
            return []
        want, have = ctx.desired.description, ctx.live.description
        if want is None:
            return []
        if have is None:
            raise PlanError(f"{addr}: its description was not read from the server")
        if same_description(want, have):
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
        self, client: AzkabanClient, change: Change, call: Call, data: ZipData | None
    ) -> bool:
        project = change.address.project
        if change.action is Action.CREATE:
            return client.get_project_id(project) is not None
        if change.action is Action.DELETE:
            return not client.project_exists(project)
        return False


UNIT = ProjectUnit()
