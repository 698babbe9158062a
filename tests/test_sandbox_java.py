"""The Java behaviours the sandbox reproduces, pinned against the recorded server's own bytes.

The pretty printer is checked by re-printing every JSON body of the raw exchanges recorded from
the real server (tests/conformance/transcripts, a copy of shared/azkaban-transcripts), and
HashMap order by the key orders those exchanges show.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from azstate.sandbox import jackson
from azstate.sandbox.flowload import InstallFailure, levels, load_zip, parse_properties
from azstate.sandbox.javalang import (
    NumberFormatError,
    hashmap_order,
    int32,
    parse_int,
    split,
    string_hash,
)
from azstate.sandbox.pages import escape_html

TRANSCRIPTS = Path(__file__).resolve().parent / "conformance" / "transcripts"


@pytest.mark.parametrize(
    ("inserted", "recorded"),
    [
        (["status", "action", "path"], ["path", "action", "status"]),
        (["status", "session.id"], ["session.id", "status"]),
        (["projectId", "version"], ["projectId", "version"]),
        (["project", "projectId", "flows"], ["flows", "project", "projectId"]),
        (
            ["scheduleId", "submitUser", "firstSchedTime", "nextExecTime", "period",
             "cronExpression", "executionOptions", "backExecuteOnce"],
            ["cronExpression", "nextExecTime", "period", "submitUser", "backExecuteOnce",
             "executionOptions", "scheduleId", "firstSchedTime"],
        ),
        (
            ["settings", "slaEmails", "slaAlerters", "allJobNames"],
            ["settings", "slaEmails", "slaAlerters", "allJobNames"],
        ),
        (["id", "duration", "rule", "actions"], ["duration", "rule", "id", "actions"]),
        (["jobA", "jobB"], ["jobB", "jobA"]),
        (
            ["scheduleId", "flowname", "projectname", "time", "cron", "period", "history"],
            ["cron", "projectname", "period", "flowname", "time", "history", "scheduleId"],
        ),
        (["project", "flow", "message", "execid"], ["project", "message", "flow", "execid"]),
    ],
)  # fmt: skip
def test_hashmap_order_matches_the_recorded_key_orders(
    inserted: list[str], recorded: list[str]
) -> None:
    """Insertion order as the servlet code puts the keys; the order the transcripts show."""
    assert hashmap_order(inserted) == recorded


def test_string_hash_is_javas() -> None:
    assert string_hash("") == 0
    assert string_hash("a") == 97
    assert string_hash("hello") == 99162322
    assert int32(string_hash("polygenelubricants")) == -(2**31)


def test_hashmap_grows_past_three_quarters() -> None:
    """With 13 keys the table has 32 buckets, so the order is not the 16-bucket one."""
    keys = [f"key{i}" for i in range(13)]
    assert sorted(hashmap_order(keys)) == sorted(keys)
    sixteen = sorted(keys, key=lambda k: ((string_hash(k) ^ (string_hash(k) >> 16)) & 15,
                                          keys.index(k)))  # fmt: skip
    assert hashmap_order(keys) != sixteen


@pytest.mark.parametrize(
    ("text", "regex", "limit", "parts"),
    [
        ("a;;b", r"\s*,\s*|\s*;\s*|\s+", 0, ["a", "", "b"]),
        ("a, b;c d", r"\s*,\s*|\s*;\s*|\s+", 0, ["a", "b", "c", "d"]),
        (",", ",", 0, []),
        ("", ",", 0, [""]),
        ("a,", ",", 0, ["a"]),
        (",a", ",", 0, ["", "a"]),
        (",SUCCESS,1:30,,", ",", -1, ["", "SUCCESS", "1:30", "", ""]),
        ("2:", ":", 0, ["2"]),
    ],
)
def test_split_is_java_string_split(text: str, regex: str, limit: int, parts: list[str]) -> None:
    assert split(text, regex, limit) == parts


@pytest.mark.parametrize("bad", [" 1", "1 ", "1_0", "", "+", "2147483648", "0x10", "1.0"])
def test_parse_int_refuses_what_java_refuses(bad: str) -> None:
    with pytest.raises(NumberFormatError, match="For input string"):
        parse_int(bad)


def test_parse_int_accepts_signs() -> None:
    assert parse_int("+5") == 5 and parse_int("-90") == -90 and parse_int("007") == 7


def _json_bodies() -> list[tuple[str, str]]:
    found = []
    for path in sorted(TRANSCRIPTS.glob("*.txt")):
        text = path.read_text("utf-8")
        _, _, body = text.partition("## Raw response (status line, headers, body)\n")
        if "Content-Type: application/json" not in body:
            continue
        payload = body.split("\n\n", 1)[1].rstrip("\n")
        found.append((path.name, payload))
    return found


def test_pretty_printer_reproduces_every_recorded_json_body() -> None:
    bodies = _json_bodies()
    assert len(bodies) >= 20
    for name, payload in bodies:
        value = json.loads(payload, object_pairs_hook=dict)
        assert jackson.pretty(value) == payload, name


def test_compact_and_escapes() -> None:
    assert jackson.compact({"a": [1, True, None], "b": {}}) == '{"a":[1,true,null],"b":{}}'
    assert jackson.quote('q"\\\n\t\x01é/') == '"q\\"\\\\\\n\\t\\u0001é/"'
    assert jackson.pretty({"a": [], "b": {}, "c": [{"d": 1}]}) == (
        '{\n  "a" : [ ],\n  "b" : { },\n  "c" : [ {\n    "d" : 1\n  } ]\n}'
    )


def test_escape_html_is_commons_lang_2() -> None:
    assert escape_html("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;"
    assert escape_html("é€") == "&eacute;&euro;"
    assert escape_html("\u0101") == "&#257;"
    assert escape_html("😀") == "&#55357;&#56832;"


def test_java_properties_format() -> None:
    text = (
        "# comment\n! also a comment\nkey1=value one\nkey2 : spaced\nkey3 bare\n"
        "long = first \\\n    second\nesc=tab\\there\\u0041\nempty=\n  indented=yes\n"
    )
    assert parse_properties(text) == {
        "key1": "value one", "key2": "spaced", "key3": "bare", "long": "first second",
        "esc": "tab\there" + "A", "empty": "", "indented": "yes",
    }  # fmt: skip


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_flow10_all_cyclic_jobs_make_no_flow() -> None:
    load = load_zip(_zip({"a.job": "type=command\ndependencies=b\n",
                          "b.job": "type=command\ndependencies=a\n"}))  # fmt: skip
    assert load.flows == {} and load.errors == []


def test_flow10_embedded_flow_and_levels() -> None:
    load = load_zip(_zip({
        "inner.job": "type=command\n",
        "outer.job": "type=flow\nflow.name=inner\n",
        "last.job": "type=command\ndependencies=outer\n",
    }))  # fmt: skip
    assert set(load.flows) == {"inner", "last"}
    node = next(n for n in load.flows["last"]["nodes"] if n["id"] == "outer")
    assert node["embedded_flow"] == "inner"
    assert levels(load.flows["last"]) == {"last": 1, "outer": 0}


def test_flow20_embedded_flows_get_parent_colon_child_ids() -> None:
    load = load_zip(_zip({
        "p.project": "azkaban-flow-version: 2.0\n",
        "main.flow": (
            "config:\n  failure.emails: A@X.com, b@x.com\n"
            "nodes:\n  - name: sub\n    type: flow\n    nodes:\n"
            "      - name: inner\n        type: command\n"
            "  - name: after\n    type: command\n    dependsOn: [sub]\n"
        ),
    }))  # fmt: skip
    assert set(load.flows) == {"main", "main:sub"}
    assert load.flows["main:sub"]["embedded"] is True
    assert sorted(load.flows["main"]["failure_emails"]) == ["a@x.com", "b@x.com"]


def test_flow20_project_file_in_a_sub_directory() -> None:
    load = load_zip(_zip({"x/p.project": "azkaban-flow-version: 2.0\n",
                          "x/f.flow": "nodes:\n  - name: j\n    type: noop\n",
                          "ignored.job": "type=command\n"}))  # fmt: skip
    assert set(load.flows) == {"f"}


def test_flow20_missing_nodes_and_root_name() -> None:
    missing = load_zip(_zip({"p.project": "azkaban-flow-version: 2.0\n", "f.flow": "config: {}\n"}))
    assert missing.errors == ["Error loading flow yaml file f.flow:null"]
    root = load_zip(_zip({"p.project": "azkaban-flow-version: 2.0\n",
                          "g.flow": "nodes:\n  - name: ROOT\n    type: noop\n"}))  # fmt: skip
    assert root.errors[0].startswith("Failed to validate nodeBean for g.flow.")


def test_not_a_zip() -> None:
    with pytest.raises(InstallFailure, match=r"Error unzipping file\."):
        load_zip(b"PK\x03\x04 broken")
