"""Built zips and flow discovery reused while a source tree's files are unchanged (issue 17).

Zipping and hashing every source is most of a plan's own CPU on a large fleet. A source
directory whose files all have the (path, size, mtime_ns, ctime_ns, inode) they had when its zip
was last built gives the same zip: its content digest, zip digest and size are taken from this
cache, and the zip itself is rebuilt only if an upload needs it (deterministic, so the bytes
match the digest the plan names, which the client checks before sending). Flow discovery of the
same files gave the same flows, so its result is kept too.

Like git's index, an entry is distrusted when it was written within 2 s of a file's mtime: a file
changed again in the same timestamp tick after the build (same size, same mtime on a coarse
file system) would otherwise look unchanged. The ctime, which no user tool sets back, catches
edits whose mtime was restored. The file holds stamps and digests only, 0600, written atomically;
a damaged or foreign-format file is ignored (everything is rebuilt).
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from azstate.private import CacheFile

BUILD_CACHE_FORMAT = 3
RACY_NS = 2_000_000_000
"""An entry written less than this after a file's mtime proves nothing about that file."""

Stamp = tuple[str, int, int, int, int]  # (path, size, mtime_ns, ctime_ns, inode): SourceTree.stamps


class Built(BaseModel):
    """What a build of one tree produced, without the bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    content_digest: str
    zip_sha256: str
    zip_size: int
    file_digests: dict[str, str] = {}  # path -> short sha256 (archive.short_digests)


class Discovered(BaseModel):
    """flows.FlowInfo as stored: what flow discovery found in the same files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    flows: tuple[str, ...]
    jobs: dict[str, tuple[str, ...]]
    top_jobs: dict[str, tuple[str, ...]]
    triggered: tuple[str, ...]
    warnings: tuple[str, ...]


class Cached(BaseModel):
    """What an earlier read of exactly these files left: its build (if it was zipped) and its
    flow discovery."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    built: Built | None = None
    discovered: Discovered | None = None


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stamps: tuple[tuple[str, int, int, int, int], ...]
    written_ns: int
    cached: Cached


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int
    trees: dict[str, _Entry]


def _racy(entry: _Entry) -> bool:
    newest = max((s[2] for s in entry.stamps), default=0)
    return entry.written_ns - newest < RACY_NS


class BuildCache(CacheFile):
    """Tree stamps -> Built, by the source directory's real path; thread-safe."""

    def __init__(self, path: Path | None, *, clock_ns: int | None = None) -> None:
        super().__init__(path)
        self._clock_ns = clock_ns  # tests pin "now"
        self._trees: dict[str, _Entry] = {}
        if path is None:
            return
        try:
            data = _File.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError, ValidationError):
            self._dirty = True  # replaced by a good one on save
            return
        if data.format == BUILD_CACHE_FORMAT:
            self._trees = dict(data.trees)

    def _now(self) -> int:
        return self._clock_ns if self._clock_ns is not None else time.time_ns()

    @staticmethod
    def _key(root: Path | str) -> str:
        """Entries are kept by the tree's real path: callers pass it resolved (the loader
        resolves each source once for everything that needs it)."""
        return str(root)

    def lookup(self, root: Path | str, stamps: tuple[Stamp, ...]) -> Cached | None:
        """What an earlier read of exactly these files found, unless the entry is racy."""
        with self._lock:
            entry = self._trees.get(self._key(root))
        if entry is None or entry.stamps != stamps:
            return None
        return None if _racy(entry) else entry.cached

    def get(self, root: Path | str, stamps: tuple[Stamp, ...]) -> Built | None:
        """The earlier build of exactly these files, unless the entry is racy."""
        found = self.lookup(root, stamps)
        return found.built if found is not None else None

    def put(
        self,
        root: Path | str,
        stamps: tuple[Stamp, ...],
        built: Built | None,
        discovered: Discovered | None = None,
    ) -> None:
        with self._lock:
            old = self._trees.get(self._key(root))
        if (
            old is not None
            and old.stamps == stamps
            and old.cached.built == built
            and old.cached.discovered == discovered
            and not _racy(old)
        ):
            return  # keep the older written_ns: it is the better proof
        cached = Cached(built=built, discovered=discovered)
        entry = _Entry(stamps=stamps, written_ns=self._now(), cached=cached)
        with self._lock:
            self._trees[self._key(root)] = entry
            self._dirty = True

    def _text(self) -> str:
        return _File(format=BUILD_CACHE_FORMAT, trees=self._trees).model_dump_json()
