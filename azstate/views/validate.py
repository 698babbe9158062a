"""What `azstate validate` prints on success: the files, what was found in them, warnings.

Names, crons and warnings come from the configuration, so each is a rich Text piece passed
through the neutralising hook, never markup; styles are the theme's (``--no-color`` and
NO_COLOR touch nothing here).
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.text import Text

from azstate import cron
from azstate.errors import CronError
from azstate.load import LoadedConfig
from azstate.views.counts import count
from azstate.views.neutral import for_text
from azstate.views.theme import THEME


def render_summary(loaded: LoadedConfig, console: Console, *, now: datetime) -> None:
    with console.use_theme(THEME):
        for line in summary_lines(loaded, now=now):
            console.print(line, soft_wrap=True)


def summary_lines(loaded: LoadedConfig, *, now: datetime) -> list[Text]:
    """The summary as lines: pure, so a test reads it without a console."""
    config = loaded.config
    zone = config.server.timezone
    schedules = sum(len(p.schedules) for p in config.projects.values())
    flows = sum(len(info.flows) for info in loaded.flows.values())
    files = ", ".join(str(f) for f in loaded.files)
    out = [
        Text.assemble(
            (for_text(files), "validate.file"),
            f": {count(len(config.projects), 'project')}, {count(flows, 'flow')} found, "
            f"{count(schedules, 'schedule')}",
        )
    ]
    for name in sorted(config.projects, key=str.lower):
        project = config.projects[name]
        info = loaded.flows.get(name)
        if info is None:
            found = "no source (files not managed)"
        else:
            listed = ", ".join(sorted(info.flows)) or "none"
            found = f"Flow {info.version}, flows: {listed}"
        marks = " (protected)" if project.protect else ""
        out.append(
            Text.assemble("  ", (for_text(name), "validate.project"), f"{marks}: ", for_text(found))
        )
        for flow in sorted(project.schedules):
            schedule = project.schedules[flow]
            out.append(
                Text(
                    f"    schedule {for_text(flow)}: {for_text(schedule.cron)}"
                    f"{_next_run(schedule.cron, zone, now)}"
                    f"{' + SLA' if schedule.sla is not None else ''}"
                )
            )
    for warning in loaded.warnings:
        out.append(Text.assemble(("Warning:", "warning"), " ", for_text(warning)))
    out.append(Text("The configuration is valid.", style="validate.ok"))
    return out


def _next_run(expr: str, zone: str, now: datetime) -> str:
    try:
        first = cron.parse(expr).next_after(now, zone)
    except CronError:
        return ""
    return f", next {first:%Y-%m-%d %H:%M %Z}" if first is not None else ""
