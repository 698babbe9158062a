"""Reads the live server into a ServerState, concurrently, with as few calls as it can.

Calls for a no-change plan: one fetchallprojects (ids, permissions), one fetchSchedules (which
flows have schedules), then per declared project a HEAD of the download endpoint (the version)
and its page (the description), per schedule one fetchSchedule, and per schedule with an SLA
one slaInfo (fetchSchedule omits the SLA actions). Zip content is downloaded only when the
digest cache has no entry for the project's (id, created time, version): a version's content
never changes.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from azstate.address import Address
from azstate.archive import content_digest_from_zip
from azstate.diff import matches
from azstate.errors import AzstateError
from azstate.state import (
    FilesValue,
    LiveIds,
    PermissionValue,
    ProjectState,
    ScheduleValue,
    ServerState,
    SlaValue,
    permission_key,
)
from azstate.wire.client import AzkabanClient


class Progress(Protocol):
    """What refresh and apply report to; the command supplies a bar or nothing."""

    def add(self, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    def add(self, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


def default_cache_dir() -> Path:
    env = os.environ.get("AZSTATE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "azstate"


class DigestCache:
    """Content digests of uploaded versions, by (server, project id, created time, version).

    The created time guards against a server whose database was reset and hands out the same
    ids again.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, str] = {}
        self._dirty = False
        if path is not None and path.exists():
            try:
                loaded = json.loads(path.read_text())
                if isinstance(loaded, dict):
                    self._data = {str(k): str(v) for k, v in loaded.items()}
            except (OSError, ValueError):
                self._data = {}

    @staticmethod
    def key(server: str, project_id: int, created: int | None, version: int) -> str:
        return f"{server.rstrip('/')}|{project_id}|{created or 0}|{version}"

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, digest: str) -> None:
        with self._lock:
            self._data[key] = digest
            self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._data, sort_keys=True))
            tmp.replace(self.path)
            self._dirty = False


@dataclass
class RefreshScope:
    """Which projects to read and how much of each."""

    declared: Mapping[str, ProjectState]  # lower name -> desired project
    prune: tuple[str, ...] = ()
    only: frozenset[str] | None = None  # lower names; None = every declared project


@dataclass
class _Collected:
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, key: str, name: str, value: Any) -> None:
        with self.lock:
            self.projects.setdefault(key, {})[name] = value


