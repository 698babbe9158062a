"""Reads the live server into a snapshot, concurrently, with as few calls as it can.

``read`` is the I/O: it fills a typed, frozen ServerSnapshot (snapshot.py); ``refresh`` turns
that into a ServerState through the resource units (resources.live_state, pure).

Calls for a no-change plan: one fetchallprojects (ids, permissions), one fetchSchedules (which
flows have schedules), then per declared project a HEAD of the download endpoint (the version)
and its page (the description), per schedule one fetchSchedule, and per schedule with an SLA
one slaInfo (fetchSchedule omits the SLA actions); a project to be pruned is read the same way
but for its version. Zip content is downloaded only when the digest cache has no entry for the
project's (id, created time, version): a version's content never changes.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from azstate.address import Address
from azstate.errors import AzstateError
from azstate.globs import matches
from azstate.private import write_file
from azstate.resources import UNITS, live_state
from azstate.resources.reading import Listed, Pending
from azstate.snapshot import ProjectSnapshot, ServerSnapshot
from azstate.state import ProjectState, ServerState
from azstate.wire.client import AzkabanClient
from azstate.wire.replies import ProjectListing, ScheduleListing

T = TypeVar("T")


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
    """Content digests of uploaded versions, by (server, project id, created time, version),
    with the version's files (path -> sha256 prefix) when known, so a plan can list what an
    upload changes without downloading the live zip again.

    The created time guards against a server whose database was reset and hands out the same
    ids again. An entry is the digest alone (as older azstate wrote it) or
    ``{"digest": ..., "files": {...}}``.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, str | dict[str, Any]] = {}
        self._dirty = False
        if path is not None and path.exists():
            try:
                loaded = json.loads(path.read_text())
                if isinstance(loaded, dict):
                    self._data = {str(k): _entry(v) for k, v in loaded.items()}
            except (OSError, ValueError):
                self._data = {}

    @staticmethod
    def key(server: str, project_id: int, created: int | None, version: int) -> str:
        return f"{server.rstrip('/')}|{project_id}|{created or 0}|{version}"

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._data.get(key)
        return entry if isinstance(entry, str) or entry is None else str(entry["digest"])

    def get_files(self, key: str) -> dict[str, str] | None:
        with self._lock:
            entry = self._data.get(key)
        return dict(entry["files"]) if isinstance(entry, dict) else None

    def put(self, key: str, digest: str, files: Mapping[str, str] | None = None) -> None:
        with self._lock:
            self._data[key] = digest if files is None else {"digest": digest, "files": dict(files)}
            self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        with self._lock:
            write_file(self.path, json.dumps(self._data, sort_keys=True))
            self._dirty = False


def _entry(value: Any) -> str | dict[str, Any]:
    """A cache entry as read back; anything unexpected reads as a digest string."""
    if isinstance(value, dict) and isinstance(value.get("files"), dict):
        files = {str(k): str(v) for k, v in value["files"].items()}
        return {"digest": str(value.get("digest")), "files": files}
    return str(value)


@dataclass
class RefreshScope:
    """Which projects to read and how much of each."""

    declared: Mapping[str, ProjectState]  # lower name -> desired project
    prune: tuple[str, ...] = ()
    only: frozenset[str] | None = None  # lower names; None = every declared project

    def wanted(self, key: str) -> bool:
        return self.only is None or key in self.only


def refresh(
    client: AzkabanClient,
    scope: RefreshScope,
    *,
    parallelism: int = 8,
    cache: DigestCache | None = None,
    progress: Progress | None = None,
) -> ServerState:
    """The live server as the values the configuration is compared with."""
    snapshot = read(client, scope, parallelism=parallelism, cache=cache, progress=progress)
    return live_state(snapshot)


