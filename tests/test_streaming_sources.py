"""Sources are hashed, zipped and uploaded in chunks: memory does not grow with a source's size,
the zip has the bytes the whole-file zip had (so plans and digests do not change), and the
upload is sent from a file, from its start on every attempt, and only with the planned bytes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from pydantic import SecretStr

from azstate import archive
from azstate.archive import (
    FILE_MODE,
    ZIP_TIME,
    ZipOnDisk,
    build_zip_file,
    content_digest,
    digest_of,
    list_files,
    zip_digests,
)
from azstate.errors import AzstateError, SourceError
from azstate.plan import UploadFile
from azstate.sandbox.server import SandboxServer
from azstate.wire import calls
from azstate.wire.client import AzkabanClient

ROOT = Path(__file__).resolve().parent.parent
FLOW = "nodes:\n  - name: a\n    type: command\n    config:\n      command: echo a\n"
MIB = 1024 * 1024


def whole_file_zip(files: Mapping[str, bytes]) -> bytes:
    """The zip as azstate built it before streaming (writestr of whole files): the reference
    the streamed zip must equal byte for byte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = FILE_MODE << 16
            zf.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def tree(root: Path, files: Mapping[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_the_streamed_zip_is_the_whole_file_zip(tmp_path: Path) -> None:
    files = {
        "flow.project": b"azkaban-flow-version: 2.0\n",
        "main.flow": FLOW.encode(),
        "data/big.bin": os.urandom(3 * MIB + 17),  # several chunks
        "data/empty": b"",
    }
    listed = list_files(tree(tmp_path / "src", files))
    zipped, digests = build_zip_file(listed)
    data = zipped.path.read_bytes()
    assert data == whole_file_zip(files)
    assert (zipped.sha256, zipped.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert digests == {n: hashlib.sha256(files[n]).hexdigest() for n in sorted(files)}
    assert digest_of(digests) == content_digest(files) == digest_of(zip_digests(zipped))
    assert stat.S_IMODE(zipped.path.stat().st_mode) == 0o600
    path = zipped.path
    del zipped
    assert not path.exists()  # a built zip is removed with its last holder


def test_a_file_that_grows_past_the_limit_while_zipped_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tree(tmp_path / "src", {"main.flow": FLOW.encode(), "log.txt": b"x" * 100})
    monkeypatch.setattr(archive, "MAX_TOTAL", 200)
    listed = list_files(src, origin="flows")
    with (src / "log.txt").open("ab") as handle:
        handle.write(b"y" * 200)
    with pytest.raises(SourceError) as caught:
        build_zip_file(listed)
    assert caught.value.file == "flows/log.txt"
    assert "grew past the limit" in caught.value.message


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[AzkabanClient]:
    c = AzkabanClient(sandbox.url, "azkaban", SecretStr("azkaban"), timeout=5.0)
    try:
        c.create_project("etl", "d")
        yield c
    finally:
        c.close()


def built(tmp_path: Path) -> ZipOnDisk:
    files = {"flow.project": b"azkaban-flow-version: 2.0\n", "main.flow": FLOW.encode()}
    return build_zip_file(list_files(tree(tmp_path / "src", files)))[0]


def upload_of(zipped: ZipOnDisk) -> UploadFile:
    return UploadFile(name="etl.zip", size=zipped.size, sha256=zipped.sha256)


def test_a_resent_upload_sends_the_file_from_its_start(
    client: AzkabanClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    zipped = built(tmp_path)
    sandbox.faults.add("expire_session", path="/manager", action="upload")
    client.send(calls.upload("etl", upload_of(zipped)), file_bytes=zipped)
    assert client.stats.count("POST", "login") == 2  # refused once, sent again
    assert client.project_version("etl")[1] == 1
    assert client.download("etl") == zipped.path.read_bytes()


def test_a_users_zip_changed_after_the_plan_is_not_uploaded(
    client: AzkabanClient, tmp_path: Path
) -> None:
    planned = built(tmp_path)
    theirs = tmp_path / "etl.zip"
    theirs.write_bytes(planned.path.read_bytes())
    zipped = ZipOnDisk(theirs, planned.size, planned.sha256)  # a .zip source: not owned
    theirs.write_bytes(theirs.read_bytes()[:-1] + b"!")
    with pytest.raises(AzstateError, match="not the planned ones"):
        client.send(calls.upload("etl", upload_of(zipped)), file_bytes=zipped)
    assert client.project_version("etl")[1] is None


def test_a_built_zip_changed_while_sent_is_cut_short(
    client: AzkabanClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """azstate's own zip is trusted by the digest taken when it was built, not read twice;
    the bytes are hashed as they go, and other bytes never reach the closing boundary."""
    zipped = built(tmp_path)
    data = zipped.path.read_bytes()
    zipped.path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, other bytes
    with pytest.raises(AzstateError, match="changed while it was uploaded"):
        client.send(calls.upload("etl", upload_of(zipped)), file_bytes=zipped)
    assert client.project_version("etl")[1] is None
    zipped.path.write_bytes(data)
    client.send(calls.upload("etl", upload_of(zipped)), file_bytes=zipped)  # usable again
    assert client.download("etl") == data


# -- a large source, end to end ------------------------------------------------------------------

SIZE = 64 * MIB
NOISE = 8 * MIB  # incompressible, so the zip (and the upload) is large too

# Peak resident memory of the apply alone: /proc's high-water mark, reset after the imports
# (ru_maxrss would not do: Linux carries it over exec from the parent, pytest itself).
APPLY_MEASURED = """
import json, sys
from azstate.cli import main
import azstate.apply, azstate.load, azstate.commands.apply  # noqa: F401  (imports are not data)

def kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # the high-water mark starts again from now
before = kib("VmRSS")
code = main(["apply", "--auto-approve", "-c", sys.argv[1]])
print(json.dumps({"code": code, "grew_kib": kib("VmHWM") - before}))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
def test_a_large_source_is_built_and_uploaded_in_bounded_memory(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    src = tmp_path / "src"
    tree(src, {"flow.project": b"azkaban-flow-version: 2.0\n", "main.flow": FLOW.encode()})
    noise = os.urandom(NOISE)
    with (src / "data.bin").open("wb") as handle:
        handle.write(noise)
        handle.truncate(SIZE)  # the rest: a hole, read as zeros
    big_sha = hashlib.sha256(noise + bytes(SIZE - NOISE)).hexdigest()
    config = tmp_path / "azstate.toml"
    config.write_text('[projects.big]\ndescription = "d"\nsource = "src"\n')
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AZKABAN_URL": sandbox.url,
        "AZKABAN_USERNAME": "azkaban",
        "AZKABAN_PASSWORD": "azkaban",
        "AZSTATE_CACHE_DIR": str(tmp_path / "cache"),
    }
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", APPLY_MEASURED, str(config)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, run.stdout
    grew = result["grew_kib"] * 1024
    # Whole-file reading held the 64 MiB file (and the 8 MiB zip, twice, in requests).
    assert grew < NOISE, f"peak memory grew by {grew / MIB:.1f} MiB for a {SIZE // MIB} MiB file"
    client = AzkabanClient(sandbox.url, "azkaban", SecretStr("azkaban"))
    received = client.download("big")
    client.close()
    assert len(received) > NOISE
    assert zip_digests(received) == {
        "data.bin": big_sha,
        "flow.project": hashlib.sha256(b"azkaban-flow-version: 2.0\n").hexdigest(),
        "main.flow": hashlib.sha256(FLOW.encode()).hexdigest(),
    }
    print(f"apply of a {SIZE // MIB} MiB source: {took:.2f} s, peak grew {grew / MIB:.1f} MiB")


def test_a_zip_sources_flow_error_names_the_file_once(tmp_path: Path) -> None:
    """A .zip source is digested entry by entry and only its flow files are read for discovery;
    an error still names the file inside the zip under the path the user wrote."""
    from azstate.load import load_config

    files = {"flow.project": b"azkaban-flow-version: 2.0\n", "main.flow": b"nodes: [\n"}
    (tmp_path / "etl.zip").write_bytes(whole_file_zip(files))
    (tmp_path / "azstate.toml").write_text(
        '[projects.etl]\ndescription = "d"\nsource = "etl.zip"\n'
    )
    with pytest.raises(SourceError) as caught:
        load_config(tmp_path / "azstate.toml")
    assert caught.value.file is not None
    assert caught.value.file.endswith("/etl.zip/main.flow")
    assert caught.value.file.count("etl.zip") == 1


def test_a_zip_source_is_uploaded_from_the_users_file(tmp_path: Path) -> None:
    from azstate.load import load_config

    files = {"flow.project": b"azkaban-flow-version: 2.0\n", "main.flow": FLOW.encode()}
    data = whole_file_zip(files)
    (tmp_path / "etl.zip").write_bytes(data)
    (tmp_path / "azstate.toml").write_text(
        '[projects.etl]\ndescription = "d"\nsource = "etl.zip"\n'
    )
    loaded = load_config(tmp_path / "azstate.toml")
    source = loaded.sources["etl"]
    zipped = loaded.artifacts[source.zip_sha256]
    assert zipped.path == tmp_path / "etl.zip" and not zipped.owned
    assert (zipped.sha256, zipped.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert source.content_digest == content_digest(files)
    assert loaded.flows["etl"].flows == {"main"}
