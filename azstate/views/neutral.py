"""The one choke point every server- or configuration-controlled string passes before output.

A project description, a group name, a flow name, an email or a server's error message is
written by someone else (Azkaban lets any project admin add a group of any name): printed raw it
could move the cursor or recolour a terminal (ANSI escapes), run a GitHub Actions, Azure
Pipelines or TeamCity command in a CI log (``::add-mask::`` at the start of a line; ``##[``,
``##vso[`` or ``##teamcity[`` anywhere in one), reorder what a reviewer reads (bidi overrides),
hide itself (zero-width characters), or close the code span or HTML tag of a pull-request
comment and inject markup (an HTML comment hiding a deletion, a heading, a tracking image, a
link, a mention). Renderers never print such a value except through a function here, so
hardening it (issue 15) changes one module.

Text (``for_text``): control, format (bidi, zero-width) and line/paragraph separator characters
are shown as JSON escapes (``\\n``, ``\\u001b``, ``\\u202e``), so a value is always one line; a
value that starts (after white space) with ``:`` shows that colon as ``\\u003a`` (a line starting
with ``::`` is a workflow command); in ``##[``, ``##vso[`` and ``##teamcity[`` a ``#`` is shown as
``\\u0023``. JSON's spelling, because an address shows a name in JSON quotes
(``group["ops\\n"]``): what is shown is what ``--target`` takes back. The rules do not depend on
where the value lands, because any value may be laid out first on a line (after an indent); the
views print with ``soft_wrap`` so no line is ever folded at the console width, which would start
a new line in the middle of a value. The same function serves the text plan, the apply report,
the dry run, validate, import's notes, the cron command, cli's error line and the log
(``NeutralFormatter``).
Markdown: values go only into code spans or fences they cannot close (the fence is longer than
any backtick run inside), or into HTML with its specials escaped; ``|`` is escaped in table
cells; newlines are never raw. Markdown is applied to the text form, so a comment printed to a
CI log is as inert as the text plan.
JSON (``for_json``): exact, ASCII only, and no ``##`` (the second ``#`` is written ``\\u0023``,
which parses back to the same string).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable

# C0 and C1 controls, DEL, soft hyphen, Arabic letter mark, Mongolian vowel separator,
# zero-width and directional marks, bidi embeddings/overrides/isolates, line and paragraph
# separators, invisible operators, BOM, interlinear annotations and tag characters; and lone
# surrogates (a JSON reply can hold "\\ud800"), which no encoder can print.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A workflow command is a line that, trimmed of (any Unicode) white space, starts with '::'. A
# value's leading ':' is escaped even alone: laid out first on a line, a ': ' may follow it.
_LEADING_COLON = re.compile(r"^(\s*):")
# The runners' older form, read anywhere in a line: '##[' (GitHub, Azure), '##vso[' (Azure) and
# '##teamcity[' (TeamCity's service messages, same shape).
_RUNNER_COMMAND = re.compile(r"#(?=#(?:vso|teamcity)?\[)", re.IGNORECASE)
_PIPE_AFTER_BACKSLASH = re.compile(r"(?<=\\)\|")


def _escape_char(match: re.Match[str]) -> str:
    """JSON's spelling (``\\n``, ``\\u001b``, a surrogate pair above U+FFFF): an address is
    shown with its name in JSON quotes (``group["ops\\n"]``), and what is shown must be what
    ``--target`` takes back."""
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    point = ord(char)
    if point < 0x10000:
        return f"\\u{point:04x}"
    high, low = divmod(point - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def for_text(value: str) -> str:
    """A value for a terminal or a CI log: one line, nothing invisible or able to act, wherever
    on the line it is put. Idempotent: an already neutral value is returned unchanged."""
    if (
        value.isascii()
        and value.isprintable()  # for ASCII: no C0 control and no DEL
        and "##" not in value
        and not value.lstrip().startswith(":")
    ):
        return value  # the common case, in a few C-level checks (a plan calls this a lot)
    text = _INVISIBLE.sub(_escape_char, value)
    text = _RUNNER_COMMAND.sub(r"\\u0023", text)
    return _LEADING_COLON.sub(r"\1\\u003a", text)


def _span(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_code(value: str) -> str:
    """An inline code span the value cannot close: its fence is longer than any backtick run
    inside, padded when the value starts or ends with a backtick. Nothing in a code span is
    markup: no HTML, comment, link, image, emoji or mention."""
    return _span(for_text(value))


def md_cell(value: str) -> str:
    """A code span inside a GFM table row, where an unescaped ``|`` would split the cell.

    A ``|`` right after a backslash is shown as ``\\u007c``: GitHub reads ``\\\\|`` as an escaped
    backslash and a cell boundary, markdown-it as an escaped pipe, so neither may be left to
    chance."""
    text = _PIPE_AFTER_BACKSLASH.sub(r"\\u007c", for_text(value))
    return _span(text).replace("|", "\\|")


def md_html(value: str) -> str:
    """A value inside raw HTML (the ``<summary>`` of a section): no tag, entity or comment, and
    one line, so the HTML block cannot end early and let markdown in."""
    return html.escape(for_text(value))


def fenced(lines: Iterable[str], info: str = "diff") -> str:
    """A fenced block no line can close: lines are neutralised (one line each) and the fence
    is longer than any backtick run inside."""
    body = "\n".join(for_text(line) for line in lines)
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def for_json(document: str) -> str:
    """A JSON document (dumped with ``ensure_ascii=True``) that a CI log cannot read as a
    command: ``#`` only occurs inside strings, where ``\\u0023`` is the same character, so no
    ``##`` is left (Plan.dumps does the same: the core cannot import a view)."""
    return document.replace("##", "#\\u0023")


class NeutralFormatter(logging.Formatter):
    """Log records (``-v``'s call log quotes request parameters: descriptions, group names)
    formatted as one neutral line each."""

    def format(self, record: logging.LogRecord) -> str:
        return for_text(super().format(record))
