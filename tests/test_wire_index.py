"""The /index?all description parser: on transcript 46, and on the sandbox over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from azstate.sandbox.server import SandboxServer
from azstate.wire.index import descriptions_from_index, unescape_utf16
from tests.test_sandbox import Az

TRANSCRIPT = Path(__file__).parent / "conformance" / "transcripts" / "46-index-all-descriptions.txt"


def test_transcript_46_descriptions_come_back_exactly() -> None:
    page = TRANSCRIPT.read_text()
    got = descriptions_from_index(page)
    assert got == {
        "idxa_desc": "  lead & trail <b>x</b> café\nsecond line\ttab  ",
        "fleet-06": "fleet project 6",
    }


def test_surrogate_pairs_are_joined_before_unescaping() -> None:
    assert unescape_utf16("a &#55357;&#56832; b &amp;lt;") == "a \U0001f600 b &lt;"
    assert unescape_utf16("&#x1F600;&#233;") == "\U0001f600é"
    assert unescape_utf16("&#233;&#56832;") == "é\ufffd"  # a lone low half stays broken


def test_a_page_that_is_no_project_list_is_none() -> None:
    assert descriptions_from_index("<html><body>Login</body></html>") is None
    assert descriptions_from_index('<ul id="project-list">\n  </ul>') == {}


TEXTS = [
    "plain",
    "  lead & trail <b>x</b> café\nsecond line\ttab  ",
    "emoji \U0001f600 and \u4e2d\u6587 and \u00a0nbsp",
    "crlf\r\nline <br> !NEWLINE! <br/> &amp; &#65; '\"",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("text", TEXTS)
def test_descriptions_read_from_the_sandbox_index_equal_what_was_stored(
    sandbox: SandboxServer, text: str
) -> None:
    az = Az(sandbox.url)
    az.create("idx", text)
    az.create("other", "other")
    page = az.get("/index", all="").text
    assert descriptions_from_index(page) == {"idx": text, "other": "other"}


def test_changed_descriptions_including_over_2048_show_on_the_index(
    sandbox: SandboxServer,
) -> None:
    """changeDescription over 2048 posts no event but replaces the text: the index shows it."""
    az = Az(sandbox.url)
    az.create("idx", "first")
    long = "z" * 3000
    reply = az.post("/manager", ajax="changeDescription", project="idx", description=long)
    assert "error" in reply.json()
    got = descriptions_from_index(az.get("/index", all="").text)
    assert got == {"idx": long}
