"""Reads an uploaded project zip into flows the way Azkaban's loaders do, errors included.

The loader is chosen as FlowLoaderFactory does: a ``*.project`` file (at the root, else in a
sub-directory) whose ``azkaban-flow-version`` is the YAML float 2.0 selects Flow 2.0 (every
``*.flow`` file is a flow); otherwise Flow 1.0 (``*.job`` files, flows are the jobs no other
job depends on). Problems that Azkaban raises as exceptions become :class:`InstallFailure`
("Installation Failed.<br>..."); loader errors are returned as a list, which the upload
handler reports as "Validator Directory Flow reports errors".

Every loader lists files through FlowLoaderUtils.SuffixFilter: a regular file, not hidden
(``File.isHidden()`` on Unix: the name starts with ``.``), named longer than the suffix and
ending with it. Directories are all walked, hidden ones too.

A flow is kept as plain JSON-able data so the store can persist it::

    {"id", "format": "1.0"|"2.0", "embedded",
     "nodes": [{"id", "type", "condition", "in", "embedded_flow", "props"}],
     "failure_emails", "success_emails", "failure_action", "trigger"}
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from azstate.sandbox.javalang import hashmap_order, split

FlowData = dict[str, Any]

_CONDITION_OPERATORS = r"&&|\|\||==|!=|>|>=|<|<="
_CONDITION_ON_STATUS = re.compile(
    r"(?i)\b(all_success|all_failed|all_done|one_failed|one_success)\b"
)
_DIGIT_STRING = re.compile(r"\d+|'.*'|\".*\"")
_VARIABLE = re.compile(r"\$\{([^:{}]+):([^:{}]+)\}")


class InstallFailure(Exception):
    """A ProjectManagerException (or other exception) out of the upload: HTTP 500."""


@dataclass
class FlowLoad:
    flows: dict[str, FlowData] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class _Tree:
    """The unzipped project as directories of files (zip entries, no real disk)."""

    files: dict[str, bytes]

    def children(self, directory: str) -> tuple[list[str], list[str]]:
        prefix = "" if directory == "" else directory + "/"
        files: set[str] = set()
        dirs: set[str] = set()
        for path in self.files:
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            head, sep, _ = rest.partition("/")
            (dirs if sep else files).add(prefix + head)
        return sorted(files), sorted(dirs)


def _unzip(data: bytes) -> _Tree:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        files: dict[str, bytes] = {}
        for info in archive.infolist():
            name = info.filename
            normalized = posixpath.normpath("/" + name).lstrip("/")
            if normalized.startswith("..") or ".." in normalized.split("/"):
                raise InstallFailure("Error unzipping file.")
            if info.is_dir() or not normalized or normalized == ".":
                continue
            files[normalized] = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise InstallFailure("Error unzipping file.") from exc
    except NotImplementedError as exc:
        raise InstallFailure("Error unzipping file.") from exc
    return _Tree(files)


def load_zip(data: bytes) -> FlowLoad:
    tree = _unzip(data)
    if _is_flow20(tree, ""):
        return _Flow20Loader(tree).load()
    return _Flow10Loader(tree).load()


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _suffix_filter(path: str, suffix: str) -> bool:
    """SuffixFilter.accept for a zip entry (entries are regular files; directories are not kept)."""
    name = _basename(path)
    if name[:1] == ".":  # File.isHidden on Unix
        return False
    return len(name) > len(suffix) and name[-len(suffix) :] == suffix


def _is_flow20(tree: _Tree, directory: str) -> bool:
    files, dirs = tree.children(directory)
    projects = [f for f in files if _suffix_filter(f, ".project")]
    if projects:
        if len(projects) > 1:
            raise InstallFailure(
                "Duplicate project YAML files found in the project directory. Only one is allowed."
            )
        try:
            document = yaml.safe_load(tree.files[projects[0]].decode("utf-8", "replace"))
        except yaml.YAMLError as exc:
            raise InstallFailure(str(exc)) from exc
        if document is None or (
            isinstance(document, dict) and "azkaban-flow-version" not in document
        ):
            raise InstallFailure("azkaban-flow-version is not specified in the project YAML file.")
        if not isinstance(document, dict):
            raise InstallFailure(
                f"class {_java_type(document)} cannot be cast to class java.util.Map"
            )
        version = document["azkaban-flow-version"]
        if isinstance(version, float) and version == 2.0:
            return True
        raise InstallFailure("Invalid azkaban-flow-version in the project YAML file.")
    return any(_is_flow20(tree, sub) for sub in dirs)


def _java_type(value: object) -> str:
    if isinstance(value, list):
        return "java.util.ArrayList"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer"
    if isinstance(value, float):
        return "java.lang.Double"
    return "java.lang.Object"


def _java_string(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def _string_list(value: str | None) -> list[str]:
    """``Props.getStringList``: split on commas with surrounding spaces."""
    if value is None or not value.strip():
        return []
    return split(value.strip(), r"\s*,\s*")


def _emails(lookup: dict[str, str]) -> tuple[list[str], list[str]]:
    """FlowLoaderUtils.addEmailPropsToFlow: lower-cased sets; notify.emails goes to both."""
    notify = [e.lower() for e in _string_list(lookup.get("notify.emails"))]
    failure = [e.lower() for e in _string_list(lookup.get("failure.emails"))] + notify
    success = [e.lower() for e in _string_list(lookup.get("success.emails"))] + notify
    return hashmap_order(failure), hashmap_order(success)


def _flow(
    flow_id: str,
    nodes: list[dict[str, Any]],
    props: dict[str, str],
    *,
    embedded: bool,
    version: str,
) -> FlowData:
    failure, success = _emails(props)
    return {
        "id": flow_id,
        "format": version,
        "embedded": embedded,
        "nodes": nodes,
        "failure_emails": failure,
        "success_emails": success,
        "failure_action": props.get("failure.action"),
        "trigger": False,
    }


class _Flow20Loader:
    """DirectoryYamlFlowLoader + NodeBeanLoader."""

    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
        self.result = FlowLoad()
        self.errors: list[str] = []

    def load(self) -> FlowLoad:
        self._walk("")
        self.result.errors = hashmap_order(self.errors)
        return self.result

    def _walk(self, directory: str) -> None:
        files, dirs = self.tree.children(directory)
        for path in files:
            if _suffix_filter(path, ".flow"):
                self._load_file(path)
        for sub in dirs:
            self._walk(sub)

    def _load_file(self, path: str) -> None:
        name = _basename(path)
        flow_name = name.rsplit(".", 1)[0]
        try:
            bean = self._bean(name, self.tree.files[path])
            if not self._valid(bean):
                self.errors.append(
                    f"Failed to validate nodeBean for {name}. Duplicate nodes found or "
                    "dependency undefined or ROOT used as a name."
                )
                return
            if flow_name in self.result.flows:
                self.errors.append(f"Duplicate flows found in the project with name {flow_name}")
                return
            self._convert(bean, flow_name, embedded=False)
        except _JavaException as exc:
            self.errors.append(f"Error loading flow yaml file {name}:{exc}")

    def _bean(self, name: str, data: bytes) -> dict[str, Any]:
        try:
            document = yaml.safe_load(data.decode("utf-8", "replace"))
        except yaml.YAMLError as exc:
            raise _JavaException(str(exc)) from exc
        if document is None:
            raise _JavaException(f"Failed to load flow file {name}. Node bean is null .")
        return self._check_bean(document)

    def _check_bean(self, document: object) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise _JavaException(
                "No single argument constructor found for class azkaban.project.NodeBean"
            )
        allowed = {"name", "config", "dependsOn", "type", "condition", "nodes", "trigger"}
        for key in document:
            if key not in allowed:
                raise _JavaException(
                    f"Cannot create property={key} for JavaBean=azkaban.project.NodeBean"
                )
        nodes = document.get("nodes")
        if nodes is not None:
            if not isinstance(nodes, list):
                raise _JavaException("No suitable constructor found for interface java.util.List")
            document["nodes"] = [self._check_bean(n) for n in nodes]
        depends = document.get("dependsOn")
        if depends is not None:
            if not isinstance(depends, list):
                raise _JavaException("No suitable constructor found for interface java.util.List")
            document["dependsOn"] = [_java_string(d) for d in depends]
        config = document.get("config")
        if config is not None:
            if not isinstance(config, dict):
                raise _JavaException("No suitable constructor found for interface java.util.Map")
            document["config"] = {_java_string(k): _java_string(v) for k, v in config.items()}
        for key in ("name", "type", "condition"):
            if document.get(key) is not None:
                document[key] = _java_string(document[key])
        return document

    def _valid(self, bean: dict[str, Any]) -> bool:
        nodes = bean.get("nodes")
        if nodes is None:
            raise _JavaException("null")
        names: set[str | None] = set()
        for node in nodes:
            if node.get("name") in names:
                return False
            names.add(node.get("name"))
        for node in nodes:
            depends = node.get("dependsOn")
            if depends is not None and not set(depends) <= names:
                return False
        return "ROOT" not in names

    def _convert(self, bean: dict[str, Any], flow_id: str, *, embedded: bool) -> None:
        """convertAzkabanFlowToFlow: nodes in HashMap order, edges, cycles, embedded flows."""
        raw_nodes = bean.get("nodes")
        if raw_nodes is None:
            raise _JavaException("null")
        by_name: dict[str, dict[str, Any]] = {}
        for node in raw_nodes:
            by_name[node.get("name") or "null"] = node
        order = hashmap_order(by_name)
        if bean.get("trigger") is not None:
            self._check_trigger(bean["trigger"])
        nodes: list[dict[str, Any]] = []
        for name in order:
            node = by_name[name]
            node_type = node.get("type")
            self._check_condition(name, node.get("condition"), by_name)
            if node_type is None:
                raise _JavaException("null")
            embedded_id = None
            if node_type == "flow":
                embedded_id = f"{flow_id}:{name}"
                self._convert(node, embedded_id, embedded=True)
            props = dict(node.get("config") or {})
            props["type"] = node_type
            nodes.append(
                {
                    "id": name,
                    "type": node_type,
                    "condition": node.get("condition"),
                    "in": list(node.get("dependsOn") or []),
                    "embedded_flow": embedded_id,
                    "props": props,
                }
            )
        self._find_cycles(order, by_name)
        config = dict(bean.get("config") or {})
        flow = _flow(flow_id, nodes, config, embedded=embedded, version="2.0")
        flow["trigger"] = bean.get("trigger") is not None
        self.result.flows[flow_id] = flow

    def _find_cycles(self, order: list[str], by_name: dict[str, dict[str, Any]]) -> None:
        on_stack: set[str] = set()
        visited: set[str] = set()

        def visit(name: str) -> None:
            if name in visited:
                return
            on_stack.add(name)
            visited.add(name)
            node = by_name.get(name)
            if node is None:
                raise _JavaException("null")
            for parent in node.get("dependsOn") or []:
                if parent in on_stack:
                    self.errors.append(f"Cycles found at {parent}>>{name}")
                else:
                    visit(parent)
            on_stack.discard(name)

        for name in order:
            visit(name)

    def _check_condition(
        self, name: str, condition: str | None, by_name: dict[str, dict[str, Any]]
    ) -> None:
        if condition is None:
            return
        stripped = re.sub(r"\s+|\(|\)", "", condition)
        found_status = False
        for operand in split(stripped, _CONDITION_OPERATORS):
            if _CONDITION_ON_STATUS.fullmatch(operand):
                if found_status:
                    self.errors.append(
                        f"Invalid condition for {name}: cannot combine more than one "
                        "conditionOnJobStatus macros."
                    )
                found_status = True
                continue
            if operand.startswith("!"):
                operand = operand[1:]
            if operand == "":
                self.errors.append(f"Invalid condition for {name}: operand is an empty string.")
            elif not _DIGIT_STRING.fullmatch(operand):
                match = _VARIABLE.fullmatch(operand)
                if match is None:
                    self.errors.append(
                        f"Invalid condition for {name}: cannot resolve the condition. "
                        "Please check the syntax for supported conditions."
                    )
                elif match.group(1) not in by_name:
                    self.errors.append(
                        f"Invalid condition for {name}: {match.group(1)} doesn't exist in the flow."
                    )
                elif _descends(by_name, match.group(1), name):
                    self.errors.append(
                        f"Invalid condition for {name}: should not define condition on its "
                        f"descendant node {match.group(1)}."
                    )

    def _check_trigger(self, trigger: object) -> None:
        if not isinstance(trigger, dict):
            raise _JavaException("No single argument constructor found for FlowTriggerBean")
        schedule = trigger.get("schedule")
        if not isinstance(schedule, dict):
            raise _JavaException("flow trigger schedule must not be null")
        if schedule.get("type") != "cron":
            raise _JavaException("flow trigger schedule type must be cron")


def _descends(by_name: dict[str, dict[str, Any]], current: str, target: str) -> bool:
    seen: set[str] = set()
    stack = [current]
    while stack:
        name = stack.pop()
        node = by_name.get(name)
        if node is None or name in seen:
            continue
        seen.add(name)
        depends = node.get("dependsOn") or []
        if target in depends:
            return True
        stack.extend(depends)
    return False


class _JavaException(Exception):
    """An exception inside one flow file: its message follows ``...yaml file F.flow:``."""


def parse_properties(text: str) -> dict[str, str]:
    """``java.util.Properties.load``: comments, ``=``/``:``/space separators, continuations."""
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
        key_chars: list[str] = []
        position = 0
        while position < len(line):
            ch = line[position]
            if ch == "\\" and position + 1 < len(line):
                key_chars.append(line[position : position + 2])
                position += 2
                continue
            if ch in "=: \t\f":
                break
            key_chars.append(ch)
            position += 1
        rest = line[position:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        result[_unescape("".join(key_chars))] = _unescape(rest)
    return result


def _continues(line: str) -> bool:
    count = len(line) - len(line.rstrip("\\"))
    return count % 2 == 1


def _unescape(text: str) -> str:
    out: list[str] = []
    position = 0
    simple = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
    while position < len(text):
        ch = text[position]
        if ch == "\\" and position + 1 < len(text):
            nxt = text[position + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[position + 2 : position + 6]):
                out.append(chr(int(text[position + 2 : position + 6], 16)))
                position += 6
                continue
            out.append(simple.get(nxt, nxt))
            position += 2
            continue
        out.append(ch)
        position += 1
    return "".join(out)


@dataclass
class _Props:
    """A Props with its parent chain: ``get`` looks up the chain, ``local`` is its own keys."""

    local: dict[str, str]
    parent: _Props | None = None

    def get(self, key: str) -> str | None:
        if key in self.local:
            return self.local[key]
        return self.parent.get(key) if self.parent is not None else None

    def flattened(self) -> dict[str, str]:
        merged = self.parent.flattened() if self.parent is not None else {}
        merged.update(self.local)
        return merged


class _Flow10Loader:
    """DirectoryFlowLoader."""

    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
        self.errors: list[str] = []
        self.job_props: dict[str, _Props] = {}
        self.node_types: dict[str, str | None] = {}
        self.conditions: dict[str, str | None] = {}
        self.duplicates: set[str] = set()
        self.roots: set[str] = set()
        self.dependencies: dict[str, dict[str, bool]] = {}

    def load(self) -> FlowLoad:
        self._walk("", None)
        self._resolve_dependencies()
        flows = self._build_flows()
        self._resolve_embedded(flows)
        return FlowLoad(flows=flows, errors=hashmap_order(self.errors))

    def _walk(self, directory: str, parent: _Props | None) -> None:
        files, dirs = self.tree.children(directory)
        for path in files:
            if _suffix_filter(path, ".properties"):
                parent = _Props(parse_properties(self.tree.files[path].decode("latin-1")), parent)
        for path in files:
            if not _suffix_filter(path, ".job"):
                continue
            job = _basename(path).rsplit(".", 1)[0]
            if job in self.duplicates:
                continue
            if job in self.job_props:
                self.errors.append(f"Duplicate job names found '{job}'.")
                self.duplicates.add(job)
                del self.job_props[job]
                continue
            props = _Props(parse_properties(self.tree.files[path].decode("latin-1")), parent)
            job_type = props.get("type")
            if job_type is None:
                self.errors.append(f"Job doesn't have type set '{job}'.")
            self.node_types[job] = job_type
            condition = props.get("condition")
            self.conditions[job] = condition or None
            if (props.get("root.node") or "").lower() == "true":
                self.roots.add(job)
            self.job_props[job] = props
        for sub in dirs:
            self._walk(sub, parent)

    def _resolve_dependencies(self) -> None:
        for job in hashmap_order(self.job_props):
            if job == "ROOT":
                self.errors.append("ROOT is not allowed as a name. Pick some other name.")
            raw = self.job_props[job].get("dependencies")
            if raw is None:
                continue
            edges: dict[str, bool] = {}
            for dependency in split(raw, r"\s*,\s*"):
                dependency = dependency.strip()
                if not dependency:
                    continue
                if dependency not in self.job_props:
                    if dependency in self.duplicates:
                        self.errors.append(f"{job} has ambiguous dependency {dependency}")
                    else:
                        self.errors.append(f"{job} cannot find dependency {dependency}")
                    edges[dependency] = False
                elif dependency == job:
                    self.errors.append(f"{job} has a self cycle")
                    edges[dependency] = False
                else:
                    edges[dependency] = True
            if edges:
                self.dependencies[job] = {d: edges[d] for d in hashmap_order(edges)}

    def _build_flows(self) -> dict[str, FlowData]:
        non_roots = {source for edges in self.dependencies.values() for source in edges}
        flows: dict[str, FlowData] = {}
        for job in hashmap_order(self.job_props):
            if job not in self.roots and job in non_roots:
                continue
            nodes: dict[str, dict[str, Any]] = {}
            self._construct(job, nodes, set(), set())
            props = self.job_props[job].flattened()
            flow = _flow(job, list(nodes.values()), props, embedded=False, version="1.0")
            flow["failure_action"] = None
            flows[job] = flow
        return flows

    def _construct(
        self, job: str, nodes: dict[str, dict[str, Any]], on_path: set[str], ever: set[str]
    ) -> None:
        on_path.add(job)
        ever.add(job)
        props = self.job_props[job]
        node_type = self.node_types.get(job)
        nodes[job] = {
            "id": job,
            "type": node_type,
            "condition": self.conditions.get(job),
            "in": [],
            "embedded_flow": props.get("flow.name") if node_type == "flow" else None,
            "props": dict(props.local),
        }
        for source, valid in self.dependencies.get(job, {}).items():
            nodes[job]["in"].append(source)
            if not valid:
                continue
            if source in on_path:
                self.errors.append(f"Cyclical dependency found at {source}>>{job}")
            elif source not in ever:
                self._construct(source, nodes, on_path, ever)
        on_path.discard(job)

    def _resolve_embedded(self, flows: dict[str, FlowData]) -> None:
        embeds = {
            flow_id: [n["embedded_flow"] for n in flow["nodes"] if n["embedded_flow"]]
            for flow_id, flow in flows.items()
        }

        def resolve(flow_id: str, visited: set[str]) -> None:
            children = embeds.get(flow_id)
            if not children:
                return
            visited.add(flow_id)
            for child in children:
                if child in visited:
                    self.errors.append(f"Embedded flow cycle found in {flow_id}->{child}")
                    return
                if child not in flows:
                    self.errors.append(f"Flow {flow_id} depends on {child} but can't be found.")
                    return
                resolve(child, visited)
            visited.discard(flow_id)

        for flow_id in embeds:
            resolve(flow_id, set())


def levels(flow: FlowData) -> dict[str, int]:
    """Flow.initialize: breadth-first from the start nodes; a node keeps its deepest level."""
    ids = [n["id"] for n in flow["nodes"]]
    children: dict[str, list[str]] = {i: [] for i in ids}
    has_parent: set[str] = set()
    for node in flow["nodes"]:
        for parent in node["in"]:
            if parent in children:
                children[parent].append(node["id"])
                has_parent.add(node["id"])
    level: dict[str, int] = {i: 0 for i in ids}
    current = {i for i in ids if i not in has_parent}
    depth = 0
    while current and depth <= len(ids):
        for node_id in current:
            level[node_id] = depth
        current = {child for node_id in current for child in children[node_id]}
        depth += 1
    return level
