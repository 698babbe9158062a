"""Flow discovery: the flows and jobs Azkaban will find in a project's files, or why it refuses.

This follows the server's upload parser (azkaban-api.md section 8) so that a source Azkaban
would reject is rejected here first, offline, with the file named and the server's own message
where it has a useful one. The loader is chosen as FlowLoaderFactory does: a ``*.project`` file
whose ``azkaban-flow-version`` is the YAML float 2.0 selects Flow 2.0 (one flow per ``.flow``
file, named after the file); otherwise Flow 1.0 (``.job`` files; the flows are the jobs no
other job depends on, named after that job).

Files count as the loaders' file filter (FlowLoaderUtils.SuffixFilter, azkaban-api.md section 8
"File filters") counts them: a ``.job``, ``.properties``, ``.flow`` or ``.project`` file whose
name starts with a dot is hidden and ignored, as is a name that is only the suffix; directories
are walked whatever their names. Only files that reach the zip are looked at (archive.py leaves
out ``.git`` and the like), so what is found here is what the server finds.

Job names, as schedules and SLAs use them: every node at the top of a flow by its name, and
every job inside an embedded flow by the path Azkaban gives it in an execution,
``embedded:job`` (``a:b:c`` deeper down). SLA job rules look jobs up by that path. Azkaban
disables jobs given as plain names at the top of the flow only, so ``top_jobs`` lists those.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from azstate.errors import SourceError

FLOW_VERSION_KEY = "azkaban-flow-version"
_NODE_KEYS = frozenset({"name", "config", "dependsOn", "type", "condition", "nodes", "trigger"})
_INVALID_NODES = (
    "Failed to validate nodeBean for {file}. Duplicate nodes found or dependency undefined or "
    "ROOT used as a name."
)
_CONDITION_OPERATORS = re.compile(r"&&|\|\||==|!=|>=|<=|>|<")
_CONDITION_ON_STATUS = re.compile(r"(?i)(all_success|all_failed|all_done|one_failed|one_success)")
_LITERAL = re.compile(r"\d+|'.*'|\".*\"")
_VARIABLE = re.compile(r"\$\{([^:{}]+):([^:{}]+)\}")
_MAX_ERRORS = 10
_MAX_DEPTH = 32


@dataclass(frozen=True)
class FlowInfo:
    """What a project source holds, as the server will see it after an upload."""

    version: Literal["1.0", "2.0"]
    flows: frozenset[str]
    jobs: Mapping[str, frozenset[str]]  # flow -> its job names, embedded jobs as "parent:job"
    top_jobs: Mapping[str, frozenset[str]] = field(default_factory=dict)  # disable-able jobs
    triggered: frozenset[str] = frozenset()  # flows with a trigger: Azkaban refuses cron on them
    warnings: tuple[str, ...] = ()


def discover(files: Mapping[str, bytes], *, origin: str) -> FlowInfo:
    """The flows in a project's files (relative POSIX paths), or a SourceError naming the file.

    ``origin`` is how the user knows the source (its directory or zip path); file names in
    errors are given under it.
    """
    errors = _Errors(origin)
    project = _find_project_file(files, errors)
    errors.raise_if_any()
    loader = _Flow20(files, errors) if project is not None else _Flow10(files, errors)
    info = loader.load()
    errors.raise_if_any()
    return info


class _Errors:
    """Every problem found, in the order found; the first is the one the user sees first."""

    def __init__(self, origin: str) -> None:
        self.origin = origin.rstrip("/")
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((f"{self.origin}/{path}" if self.origin else path, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        (file, message), rest = self.items[0], self.items[1:]
        lines = [f"{f}: {m}" for f, m in rest[: _MAX_ERRORS - 1]]
        if len(rest) > _MAX_ERRORS - 1:
            lines.append(f"... and {len(rest) - _MAX_ERRORS + 1} more")
        more = "".join(f"\n  {line}" for line in lines)
        raise SourceError(f"{message}{more}", file=file)


def _children(files: Iterable[str], directory: str) -> tuple[list[str], list[str]]:
    """Files and sub-directories directly inside ``directory`` ("" is the root), sorted."""
    prefix = f"{directory}/" if directory else ""
    found: set[str] = set()
    dirs: set[str] = set()
    for path in files:
        if not path.startswith(prefix):
            continue
        head, sep, _ = path[len(prefix) :].partition("/")
        (dirs if sep else found).add(prefix + head)
    return sorted(found), sorted(dirs)


def _walk(files: Mapping[str, bytes], directory: str = "") -> Iterable[tuple[str, list[str]]]:
    """(directory, its files) top-down, sorted, as the server's loaders walk a project."""
    here, subdirs = _children(files, directory)
    yield directory, here
    for sub in subdirs:
        yield from _walk(files, sub)


