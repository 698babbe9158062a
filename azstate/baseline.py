"""The last applied configuration, read from a git revision without touching the work tree.

A three-way plan (``--baseline REV``) needs the configuration and its flow sources as they were
at REV. They are read from git's object store as a checkout would write them (``git archive``
applies the same end-of-line and filter attributes a checkout does, and keeps symbolic links
and executable bits) into a private temporary directory, so that the ordinary loader reads
them exactly as it reads the work tree: the same validation, the same zip digests.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from azstate.errors import BaselineError
from azstate.gitrepo import GitUnavailable, run_git, toplevel


@dataclass(frozen=True)
class BaselineTree:
    """Where the baseline's copy of the configuration path lies, and what REV resolved to."""

    revision: str  # as the user wrote it
    commit: str  # the full commit id it named
    config: Path  # the -c path inside the temporary tree


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return run_git(repo, *args)
    except GitUnavailable as exc:
        raise BaselineError(f"--baseline needs git: {exc}") from exc


def repository_root(path: Path) -> Path:
    """The work tree holding ``path``; an error when it is not inside one."""
    try:
        root = toplevel(path.resolve())
    except GitUnavailable as exc:
        raise BaselineError(f"--baseline needs git: {exc}") from exc
    if root is None:
        raise BaselineError(f"--baseline needs a git repository, and {path} is not inside one")
    return root


def resolve_revision(root: Path, revision: str) -> str:
    """The commit a revision names; refuses options and anything that is not a commit."""
    if not revision or revision.startswith("-"):
        raise BaselineError(f"--baseline {revision!r} is not a git revision")
    done = _git(
        root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"
    )
    if done.returncode != 0:
        raise BaselineError(f"--baseline {revision}: unknown revision in {root}")
    return done.stdout.decode().strip()


def _exists_at(root: Path, commit: str, relative: str) -> bool:
    spec = f"{commit}:{relative}" if relative else f"{commit}^{{tree}}"
    return _git(root, "cat-file", "-e", spec).returncode == 0


def _extract(root: Path, commit: str, dest: Path) -> None:
    done = _git(root, "archive", "--format=tar", commit)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise BaselineError(
            f"git archive {commit[:12]} failed: {message[-1] if message else 'no message'}"
        )
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        # "data" refuses absolute names, ".." and links that leave dest: a revision is input.
        archive.extractall(dest, filter="data")


@contextmanager
def baseline_tree(config_path: Path, revision: str) -> Iterator[BaselineTree]:
    """Materialise ``revision``'s tree in a private directory for the duration of the block.

    The whole tree is extracted, because sources and ``extends`` files may lie anywhere in the
    repository (``../flows``); the directory is 0700 and removed afterwards.
    """
    root = repository_root(config_path)
    commit = resolve_revision(root, revision)
    absolute = config_path.resolve() if config_path.exists() else config_path.absolute()
    try:
        relative = absolute.relative_to(root.resolve())
    except ValueError:
        raise BaselineError(f"{config_path} is not inside the repository {root}") from None
    rel_text = relative.as_posix() if str(relative) != "." else ""
    if not _exists_at(root, commit, rel_text):
        raise BaselineError(
            f"{config_path} does not exist at {revision} (commit {commit[:12]}): "
            "the baseline must hold the configuration that was last applied"
        )
    workdir = Path(tempfile.mkdtemp(prefix="azstate-baseline-"))
    try:
        os.chmod(workdir, 0o700)
        tree = workdir / "tree"
        tree.mkdir()
        _extract(root, commit, tree)
        yield BaselineTree(revision=revision, commit=commit, config=tree / relative)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
