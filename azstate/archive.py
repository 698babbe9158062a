"""Deterministic project zips, their content digest, and safe reading of zips from elsewhere.

Every upload creates a new project version on Azkaban, so azstate uploads only when the files
changed. "Changed" is decided by a content digest (sorted paths and the sha256 of each file's
bytes) that is the same for a directory and for the zip built from it or downloaded back: zip
metadata (times, modes, compression, order) never counts. The zip itself is deterministic too,
so the same directory gives the same bytes and the same upload identity on every machine.

Sources are user files and downloaded zips are server data: both are read defensively. A
symbolic link that leaves the directory, an absolute path or ``..``, a name that is not UTF-8
(Azkaban reads names as UTF-8), and a zip that inflates past a size limit are refused with a
SourceError naming the entry.

Sizes are checked before anything is read, and a source is never held whole: its files are
hashed and zipped in chunks into a temporary file (``build_zip_file``), from which apply
uploads, so memory does not grow with a source's size.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import tempfile
import weakref
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from azstate.errors import SourceError

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".azstate"})  # .azstate: our own state
SKIPPED_FILES = frozenset({".DS_Store"})
MAX_TOTAL = 512 * 1024 * 1024
MAX_ENTRIES = 20_000
_CHUNK = 1024 * 1024


def collect_files(directory: Path | str, *, origin: str | None = None) -> dict[str, bytes]:
    """The files of a source directory by relative POSIX path, as they will be zipped, read
    whole: for importing and tests. A source being planned is read through ``list_files``."""
    tree = list_files(directory, origin=origin)
    return {name: tree[name] for name in tree}


class SourceTree(Mapping[str, bytes]):
    """A source directory's files by relative POSIX path, sized but not read.

    A file's bytes are read when first asked for (flow discovery asks for the few flow and
    properties files) and kept; zipping (``write_zip``) streams every other file from disk, so
    a large data file in a source never sits in memory. A file that grew past what is left of
    the project's size limit since it was measured is refused.
    """

    def __init__(
        self, root: Path, origin: str, found: Mapping[str, tuple[str, os.stat_result]]
    ) -> None:
        self.root = root
        self.origin = origin
        self._found = dict(sorted(found.items()))
        self._slack = MAX_TOTAL - sum(info.st_size for _, info in found.values())
        self._read: dict[str, bytes] = {}

    def size(self, name: str) -> int:
        return self._found[name][1].st_size

    def path(self, name: str) -> Path:
        return Path(self._found[name][0])

    def stamps(self) -> tuple[tuple[str, int, int, int, int], ...]:
        """(path, size, mtime_ns, ctime_ns, inode) of every file as the walk found it (links
        followed): buildcache's proof that the tree is unchanged, without a second stat."""
        return tuple(
            (rel, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            for rel, (_, info) in self._found.items()
        )

    def shown(self, name: str) -> str:
        return f"{self.origin}/{name}"

    def limit(self, name: str) -> int:
        """The most bytes this file may hold when read: its measured size plus what the
        other files leave of the limit."""
        return self.size(name) + self._slack

    def __getitem__(self, name: str) -> bytes:
        if name not in self._read:
            path = self.path(name)
            self._read[name] = _read_bounded(path, self.limit(name), self.shown(name))
        return self._read[name]

    def read_already(self, name: str) -> bytes | None:
        return self._read.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)


def list_files(
    directory: Path | str, *, origin: str | None = None, real_root: str | None = None
) -> SourceTree:
    """The files of a source directory, sizes checked against the limits before a byte is
    read: a 3 GB file is refused by its size, not read.

    Symbolic links are followed only while they stay inside the directory: a project zip holds
    real files, and a link out of the tree would upload whatever it points at. Errors name
    files under ``origin``, the path as the user wrote it. ``real_root``: the directory with
    every link resolved, when the caller has it already.
    """
    root = directory if isinstance(directory, Path) else Path(directory)
    origin = origin or str(root)
    if not root.is_dir():
        raise SourceError("not a directory", file=origin)
    real = real_root if real_root is not None else os.path.realpath(root)
    found: dict[str, tuple[str, os.stat_result]] = {}
    _walk(str(root), "", real, _Walk(real, origin, found), frozenset({real}))
    total = sum(info.st_size for _, info in found.values())
    if total > MAX_TOTAL or len(found) > MAX_ENTRIES:
        raise SourceError(
            f"{len(found)} files, {total} bytes: over the limit of {MAX_ENTRIES} files or "
            f"{MAX_TOTAL} bytes for one project",
            file=origin,
        )
    return SourceTree(root, origin, found)