def _counts(path: str, suffix: str) -> bool:
    """The loaders' file filter: the suffix, a longer name, not hidden (a dot first)."""
    name = posixpath.basename(path)
    return name.endswith(suffix) and len(name) > len(suffix) and not name.startswith(".")


_LOADER_SUFFIXES = (".job", ".properties", ".flow", ".project")


def _hidden_warning(files: Iterable[str]) -> tuple[str, ...]:
    """A hidden file a loader would read if it were not hidden is a likely mistake: say so."""
    hidden = sorted(
        path
        for path in files
        if posixpath.basename(path).startswith(".")
        and any(path.endswith(suffix) for suffix in _LOADER_SUFFIXES)
    )
    if not hidden:
        return ()
    listed = ", ".join(hidden[:_MAX_ERRORS]) + (" ..." if len(hidden) > _MAX_ERRORS else "")
    return (
        f"Azkaban ignores files whose names start with a dot, so these define nothing: {listed}",
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _find_project_file(files: Mapping[str, bytes], errors: _Errors) -> str | None:
    """FlowLoaderFactory: ``*.project`` at the root, else the first directory below that has one."""

    def search(directory: str) -> str | None:
        here, subdirs = _children(files, directory)
        projects = [p for p in here if _counts(p, ".project")]
        if len(projects) > 1:
            errors.add(
                projects[1],
                "Duplicate project YAML files found in the project directory. Only one is "
                f"allowed (also {posixpath.basename(projects[0])}).",
            )
            return projects[0]
        if projects:
            _check_project_file(projects[0], files[projects[0]], errors)
            return projects[0]
        for sub in subdirs:
            found = search(sub)
            if found is not None:
                return found
        return None

    return search("")


class _YamlProblem(Exception):
    """A YAML text that does not parse; the message names the problem, line and column."""


def _safe_load(text: str) -> Any:
    """yaml.safe_load through libyaml when PyYAML has it, ten times faster on a big fleet; a
    file it refuses is read again by the pure-Python loader, whose messages are clearer.
    PyYAML is imported here, not with the module: it costs a plan 20 ms, and a plan whose
    flow discovery comes from the build cache parses no YAML at all."""
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or exc)
        if mark is not None:
            problem += f" (line {mark.line + 1}, column {mark.column + 1})"
        raise _YamlProblem(problem) from exc


def _check_project_file(path: str, data: bytes, errors: _Errors) -> None:
    try:
        document = _safe_load(_text(data))
    except _YamlProblem as exc:
        errors.add(path, f"not valid YAML: {exc}")
        return
    if not isinstance(document, dict) or FLOW_VERSION_KEY not in document:
        errors.add(
            path,
            "azkaban-flow-version is not specified in the project YAML file. "
            "Write: azkaban-flow-version: 2.0",
        )
        return
    version = document[FLOW_VERSION_KEY]
    if not (isinstance(version, float) and version == 2.0):
        errors.add(
            path,
            f"Invalid azkaban-flow-version in the project YAML file: {version!r}; "
            'Azkaban needs the number 2.0 (not 2, not "2.0")',
        )


# Flow 2.0 ---------------------------------------------------------------------------------


class _NodeError(Exception):
    """A problem inside one .flow file, reported as the server does: "Error loading flow..."."""


