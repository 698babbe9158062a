"""The token cache's file: per server, user and format; never values; 0600; never half-written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from azstate.changetoken import ChangeToken
from azstate.state import ScheduleValue
from azstate.tokencache import CACHE_FORMAT, CachedProject, TokenCache, value_digest

SERVER = "https://azkaban.example.com:8443"
TOKEN = ChangeToken(newest=1_700_000_000_123, entries=(("azkaban", "UPLOADED", "zip a.zip"),))


def entry(secret: str = "hunter2") -> CachedProject:
    return CachedProject(
        created=1_700_000_000_000,
        version=3,
        token=TOKEN,
        digests={"project": value_digest({"description": secret})},
    )


def written(tmp_path: Path, **kw: str) -> TokenCache:
    cache = TokenCache(tmp_path, server=kw.get("server", SERVER), user=kw.get("user", "ci"))
    cache.put(7, entry())
    cache.save()
    return cache


def test_round_trip_keeps_tokens_and_digests_but_never_values(tmp_path: Path) -> None:
    cache = written(tmp_path)
    assert cache.path is not None
    again = TokenCache(tmp_path, server=SERVER + "/", user="ci")
    assert again.get(7) == entry() and again.get(8) is None and not again.warnings
    text = cache.path.read_text()
    assert "hunter2" not in text and "description" not in text
    assert json.loads(text)["format"] == CACHE_FORMAT


def test_files_are_private_and_written_whole(tmp_path: Path) -> None:
    cache = written(tmp_path)
    assert cache.path is not None
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700
    assert [p.name for p in cache.path.parent.iterdir()] == [cache.path.name]  # no temp left


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("server", "https://other.example.com", "another server"),
        ("user", "someone-else", "another user"),
        ("format", CACHE_FORMAT + 1, "format"),
    ],
)
def test_a_cache_from_another_server_user_or_format_is_not_used(
    tmp_path: Path, field: str, value: object, why: str
) -> None:
    cache = written(tmp_path)
    assert cache.path is not None
    data = json.loads(cache.path.read_text())
    data[field] = value  # e.g. a CI cache restored from another environment's key
    cache.path.write_text(json.dumps(data))
    again = TokenCache(tmp_path, server=SERVER, user="ci")
    assert again.get(7) is None and len(again) == 0
    assert len(again.warnings) == 1 and why in again.warnings[0]
    assert "read in full" in again.warnings[0]
    again.save()  # replaced by a good (empty) one
    assert TokenCache(tmp_path, server=SERVER, user="ci").warnings == []


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{",
        b"[]",
        b"\xff\xfe",
        b'{"format":1}',
        json.dumps({"format": 1, "server": SERVER, "user": "ci", "projects": {"7": {}}}).encode(),
        json.dumps(
            {"format": 1, "server": SERVER, "user": "ci",
             "projects": {"7": {"created": 1, "digests": {}, "token": {"newest": "x"}}}}
        ).encode(),
    ],
)  # fmt: skip
def test_a_damaged_cache_is_not_used(tmp_path: Path, damage: bytes) -> None:
    cache = written(tmp_path)
    assert cache.path is not None
    cache.path.write_bytes(damage)
    again = TokenCache(tmp_path, server=SERVER, user="ci")
    assert again.get(7) is None
    assert len(again.warnings) == 1 and "not used" in again.warnings[0]


def test_other_servers_and_users_have_their_own_files(tmp_path: Path) -> None:
    a = written(tmp_path)
    b = TokenCache(tmp_path, server="http://127.0.0.1:8081", user="ci")
    c = TokenCache(tmp_path, server=SERVER, user="other")
    assert a.path != b.path != c.path and b.get(7) is None and c.get(7) is None
    assert not b.warnings and not c.warnings


def test_no_directory_means_no_file(tmp_path: Path) -> None:
    cache = TokenCache(None, server=SERVER, user="ci")
    cache.put(1, entry())
    cache.save()
    assert cache.path is None and cache.get(1) == entry()


def test_digests_are_the_same_in_every_process() -> None:
    """Sets iterate in a per-process order (hash randomisation): the digest must not."""
    code = (
        "from azstate.state import ScheduleValue; from azstate.tokencache import value_digest;"
        "print(value_digest(ScheduleValue(cron='0 0 1 ? * *', "
        "failure_emails=frozenset({'a@x', 'b@x', 'c@x', 'd@x'}))))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in (1, 2, 3)
    }
    here = value_digest(
        ScheduleValue(cron="0 0 1 ? * *", failure_emails=frozenset({"d@x", "c@x", "b@x", "a@x"}))
    )
    assert seen == {here}
    assert here != value_digest(ScheduleValue(cron="0 0 1 ? * *"))


def test_display_only_fields_do_not_change_a_digest() -> None:
    """Equal values, equal digests: ScheduleValue's equality leaves who submitted it out."""
    a = ScheduleValue(cron="0 0 1 ? * *", submitted_by="alice")
    b = ScheduleValue(cron="0 0 1 ? * *", submitted_by="bob")
    assert a == b and value_digest(a) == value_digest(b)
    assert value_digest(a) != value_digest(ScheduleValue(cron="0 0 1 ? * *", no_options=True))