def _read_bounded(path: Path, limit: int, shown: str) -> bytes:
    """The file's bytes, refusing it when it grew past ``limit`` since it was measured (a
    file written to while azstate reads the source)."""
    return b"".join(_chunks(path, limit, shown))


def _chunks(path: Path, limit: int, shown: str) -> Iterator[bytes]:
    """The file's bytes in chunks of at most _CHUNK, refused past ``limit``."""
    size = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise SourceError(
                        f"grew past the limit of {MAX_TOTAL} bytes for one project while "
                        "being read",
                        file=shown,
                    )
                yield chunk
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", file=shown) from exc


@dataclass(frozen=True)
class _Walk:
    """What stays the same through one source's walk."""

    real_root: str
    origin: str
    out: dict[str, tuple[str, os.stat_result]]

    def inside(self, real: str) -> bool:
        return real == self.real_root or real.startswith(os.path.join(self.real_root, ""))


def _walk(
    directory: str, prefix: str, real_dir: str, walk: _Walk, ancestors: frozenset[str]
) -> None:
    """Every regular file under ``directory`` with its stat, nothing read yet. Only links are
    resolved: any other entry's real path is its real parent's plus its name."""
    try:
        with os.scandir(directory) as entries:
            listed = sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        raise SourceError(f"cannot read directory: {exc.strerror}", file=directory) from exc
    for entry in listed:
        name = entry.name
        rel = f"{prefix}{name}"
        shown = f"{walk.origin}/{rel}"
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SourceError(
                "file name is not valid UTF-8 (Azkaban reads zip entry names as UTF-8); rename it",
                file=shown.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"),
            ) from exc
        if name in SKIPPED_FILES:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror}", file=shown) from exc
        real = os.path.join(real_dir, name)
        if stat.S_ISLNK(info.st_mode):
            real = os.path.realpath(entry.path)
            if not walk.inside(real):
                raise SourceError(
                    f"symbolic link points outside the source directory (to {real}); "
                    "copy the file in instead",
                    file=shown,
                )
            try:
                info = os.stat(real)
            except OSError as exc:
                raise SourceError("broken symbolic link", file=shown) from exc
        if stat.S_ISDIR(info.st_mode):
            if name in SKIPPED_DIRS:
                continue
            if real in ancestors:
                raise SourceError(
                    "symbolic link loop: it points at a directory above it", file=shown
                )
            _walk(entry.path, f"{rel}/", real, walk, ancestors | {real})
        elif stat.S_ISREG(info.st_mode):
            walk.out[rel] = (entry.path, info)
        else:
            raise SourceError("not a regular file (device, socket or pipe)", file=shown)


