"""Sources stay inside the configuration's repository; untracked files are found."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from azstate.boundary import (
    ALLOW_ENV,
    allowed_by_environment,
    boundary_of,
    outside,
    outside_message,
    untracked_files,
)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "env").mkdir(parents=True)
    (root / "flows").mkdir()
    _git(root, "init", "-q")
    (root / ".gitignore").write_text("*.secret\n")
    (root / "flows" / "a.flow").write_text("x")
    (root / "env" / "azstate.toml").write_text("")
    _git(root, "add", "-A")
    return root


def test_the_boundary_is_the_work_tree_or_the_directory(repo: Path, tmp_path: Path) -> None:
    assert boundary_of(repo / "env" / "azstate.toml") == repo.resolve()
    assert boundary_of(repo / "env") == repo.resolve()
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "azstate.toml").write_text("")
    assert boundary_of(lone / "azstate.toml") == lone.resolve()
    assert boundary_of(lone) == lone.resolve()


def test_inside_and_outside(repo: Path, tmp_path: Path) -> None:
    env = repo / "env"
    assert not outside(env / ".." / "flows", repo)  # ../flows from an environment directory
    assert outside(Path("/etc"), repo)
    assert outside(env / ".." / ".." / "..", repo)
    (repo / "flows" / "escape").symlink_to(tmp_path)
    assert outside(repo / "flows" / "escape", repo)  # links are followed
    message = outside_message("source '/etc/ssh'", repo)
    assert "/etc/ssh" in message and "--allow-outside-sources" in message and ALLOW_ENV in message


def test_untracked_and_ignored_files_are_named(repo: Path, tmp_path: Path) -> None:
    (repo / "flows" / "new.flow").write_text("y")
    (repo / "flows" / "key.secret").write_text("z")
    assert untracked_files(repo / "flows") == ["key.secret", "new.flow"]
    assert untracked_files(repo / "env") == []
    outside_git = tmp_path / "plain"
    outside_git.mkdir()
    (outside_git / "a").write_text("")
    assert untracked_files(outside_git) == []


@pytest.mark.parametrize(
    ("value", "allowed"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_opt_out_from_the_environment(
    value: str, allowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, value)
    assert allowed_by_environment() is allowed
