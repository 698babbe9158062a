"""A corpus of hostile values, planted on the server and written in the configuration, through
every command (validate, plan, show, apply --dry-run, apply, import) and every format.

Any project ADMIN can add a group of any name (Azkaban's addPermission checks nothing), set a
description, flow parameters and e-mail addresses; a pull request can put the same in the TOML.
What azstate prints must stay inert wherever it is read:

- text (and markdown, and JSON, which CI logs print too): no raw control, ANSI, bidi or
  zero-width character; no line that starts with ``::`` after white space (a GitHub Actions
  workflow command); no ``##[``/``##vso[`` anywhere in a line (the runners' older form). The
  console is 40 columns wide, so anything printed with wrapping would fold a value onto a line
  of its own;
- markdown rendered to HTML: no element or comment made by a value, no image, link or extra
  heading; every value readable inside a code element; the deletion that ``ops\\n\\n<!--`` tried
  to hide is listed with the other deletions;
- JSON: parses back to the exact values.
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from azstate.address import Address
from azstate.cli import main
from azstate.sandbox.server import SandboxServer
from azstate.state import Perm, ScheduleValue, SlaRule, SlaRuleValue, SlaValue
from azstate.views.neutral import for_text
from azstate.wire.client import AzkabanClient
from tests.conftest import ROOT
from tests.e2e.workspace import Result, Workspace, flow20

LONG = "L" * 3000 + "::error::long"
# Group names an admin can plant on the server; those the configuration also accepts (no
# surrounding white space) are written in the TOML as well.
GROUPS = (
    "ops\n\n<!--",
    "x\n::error title=pwned::y",
    "\n::add-mask::z",
    "\x1b[8m",
    "\u202e",
    "a|b",
    "back\\|slash",
    "</summary>",
    "</details><details open>",
    "![x](http://e/t.png)",
    "[link](http://evil.example)",
    "## No changes",
    "```` `` `",
    "`tick",
    "##[error]x",
    "###[warning]y",
    "##vso[task.setvariable variable=X]1",
    "##teamcity[setParameter name='env.X' value='1']",
    "x##",
    "::stop-commands::tok",
    "\u3000::set-output name=a::b",
    "nul\x00x",
    "z\u200bw\ufeff",
    "@org/team :warning: #1 www.evil.example",
    "aaaa ::error::wrapped",
    ":",
    LONG,
)
# Planted on the server only, so the plan deletes them (the TOML refuses the ones with
# surrounding white space); the others are in the TOML too, and planted with one more permission.
SERVER_ONLY = (
    "ops\n\n<!--",
    "\n::add-mask::z",
    "\u3000::set-output name=a::b",
    "##[error]x",
    "</summary>",
    "![x](http://e/t.png)",
    LONG,
)
CONFIG_GROUPS = tuple(g for g in GROUPS if g not in SERVER_ONLY)
DESCRIPTION = "desc\n::error::d ##[error]e \x1b[2J <!-- \u202e | `x` ![i](http://e/i.png)"
SERVER_DESCRIPTION = "::add-mask::secret\n## No changes\n<!--"  # the server trims white space
PARAMETERS = {
    "::k": "\x1b[8m",
    "p": "##[error]x",
    "<!--": "v\n::error::q",
    "a|b": "```",
    ":": "::",
}
SERVER_PARAMETERS = {"::k": "v\n::error::q", "new\n::warning::w": "\u202e"}
EMAILS = ("::add-mask::z@e.example", "##[error]@e.example", "\u202eabc@e.example", "<!--@x.example")
SERVER_EMAILS = ("::error::s@e.example", "![x](http://e/t.png)@e.example", "\x1b[8m@e.example")
SLA_EMAILS = ("::warning::sla@e.example", "</summary>@x.example")

# Nothing a value may bring into a line: C0 (but the line feed) and C1 controls, DEL, and the
# characters that reorder or hide text.
RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
HEADINGS = {
    "h2": {"azstate plan"},
    "h3": {"Changes", "Changed outside azstate", "Apply results", "Conflicts", "This change",
           "Drift on the server"},
}  # fmt: skip
ALLOWED_TAGS = {
    "h2", "h3", "h4", "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr",
    "th", "td", "details", "summary", "blockquote", "ul", "li",
}  # fmt: skip


def toml_str(value: str) -> str:
    """A TOML basic string spelling every character outside printable ASCII as an escape."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def inline_table(entries: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{toml_str(k)} = {toml_str(v)}" for k, v in entries.items()) + " }"


