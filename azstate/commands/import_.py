"""azstate import: write an existing server down as configuration and flow sources.

Reads the chosen projects as a plan would, then importer.py unpacks each one's current zip
under DIR/projects/NAME/ and writes DIR/azstate.toml. The plan right after an import is empty;
what the TOML cannot express is reported on stderr and left as a comment, and the file still
validates, so the plan shows exactly what an apply would change about it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from azstate import importer
from azstate.commands import schema
from azstate.commands.options import Options, add_server_args
from azstate.commands.progress import progress_for
from azstate.commands.workspace import connect, consoles, parallelism_of
from azstate.config import DEFAULT_TIMEZONE, ServerConfig, check_timezone
from azstate.errors import AzstateError
from azstate.refresh import RefreshScope, read
from azstate.resources import live_state
from azstate.state import ProjectState
from azstate.views.counts import count
from azstate.views.neutral import for_text
from azstate.views.theme import THEME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--project",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="projects to import (repeatable)",
    )
    which.add_argument("--all", action="store_true", help="import every project")
    parser.add_argument("--out", default=".", metavar="DIR", help="where to write (default: .)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--merge",
        action="store_true",
        help="add the projects to the configuration already in DIR, leaving its text as it is",
    )
    existing.add_argument(
        "--force",
        action="store_true",
        help="replace the configuration already in DIR, and each imported project's directory",
    )
    parser.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help="the server's default.timezone.id, written to server.timezone",
    )
    add_server_args(parser)


def run(args: argparse.Namespace) -> int:
    options = Options.from_args(args)
    out_console, err = consoles(options)
    try:
        timezone = check_timezone(args.timezone)
    except ValueError as exc:
        raise AzstateError(f"--timezone: {exc}") from None
    server = ServerConfig()
    out_dir = Path(args.out)
    where = importer.destination(out_dir, force=args.force, merge=args.merge)
    with connect(options, server, err, where="the environment", near=out_dir) as client:
        parallelism = parallelism_of(options, server)
        listing = {p.name.lower(): p for p in client.fetch_all_projects()}
        if args.all:
            chosen = sorted(listing)
        else:
            missing = [n for n in args.project if n.lower() not in listing]
            if missing:
                raise AzstateError("no such project on the server: " + ", ".join(missing))
            chosen = sorted({n.lower() for n in args.project})
        where.check_new([listing[k].name for k in chosen])
        declared = {k: ProjectState(name=listing[k].name, permissions={}) for k in chosen}
        with progress_for(err, "Reading the server", client=client) as progress:
            live = live_state(
                read(
                    client,
                    RefreshScope(declared=declared),
                    parallelism=parallelism,
                    progress=progress,
                )
            )
        projects = [live.projects[k] for k in chosen if k in live.projects]
        unpacked = importer.unpack_all(client, projects, out_dir, parallelism=parallelism)

    result = importer.write_config(
        where,
        projects,
        unpacked,
        url=client.url,
        timezone=timezone,
        schema_text=schema.render("config"),
    )
    with err.use_theme(THEME):
        for note in result.notes:
            err.print(Text.assemble(("Note:", "note"), " ", for_text(note)), soft_wrap=True)
    config = for_text(str(where.config))
    plan = f"azstate plan -c {for_text(str(out_dir))}" + (" --sandbox" if options.sandbox else "")
    out_console.print(
        Text(
            f"Imported {count(len(projects), 'project')} into {config}; "
            f"run `{plan}` to check that nothing would change."
        ),
        soft_wrap=True,
    )
    return 0
