"""Permission changes that could lock the applying user, or everyone, out of a project.

Azkaban has no call that tells which groups a user is in, so any group entry holding ADMIN may
be the one that gives the applying user its ADMIN. A plan that removes or lowers such an entry,
takes the applying user's own ADMIN away, or leaves a project with no ADMIN entry at all could
leave nobody able to repair it through the API; such a plan is refused unless the project's
configuration allows it explicitly. Pure: permission maps in, reasons out.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

ADMIN = "admin"

Entries = Mapping[str, Set[str]]  # "user.NAME" / "group.NAME" -> lower-case permission names


def _has_admin(perms: Set[str] | None) -> bool:
    return perms is not None and ADMIN in {p.lower() for p in perms}


def lockout_risks(final: Entries, live: Entries, user: str) -> list[str]:
    """Why the permissions ``final`` (what the server holds after apply) are unsafe given
    ``live`` (what it holds now), for the applying ``user``; empty when they are safe."""
    risks: list[str] = []
    for key in sorted(live):
        if not _has_admin(live[key]) or _has_admin(final.get(key)):
            continue
        kind, _, name = key.partition(".")
        verb = "loses" if key in final else "is removed with"
        if kind == "group":
            risks.append(f"group {name} {verb} ADMIN (the applying user may be in it)")
        elif name == user:
            risks.append(f"user {name} (the applying user) {verb} ADMIN")
    if not any(_has_admin(p) for p in final.values()):
        risks.append("no entry would hold ADMIN")
    return risks
