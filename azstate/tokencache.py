"""The local cache of change tokens: what a plan may skip reading (issue 17, design section 5).

For each project, by id, it keeps the project's event-log token (changetoken.py) and the
SHA-256 of each resource unit's normalised live value as the full read that the token vouches
for found it; never the values themselves: descriptions, schedule parameters and e-mail lists
can hold secrets, and CI caches are readable by other workflows. A plan whose token is unchanged
and whose desired digests equal the cached live digests takes the live state to be the desired
one; any doubt is a full read, so a cold, stale, missing or foreign cache costs time only.

One file per (server URL, user, format): another user may see other projects (READ decides what
the log shows) and another server's ids mean other projects. The header repeats all three, and a
file whose header does not match, or that does not parse, is not used: a warning, then every
project is read in full, and the file is replaced by a good one at the end of the run.
Files are 0600 in a 0700 directory, written to a temporary file and renamed, so a reader never
sees half a file and a crash leaves the previous one.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from azstate.changetoken import ChangeToken
from azstate.private import CacheFile

log = logging.getLogger("azstate.cache")

CACHE_FORMAT = 2
"""Bump whenever what a digest covers changes (a field added to a state value, a new
normalisation): old files are then ignored with a warning rather than trusted."""


def _canonical(value: Any) -> Any:
    """A JSON-able form that is the same for equal values in every process.

    Sets are sorted (their iteration order changes with hash randomisation); tuples and lists
    keep their order, which may matter; models become their fields by name, or what their
    ``compared()`` says equality looks at (ScheduleValue leaves display-only fields out), so
    that equal values have equal digests.
    """
    if isinstance(value, BaseModel):
        compared = getattr(value, "compared", None)
        if callable(compared):  # a value whose equality leaves display-only fields out
            return {"compared": _canonical(compared())}
        return {k: _canonical(getattr(value, k)) for k in sorted(type(value).model_fields)}
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "get_secret_value"):  # a SecretStr is hashed by its content, never kept
        return {"secret": value.get_secret_value()}
    raise TypeError(f"no canonical form for {type(value).__name__}")


def value_digest(value: Any) -> str:
    """SHA-256 of a normalised value's canonical JSON: equal values, equal digests."""
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class CachedProject(BaseModel):
    """What one full read found, as digests, and the token read just before it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    created: int | None  # fetchallprojects.createdTime: never moves for one project
    version: int | None  # the upload the digests saw (an identity, not a value)
    token: ChangeToken
    digests: dict[str, str]  # resource unit -> value_digest of its live value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int
    server: str
    user: str
    projects: dict[str, CachedProject]


def _server_key(server: str) -> str:
    return server.rstrip("/")


class TokenCache(CacheFile):
    """Tokens and live digests by project id, for one server and user; thread-safe."""

    def __init__(self, directory: Path | None, *, server: str, user: str) -> None:
        self.server = _server_key(server)
        self.user = user
        self.warnings: list[str] = []
        self._projects: dict[str, CachedProject] = {}
        name = hashlib.sha256(f"{self.server}\n{user}".encode()).hexdigest()[:32]
        super().__init__(None if directory is None else directory / "tokens" / f"{name}.json")
        if self.path is not None:
            self._load(self.path)

    def _warn(self, why: str) -> None:
        message = f"the plan cache {self.path} is not used ({why}): every project is read in full"
        self.warnings.append(message)
        log.warning("%s", message)
        self._dirty = True  # replace it with a good one

    def _load(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self._warn(f"cannot be read: {exc.strerror or exc}")
            return
        try:
            data = json.loads(raw)
            header = {k: data[k] for k in ("format", "server", "user")}
        except (ValueError, TypeError, KeyError):
            self._warn("damaged")
            return
        if header["format"] != CACHE_FORMAT:
            self._warn(f"format {header['format']!r}, this azstate writes {CACHE_FORMAT}")
            return
        if header["server"] != self.server:
            self._warn("written for another server")
            return
        if header["user"] != self.user:
            self._warn("written for another user")
            return
        try:
            self._projects = dict(_File.model_validate(data).projects)
        except ValidationError:
            self._warn("damaged")

    def get(self, project_id: int) -> CachedProject | None:
        with self._lock:
            return self._projects.get(str(project_id))

    def put(self, project_id: int, entry: CachedProject) -> None:
        with self._lock:
            if self._projects.get(str(project_id)) != entry:
                self._projects[str(project_id)] = entry
                self._dirty = True

    def drop(self, project_id: int) -> None:
        with self._lock:
            if self._projects.pop(str(project_id), None) is not None:
                self._dirty = True

    def __len__(self) -> int:
        with self._lock:
            return len(self._projects)

    def _text(self) -> str:
        body = _File(
            format=CACHE_FORMAT, server=self.server, user=self.user, projects=self._projects
        ).model_dump(mode="json")
        return json.dumps(body, sort_keys=True, separators=(",", ":"))
