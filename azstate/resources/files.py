"""project.NAME.files: the uploaded zip, compared by content digest.

Every upload makes a new project version even for identical bytes, so an upload is planned
only when the content differs or the project is new. The upload also makes the server delete
the schedules of flows that vanish; schedule.py shows those as consequences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azstate.address import Address, Kind
from azstate.archive import (
    ZipData,
    content_digest_from_zip,
    digest_of,
    file_digests,
    read_zip_safely,
    short_digests,
)
from azstate.config import ProjectConfig
from azstate.errors import AzstateError
from azstate.plan import Action, Call, Change, UploadFile
from azstate.resources.reading import Done, Listed, Pending, Reader
from azstate.resources.unit import PROJECT_CREATED, ProjectContext, Unit, by_action, fingerprint
from azstate.snapshot import FilesRead, ProjectSnapshot
from azstate.state import FilesValue, ProjectState, SourceFiles
from azstate.wire import calls
from azstate.wire.client import AzkabanClient
from azstate.wire.replies import ProjectListing


def _shown(files: FilesValue, listed: Mapping[str, str] | None = None) -> FilesValue:
    """The value a change carries: the upload's sha256 is in its call, not in the value; of
    the files, only ``listed`` (those that differ; none for a new upload)."""
    return files.model_copy(update={"zip_sha256": None, "files": listed})


def _differing(
    live: Mapping[str, str], want: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The files an upload removes or changes (live side) and adds or changes (desired side):
    a files change lists these, not the digest alone."""
    paths = sorted(p for p in set(live) | set(want) if live.get(p) != want.get(p))
    return (
        {p: live[p] for p in paths if p in live},
        {p: want[p] for p in paths if p in want},
    )


def _read_files(reader: Reader, item: ProjectListing, wanted: str | None) -> FilesRead:
    """The live upload's digest; when it differs from ``wanted`` (the configuration's), its
    files and flows too. The zip is downloaded only when the cache lacks what is needed."""
    client = reader.client
    _, version = client.project_version(item.name)
    if version is None:
        return FilesRead(version=None, digest=None)
    digest = reader.cached_digest(item, version)
    files = reader.cached_files(item, version)
    if digest is None or (digest != wanted and files is None):
        digests = file_digests(read_zip_safely(client.download(item.name, version)))
        digest, files = digest_of(digests), short_digests(digests)
        reader.remember_digest(item, version, digest, files)
    if digest == wanted:
        return FilesRead(version=version, digest=digest)
    flows = frozenset(client.fetch_project_flows(item.name))
    return FilesRead(version=version, digest=digest, files=files, flows=flows)


class FilesUnit(Unit):
    kind = Kind.FILES
    value_type = FilesValue
    phases = by_action(10)
    needs = (PROJECT_CREATED,)
    state_fields = ("files",)

    def desired(self, project: ProjectConfig, source: SourceFiles | None) -> Mapping[str, Any]:
        if source is None:
            return {"files": None}
        return {
            "files": FilesValue(
                digest=source.content_digest,
                flows=source.flows,
                zip_name=source.zip_name,
                zip_size=source.zip_size,
                zip_sha256=source.zip_sha256,
                files=source.file_digests,
            )
        }

    def read(self, reader: Reader, listed: Listed) -> Mapping[str, Pending[Any]]:
        """Only for declared projects with sources; a version's content never changes, so the
        zip is downloaded only when the cache has no digest for it."""
        if listed.desired is None or listed.desired.files is None:
            return {}
        item = listed.item
        wanted = listed.desired.files.digest
        address = Address.files(item.name)
        if not listed.reading(address):  # not changed by this apply
            return {"files": Done(FilesRead(version=None, digest=wanted))}
        return {"files": reader.submit(address, _read_files, reader, item, wanted)}

    def live(self, snapshot: ProjectSnapshot) -> Mapping[str, Any]:
        read = snapshot.files
        if read is None:
            return {"files": None}
        return {"files": FilesValue(digest=read.digest, flows=read.flows, files=read.files)}

    def plan(self, ctx: ProjectContext) -> list[Change]:
        if ctx.desired is None or ctx.desired.files is None or not ctx.uploading:
            return []
        want = ctx.desired.files
        assert want.zip_name and want.zip_sha256 and want.zip_size is not None
        upload = UploadFile(name=want.zip_name, size=want.zip_size, sha256=want.zip_sha256)
        call = calls.upload(ctx.name, upload)
        live = ctx.live.files if ctx.live else None
        ids = ctx.live.ids if ctx.live else None
        extra = [ids.project_id if ids else None, ids.version if ids else None]
        addr = Address.files(ctx.name)
        if live is None or live.digest is None:
            before = None if ctx.live is None else FilesValue(digest=None)
            return [
                ctx.change(
                    addr, Action.CREATE, before, _shown(want), (call,), fingerprint_extra=extra
                )
            ]
        removed, added = (
            _differing(live.files, want.files or {}) if live.files is not None else (None, None)
        )
        return [
            ctx.change(
                addr,
                Action.UPDATE,
                live.model_copy(update={"files": removed}),
                _shown(want, added),
                (call,),
                reason="every upload creates a new project version",
                fingerprint_extra=extra,
            )
        ]

    def verify_reads(self, change: Change, desired: ProjectState | None) -> frozenset[Address]:
        """The upload, and the project's schedules with their SLAs: the server removes those
        of flows that vanished (trap 13) and re-applies flow locks to the others."""
        name = change.address.project
        out = {change.address}
        if desired is not None:
            out.update(Address.schedule(name, flow) for flow in desired.schedules)
            out.update(Address.sla(name, flow) for flow in desired.slas)
        return frozenset(out)

    def value_from_json(self, data: Mapping[str, Any]) -> FilesValue:
        return FilesValue.from_plan_json(data)

    def origin_fields(self, change: Change) -> list[str]:
        """The content is what differs; flows and the zip's name are the desired side's only."""
        return ["digest"]

    def happened(
        self, client: AzkabanClient, change: Change, call: Call, data: ZipData | None
    ) -> bool:
        """Done when the project moved past the version the plan saw (the change's
        fingerprint holds it) to our content; still at that version: not seen yet. A version
        that moved to other content means someone else uploaded meanwhile: said at once.
        """
        assert data is not None
        project = change.address.project
        project_id, version = client.project_version(project)
        if version is None:
            return False
        if change.fingerprint == fingerprint(change.before_json, [project_id, version]):
            return False
        if content_digest_from_zip(client.download(project, version)) == (
            content_digest_from_zip(data)
        ):
            return True
        raise AzstateError(
            f"project {project} moved to version {version} with other files while the reply "
            "was lost (another upload?); not uploaded again: run plan to see the server now"
        )


UNIT = FilesUnit()
