"""One unit per resource type; this module holds what they share and the registry.

Each unit exposes ``plan(ctx: ProjectContext) -> list[Change]``: it compares the desired and
live values of its kind inside one project and turns each difference into a Change carrying the
exact calls that make it. Adding a resource type means one new module and one line in
RESOURCES.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from azstate.address import Address, Kind
from azstate.config import Config, ProjectConfig
from azstate.plan import Action, Change
from azstate.state import (
    END_SCHED_TIME_DEFAULT,
    FilesValue,
    PermissionValue,
    ProjectState,
    ScheduleValue,
    ServerState,
    SlaRuleValue,
    SlaValue,
    SourceFiles,
    jsonable,
    permission_key,
)


@dataclass(frozen=True)
class ProjectContext:
    """Everything the units need to plan one project; derived facts computed once."""

    name: str  # the configuration's spelling when declared, else the server's
    desired: ProjectState | None  # None: the project should not exist (prune)
    live: ProjectState | None  # None: the project does not exist
    user: str  # the applying user

    @property
    def creating(self) -> bool:
        return self.desired is not None and self.live is None

    @property
    def deleting(self) -> bool:
        return self.desired is None and self.live is not None

    @property
    def uploading(self) -> bool:
        """True when the plan uploads new files (so the server drops vanished flows' schedules)."""
        d = self.desired.files if self.desired else None
        if d is None:
            return False
        live = self.live.files if self.live else None
        return live is None or live.digest != d.digest

    @property
    def desired_flows(self) -> frozenset[str] | None:
        files = self.desired.files if self.desired else None
        return files.flows if files else None

    def schedule_id(self, flow: str) -> int | None:
        if self.live is None or self.live.ids is None:
            return None
        return self.live.ids.schedule_ids.get(flow)

    def change(
        self,
        address: Address,
        action: Action,
        before: Any,
        after: Any,
        calls: tuple[Any, ...] = (),
        reason: str | None = None,
        fingerprint_extra: Any = None,
    ) -> Change:
        before_json = before if isinstance(before, dict) else jsonable(before)
        return Change(
            address=str(address),
            action=action,
            before=before_json,
            after=after if isinstance(after, dict) else jsonable(after),
            calls=calls,
            reason=reason,
            fingerprint=fingerprint(before_json, fingerprint_extra),
        )


def fingerprint(value: Any, extra: Any = None) -> str:
    """A digest of the live value (and identities) a change was planned against."""
    text = json.dumps([value, extra], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def desired_project(name: str, project: ProjectConfig, source: SourceFiles | None) -> ProjectState:
    """The configuration of one project as the normalized values the server is compared with."""
    from azstate.cron import normalize

    files = None
    if source is not None:
        files = FilesValue(
            digest=source.content_digest,
            flows=source.flows,
            zip_name=source.zip_name,
            zip_size=source.zip_size,
            zip_sha256=source.zip_sha256,
        )
    schedules: dict[str, ScheduleValue] = {}
    slas: dict[str, SlaValue] = {}
    for flow, sched in project.schedules.items():
        concurrent = sched.concurrent.value
        queue = concurrent == "queue"
        schedules[flow] = ScheduleValue(
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
        if sched.sla is not None:
            slas[flow] = SlaValue(
                emails=frozenset(sched.sla.emails),
                alerters=tuple(
                    (name, tuple(sorted(config.items())))
                    for name, config in sorted(sched.sla.alerters.items())
                ),
                rules=frozenset(
                    SlaRuleValue(
                        job=rule.job or "",
                        rule=rule.rule,
                        minutes=rule.duration,
                        email=rule.email,
                        kill=rule.kill,
                    )
                    for rule in sched.sla.rules
                ),
            )
    permissions: dict[str, PermissionValue] | None = None
    if project.permissions is not None:
        permissions = {}
        for user, perms in project.permissions.users.items():
            permissions[permission_key("user", user)] = PermissionValue(perms=frozenset(perms))
        for group, perms in project.permissions.groups.items():
            permissions[permission_key("group", group)] = PermissionValue(perms=frozenset(perms))
    return ProjectState(
        name=name,
        description=project.description,
        files=files,
        schedules=schedules,
        slas=slas,
        permissions=permissions,
        protect=project.protect,
    )


def desired_state(
    config: Config, sources: Mapping[str, SourceFiles], user: str = ""
) -> ServerState:
    return ServerState(
        projects={
            name.lower(): desired_project(name, project, sources.get(name))
            for name, project in config.projects.items()
        },
        user=user,
    )


def _units() -> tuple[Callable[[ProjectContext], list[Change]], ...]:
    from azstate.resources import files, permission, project, schedule, sla

    return (project.plan, files.plan, schedule.plan, sla.plan, permission.plan)


def phase(change: Change) -> int:
    """Apply order inside a project: create, upload, description, schedules, SLAs,
    permissions, then deletions; the applying user's own entry and the project delete last."""
    addr = change.addr
    deleting = change.action is Action.DELETE
    match addr.kind:
        case Kind.PROJECT:
            return 90 if deleting else 0 if change.action is Action.CREATE else 20
        case Kind.FILES:
            return 10
        case Kind.SCHEDULE:
            return 70 if deleting else 30
        case Kind.SLA:
            return 40
        case Kind.PERMISSION:
            return 60 if deleting else 50


def plan_project(ctx: ProjectContext) -> list[Change]:
    changes: list[Change] = []
    for unit in _units():
        changes.extend(unit(ctx))
    return changes
