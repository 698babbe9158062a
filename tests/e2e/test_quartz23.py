"""A cron only Quartz 2.2 accepts (issue 13 item 5), end to end against the sandbox.

The sandbox runs Quartz 2.2.1's rules as Azkaban does, so it takes `0/60 0 2 ? * *` and fires
it at 02:00:00; a server built with Quartz 2.3 refuses it. azstate refuses it in configuration,
and reads a live one as the `0 0 2 ? * *` it means: no change in the plan, that form on import.
"""

from __future__ import annotations

import tomllib

from azstate.wire.client import AzkabanClient
from tests.e2e.workspace import DAILY, ETL, Workspace, raw_fetch_schedule, raw_schedule

ONLY_22 = "0/60 0 2 ? * *"


def repost_cron(client: AzkabanClient, expr: str) -> None:
    """What a 2.2 server's web UI stores when someone types the old form."""
    raw_schedule(client, "etl", "daily", cron=expr)


def live_cron(client: AzkabanClient) -> str:
    return str(raw_fetch_schedule(client, 1, "daily")["cronExpression"])


def test_validate_refuses_a_cron_quartz23_refuses_in_one_line(ws: Workspace) -> None:
    config = ws.write(ETL + DAILY.replace("0 0 2 ? * *", ONLY_22))
    result = ws.run("validate", "-c", str(config))
    assert result.code == 1
    assert result.out == ""
    (line,) = result.err.splitlines()
    assert "azstate.toml:" in line and "projects.etl.schedules.daily.cron" in line
    assert "refused by Quartz 2.3 and later: step 60 exceeds 59 in the seconds field" in line
    assert "'0 0 2 ? * *'" in line
    assert "Traceback" not in result.err


def test_a_live_quartz22_cron_plans_no_change_and_imports_as_what_it_means(
    ws: Workspace,
) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    client = ws.client()
    repost_cron(client, ONLY_22)
    assert live_cron(client) == ONLY_22  # kept as sent, as Azkaban keeps it
    ws.assert_converged()
    out = ws.root / "imported"
    result = ws.run("import", "--out", str(out), "--project", "etl")
    assert result.code == 0, result.err
    text = (out / "azstate.toml").read_text()
    written = tomllib.loads(text)
    assert written["projects"]["etl"]["schedules"]["daily"]["cron"] == "0 0 2 ? * *"
    # One note, on stderr and as a comment above the cron, says what was rewritten and why.
    assert "Quartz 2.3 and later refuse" in result.err and ONLY_22 in result.err
    assert f"# project etl, flow daily: the server holds cron {ONLY_22!r}" in text
    valid = ws.run("validate", "-c", str(out))
    assert valid.code == 0, valid.err
    assert ws.run("plan", "--detailed-exitcode", "-c", str(out)).code == 0


def test_a_real_cron_change_from_the_quartz22_form_is_still_planned(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    repost_cron(ws.client(), "0/60 0 3 ? * *")
    plan = ws.run("plan", "--detailed-exitcode", "-c", str(ws.config))
    assert plan.code == 2, plan.out + plan.err
    assert "0 0 3 ? * *" in plan.out and "0 0 2 ? * *" in plan.out
    ws.apply()
    assert live_cron(ws.client()) == "0 0 2 ? * *"