def hostile_config(*, groups: Iterable[str] = CONFIG_GROUPS, users: Iterable[str] = ()) -> str:
    group_table = "\n".join(f'{toml_str(g)} = ["read"]' for g in groups)
    user_table = "\n".join(f'{toml_str(u)} = ["read"]' for u in users)
    return f"""
[projects.etl]
description = {toml_str(DESCRIPTION)}
source = "src/etl"

[projects.etl.permissions.users]
azkaban = ["admin"]
{user_table}

[projects.etl.permissions.groups]
{group_table}

[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"
failure_emails = [{", ".join(toml_str(e) for e in EMAILS)}]
parameters = {inline_table(PARAMETERS)}

[projects.etl.schedules.daily.sla]
emails = [{", ".join(toml_str(e) for e in SLA_EMAILS)}]
rules = [{{ rule = "SUCCESS", duration = "2h", email = true }}]
"""


def plant(client: AzkabanClient) -> None:
    """What a project admin can do behind the configuration's back, through the AJAX API."""
    for group in SERVER_ONLY:
        client.add_permission("etl", "group", group, frozenset({Perm.READ}))
    for group in CONFIG_GROUPS:
        client.change_permission("etl", "group", group, frozenset({Perm.READ, Perm.EXECUTE}))
    client.change_description("etl", SERVER_DESCRIPTION)
    sid = client.schedule_cron_flow(
        "etl",
        "daily",
        ScheduleValue(
            cron="0 0 2 ? * *",
            failure_emails=frozenset(SERVER_EMAILS),
            success_emails=frozenset(SLA_EMAILS),
            parameters=SERVER_PARAMETERS,
        ),
    )
    client.set_sla(
        sid,
        SlaValue(
            emails=frozenset(SERVER_EMAILS),
            rules=frozenset({SlaRuleValue(job="load", rule=SlaRule.FINISH, minutes=61, kill=True)}),
        ),
    )


# Checks --------------------------------------------------------------------------------------


def assert_inert(text: str, what: str = "output") -> None:
    """Nothing in ``text`` can act on a terminal or a CI runner."""
    raw = RAW.search(text)
    assert raw is None, f"{what}: raw {raw.group(0)!r} in {text[: raw.end()][-80:]!r}"
    for number, line in enumerate(text.split("\n"), 1):
        assert not line.strip().startswith("::"), f"{what}, line {number}: {line[:200]!r}"
        assert "##[" not in line, f"{what}, line {number}: {line[:200]!r}"
        assert "##vso[" not in line.lower(), f"{what}, line {number}: {line[:200]!r}"
        assert "##teamcity[" not in line.lower(), f"{what}, line {number}: {line[:200]!r}"


def shown_forms(value: str) -> set[str]:
    """How a value may read once neutral: alone, in the middle of a line (no leading-colon
    escape), and JSON-quoted as the plan shows scalars."""
    quoted = json.dumps(value, ensure_ascii=False)[1:-1]
    return {for_text(value), for_text("x" + value)[1:], for_text("x" + quoted)[1:]}


def assert_shown(text: str, values: Iterable[str], what: str) -> None:
    for value in values:
        assert any(form in text for form in shown_forms(value)), f"{what}: {value!r} not shown"


