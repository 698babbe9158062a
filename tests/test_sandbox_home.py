"""--sandbox keeps its state beside the configuration it serves, not where the command runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from azstate.commands.workspace import sandbox_home


def test_beside_the_configuration_when_none_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = tmp_path / "envs" / "staging"
    env.mkdir(parents=True)
    (env / "azstate.toml").write_text("")
    expected = env.resolve() / ".azstate" / "sandbox"
    assert sandbox_home(env / "azstate.toml") == expected  # a file
    assert sandbox_home(env) == expected  # a directory of files
    assert sandbox_home(Path("envs/staging/azstate.toml")) == expected  # relative to the cwd


def test_the_nearest_existing_one_above_is_shared(tmp_path: Path) -> None:
    (tmp_path / "quickstart" / ".azstate" / "sandbox").mkdir(parents=True)
    below = tmp_path / "quickstart" / "imported"  # not written yet: import --out
    assert sandbox_home(below) == (tmp_path / "quickstart").resolve() / ".azstate" / "sandbox"
    beside = tmp_path / "other"
    beside.mkdir()
    assert sandbox_home(beside) == beside.resolve() / ".azstate" / "sandbox"
