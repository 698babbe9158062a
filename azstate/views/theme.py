"""Semantic styles for every view: one place decides what a create or a failure looks like.

Views name styles by meaning (``plan.create``), never by colour, so a colour change or a
user's ``--no-color`` touches nothing else. Renderers push THEME onto the console they are
given (``console.use_theme``), so the command's consoles need no setup.
"""

from __future__ import annotations

from typing import assert_never

from rich.theme import Theme

from azstate.plan import Action

THEME = Theme(
    {
        "plan.header": "bold",
        "plan.legend": "dim",
        "plan.create": "green",
        "plan.update": "yellow",
        "plan.delete": "red",
        "plan.replace": "magenta",
        "plan.create.address": "bold green",
        "plan.update.address": "bold yellow",
        "plan.delete.address": "bold red",
        "plan.replace.address": "bold magenta",
        "plan.legend.address": "bold",
        "plan.field": "cyan",
        "plan.old": "red",
        "plan.new": "green",
        "plan.added": "green",
        "plan.removed": "red",
        "plan.cron": "italic",
        "plan.reason": "dim",
        "plan.summary": "bold",
        "plan.no_changes": "bold green",
        "plan.warning": "bold red",
        "call.method": "bold",
        "call.path": "cyan",
        "call.upload": "magenta",
        "report.applied": "green",
        "report.failed": "bold red",
        "report.not_attempted": "yellow",
        "report.message": "red",
        "validate.file": "bold",
        "validate.project": "bold",
        "validate.ok": "green",
        "warning": "yellow",
        "note": "yellow",
    }
)


def action_style(action: Action) -> str:
    match action:
        case Action.CREATE:
            return "plan.create"
        case Action.UPDATE:
            return "plan.update"
        case Action.REPLACE:
            return "plan.replace"
        case Action.DELETE:
            return "plan.delete"
        case Action.NO_OP:
            return "plan.legend"
        case _:
            assert_never(action)


def action_symbol(action: Action) -> str:
    """Terraform's symbols, which reviewers already read at a glance."""
    match action:
        case Action.CREATE:
            return "+"
        case Action.UPDATE:
            return "~"
        case Action.REPLACE:
            return "-/+"
        case Action.DELETE:
            return "-"
        case Action.NO_OP:
            return " "
        case _:
            assert_never(action)


def action_phrase(action: Action) -> str:
    match action:
        case Action.CREATE:
            return "will be created"
        case Action.UPDATE:
            return "will be updated in place"
        case Action.REPLACE:
            return "will be deleted and re-created"
        case Action.DELETE:
            return "will be deleted"
        case Action.NO_OP:
            return "is unchanged"
        case _:
            assert_never(action)


def legend_phrase(action: Action) -> str:
    match action:
        case Action.CREATE:
            return "create"
        case Action.UPDATE:
            return "update in place"
        case Action.REPLACE:
            return "delete, then create again"
        case Action.DELETE:
            return "delete"
        case Action.NO_OP:
            return "no change"
        case _:
            assert_never(action)