def read(
    client: AzkabanClient,
    scope: RefreshScope,
    *,
    parallelism: int = 8,
    cache: DigestCache | None = None,
    progress: Progress | None = None,
) -> ServerSnapshot:
    """Every declared project in scope in full, and every prune candidate too: a deletion's
    plan shows what goes (its description, schedules with their options, SLAs, permissions).

    What is read of a project is its units' business (Unit.read); this function lists,
    schedules the reads on one pool and collects them.
    """
    progress = progress or NoProgress()
    with _cancelled_on_exception(ThreadPoolExecutor(max_workers=max(1, parallelism))) as pool:
        reader = _Reader(client, cache, progress, pool)
        listing, schedules = _listings(pool, client, progress)
        listed = [
            Listed(listing[k], schedules.get(k, {}), scope.declared[k])
            for k in scope.declared
            if k in listing and scope.wanted(k)
        ]
        listed += [
            Listed(p, schedules.get(k, {}), None)
            for k, p in listing.items()
            if k not in scope.declared and matches(p.name, scope.prune) and scope.wanted(k)
        ]
        # Every read is started here and waited for after: a read that waited for another in
        # the same pool could starve it.
        pending = [(one.item, [unit.read(reader, one) for unit in UNITS]) for one in listed]
        projects = {item.name.lower(): _snapshot(item, parts) for item, parts in pending}
    if cache is not None:
        cache.save()
    return ServerSnapshot(projects=projects, user=client.username)


@contextmanager
def _cancelled_on_exception(pool: ThreadPoolExecutor) -> Iterator[ThreadPoolExecutor]:
    """The pool, shut down without running its queued reads when the body raises: a failed
    read or a Ctrl-C (KeyboardInterrupt) ends the refresh at once, not after every read
    already queued (the reads in flight finish on their own, bounded by the timeout)."""
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _snapshot(item: ProjectListing, parts: list[Mapping[str, Pending[Any]]]) -> ProjectSnapshot:
    fields = {name: part.result() for reads in parts for name, part in reads.items()}
    return ProjectSnapshot(
        name=item.name, project_id=item.project_id, created_time=item.created_time, **fields
    )


def _listings(
    pool: ThreadPoolExecutor, client: AzkabanClient, progress: Progress
) -> tuple[dict[str, ProjectListing], dict[str, dict[str, ScheduleListing]]]:
    """fetchallprojects and fetchSchedules, both at once: projects and schedules by lower name."""
    progress.add(2)
    projects_f = pool.submit(client.fetch_all_projects)
    schedules_f = pool.submit(client.fetch_schedules)
    projects = projects_f.result()
    progress.advance()
    schedules = schedules_f.result()
    progress.advance()
    by_project: dict[str, dict[str, ScheduleListing]] = {}
    for sched in schedules:
        by_project.setdefault(sched.project_name.lower(), {})[sched.flow] = sched
    return {p.name.lower(): p for p in projects}, by_project


@dataclass(frozen=True)
class _Reader:
    """resources.Reader: each read is one progress step and names its resource when it fails."""

    client: AzkabanClient
    cache: DigestCache | None
    progress: Progress
    pool: ThreadPoolExecutor

    def submit(self, address: Address, fn: Callable[..., T], *args: Any) -> Future[T]:
        self.progress.add(1)
        return self.pool.submit(self._counted, address, fn, *args)

    def _counted(self, address: Address, fn: Callable[..., T], *args: Any) -> T:
        """A failure keeps its type (a login or transport failure is still one) and gains a
        note naming the resource being read."""
        try:
            return fn(*args)
        except AzstateError as exc:
            exc.add_note(f"reading {address}")
            raise
        finally:
            self.progress.advance()

    def _key(self, item: ProjectListing, version: int) -> str:
        return DigestCache.key(self.client.url, item.project_id, item.created_time, version)

    def cached_digest(self, item: ProjectListing, version: int) -> str | None:
        return self.cache.get(self._key(item, version)) if self.cache else None

    def cached_files(self, item: ProjectListing, version: int) -> dict[str, str] | None:
        return self.cache.get_files(self._key(item, version)) if self.cache else None

    def remember_digest(
        self,
        item: ProjectListing,
        version: int,
        digest: str,
        files: Mapping[str, str] | None = None,
    ) -> None:
        if self.cache is not None:
            self.cache.put(self._key(item, version), digest, files)


def project_keys(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.lower() for n in names)
