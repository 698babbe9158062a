"""Sealing plan JSON: a sensitive string, or one holding a secret, becomes a salted digest on
both sides of its change; the digest still tells a changed secret; calls are unsealed only by
the sealer that made them. Pure: no server, no files."""

from __future__ import annotations

import json
from typing import Any

from azstate.sensitive import MARKER, SHOWN, Sealer, shown

SECRET = "s3cret-value"
OLD = "old-s3cret"


def change(before: str | None, after: str) -> dict[str, Any]:
    params = {"ajax": "scheduleCronFlow", "flowOverride[password]": after, "flowOverride[env]": "p"}
    return {
        "address": "project.etl.schedule.daily",
        "action": "update",
        "before": None if before is None else {
            "cron": "0 0 2 ? * *", "parameters": {"env": "prod", "password": before},
            "failure_emails": ["a@example.com"],
        },
        "after": {
            "cron": "0 0 2 ? * *",
            "parameters": {"env": "prod", "password": after, "dsn": f"db://u:{after}@h"},
            "failure_emails": ["a@example.com"],
        },
        "calls": [{"method": "POST", "path": "/schedule", "params": params}],
        "fingerprint": "0123456789abcdef",
    }


def plan(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": "1", "server": "http://x", "changes": list(changes), "drift": []}


def test_no_secret_leaves_the_plan_as_it_was() -> None:
    original = plan(change(OLD, SECRET))
    assert Sealer.of([]).seal_plan_json(original) == original


def test_only_the_parts_a_plan_has_are_written() -> None:
    """A plan without a drift list (format 2) gets none."""
    without = {k: v for k, v in plan(change(OLD, SECRET)).items() if k != "drift"}
    sealed = Sealer.of([SECRET]).seal_plan_json(without)
    assert "drift" not in sealed and SECRET not in json.dumps(sealed)


def test_both_sides_and_the_calls_are_sealed_and_the_rest_is_not() -> None:
    sealer = Sealer.of([SECRET])
    sealed = sealer.seal_plan_json(plan(change(OLD, SECRET)))
    text = json.dumps(sealed)
    assert SECRET not in text and OLD not in text and "s3cret" not in text
    (c,) = sealed["changes"]
    assert MARKER.fullmatch(c["after"]["parameters"]["password"])
    assert MARKER.fullmatch(c["after"]["parameters"]["dsn"]), "a string holding it, whole"
    assert MARKER.fullmatch(c["before"]["parameters"]["password"]), "the old value too"
    assert c["before"]["parameters"]["password"] != c["after"]["parameters"]["password"]
    assert c["after"]["parameters"]["env"] == "prod" and c["after"]["cron"] == "0 0 2 ? * *"
    params = c["calls"][0]["params"]
    assert params["flowOverride[password]"] == c["after"]["parameters"]["password"]
    assert params["flowOverride[env]"] == "p"
    assert sealed["sensitive_salt"] == sealer.salt
    assert c["fingerprint"] != "0123456789abcdef", "the live value's digest is salted too"
    again = Sealer.of([SECRET], salt=sealer.salt).seal_plan_json(plan(change(OLD, SECRET)))
    assert again["changes"][0]["fingerprint"] == c["fingerprint"]
    assert shown(params["flowOverride[password]"]) == SHOWN


def test_the_digest_is_salted_per_plan_and_stable_within_one() -> None:
    one, two = Sealer.of([SECRET]), Sealer.of([SECRET])
    a = one.seal_plan_json(plan(change(OLD, SECRET)))
    again = Sealer.of([SECRET], salt=one.salt).seal_plan_json(plan(change(OLD, SECRET)))
    b = two.seal_plan_json(plan(change(OLD, SECRET)))
    assert a == again
    assert a["changes"] != b["changes"]


def test_only_the_sealer_that_made_a_marker_unseals_it() -> None:
    sealer = Sealer.of([SECRET])
    sealed = sealer.seal_plan_json(plan(change(None, SECRET)))
    params = list(sealed["changes"][0]["calls"][0]["params"].items())
    assert dict(sealer.unseal_params(params))["flowOverride[password]"] == SECRET
    stranger = Sealer.of([SECRET], salt=sealer.salt)
    assert dict(stranger.unseal_params(params))["flowOverride[password]"] != SECRET


def test_a_list_holding_a_secret_is_sealed_whole_and_drift_on_both_sides() -> None:
    sealer = Sealer.of(["pager+" + SECRET + "@example.com"])
    data = plan()
    data["drift"] = [{
        "address": "project.etl.schedule.daily",
        "fields": {
            "failure_emails": {"live": ["x@example.com"],
                               "desired": ["a@example.com", "pager+" + SECRET + "@example.com"]},
            "cron": {"live": "0 0 1 ? * *", "desired": "0 0 2 ? * *"},
        },
    }]
    sealed = sealer.seal_plan_json(data)
    fields = sealed["drift"][0]["fields"]
    assert all(MARKER.fullmatch(v) for v in fields["failure_emails"]["desired"])
    assert all(MARKER.fullmatch(v) for v in fields["failure_emails"]["live"])
    assert fields["cron"] == {"live": "0 0 1 ? * *", "desired": "0 0 2 ? * *"}
    assert SECRET not in json.dumps(sealed)


def test_a_short_secret_is_sealed_only_as_a_whole_value() -> None:
    sealer = Sealer.of(["ab"])
    assert sealer.is_sensitive("ab") and not sealer.is_sensitive("tab")
