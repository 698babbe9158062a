"""Hypothesis strategies that more than one test file draws from.

A schedule's options depend on each other the way Azkaban's do (a level only with `pipeline` or
`queue`); each caller says which crons, addresses, jobs and properties its flows can hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from azstate.state import FailureAction, ScheduleValue


@st.composite
def schedule_values(
    draw: st.DrawFn,
    *,
    crons: st.SearchStrategy[str],
    max_level: int,
    emails: st.SearchStrategy[frozenset[str]],
    mail_creators: Sequence[str],
    disabled_jobs: st.SearchStrategy[frozenset[str]],
    parameters: st.SearchStrategy[Any],
    runtime_properties: st.SearchStrategy[Any],
    submitted_by: str | None = None,
) -> ScheduleValue:
    """Every option a schedule keeps, drawn; the level only where the concurrent option uses one."""
    concurrent = draw(st.sampled_from(["skip", "ignore", "pipeline", "queue"]))
    level = draw(st.integers(0, max_level))
    return ScheduleValue(
        cron=draw(crons),
        concurrent=concurrent,
        pipeline_level=level if concurrent == "pipeline" else None,
        queue_level=level if concurrent == "queue" else None,
        failure_action=draw(st.sampled_from(list(FailureAction))),
        failure_action_override=draw(st.booleans()),
        failure_emails=draw(emails),
        failure_emails_override=draw(st.booleans()),
        success_emails=draw(emails),
        success_emails_override=draw(st.booleans()),
        notify_on_first_failure=draw(st.booleans()),
        notify_on_last_failure=draw(st.booleans()),
        mail_creator=draw(st.sampled_from(list(mail_creators))),
        disabled_jobs=draw(disabled_jobs),
        parameters=draw(parameters),
        runtime_properties=draw(runtime_properties),
        back_execute_once=draw(st.booleans()),
        submitted_by=submitted_by,
    )
