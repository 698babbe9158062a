"""project.NAME.schedule.FLOW: one cron schedule and its options.

scheduleCronFlow replaces a flow's schedule in place and wipes its SLA unless the SLA is sent
in the same request, so every (re-)post carries the desired SLA: a schedule change can never
lose an SLA, even if apply stops right after it. A schedule needs its project and the new
files (a new flow exists only after the upload); removals come after everything else but the
project's own deletion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from azstate.address import Address, Kind
from azstate.archive import ZipData
from azstate.config import ProjectConfig, ScheduleConfig
from azstate.errors import AzkabanError
from azstate.plan import Action, Call, Change
from azstate.resources.reading import AllOf, Done, Listed, Pending, Reader
from azstate.resources.unit import PROJECT_CREATED, Need, ProjectContext, Unit, by_action
from azstate.snapshot import ProjectSnapshot, ScheduleRead
from azstate.state import (
    END_SCHED_TIME_DEFAULT,
    ProjectState,
    ScheduleValue,
    SlaValue,
    SourceFiles,
)
from azstate.wire import calls
from azstate.wire.client import AzkabanClient
from azstate.wire.replies import ProjectListing, ScheduleListing


def desired_schedule(sched: ScheduleConfig) -> ScheduleValue:
    """The one place a schedule's configuration becomes the value compared with the server."""
    from azstate.cron import normalize

    concurrent = sched.concurrent.value
    queue = concurrent == "queue"
    return ScheduleValue(
        cron=normalize(sched.cron),
        concurrent=concurrent,
        pipeline_level=sched.pipeline_level if concurrent == "pipeline" else None,
        # Azkaban's default queue level is 1
        queue_level=(1 if sched.queue_level is None else sched.queue_level) if queue else None,
        failure_action=sched.failure_action,
        failure_action_override=sched.failure_action_override,
        failure_emails=frozenset(sched.failure_emails),
        failure_emails_override=bool(sched.failure_emails)
        if sched.failure_emails_override is None
        else sched.failure_emails_override,
        success_emails=frozenset(sched.success_emails),
        success_emails_override=bool(sched.success_emails)
        if sched.success_emails_override is None
        else sched.success_emails_override,
        notify_on_first_failure=sched.notify_on_first_failure,
        notify_on_last_failure=sched.notify_on_last_failure,
        mail_creator=sched.mail_creator,
        disabled_jobs=frozenset(sched.disabled_jobs),
        parameters=tuple(sorted(sched.parameters.items())),
        runtime_properties=tuple(
            (node, tuple(sorted(props.items())))
            for node, props in sorted(sched.runtime_properties.items())
        ),
        back_execute_once=sched.back_execute_once,
        end_sched_time=END_SCHED_TIME_DEFAULT,
    )


def _read_schedule(reader: Reader, item: ProjectListing, listed: ScheduleListing) -> ScheduleRead:
    """fetchSchedule, and slaInfo when it lists an SLA. A schedule whose options the server
    lost (``executionOptions: null``) has no SLA to read, and slaInfo would answer 500."""
    client = reader.client
    live = client.fetch_schedule(item.project_id, listed.flow)
    if live is None:
        return ScheduleRead(schedule_id=listed.schedule_id)
    has_sla = live.has_sla and not live.value.no_options
    sla = read_sla(client, live.schedule_id, item.name) if has_sla else None
    return ScheduleRead(
        schedule_id=listed.schedule_id,
        value=live.value,
        unmanaged=live.unmanaged,
        cron_note=live.cron_note,
        sla=sla,
    )


def _as_desired(listed: Listed, flow: str, s: ScheduleListing) -> Done[ScheduleRead] | None:
    """A schedule not to be read again (apply's verification did not change it) taken as
    desired, when the listing agrees: it is wanted, with the desired cron; else None."""
    desired = listed.desired
    addresses = (Address.schedule(listed.item.name, flow), Address.sla(listed.item.name, flow))
    if listed.reading(*addresses) or desired is None or flow not in desired.schedules:
        return None
    taken = read_as_desired(desired, flow, s)
    return None if taken is None else Done(taken)


