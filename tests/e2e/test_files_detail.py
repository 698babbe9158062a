"""What a files change tells a reviewer, and the names uploads go under."""

from __future__ import annotations

from tests.e2e.workspace import Workspace, flow20


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
