"""Built zips reused by tree stamps (git's racy rule), targets that zip only what they target,
and uploads named after their own project when sources are shared."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path

import pytest

from azstate.archive import list_files
from azstate.buildcache import RACY_NS, BuildCache, Built, Stamp
from azstate.errors import ConfigError, SourceError
from azstate.load import load_config

FLOW = "nodes:\n  - name: a\n    type: command\n    config:\n      command: echo {x}\n"
BUILT = Built(content_digest="c" * 64, zip_sha256="z" * 64, zip_size=10)


def source(root: Path, name: str, text: str = "one") -> Path:
    src = root / "src" / name
    src.mkdir(parents=True, exist_ok=True)
    (src / "flow.project").write_text("azkaban-flow-version: 2.0\n")
    (src / "main.flow").write_text(FLOW.format(x=text))
    return src


def config(root: Path, projects: dict[str, str]) -> Path:
    body = "[server]\nurl = \"http://127.0.0.1:1\"\n"
    for name, src in projects.items():
        body += f'[projects.{name}]\ndescription = "d"\nsource = "src/{src}"\n'
    path = root / "azstate.toml"
    path.write_text(body)
    return path


def stamps_of(src: Path) -> tuple[Stamp, ...]:
    return list_files(src).stamps()


def later(tree: Path) -> int:
    """A clock well past every file's mtime: entries written then are not racy."""
    return max(p.stat().st_mtime_ns for p in tree.rglob("*")) + 10 * RACY_NS


def test_an_unchanged_tree_reuses_its_build(tmp_path: Path) -> None:
    src = source(tmp_path, "a")
    stamps = stamps_of(src)
    cache = BuildCache(tmp_path / "builds.json", clock_ns=later(src))
    cache.put(src, stamps, BUILT)
    cache.save()
    again = BuildCache(tmp_path / "builds.json")
    assert again.get(src, stamps_of(src)) == BUILT
    assert stat.S_IMODE((tmp_path / "builds.json").stat().st_mode) == 0o600


def test_an_entry_written_within_2_s_of_a_files_mtime_is_distrusted(tmp_path: Path) -> None:
    src = source(tmp_path, "a")
    stamps = stamps_of(src)
    newest = max(s[2] for s in stamps)
    racy = BuildCache(None, clock_ns=newest + RACY_NS - 1)
    racy.put(src, stamps, BUILT)
    assert racy.get(src, stamps) is None
    settled = BuildCache(None, clock_ns=newest + RACY_NS)
    settled.put(src, stamps, BUILT)
    assert settled.get(src, stamps) == BUILT


