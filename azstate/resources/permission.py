"""project.NAME.permission.user.USER / .group.GROUP: one permission entry.

Only managed when the project has a permissions table. The applying user's own entry is kept
unless the table names that user: Azkaban makes the creator ADMIN, and removing it would lock
azstate out of the project it manages.
"""

from __future__ import annotations

from typing import cast

from azstate.address import Address
from azstate.plan import Action, Change
from azstate.resources import ProjectContext
from azstate.state import Perm, PermissionValue, Principal, permission_key
from azstate.wire import calls


def plan(ctx: ProjectContext) -> list[Change]:
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