def refresh(
    client: AzkabanClient,
    scope: RefreshScope,
    *,
    parallelism: int = 8,
    cache: DigestCache | None = None,
    progress: Progress | None = None,
) -> ServerState:
    progress = progress or NoProgress()
    progress.add(2)
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        listing_f = pool.submit(client.fetch_all_projects)
        schedules_f = pool.submit(client.fetch_schedules)
        listing = listing_f.result()
        progress.advance()
        schedule_list = schedules_f.result()
        progress.advance()

        by_name = {p.name.lower(): p for p in listing}
        schedules_by_project: dict[str, dict[str, int]] = {}
        crons: dict[tuple[str, str], str] = {}
        for sched in schedule_list:
            key = sched.project_name.lower()
            schedules_by_project.setdefault(key, {})[sched.flow] = sched.schedule_id
            crons[(key, sched.flow)] = sched.cron

        wanted = [k for k in scope.declared if k in by_name]
        if scope.only is not None:
            wanted = [k for k in wanted if k in scope.only]
        pruned = [
            k
            for k, p in by_name.items()
            if k not in scope.declared
            and matches(p.name, scope.prune)
            and (scope.only is None or k in scope.only)
        ]
        out = _Collected()
        futures: list[Future[None]] = []

        def task(address: str, fn: Callable[[], None]) -> None:
            progress.add(1)
            futures.append(pool.submit(_counted, fn, progress, address))

        for key in wanted:
            listing_item = by_name[key]
            name = listing_item.name
            pid = listing_item.project_id
            desired = scope.declared[key]
            if desired.files is not None:
                task(
                    str(Address.files(name)),
                    _files_task(client, out, key, name, pid, listing_item.created_time, cache),
                )
            task(str(Address(name)), _description_task(client, out, key, name))
            for flow, sid in schedules_by_project.get(key, {}).items():
                task(
                    str(Address.schedule(name, flow)),
                    _schedule_task(client, out, key, pid, flow, sid),
                )
        for f in futures:
            f.result()

    if cache is not None:
        cache.save()

    projects: dict[str, ProjectState] = {}
    for key in wanted:
        item = by_name[key]
        got = out.projects.get(key, {})
        sched_ids = schedules_by_project.get(key, {})
        schedules: dict[str, ScheduleValue] = {}
        slas: dict[str, SlaValue] = {}
        for flow in sched_ids:
            value = got.get(f"schedule:{flow}")
            if value is not None:
                schedules[flow] = value
            sla = got.get(f"sla:{flow}")
            if sla is not None:
                slas[flow] = sla
        projects[key] = ProjectState(
            name=item.name,
            description=got.get("description"),
            files=got.get("files"),
            schedules=schedules,
            slas=slas,
            permissions=_permissions(item.user_permissions, item.group_permissions),
            ids=LiveIds(
                project_id=item.project_id,
                version=got.get("version"),
                schedule_ids=sched_ids,
                unmanaged={f: got[f"unmanaged:{f}"] for f in sched_ids if f"unmanaged:{f}" in got},
            ),
        )
    for key in pruned:
        item = by_name[key]
        sched_ids = schedules_by_project.get(key, {})
        projects[key] = ProjectState(
            name=item.name,
            schedules={f: ScheduleValue(cron=crons[(key, f)]) for f in sched_ids},
            permissions=_permissions(item.user_permissions, item.group_permissions),
            ids=LiveIds(project_id=item.project_id, schedule_ids=sched_ids),
        )
    return ServerState(projects=projects, user=client.username)


def _counted(fn: Callable[[], None], progress: Progress, address: str) -> None:
    """Run one read; a failure names the resource it was reading as well as the call."""
    try:
        fn()
    except AzstateError as exc:
        raise AzstateError(f"reading {address}: {exc}") from exc
    finally:
        progress.advance()


def _permissions(
    users: Mapping[str, PermissionValue], groups: Mapping[str, PermissionValue]
) -> dict[str, PermissionValue]:
    out = {permission_key("user", u): v for u, v in users.items()}
    out.update({permission_key("group", g): v for g, v in groups.items()})
    return out


def _files_task(
    client: AzkabanClient,
    out: _Collected,
    key: str,
    name: str,
    project_id: int,
    created: int | None,
    cache: DigestCache | None,
) -> Callable[[], None]:
    def run() -> None:
        _, version = client.project_version(name)
        out.set(key, "version", version)
        if version is None:
            out.set(key, "files", FilesValue(digest=None))
            return
        ckey = DigestCache.key(client.url, project_id, created, version)
        digest = cache.get(ckey) if cache else None
        if digest is None:
            digest = content_digest_from_zip(client.download(name, version))
            if cache is not None:
                cache.put(ckey, digest)
        out.set(key, "files", FilesValue(digest=digest))

    return run


def _description_task(
    client: AzkabanClient, out: _Collected, key: str, name: str
) -> Callable[[], None]:
    def run() -> None:
        out.set(key, "description", client.project_description(name))

    return run


def _schedule_task(
    client: AzkabanClient, out: _Collected, key: str, project_id: int, flow: str, sid: int
) -> Callable[[], None]:
    def run() -> None:
        live = client.fetch_schedule(project_id, flow)
        if live is None:
            return
        out.set(key, f"schedule:{flow}", live.value)
        if live.unmanaged:
            out.set(key, f"unmanaged:{flow}", live.unmanaged)
        if live.has_sla:
            sla = client.sla_info(live.schedule_id)
            if sla is not None:
                out.set(key, f"sla:{flow}", sla)

    return run


def project_keys(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.lower() for n in names)
