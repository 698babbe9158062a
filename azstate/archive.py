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
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

from azstate.errors import SourceError

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".azstate"})  # .azstate: our own state
SKIPPED_FILES = frozenset({".DS_Store"})
MAX_TOTAL = 512 * 1024 * 1024
MAX_ENTRIES = 20_000
_CHUNK = 1024 * 1024


def collect_files(directory: Path | str, *, origin: str | None = None) -> dict[str, bytes]:
    """The files of a source directory by relative POSIX path, as they will be zipped.

    Symbolic links are followed only while they stay inside the directory: a project zip holds
    real files, and a link out of the tree would upload whatever it points at. Errors name
    files under ``origin``, the path as the user wrote it.
    """
    root = Path(directory)
    origin = origin or str(root)
    if not root.is_dir():
        raise SourceError("not a directory", file=origin)
    real_root = Path(os.path.realpath(root))
    found: dict[str, tuple[Path, int]] = {}
    _walk(root, "", real_root, frozenset({real_root}), found, origin)
    # Sizes are known before a byte is read: a 3 GB file is refused by its size, not read.
    total = sum(size for _, size in found.values())
    if total > MAX_TOTAL or len(found) > MAX_ENTRIES:
        raise SourceError(
            f"{len(found)} files, {total} bytes: over the limit of {MAX_ENTRIES} files or "
            f"{MAX_TOTAL} bytes for one project",
            file=origin,
        )
    files: dict[str, bytes] = {}
    budget = MAX_TOTAL
    for rel in sorted(found):
        path, _ = found[rel]
        files[rel] = _read_bounded(path, budget, f"{origin}/{rel}")
        budget -= len(files[rel])
    return files


def _read_bounded(path: Path, budget: int, shown: str) -> bytes:
    """The file's bytes, refusing it when it grew past what is left of the limit since it was
    measured (a file written to while azstate reads the source)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(budget + 1)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", file=shown) from exc
    if len(data) > budget:
        raise SourceError(
            f"grew past the limit of {MAX_TOTAL} bytes for one project while being read",
            file=shown,
        )
    return data


def _walk(
    directory: Path,
    prefix: str,
    real_root: Path,
    ancestors: frozenset[Path],
    out: dict[str, tuple[Path, int]],
    origin: str,
) -> None:
    """Every regular file under ``directory`` with its size, nothing read yet."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise SourceError(f"cannot read directory: {exc.strerror}", file=str(directory)) from exc
    for name in names:
        path = directory / name
        rel = f"{prefix}{name}"
        shown = f"{origin}/{rel}"
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
            info = path.lstat()
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror}", file=shown) from exc
        if stat.S_ISLNK(info.st_mode):
            target = Path(os.path.realpath(path))
            if target != real_root and real_root not in target.parents:
                raise SourceError(
                    f"symbolic link points outside the source directory (to {target}); "
                    "copy the file in instead",
                    file=shown,
                )
            try:
                info = target.stat()
            except OSError as exc:
                raise SourceError("broken symbolic link", file=shown) from exc
        if stat.S_ISDIR(info.st_mode):
            if name in SKIPPED_DIRS:
                continue
            real = Path(os.path.realpath(path))
            if real in ancestors:
                raise SourceError(
                    "symbolic link loop: it points at a directory above it", file=shown
                )
            _walk(path, f"{rel}/", real_root, ancestors | {real}, out, origin)
        elif stat.S_ISREG(info.st_mode):
            out[rel] = (path, info.st_size)
        else:
            raise SourceError("not a regular file (device, socket or pipe)", file=shown)


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """The zip of these files: sorted names, fixed time and mode, deflated, no directory entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def build_zip(directory: Path | str) -> bytes:
    """The deterministic zip of a source directory (VCS folders and .DS_Store left out)."""
    return zip_files(collect_files(directory))


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


def content_digest_from_zip(data: bytes) -> str:
    return content_digest(read_zip_safely(data))


def read_zip_safely(
    data: bytes, *, max_total: int = MAX_TOTAL, max_entries: int = MAX_ENTRIES
) -> dict[str, bytes]:
    """The files of a zip by normalized path, refusing what could hurt when unpacked or read.

    Sizes are checked twice: the declared sizes before anything is inflated, then the bytes
    actually produced, so a zip that lies about its sizes cannot get past the limit either.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
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
        files: dict[str, bytes] = {}
        total = 0
        for info in infos:
            name = _entry_name(info)
            if name is None:
                continue
            if name in files:
                raise SourceError("the zip holds this path twice", file=name)
            content = _read_entry(archive, info, name, max_total - total)
            total += len(content)
            files[name] = content
    return dict(sorted(files.items()))


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


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > budget:
                    raise SourceError(
                        "the zip unpacks to more than the size limit (a zip bomb?)", file=name
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise SourceError(f"corrupt entry ({exc})", file=name) from exc
    except (RuntimeError, NotImplementedError) as exc:
        raise SourceError(f"cannot read entry: {exc}", file=name) from exc
    return b"".join(chunks)
