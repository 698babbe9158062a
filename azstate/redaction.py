"""Masking of passwords and session ids, for every message azstate logs or shows.

The client masks what it knows (its password, the session ids it was given) before raising or
logging; the logging filter here is the second line, for records made by code that knows no
secrets (urllib3, the sandbox's request log): any ``session.id``/``password`` value is masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
SECRET_PARAMS = frozenset({"password", "session.id"})
_SHORTEST_MASKED = 3
_SECRET_PAIR = re.compile(
    r"""(?P<key>session\.id|password)(?P<sep>"?\s*[=:]\s*"?)(?P<value>[^&\s;"',}\]]+)""",
    re.IGNORECASE,
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret, and any `session.id=`/`password=` value, masked.

    The password is masked wherever it appears (even as a user name, as in azkaban/azkaban):
    a log that shows the user name is a small price for one that never shows the password.
    Secrets shorter than three characters are masked only as parameter values.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) < _SHORTEST_MASKED:
            continue
        for form in {secret, quote_plus(secret), quote(secret, safe="")}:
            text = text.replace(form, MASK)
    return _SECRET_PAIR.sub(lambda m: f"{m['key']}{m['sep']}{MASK}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record whose message holds a session id or password value.

    A traceback attached to a record (urllib3 logs some with ``exc_info``) would print the URL,
    session id included, past the message's redaction; it is cut to its last line, redacted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message} ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        cleaned = redact(message)
        if cleaned != record.msg or record.args:
            record.msg, record.args = cleaned, None
        return True
