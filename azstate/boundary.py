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
from pathlib import Path

from azstate.gitrepo import GitUnavailable, run_git, toplevel

ALLOW_ENV = "AZSTATE_ALLOW_OUTSIDE_SOURCES"
ALLOW_FLAG = "--allow-outside-sources"


def allowed_by_environment() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


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
    return not path.resolve().is_relative_to(boundary.resolve())


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
