"""The one choke point every server- or configuration-controlled string passes before output.

A project description, a flow name, an email or a server's error message is written by someone
else: printed raw it could move the cursor or recolour a terminal (ANSI escapes), start a
GitHub Actions command in a CI log (a newline then ``::error::``), reorder what a reviewer reads
(bidi overrides), hide itself (zero-width characters), or close the code span or HTML tag of a
pull-request comment and inject markup. Renderers never print such a value except through a
function here, so hardening it (issue 15) changes one module.

Text: control, format (bidi, zero-width) and line/paragraph separator characters are shown as
escapes (``\\n``, ``\\x1b``, ``\\u202e``); a value is always one line.
Markdown: values go only into code spans or fences they cannot close (the fence is longer than
any backtick run inside), into HTML with its specials escaped, or into prose with markdown's
specials backslash-escaped; ``|`` is escaped in table cells; newlines are never raw.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from azstate.sensitive import shown

# C0 and C1 controls, DEL, soft hyphen, Arabic letter mark, Mongolian vowel separator,
# zero-width and directional marks, bidi embeddings/overrides/isolates, line and paragraph
# separators, invisible operators, BOM, interlinear annotations and tag characters.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|<>~&])")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def for_text(value: str) -> str:
    """A value for a terminal or a CI log: one line, nothing invisible or able to act; the
    digest standing for a sensitive value (azstate/sensitive.py) shown as ``(sensitive)``."""
    return _INVISIBLE.sub(_escape_char, shown(value))


def for_markdown_code(value: str) -> str:
    """A value for a line inside a fence built by ``fenced`` (which picks the fence length)."""
    return for_text(value)


def md_code(value: str) -> str:
    """An inline code span the value cannot close: its fence is longer than any backtick run
    inside, padded when the value starts or ends with a backtick."""
    text = for_text(value)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_cell(value: str) -> str:
    """A code span inside a GFM table row, where an unescaped ``|`` would split the cell."""
    return md_code(value).replace("|", "\\|")


def md_html(value: str) -> str:
    """A value inside raw HTML (the ``<summary>`` of a section)."""
    return html.escape(for_text(value))


def md_prose(value: str) -> str:
    """A sentence that embeds values (a change's reason): shown as typed, no links, emphasis,
    tags, headings or comments (``<!--``)."""
    return _MD_SPECIAL.sub(r"\\\1", for_text(value))


def fenced(lines: Iterable[str], info: str = "diff") -> str:
    """A fenced block no line can close: lines are neutralised (one line each) and the fence
    is longer than any backtick run inside."""
    body = "\n".join(for_markdown_code(line) for line in lines)
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"
