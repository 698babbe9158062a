"""Files and directories azstate writes: readable by their owner only (0600 and 0700).

Saved plans, the digest cache, imported projects and the sandbox's data hold what a server
holds (project files, permissions, schedules, e-mail addresses). On a shared CI runner or home
directory nobody else should read them, whatever the umask, so every writer goes through here.
Directories that already exist keep their mode: they may be the user's own (``.``, ``~``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_dirs(path: Path) -> None:
    """``path`` and its missing parents, each created 0700."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=DIR_MODE)
            os.chmod(directory, DIR_MODE)  # mkdir's mode is narrowed by the umask, never widened


def write_file(path: Path, data: bytes | str, *, parents: bool = True) -> None:
    """``data`` at ``path``, 0600: written beside it and renamed, so a reader (or an
    interrupted run) never sees half a file, and the old file's mode never carries over.
    Missing directories are created (0700) unless ``parents`` is false: a path the user typed
    with a misspelt directory is an error, not a new directory."""
    path = Path(path)
    if parents:
        make_dirs(path.parent)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file 0600
            handle.write(raw)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class CacheFile:
    """A cache held in memory by threads and written back only when it changed: the part
    the plan caches share. Subclasses hold their entries and say how they are written."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._dirty = False

    def _text(self) -> str:
        """The file's text; called with the lock held."""
        raise NotImplementedError

    def save(self) -> None:
        """Write the file if anything changed: 0600, in a 0700 directory, atomically."""
        if self.path is None:
            return
        with self._lock:
            if not self._dirty:
                return
            text = self._text()
            self._dirty = False
        write_file(self.path, text)
