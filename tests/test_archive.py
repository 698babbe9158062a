"""Deterministic zips, the content digest shared by directories and zips, and hostile zips."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azstate.archive import (
    build_zip,
    collect_files,
    content_digest,
    content_digest_from_dir,
    content_digest_from_zip,
    read_zip_safely,
    zip_files,
)
from azstate.errors import SourceError


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def raw_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


TREE = {
    "p.project": b"azkaban-flow-version: 2.0\n",
    "a.flow": b"nodes:\n  - name: x\n    type: command\n",
    "sub/dir/b.flow": b"nodes: []\n",
    "sub/c.txt": b"\x00\x01binary",
}


def test_same_content_same_bytes_whatever_times_and_order(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write_tree(one, TREE)
    write_tree(two, dict(reversed(list(TREE.items()))))
    for path in (two / "a.flow", two / "sub/c.txt"):
        os.utime(path, (1_000_000, 1_000_000))
        path.chmod(0o755)
    assert build_zip(one) == build_zip(two)
    assert hashlib.sha256(build_zip(one)).hexdigest() == hashlib.sha256(build_zip(two)).hexdigest()


def test_zip_entries_are_sorted_fixed_and_files_only(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    with zipfile.ZipFile(io.BytesIO(build_zip(tmp_path))) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(TREE)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == stat.S_IFREG | 0o644
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert not info.is_dir()


def test_digest_is_the_same_for_directory_built_zip_and_foreign_zip(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    foreign = raw_zip([("sub/", b""), *((n, d) for n, d in reversed(list(TREE.items())))])
    expected = content_digest(TREE)
    assert content_digest_from_dir(tmp_path) == expected
    assert content_digest_from_zip(build_zip(tmp_path)) == expected
    assert content_digest_from_zip(foreign) == expected
    assert content_digest_from_zip(zip_files(TREE)) == expected


def test_digest_changes_with_content_and_with_names() -> None:
    base = content_digest({"a": b"1"})
    assert content_digest({"a": b"2"}) != base
    assert content_digest({"b": b"1"}) != base
    assert content_digest({"a": b"1", "b": b""}) != base


def test_vcs_folders_and_ds_store_are_left_out(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a.job": b"type=command",
            ".git/config": b"x",
            ".hg/store": b"x",
            "sub/.svn/entries": b"x",
            ".DS_Store": b"x",
            "sub/.DS_Store": b"x",
            ".gitignore": b"kept",
            ".azstate/sandbox/state.json": b"x",
        },
    )
    assert sorted(collect_files(tmp_path)) == [".gitignore", "a.job"]


def test_symlink_inside_is_followed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shared/common.properties": b"retries=1"})
    (tmp_path / "link.properties").symlink_to(tmp_path / "shared/common.properties")
    (tmp_path / "linked_dir").symlink_to(tmp_path / "shared")
    files = collect_files(tmp_path)
    assert files["link.properties"] == b"retries=1"
    assert files["linked_dir/common.properties"] == b"retries=1"


def test_symlink_leaving_the_directory_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write_tree(source, {"a.job": b"type=command"})
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (source / "innocent.job").symlink_to(secret)
    with pytest.raises(SourceError) as info:
        build_zip(source)
    assert info.value.file == f"{source}/innocent.job"
    assert "symbolic link points outside the source directory" in str(info.value)


def test_symlink_with_dotdot_out_and_directory_links_out_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write_tree(source, {"a.job": b"type=command"})
    (source / "up").symlink_to("../")
    with pytest.raises(SourceError, match="outside the source directory"):
        collect_files(source, origin="flows")


def test_symlink_loop_and_broken_link(tmp_path: Path) -> None:
    write_tree(tmp_path, {"sub/a.job": b"type=command"})
    (tmp_path / "sub/loop").symlink_to(tmp_path / "sub")
    with pytest.raises(SourceError, match="symbolic link loop"):
        collect_files(tmp_path)
    (tmp_path / "sub/loop").unlink()
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(SourceError, match="broken symbolic link") as info:
        collect_files(tmp_path, origin="flows")
    assert info.value.file == "flows/dangling"


def test_non_utf8_file_name_on_disk_is_refused(tmp_path: Path) -> None:
    try:
        fd = os.open(os.fsencode(tmp_path) + b"/caf\xe9.job", os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    with pytest.raises(SourceError, match="not valid UTF-8") as info:
        collect_files(tmp_path, origin="flows")
    assert info.value.file == "flows/caf\\xe9.job"


def test_missing_directory() -> None:
    with pytest.raises(SourceError, match="not a directory"):
        collect_files("/nonexistent/azstate/source")


def test_read_zip_safely_reads_files_and_skips_directories() -> None:
    data = raw_zip([("dir/", b""), ("dir/a.job", b"type=command"), ("./b.job", b"x")])
    assert read_zip_safely(data) == {"b.job": b"x", "dir/a.job": b"type=command"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/etc/passwd", "absolute path in the zip"),
        ("\\windows\\evil", "absolute path in the zip"),
        ("C:/evil.job", "absolute path in the zip"),
        ("../evil.job", "leaves its folder"),
        ("a/../../evil.job", "leaves its folder"),
        ("a\\..\\..\\evil.job", "leaves its folder"),
    ],
)
def test_hostile_paths_are_refused(name: str, message: str) -> None:
    info = zipfile.ZipInfo(name)
    with pytest.raises(SourceError, match=message) as caught:
        read_zip_safely(raw_zip([(info, b"x")]))
    assert caught.value.file == name


def test_zip_bomb_past_the_limit_is_refused() -> None:
    bomb = raw_zip([("a.bin", b"\0" * 2_000_000), ("b.bin", b"\0" * 2_000_000)])
    assert len(bomb) < 20_000
    with pytest.raises(SourceError, match="over the limit"):
        read_zip_safely(bomb, max_total=3_000_000)
    assert len(read_zip_safely(bomb, max_total=4_000_000)) == 2


def test_zip_lying_about_its_size_is_caught_while_reading() -> None:
    data = bytearray(raw_zip([("a.bin", b"\0" * 100_000)]))
    # shrink the declared size in the central directory; inflating produces more than declared
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(SourceError):
        read_zip_safely(bytes(data), max_total=50)


def test_too_many_entries() -> None:
    data = raw_zip([(f"f{i}", b"") for i in range(30)])
    with pytest.raises(SourceError, match="30 entries, over the limit of 20"):
        read_zip_safely(data, max_entries=20)


def test_non_utf8_names_in_a_zip_are_refused() -> None:
    data = bytearray(raw_zip([("cafX.job", b"x")]))
    for marker in (b"cafX.job",):
        start = 0
        while (at := data.find(marker, start)) >= 0:
            data[at + 3] = 0xE9
            start = at + 1
    with pytest.raises(SourceError, match="not valid UTF-8"):
        read_zip_safely(bytes(data))


def test_utf8_names_without_the_flag_are_read_as_utf8() -> None:
    """Java reads entry names as UTF-8 whatever the flag says; so do we."""
    data = raw_zip([("cafXX.job", b"x")]).replace(b"cafXX.job", "café.job".encode())
    assert read_zip_safely(data) == {"café.job": b"x"}


def test_not_a_zip_and_duplicates() -> None:
    with pytest.raises(SourceError, match="not a readable zip file"):
        read_zip_safely(b"this is not a zip")
    with pytest.raises(SourceError, match="twice"):
        read_zip_safely(raw_zip([("a.job", b"1"), ("./a.job", b"2")]))


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,5}(/[a-z]{1,5}){0,2}\.[a-z]{1,4}", fullmatch=True),
        st.binary(max_size=200),
        max_size=8,
    )
)
def test_zip_round_trip_keeps_content_and_digest(files: dict[str, bytes]) -> None:
    paths = set(files)
    if any(p != q and q.startswith(p.rsplit(".", 1)[0] + "/") for p in paths for q in paths):
        return
    data = zip_files(files)
    assert read_zip_safely(data) == dict(sorted(files.items()))
    assert content_digest_from_zip(data) == content_digest(files)
    assert zip_files(dict(reversed(list(files.items())))) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_is_a_source_error_never_a_crash(data: bytes) -> None:
    with contextlib.suppress(SourceError):
        read_zip_safely(b"PK\x03\x04" + data)


def test_directory_over_the_limits_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a.job": b"x" * 100, "b.job": b"y"})
    monkeypatch.setattr("azstate.archive.MAX_TOTAL", 50)
    with pytest.raises(SourceError, match="over the limit") as info:
        collect_files(tmp_path, origin="flows")
    assert info.value.file == "flows"
