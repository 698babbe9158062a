"""[defaults.schedule] and [defaults.sla], filled into the merged document before validation.

Filling the document rather than the models keeps one rule for everything after it: the value
is checked by the schedule's own model (required keys such as ``cron`` after defaults), and a
message about it points, through Origins, at the line of [defaults] that wrote it.

An option is filled whole: a schedule that sets ``parameters`` gets none of the default
parameters, as with any other option (explicit value > default > Azkaban's default). A default
``pipeline_level`` is skipped for a schedule that sets a ``concurrent`` other than pipeline,
so one default of both keys does not make every skip schedule invalid. A default never
creates an SLA: [defaults.sla] fills only the sla tables that exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from azstate.layers import KeyPath, copy_tree

# called with (where the value goes, where it was written) for every value filled in
Filled = Callable[[KeyPath, KeyPath], None]


def apply_defaults(document: dict[str, Any], filled: Filled) -> None:
    """Fills every schedule (and every existing sla table) of ``document`` in place."""
    defaults = document.get("defaults")
    if not isinstance(defaults, Mapping):
        return
    schedule_defaults = defaults.get("schedule")
    sla_defaults = defaults.get("sla")
    if not isinstance(schedule_defaults, Mapping):
        schedule_defaults = {}
    if not isinstance(sla_defaults, Mapping):
        sla_defaults = {}
    if not schedule_defaults and not sla_defaults:
        return
    projects = document.get("projects")
    if not isinstance(projects, Mapping):
        return
    for name, project in projects.items():
        schedules = project.get("schedules") if isinstance(project, Mapping) else None
        if not isinstance(schedules, Mapping):
            continue
        for flow, schedule in schedules.items():
            if not isinstance(schedule, dict):
                continue
            at: KeyPath = ("projects", name, "schedules", flow)
            _fill(schedule, schedule_defaults, at, ("defaults", "schedule"), filled)
            sla = schedule.get("sla")
            if isinstance(sla, dict):
                _fill(sla, sla_defaults, (*at, "sla"), ("defaults", "sla"), filled)


def _fill(
    table: dict[str, Any],
    defaults: Mapping[str, Any],
    at: KeyPath,
    source: KeyPath,
    filled: Filled,
) -> None:
    for key, value in defaults.items():
        if key in table or key == "sla":
            continue
        if key == "pipeline_level" and not _may_pipeline(table.get("concurrent")):
            continue
        table[key] = copy_tree(value)
        filled((*at, key), (*source, key))


def _may_pipeline(concurrent: object) -> bool:
    return concurrent is None or (
        isinstance(concurrent, str) and concurrent.strip().lower() == "pipeline"
    )
