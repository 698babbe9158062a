"""What every servlet handler gets: the state, the request, the logged-in user, the clock.

Also the few rules several servlets share: the project permission check, Azkaban's time
formats (``yyyy-MM-dd HH:mm:ss`` and Joda's ISO form, both in the server's zone) and the
text a schedule gives of itself in project log events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from azstate.sandbox.exchange import Incoming
from azstate.sandbox.store import Project, Schedule, Store
from azstate.sandbox.users import User, project_allows


@dataclass
class Context:
    store: Store
    req: Incoming
    user: User
    zone: ZoneInfo
    # True when the session id came from the cookie: then CSRF-checked endpoints refuse.
    session_from_cookie: bool = False

    def allows(self, project: Project, kind: str) -> bool:
        return project_allows(self.user, kind, project.user_permissions, project.group_permissions)

    def format_time(self, millis: int) -> str:
        """TimeUtils.formatDateTime: server zone, no zone marker."""
        return datetime.fromtimestamp(millis / 1000, self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def iso_time(self, millis: int) -> str:
        """Joda ``DateTime.toDateTimeISO()``: millis and the zone offset (``Z`` for UTC)."""
        moment = datetime.fromtimestamp(millis / 1000, self.zone)
        offset = moment.strftime("%z")
        zone = "Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}" + zone

    def describe(self, schedule: Schedule) -> str:
        """``Schedule.toString()`` as it appears in SCHEDULE events."""
        text = (
            f"id {schedule.id} for {schedule.project_name}.{schedule.flow} "
            f"({schedule.project_id}) to be run at (starting) {self.iso_time(schedule.first_ms)}"
        )
        if not schedule.cron:
            return text + " non-recurring"
        return text + f" with CronExpression {{{schedule.cron}}} and timezone {schedule.timezone}"