def test_an_edit_that_keeps_size_and_mtime_is_seen_by_ctime(tmp_path: Path) -> None:
    src = source(tmp_path, "a")
    flow = src / "main.flow"
    cache = BuildCache(None, clock_ns=later(src))
    stamps = stamps_of(src)
    cache.put(src, stamps, BUILT)
    before = flow.stat()
    time.sleep(0.01)
    flow.write_text(FLOW.format(x="two"))  # same size
    os.utime(flow, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert cache.get(src, stamps_of(src)) is None


@pytest.mark.parametrize("damage", [b"", b"{", b'{"format": 1, "trees": {"x": 1}}'])
def test_a_damaged_build_cache_is_ignored(tmp_path: Path, damage: bytes) -> None:
    (tmp_path / "builds.json").write_bytes(damage)
    src = source(tmp_path, "a")
    cache = BuildCache(tmp_path / "builds.json")
    assert cache.get(src, stamps_of(src)) is None
    cache.save()  # replaced
    assert BuildCache(tmp_path / "builds.json").get(src, ()) is None


def test_load_reuses_builds_and_still_sees_a_same_second_edit(tmp_path: Path) -> None:
    src = source(tmp_path, "a")
    path = config(tmp_path, {"a": "a"})
    builds_file = tmp_path / "cache" / "builds.json"
    first = load_config(path, builds=BuildCache(builds_file, clock_ns=later(src)))
    reused = load_config(path, builds=BuildCache(builds_file))
    assert reused.sources == first.sources and reused.flows == first.flows
    data = reused.artifacts[reused.sources["a"].zip_sha256].path.read_bytes()  # rebuilt, same
    assert hashlib.sha256(data).hexdigest() == first.sources["a"].zip_sha256
    flow = src / "main.flow"
    before = flow.stat()
    flow.write_text(FLOW.format(x="TWO"))  # same size, same mtime, within the same second
    os.utime(flow, ns=(before.st_atime_ns, before.st_mtime_ns))
    edited = load_config(path, builds=BuildCache(builds_file))
    assert edited.sources["a"].content_digest != first.sources["a"].content_digest


def test_a_discovery_kept_for_an_untargeted_tree_serves_a_later_build(tmp_path: Path) -> None:
    src = source(tmp_path, "a")
    path = config(tmp_path, {"a": "a", "b": "a"})
    builds_file = tmp_path / "cache" / "builds.json"
    load_config(path, only=frozenset({"b"}), builds=BuildCache(builds_file, clock_ns=later(src)))
    stamps = stamps_of(src)
    cached = BuildCache(builds_file).lookup(src.resolve(), stamps)
    assert cached is not None and cached.built is not None and cached.discovered is not None
    assert load_config(path, builds=BuildCache(builds_file)).sources["a"].zip_name == "a.zip"


def test_only_the_targets_are_zipped_but_every_source_is_checked(tmp_path: Path) -> None:
    source(tmp_path, "a")
    source(tmp_path, "b")
    path = config(tmp_path, {"a": "a", "b": "b"})
    loaded = load_config(path, only=frozenset({"a"}))
    assert set(loaded.sources) == {"a"} and set(loaded.flows) == {"a", "b"}
    assert len(loaded.artifacts) == 1
    (tmp_path / "src" / "b" / "main.flow").write_text("nodes: [oops")
    with pytest.raises(SourceError):
        load_config(path, only=frozenset({"a"}))


def test_a_shared_source_uploads_under_each_projects_own_name(tmp_path: Path) -> None:
    source(tmp_path, "shared")
    loaded = load_config(config(tmp_path, {"alpha": "shared", "beta": "shared"}))
    assert loaded.sources["alpha"].zip_name == "alpha.zip"
    assert loaded.sources["beta"].zip_name == "beta.zip"
    assert loaded.sources["alpha"].zip_sha256 == loaded.sources["beta"].zip_sha256


def test_a_racy_entry_is_renewed_once_the_files_have_settled(tmp_path: Path) -> None:
    src = source(tmp_path, "a")
    stamps = stamps_of(src)
    newest = max(s[2] for s in stamps)
    path = tmp_path / "builds.json"
    racy = BuildCache(path, clock_ns=newest)  # built in the same tick as the last edit
    racy.put(src, stamps, BUILT)
    racy.save()
    assert BuildCache(path).get(src, stamps) is None
    settled = BuildCache(path, clock_ns=newest + 10 * RACY_NS)  # the same build, read later
    settled.put(src, stamps, BUILT)
    settled.save()
    assert BuildCache(path).get(src, stamps) == BUILT


def test_the_walks_stamps_are_what_a_second_stat_gives(tmp_path: Path) -> None:
    """The walk keeps each file's stat (a link's target's), so the cache needs no second
    stat; they are what a second stat of each file (links followed) reads."""
    src = source(tmp_path, "a")
    (src / "sub").mkdir()
    (src / "sub" / "x.sh").write_text("echo x")
    (src / "link.sh").symlink_to(src / "sub" / "x.sh")
    files = list_files(src)
    again = [(rel, os.stat(src / rel)) for rel in sorted(files)]
    assert files.stamps() == tuple(
        (rel, i.st_size, i.st_mtime_ns, i.st_ctime_ns, i.st_ino) for rel, i in again
    )
    assert [s[0] for s in files.stamps()] == ["flow.project", "link.sh", "main.flow", "sub/x.sh"]


def test_a_source_reached_through_a_link_is_cached_by_its_real_path(tmp_path: Path) -> None:
    source(tmp_path, "a")
    (tmp_path / "alias").symlink_to(tmp_path / "src")
    path = config(tmp_path, {"a": "a"})
    path.write_text(path.read_text() + '[projects.b]\ndescription = "d"\nsource = "alias/a"\n')
    builds_file = tmp_path / "cache" / "builds.json"
    loaded = load_config(path, builds=BuildCache(builds_file, clock_ns=later(tmp_path / "src")))
    assert loaded.sources["a"].zip_sha256 == loaded.sources["b"].zip_sha256
    stored = json.loads(builds_file.read_text())["trees"]
    assert list(stored) == [os.path.realpath(tmp_path / "src" / "a")]


@pytest.mark.parametrize("through", ["parent", "source"])
def test_a_link_out_of_the_repository_is_refused_however_deep(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, through: str
) -> None:
    """Each source's real path is built from its parent's, resolved once per load: a link in
    the parent and a source that is itself a link both lead outside and are refused."""
    elsewhere = source(tmp_path_factory.mktemp("elsewhere"), "a").parent
    source(tmp_path, "inside")  # the parent of both is resolved first, and kept
    if through == "parent":
        (tmp_path / "src" / "out").symlink_to(elsewhere)
        where = "out/a"
    else:
        (tmp_path / "src" / "out").symlink_to(elsewhere / "a")
        where = "out"
    path = config(tmp_path, {"inside": "inside", "x": where})
    with pytest.raises(ConfigError, match="resolves outside"):
        load_config(path)