class _Html(HTMLParser):
    """Every element, comment and heading of rendered markdown, and the text of code elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.comments: list[str] = []
        self.code: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.prose: list[str] = []  # text outside code elements
        self._open: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._open.append(tag)
        if tag in ("code", "h1", "h2", "h3", "h4", "h5", "h6"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self.code.append("".join(self._text))
        elif tag.startswith("h") and tag[1:].isdigit():
            self.headings.append((tag, "".join(self._text)))
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if "code" not in self._open:
            self.prose.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def rendered(md: str) -> _Html:
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    parsed = _Html()
    parsed.feed(html)
    parsed.close()
    return parsed


def assert_markdown_inert(md: str, values: Iterable[str], *, changes: int) -> _Html:
    assert_inert(md, "markdown")
    page = rendered(md)
    assert page.comments == []
    assert set(page.tags) <= ALLOWED_TAGS, set(page.tags) - ALLOWED_TAGS
    assert page.tags.count("details") == changes
    for tag, text in page.headings:
        if tag == "h4":
            assert text.startswith("Project "), text
        else:
            assert text in HEADINGS.get(tag, set()), (tag, text)
    assert sum(tag == "h2" for tag, _ in page.headings) == 1
    assert_shown("\n".join(page.code), values, "markdown code")
    prose = "\n".join(page.prose)
    for value in values:  # and nowhere else: outside code a name could be a link or mention
        shown = [f for f in shown_forms(value) if len(f) > 3]
        assert not any(f in prose for f in shown), f"{value!r} outside code"
    return page


def strings_in(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for k, v in document.items():
            yield k
            if k == "address" and isinstance(v, str):
                yield Address.parse(v).name  # a name that is not plain is JSON-quoted in it
            yield from strings_in(v)
    elif isinstance(document, list):
        for v in document:
            yield from strings_in(v)


def assert_json_exact(text: str, values: Iterable[str]) -> Any:
    assert_inert(text, "json")
    assert text.isascii()
    document = json.loads(text)
    found = set(strings_in(document))
    for value in values:
        assert value in found or any(value in s for s in found), f"{value!r} not in the JSON"
    return document


# The scenario --------------------------------------------------------------------------------


@dataclass
class Hostile:
    ws: Workspace
    client: AzkabanClient

    def run(self, *args: str, code: int = 0) -> Result:
        result = self.ws.run(*args)
        assert result.code == code, f"{args}: exit {result.code}\n{result.out}\n{result.err}"
        assert_inert(result.out, f"{args[0]} stdout")
        assert_inert(result.err, f"{args[0]} stderr")
        return result

    @property
    def config(self) -> str:
        return str(self.ws.config)


def group_address(name: str) -> str:
    """The address as plans print it: a name that is not plain is quoted, ``group["a b"]``."""
    return str(Address.permission("etl", "group", name))


# Every server-side value the plan after planting shows (the server side of each change).
PLANTED = (
    *GROUPS,
    SERVER_DESCRIPTION,
    *SERVER_PARAMETERS,
    *SERVER_PARAMETERS.values(),
    *SERVER_EMAILS,
)
CONFIGURED = (DESCRIPTION, *PARAMETERS, *PARAMETERS.values(), *EMAILS)


@pytest.fixture
def hostile(
    tmp_path: Path,
    azkaban_env: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Hostile:
    """The configuration applied (hostile names created on the server and read back exactly:
    the second plan is empty), then the server changed behind its back."""
    monkeypatch.setenv("COLUMNS", "40")  # rich's width when not a terminal: wrapping would show
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping"]})
    ws = Workspace(tmp_path, azkaban_env, capsys)
    ws.write(hostile_config())
    scene = Hostile(ws, ws.client())
    applied = scene.run("apply", "--auto-approve", "-c", scene.config)
    assert_shown(applied.out, CONFIG_GROUPS, "apply")
    assert scene.run("plan", "--detailed-exitcode", "-c", scene.config).code == 0
    live = scene.client.get_group_permissions("etl")
    assert set(CONFIG_GROUPS) <= set(live)
    plant(scene.client)
    return scene


def changed_sections(plan_json: str) -> int:
    document = json.loads(plan_json)
    return len([c for c in document["changes"] if c["action"] != "no-op"]) + len(document["drift"])


# Tests ---------------------------------------------------------------------------------------


def test_text_plan_shows_every_planted_value_escaped_on_its_own_line(hostile: Hostile) -> None:
    out = hostile.run("plan", "-c", hostile.config).out
    assert_shown(out, PLANTED, "text plan")
    assert_shown(out, CONFIGURED, "text plan")
    lines = out.split("\n")
    deleted = [line for line in lines if line.endswith(" will be deleted")]
    for group in SERVER_ONLY:
        shown = for_text("x" + group_address(group))[1:]
        assert any(shown in line for line in deleted), f"deletion of {group!r} not shown"
    # what is shown is a target: copied from the plan, it selects that resource alone
    shown_addresses = [line.strip()[2 : -len(" will be deleted")] for line in deleted]
    flags = [arg for a in shown_addresses for arg in ("--target", a)]
    targeted = hostile.run("plan", "-c", hostile.config, "--format", "json", *flags).out
    names = {Address.parse(c["address"]).name for c in json.loads(targeted)["changes"]}
    assert names == set(SERVER_ONLY)
    # never folded: the long name and the value after a space stay on their line
    assert any(LONG in line and line.startswith("    ~ ") for line in lines)
    assert not any(line.lstrip().startswith("::error::wrapped") for line in lines)


def test_markdown_plan_renders_no_markup_of_a_value(hostile: Hostile) -> None:
    plan_json = hostile.run("plan", "-c", hostile.config, "--format", "json").out
    md = hostile.run("plan", "-c", hostile.config, "--format", "markdown").out
    page = assert_markdown_inert(md, (*PLANTED, *CONFIGURED), changes=changed_sections(plan_json))
    # the deletion "ops\n\n<!--" tried to hide is in the CAUTION list and has its own section
    hidden = for_text(group_address("ops\n\n<!--"))
    assert hidden in page.code
    caution = md.split("> [!CAUTION]", 1)[1].split("\n\n", 1)[0]
    assert f"`{hidden}`" in caution
    assert f"<code>{html.escape(hidden)}</code> <strong>will be deleted</strong>" in md


def test_json_plan_and_saved_plan_hold_the_exact_values(hostile: Hostile, tmp_path: Path) -> None:
    out = hostile.run("plan", "-c", hostile.config, "--format", "json").out
    document = assert_json_exact(out, (*PLANTED, *CONFIGURED))
    names = {Address.parse(c["address"]).name for c in document["changes"]}
    assert set(GROUPS) <= names
    saved = tmp_path / "hostile.plan"
    hostile.run("plan", "-c", hostile.config, "--out", str(saved))
    text = saved.read_text(encoding="utf-8")
    assert_json_exact(text, (*PLANTED, *CONFIGURED))
    assert json.loads(text)["changes"] == document["changes"]
    # show renders the saved plan exactly as plan did, in every format
    shown = hostile.run("show", str(saved), "--format", "json").out
    assert json.loads(shown) == json.loads(text)
    assert_shown(hostile.run("show", str(saved)).out, PLANTED, "show text")
    md = hostile.run("show", str(saved), "--format", "markdown").out
    assert_markdown_inert(md, PLANTED, changes=changed_sections(text))


def test_dry_run_calls_are_inert_as_text_and_exact_as_json(hostile: Hostile) -> None:
    text = hostile.run("apply", "--dry-run", "-c", hostile.config).out
    for group in GROUPS:  # the call that changes it names it, shell-quoted and escaped
        shown = for_text(f"name={shlex.quote(group)}")
        assert any(
            "ajax=changePermission" in line and shown in line for line in text.split("\n")
        ), group
    calls = assert_json_exact(
        hostile.run("apply", "--dry-run", "-c", hostile.config, "--format", "json").out, GROUPS
    )
    names = {dict(c["params"]).get("name") for c in calls}
    assert set(GROUPS) <= names


def test_apply_reports_hostile_names_inertly_and_converges(hostile: Hostile) -> None:
    out = hostile.run("apply", "--auto-approve", "-c", hostile.config).out
    report = out.split("Apply results:", 1)[1]
    for group in GROUPS:
        shown = for_text("x" + group_address(group))[1:]
        assert any(
            line.startswith("  applied ") and shown in line for line in report.split("\n")
        ), group
    assert hostile.run("plan", "--detailed-exitcode", "-c", hostile.config).code == 0
    assert set(hostile.client.get_group_permissions("etl")) == set(CONFIG_GROUPS)


def test_apply_json_report_is_exact(hostile: Hostile) -> None:
    result = hostile.run("apply", "--auto-approve", "-c", hostile.config, "--format", "json")
    document = assert_json_exact(result.out, GROUPS)
    assert document["server_matches_configuration"] is True
    assert {c["status"] for c in document["changes"]} == {"applied"}


def test_a_saved_plan_of_hostile_names_applies_exactly(hostile: Hostile, tmp_path: Path) -> None:
    """The saved plan is read back into the very calls: every planted group is removed."""
    saved = tmp_path / "hostile.plan"
    hostile.run("plan", "-c", hostile.config, "--out", str(saved))
    hostile.run("apply", str(saved))
    assert set(hostile.client.get_group_permissions("etl")) == set(CONFIG_GROUPS)
    assert hostile.run("plan", "--detailed-exitcode", "-c", hostile.config).code == 0


def test_apply_with_markdown_writes_the_plan_inertly_and_the_report(hostile: Hostile) -> None:
    result = hostile.run("apply", "--auto-approve", "-c", hostile.config, "--format", "markdown")
    # stdout is one markdown document: the plan applied, then the report.
    split = result.out.index("\n### Apply results\n")
    md = result.out[: split + 1]
    assert md.startswith("## azstate plan")
    assert_markdown_inert(md, PLANTED, changes=md.count("<details"))
    report = rendered(result.out[split:])
    assert report.comments == [] and set(report.tags) <= ALLOWED_TAGS
    assert_inert(result.out, "markdown report")
    assert "Apply complete" in result.out
    assert hostile.run("plan", "--detailed-exitcode", "-c", hostile.config).code == 0


def test_apply_failure_quotes_a_hostile_user_name_inertly(
    tmp_path: Path,
    azkaban_env: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Users must exist on the server, so a hostile user name only comes from the TOML: apply
    fails on it, and the report line, its message and the error line stay inert."""
    monkeypatch.setenv("COLUMNS", "40")
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"]})
    ws = Workspace(tmp_path, azkaban_env, capsys)
    users = ("u\n::error title=x::y", "\u202eroot", "##[error]u")
    ws.write(hostile_config(groups=("ok",), users=users))
    scene = Hostile(ws, ws.client())
    result = scene.run("apply", "--auto-approve", "-c", scene.config, code=1)
    failed = [line for line in result.out.split("\n") if line.startswith("  failed ")]
    assert len(failed) == len(users)
    assert_shown("\n".join(failed), users, "failed lines")
    # stderr: the plan, one progress line per change (no terminal), then the one error line.
    progress = [line for line in result.err.split("\n") if line.startswith("  failed ")]
    assert_shown("\n".join(progress), users, "progress lines")
    (error,) = [line for line in result.err.split("\n") if line.startswith("Error:")]
    assert error.startswith("Error: apply did not complete")
    assert_inert(result.err, "stderr")


