"""What a files change tells a reviewer, and the names uploads go under."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from azstate.archive import collect_files, content_digest, zip_files
from azstate.views.diffmodel import human_size
from tests.e2e.workspace import ETL, Workspace, flow20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def test_two_projects_with_one_source_each_upload_a_zip_named_after_themselves(
    ws: Workspace,
) -> None:
    ws.write(
        """
        [projects.big-000]
        description = "first"
        source = "src/etl"

        [projects.big-007]
        description = "second"
        source = "src/etl"
        """
    )
    dry = ws.run("apply", "--dry-run", "-c", str(ws.config))
    uploads = [line for line in dry.out.splitlines() if "ajax=upload" in line]
    assert len(uploads) == 2
    for line in uploads:
        project = line.split("project=")[1].split()[0]
        assert f"file={project}.zip" in line, line
    ws.apply()
    sent = {
        e.params["project"]: e.params["file"]
        for e in ws.sandbox.log.snapshot()
        if e.action == "upload"
    }
    assert sent == {"big-000": "big-000.zip", "big-007": "big-007.zip"}
    ws.assert_converged()


def test_a_zip_source_keeps_its_own_name(ws: Workspace) -> None:
    from azstate.archive import build_zip

    flow20(ws.root / "tmp" / "z", {"daily": ["a"]})
    (ws.root / "release-1.2.zip").write_bytes(build_zip(ws.root / "tmp" / "z"))
    ws.write(
        """
        [projects.etl]
        description = "from a zip"
        source = "release-1.2.zip"
        """
    )
    dry = ws.run("apply", "--dry-run", "-c", str(ws.config))
    assert "file=release-1.2.zip" in dry.out


def _downloads(ws: Workspace) -> int:
    return sum(
        1 for e in ws.sandbox.log.snapshot() if e.method == "GET" and "download" in e.params
    )


FILES_BLOCK = [
    "    ~ project.etl.files will be updated in place",
    "      content digest: {old} → {new}",
    "      flows: - hourly, + weekly",
    "      files:",
    "        - hourly.flow: {hourly}",
    "        - old.txt: {old_txt}",
    "        ~ notes.txt: {notes_v1} → {notes_v2}",
    "        + new.txt: {new_txt}",
    "        + weekly.flow: {weekly}",
    "      upload: etl.zip, {size}",
]


def test_a_files_change_lists_the_files_and_flows_it_changes(ws: Workspace) -> None:
    src = ws.root / "src" / "etl"
    ws.write(ETL)
    (src / "notes.txt").write_text("v1\n")
    (src / "old.txt").write_text("bye\n")
    ws.apply()
    old_digest = content_digest(collect_files(src))
    before = {p: sha(d) for p, d in collect_files(src).items()}
    (src / "notes.txt").write_text("v2\n")
    (src / "old.txt").unlink()
    (src / "new.txt").write_text("hi\n")
    flow20(src, {"daily": ["extract", "load"], "weekly": ["report"]})  # hourly goes
    after = {p: sha(d) for p, d in collect_files(src).items()}
    size = len(zip_files(collect_files(src)))
    expected = "\n".join(FILES_BLOCK).format(
        old=old_digest[:12] + "…",
        new=content_digest(collect_files(src))[:12] + "…",
        hourly=before["hourly.flow"],
        old_txt=before["old.txt"],
        notes_v1=before["notes.txt"],
        notes_v2=after["notes.txt"],
        new_txt=after["new.txt"],
        weekly=after["weekly.flow"],
        size=human_size(size),
    )

    ws.sandbox.log.clear()
    first = ws.run("plan", "-c", str(ws.config))
    assert expected in first.out, first.out
    # listed from the digest cache: apply's own check read that version and kept its files
    assert _downloads(ws) == 0

    as_json = json.loads(ws.run("plan", "--format", "json", "-c", str(ws.config)).out)
    (change,) = [c for c in as_json["changes"] if c["address"] == "project.etl.files"]
    assert change["before"]["files"] == {
        "hourly.flow": before["hourly.flow"],
        "notes.txt": before["notes.txt"],
        "old.txt": before["old.txt"],
    }
    assert sorted(change["after"]["files"]) == ["new.txt", "notes.txt", "weekly.flow"]

    ws.apply()
    ws.assert_converged()


def test_a_new_upload_lists_no_files_and_an_unchanged_one_reads_nothing(ws: Workspace) -> None:
    ws.write(ETL)
    created = ws.run("plan", "-c", str(ws.config)).out
    assert "files:" not in created and "flows: daily, hourly" in created
    ws.apply()
    ws.sandbox.log.clear()
    ws.assert_converged()
    reads = {e.action for e in ws.sandbox.log.snapshot()}
    assert "fetchprojectflows" not in reads and _downloads(ws) == 0


def test_an_older_cache_entry_without_files_is_filled_in_once(ws: Workspace) -> None:
    src = ws.root / "src" / "etl"
    ws.write(ETL)
    ws.apply()
    cache = Path(os.environ["AZSTATE_CACHE_DIR"]) / "digests.json"
    entries = json.loads(cache.read_text())
    # as an older azstate wrote it: the digest alone
    cache.write_text(json.dumps({k: v["digest"] for k, v in entries.items()}))
    (src / "extra.txt").write_text("x\n")
    ws.sandbox.log.clear()
    out = ws.run("plan", "-c", str(ws.config)).out
    assert "        + extra.txt: " in out
    assert _downloads(ws) == 1
    assert all(isinstance(v, dict) for v in json.loads(cache.read_text()).values())