def read_as_desired(desired: ProjectState, flow: str, s: ScheduleListing) -> ScheduleRead | None:
    """What reading a listed schedule would give, when something vouches that it holds the
    desired value: only if the listing (read now) shows the desired cron."""
    want = desired.schedules.get(flow)
    if want is None or s.cron != want.cron:
        return None
    return ScheduleRead(schedule_id=s.schedule_id, value=want, sla=desired.slas.get(flow))


def read_sla(client: AzkabanClient, schedule_id: int, project: str) -> SlaValue | None:
    """slaInfo, whose "Project N doesn't exist" for a project that was just listed means the
    user lacks READ on it (it looks the project up as the user): said so, in the error."""
    try:
        return client.sla_info(schedule_id)
    except AzkabanError as exc:
        if type(exc) is not AzkabanError or not _SLA_PROJECT_MISSING.search(exc.message):
            raise
        raise AzkabanError(
            f"{exc.message}: the project exists, so user {client.username} lacks READ "
            f"permission on project {project} (slaInfo needs it)",
            method=exc.method,
            path=exc.path,
            action=exc.action,
            status=exc.status,
        ) from exc


_SLA_PROJECT_MISSING = re.compile(r"Project \S+ doesn't exist")
_OPTIONS_LOST = (
    "the server lost this schedule's options (a refused re-post left executionOptions null): "
    "the re-post restores them"
)


class ScheduleUnit(Unit):
    kind = Kind.SCHEDULE
    value_type = ScheduleValue
    phases = by_action(30, delete=70)
    needs = (PROJECT_CREATED, Need(Kind.FILES))
    state_fields = ("schedules",)

    def desired(self, project: ProjectConfig, source: SourceFiles | None) -> Mapping[str, Any]:
        return {"schedules": {flow: desired_schedule(s) for flow, s in project.schedules.items()}}

    def read(self, reader: Reader, listed: Listed) -> Mapping[str, Pending[Any]]:
        """Per flow one fetchSchedule, and slaInfo when it has an SLA (fetchSchedule omits the
        SLA's actions); also of a project about to be pruned, whose plan shows what goes."""
        item = listed.item
        return {
            "schedules": AllOf(
                {
                    flow: _as_desired(listed, flow, s)
                    or reader.submit(
                        Address.schedule(item.name, flow), _read_schedule, reader, item, s
                    )
                    for flow, s in listed.schedules.items()
                }
            )
        }

    def verify_reads(self, change: Change, desired: ProjectState | None) -> frozenset[Address]:
        """A posted schedule and its SLA: every re-post replaces all options, wiping the SLA
        unless it came in the same call (trap 23). A removed one: its absence from the
        listing."""
        if change.action is Action.DELETE:
            return frozenset({change.address})
        return frozenset({change.address, Address.sla(change.address.project, change.address.name)})

    def live(self, snapshot: ProjectSnapshot) -> Mapping[str, Any]:
        return {
            "schedules": {
                flow: read.value
                for flow, read in snapshot.schedules.items()
                if read.value is not None
            }
        }

    def plan(self, ctx: ProjectContext) -> list[Change]:
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
                reason = _OPTIONS_LOST if have is not None and have.no_options else None
                live_sla = ctx.live.slas.get(flow) if ctx.live else None
                if have is not None and live_sla is not None:
                    reason = (
                        "re-posting a schedule drops its SLA: the SLA is sent again in the same "
                        "call"
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
                reason = f"removed by the server with the new files: flow {flow} is gone"
                call_list = ()
            else:
                reason, call_list = "not in the configuration", (calls.remove_schedule(sid or 0),)
            changes.append(
                ctx.change(
                    addr, Action.DELETE, have, None, call_list, reason, fingerprint_extra=sid
                )
            )
        return changes

    def happened(
        self, client: AzkabanClient, change: Change, call: Call, data: ZipData | None
    ) -> bool:
        if change.action is not Action.DELETE:
            return False
        sid = calls.removed_schedule_id(call)
        return all(s.schedule_id != sid for s in client.fetch_schedules())


UNIT = ScheduleUnit()