def test_every_hostile_name_can_be_targeted_in_the_form_plans_print(hostile: Hostile) -> None:
    """The address a plan prints (``group["..."]``, JSON escapes inside) is the one --target
    takes back, for every name of the corpus."""
    targets = [group_address(g) for g in GROUPS]
    assert [Address.parse(t) for t in targets] == [
        Address.permission("etl", "group", g) for g in GROUPS
    ]
    flags = [arg for t in targets for arg in ("--target", t)]
    plan = hostile.run("plan", "-c", hostile.config, "--format", "json", *flags).out
    changes = assert_json_exact(plan, GROUPS)["changes"]
    assert {c["address"] for c in changes if c["action"] != "no-op"} == set(targets)
    text = hostile.run("plan", "-c", hostile.config, *flags).out
    scope = next(line for line in text.split("\n") if line.startswith("Only the targeted"))
    assert_shown(scope, targets, "the targets line")
    md = hostile.run("plan", "-c", hostile.config, "--format", "markdown", *flags).out
    assert_markdown_inert(
        md, GROUPS, changes=len(changes) + md.count("changed outside azstate</summary>")
    )
    # apply one: the group whose name opens an HTML comment goes, and nothing else changes
    hidden = group_address("ops\n\n<!--")
    hostile.run("apply", "--auto-approve", "-c", hostile.config, "--target", hidden)
    live = hostile.client.get_group_permissions("etl")
    assert "ops\n\n<!--" not in live and set(GROUPS) - {"ops\n\n<!--"} <= set(live)


