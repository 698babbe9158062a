"""Flow discovery: what Azkaban's upload parser finds in a project, and what it refuses.

Besides the cases, a property test builds random projects and checks that discover() and the
sandbox's loader (written separately, from the same section of azkaban-api.md) agree on
whether the upload is accepted and on the flows it holds.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azstate.archive import zip_files
from azstate.errors import SourceError
from azstate.flows import discover, parse_properties
from azstate.sandbox.flowload import InstallFailure, load_zip

PROJECT = {"p.project": b"azkaban-flow-version: 2.0\n"}


def flow(*nodes: str, extra: str = "") -> bytes:
    return (extra + "nodes:\n" + "".join(nodes)).encode()


def node(
    name: str, *, depends: tuple[str, ...] = (), type_: str = "command", more: str = ""
) -> str:
    text = f"  - name: {name}\n    type: {type_}\n"
    if depends:
        text += f"    dependsOn: [{', '.join(depends)}]\n"
    return text + more


def error_of(files: dict[str, bytes]) -> str:
    with pytest.raises(SourceError) as info:
        discover(files, origin="src")
    return str(info.value)


# Flow 2.0 -------------------------------------------------------------------------------------


def test_flow20_flows_are_file_names_and_jobs_are_nodes() -> None:
    info = discover(
        {
            **PROJECT,
            "a.flow": flow(node("x"), node("y", depends=("x",))),
            "deep/dir/b.flow": flow(node("z")),
            "ignored.job": b"no type here",
        },
        origin="src",
    )
    assert info.version == "2.0"
    assert info.flows == {"a", "b"}
    assert info.jobs == {"a": {"x", "y"}, "b": {"z"}}
    assert info.warnings == ()


def test_flow20_embedded_flow_jobs_are_named_parent_colon_job() -> None:
    inner = "    nodes:\n      - name: i1\n        type: command\n"
    inner += "      - name: i2\n        type: flow\n"
    inner += "        nodes:\n          - name: deep\n            type: command\n"
    info = discover(
        {**PROJECT, "f.flow": flow(node("outer", type_="flow", more=inner), node("x"))}, origin="s"
    )
    assert info.flows == {"f"}
    assert info.jobs["f"] == {"outer", "outer:i1", "outer:i2", "outer:i2:deep", "x"}
    assert info.top_jobs["f"] == {"outer", "x"}


def test_project_file_in_a_subdirectory_selects_flow20() -> None:
    info = discover({"sub/p.project": PROJECT["p.project"], "f.flow": flow(node("x"))}, origin="s")
    assert info.version == "2.0" and info.flows == {"f"}


def test_trigger_flows_are_reported() -> None:
    trigger = "trigger:\n  schedule:\n    type: cron\n    value: 0 0 1 ? * *\n"
    info = discover({**PROJECT, "t.flow": flow(node("x"), extra=trigger)}, origin="s")
    assert info.triggered == {"t"}


def test_zero_flows_is_valid_with_a_warning() -> None:
    info = discover(PROJECT, origin="s")
    assert info.flows == frozenset()
    assert "deletes every schedule" in info.warnings[0]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"a.project": PROJECT["p.project"], "b.project": PROJECT["p.project"]},
            "src/b.project: Duplicate project YAML files found in the project directory. "
            "Only one is allowed (also a.project).",
        ),
        (
            {"p.project": b"azkaban-flow-version: 2\n"},
            "src/p.project: Invalid azkaban-flow-version in the project YAML file: 2; "
            'Azkaban needs the number 2.0 (not 2, not "2.0")',
        ),
        (
            {"p.project": b'azkaban-flow-version: "2.0"\n'},
            "src/p.project: Invalid azkaban-flow-version in the project YAML file: '2.0'; "
            'Azkaban needs the number 2.0 (not 2, not "2.0")',
        ),
        (
            {"p.project": b"flow-version: 2.0\n"},
            "src/p.project: azkaban-flow-version is not specified in the project YAML file. "
            "Write: azkaban-flow-version: 2.0",
        ),
        (
            {**PROJECT, "f.flow": flow(node("a"), node("a"))},
            "src/f.flow: Failed to validate nodeBean for f.flow. Duplicate nodes found or "
            "dependency undefined or ROOT used as a name. (node 'a' appears twice)",
        ),
        (
            {**PROJECT, "f.flow": flow(node("a", depends=("missing",)))},
            "src/f.flow: Failed to validate nodeBean for f.flow. Duplicate nodes found or "
            "dependency undefined or ROOT used as a name. (node 'a' depends on 'missing', "
            "which is not defined)",
        ),
        (
            {**PROJECT, "f.flow": flow(node("ROOT"))},
            "src/f.flow: Failed to validate nodeBean for f.flow. Duplicate nodes found or "
            "dependency undefined or ROOT used as a name. (a node is named ROOT)",
        ),
        (
            {**PROJECT, "f.flow": flow(node("a", depends=("b",)), node("b", depends=("a",)))},
            "src/f.flow: Cycles found at a>>b",
        ),
        (
            {**PROJECT, "f.flow": b"config: {}\n"},
            'src/f.flow: Error loading flow yaml file f.flow: the flow has no "nodes" list',
        ),
        (
            {**PROJECT, "f.flow": b"nodes: [\n"},
            "src/f.flow: Error loading flow yaml file f.flow: expected the node content, but "
            "found '<stream end>' (line 2, column 1)",
        ),
        (
            {**PROJECT, "f.flow": b""},
            "src/f.flow: Error loading flow yaml file f.flow: Failed to load flow file f.flow. "
            "Node bean is null .",
        ),
        (
            {**PROJECT, "f.flow": b"nodes:\n  - name: a\n"},
            "src/f.flow: Error loading flow yaml file f.flow: node 'a' has no type",
        ),
        (
            {**PROJECT, "f.flow": b"nodes:\n  - type: command\n"},
            "src/f.flow: Error loading flow yaml file f.flow: node 1 has no name",
        ),
        (
            {**PROJECT, "f.flow": b"nodes:\n  - name: a\n    type: command\n    depends: [b]\n"},
            "src/f.flow: Error loading flow yaml file f.flow: Cannot create property=depends for "
            "JavaBean=azkaban.project.NodeBean (in node 'a'; allowed: condition, config, "
            "dependsOn, name, nodes, trigger, type)",
        ),
        (
            {**PROJECT, "a.flow": flow(node("x")), "sub/a.flow": flow(node("y"))},
            "src/sub/a.flow: Duplicate flows found in the project with name a (also a.flow)",
        ),
        (
            {**PROJECT, "f.flow": flow(node("e", type_="flow"))},
            "src/f.flow: Error loading flow yaml file f.flow: embedded flow 'e' has no \"nodes\" "
            "list",
        ),
        (
            {**PROJECT, "f.flow": flow(node("a", more="    condition: ${nope:x} == 1\n"))},
            "src/f.flow: Invalid condition for a: nope doesn't exist in the flow.",
        ),
    ],
)
def test_flow20_refusals(files: dict[str, bytes], message: str) -> None:
    assert error_of(files) == message


def test_several_problems_are_all_listed() -> None:
    message = error_of(
        {**PROJECT, "a.flow": flow(node("x"), node("x")), "b.flow": flow(node("ROOT"))}
    )
    first, second = message.splitlines()
    assert first.startswith("src/a.flow: Failed to validate")
    assert second.startswith("  src/b.flow: Failed to validate")


# Flow 1.0 -------------------------------------------------------------------------------------


def test_flow10_flows_are_jobs_nobody_depends_on() -> None:
    info = discover(
        {
            "common.properties": b"type=command\n",
            "a.job": b"",
            "b.job": b"dependencies=a\n",
            "sub/c.job": b"dependencies = a , b\n",
            "d.job": b"type=noop\n",
            "ignored.flow": b"nodes: []",
        },
        origin="src",
    )
    assert info.version == "1.0"
    assert info.flows == {"c", "d"}
    assert info.jobs == {"c": {"a", "b", "c"}, "d": {"d"}}


def test_flow10_embedded_flows() -> None:
    info = discover(
        {
            "inner.job": b"type=command\n",
            "outer.job": b"type=flow\nflow.name=inner\n",
        },
        origin="src",
    )
    assert info.flows == {"inner", "outer"}
    assert info.jobs["outer"] == {"outer", "outer:inner"}


def test_properties_only_apply_to_their_directory_and_below() -> None:
    message = error_of({"sub/common.properties": b"type=command", "sub/a.job": b"", "b.job": b""})
    assert message == "src/b.job: Job doesn't have type set 'b'. Add a line: type=command"


def test_flow_files_without_project_file_are_ignored_with_a_warning() -> None:
    info = discover({"f.flow": flow(node("x"))}, origin="src")
    assert info.version == "1.0" and info.flows == frozenset()
    assert "f.flow is ignored" in info.warnings[0]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"a.job": b"command=echo"},
            "src/a.job: Job doesn't have type set 'a'. Add a line: type=command",
        ),
        (
            {"a.job": b"type=command", "sub/a.job": b"type=command"},
            "src/sub/a.job: Duplicate job names found 'a'. (also a.job)",
        ),
        ({"a.job": b"type=command\ndependencies=z"}, "src/a.job: a cannot find dependency z"),
        ({"a.job": b"type=command\ndependencies=a"}, "src/a.job: a has a self cycle"),
        (
            {
                "a.job": b"type=command\ndependencies=b",
                "b.job": b"type=command\ndependencies=a",
                "c.job": b"type=command\ndependencies=a",
            },
            "src/b.job: Cyclical dependency found at a>>b",
        ),
        (
            {"ROOT.job": b"type=command"},
            "src/ROOT.job: ROOT is not allowed as a name. Pick some other name.",
        ),
        (
            {"a.job": b"type=flow\nflow.name=nowhere"},
            "src/a.job: Flow a depends on nowhere but can't be found. (job a has type=flow and "
            "flow.name=nowhere, which is not a flow of this project)",
        ),
    ],
)
def test_flow10_refusals(files: dict[str, bytes], message: str) -> None:
    assert error_of(files) == message


def test_a_ring_of_jobs_with_no_final_job_is_ignored_as_the_server_does() -> None:
    info = discover(
        {"a.job": b"type=command\ndependencies=b", "b.job": b"type=command\ndependencies=a"},
        origin="src",
    )
    assert info.flows == frozenset()
    assert info.warnings[0] == (
        "jobs a, b belong to no flow (they depend on each other in a ring, so none is a final "
        "job); Azkaban ignores them"
    )


def test_a_ring_reached_from_a_forced_root_is_the_loaders_error() -> None:
    """root.node=true makes a job a flow even when depended on: the ring is then met."""
    files = {
        "a.job": b"type=command\ndependencies=b\nroot.node=true",
        "b.job": b"type=command\ndependencies=a",
    }
    assert error_of(files) == "src/b.job: Cyclical dependency found at a>>b"
    assert _sandbox_verdict(files) is None


def test_a_ring_below_a_final_job_refuses_the_upload_in_both_loaders() -> None:
    files = {
        "final.job": b"type=command\ndependencies=a",
        "a.job": b"type=command\ndependencies=b",
        "b.job": b"type=command\ndependencies=c",
        "c.job": b"type=command\ndependencies=a",
    }
    assert "Cyclical dependency found at" in error_of(files)
    assert _sandbox_verdict(files) is None


# Hidden files (azkaban-api.md section 8, "File filters") ------------------------------------


def test_hidden_flow_files_are_not_flows() -> None:
    info = discover(
        {
            **PROJECT,
            "a.flow": flow(node("x")),
            ".hidden.flow": flow(node("y")),
            "sub/.also.flow": flow(node("z")),
            ".hid/b.flow": flow(node("w")),  # hidden directories are walked
        },
        origin="src",
    )
    assert info.flows == {"a", "b"}
    assert info.warnings == (
        "Azkaban ignores files whose names start with a dot, so these define nothing: "
        ".hidden.flow, sub/.also.flow",
    )
    assert _sandbox_verdict(
        {**PROJECT, "a.flow": flow(node("x")), ".hidden.flow": flow(node("y"))}
    ) == {"a"}


def test_a_hidden_flow_file_with_errors_is_not_read() -> None:
    info = discover({**PROJECT, "a.flow": flow(node("x")), ".bad.flow": b"nodes: 7"}, origin="s")
    assert info.flows == {"a"}


def test_hidden_job_files_are_not_jobs() -> None:
    info = discover(
        {
            "a.job": b"type=command",
            ".hidden.job": b"type=command\ndependencies=a",
            ".job": b"type=command",
        },
        origin="src",
    )
    assert info.version == "1.0"
    assert info.flows == {"a"}  # .hidden would have made a a dependency, not a flow
    assert info.jobs == {"a": {"a"}}


def test_a_hidden_project_file_does_not_select_flow20() -> None:
    files = {".p.project": PROJECT["p.project"], "a.flow": flow(node("x")), "j.job": b"type=noop"}
    info = discover(files, origin="s")
    assert info.version == "1.0" and info.flows == {"j"}
    assert _sandbox_verdict(files) == {"j"}


def test_hidden_properties_files_give_no_properties() -> None:
    files = {".common.properties": b"type=command\n", "a.job": b"command=echo"}
    assert error_of(files) == "src/a.job: Job doesn't have type set 'a'. Add a line: type=command"
    assert _sandbox_verdict(files) is None
    assert discover({"common.properties": b"type=command\n", "a.job": b"x=1"}, origin="s").flows


def test_parse_properties_follows_java() -> None:
    text = "# comment\n! also\na=1\nb : 2\nc 3\nlong = one \\\n   two\nesc=tab\\there\\u0041\n"
    assert parse_properties(text) == {
        "a": "1",
        "b": "2",
        "c": "3",
        "long": "one two",
        "esc": "tab\there" + "A",
    }


# Agreement with the sandbox's loader ------------------------------------------------------------

names = st.sampled_from(["a", "b", "c", "d", "ROOT"])
# file names as written: hidden ones (a dot first) and a bare suffix are ignored by the loaders
file_stems = st.sampled_from(["a", "b", "c", "d", "ROOT", ".a", ".e", ""])
folders = st.sampled_from(["", "x/", "y/", ".h/", "x/.h/"])


def _ring(draw: st.DrawFn) -> dict[str, bytes]:
    """Jobs a -> b -> ... -> a, sometimes with a final job on top, a forced root, or hidden."""
    ring = draw(st.lists(st.sampled_from("abcd"), min_size=2, max_size=4, unique=True))
    files: dict[str, bytes] = {}
    for index, job in enumerate(ring):
        after = ring[(index + 1) % len(ring)]
        lines = ["type=command", f"dependencies={after}"]
        if draw(st.booleans()) and draw(st.booleans()):
            lines.append("root.node=true")
        hidden = "." if draw(st.integers(0, 5)) == 0 else ""
        files[f"{draw(folders)}{hidden}{job}.job"] = "\n".join(lines).encode()
    if draw(st.booleans()):
        files["top.job"] = f"type=command\ndependencies={ring[0]}".encode()
    return files


@st.composite
def flow10_projects(draw: st.DrawFn) -> dict[str, bytes]:
    files: dict[str, bytes] = _ring(draw) if draw(st.integers(0, 3)) == 0 else {}
    for name in draw(st.lists(file_stems, min_size=0, max_size=5)):
        folder = draw(folders)
        lines = []
        if draw(st.booleans()):
            lines.append("type=" + draw(st.sampled_from(["command", "noop", "flow"])))
        deps = draw(st.lists(names, max_size=3))
        if deps:
            lines.append("dependencies=" + ",".join(deps))
        if draw(st.booleans()):
            lines.append("flow.name=" + draw(names))
        files[f"{folder}{name}.job"] = "\n".join(lines).encode()
    if draw(st.booleans()):
        files[draw(st.sampled_from(["common", ".common"])) + ".properties"] = b"type=command\n"
    if draw(st.integers(0, 4)) == 0:
        files[draw(st.sampled_from(["p", ".p"])) + ".project"] = PROJECT["p.project"]
    return files


@st.composite
def flow20_projects(draw: st.DrawFn) -> dict[str, bytes]:
    files: dict[str, bytes] = dict(PROJECT)
    flow_names = st.sampled_from(["f", "g", "x/f", ".f", "x/.g", ".h/g", ""])
    for flow_name in draw(st.lists(flow_names, max_size=3)):
        nodes = []
        for name in draw(st.lists(names, min_size=0, max_size=4)):
            deps = tuple(draw(st.lists(names, max_size=2)))
            kind = draw(st.sampled_from(["command", "command", "flow"]))
            more = "    nodes:\n      - name: i\n        type: command\n" if kind == "flow" else ""
            nodes.append(node(name, depends=deps, type_=kind, more=more))
        files[f"{flow_name}.flow"] = flow(*nodes) if nodes or draw(st.booleans()) else b"x: 1"
    return files


def _sandbox_verdict(files: dict[str, bytes]) -> frozenset[str] | None:
    jobs = _sandbox_jobs(files)
    return None if jobs is None else frozenset(jobs)


def _sandbox_jobs(files: dict[str, bytes]) -> dict[str, frozenset[str]] | None:
    """Each top-level flow's own nodes, as the sandbox loader keeps them; None if refused."""
    try:
        loaded = load_zip(zip_files(files))
    except InstallFailure:
        return None
    if loaded.errors:
        return None
    return {
        f: frozenset(n["id"] for n in data["nodes"])
        for f, data in loaded.flows.items()
        if not data["embedded"]
    }


def _our_verdict(files: dict[str, bytes]) -> frozenset[str] | None:
    try:
        return discover(files, origin="s").flows
    except SourceError:
        return None


def _our_jobs(files: dict[str, bytes]) -> dict[str, frozenset[str]] | None:
    try:
        info = discover(files, origin="s")
    except SourceError:
        return None
    return {f: frozenset(info.top_jobs[f]) for f in info.flows}


@settings(max_examples=300, deadline=None)
@given(st.one_of(flow10_projects(), flow20_projects()))
def test_discover_agrees_with_the_sandbox_loader_on_each_flows_jobs(
    files: dict[str, bytes],
) -> None:
    """What schedules may name: the flows, and the jobs at the top of each (disabled jobs)."""
    assert _our_jobs(files) == _sandbox_jobs(files)


@settings(max_examples=300, deadline=None)
@given(st.one_of(flow10_projects(), flow20_projects()))
def test_discover_agrees_with_the_sandbox_loader(files: dict[str, bytes]) -> None:
    assert _our_verdict(files) == _sandbox_verdict(files)
