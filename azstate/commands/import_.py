"""azstate import: write an existing server down as configuration and flow sources.

Reads the chosen projects as a plan would, downloads each one's current zip, unpacks it under
DIR/projects/NAME/ and writes DIR/azstate.toml. The plan right after an import is empty; what
the TOML cannot express is reported on stderr and left as a comment, and the file still
validates, so the plan shows exactly what an apply would change about it.
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.markup import escape

from azstate.archive import collect_files, read_zip_safely
from azstate.commands import schema
from azstate.commands.workspace import (
    add_server_args,
    connect,
    consoles,
    parallelism_of,
    progress_for,
)
from azstate.config import DEFAULT_TIMEZONE, ServerConfig, check_timezone
from azstate.errors import AzstateError, SourceError
from azstate.export import export
from azstate.flows import FlowInfo, discover
from azstate.refresh import RefreshScope, refresh
from azstate.state import ProjectState
from azstate.wire.client import AzkabanClient

SCHEMA_FILE = "azstate.schema.json"
NAME = "import"
HELP = "write an existing server down as configuration"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--project", nargs="+", metavar="NAME", help="projects to import")
    which.add_argument("--all", action="store_true", help="import every project")
    parser.add_argument("--out", default=".", metavar="DIR", help="where to write (default: .)")
    parser.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help="the server's default.timezone.id, written to server.timezone",
    )
    add_server_args(parser)


@dataclass
class _Unpacked:
    """One project's files as written under DIR/projects/NAME, and what was found in them."""

    uploaded: bool
    flows: FlowInfo | None = None
    remarks: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    out_console, err = consoles(args)
    try:
        timezone = check_timezone(args.timezone)
    except ValueError as exc:
        raise AzstateError(f"--timezone: {exc}") from None
    server = ServerConfig()
    with connect(args, server, err, where="the environment") as client:
        parallelism = parallelism_of(args, server)
        listing = {p.name.lower(): p for p in client.fetch_all_projects()}
        if args.all:
            chosen = sorted(listing)
        else:
            missing = [n for n in args.project if n.lower() not in listing]
            if missing:
                raise AzstateError("no such project on the server: " + ", ".join(missing))
            chosen = sorted({n.lower() for n in args.project})
        names = {k: listing[k].name for k in chosen}
        declared = {k: ProjectState(name=names[k], permissions={}) for k in chosen}
        with progress_for(err, "Reading the server") as progress:
            live = refresh(
                client, RefreshScope(declared=declared), parallelism=parallelism, progress=progress
            )
        projects = [live.projects[k] for k in chosen if k in live.projects]

        out_dir = Path(args.out)
        (out_dir / "projects").mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=parallelism) as pool:
            unpacked = list(pool.map(lambda p: _unpack(client, p.name, out_dir), projects))
        unmanaged = [_unmanaged(p) for p in projects]

    remarks: dict[tuple[str, str | None], tuple[str, ...]] = {}
    sources: dict[str, str] = {}
    flows: dict[str, FlowInfo] = {}
    for project, files, options in zip(projects, unpacked, unmanaged, strict=True):
        remarks[(project.name, None)] = tuple(files.remarks)
        remarks.update((k, tuple(v)) for k, v in options.items())
        if files.uploaded:
            sources[project.name] = f"projects/{project.name}"
        if files.flows is not None:
            flows[project.name] = files.flows
    result = export(
        projects,
        url=client.url,
        timezone=timezone,
        sources=sources,
        schema=SCHEMA_FILE,
        flows=flows,
        remarks=remarks,
    )
    # The schema goes beside the file, so editors find it wherever the directory is checked out.
    (out_dir / SCHEMA_FILE).write_text(schema.render("config"), encoding="utf-8")
    (out_dir / "azstate.toml").write_text(result.text, encoding="utf-8")
    for note in result.notes:
        err.print(f"[yellow]Note:[/] {escape(note)}", soft_wrap=True)
    out_console.print(
        f"Imported {len(projects)} project(s) into {escape(str(out_dir / 'azstate.toml'))}; "
        f"run `azstate plan -c {escape(str(out_dir))}` to check that nothing would change.",
        soft_wrap=True,
    )
    return 0


def _unpack(client: AzkabanClient, name: str, out_dir: Path) -> _Unpacked:
    """Unpack the project's current zip afresh and find its flows (nothing ever uploaded: no
    directory). What the directory cannot give back exactly becomes a remark."""
    _, version = client.project_version(name)
    target = out_dir / "projects" / name
    if target.exists():
        shutil.rmtree(target)
    if version is None:
        return _Unpacked(uploaded=False)
    files = read_zip_safely(client.download(name, version))
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    target.mkdir(parents=True, exist_ok=True)
    found = _Unpacked(uploaded=True)
    left_out = sorted(set(files) - set(collect_files(target)))
    if left_out:
        found.remarks.append(
            "the upload holds files that azstate never zips from a directory ("
            + ", ".join(left_out)
            + "): the plan will upload the project without them"
        )
    try:
        found.flows = discover(files, origin=f"projects/{name}")
    except SourceError as exc:
        found.remarks.append(
            f"azstate cannot read the flows of the upload ({exc}): fix projects/{name} "
            "before `azstate plan`"
        )
    return found


def _unmanaged(project: ProjectState) -> dict[tuple[str, str | None], list[str]]:
    """Options of each schedule that the TOML cannot hold, as the refresh's fetchSchedule
    named them."""
    if project.ids is None:
        return {}
    return {(project.name, flow): list(names) for flow, names in project.ids.unmanaged.items()}
