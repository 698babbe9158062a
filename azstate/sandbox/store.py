"""The emulator's state, and its persistence as JSON files under a data directory.

One file per project, schedule and execution, plus the id counters, each rewritten atomically
(temporary file, then rename) right after the change, so a write costs the size of what changed
and a read costs nothing on disk. Uploaded zips are kept as files. Sessions are not stored:
like Azkaban's in-memory session cache they are lost on restart.

Everything is guarded by one re-entrant lock; handlers hold it for the whole request, which
keeps each request atomic the way Azkaban's synchronised managers mostly do.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from azstate.private import make_dirs, write_file
from azstate.sandbox.flowload import FlowData
from azstate.sandbox.flowoptions import Options

VERSION_RETENTION = 3


TIE_ORDERS = ("oldest-first", "newest-first")


def now_ms() -> int:
    return int(time.time() * 1000)


class EventClock:
    """The times project events (and the project changes they record) are stamped with.

    Azkaban stamps an event with the wall clock when it is inserted, and its log is ordered
    by that time only. Its inserts take a millisecond or more, so successive mutations
    nearly always get distinct times; the sandbox answers far faster, so a running clock
    here gives every event a time strictly after the previous one (in a burst of N events
    faster than one a millisecond, up to N ms ahead of the wall clock), which keeps "newest
    first" as determined as it is in practice. ``frozen_ms`` stamps every event with that one time,
    so that ties (two events in one millisecond, about 1 upload in 20 on a real server)
    or events older than earlier ones can be made on purpose.
    """

    def __init__(self) -> None:
        self.frozen_ms: int | None = None
        self.last_ms = 0

    def running_ms(self) -> int:
        """What the running clock would stamp next: now, but after every earlier stamp."""
        return max(now_ms(), self.last_ms + 1)

    def stamp(self) -> int:
        value = self.frozen_ms if self.frozen_ms is not None else self.running_ms()
        self.last_ms = max(self.last_ms, value)
        return value


@dataclass
class Project:
    id: int
    name: str
    description: str
    created_ms: int
    modified_ms: int
    modified_by: str
    active: bool = True
    version: int = 0
    user_permissions: dict[str, list[str]] = field(default_factory=dict)
    group_permissions: dict[str, list[str]] = field(default_factory=dict)
    proxy_users: list[str] = field(default_factory=list)
    flows: dict[str, FlowData] = field(default_factory=dict)
    locked_flows: dict[str, str | None] = field(default_factory=dict)
    # [user, time millis, event type, message], in the order they were logged
    events: list[list[Any]] = field(default_factory=list)
    # version -> {"file": upload file name, "user", "ms", "stored": zip still kept}
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "flow/job" -> job properties set by setJobOverrideProperty
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)

    def top_flows(self) -> list[FlowData]:
        return [f for f in self.flows.values() if not f["embedded"]]


@dataclass
class Schedule:
    id: int
    project_id: int
    project_name: str
    flow: str
    cron: str
    first_ms: int
    submit_user: str
    # None after a re-post whose options failed to parse: Azkaban keeps the schedule with the
    # new cron and null options until a good re-post (fetchSchedule shows null, slaInfo 500s)
    options: Options | None
    timezone: str
    back_execute_once: bool = False
    end_ms: int = 2524608000000


@dataclass
class Execution:
    id: int
    project_id: int
    project_name: str
    flow: str
    submit_user: str
    submit_ms: int
    start_ms: int
    end_ms: int
    options: Options
    # per node: {"id", "type", "in", "start", "end", "status", "nested", "flow"?, "nodes"?}
    nodes: list[dict[str, Any]] = field(default_factory=list)
    final_status: str = "SUCCEEDED"
    cancelled_ms: int | None = None


@dataclass
class Session:
    id: str
    user: str
    last_ms: int


class Store:
    """All projects, schedules and executions; ``lock`` must be held around any use."""

    def __init__(self, data_dir: Path, *, session_ttl_ms: int = 10 * 3600 * 1000) -> None:
        self.root = data_dir
        self.lock = threading.RLock()
        self.session_ttl_ms = session_ttl_ms
        self.projects: dict[int, Project] = {}
        self.schedules: dict[int, Schedule] = {}
        self.executions: dict[int, Execution] = {}
        self.sessions: dict[str, Session] = {}
        self.counters = {"project": 0, "schedule": 0, "execution": 0}
        self.clock = EventClock()
        # how fetchProjectLogs orders events of the same millisecond (unspecified in Azkaban)
        self.tie_order = TIE_ORDERS[0]
        self._by_name: dict[str, int] = {}
        for sub in ("projects", "schedules", "executions", "files"):
            make_dirs(self.root / sub)
        self._load()

    # -- loading and saving -------------------------------------------------------------

    def _load(self) -> None:
        counters = self.root / "counters.json"
        if counters.exists():
            self.counters.update(json.loads(counters.read_text("utf-8")))
        for path in (self.root / "projects").glob("*.json"):
            project = Project(**json.loads(path.read_text("utf-8")))
            self.projects[project.id] = project
            if project.active:
                self._by_name[project.name.lower()] = project.id
            for event in project.events:
                self.clock.last_ms = max(self.clock.last_ms, int(event[1]))
        for path in (self.root / "schedules").glob("*.json"):
            schedule = Schedule(**json.loads(path.read_text("utf-8")))
            self.schedules[schedule.id] = schedule
        for path in (self.root / "executions").glob("*.json"):
            execution = Execution(**json.loads(path.read_text("utf-8")))
            self.executions[execution.id] = execution

    def _write(self, path: Path, data: Any) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def save_project(self, project: Project) -> None:
        self._write(self.root / "projects" / f"{project.id}.json", asdict(project))

    def save_schedule(self, schedule: Schedule) -> None:
        self._write(self.root / "schedules" / f"{schedule.id}.json", asdict(schedule))

    def save_execution(self, execution: Execution) -> None:
        self._write(self.root / "executions" / f"{execution.id}.json", asdict(execution))

    def _next(self, kind: str) -> int:
        self.counters[kind] += 1
        self._write(self.root / "counters.json", self.counters)
        return self.counters[kind]

    # -- projects ------------------------------------------------------------------------

    def find_project(self, name: str) -> Project | None:
        """Active project by name, ignoring case (Azkaban's case-insensitive cache)."""
        pid = self._by_name.get(name.lower())
        return self.projects.get(pid) if pid is not None else None

    def active_projects(self) -> list[Project]:
        return sorted((p for p in self.projects.values() if p.active), key=lambda p: p.id)

    def log_event(self, project: Project, user: str, kind: str, message: str | None) -> int:
        """Append one project event (the caller saves the project); its time is returned."""
        stamp = self.clock.stamp()
        project.events.append([user, stamp, kind, message])
        return stamp

    def modified(self, project: Project, user: str, kind: str, message: str | None) -> None:
        """An event that also makes ``user`` the last modifier (upload, description)."""
        project.modified_ms = self.log_event(project, user, kind, message)
        project.modified_by = user

    def project_log(self, project: Project) -> list[list[Any]]:
        """``ORDER BY event_time DESC`` and nothing else: events of one millisecond come in
        ``tie_order`` (insertion order, or its reverse)."""
        logged = list(project.events)
        if self.tie_order == "newest-first":
            logged.reverse()
        return sorted(logged, key=lambda event: -int(event[1]))

    def create_project(self, name: str, description: str, creator: str) -> Project:
        stamp = self.clock.stamp()
        project = Project(
            id=self._next("project"),
            name=name,
            description=description,
            created_ms=stamp,
            modified_ms=stamp,
            modified_by=creator,
        )
        project.user_permissions[creator] = ["ADMIN"]
        project.proxy_users.append(creator)
        project.events.append([creator, stamp, "CREATED", None])
        self.projects[project.id] = project
        self._by_name[name.lower()] = project.id
        self.save_project(project)
        return project

    def deactivate(self, project: Project, user: str) -> None:
        project.active = False
        self.modified(project, user, "DELETED", None)
        self._by_name.pop(project.name.lower(), None)
        self.save_project(project)

    def zip_path(self, project_id: int, version: int) -> Path:
        return self.root / "files" / str(project_id) / f"{version}.zip"

    def add_version(
        self, project: Project, data: bytes, filename: str, user: str, flows: dict[str, FlowData]
    ) -> int:
        """Store a new version (latest + 1) and forget zips older than the retention allows."""
        version = max((int(v) for v in project.versions), default=0) + 1
        path = self.zip_path(project.id, version)
        write_file(path, data)
        project.versions[str(version)] = {
            "file": filename, "user": user, "ms": now_ms(), "stored": True,
        }  # fmt: skip
        project.flows = flows
        project.version = version
        self.modified(project, user, "UPLOADED", f"Uploaded project files zip {filename}")
        for old, info in project.versions.items():
            if int(old) < version - VERSION_RETENTION and info["stored"]:
                info["stored"] = False
                self.zip_path(project.id, int(old)).unlink(missing_ok=True)
        self.save_project(project)
        return version

    # -- schedules -----------------------------------------------------------------------

    def schedule_for(self, project_id: int, flow: str) -> Schedule | None:
        for schedule in self.schedules.values():
            if schedule.project_id == project_id and schedule.flow == flow:
                return schedule
        return None

    def new_schedule_id(self) -> int:
        return self._next("schedule")

    def put_schedule(self, schedule: Schedule) -> None:
        self.schedules[schedule.id] = schedule
        self.save_schedule(schedule)

    def remove_schedule(self, schedule: Schedule) -> None:
        self.schedules.pop(schedule.id, None)
        (self.root / "schedules" / f"{schedule.id}.json").unlink(missing_ok=True)

    # -- executions ----------------------------------------------------------------------

    def new_execution_id(self) -> int:
        return self._next("execution")

    def put_execution(self, execution: Execution) -> None:
        self.executions[execution.id] = execution
        self.save_execution(execution)

    # -- sessions (memory only) ------------------------------------------------------------

    def session(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self.sessions.get(session_id)
        if session is None:
            return None
        stamp = now_ms()
        if stamp - session.last_ms > self.session_ttl_ms:
            del self.sessions[session_id]
            return None
        session.last_ms = stamp
        return session

    def add_session(self, session_id: str, user: str) -> None:
        self.sessions[session_id] = Session(session_id, user, now_ms())

    def drop_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