class _Flow20:
    """DirectoryYamlFlowLoader and NodeBeanLoader: one flow per .flow file, anywhere."""

    def __init__(self, files: Mapping[str, bytes], errors: _Errors) -> None:
        self.files = files
        self.errors = errors
        self.flows: set[str] = set()
        self.jobs: dict[str, frozenset[str]] = {}
        self.top_jobs: dict[str, frozenset[str]] = {}
        self.triggered: set[str] = set()
        self.seen: dict[str, str] = {}

    def load(self) -> FlowInfo:
        for _, here in _walk(self.files):
            for path in here:
                if _counts(path, ".flow"):
                    self._load(path)
        warnings = list(_hidden_warning(self.files))
        if not self.flows and not self.errors.items:
            warnings.append(
                "no .flow files: Azkaban will find no flows, and uploading deletes every "
                "schedule of the project"
            )
        return FlowInfo(
            version="2.0",
            flows=frozenset(self.flows),
            jobs=self.jobs,
            top_jobs=self.top_jobs,
            triggered=frozenset(self.triggered),
            warnings=tuple(warnings),
        )

    def _load(self, path: str) -> None:
        file = posixpath.basename(path)
        flow_id = file[: -len(".flow")]
        try:
            try:
                document = _safe_load(_text(self.files[path]))
            except _YamlProblem as exc:
                raise _NodeError(str(exc)) from exc
            if document is None:
                raise _NodeError(f"Failed to load flow file {file}. Node bean is null .")
            bean = _bean(document, "the flow")
            if bean.get("nodes") is None:
                raise _NodeError('the flow has no "nodes" list')
        except _NodeError as exc:
            self.errors.add(path, f"Error loading flow yaml file {file}: {exc}")
            return
        if not _valid_level(bean["nodes"]):
            self.errors.add(path, _INVALID_NODES.format(file=file) + _level_detail(bean["nodes"]))
            return
        if flow_id in self.seen:
            self.errors.add(
                path,
                f"Duplicate flows found in the project with name {flow_id} "
                f"(also {self.seen[flow_id]})",
            )
            return
        self.seen[flow_id] = path
        before = len(self.errors.items)
        jobs = self._nodes(bean["nodes"], path, file, prefix="")
        if len(self.errors.items) > before:
            return
        self.flows.add(flow_id)
        self.jobs[flow_id] = frozenset(jobs)
        self.top_jobs[flow_id] = frozenset(str(n["name"]) for n in bean["nodes"])
        if bean.get("trigger") is not None:
            self.triggered.add(flow_id)

    def _nodes(
        self, nodes: list[dict[str, Any]], path: str, file: str, *, prefix: str
    ) -> list[str]:
        """Check one level of nodes (and the embedded flows below it); return their job paths."""
        by_name = {str(n["name"]): n for n in nodes}
        jobs: list[str] = []
        for name, node in by_name.items():
            jobs.append(prefix + name)
            if node.get("type") is None:
                self.errors.add(
                    path, f"Error loading flow yaml file {file}: node '{name}' has no type"
                )
                continue
            for problem in _condition_problems(name, node.get("condition"), by_name):
                self.errors.add(path, f"Invalid condition for {name}: {problem}")
            if node["type"] == "flow":
                inner = node.get("nodes")
                if inner is None:
                    self.errors.add(
                        path,
                        f"Error loading flow yaml file {file}: embedded flow '{name}' has no "
                        '"nodes" list',
                    )
                    continue
                if not _valid_level(inner):
                    self.errors.add(
                        path,
                        _INVALID_NODES.format(file=file)
                        + _level_detail(inner, where=f" in embedded flow '{name}'"),
                    )
                    continue
                jobs.extend(self._nodes(inner, path, file, prefix=f"{prefix}{name}:"))
        for cycle in _cycles(by_name):
            self.errors.add(path, f"Cycles found at {cycle}")
        return jobs


