"""Descriptions as the server stores and shows them (issue 14 item 6, azkaban-api.md section 14).

The server keeps a description exactly; the project page shows it exactly except that
``<br>``, ``<br/>`` and a literal ``!NEWLINE!`` all come out as ``<br>``. The page parser must
give back that shown form (white space, emoji and entities included), and the plan compares
both sides in it, so that a description that cannot differ on the page is never a change and
one that can is always one.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from azstate.address import Address
from azstate.errors import PlanError
from azstate.resources import ProjectContext, unit_for
from azstate.resources.project import same_description
from azstate.sandbox import pages
from azstate.state import LiveIds, ProjectState
from azstate.wire.replies import description_as_shown, description_from_page, unescape_page_text

SCENARIOS = Path(__file__).parent / "conformance" / "scenarios"

TEXTS = [
    "plain",
    "  padded on both sides  ",
    "ends with a newline\n",
    "first line\r\nsecond line",
    "col1\tcol2",
    "\t\t",
    "",
    "deploy 🚀 nightly",
    "ok ✅ 😀",
    "a<br/>b<br>c<BR>d<br />e",
    "literal !NEWLINE! marker",
    "x &amp; y & z <i>q</i> \"dq\" 'sq'",
    "café ü € 中 \xa0nbsp",
    "\xa0",
    "&lt;br&gt; is not a break",
    "<br<br>/>",
]


def _page(description: str) -> str:
    return pages.project_page(
        "etl",
        1,
        description,
        ["daily"],
        ["azkaban"],
        created="2026-12-02 10:00:00",
        modified="2026-12-02 10:00:00",
        modified_by="azkaban",
    )


@pytest.mark.parametrize("text", TEXTS, ids=[repr(t) for t in TEXTS])
def test_the_page_parser_gives_the_shown_form(text: str) -> None:
    """The sandbox writes the page as the real server does (twice escaped, breaks marked)."""
    assert description_from_page(_page(text)) == description_as_shown(text)


def test_the_shown_form_differs_only_in_breaks() -> None:
    assert description_as_shown("a<br/>b<br>c!NEWLINE!d") == "a<br>b<br>c<br>d"
    assert description_as_shown("a<BR>b<br />c") == "a<BR>b<br />c"  # exact spellings only
    assert description_as_shown("  x\r\n\t") == "  x\r\n\t"  # white space is kept exactly
    for text in TEXTS:
        assert description_as_shown(description_as_shown(text)) == description_as_shown(text)


def test_emoji_references_are_joined() -> None:
    """One ``&#N;`` per UTF-16 unit: a standard unescape would give two U+FFFD."""
    assert unescape_page_text("&#55357;&#56960;") == "🚀"
    assert description_from_page(_page("🚀 and 😀")) == "🚀 and 😀"


def test_recorded_pages_agree_with_the_parser() -> None:
    """The recorded scenarios: the recorder's marker is the page's element once unescaped and
    trimmed; escaped back into a page, the parser reads it as the shown form of what was sent
    (trimmed, since the marker is)."""
    checked = 0
    for name in ("description-whitespace", "description-escaping-unicode"):
        sent = {
            step["name"]: dict(step["form"]).get("description")
            for step in json.loads((SCENARIOS / f"{name}.json").read_text())["steps"]
            if step.get("form")
        }
        golden = json.loads((SCENARIOS / f"{name}.golden.json").read_text())
        for step in golden["steps"]:
            marker = (step["body"].get("markers") or {}).get("project_description")
            if marker is None or not step["name"].startswith("page-"):
                continue
            suffix = step["name"].removeprefix("page-")
            text = sent.get(f"create-{suffix}", sent.get(suffix))
            assert text is not None, step["name"]
            page = f'<p class="editable" id="project-description">{html.escape(marker)}</p>'
            parsed = description_from_page(page)
            assert parsed is not None
            assert parsed.strip() == description_as_shown(text).strip(), step["name"]
            checked += 1
    assert checked >= 10


def _ctx(want: str, have: str | None) -> ProjectContext:
    return ProjectContext(
        name="etl",
        desired=ProjectState(name="etl", description=want),
        live=ProjectState(name="etl", description=have, ids=LiveIds(project_id=1)),
        user="azkaban",
    )


@pytest.mark.parametrize(
    ("want", "have", "changed"),
    [
        ("Nightly ETL\n", "Nightly ETL\n", False),
        ("Nightly ETL\n", "Nightly ETL", True),  # a trailing newline is stored, so it counts
        ("  x", "x", True),
        ("a<br/>b", "a<br>b", False),  # the page cannot tell them apart
        ("a!NEWLINE!b", "a<br>b", False),
        ("a<BR>b", "a<br>b", True),
        ("ok ✅ 😀", "ok ✅ 😀", False),
    ],
)
def test_one_comparison_serves_every_reader(want: str, have: str, changed: bool) -> None:
    """``have`` as the page shows it or as /index?all lists it exactly: the same verdict."""
    assert same_description(want, have) is not changed
    assert same_description(want, description_as_shown(have)) is not changed
    changes = unit_for(Address.project_("etl").kind).plan(_ctx(want, have))
    assert bool(changes) is changed
    if changed:
        assert dict(changes[0].calls[0].params)["description"] == want  # sent exactly


def test_a_description_not_read_stops_the_plan() -> None:
    with pytest.raises(PlanError, match=r"project\.etl: its description was not read"):
        unit_for(Address.project_("etl").kind).plan(_ctx("x", None))


def test_the_index_listing_reads_with_the_same_unescape() -> None:
    """Transcript 46 (a real /index?all): escaped once, white space raw. Its exact text and
    the project page's form compare through the same function."""
    transcript = Path("/work/shared/azkaban-transcripts/46-index-all-descriptions.txt")
    if not transcript.exists():
        pytest.skip("the shared transcripts are not on this machine")
    found = re.search(
        r'<p class="project-description">(.*?)</p>', transcript.read_text(), re.DOTALL
    )
    assert found is not None
    exact = unescape_page_text(found.group(1))
    assert exact == "  lead & trail <b>x</b> café\nsecond line\ttab  "
    assert same_description(exact, description_from_page(_page(exact)) or "")
