"""Counts read as English: one thing, two things, never "1 changes" or "project(s)"."""

from __future__ import annotations

from azstate.views.counts import count
from azstate.views.report import complete_line


def test_count_agrees_with_its_number() -> None:
    assert count(1, "project") == "1 project"
    assert count(2, "project") == "2 projects"
    assert count(0, "change") == "0 changes"
    assert count(1_000, "change") == "1,000 changes"
    assert count(1, "resource has", "resources have") == "1 resource has"
    assert count(3, "resource has", "resources have") == "3 resources have"


def test_apply_complete_line_uses_the_singular_for_one_change() -> None:
    assert complete_line(1).plain == (
        "Apply complete: 1 change applied; the server matches the configuration."
    )
    assert complete_line(2).plain.startswith("Apply complete: 2 changes applied;")
