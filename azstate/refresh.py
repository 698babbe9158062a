"""Reads the live server into a snapshot, concurrently, with calls that follow what changed.

``read`` is the I/O: it fills a typed, frozen ServerSnapshot (snapshot.py); ``refresh`` turns
that into a ServerState through the resource units (resources.live_state, pure).

Every plan reads the listings: login, fetchallprojects (ids, permissions), fetchSchedules
(which flows have schedules, their crons) and ``/index?all`` (every description). Then, with a
token cache (tokencache.py), one small fetchProjectLogs per declared project: a project whose
change token is the cached one, whose listed schedules and crons are the desired ones, and whose
cached live digests equal the desired digests is taken to be as desired, with no further read.
Any other project is read in full: a HEAD of the download (the version), per schedule one
fetchSchedule and per schedule with an SLA one slaInfo (fetchSchedule omits the SLA actions).
Its token is read before that full read, and stored with the digests of what the read found, so
that a change made during the read shows as a new token next time. A project to be pruned is
read the same way but for its version, and never from the cache. Zip content is downloaded
only when the digest cache has no entry for the project's (id, created time, version): a
version's content never changes. ``--refresh=full`` trusts no token (it still reads and stores
them, so the next plan is warm); without a token cache (import) everything is read.

Apply's verification reads narrower still (``RefreshScope.reads``): the listings, and of each
touched project only the resources the apply changed and those the server changes as a
consequence (the units declare them: Unit.verify_reads); an upload's digest is the one apply
recorded, so no zip is downloaded. A touched project's token is read (first) and cached only
when those reads cover every value the cache keeps digests of (a new project, an upload): then
the next plan finds it warm; otherwise that plan reads it in full once.

Calls: warm and unchanged 4 + P; cold 4 + 2P + S + S_sla (docs/performance.md).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from azstate.address import Address
from azstate.changetoken import ChangeToken, read_token
from azstate.errors import AzkabanError, AzstateError
from azstate.globs import matches
from azstate.private import write_file
from azstate.resources import UNITS, live_project
from azstate.resources.reading import Listed, Pending
from azstate.resources.schedule import read_as_desired
from azstate.snapshot import FilesRead, ProjectSnapshot, ServerSnapshot
from azstate.state import ProjectState
from azstate.tokencache import CachedProject, TokenCache, value_digest
from azstate.wire.client import AzkabanClient
from azstate.wire.index import descriptions_from_index, index_all
from azstate.wire.replies import ProjectListing, ScheduleListing

T = TypeVar("T")
Uploaded = tuple[str, Mapping[str, str]]  # (content digest, path -> short file digest)


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
    # Apply's verification: lower name -> the resources to read again (resources.verify_reads);
    # the rest of such a project is taken as desired where the listings agree. Its token is
    # read and cached only if those reads cover every value the cache keeps digests of.
    reads: Mapping[str, frozenset[Address]] | None = None

    def narrowed(self, key: str) -> frozenset[Address] | None:
        """The resources of a declared project to read with calls; None: all of them."""
        if self.reads is None:
            return None
        return self.reads.get(key, frozenset())

    def wanted(self, key: str) -> bool:
        return self.only is None or key in self.only


def read(
    client: AzkabanClient,
    scope: RefreshScope,
    *,
    parallelism: int = 8,
    cache: DigestCache | None = None,
    tokens: TokenCache | None = None,
    trust_tokens: bool = True,
    uploads: Mapping[tuple[int, int], Uploaded] | None = None,
    progress: Progress | None = None,
) -> ServerSnapshot:
    """Every declared project in scope in full, and every prune candidate too: a deletion's
    plan shows what goes (its description, schedules with their options, SLAs, permissions).

    With ``tokens``, each declared project's token is read first; those the cache vouches for
    (and ``trust_tokens``: False for ``--refresh=full``, which still refreshes the cache) are
    built from the desired values, the rest read in full. What is read of a project is its
    units' business (Unit.read); this function lists, schedules the reads on one pool and
    collects them. ``uploads`` maps (project id, version) to the content digest and file
    digests of an upload this process made. ``scope.reads`` (apply's verification) narrows
    each declared project's reads to what the apply changed and its consequences.
    """
    progress = progress or NoProgress()
    with _cancelled_on_exception(ThreadPoolExecutor(max_workers=max(1, parallelism))) as pool:
        reader = _Reader(client, cache, progress, pool, uploads or {})
        declared = [k for k in scope.declared if scope.wanted(k)]
        index_f = pool.submit(_index_descriptions, client) if declared or scope.prune else None
        listing, schedules = _listings(pool, client, progress, scope)
        descriptions = index_f.result() if index_f is not None else None
        listed = [
            Listed(
                listing[k],
                schedules.get(k, {}),
                scope.declared[k],
                descriptions.get(listing[k].name) if descriptions is not None else None,
                scope.narrowed(k),
            )
            for k in declared
            if k in listing
        ]
        pruned = [
            Listed(
                p,
                schedules.get(k, {}),
                None,
                descriptions.get(p.name) if descriptions is not None else None,
            )
            for k, p in listing.items()
            if k not in scope.declared and matches(p.name, scope.prune) and scope.wanted(k)
        ]
        # Tokens first, all at once; a project is read in full only after its token is known.
        # Every read is started from here and waited for here: a read that waited for another
        # in the same pool could starve it. A project is judged as soon as its own token is
        # in, so the digests are compared while the other tokens are still on their way.
        cached = [one for one in listed if tokens is not None and _vouches(one)]
        token_f = {
            one.item.project_id: reader.submit(
                Address(one.item.name), _token, client, one.item.name
            )
            for one in cached
        }
        reading = {one.item.name.lower(): _read_all(reader, one) for one in pruned}
        assumed: dict[str, ProjectSnapshot] = {}
        got: dict[int, ChangeToken | None] = {}
        for one in listed:
            pid, key = one.item.project_id, one.item.name.lower()
            token = got[pid] = token_f[pid].result() if pid in token_f else None
            entry = tokens.get(pid) if tokens is not None else None
            taken = (
                _as_desired(one, entry)
                if trust_tokens
                and one.reads is None
                and token is not None
                and entry is not None
                and entry.token == token
                else None
            )
            if taken is not None:
                assumed[key] = taken
            else:
                reading[key] = _read_all(reader, one)
        projects: dict[str, ProjectSnapshot] = {}
        for one in listed + pruned:
            key = one.item.name.lower()
            if key in assumed:
                projects[key] = assumed[key]
                continue
            snap = projects[key] = _snapshot(one.item, reading[key])
            token = got.get(one.item.project_id)
            if tokens is not None and one.desired is not None and _vouches(one):
                if token is None:
                    tokens.drop(one.item.project_id)
                else:
                    tokens.put(one.item.project_id, _cached(one.item, token, snap))
    if cache is not None:
        cache.save()
    if tokens is not None:
        tokens.save()
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


def _index_descriptions(client: AzkabanClient) -> dict[str, str | None] | None:
    """Every description from one page; None (then one project page each) if it is no list."""
    return descriptions_from_index(client.send(index_all()).text)


def _token(client: AzkabanClient, name: str) -> ChangeToken | None:
    """The project's change token; None when the log cannot be read (a user without READ, an
    odd reply): the project is then read in full and nothing is cached for it."""
    try:
        return read_token(lambda size: client.fetch_project_logs(name, size=size))
    except (AzkabanError, ValueError):
        return None


def project_digests(state: ProjectState) -> dict[str, str]:
    """Digests of what a full read costs calls to learn: the files' content, each schedule
    (with the options it cannot hold, so that such a schedule never looks as desired) and
    each SLA. Descriptions and permissions come from the listings every time."""
    out: dict[str, str] = {}
    if state.files is not None:
        out["files"] = value_digest(state.files.digest)
    unmanaged = state.ids.unmanaged if state.ids is not None else {}
    for flow, value in state.schedules.items():
        out[f"schedule:{flow}"] = value_digest([value, list(unmanaged.get(flow, ()))])
    for flow, sla in state.slas.items():
        out[f"sla:{flow}"] = value_digest(sla)
    return out


def _vouches(one: Listed) -> bool:
    """Whether what is read of a declared project can be cached under its token: a full read,
    or a narrowed one (apply's verification) that reads every value the cache keeps digests of
    (project_digests: the files, each schedule, each SLA; the rest comes from the listings
    every time), as the verification of a new project or of an upload does. Then its token is
    read first, as for a full read, and the next plan finds the project warm."""
    if one.reads is None:
        return True
    desired, name = one.desired, one.item.name
    if desired is None:
        return False
    needed = {Address.files(name)} if desired.files is not None else set()
    needed.update(Address.schedule(name, flow) for flow in desired.schedules)
    needed.update(Address.sla(name, flow) for flow in desired.slas)
    return needed <= one.reads


def _cached(item: ProjectListing, token: ChangeToken, snap: ProjectSnapshot) -> CachedProject:
    return CachedProject(
        created=item.created_time,
        version=snap.files.version if snap.files is not None else None,
        token=token,
        digests=project_digests(live_project(snap)),
    )


def _as_desired(one: Listed, entry: CachedProject) -> ProjectSnapshot | None:
    """The snapshot a full read would give, when the cache vouches that it equals the desired
    values; None when anything disagrees (then the project is read in full).

    The token says nothing changed since the cached full read; the listings, read now, must
    still show the same project (created time), exactly the desired schedules with the desired
    crons (a failed re-post changes the cron without an event), and the digests of that read
    must be the desired ones.
    """
    desired, item = one.desired, one.item
    if desired is None or entry.created != item.created_time:
        return None
    if set(one.schedules) != set(desired.schedules):
        return None
    schedules = {flow: read_as_desired(desired, flow, s) for flow, s in one.schedules.items()}
    if any(read is None for read in schedules.values()):
        return None
    if entry.digests != project_digests(desired):
        return None
    if one.description is None:  # not on the index page: read it in full instead
        return None
    files = (
        FilesRead(version=entry.version, digest=desired.files.digest)
        if desired.files is not None
        else None
    )
    return _snapshot_of(
        item, description=one.description, files=files,
        schedules={flow: read for flow, read in schedules.items() if read is not None},
        user_permissions=item.user_permissions, group_permissions=item.group_permissions,
    )


def _read_all(reader: _Reader, one: Listed) -> list[Mapping[str, Pending[Any]]]:
    """Every unit's reads of one project, started now."""
    return [unit.read(reader, one) for unit in UNITS]


def _snapshot(item: ProjectListing, parts: list[Mapping[str, Pending[Any]]]) -> ProjectSnapshot:
    return _snapshot_of(
        item, **{name: part.result() for reads in parts for name, part in reads.items()}
    )


def _snapshot_of(item: ProjectListing, **fields: Any) -> ProjectSnapshot:
    return ProjectSnapshot(
        name=item.name, project_id=item.project_id, created_time=item.created_time, **fields
    )


def _listings(
    pool: ThreadPoolExecutor, client: AzkabanClient, progress: Progress, scope: RefreshScope
) -> tuple[dict[str, ProjectListing], dict[str, dict[str, ScheduleListing]]]:
    """fetchallprojects and fetchSchedules, both at once: projects and schedules by lower name,
    of the projects in scope only (nothing else of them is looked at)."""
    progress.add(2)
    wanted = None if scope.only is None else scope.wanted
    projects_f = pool.submit(client.fetch_all_projects, wanted)
    schedules_f = pool.submit(client.fetch_schedules, wanted)
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
    uploads: Mapping[tuple[int, int], Uploaded] = field(default_factory=dict)

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
        """From the digest cache, or from an upload this run made (apply's verification):
        what was uploaded is known, it need not be downloaded back."""
        found = self.cache.get(self._key(item, version)) if self.cache else None
        if found is None:
            uploaded = self.uploads.get((item.project_id, version))
            if uploaded is not None:
                found, files = uploaded
                self.remember_digest(item, version, found, files)
        return found

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