def test_validate_and_its_errors_are_inert(hostile: Hostile) -> None:
    hostile.run("validate", "-c", hostile.config)
    header = "[projects.etl.permissions.groups]\n"
    bad = hostile.ws.config.read_text().replace(
        header, header + '"##[error]x\\n::error::y\\u202e " = ["read"]\n'
    )
    hostile.ws.config.write_text(bad)
    result = hostile.run("validate", "-c", hostile.config, code=1)
    assert result.err.count("\n") == 1 and result.err.startswith("Error: ")
    assert "\\n::error::y\\u202e" in result.err


@pytest.mark.parametrize(
    "target",
    ["project.etl.bogus\n::error::x\u202e", "project.\x1b[2J##[error]x.files"],
)
def test_a_hostile_target_is_refused_or_shown_inertly(hostile: Hostile, target: str) -> None:
    result = hostile.ws.run("plan", "-c", hostile.config, "--target", target)
    assert_inert(result.out, "stdout")
    assert_inert(result.err, "stderr")
    if result.code:
        assert result.err.count("\n") == 1 and result.err.startswith("Error: ")


def test_argparse_errors_are_inert(hostile: Hostile) -> None:
    with pytest.raises(SystemExit) as exit_:
        hostile.ws.run("plan", "--format", "x\u202e\n::error::y")
    assert exit_.value.code == 1
    err = hostile.ws.capsys.readouterr().err
    assert_inert(err, "stderr")
    assert "x\\u202e\\n::error::y" in err


