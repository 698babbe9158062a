"""The solo server's users and roles, and Azkaban's permission rules.

Users come from the stock ``azkaban-users.xml`` plus the users the conformance recordings
were made with: ``reader`` (group ``readers``), and ``alice`` and ``bob`` (no role, no group;
the ``events-*`` scenarios grant them project permissions). A project permission holding
ADMIN holds only ADMIN; a check passes when the user's own entry, one of the user's groups'
entries, or one of the user's roles carries the type or ADMIN (azkaban-api.md section 10).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Declaration order of Permission.Type: used wherever a set of types is printed.
PERMISSION_TYPES: tuple[str, ...] = (
    "READ",
    "WRITE",
    "EXECUTE",
    "SCHEDULE",
    "METRICS",
    "CREATEPROJECTS",
    "UPLOADPROJECTS",
    "ADMIN",
)


@dataclass(frozen=True)
class User:
    name: str
    password: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]


USERS: dict[str, User] = {
    "azkaban": User("azkaban", "azkaban", ("admin",), ("azkaban",)),
    "reader": User("reader", "reader", (), ("readers",)),
    "metrics": User("metrics", "metrics", ("metrics",), ()),
    "alice": User("alice", "alice", (), ()),
    "bob": User("bob", "bob", (), ()),
}

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({"ADMIN"}),
    "metrics": frozenset({"METRICS"}),
}


class LoginRefused(Exception):
    """XmlUserManager's UserManagerException; the message is shown after "Incorrect Login. "."""


def authenticate(username: str | None, password: str | None) -> User:
    if username is None or not username.strip():
        raise LoginRefused("Username is empty.")
    if password is None or not password.strip():
        raise LoginRefused("Password is empty.")
    user = USERS.get(username)
    if user is None or user.password != password:
        raise LoginRefused("Username/Password not found.")
    return user


def is_known_user(name: str) -> bool:
    return name in USERS


def normalize(types: Iterable[str]) -> list[str]:
    """A permission's types in declaration order; ADMIN swallows the rest."""
    chosen = set(types)
    if "ADMIN" in chosen:
        return ["ADMIN"]
    return [t for t in PERMISSION_TYPES if t in chosen]


def role_allows(user: User, kind: str) -> bool:
    for role in user.roles:
        granted = ROLES.get(role, frozenset())
        if kind in granted or "ADMIN" in granted:
            return True
    return False


def is_admin(user: User) -> bool:
    return any("ADMIN" in ROLES.get(role, frozenset()) for role in user.roles)


def project_allows(
    user: User,
    kind: str,
    user_permissions: Mapping[str, list[str]],
    group_permissions: Mapping[str, list[str]],
) -> bool:
    """``Project.hasPermission`` or a role: what every project endpoint checks."""
    own = user_permissions.get(user.name)
    if own is not None and (kind in own or "ADMIN" in own):
        return True
    for group in user.groups:
        perm = group_permissions.get(group)
        if perm is not None and (kind in perm or "ADMIN" in perm):
            return True
    return role_allows(user, kind)
