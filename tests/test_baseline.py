"""--baseline REV: the configuration and sources of a git revision, read without a checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from azstate.baseline import baseline_tree
from azstate.errors import BaselineError, ConfigError
from azstate.origins import Origin, converged, field_origins, strongest


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "env").mkdir(parents=True)
    (root / "flows").mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "env" / "azstate.toml").write_text('description = "one"\n')
    (root / "flows" / "a.flow").write_text("nodes: []\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    (root / "env" / "azstate.toml").write_text('description = "two"\n')
    (root / "flows" / "a.flow").write_text("nodes: [changed]\n")
    (root / "flows" / "b.flow").write_text("new\n")
    (root / "env" / "extra.toml").write_text("x = 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "second")
    (root / "env" / "azstate.toml").write_text('description = "work tree"\n')
    return root


def test_reads_the_revision_not_the_work_tree(repo: Path) -> None:
    config = repo / "env" / "azstate.toml"
    with baseline_tree(config, "HEAD~1") as tree:
        assert tree.config.read_text() == 'description = "one"\n'
        assert (tree.config.parent.parent / "flows" / "a.flow").read_text() == "nodes: []\n"
        assert not (tree.config.parent.parent / "flows" / "b.flow").exists()
        assert tree.commit == git(repo, "rev-parse", "HEAD~1")
        kept = tree.config.parent
    assert not kept.exists(), "the temporary tree is removed after use"
    # The work tree is untouched: uncommitted edit still there, nothing new staged or written.
    assert config.read_text() == 'description = "work tree"\n'
    assert git(repo, "status", "--porcelain") == "M env/azstate.toml"


def test_a_directory_config_and_a_relative_path(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "env")
    with baseline_tree(Path("."), "HEAD") as tree:
        assert sorted(p.name for p in tree.config.iterdir()) == ["azstate.toml", "extra.toml"]
    with baseline_tree(Path("../flows"), "main") as tree:
        assert (tree.config / "b.flow").read_text() == "new\n"


def test_config_missing_at_the_revision(repo: Path) -> None:
    with pytest.raises(BaselineError) as err, baseline_tree(repo / "env" / "extra.toml", "HEAD~1"):
        pass
    message = str(err.value)
    assert "extra.toml" in message and "HEAD~1" in message and "does not exist" in message
    assert isinstance(err.value, ConfigError)  # exit 1 like every configuration error


@pytest.mark.parametrize("rev", ["nope", "HEAD~5", "--output=/tmp/x", "", "deadbeef" * 5])
def test_not_a_revision(repo: Path, rev: str) -> None:
    with pytest.raises(BaselineError) as err, baseline_tree(repo / "env" / "azstate.toml", rev):
        pass
    assert "revision" in str(err.value)


def test_a_tree_object_is_not_a_commit(repo: Path) -> None:
    tree_id = git(repo, "rev-parse", "HEAD^{tree}")
    with pytest.raises(BaselineError), baseline_tree(repo / "env" / "azstate.toml", tree_id):
        pass


def test_outside_a_repository(tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "azstate.toml").write_text("")
    with pytest.raises(BaselineError) as err, baseline_tree(lone / "azstate.toml", "HEAD"):
        pass
    assert "not inside" in str(err.value) and "git repository" in str(err.value)


def test_symlinks_and_modes_come_back_as_a_checkout_writes_them(repo: Path) -> None:
    (repo / "flows" / "run.sh").write_text("#!/bin/sh\n")
    (repo / "flows" / "run.sh").chmod(0o755)
    (repo / "flows" / "link.flow").symlink_to("a.flow")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "third")
    with baseline_tree(repo / "env" / "azstate.toml", "HEAD") as tree:
        flows = tree.config.parent.parent / "flows"
        assert (flows / "link.flow").is_symlink()
        assert (flows / "link.flow").read_text() == "nodes: [changed]\n"
        assert (flows / "run.sh").stat().st_mode & 0o100


# ---- origins: the pure three-way rule -------------------------------------------------------


def test_every_field_origin() -> None:
    base = {"cron": "a", "emails": ["x"], "level": 1, "mail": "m"}
    config = {"cron": "b", "emails": ["x"], "level": 2, "mail": "n"}
    server = {"cron": "a", "emails": ["y"], "level": 3, "mail": "n"}
    assert field_origins(base, config, server) == {
        "cron": Origin.EDIT,  # C moved, S at B
        "emails": Origin.DRIFT,  # C at B, S moved
        "level": Origin.CONFLICT,  # both moved, differently
        # mail: C moved, S already there: converged, not a change
    }


def test_whole_resources() -> None:
    value = {"cron": "a"}
    assert field_origins(None, value, None) == {"": Origin.EDIT}  # added in this change
    assert field_origins(value, value, None) == {"": Origin.DRIFT}  # deleted on the server
    assert field_origins(value, None, value) == {"": Origin.EDIT}  # removed in this change
    assert field_origins(None, None, value) == {"": Origin.DRIFT}  # created on the server
    assert field_origins({"cron": "z"}, value, None) == {"": Origin.CONFLICT}
    assert field_origins(value, None, {"cron": "z"}) == {"": Origin.CONFLICT}
    assert field_origins(None, value, value) == {}


def test_strongest_and_converged() -> None:
    assert strongest([]) is Origin.UNKNOWN
    assert strongest([Origin.EDIT, Origin.DRIFT]) is Origin.DRIFT
    assert strongest([Origin.DRIFT, Origin.CONFLICT, Origin.EDIT]) is Origin.CONFLICT
    assert converged({"a": 1}, {"a": 2}, {"a": 2})
    assert not converged({"a": 2}, {"a": 2}, {"a": 2})
    assert not converged({"a": 1}, {"a": 2}, {"a": 3})


def test_fields_limit_the_comparison() -> None:
    assert field_origins({"a": 1, "z": 1}, {"a": 2, "z": 2}, {"a": 1, "z": 1}, fields=["a"]) == {
        "a": Origin.EDIT
    }