def test_verbose_call_log_is_inert(hostile: Hostile) -> None:
    """-v logs every call with its parameters (a group name, a description): run as a process,
    so the log goes through azstate's own handler."""
    env = {**os.environ, "COLUMNS": "40", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "azstate", "apply", "--dry-run", "-v", "-c", hostile.config],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "getPermissions" in done.stderr or "/manager" in done.stderr
    assert_inert(done.stdout, "stdout")
    assert_inert(done.stderr, "the call log")


def test_import_writes_exact_values_and_says_so_inertly(hostile: Hostile, tmp_path: Path) -> None:
    out_dir = tmp_path / "imported"
    result = hostile.run("import", "--all", "--out", str(out_dir))
    toml_text = (out_dir / "azstate.toml").read_text(encoding="utf-8")
    assert_inert(toml_text, "the imported TOML")
    doc = tomllib.loads(toml_text)
    etl = doc["projects"]["etl"]
    assert etl["description"] == SERVER_DESCRIPTION
    refused = [g for g in GROUPS if g != g.strip()]
    assert set(etl["permissions"]["groups"]) == set(GROUPS) - set(refused)
    assert_shown(result.err, refused, "import notes")  # and the plan will remove them:
    assert etl["schedules"]["daily"]["parameters"] == SERVER_PARAMETERS
    assert set(etl["schedules"]["daily"]["failure_emails"]) == set(SERVER_EMAILS)
    plan = hostile.run("plan", "-c", str(out_dir), "--format", "json").out
    changes = [c for c in json.loads(plan)["changes"] if c["action"] != "no-op"]
    assert {c["address"] for c in changes} == {group_address(g) for g in refused}


# Flow names come from the source's file names, which a pull request chooses (':' and '/' are
# refused as paths in the zip). A flow that disappears takes its schedule with it, and the
# plan's reason for that deletion quotes the name.
FLOWS = ("@team www.evil.example ##[error]x <!-- [l](https:x) `x`", "a\n##vso[b", "\u202erev")


