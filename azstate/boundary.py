"""The boundary a configuration's files must stay inside: its repository.

A pull request that sets ``source = "/etc/ssh"`` or ``"../../.."`` would have CI zip and upload
whatever the runner can read. Sources and ``extends`` files must therefore resolve (symbolic
links followed) inside the git work tree that holds the configuration named by ``-c``, or,
outside git, inside that path's directory. The opt-out is a command-line flag or an environment
variable, never the configuration, which the pull request itself could change. Inside git, files
in a source that git does not track (ignored or new) are uploaded without review: callers warn.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from azstate.gitrepo import GitUnavailable, run_git, toplevel

ALLOW_ENV = "AZSTATE_ALLOW_OUTSIDE_SOURCES"
ALLOW_FLAG = "--allow-outside-sources"


def allowed_by_environment(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return run_git(cwd, *args)
    except GitUnavailable:
        return None


def git_root(path: Path) -> Path | None:
    try:
        return toplevel(path)
    except GitUnavailable:
        return None


def boundary_of(config_path: Path) -> Path:
    """The repository holding the configuration, else the configuration's directory."""
    resolved = config_path.resolve()
    root = git_root(resolved)
    if root is not None:
        return root
    return resolved if resolved.is_dir() else resolved.parent


def outside(path: Path, boundary: Path) -> bool:
    """True when ``path``, with every symbolic link followed, leaves ``boundary``."""
    return _leaves(path.resolve(), boundary.resolve())


def _leaves(real: Path, real_boundary: Path) -> bool:
    """outside() once both paths are resolved."""
    return not real.is_relative_to(real_boundary)


def outside_message(shown: str, boundary: Path) -> str:
    return (
        f"{shown} resolves outside {boundary}, the repository holding the configuration: "
        f"refused (pass {ALLOW_FLAG} or set {ALLOW_ENV}=1 if this is meant)"
    )


def untracked_files(source: Path, limit: int = 20) -> list[str]:
    """Files under ``source`` that git ignores or does not track (at most ``limit``), relative
    to ``source``; empty outside git."""
    if not source.is_dir() or git_root(source) is None:
        return []
    done = _git(source, "ls-files", "--others", "-z", "--", ".")
    if done is None or done.returncode != 0:
        return []
    names = [os.fsdecode(n) for n in done.stdout.split(b"\0") if n]
    return sorted(names)[:limit]


def untracked_entries(root: Path) -> tuple[str, ...]:
    """Everything under the work tree ``root`` that git does not track, ignored files
    included, relative to ``root``; a directory holding nothing tracked is one entry ending in
    ``/``. One git call for the whole repository, however many sources it holds."""
    done = _git(root, "ls-files", "--others", "--directory", "--no-empty-directory", "-z")
    if done is None or done.returncode != 0:
        return ()
    return tuple(sorted(os.fsdecode(n) for n in done.stdout.split(b"\0") if n))


def untracked_in(
    source: Path, root: Path, entries: tuple[str, ...], *, skipped: frozenset[str] = frozenset()
) -> list[str]:
    """The entries of ``untracked_entries(root)`` that lie in the directory ``source``, relative
    to it (``"."`` when the whole directory is untracked); names in ``skipped`` (never zipped)
    are left out."""
    try:
        rel = source.resolve().relative_to(root).as_posix()
    except ValueError:
        return []
    prefix = "" if rel == "." else rel + "/"
    found: list[str] = []
    for entry in entries:
        if prefix.startswith(entry) and entry.endswith("/"):
            return ["."]
        if not entry.startswith(prefix):
            continue
        inner = entry[len(prefix) :]
        if skipped.intersection(inner.rstrip("/").split("/")):
            continue
        found.append(inner)
    return found


class Confinement:
    """The boundary of one loading of a configuration: what it refuses and what it warns of.

    Git is asked once per load (the work tree, then the untracked files, only when a source
    needs them), however many projects and sources the configuration holds.
    """

    def __init__(
        self, config_path: Path, *, allow_outside: bool, boundary: Path | None = None
    ) -> None:
        """``boundary`` replaces the repository's work tree, for a tree that git wrote out
        but that is no work tree (a --baseline revision): it is the repository as it was."""
        resolved = config_path.resolve()
        self.root = None if boundary is not None else git_root(resolved)
        self.boundary = (
            boundary.resolve()
            if boundary is not None
            else self.root or (resolved if resolved.is_dir() else resolved.parent)
        )
        self.allow_outside = allow_outside
        self._untracked: tuple[str, ...] | None = None
        self._real_boundary = self.boundary.resolve()  # once, however many sources ask

    def refusal(self, path: Path, shown: str, *, real: str | None = None) -> str | None:
        """Why ``path`` (a source or an extended file) may not be read; None when it may.
        ``real``: ``path`` with every link resolved, if the caller has it."""
        resolved = Path(real) if real is not None else path.resolve()
        if self.allow_outside or not _leaves(resolved, self._real_boundary):
            return None
        return outside_message(shown, self.boundary)

    def unreviewed(self, source: Path, *, skipped: frozenset[str] = frozenset()) -> list[str]:
        """Files of the directory ``source`` that git does not track (they would be uploaded
        without anyone reviewing them); empty outside git."""
        if self.root is None or not source.is_dir():
            return []
        if self._untracked is None:
            self._untracked = untracked_entries(self.root)
        return untracked_in(source, self.root, self._untracked, skipped=skipped)
