"""The lock-out rule: no plan silently takes ADMIN from the applying user or from everyone."""

from __future__ import annotations

from azstate.lockout import lockout_risks

ADMIN = frozenset({"admin"})
READ = frozenset({"read"})


def test_safe_changes_have_no_risk() -> None:
    live = {"user.ci": ADMIN, "user.bob": READ}
    assert lockout_risks({"user.ci": ADMIN, "user.bob": ADMIN}, live, "ci") == []
    assert lockout_risks({"user.ci": ADMIN}, live, "ci") == []


def test_a_group_losing_admin_may_be_the_applying_users() -> None:
    live = {"user.ci": READ, "group.ops": ADMIN, "user.alice": ADMIN}
    lowered = lockout_risks({"user.ci": READ, "group.ops": READ, "user.alice": ADMIN}, live, "ci")
    assert lowered == ["group ops loses ADMIN (the applying user may be in it)"]
    removed = lockout_risks({"user.ci": READ, "user.alice": ADMIN}, live, "ci")
    assert removed == ["group ops is removed with ADMIN (the applying user may be in it)"]


def test_the_applying_user_losing_its_own_admin() -> None:
    live = {"user.ci": ADMIN, "user.alice": ADMIN}
    assert lockout_risks({"user.ci": READ, "user.alice": ADMIN}, live, "ci") == [
        "user ci (the applying user) loses ADMIN"
    ]
    # Another user losing ADMIN is an ordinary change.
    assert lockout_risks({"user.ci": ADMIN, "user.alice": READ}, live, "ci") == []


def test_nobody_left_with_admin() -> None:
    risks = lockout_risks({"user.bob": READ}, {"user.bob": ADMIN}, "ci")
    assert risks == ["no entry would hold ADMIN"]
    assert lockout_risks({}, {}, "ci") == ["no entry would hold ADMIN"]


def test_permission_case_does_not_matter() -> None:
    assert lockout_risks({"group.ops": {"ADMIN"}}, {"group.ops": {"Admin"}}, "ci") == []