def _bean(document: object, what: str, depth: int = 0) -> dict[str, Any]:
    """A NodeBean as Jackson/SnakeYAML would build it, with the same refusals."""
    if depth > _MAX_DEPTH:
        raise _NodeError(f"embedded flows nested more than {_MAX_DEPTH} deep")
    if not isinstance(document, dict):
        raise _NodeError(f"{what} must be a YAML mapping (name, type, config, dependsOn, nodes)")
    for key in document:
        if key not in _NODE_KEYS:
            raise _NodeError(
                f"Cannot create property={key} for JavaBean=azkaban.project.NodeBean "
                f"(in {what}; allowed: {', '.join(sorted(_NODE_KEYS))})"
            )
    bean: dict[str, Any] = dict(document)
    for key in ("name", "type", "condition"):
        if bean.get(key) is not None:
            if isinstance(bean[key], dict | list):
                raise _NodeError(f"'{key}' of {what} must be a single value")
            bean[key] = _java_string(bean[key])
    if bean.get("config") is not None:
        if not isinstance(bean["config"], dict):
            raise _NodeError(f"'config' of {what} must be a mapping of properties")
        bean["config"] = {_java_string(k): _java_string(v) for k, v in bean["config"].items()}
    if bean.get("dependsOn") is not None:
        if not isinstance(bean["dependsOn"], list):
            raise _NodeError(f"'dependsOn' of {what} must be a list of node names")
        bean["dependsOn"] = [_java_string(d) for d in bean["dependsOn"]]
    if bean.get("nodes") is not None:
        if not isinstance(bean["nodes"], list):
            raise _NodeError(f"'nodes' of {what} must be a list")
        nodes = []
        for index, node in enumerate(bean["nodes"]):
            label = f"node {index + 1}"
            if isinstance(node, dict) and node.get("name") is not None:
                label = f"node '{_java_string(node['name'])}'"
            checked = _bean(node, label, depth + 1)
            if checked.get("name") is None:
                raise _NodeError(f"{label} has no name")
            nodes.append(checked)
        bean["nodes"] = nodes
    return bean


