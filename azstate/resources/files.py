"""project.NAME.files: the uploaded zip, compared by content digest.

Every upload makes a new project version even for identical bytes, so an upload is planned
only when the content differs or the project is new. The upload also makes the server delete
the schedules of flows that vanish; schedule.py shows those as consequences.
"""

from __future__ import annotations

from typing import Any

from azstate.address import Address
from azstate.plan import Action, Change, UploadFile
from azstate.resources import ProjectContext
from azstate.state import FilesValue
from azstate.wire import calls


def _value(files: FilesValue | None) -> dict[str, Any] | None:
    if files is None:
        return None
    out: dict[str, Any] = {"digest": files.digest}
    if files.flows is not None:
        out["flows"] = sorted(files.flows)
    if files.zip_name:
        out["zip"] = files.zip_name
        out["size"] = files.zip_size
    return out


def plan(ctx: ProjectContext) -> list[Change]:
    if ctx.desired is None or ctx.desired.files is None or not ctx.uploading:
        return []
    want = ctx.desired.files
    assert want.zip_name and want.zip_sha256 and want.zip_size is not None
    upload = UploadFile(name=want.zip_name, size=want.zip_size, sha256=want.zip_sha256)
    call = calls.upload(ctx.name, upload)
    live = ctx.live.files if ctx.live else None
    ids = ctx.live.ids if ctx.live else None
    version = ids.version if ids else None
    addr = Address.files(ctx.name)
    if live is None or live.digest is None:
        before = None if ctx.live is None else {"digest": None}
        return [
            ctx.change(
                addr,
                Action.CREATE,
                before,
                _value(want),
                (call,),
                fingerprint_extra=[ids.project_id if ids else None, version],
            )
        ]
    return [
        ctx.change(
            addr,
            Action.UPDATE,
            _value(live),
            _value(want),
            (call,),
            reason="every upload creates a new project version",
            fingerprint_extra=[ids.project_id if ids else None, version],
        )
    ]
