"""project.NAME.permission.user.USER / .group.GROUP: one permission entry.

Only managed when the project has a permissions table. The applying user's own entry is kept
unless the table names that user: Azkaban makes the creator ADMIN, and removing it would lock
azstate out of the project it manages. Entries are granted after the project's settings and
schedules, and removed after every grant. A project being deleted shows every entry it holds
as going with it (the server drops them with the project: no calls of their own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from azstate.address import Address, Kind
from azstate.archive import ZipData
from azstate.config import ProjectConfig
from azstate.plan import Action, Call, Change
from azstate.resources.reading import Done, Listed, Pending, Reader
from azstate.resources.unit import PROJECT_CREATED, ProjectContext, Unit, by_action
from azstate.snapshot import ProjectSnapshot
from azstate.state import Perm, PermissionValue, Principal, SourceFiles, permission_key
from azstate.wire import calls
from azstate.wire.client import AzkabanClient


class PermissionUnit(Unit):
    kind = Kind.PERMISSION
    value_type = PermissionValue
    phases = by_action(50, delete=60)
    needs = (PROJECT_CREATED,)
    state_fields = ("permissions",)

    def desired(self, project: ProjectConfig, source: SourceFiles | None) -> Mapping[str, Any]:
        if project.permissions is None:
            return {"permissions": None}
        table = project.permissions
        permissions = {
            permission_key("user", user): PermissionValue(perms=frozenset(perms))
            for user, perms in table.users.items()
        }
        permissions.update(
            (permission_key("group", group), PermissionValue(perms=frozenset(perms)))
            for group, perms in table.groups.items()
        )
        return {"permissions": permissions}

    def read(self, reader: Reader, listed: Listed) -> Mapping[str, Pending[Any]]:
        """fetchallprojects already lists every entry: no call of its own."""
        return {
            "user_permissions": Done(listed.item.user_permissions),
            "group_permissions": Done(listed.item.group_permissions),
        }

    def live(self, snapshot: ProjectSnapshot) -> Mapping[str, Any]:
        out = {permission_key("user", u): v for u, v in snapshot.user_permissions.items()}
        out.update({permission_key("group", g): v for g, v in snapshot.group_permissions.items()})
        return {"permissions": out}

    def plan(self, ctx: ProjectContext) -> list[Change]:
        if ctx.deleting:
            return self._deleted_with_project(ctx)
        if ctx.desired is None or ctx.desired.permissions is None:
            return []
        desired = dict(ctx.desired.permissions)
        live = dict(ctx.live.permissions or {}) if ctx.live else {}
        own = permission_key("user", ctx.user)
        if ctx.creating and ctx.user:
            # Azkaban grants the creator ADMIN at create.
            live[own] = PermissionValue(perms=frozenset({Perm.ADMIN}))
        changes: list[Change] = []
        for key in sorted(set(desired) | set(live)):
            if key == own and key not in desired:
                continue
            want, have = desired.get(key), live.get(key)
            if want == have:
                continue
            kind, _, name = key.partition(".")
            principal = cast(Principal, kind)
            addr = Address.permission(ctx.name, principal, name)
            if have is None:
                assert want is not None
                call = calls.add_permission(ctx.name, principal, name, want.perms)
                changes.append(ctx.change(addr, Action.CREATE, None, want, (call,)))
            elif want is None:
                call = calls.change_permission(ctx.name, principal, name, frozenset())
                changes.append(
                    ctx.change(
                        addr,
                        Action.DELETE,
                        have,
                        None,
                        (call,),
                        "not in the configuration's permissions table",
                    )
                )
            else:
                call = calls.change_permission(ctx.name, principal, name, want.perms)
                changes.append(ctx.change(addr, Action.UPDATE, have, want, (call,)))
        return changes

    def _deleted_with_project(self, ctx: ProjectContext) -> list[Change]:
        """Every entry of a project being deleted, shown as going with it (no call of its
        own): a reviewer sees who loses access."""
        assert ctx.live is not None
        changes = []
        for key, have in sorted((ctx.live.permissions or {}).items()):
            kind, _, name = key.partition(".")
            addr = Address.permission(ctx.name, cast(Principal, kind), name)
            reason = "removed by the server with the project"
            changes.append(ctx.change(addr, Action.DELETE, have, None, (), reason))
        return changes

    def happened(
        self, client: AzkabanClient, change: Change, call: Call, data: ZipData | None
    ) -> bool:
        """Whether the entry exists now (addPermission is never sent twice: the second
        would fail with "already exists")."""
        if change.action is not Action.CREATE:
            return False
        addr = change.address
        if addr.principal == "group":
            return addr.name in client.get_group_permissions(addr.project)
        return addr.name in client.get_permissions(addr.project)


UNIT = PermissionUnit()
