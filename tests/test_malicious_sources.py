"""Hostile sources, end to end: `azstate validate` (and plan, before it talks to a server)
refuses them with one clear line naming the file, never a traceback.

tests/test_archive.py checks the archive functions with small limits; here the real limits and
the whole command are used: a zip of 576 MiB in well under a megabyte, entries that climb out
with `..` or start at `/`, names that are not UTF-8, links out of the source directory.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from azstate.archive import MAX_TOTAL
from azstate.cli import main
from azstate.sandbox.server import SandboxServer

CONFIG = '[projects.etl]\ndescription = "E"\nsource = "{source}"\n'
FLOW = b"nodes:\n  - name: a\n    type: command\n    config:\n      command: echo a\n"


def bomb(entries: int, size: int) -> bytes:
    """A real zip whose entries each inflate to ``size`` zero bytes, all sharing one small
    deflated blob (zipfile would compress every entry again, which takes seconds)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    blob = deflate.compress(bytes(size)) + deflate.flush()
    crc = zlib.crc32(bytes(size))
    out, central = bytearray(), bytearray()
    for i in range(entries):
        name = f"f{i}.bin".encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(blob), size, len(name), 0
        )
        out += name + blob
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(blob), size, len(name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(central), len(out), 0)
    return bytes(out + central + end)


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def validate(tmp_path: Path, source: str, capsys: pytest.CaptureFixture[str]) -> str:
    (tmp_path / "azstate.toml").write_text(CONFIG.format(source=source))
    assert main(["validate", "-c", str(tmp_path / "azstate.toml")]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1, err
    return err


def test_a_zip_bomb_past_the_real_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    size = 64 * 1024 * 1024
    data = bomb(MAX_TOTAL // size + 1, size)
    assert len(data) < 1_000_000
    (tmp_path / "etl.zip").write_bytes(data)
    err = validate(tmp_path, "etl.zip", capsys)
    assert "etl.zip" in err and f"over the limit of {MAX_TOTAL}" in err


def test_the_bomb_builder_makes_a_zip_that_inflates() -> None:
    """So the refusal above is the limit's doing, not a broken file's."""
    with zipfile.ZipFile(io.BytesIO(bomb(2, 1000))) as archive:
        assert [archive.read(n) for n in archive.namelist()] == [bytes(1000)] * 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.flow", "leaves its folder"),
        ("flows/../../evil.flow", "leaves its folder"),
        ("/etc/cron.d/evil", "absolute path in the zip"),
        ("C:/evil.flow", "absolute path in the zip"),
    ],
)
def test_zip_entries_that_leave_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    (tmp_path / "etl.zip").write_bytes(zip_of({"a.flow": FLOW, name: b"x"}))
    err = validate(tmp_path, "etl.zip", capsys)
    assert f"etl.zip/{name}" in err and message in err


def test_a_zip_entry_name_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(zip_of({"a.flow": FLOW, "cafX.flow": FLOW}))
    start = 0
    while (at := data.find(b"cafX.flow", start)) >= 0:
        data[at + 3] = 0xE9  # latin-1 é, with the UTF-8 flag clear: not valid UTF-8
        start = at + 1
    (tmp_path / "etl.zip").write_bytes(bytes(data))
    err = validate(tmp_path, "etl.zip", capsys)
    assert "etl.zip" in err and "not valid UTF-8" in err


def test_a_directory_link_out_of_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "a.flow").write_bytes(FLOW)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "id_rsa").write_text("private")
    (tmp_path / "flows" / "up").symlink_to(tmp_path / "home")
    err = validate(tmp_path, "flows", capsys)
    assert "flows/up" in err and "outside" in err


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses such names itself")
def test_a_file_name_on_disk_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "a.flow").write_bytes(FLOW)
    with open(os.fsencode(tmp_path / "flows") + b"/caf\xe9.flow", "wb") as bad:
        bad.write(FLOW)
    err = validate(tmp_path, "flows", capsys)
    assert "flows" in err and "UTF-8" in err


def test_plan_refuses_before_any_request(
    azkaban_env: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "etl.zip").write_bytes(zip_of({"a.flow": FLOW, "../evil.flow": b"x"}))
    (tmp_path / "azstate.toml").write_text(CONFIG.format(source="etl.zip"))
    assert main(["plan", "-c", str(tmp_path / "azstate.toml")]) == 1
    assert "leaves its folder" in capsys.readouterr().err
    assert azkaban_env.log.snapshot() == []
