"""project.NAME.sla.FLOW: the SLA rules and emails of a schedule.

setSla replaces the whole list but cannot clear it; clearing re-posts the schedule without one.
When the schedule itself changes, its call already carries the SLA, so the SLA change is shown
for review but sends nothing of its own. An SLA needs its schedule (and so what that needs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azstate.address import Address, Kind
from azstate.config import ProjectConfig, SlaConfig
from azstate.plan import Action, Call, Change
from azstate.resources.unit import PROJECT_CREATED, Need, ProjectContext, Unit, by_action
from azstate.snapshot import ProjectSnapshot
from azstate.state import SlaRuleValue, SlaValue, SourceFiles
from azstate.wire import calls


def desired_sla(sla: SlaConfig) -> SlaValue:
    return SlaValue(
        emails=frozenset(sla.emails),
        alerters=tuple(
            (name, tuple(sorted(config.items()))) for name, config in sorted(sla.alerters.items())
        ),
        rules=frozenset(
            SlaRuleValue(
                job=rule.job or "",
                rule=rule.rule,
                minutes=rule.duration,
                email=rule.email,
                kill=rule.kill,
            )
            for rule in sla.rules
        ),
    )


class SlaUnit(Unit):
    kind = Kind.SLA
    value_type = SlaValue
    phases = by_action(40)
    needs = (
        PROJECT_CREATED,
        Need(Kind.FILES),
        Need(Kind.SCHEDULE, same_name=True),
    )
    state_fields = ("slas",)

    def desired(self, project: ProjectConfig, source: SourceFiles | None) -> Mapping[str, Any]:
        return {
            "slas": {
                flow: desired_sla(s.sla)
                for flow, s in project.schedules.items()
                if s.sla is not None
            }
        }

    # No reads of its own: slaInfo is asked in the schedule's read, which alone knows (from
    # fetchSchedule) whether there is an SLA to ask for.

    def live(self, snapshot: ProjectSnapshot) -> Mapping[str, Any]:
        return {
            "slas": {
                flow: read.sla
                for flow, read in snapshot.schedules.items()
                if read.value is not None and read.sla is not None
            }
        }

    def plan(self, ctx: ProjectContext) -> list[Change]:
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
            action = (
                Action.CREATE if have is None else Action.DELETE if want is None else Action.UPDATE
            )
            sent: tuple[Call, ...]
            reason: str | None
            if schedule_reposted:
                sent, reason = (), "sent with the schedule's scheduleCronFlow call"
            elif want is not None:
                assert sid is not None
                sent, reason = (calls.set_sla(sid, want),), None
            elif flow in d_sched:
                sent = (calls.schedule_cron_flow(ctx.name, flow, d_sched[flow], None),)
                reason = "setSla cannot clear an SLA: the schedule is re-posted without one"
            else:
                sent, reason = (), "removed with its schedule"
            changes.append(
                ctx.change(addr, action, have, want, sent, reason, fingerprint_extra=sid)
            )
        return changes


UNIT = SlaUnit()
