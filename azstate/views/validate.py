"""What `azstate validate` prints on success: the files, what was found in them, warnings.

The view takes a ValidateSummary (plain values the command reads off the loaded configuration)
so it depends on no configuration model (style.md's layering). Names, crons and warnings come
from the configuration, so each is a rich Text piece passed through the neutralising hook,
never markup; styles are the theme's, so --no-color and NO_COLOR touch nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.text import Text

from azstate import cron
from azstate.errors import CronError
from azstate.views.counts import count
from azstate.views.neutral import for_text
from azstate.views.theme import THEME


@dataclass(frozen=True)
class ScheduleLine:
    flow: str
    cron: str
    has_sla: bool


@dataclass(frozen=True)
class ProjectLine:
    name: str
    protected: bool
    flow_version: str | None  # None: no source (files not managed)
    flows: tuple[str, ...]
    schedules: tuple[ScheduleLine, ...]


@dataclass(frozen=True)
class ValidateSummary:
    files: tuple[str, ...]
    timezone: str
    projects: tuple[ProjectLine, ...]
    flows_found: int
    warnings: tuple[str, ...]


def render_summary(summary: ValidateSummary, console: Console, *, now: datetime) -> None:
    with console.use_theme(THEME):
        for line in summary_lines(summary, now=now):
            console.print(line, soft_wrap=True)


def summary_lines(summary: ValidateSummary, *, now: datetime) -> list[Text]:
    """The summary as lines: pure, so a test reads it without a console."""
    schedules = sum(len(p.schedules) for p in summary.projects)
    out = [
        Text.assemble(
            (for_text(", ".join(summary.files)), "validate.file"),
            f": {count(len(summary.projects), 'project')}, "
            f"{count(summary.flows_found, 'flow')} found, {count(schedules, 'schedule')}",
        )
    ]
    for project in summary.projects:
        if project.flow_version is None:
            found = "no source (files not managed)"
        else:
            found = f"Flow {project.flow_version}, flows: {', '.join(project.flows) or 'none'}"
        marks = " (protected)" if project.protected else ""
        out.append(
            Text.assemble(
                "  ", (for_text(project.name), "validate.project"), f"{marks}: ", for_text(found)
            )
        )
        for schedule in project.schedules:
            out.append(
                Text(
                    f"    schedule {for_text(schedule.flow)}: {for_text(schedule.cron)}"
                    f"{_next_run(schedule.cron, summary.timezone, now)}"
                    f"{' + SLA' if schedule.has_sla else ''}"
                )
            )
    for warning in summary.warnings:
        out.append(Text.assemble(("Warning:", "warning"), " ", for_text(warning)))
    out.append(Text("The configuration is valid.", style="validate.ok"))
    return out


def _next_run(expr: str, zone: str, now: datetime) -> str:
    try:
        first = cron.parse(expr).next_after(now, zone)
    except CronError:
        return ""
    return f", next {first:%Y-%m-%d %H:%M %Z}" if first is not None else ""