def _java_string(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def _valid_level(nodes: list[dict[str, Any]]) -> bool:
    """NodeBeanLoader.validate: unique names, every dependsOn defined, no ROOT."""
    names = [str(n["name"]) for n in nodes]
    if len(set(names)) != len(names) or "ROOT" in names:
        return False
    return all(set(n.get("dependsOn") or ()) <= set(names) for n in nodes)


def _level_detail(nodes: list[dict[str, Any]], where: str = "") -> str:
    """Which of the three the server lumps together it actually is."""
    names = [str(n["name"]) for n in nodes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        return f" (node '{duplicates[0]}' appears twice{where})"
    if "ROOT" in names:
        return f" (a node is named ROOT{where})"
    for node in nodes:
        for dep in node.get("dependsOn") or ():
            if dep not in names:
                return f" (node '{node['name']}' depends on '{dep}', which is not defined{where})"
    return ""


def _cycles(by_name: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every back edge, as the server names it: ``parent>>child``."""
    found: list[str] = []
    on_stack: set[str] = set()
    visited: set[str] = set()

    def visit(name: str) -> None:
        visited.add(name)
        on_stack.add(name)
        for parent in by_name[name].get("dependsOn") or ():
            if parent not in by_name:
                continue
            if parent in on_stack:
                found.append(f"{parent}>>{name}")
            elif parent not in visited:
                visit(parent)
        on_stack.discard(name)

    for name in by_name:
        if name not in visited:
            visit(name)
    return found


def _condition_problems(
    name: str, condition: str | None, by_name: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The server's condition checks: ``${job:param}`` operands, one status macro at most."""
    if condition is None:
        return []
    problems: list[str] = []
    stripped = re.sub(r"\s+|\(|\)", "", condition)
    status_seen = False
    for operand in _CONDITION_OPERATORS.split(stripped):
        if _CONDITION_ON_STATUS.fullmatch(operand):
            if status_seen:
                problems.append("cannot combine more than one conditionOnJobStatus macros.")
            status_seen = True
            continue
        operand = operand.removeprefix("!")
        if operand == "":
            problems.append("operand is an empty string.")
        elif not _LITERAL.fullmatch(operand):
            match = _VARIABLE.fullmatch(operand)
            if match is None:
                problems.append(
                    "cannot resolve the condition. Please check the syntax for supported "
                    "conditions."
                )
            elif match.group(1) not in by_name:
                problems.append(f"{match.group(1)} doesn't exist in the flow.")
            elif _depends_on(by_name, match.group(1), name):
                problems.append(
                    f"should not define condition on its descendant node {match.group(1)}."
                )
    return problems


def _depends_on(by_name: Mapping[str, Mapping[str, Any]], start: str, target: str) -> bool:
    seen: set[str] = set()
    stack = [start]
    while stack:
        current = stack.pop()
        if current in seen or current not in by_name:
            continue
        seen.add(current)
        parents = by_name[current].get("dependsOn") or ()
        if target in parents:
            return True
        stack.extend(parents)
    return False


# Flow 1.0 ---------------------------------------------------------------------------------


@dataclass
class _Props:
    """java.util.Properties with Azkaban's parent chain (``.properties`` files above a job)."""

    local: dict[str, str]
    parent: _Props | None = None

    def get(self, key: str) -> str | None:
        if key in self.local:
            return self.local[key]
        return self.parent.get(key) if self.parent is not None else None


class _Flow10:
    """DirectoryFlowLoader: jobs from ``.job`` files, flows from the dependency graph."""

    def __init__(self, files: Mapping[str, bytes], errors: _Errors) -> None:
        self.files = files
        self.errors = errors
        self.props: dict[str, _Props] = {}
        self.paths: dict[str, str] = {}
        self.duplicates: set[str] = set()
        self.roots: set[str] = set()
        self.edges: dict[str, list[str]] = {}

    def load(self) -> FlowInfo:
        self._read_jobs("", None)
        self._resolve()
        depended = {d for deps in self.edges.values() for d in deps}
        flows = sorted(j for j in self.props if j not in depended or j in self.roots)
        self._find_cycles(flows)
        if self.errors.items:
            return FlowInfo(version="1.0", flows=frozenset(), jobs={})
        members = {flow: self._members(flow) for flow in flows}
        self._check_embedded(flows, members)
        jobs = {flow: frozenset(self._job_paths(flow, members, ())) for flow in flows}
        warnings = list(_hidden_warning(self.files))
        orphans = set(self.props) - {job for flow in flows for job in members[flow]}
        if orphans:
            warnings.append(
                f"jobs {', '.join(sorted(orphans))} belong to no flow (they depend on each other "
                "in a ring, so none is a final job); Azkaban ignores them"
            )
        if not flows and not self.errors.items:
            flow_files = sorted(p for p in self.files if _counts(p, ".flow"))
            hint = (
                f" ({flow_files[0]} is ignored: Flow 2.0 needs a .project file holding "
                "'azkaban-flow-version: 2.0')"
                if flow_files
                else ""
            )
            warnings.append(
                f"no .job files: Azkaban will find no flows, and uploading deletes every "
                f"schedule of the project{hint}"
            )
        return FlowInfo(
            version="1.0",
            flows=frozenset(flows),
            jobs=jobs,
            top_jobs={flow: frozenset(members[flow]) for flow in flows},
            warnings=tuple(warnings),
        )

    def _read_jobs(self, directory: str, parent: _Props | None) -> None:
        here, subdirs = _children(self.files, directory)
        for path in here:
            if _counts(path, ".properties"):
                parent = _Props(parse_properties(self.files[path].decode("latin-1")), parent)
        for path in here:
            if not _counts(path, ".job"):
                continue
            job = posixpath.basename(path).rsplit(".", 1)[0]
            if job in self.duplicates:
                continue
            if job in self.props:
                self.errors.add(
                    path, f"Duplicate job names found '{job}'. (also {self.paths[job]})"
                )
                self.duplicates.add(job)
                del self.props[job]
                continue
            props = _Props(parse_properties(self.files[path].decode("latin-1")), parent)
            if props.get("type") is None:
                self.errors.add(
                    path, f"Job doesn't have type set '{job}'. Add a line: type=command"
                )
            if (props.get("root.node") or "").lower() == "true":
                self.roots.add(job)
            self.props[job] = props
            self.paths[job] = path
        for sub in subdirs:
            self._read_jobs(sub, parent)

    def _resolve(self) -> None:
        for job in sorted(self.props):
            path = self.paths[job]
            if job == "ROOT":
                self.errors.add(path, "ROOT is not allowed as a name. Pick some other name.")
            raw = self.props[job].get("dependencies")
            if raw is None or not raw.strip():
                continue
            deps: list[str] = []
            for dep in re.split(r"\s*,\s*", raw.strip()):
                if not dep:
                    continue
                if dep == job:
                    self.errors.add(path, f"{job} has a self cycle")
                elif dep in self.duplicates:
                    self.errors.add(path, f"{job} has ambiguous dependency {dep}")
                elif dep not in self.props:
                    self.errors.add(path, f"{job} cannot find dependency {dep}")
                elif dep not in deps:
                    deps.append(dep)
            self.edges[job] = deps

    def _find_cycles(self, flows: list[str]) -> None:
        """Cycles on the way from a flow's final job, as the server meets them building flows.

        Jobs that only depend on each other in a ring belong to no flow: the server ignores
        them without a word, and so do we (with a warning).
        """
        on_stack: set[str] = set()
        visited: set[str] = set()

        def visit(job: str) -> None:
            visited.add(job)
            on_stack.add(job)
            for dep in self.edges.get(job, ()):
                if dep in on_stack:
                    self.errors.add(self.paths[job], f"Cyclical dependency found at {dep}>>{job}")
                elif dep not in visited:
                    visit(dep)
            on_stack.discard(job)

        for job in flows:
            if job not in visited:
                visit(job)

    def _members(self, flow: str) -> list[str]:
        """The jobs a flow runs: its final job and everything that job depends on."""
        seen: list[str] = []
        stack = [flow]
        while stack:
            job = stack.pop()
            if job in seen:
                continue
            seen.append(job)
            stack.extend(self.edges.get(job, ()))
        return seen

    def _embedded(self, job: str) -> str | None:
        props = self.props[job]
        return props.get("flow.name") if props.get("type") == "flow" else None

    def _check_embedded(self, flows: list[str], members: Mapping[str, list[str]]) -> None:
        for flow in flows:
            for job in members[flow]:
                target = self._embedded(job)
                if target is None:
                    continue
                if target not in members:
                    self.errors.add(
                        self.paths[job],
                        f"Flow {flow} depends on {target} but can't be found. (job {job} has "
                        f"type=flow and flow.name={target}, which is not a flow of this project)",
                    )
                elif self._reaches(target, flow, members, set()):
                    self.errors.add(
                        self.paths[job], f"Embedded flow cycle found in {flow}->{target}"
                    )

    def _reaches(
        self, flow: str, target: str, members: Mapping[str, list[str]], seen: set[str]
    ) -> bool:
        if flow == target:
            return True
        if flow in seen or flow not in members:
            return False
        seen.add(flow)
        for job in members[flow]:
            inner = self._embedded(job)
            if inner is not None and self._reaches(inner, target, members, seen):
                return True
        return False

    def _job_paths(
        self, flow: str, members: Mapping[str, list[str]], inside: tuple[str, ...]
    ) -> list[str]:
        if flow in inside or flow not in members:
            return []
        out: list[str] = []
        for job in members[flow]:
            out.append(job)
            inner = self._embedded(job)
            if inner is not None:
                out.extend(f"{job}:{p}" for p in self._job_paths(inner, members, (*inside, flow)))
        return out


def parse_properties(text: str) -> dict[str, str]:
    """``java.util.Properties.load``: comments, ``=``/``:``/blank separators, continuations."""
    result: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].lstrip(" \t\f")
        index += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and index < len(lines):
            line = line[:-1] + lines[index].lstrip(" \t\f")
            index += 1
        if _continues(line):
            line = line[:-1]
        key: list[str] = []
        position = 0
        while position < len(line):
            ch = line[position]
            if ch == "\\" and position + 1 < len(line):
                key.append(line[position : position + 2])
                position += 2
                continue
            if ch in "=: \t\f":
                break
            key.append(ch)
            position += 1
        rest = line[position:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        result[_unescape("".join(key))] = _unescape(rest)
    return result


def _continues(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _unescape(text: str) -> str:
    out: list[str] = []
    position = 0
    simple = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
    while position < len(text):
        ch = text[position]
        if ch == "\\" and position + 1 < len(text):
            nxt = text[position + 1]
            digits = text[position + 2 : position + 6]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                out.append(chr(int(digits, 16)))
                position += 6
                continue
            out.append(simple.get(nxt, nxt))
            position += 2
            continue
        out.append(ch)
        position += 1
    return "".join(out)
