"""One error tree, caught once in cli.main.

    AzstateError                 anything a user can act on: one line, exit 1, no traceback
    ├── ConfigError              bad TOML or source: file, line, key path
    │   └── BaselineError        --baseline outside git, unknown revision, path missing there
    ├── CronError                an expression Quartz would refuse (or that never fires)
    ├── SourceError              a flow source that Azkaban would refuse (file named)
    ├── AzkabanError             the server answered with an error (call and server message)
    │   ├── SessionExpiredError  the session is no longer valid (re-login once)
    │   └── LoginError           wrong credentials or login refused
    ├── TransportError           connection failed, reset or timed out
    ├── PlanError                the plan itself is refused (protect, bad target)
    ├── StalePlanError           a saved plan no longer matches the server or configuration
    └── ApplyError               an apply that did not complete (details in its report)

Messages never hold passwords or session ids: wire/client.py redacts before raising. Context
(which resource was being read) is added with ``add_note``, so an error keeps its type;
``describe`` puts the notes in front of the message for the one line a user sees.
"""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """``outer note: inner note: message``, the way the error is shown (cli.main)."""
    return ": ".join([*reversed(getattr(exc, "__notes__", ())), str(exc)])


class AzstateError(Exception):
    """Base of every error a user can act on."""


class ConfigError(AzstateError):
    """A configuration problem, located as precisely as we can."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class CronError(AzstateError):
    """A cron expression Quartz 2.2.1 refuses, or one that never fires."""


class SourceError(AzstateError):
    """A project source (directory or zip) that Azkaban's loader would reject."""

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.message = message
        self.file = file
        super().__init__(f"{file}: {message}" if file else message)


class AzkabanError(AzstateError):
    """The server refused a call. Carries the call and the server's own words."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        action: str = "",
        status: int | None = None,
    ) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.action = action
        self.status = status
        call = " ".join(p for p in (method, path, action) if p)
        super().__init__(f"{call}: {message}" if call else message)


class SessionExpiredError(AzkabanError):
    """The server no longer knows our session: log in again and retry once."""


class LoginError(AzkabanError):
    """Login refused: wrong user or password, or a server that will not log us in."""


class TransportError(AzstateError):
    """The request never got a usable reply: refused, reset, timed out."""

    def __init__(self, message: str, *, may_have_reached_server: bool = True) -> None:
        self.may_have_reached_server = may_have_reached_server
        super().__init__(message)


class PlanError(AzstateError):
    """A plan that must not be made: it deletes a protected project, or a target is unknown."""


class StalePlanError(AzstateError):
    """A saved plan no longer matches the live server or the configuration."""

    def __init__(self, message: str, *, changed: tuple[str, ...] = ()) -> None:
        self.changed = changed
        super().__init__(message)


class ApplyError(AzstateError):
    """An apply that failed or was partial; the report has been printed already."""


class BaselineError(ConfigError):
    """``--baseline REV`` cannot be read: not in a git repository, an unknown revision, or the
    configuration path missing at that revision."""
