"""Hostile values from a server or a configuration are neutralised in every view.

A value may carry ANSI escapes, a newline starting a GitHub Actions command (``::error``), bidi
overrides, zero-width characters, an HTML comment opener or backticks: printed, each must read
as the characters it is, on its own line, unable to act.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from azstate.origins import Origin
from azstate.plan import Action, Baseline, Change, Plan
from azstate.views import markdown, neutral, text
from tests.test_views_fixtures import NOW, SERVER, TZ, console, output, schedule

ANSI = "\x1b[31mred\x1b[0m"
CI = "x\n::error::pwned"
BIDI = "admin\u202eexe.txt"
ZERO_WIDTH = "ro\u200bot"
COMMENT = "<!-- hidden"
TICKS = "a```b`c"
HOSTILE = (ANSI, CI, BIDI, ZERO_WIDTH, COMMENT, TICKS)
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


SHOWN_AS = {
    ANSI: "\\u001b[31mred\\u001b[0m",
    CI: "x\\n::error::pwned",
    BIDI: "admin\\u202eexe.txt",
    ZERO_WIDTH: "ro\\u200bot",
    "tab\there\r": "tab\\there\\r",
    "\u2028\ufeff\U000e0041": "\\u2028\\ufeff\\udb40\\udc41",
    "plain café → ok": "plain café → ok",
}


@pytest.mark.parametrize(("raw", "shown"), SHOWN_AS.items())
def test_for_text_escapes_what_could_act_or_hide(raw: str, shown: str) -> None:
    assert neutral.for_text(raw) == shown


def test_code_span_cannot_be_closed_and_stays_on_one_line() -> None:
    span = neutral.md_code("a``b\nc")
    assert span == "```a``b\\nc```"
    html = MarkdownIt("commonmark").render(f"x {span} y")
    assert "<code>a``b\\nc</code>" in html
    assert neutral.md_cell("a|b") == "`a\\|b`"


def hostile_plan() -> Plan:
    everything = " ".join(HOSTILE)
    changes = (
        Change(
            address="project.etl.schedule.daily",
            action=Action.UPDATE,
            before=schedule("0 0 2 ? * *", failure_emails=[ANSI], parameters={"k": "v"}),
            after=schedule(
                "0 0 2 ? * *",
                failure_emails=[CI, BIDI],
                parameters={"k": COMMENT, TICKS: ZERO_WIDTH},
            ),
            reason=everything,
        ),
        Change(address="project.etl", action=Action.CREATE, after={"description": everything}),
    )
    conflict = Change(
        address="project.other",
        action=Action.UPDATE,
        before={"description": "server"},
        after={"description": "ok"},
        base={"description": everything},
        origin=Origin.CONFLICT,
        field_origins={"description": Origin.CONFLICT},
    )
    # A three-way plan: the baseline's value of a conflict and the revision are shown too.
    baseline = Baseline(revision=everything, commit="0" * 40)
    return Plan(
        server=SERVER, timezone=TZ, changes=(*changes, conflict), baseline=baseline
    )


def test_text_view_neutralises_every_value() -> None:
    con = console(200)
    text.render(hostile_plan(), con, now=NOW)
    out = output(con)
    assert not INVISIBLE.search(out)
    assert not re.search(r"^\s*::error", out, re.M)
    assert "\\u001b[31mred" in out and "admin\\u202eexe.txt" in out and "ro\\u200bot" in out
    assert "x\\n::error::pwned" in out


def test_markdown_view_neutralises_every_value() -> None:
    md = markdown.render(hostile_plan(), now=NOW)
    assert not INVISIBLE.search(md)
    assert not re.search(r"^\s*::error", md, re.M)
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<!--" not in html  # never a live HTML comment swallowing the rest
    assert html.count("<details") == html.count("</details>")
    # every fence holds: the values stay inside the diff blocks
    assert html.count('<pre><code class="language-diff">') == 3
    assert "x\\n::error::pwned" in html
    assert "\\u001b[31mred" in html
