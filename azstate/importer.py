"""Writing a server down as a directory: each project's zip unpacked, then azstate.toml.

The import command reads the server (refresh) and wires this in; this module owns what lands
on disk: DIR/projects/NAME/ afresh from the project's current upload, remarks about what the
directory cannot give back exactly, the configuration's JSON Schema beside the file, and the
TOML that export() writes. The plan right after an import is empty except for those remarks.

Import never overwrites a configuration silently: a DIR that already holds one is refused,
unless --force (the file is written anew, and each imported project's directory replaced
wholesale) or --merge (the imported projects' tables are appended to DIR/azstate.toml, whose
text is left as it is, and a project it already declares is refused).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from azstate.archive import collect_files, read_zip_safely
from azstate.errors import AzstateError, SourceError
from azstate.export import Exported, export
from azstate.flows import FlowInfo, discover
from azstate.load import load_config
from azstate.private import make_dirs, write_file
from azstate.state import ProjectState
from azstate.wire.client import AzkabanClient

CONFIG_FILE = "azstate.toml"
SCHEMA_FILE = "azstate.schema.json"


@dataclass(frozen=True)
class Destination:
    """Where import writes, and how: anew, or appended to the configuration already there."""

    out_dir: Path
    merge: bool = False
    declared: frozenset[str] = frozenset()  # lower-cased project names DIR already declares

    @property
    def config(self) -> Path:
        return self.out_dir / CONFIG_FILE

    def check_new(self, names: Sequence[str]) -> None:
        """Refuse, before anything is written, to append a project the file already has."""
        taken = sorted(n for n in names if n.lower() in self.declared)
        if taken:
            raise AzstateError(
                f"{self.out_dir}: the configuration already declares "
                + ", ".join(taken)
                + "; --merge only adds projects it does not declare"
            )


def destination(out_dir: Path, *, force: bool = False, merge: bool = False) -> Destination:
    """Where import may write; refuses a DIR holding a configuration unless told what to do.

    Checked before the server is read: a refused import has read and written nothing.
    """
    held = sorted(out_dir.glob("*.toml")) if out_dir.is_dir() else []
    if merge:
        if not (out_dir / CONFIG_FILE).is_file():
            raise AzstateError(
                f"{out_dir / CONFIG_FILE}: no configuration to merge into "
                "(import without --merge writes it)"
            )
        # A broken file is refused, naming its file and line; a variable with no value does not
        # matter here: project names are table keys, never interpolated.
        loaded = load_config(out_dir, require_values=False)
        return Destination(out_dir, True, frozenset(n.lower() for n in loaded.config.projects))
    if held and not force:
        raise AzstateError(
            f"{out_dir} already holds a configuration ({held[0].name}): import would overwrite "
            "it; --merge adds the imported projects to it, --force replaces it"
        )
    return Destination(out_dir)


@dataclass
class Unpacked:
    """One project's files as written under DIR/projects/NAME, and what was found in them."""

    uploaded: bool
    flows: FlowInfo | None = None
    remarks: list[str] = field(default_factory=list)


def unpack_all(
    client: AzkabanClient, projects: Sequence[ProjectState], out_dir: Path, *, parallelism: int
) -> list[Unpacked]:
    """Every project's current upload unpacked under out_dir/projects, in the given order."""
    make_dirs(out_dir / "projects")
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        return list(pool.map(lambda p: unpack(client, p.name, out_dir), projects))


def unpack(client: AzkabanClient, name: str, out_dir: Path) -> Unpacked:
    """Unpack the project's current zip afresh and find its flows (nothing ever uploaded: no
    directory). What the directory cannot give back exactly becomes a remark."""
    _, version = client.project_version(name)
    target = out_dir / "projects" / name
    if target.exists():
        shutil.rmtree(target)
    if version is None:
        return Unpacked(uploaded=False)
    files = read_zip_safely(client.download(name, version))
    for rel, data in files.items():
        write_file(target / rel, data)
    make_dirs(target)
    found = Unpacked(uploaded=True)
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


def write_config(
    where: Destination,
    projects: Sequence[ProjectState],
    unpacked: Sequence[Unpacked],
    *,
    url: str,
    timezone: str,
    schema_text: str,
) -> Exported:
    """Write out_dir/azstate.toml and its schema, or append the projects' tables to the file
    (merge); the notes say what the TOML cannot hold."""
    remarks: dict[tuple[str, str | None], tuple[str, ...]] = {}
    cron_notes: dict[tuple[str, str], str] = {}
    sources: dict[str, str] = {}
    flows: dict[str, FlowInfo] = {}
    for project, files in zip(projects, unpacked, strict=True):
        remarks[(project.name, None)] = tuple(files.remarks)
        remarks.update((k, tuple(v)) for k, v in _unmanaged(project).items())
        if project.ids is not None:
            cron_notes.update(((project.name, f), n) for f, n in project.ids.cron_notes.items())
        if files.uploaded:
            sources[project.name] = f"projects/{project.name}"
        if files.flows is not None:
            flows[project.name] = files.flows
    result = export(
        projects, url=url, timezone=timezone, sources=sources, schema=SCHEMA_FILE,
        flows=flows, remarks=remarks, cron_notes=cron_notes,
    )
    if where.merge:
        _append(where.config, _project_tables(result.text))
        return result
    # The schema goes beside the file, so editors find it wherever the directory is checked out.
    write_file(where.out_dir / SCHEMA_FILE, schema_text)
    write_file(where.config, result.text)
    return result


def _project_tables(text: str) -> str:
    """The exported text from the first project table on: the file merged into keeps its own
    schema line, header and [server] table. export() starts each project at its own header."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.startswith("[projects.")), len(lines))
    return "\n".join(lines[first:])


def _append(config: Path, tables: str) -> None:
    """Add the tables after the file's last byte; nothing before it is rewritten."""
    if not tables.strip():
        return
    held = config.read_bytes()
    gap = "\n" if held.endswith(b"\n") or not held else "\n\n"
    with config.open("ab") as file:
        file.write((gap + tables).encode("utf-8"))



def _unmanaged(project: ProjectState) -> dict[tuple[str, str | None], list[str]]:
    """Options of each schedule that the TOML cannot hold, as the refresh's fetchSchedule
    named them."""
    if project.ids is None:
        return {}
    return {(project.name, flow): list(names) for flow, names in project.ids.unmanaged.items()}
