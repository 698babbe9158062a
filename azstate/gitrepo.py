"""Running git for the features that read a repository: baselines and the source boundary.

One place decides how git is called (no shell, a timeout, output as bytes) and what its absence
means, so the callers only decide what a failure means for them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_TIMEOUT = 60.0


class GitUnavailable(Exception):
    """git is not installed, or did not answer in time."""


def run_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitUnavailable("no git command was found") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitUnavailable(f"git did not answer within {GIT_TIMEOUT:.0f} s") from exc


def toplevel(path: Path) -> Path | None:
    """The work tree holding ``path`` (a file or a directory), or None outside git."""
    start = path if path.is_dir() else path.parent
    done = run_git(start, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        return None
    return Path(os.fsdecode(done.stdout.strip())).resolve()
