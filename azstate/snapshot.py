"""What a refresh read of one project, as read: typed, frozen and serialisable.

refresh.py fills it (the only I/O); the resource units turn it into live values (a pure
function, resources.live_project). It carries a version so that a later cache can store it, or
digests of it, and refuse a snapshot written by another layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from azstate.state import Frozen, PermissionValue, ScheduleValue, SlaValue

SNAPSHOT_VERSION: Literal[1] = 1


class FilesRead(Frozen):
    """The project's current upload: its version (None: nothing uploaded) and content digest;
    when it differs from the configuration's, its files (path -> sha256 prefix) and flows too,
    so the plan can say which files and flows an upload changes."""

    version: int | None
    digest: str | None
    files: Mapping[str, str] | None = None
    flows: frozenset[str] | None = None


class ScheduleRead(Frozen):
    """One flow's schedule: the id fetchSchedules listed, and what fetchSchedule answered."""

    schedule_id: int
    value: ScheduleValue | None = None  # None: fetchSchedule found none after all
    unmanaged: tuple[str, ...] = ()  # options set on the server that the value cannot hold
    cron_note: str | None = None  # the live cron is one only Quartz 2.2 takes (import says so)
    sla: SlaValue | None = None  # None: no SLA (or not read)


class ProjectSnapshot(Frozen):
    """One project as the server showed it. ``None`` parts were not read."""

    snapshot_version: Literal[1] = SNAPSHOT_VERSION
    name: str  # the server's spelling
    project_id: int
    created_time: int | None = None
    description: str | None = None
    files: FilesRead | None = None
    schedules: Mapping[str, ScheduleRead] = {}
    user_permissions: Mapping[str, PermissionValue] = {}
    group_permissions: Mapping[str, PermissionValue] = {}


class ServerSnapshot(Frozen):
    """Every project read, keyed by lower-cased name, and the user that read them."""

    snapshot_version: Literal[1] = SNAPSHOT_VERSION
    projects: Mapping[str, ProjectSnapshot] = {}
    user: str = ""
