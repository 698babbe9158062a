"""project.NAME.schedule.FLOW: one cron schedule and its options.

scheduleCronFlow replaces a flow's schedule in place and wipes its SLA unless the SLA is sent
in the same request, so every (re-)post carries the desired SLA: a schedule change can never
lose an SLA, even if apply stops right after it.
"""

from __future__ import annotations

from azstate.address import Address
from azstate.plan import Action, Call, Change
from azstate.resources import ProjectContext
from azstate.wire import calls


def plan(ctx: ProjectContext) -> list[Change]:
    desired = ctx.desired.schedules if ctx.desired else {}
    live = ctx.live.schedules if ctx.live else {}
    changes: list[Change] = []
    for flow in sorted(set(desired) | set(live)):
        want, have = desired.get(flow), live.get(flow)
        addr = Address.schedule(ctx.name, flow)
        sid = ctx.schedule_id(flow)
        if want is not None and want == have:
            continue
        if want is not None:
            sla = ctx.desired.slas.get(flow) if ctx.desired else None
            call = calls.schedule_cron_flow(ctx.name, flow, want, sla)
            reason = None
            live_sla = ctx.live.slas.get(flow) if ctx.live else None
            if have is not None and live_sla is not None:
                reason = (
                    "re-posting a schedule drops its SLA: the SLA is sent again in the same call"
                    if sla is not None
                    else "re-posting a schedule drops its SLA"
                )
            action = Action.CREATE if have is None else Action.UPDATE
            posted = want.model_copy(update={"submitted_by": ctx.user or None})  # display only
            changes.append(
                ctx.change(addr, action, have, posted, (call,), reason, fingerprint_extra=sid)
            )
            continue
        assert have is not None
        call_list: tuple[Call, ...]
        if ctx.deleting:
            reason, call_list = "removed by the server with the project", ()
        elif ctx.uploading and flow not in (ctx.desired_flows or frozenset()):
            reason, call_list = f"removed by the server with the new files: flow {flow} is gone", ()
        else:
            reason, call_list = "not in the configuration", (calls.remove_schedule(sid or 0),)
        changes.append(
            ctx.change(addr, Action.DELETE, have, None, call_list, reason, fingerprint_extra=sid)
        )
    return changes