def _member(name: str, size: int) -> zipfile.ZipInfo:
    """The entry for one file: fixed time and mode, deflated at level 9. The size is set
    before writing, as ``writestr`` does, so a streamed entry has the same bytes."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = FILE_MODE << 16
    info.file_size = size
    # Python 3.13 renamed the attribute writestr(compresslevel=) sets
    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 9)
    return info


def write_zip(files: Mapping[str, bytes], out: BinaryIO) -> dict[str, str]:
    """The zip of these files written to ``out`` (seekable): sorted names, fixed time and
    mode, deflated, no directory entries. Each file's sha256 by path is returned, taken from
    the same bytes that were zipped. A ``SourceTree``'s files are streamed from disk in
    chunks, one pass each for hash and zip, never read whole."""
    digests: dict[str, str] = {}
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(files):
            held = files.read_already(name) if isinstance(files, SourceTree) else files[name]
            if held is not None or not isinstance(files, SourceTree):
                data = held if held is not None else files[name]
                with archive.open(_member(name, len(data)), "w") as entry:
                    entry.write(data)
                digests[name] = hashlib.sha256(data).hexdigest()
                continue
            hashed = hashlib.sha256()
            chunks = _chunks(files.path(name), files.limit(name), files.shown(name))
            with archive.open(_member(name, files.size(name)), "w") as entry:
                for chunk in chunks:
                    hashed.update(chunk)
                    entry.write(chunk)
            digests[name] = hashed.hexdigest()
    return digests


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """The zip of these files as bytes (``write_zip``): for small trees and tests."""
    buffer = io.BytesIO()
    write_zip(files, buffer)
    return buffer.getvalue()


def build_zip(directory: Path | str) -> bytes:
    """The deterministic zip of a source directory (VCS folders and .DS_Store left out)."""
    return zip_files(list_files(directory))


@dataclass(frozen=True)
class ZipOnDisk:
    """A zip to upload kept in a file, so that it is hashed, sent and checked in chunks and
    never held whole. ``owned``: a temporary file azstate wrote (0600), removed when this
    value is dropped or the process exits; otherwise the user's own ``.zip`` source."""

    path: Path
    size: int
    sha256: str
    owned: bool = False

    def __post_init__(self) -> None:
        if self.owned:
            weakref.finalize(self, _unlink, self.path)

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


ZipData = bytes | ZipOnDisk
"""A zip to upload: in a file when read from the configuration, in memory in tests and tools."""


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def file_sha256(path: Path | str) -> tuple[str, int]:
    """sha256 and size of a file, read in chunks."""
    hashed = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hashed.update(chunk)
            size += len(chunk)
    return hashed.hexdigest(), size


def build_zip_file(files: Mapping[str, bytes]) -> tuple[ZipOnDisk, dict[str, str]]:
    """The zip of these files written to a temporary file (0600) and each file's sha256:
    ``write_zip``, with the zip's own sha256 read back from the file (zip headers are
    rewritten in place, so it cannot be hashed as it is written)."""
    fd, name = tempfile.mkstemp(prefix="azstate-", suffix=".zip")
    try:
        with os.fdopen(fd, "w+b") as handle:
            digests = write_zip(files, handle)
        sha256, size = file_sha256(name)
    except BaseException:
        _unlink(Path(name))
        raise
    return ZipOnDisk(Path(name), size, sha256, owned=True), digests


def upload_name(project: str, source: Path) -> str:
    """The name the zip is uploaded under: a directory's zip is named after the project that
    uploads it (two projects with one source each upload their own ``NAME.zip``), a zip file
    keeps its own name."""
    return source.name if source.suffix.lower() == ".zip" else f"{project}.zip"


def file_digests(files: Mapping[str, bytes]) -> dict[str, str]:
    """Each file's sha256 by path, sorted: what a plan compares file by file."""
    return {name: hashlib.sha256(files[name]).hexdigest() for name in sorted(files)}


SHORT_DIGEST = 12  # hex digits of a file's sha256 a plan shows and the digest cache keeps


def short_digests(digests: Mapping[str, str]) -> dict[str, str]:
    """Per-file digests cut to SHORT_DIGEST hex digits: enough to tell a file changed, a fifth
    of the size in a plan or the cache."""
    return {name: digest[:SHORT_DIGEST] for name, digest in digests.items()}


def digest_of(digests: Mapping[str, str]) -> str:
    """The content digest from per-file digests (``file_digests``), so a cache that keeps
    those need not keep the digest as well, nor download the zip again to list its files."""
    outer = hashlib.sha256()
    for name in sorted(digests):
        outer.update(name.encode("utf-8"))
        outer.update(b"\0")
        outer.update(digests[name].encode("ascii"))
        outer.update(b"\n")
    return outer.hexdigest()


def content_digest(files: Mapping[str, bytes]) -> str:
    """sha256 over the sorted (path, sha256(content)) pairs: what "same files" means."""
    return digest_of(file_digests(files))


