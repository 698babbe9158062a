"""Generates the benchmark fleet: N Flow 2.0 projects with two flows each, a schedule on every
flow, an SLA on every other schedule, and a user and a group permission per project."""

from __future__ import annotations

from pathlib import Path

FLOW = """nodes:
  - name: extract
    type: command
    config:
      command: echo extract {i}
  - name: load
    type: command
    dependsOn: [extract]
    config:
      command: echo load {i}
"""


def project_names(count: int, prefix: str = "bench") -> list[str]:
    return [f"{prefix}-p{i:04d}" for i in range(count)]


def fleet_toml(count: int, *, prefix: str = "bench", url: str = "") -> str:
    """The configuration of the fleet; each project's source is src/<name>."""
    lines = [
        "[server]",
        f'url = "{url or "http://127.0.0.1:8081"}"',
        'timezone = "America/Los_Angeles"',
        "parallelism = 16",
        "",
    ]
    for i, name in enumerate(project_names(count, prefix)):
        lines += [
            f"[projects.{name}]",
            f'description = "Benchmark project {i}"',
            f'source = "src/{name}"',
            "",
            f"[projects.{name}.permissions]",
            'users = { reader = ["read"] }',
            'groups = { analysts = ["read", "execute"] }',
            "",
            f"[projects.{name}.schedules.daily]",
            f'cron = "0 {i % 60} 2 ? * *"',
            'failure_emails = ["oncall@example.com"]',
            "",
            f"[projects.{name}.schedules.daily.sla]",
            'emails = ["oncall@example.com"]',
            'rules = [{ rule = "SUCCESS", duration = "2h", email = true }]',
            "",
            f"[projects.{name}.schedules.hourly]",
            f'cron = "0 {i % 60} * ? * *"',
            "",
        ]
    return "\n".join(lines)


def write_fleet(root: Path, count: int, *, prefix: str = "bench", url: str = "") -> Path:
    """Write ROOT/azstate.toml and ROOT/src/<project>/ and return the config path."""
    for i, name in enumerate(project_names(count, prefix)):
        src = root / "src" / name
        src.mkdir(parents=True, exist_ok=True)
        (src / "flow.project").write_text("azkaban-flow-version: 2.0\n")
        (src / "daily.flow").write_text(FLOW.format(i=i))
        (src / "hourly.flow").write_text(FLOW.format(i=i))
    config = root / "azstate.toml"
    config.write_text(fleet_toml(count, prefix=prefix, url=url))
    return config
