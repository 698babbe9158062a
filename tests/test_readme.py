"""Every command the README and docs/*.md show works as they say it does.

The shell blocks are run in order (the README, then docs/*.md by name), one command at a time,
in a scratch copy of the repository's examples, schema, README and docs, against a sandbox over
HTTP (AZKABAN_URL and the credentials come from the azkaban_env fixture; `--sandbox` commands
start their own emulator in the scratch directory). A command expects exit 0 unless its line
ends in `# exit N`. A line of plain words starting with `azstate` runs in-process (bash would
pass main the same words); the rest run in bash.
`pip install` and the test run are not executed: they are checked against what .ci/run runs.
Blocks that are not commands (the usage synopsis, a directory tree, a workflow excerpt) carry an
explicit `<!-- readme-test: not run (...) -->` marker, and that list is pinned here. Inline
`azstate ...` spans in the prose are checked against azstate's own argument parser.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from azstate.cli import build_parser, main
from azstate.sandbox.server import SandboxServer
from tests.test_gitops import checked_out

BIN = str(Path(sys.executable).parent)
pytestmark = pytest.mark.quick_azstate  # BIN: conftest puts the quick-starting azstate first


ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
CI = ROOT / ".ci" / "run"
SHELLS = {"sh", "bash", "shell", "console"}
NOT_RUN = re.compile(r"<!-- readme-test: not run \(([^)]+)\) -->")
EXIT = re.compile(r"#\s*exit (\d+)\b")


@dataclass(frozen=True)
class Block:
    doc: str
    info: str
    content: str
    line: int
    skipped_because: str | None


@dataclass(frozen=True)
class Command:
    text: str
    expected: int
    line: int
    doc: str = "README.md"


def blocks(docs: list[Path] | None = None) -> list[Block]:
    """Fenced blocks of the README and docs/*.md, in that order."""
    return [block for doc in docs or DOCS for block in _blocks(doc)]


def _blocks(doc: Path) -> list[Block]:
    tokens = MarkdownIt("commonmark").parse(doc.read_text(encoding="utf-8"))
    name = str(doc.relative_to(ROOT))
    found: list[Block] = []
    marker: str | None = None
    for token in tokens:
        if token.type == "html_block":
            match = NOT_RUN.search(token.content)
            marker = match.group(1) if match else None
            continue
        if token.type == "fence":
            line = token.map[0] + 1 if token.map else 0
            found.append(Block(name, token.info.strip(), token.content, line, marker))
        marker = None
    return found


def commands() -> list[Command]:
    out: list[Command] = []
    for block in blocks():
        if block.skipped_because is not None:
            continue
        assert block.info in SHELLS, f"{block.doc} line {block.line}: a ```{block.info} block is "
        "neither a shell block nor marked <!-- readme-test: not run (why) -->"
        for offset, line in enumerate(block.content.replace("\\\n", " ").splitlines()):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = EXIT.search(line)
            out.append(Command(line.strip(), int(match.group(1)) if match else 0,
                               block.line + 1 + offset, block.doc))
    return out


def ci_commands() -> list[str]:
    """.ci/run's commands, without --quiet (it changes what is printed, not what is done)."""
    lines = [line.strip().replace("--quiet ", "") for line in CI.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "set ", "cd "))]


PIP_ALLOWED = {"pip install -e .", "pip install -e '.[test]'"}


def runnable(command: Command) -> list[str]:
    """The parts of a command line to execute; install and test parts are checked instead."""
    parts = [p.strip() for p in command.text.split("&&")]
    run: list[str] = []
    ci = ci_commands()
    for part in parts:
        if part.startswith("pip "):
            assert part in PIP_ALLOWED, (
                f"{command.doc} line {command.line}: unexpected install {part!r}"
            )
            # .ci/run installs the same package with the test extras, a superset of `-e .`
            assert "python -m pip install -e '.[test]'" in ci
        elif part.startswith("python -m pytest"):
            assert part in ci, f"{command.doc} line {command.line}: .ci/run does not run {part!r}"
        else:
            run.append(part)
    return run


def test_blocks_not_run_are_exactly_these() -> None:
    """The README's list is pinned; docs/*.md may mark their own blocks."""
    skipped = [(b.skipped_because, b.content.splitlines()[0]) for b in blocks([README])
               if b.skipped_because not in (None, "reference example")]
    assert skipped == [
        ("installation from a release",
         "# from the repository at a tag (or a commit id), with your copy's git URL"),
        ("usage synopsis", "azstate validate [-c PATH] [--var NAME=VALUE]... [--resolved]"),
        ("environment for a real server",
         "export AZKABAN_URL=https://azkaban.example.com:8443   # overrides server.url"),
        ("configuration excerpt", "[server]"),
        ("multi-file layout", "server.toml      [server]: where the server is, said once"),
        ("a sketch of two files", "# base.toml"),
        ("directory layout", "flows/etl/            flow sources, shared by every environment"),
        ("workflow excerpt", "concurrency:"),
    ]


def test_quick_start_is_the_first_section_and_its_commands_are_these() -> None:
    text = README.read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections[0] == "Quick start"
    first = [c.text for c in commands()][:3]
    assert first == [
        "pip install -e . && azstate apply --sandbox --auto-approve -c examples/quickstart",
        "pip install -e '.[test]' && python -m pytest -n 2 -q",
        "azstate plan --sandbox --detailed-exitcode -c examples/quickstart",
    ]


def test_the_workflow_excerpt_is_what_the_workflow_says() -> None:
    (excerpt,) = [b for b in blocks() if b.skipped_because == "workflow excerpt"]
    workflow = yaml.safe_load(
        (ROOT / "examples" / "gitops" / ".github" / "workflows" / "azstate.yml").read_text()
    )
    assert yaml.safe_load(excerpt.content) == {
        "concurrency": workflow["jobs"]["apply-production"]["concurrency"]
    }


def test_the_layout_shown_is_the_example_s() -> None:
    (layout,) = [b for b in blocks() if b.skipped_because == "directory layout"]
    paths = [line.split()[0] for line in layout.content.splitlines() if not line.startswith(" ")]
    assert len(paths) == 9
    for path in paths:
        assert (ROOT / "examples" / "gitops" / path).exists(), path


def test_performance_and_concurrency_sections_are_written() -> None:
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    reliability = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert "## The benchmark\n" in performance and "python bench/run.py" in performance
    assert "## Concurrent applies\n" in reliability
    readme = README.read_text(encoding="utf-8")
    assert "## Guarantees\n" in readme
    assert "(docs/reliability.md)" in readme and "(docs/performance.md)" in readme
    for text in (performance, reliability, readme):
        assert "filled in by" not in text and "Placeholder" not in text


def test_inline_azstate_commands_are_valid_invocations() -> None:
    tokens = [
        token
        for doc in DOCS
        for token in MarkdownIt("commonmark").parse(doc.read_text(encoding="utf-8"))
    ]
    spans = [
        child.content
        for token in tokens
        if token.type == "inline"
        for child in token.children or []
        if child.type == "code_inline" and child.content.startswith("azstate ")
    ]
    assert len(spans) > 10
    for span in spans:
        argv = shlex.split(span)[1:]
        command = next((a for a in argv if not a.startswith("-")), None)
        try:
            build_parser(only=command).parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"The docs show `{span}`, which azstate refuses ({exc})")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """What the README's commands touch, copied: they write plans, imports and regenerate."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("examples", "schema"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns(".azstate"))
    shutil.copy(README, root / "README.md")
    shutil.copy(ROOT / ".gitignore", root / ".gitignore")
    shutil.copytree(ROOT / "docs", root / "docs")
    return checked_out(root, root / "examples" / "gitops")


PLAIN = re.compile(r"azstate(?: [A-Za-z0-9_./:=-]+)*")


def _run(part: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A plain `azstate` line (words only: no quoting, globbing, redirection or pipe, so bash
    would hand main exactly these words) runs in-process, which saves an interpreter start;
    anything else runs in bash."""
    words = part.split("#", 1)[0].strip()
    if PLAIN.fullmatch(words):
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            mp.chdir(cwd)
            out, err = io.StringIO(), io.StringIO()
            mp.setattr(sys, "stdout", out)
            mp.setattr(sys, "stderr", err)
            code = main(words.split()[1:])
        return subprocess.CompletedProcess(words, code, out.getvalue(), err.getvalue())
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", part],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_every_command_in_the_readme_exits_as_it_says(
    scratch: Path, azkaban_env: SandboxServer
) -> None:
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env["NO_COLOR"] = "1"
    ran: list[str] = []
    for command in commands():
        for part in runnable(command):
            done = _run(part, scratch, env)
            assert done.returncode == command.expected, (
                f"{command.doc} line {command.line}: `{part}` exited {done.returncode}, "
                f"expected {command.expected}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
            assert "Traceback" not in done.stderr, done.stderr
            ran.append(part)
    assert len(ran) >= 15
    assert (scratch / "schema" / "azstate.schema.json").read_text() == (
        ROOT / "schema" / "azstate.schema.json"
    ).read_text()
    assert (scratch / "README.md").read_text() == README.read_text()
    for doc in DOCS[1:]:
        assert (scratch / doc.relative_to(ROOT)).read_text() == doc.read_text()
    assert (scratch / "plan.md").read_text().startswith("## azstate plan\n")
    # The commands leave the repository as it was: what they write is ignored, nothing else.
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=scratch, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert status == "", status