def content_digest_from_dir(directory: Path | str) -> str:
    return content_digest(collect_files(directory))


def content_digest_from_zip(data: bytes | ZipOnDisk) -> str:
    return digest_of(zip_digests(data))


def zip_digests(data: bytes | ZipOnDisk) -> dict[str, str]:
    """Each file's sha256 by normalized path, sorted, for a zip in memory or on disk: the
    checks of ``read_zip_safely``, with each entry hashed in chunks, never held whole."""
    digests: dict[str, str] = {}
    for name, chunks in _safe_entries(data, MAX_TOTAL, MAX_ENTRIES):
        hashed = hashlib.sha256()
        for chunk in chunks:
            hashed.update(chunk)
        digests[name] = hashed.hexdigest()
    return dict(sorted(digests.items()))


def read_zip_safely(
    data: bytes | ZipOnDisk,
    *,
    max_total: int = MAX_TOTAL,
    max_entries: int = MAX_ENTRIES,
    wanted: Callable[[str], bool] | None = None,
) -> dict[str, bytes]:
    """The files of a zip by normalized path, refusing what could hurt when unpacked or read;
    only those ``wanted`` when given (the others are checked but not inflated).

    Sizes are checked twice: the declared sizes before anything is inflated, then the bytes
    actually produced, so a zip that lies about its sizes cannot get past the limit either.
    """
    files = {
        name: b"".join(chunks)
        for name, chunks in _safe_entries(data, max_total, max_entries)
        if wanted is None or wanted(name)
    }
    return dict(sorted(files.items()))


def _safe_entries(
    data: bytes | ZipOnDisk, max_total: int, max_entries: int
) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each file entry's normalized name and its bytes in chunks (to be consumed before the
    next entry is asked for), after the checks ``read_zip_safely`` names."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data.path)
    except UnicodeDecodeError as exc:
        raise SourceError(
            "a file name in the zip is not valid UTF-8 (Azkaban reads names as UTF-8)"
        ) from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise SourceError(f"not a readable zip file ({exc})") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise SourceError(f"the zip has {len(infos)} entries, over the limit of {max_entries}")
        declared = sum(info.file_size for info in infos)
        if declared > max_total:
            raise SourceError(
                f"the zip would unpack to {declared} bytes, over the limit of {max_total}"
            )
        seen: set[str] = set()
        used = [0]
        for info in infos:
            name = _entry_name(info)
            if name is None:
                continue
            if name in seen:
                raise SourceError("the zip holds this path twice", file=name)
            seen.add(name)
            yield name, _entry_chunks(archive, info, name, max_total, used)


def _entry_name(info: zipfile.ZipInfo) -> str | None:
    """The entry's path as Azkaban (Java, UTF-8) reads it; None for a directory entry."""
    raw = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = raw.encode("cp437").decode("utf-8")
        except UnicodeError as exc:
            shown = raw.encode("cp437", "replace").decode("utf-8", "backslashreplace")
            raise SourceError(
                "file name is not valid UTF-8 (Azkaban reads names as UTF-8)", file=shown
            ) from exc
    if "\0" in raw:
        raise SourceError("file name holds a NUL character", file=raw.replace("\0", "\\0"))
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise SourceError("absolute path in the zip", file=raw)
    parts = raw.replace("\\", "/").split("/")
    if ".." in parts:
        raise SourceError("path in the zip leaves its folder ('..')", file=raw)
    if raw.endswith(("/", "\\")):
        return None
    kept = [p for p in parts if p not in ("", ".")]
    if not kept:
        return None
    return "/".join(kept)


def _entry_chunks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: int, used: list[int]
) -> Iterator[bytes]:
    """The entry's bytes in chunks; ``used`` counts what all entries produced so far."""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                used[0] += len(chunk)
                if used[0] > budget:
                    raise SourceError(
                        "the zip unpacks to more than the size limit (a zip bomb?)", file=name
                    )
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise SourceError(f"corrupt entry ({exc})", file=name) from exc
    except (RuntimeError, NotImplementedError) as exc:
        raise SourceError(f"cannot read entry: {exc}", file=name) from exc