def test_hostile_flow_names_in_validate_apply_and_the_reason_of_a_deletion(
    tmp_path: Path,
    azkaban_env: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    source = tmp_path / "src" / "etl"
    flow20(source, {flow: ["job"] for flow in FLOWS} | {"daily": ["job"]})
    ws = Workspace(tmp_path, azkaban_env, capsys)
    project = '[projects.etl]\ndescription = "d"\nsource = "src/etl"\n'
    ws.write(
        project
        + "".join(f'[projects.etl.schedules.{toml_str(f)}]\ncron = "0 0 2 ? * *"\n' for f in FLOWS)
    )
    scene = Hostile(ws, ws.client())
    assert_shown(scene.run("validate", "-c", scene.config).out, FLOWS, "validate")
    assert_shown(scene.run("apply", "--auto-approve", "-c", scene.config).out, FLOWS, "apply")
    for flow in FLOWS:
        (source / f"{flow}.flow").unlink()
    ws.write(project)
    text = scene.run("plan", "-c", scene.config).out
    reasons = [line for line in text.split("\n") if "removed by the server" in line]
    assert len(reasons) == len(FLOWS)
    assert_shown("\n".join(reasons), FLOWS, "reasons")
    plan_json = scene.run("plan", "-c", scene.config, "--format", "json").out
    document = assert_json_exact(plan_json, FLOWS)
    assert {c["address"] for c in document["changes"] if c["action"] == "delete"} == {
        str(Address.schedule("etl", flow)) for flow in FLOWS
    }
    md = scene.run("plan", "-c", scene.config, "--format", "markdown").out
    page = assert_markdown_inert(md, FLOWS, changes=changed_sections(plan_json))
    # the reasons are read in code, where a name is no link, mention or emoji
    in_code = [c for c in page.code if "removed by the server" in c]
    assert len(in_code) == len(FLOWS)
    assert_shown("\n".join(in_code), FLOWS, "reasons in code")


@pytest.mark.parametrize("as_json", [False, True])
def test_cron_command_shows_expressions_from_a_file_inertly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    """``azstate cron --file`` reads lines a pull request may have written."""
    lines = ("::error::x", "x ##[error]y \x1b[8m", "\u202e0 0 2 ? * *", "0 0 2 ? * * ##vso[z")
    crons = tmp_path / "crons.txt"
    crons.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["cron", "--file", str(crons), *(["--json"] if as_json else [])])
    captured = capsys.readouterr()
    assert code == 1
    assert_inert(captured.out, "cron stdout")
    assert_inert(captured.err, "cron stderr")
    if as_json:
        assert [json.loads(line)["expr"] for line in captured.out.splitlines()] == list(lines)
    else:
        assert_shown(captured.out, lines, "cron text")


def test_validate_resolved_prints_hostile_keys_values_and_file_names_inertly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--resolved prints the configuration as TOML with each value's file: a pull request
    chooses the values, the keys and the name of a file it adds to a configuration directory."""
    monkeypatch.setenv("COLUMNS", "40")
    flow_key = "a\n##vso[b \u202e\x7f"
    config = tmp_path / "conf"
    config.mkdir()
    (config / "a\n::error::x ##[warning]y.toml").write_text(
        hostile_config(groups=CONFIG_GROUPS)
        + f'\n[projects.etl.schedules.{toml_str(flow_key)}]\ncron = "0 0 3 ? * *"\n',
        encoding="utf-8",
    )
    flow20(config / "src" / "etl", {"daily": ["job"], flow_key: ["job"]})
    code = main(["validate", "--resolved", "-c", str(config)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert_inert(captured.out, "--resolved")
    assert_inert(captured.err, "--resolved stderr")
    etl = tomllib.loads(captured.out)["projects"]["etl"]  # still TOML, the same values
    assert etl["description"] == DESCRIPTION
    assert set(etl["permissions"]["groups"]) == set(CONFIG_GROUPS)
    assert etl["schedules"]["daily"]["parameters"] == PARAMETERS
    assert flow_key in etl["schedules"]
