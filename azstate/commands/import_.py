"""azstate import: write an existing server down as configuration and flow sources.

Reads the chosen projects as a plan would, downloads each one's current zip, unpacks it under
DIR/projects/NAME/ and writes DIR/azstate.toml. The plan right after an import is empty; what
the TOML cannot express is reported on stderr and left as a comment.
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azstate.archive import read_zip_safely
from azstate.commands import schema
from azstate.commands.workspace import add_server_args, connect, consoles, parallelism_of
from azstate.config import ServerConfig
from azstate.errors import AzstateError
from azstate.export import export
from azstate.refresh import RefreshScope, refresh
from azstate.state import FilesValue, ProjectState
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
        default="America/Los_Angeles",
        help="the server's default.timezone.id, written to server.timezone",
    )
    add_server_args(parser)


def run(args: argparse.Namespace) -> int:
    out_console, err = consoles(args)
    server = ServerConfig()
    client = connect(args, server, err, where="the environment")
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
    scope = RefreshScope(declared={k: ProjectState(name=names[k], permissions={}) for k in chosen})
    live = refresh(client, scope, parallelism=parallelism)

    out_dir = Path(args.out)
    (out_dir / "projects").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        unpacked = dict(
            zip(chosen, pool.map(lambda k: _unpack(client, names[k], out_dir), chosen), strict=True)
        )
    sources = {names[k]: f"projects/{names[k]}" for k in chosen if unpacked[k]}
    projects = [
        live.projects[k].model_copy(
            update={"files": FilesValue(digest=None) if unpacked[k] else None}
        )
        for k in chosen
        if k in live.projects
    ]
    # The schema goes beside the file, so editors find it wherever the directory is checked out.
    (out_dir / SCHEMA_FILE).write_text(schema.render("config"), encoding="utf-8")
    result = export(
        projects, url=client.url, timezone=args.timezone, sources=sources, schema=SCHEMA_FILE
    )
    (out_dir / "azstate.toml").write_text(result.text, encoding="utf-8")
    for note in result.notes:
        err.print(f"[yellow]Note:[/] {note}")
    out_console.print(
        f"Imported {len(projects)} project(s) into {out_dir / 'azstate.toml'}; "
        f"run `azstate plan -c {out_dir}` to check that nothing would change."
    )
    return 0


def _unpack(client: AzkabanClient, name: str, out_dir: Path) -> bool:
    """Unpack the project's current zip; False when nothing was ever uploaded."""
    _, version = client.project_version(name)
    target = out_dir / "projects" / name
    if target.exists():
        shutil.rmtree(target)
    if version is None:
        return False
    files = read_zip_safely(client.download(name, version))
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    target.mkdir(parents=True, exist_ok=True)
    return True
