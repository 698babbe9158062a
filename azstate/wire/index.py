"""The `/index?all` page: every active project's description in one call (azkaban-api.md s.14).

The project page shows one description, escaped twice, per request; the index page lists every
active project (no permission filter) with its description escaped once, raw white space kept,
in `<p class="project-description">`. A cold plan reads it once instead of one page per project.

The page escapes every character beyond ASCII as `&#N;` per UTF-16 unit, so an emoji arrives as
two surrogate references: they are joined before unescaping (a standard unescape turns each
half into U+FFFD). Transcript 46 and the `description-*` scenarios are the reference.
"""

from __future__ import annotations

import html
import re

from azstate.plan import Call

_ITEM = re.compile(
    r'<div class="project-info">\s*<h4>\s*<a\s+href="/manager\?project=([^"]*)">'
    r"(.*?)</div>",
    re.DOTALL,
)
_DESCRIPTION = re.compile(r'<p class="project-description">(.*?)</p>', re.DOTALL)
_REFERENCE_PAIR = re.compile(r"&#(x[0-9a-fA-F]+|\d+);&#(x[0-9a-fA-F]+|\d+);")
_PROJECT_LIST = re.compile(r'<ul id="project-list">')


def index_all() -> Call:
    """GET /index?all: an HTML page any logged-in user may read."""
    return Call(method="GET", path="/index", params=(("all", ""),), mutating=False)


def _code(ref: str) -> int:
    return int(ref[1:], 16) if ref[0] in "xX" else int(ref)


def unescape_utf16(text: str) -> str:
    """`html.unescape`, after joining each `&#high;&#low;` surrogate pair into one character."""

    def join(match: re.Match[str]) -> str:
        high, low = _code(match[1]), _code(match[2])
        if 0xD800 <= high < 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return match[0]

    return html.unescape(_REFERENCE_PAIR.sub(join, text))


def descriptions_from_index(page: str) -> dict[str, str | None] | None:
    """Project name -> description as stored, from the `/index?all` page.

    None when the page is not a project list at all (a login page, an error page): the caller
    then reads project pages instead. A project listed without a description element maps to
    None (unknown, never a change), not to "".
    """
    out: dict[str, str | None] = {}
    for item in _ITEM.finditer(page):
        name = html.unescape(item[1])
        found = _DESCRIPTION.search(item[2])
        out[name] = unescape_utf16(found[1]) if found is not None else None
    if not out and _PROJECT_LIST.search(page) is None:
        return None
    return out
