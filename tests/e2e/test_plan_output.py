"""The plan a reviewer reads after real edits against the sandbox (issue 18, Output): a
parameter's new value reads `key: old → new`, an SLA duration change is one changed rule,
`-` comes before `+`, unchanged attributes are counted, and the markdown stays well formed."""

from __future__ import annotations

from markdown_it import MarkdownIt

from tests.e2e.workspace import ETL, Workspace

SCHEDULE = """
[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"
failure_emails = ["{email}"]
parameters = {{ env = "{env}", keep = "1"{extra} }}

[projects.etl.schedules.daily.sla]
emails = ["ops@example.com"]
rules = [{{ rule = "SUCCESS", duration = "{duration}", email = true }}]
"""


def config(env: str, duration: str, email: str, extra: str = "") -> str:
    return ETL + SCHEDULE.format(env=env, duration=duration, email=email, extra=extra)


def test_edits_read_as_what_changed(ws: Workspace) -> None:
    ws.write(config("staging", "2h", "old@example.com", ', gone = "x"'))
    ws.apply()
    ws.write(config("staging2", "3h", "new@example.com", ', added = "y"'))

    text = ws.run("plan", "-c", str(ws.config))
    assert text.code == 0, text.err
    out = text.out
    assert "~ env: staging → staging2" in out
    assert "- gone: x" in out and "+ added: y" in out
    assert out.index("- gone: x") < out.index("~ env:") < out.index("+ added: y")
    assert "failure_emails: - old@example.com, + new@example.com" in out
    assert "~ the flow SUCCESS: 2h → 3h" in out
    assert "must succeed within" not in out  # not one rule removed and another added
    assert "unchanged attributes hidden)" in out
    assert "keep" not in out  # an unchanged entry is not listed

    md = ws.run("plan", "--format", "markdown", "-c", str(ws.config))
    assert md.code == 0, md.err
    assert "!   the flow SUCCESS: 2h → 3h" in md.out
    assert "-   old@example.com\n+   new@example.com" in md.out
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md.out)
    assert html.count("<details") == html.count("</details>") > 0
    assert html.count('<pre><code class="language-diff">') == html.count("</code></pre>")
