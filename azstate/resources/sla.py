"""project.NAME.sla.FLOW: the SLA rules and emails of a schedule.

setSla replaces the whole list but cannot clear it; clearing re-posts the schedule without one.
When the schedule itself changes, its call already carries the SLA, so the SLA change is shown
for review but sends nothing of its own.
"""

from __future__ import annotations

from azstate.address import Address
from azstate.plan import Action, Change
from azstate.resources import ProjectContext
from azstate.wire import calls


def plan(ctx: ProjectContext) -> list[Change]:
    desired = ctx.desired.slas if ctx.desired else {}
    live = ctx.live.slas if ctx.live else {}
    d_sched = ctx.desired.schedules if ctx.desired else {}
    l_sched = ctx.live.schedules if ctx.live else {}
    changes: list[Change] = []
    for flow in sorted(set(desired) | set(live)):
        want, have = desired.get(flow), live.get(flow)
        if want == have:
            continue
        addr = Address.sla(ctx.name, flow)
        sid = ctx.schedule_id(flow)
        schedule_reposted = flow in d_sched and d_sched[flow] != l_sched.get(flow)
        action = Action.CREATE if have is None else Action.DELETE if want is None else Action.UPDATE
        if schedule_reposted:
            changes.append(
                ctx.change(
                    addr,
                    action,
                    have,
                    want,
                    (),
                    "sent with the schedule's scheduleCronFlow call",
                    fingerprint_extra=sid,
                )
            )
        elif want is not None:
            assert sid is not None
            changes.append(
                ctx.change(
                    addr, action, have, want, (calls.set_sla(sid, want),), fingerprint_extra=sid
                )
            )
        elif flow in d_sched:
            call = calls.schedule_cron_flow(ctx.name, flow, d_sched[flow], None)
            changes.append(
                ctx.change(
                    addr,
                    action,
                    have,
                    None,
                    (call,),
                    "setSla cannot clear an SLA: the schedule is re-posted without one",
                    fingerprint_extra=sid,
                )
            )
        else:
            changes.append(
                ctx.change(
                    addr, action, have, None, (), "removed with its schedule", fingerprint_extra=sid
                )
            )
    return changes
