"""The sandbox's project event log, descriptions and project pages (azkaban-api.md section 14).

Over real HTTP, beyond the conformance replay: which calls add exactly one event and which add
none, ``size``/``skip`` paging, events of one millisecond (made on purpose with the event
clock of ``/__sandbox__/clock``), who may read the log, the last modifier in the listing, and
descriptions: stored exactly, the 2048-character limit, and never markup on ``/index`` or the
project page, whatever the text.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
import requests

from azstate.sandbox.server import SandboxServer
from tests.test_sandbox import FLOW20_BASIC, FLOW20_ONE, FLOW20_TWO, Az

_PAGE_DESCRIPTION = re.compile(r'<p class="editable" id="project-description">(.*?)</p>', re.S)
_INDEX_ITEM = re.compile(
    r'href="/manager\?project=([^"]*)">[^<]*</a>\s*</h4>\s*'
    r'<p class="project-description">(.*?)</p>\s*'
    r'<p class="project-last-modified">Last modified on\s*<strong>([^<]*)</strong> by\s*'
    r"<strong>([^<]*)</strong>\.</p>",
    re.S,
)


@pytest.fixture
def az(sandbox: SandboxServer) -> Az:
    return Az(sandbox.url)


def unescape(text: str) -> str:
    """``html.unescape``, joining the two ``&#N;`` of a UTF-16 surrogate pair first (Azkaban
    writes an emoji as two references; a plain unescape would give two U+FFFD)."""

    def join(match: re.Match[str]) -> str:
        high, low = int(match[1]), int(match[2])
        if 0xD800 <= high < 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return match[0]

    return html.unescape(re.sub(r"&#(\d+);&#(\d+);", join, text))


def logs(az: Az, project: str, **params: Any) -> list[list[Any]]:
    reply = az.get("/manager", ajax="fetchProjectLogs", project=project, **params)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "error" not in body, body
    assert body["columns"] == ["user", "time", "type", "message"]
    rows: list[list[Any]] = body["logData"]
    return rows


def kinds(az: Az, project: str) -> list[str]:
    return [row[2] for row in logs(az, project)]


def clock(sandbox: SandboxServer, **body: Any) -> dict[str, Any]:
    reply = requests.post(sandbox.url + "/__sandbox__/clock", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def describe(az: Az, project: str, text: str) -> dict[str, Any]:
    reply = az.post("/manager", ajax="changeDescription", project=project, description=text)
    result: dict[str, Any] = reply.json()
    return result


def grant(az: Az, project: str, name: str, *kinds: str, group: bool = False) -> Any:
    flags = {f"permissions[{k}]": str(k in kinds).lower()
             for k in ("admin", "read", "write", "execute", "schedule")}  # fmt: skip
    return az.post("/manager", ajax="addPermission", project=project, name=name,
                   group=str(group).lower(), **flags).json()  # fmt: skip


def page_description(az: Az, project: str) -> str:
    """The description element's content as sent (escaped twice)."""
    match = _PAGE_DESCRIPTION.search(az.get("/manager", project=project).text)
    assert match is not None
    return match.group(1)


def index_items(az: Az, **params: Any) -> dict[str, tuple[str, str, str]]:
    """name -> (description as sent, modified, modified by), from the /index page."""
    page = az.get("/index", **params)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    found = _INDEX_ITEM.findall(page.text)
    names = [name for name, *_ in found]
    assert len(names) == len(set(names)), "a project is listed twice"
    return {name: (desc, modified, by) for name, desc, modified, by in found}


# -- one event per mutation, none for refused calls ------------------------------------------


def test_every_project_mutation_adds_exactly_one_event(az: Az) -> None:
    az.create("ev", "first")
    assert kinds(az, "ev") == ["CREATED"]
    az.upload("ev", FLOW20_TWO)
    az.upload("ev", FLOW20_TWO)  # identical zip: still an event
    describe(az, "ev", "second")
    describe(az, "ev", "second")  # the same text again
    describe(az, "ev", "")  # empty is accepted here
    assert kinds(az, "ev") == ["DESCRIPTION"] * 3 + ["UPLOADED"] * 2 + ["CREATED"]
    rows = logs(az, "ev")
    assert rows[0] == ["azkaban", rows[0][1], "DESCRIPTION", "Description changed to "]
    assert rows[-1] == ["azkaban", rows[-1][1], "CREATED", None]
    assert rows[3][3] == "Uploaded project files zip project.zip"


def test_schedule_sla_and_permission_mutations_add_one_event_each(az: Az) -> None:
    az.create("ev")
    az.upload("ev", FLOW20_TWO)
    pid = az.project_id("ev")
    sched = az.schedule("ev", "alpha").json()["scheduleId"]
    az.schedule("ev", "alpha")  # identical re-post
    missing = az.schedule("ev", "alpha", cron=None).json()  # stores nothing, still logged
    assert missing["scheduleId"] == -1 and missing["error"] == "Cron expression must exist."
    assert az.set_sla(sched, ",SUCCESS,1:30,true,false") == {}
    grant(az, "ev", "alice", "read")
    grant(az, "ev", "devs", "read", group=True)
    az.post("/manager", ajax="changePermission", project="ev", name="alice", group="false",
            **{f"permissions[{k}]": "false"
               for k in ("admin", "read", "write", "execute", "schedule")})  # fmt: skip
    az.post("/manager", ajax="removeProxyUser", project="ev", name="nobody")
    removed = az.post("/schedule", action="removeSched", scheduleId=sched).json()
    assert removed["status"] == "success"
    rows = logs(az, "ev")
    assert [r[2] for r in rows] == [
        "SCHEDULE", "PROXY_USER", "USER_PERMISSION", "GROUP_PERMISSION", "USER_PERMISSION",
        "SLA", "SCHEDULE", "SCHEDULE", "SCHEDULE", "UPLOADED", "CREATED",
    ]  # fmt: skip
    assert rows[0][3].startswith(f"Schedule id {sched} for ev.alpha ({pid}) to be run at ")
    assert rows[0][3].endswith(" has been removed.")
    assert rows[1][3] == "Proxy user nobody has been removed form the project."
    assert rows[2][3] == "Permission for user alice removed."
    assert rows[3][3] == "Permission for group devs set to READ"
    assert rows[4][3] == "Permission for user alice set to READ"
    assert rows[5][3] == "SLA for flow alpha has been added/changed."
    assert rows[6][3].startswith(f"Schedule id -1 for ev.alpha ({pid}) to be run at ")
    assert rows[6][3].endswith(" non-recurring has been added.")
    added = [re.sub(r"\(starting\) \S+", "(starting) T", r[3]) for r in rows[7:9]]
    assert (
        added[0]
        == added[1]
        == (
            f"Schedule id {sched} for ev.alpha ({pid}) to be run at (starting) T "
            "with CronExpression {0 0 1 ? * *} and timezone America/Los_Angeles has been added."
        )
    )


def test_refused_and_failed_calls_log_nothing(az: Az, sandbox: SandboxServer) -> None:
    az.create("ev")
    az.upload("ev", FLOW20_BASIC)
    sched = az.schedule("ev", "basic").json()["scheduleId"]
    before = logs(az, "ev")
    cycle = {"flow20.project": "azkaban-flow-version: 2.0\n",
             "c.flow": "nodes:\n  - name: a\n    type: command\n    dependsOn: [b]\n"
                       "    config: {command: x}\n"
                       "  - name: b\n    type: command\n    dependsOn: [a]\n"
                       "    config: {command: y}\n"}  # fmt: skip
    assert az.upload("ev", cycle).status_code == 500
    assert az.upload("ev", b"not a zip").status_code == 500
    assert az.post("/manager", ajax="changeDescription", project="ev").status_code == 500
    assert describe(az, "ev", "x" * 2049)["error"] == "Error update Description, project ev"
    assert grant(az, "ev", "azkaban", "read")["error"] == "User permission already exists."
    assert grant(az, "ev", "ghost", "read")["error"] == "User is invalid."
    assert "error" in az.post("/manager", ajax="addProxyUser", project="ev", name="bob").json()
    assert "error" in az.schedule("ev", "basic", cron="0 0 1 31 2 ?").json()
    assert az.schedule("ev", "nosuch").json()["status"] == "error"
    assert az.post("/schedule", ajax="setSla", scheduleId=sched,
                   slaEmails="a@example.com").json()["error"].endswith(
        "must have at least one action")  # fmt: skip
    assert az.post("/schedule", action="removeSched", scheduleId=999).json()["status"] == "error"
    lock = az.get("/manager", ajax="setFlowLock", project="ev", flowName="basic", isLocked="true")
    assert lock.json()["isLocked"] is True
    assert az.post("/executor", ajax="executeFlow", project="ev", flow="basic").status_code == 200
    reader = Az(az.url, "reader")
    assert describe(reader, "ev", "nope")["error"] == "Permission denied. Need WRITE access."
    assert logs(az, "ev") == before


def test_a_failing_re_post_logs_nothing_and_leaves_null_options(az: Az) -> None:
    az.create("ev")
    az.upload("ev", FLOW20_BASIC)
    az.schedule("ev", "basic")
    before = logs(az, "ev")
    broken = az.schedule("ev", "basic", cron="0 0 3 ? * *",
                         **{"flowOverride[a]": "1", "runtimeProperty[ROOT][b]": "2"})  # fmt: skip
    assert broken.status_code == 500
    assert logs(az, "ev") == before
    stored = az.fetch_schedule(az.project_id("ev"), "basic")["schedule"]
    assert stored["cronExpression"] == "0 0 3 ? * *" and stored["executionOptions"] is None


# -- order, stamps, paging ---------------------------------------------------------------------


def test_stamps_are_epoch_millis_newest_first(az: Az) -> None:
    start = int(time.time() * 1000)
    az.create("ev")
    for n in range(5):
        describe(az, "ev", f"text {n}")
    rows = logs(az, "ev")
    stamps = [row[1] for row in rows]
    assert all(isinstance(s, int) for s in stamps)
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    assert start <= stamps[-1] and stamps[0] <= int(time.time() * 1000) + 1000
    assert rows[0][3] == "Description changed to text 4"


def test_size_and_skip_page_through_the_log(az: Az) -> None:
    az.create("ev")
    for n in range(6):
        describe(az, "ev", f"d{n}")
    whole = logs(az, "ev")
    assert len(whole) == 7
    pages = [logs(az, "ev", size=2, skip=skip) for skip in range(0, 8, 2)]
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [row for page in pages for row in page] == whole
    assert logs(az, "ev", size=3, skip=1) == whole[1:4]
    assert logs(az, "ev", size=0) == []
    assert logs(az, "ev", skip=7) == [] and logs(az, "ev", skip=100) == []
    # getIntParam with a default: a number Integer.parseInt cannot read counts as absent
    assert logs(az, "ev", size="two", skip="x") == whole
    assert logs(az, "ev", size=" 2") == whole


@pytest.mark.parametrize("params", [{"size": "-1"}, {"skip": "-1"}])
def test_negative_size_or_skip_is_a_500(az: Az, params: dict[str, str]) -> None:
    az.create("ev")
    reply = az.get("/manager", ajax="fetchProjectLogs", project="ev", **params)
    assert reply.status_code == 500 and "HTTP ERROR 500" in reply.text


def test_events_of_one_millisecond_come_back_oldest_first_by_default(
    az: Az, sandbox: SandboxServer
) -> None:
    """Order is by time only: a reader must not take entry 0 as "the last change" blindly."""
    az.create("ev")
    frozen = clock(sandbox, frozen_ms="now")["frozen_ms"]
    describe(az, "ev", "older")
    describe(az, "ev", "newer")
    clock(sandbox, frozen_ms=None)
    rows = logs(az, "ev")
    assert rows[0][1] == rows[1][1] == frozen
    assert [r[3] for r in rows[:2]] == ["Description changed to older",
                                        "Description changed to newer"]  # fmt: skip
    assert logs(az, "ev", size=1)[0][3] == "Description changed to older"
    clock(sandbox, ties="newest-first")
    assert [r[3] for r in logs(az, "ev")[:2]] == ["Description changed to newer",
                                                  "Description changed to older"]  # fmt: skip

    # The token section 14 recommends (newest time, set of its entries) is the same either way.
    def token(rows: list[list[Any]]) -> tuple[int, frozenset[str]]:
        newest = rows[0][1]
        return newest, frozenset(str(r) for r in rows if r[1] == newest)

    newest_first = token(logs(az, "ev"))
    requests.delete(sandbox.url + "/__sandbox__/clock", timeout=10)
    assert token(logs(az, "ev")) == newest_first


def test_after_a_tie_the_running_clock_goes_on_after_it(az: Az, sandbox: SandboxServer) -> None:
    az.create("ev")
    future = int(time.time() * 1000) + 60_000
    clock(sandbox, frozen_ms=future)
    describe(az, "ev", "frozen")
    clock(sandbox, frozen_ms=None)
    describe(az, "ev", "later")
    rows = logs(az, "ev")
    assert rows[0][3] == "Description changed to later" and rows[0][1] > future
    # "now" freezes after every stamp given, so what follows is still the newest
    assert clock(sandbox, frozen_ms="now")["frozen_ms"] > rows[0][1]
    describe(az, "ev", "tied")
    assert logs(az, "ev", size=1)[0][3] == "Description changed to tied"


def test_an_event_stamped_earlier_sorts_below_newer_ones(az: Az, sandbox: SandboxServer) -> None:
    """ORDER BY event_time DESC, not insertion order."""
    az.create("ev")
    created = logs(az, "ev")[0][1]
    clock(sandbox, frozen_ms=created - 5000)
    describe(az, "ev", "back-dated")
    clock(sandbox, frozen_ms=None)
    rows = logs(az, "ev")
    assert [r[2] for r in rows] == ["CREATED", "DESCRIPTION"]


def test_upload_that_drops_a_schedule_logs_uploaded_then_the_removal_by_azkaban(
    sandbox: SandboxServer,
) -> None:
    alice = Az(sandbox.url, "alice")
    az = Az(sandbox.url)
    az.create("ev")
    az.upload("ev", FLOW20_TWO)
    grant(az, "ev", "alice", "read", "write")
    beta = az.schedule("ev", "beta").json()["scheduleId"]
    assert alice.upload("ev", FLOW20_ONE).json()["version"] == "2"
    rows = logs(az, "ev", size=2)
    assert [r[0] for r in rows] == ["azkaban", "alice"]
    assert [r[2] for r in rows] == ["SCHEDULE", "UPLOADED"]
    assert rows[0][1] > rows[1][1]
    assert rows[0][3].startswith(f"Schedule id {beta} for ev.beta")
    assert rows[0][3].endswith(
        "has been removed due to the flow has been removed or renamed during upload process."
    )
    # Frozen, both land in one millisecond: the order is then the tie order.
    az.schedule("ev", "alpha")
    clock(sandbox, frozen_ms="now")
    az.upload("ev", {"flow20.project": "azkaban-flow-version: 2.0\n",
                     "gamma.flow": FLOW20_TWO["beta.flow"]})  # fmt: skip
    rows = logs(az, "ev", size=2)
    assert rows[0][1] == rows[1][1]
    assert {r[2] for r in rows} == {"UPLOADED", "SCHEDULE"}


def test_the_clock_endpoint_says_what_it_does_and_refuses_nonsense(
    sandbox: SandboxServer,
) -> None:
    url = sandbox.url + "/__sandbox__/clock"
    state = requests.get(url, timeout=10).json()
    assert state == {"frozen_ms": None, "last_ms": state["last_ms"], "ties": "oldest-first"}
    assert clock(sandbox, frozen_ms=1_700_000_000_000)["frozen_ms"] == 1_700_000_000_000
    for bad in ({}, {"frozen_ms": "soon"}, {"frozen_ms": True}, {"ties": "random"}, [1]):
        reply = requests.post(url, json=bad, timeout=10)
        assert reply.status_code == 400 and "error" in reply.json()
    assert requests.delete(url, timeout=10).json()["frozen_ms"] is None


# -- who may read, who is recorded -------------------------------------------------------------


def test_read_is_required_and_then_every_event_is_visible(sandbox: SandboxServer) -> None:
    az = Az(sandbox.url)
    alice, reader = Az(sandbox.url, "alice"), Az(sandbox.url, "reader")
    az.create("ev")
    grant(az, "ev", "alice", "write")
    assert describe(alice, "ev", "by alice") == {"project": "ev", "projectId": az.project_id("ev")}
    denied = alice.get("/manager", ajax="fetchProjectLogs", project="ev").json()
    assert denied["error"] == "Permission denied. Need READ access."
    assert "logData" not in denied
    assert reader.get("/manager", ajax="fetchProjectLogs", project="ev").json()["error"] == (
        "Permission denied. Need READ access."
    )
    grant(az, "ev", "reader", "read")
    rows = logs(reader, "ev")
    assert [(r[0], r[2]) for r in rows] == [
        ("azkaban", "USER_PERMISSION"), ("alice", "DESCRIPTION"),
        ("azkaban", "USER_PERMISSION"), ("azkaban", "CREATED"),
    ]  # fmt: skip
    az.get("/manager", project="ev", delete="true")
    gone = az.get("/manager", ajax="fetchProjectLogs", project="ev").json()
    assert gone == {"project": "ev", "error": "Project ev doesn't exist."}


def test_created_by_is_the_last_modifier_and_created_time_never_moves(
    sandbox: SandboxServer,
) -> None:
    az, alice = Az(sandbox.url), Az(sandbox.url, "alice")
    az.create("ev")

    def listed() -> dict[str, Any]:
        projects = az.get("/index", ajax="fetchallprojects").json()["projects"]
        item: dict[str, Any] = next(p for p in projects if p["projectName"] == "ev")
        return item

    first = listed()
    assert first["createdBy"] == "azkaban"
    grant(az, "ev", "alice", "read", "write")
    assert listed()["createdBy"] == "azkaban"  # permission calls do not count
    describe(alice, "ev", "alice's words")
    assert listed()["createdBy"] == "alice"
    az.upload("ev", FLOW20_BASIC)
    assert listed()["createdBy"] == "azkaban"
    alice.upload("ev", FLOW20_BASIC)
    assert listed()["createdBy"] == "alice"
    describe(az, "ev", "y" * 3000)  # refused by the column: not a modification
    after = listed()
    assert after["createdBy"] == "alice" and after["createdTime"] == first["createdTime"]
    assert {u["first"] for u in after["userPermissions"]} == {"azkaban", "alice"}


# -- descriptions: stored exactly, the limit, never markup -------------------------------------


@pytest.mark.parametrize(
    "text",
    ["  both sides  ", "trailing newline\n", "a\r\nb", "col1\tcol2", "\u00a0", "\u3000",
     "\u200b", "deploy 🚀 nightly", "x" * 2048, "🚀" * 1024],
    ids=["spaces", "newline", "crlf", "tab", "nbsp", "ideographic-space", "zero-width",
         "emoji", "2048-x", "1024-emoji"],
)  # fmt: skip
def test_create_stores_the_text_exactly(az: Az, text: str) -> None:
    assert az.create("d", text).json()["status"] == "success"
    item = index_items(az, all="")["d"][0]
    assert unescape(item) == text
    describe(az, "d", text)
    assert logs(az, "d", size=1)[0][3] == "Description changed to " + text


@pytest.mark.parametrize("text", ["", " ", " \t\r\n", "\x0b\x0c", "\x00 \x1f"])
def test_create_refuses_what_java_trim_empties(az: Az, text: str) -> None:
    reply = az.create("d", text).json()
    assert reply == {"message": "Description cannot be empty.", "status": "error"}


@pytest.mark.parametrize("text", ["z" * 2049, "🚀" * 1025], ids=["2049-z", "1025-emoji"])
def test_the_2048_unit_limit_at_create_and_at_change(az: Az, text: str) -> None:
    """UTF-16 units: 1025 emoji are 2050 units."""
    assert az.create("big", text).json() == {
        "message": "Insert projectbig for existing project failed. ", "status": "error",
    }  # fmt: skip
    assert az.get("/manager", ajax="getProjectId", project="big").json()["error"] == (
        "Project big doesn't exist."
    )
    az.create("ok", "short")
    before = logs(az, "ok")
    assert describe(az, "ok", text)["error"] == "Error update Description, project ok"
    assert logs(az, "ok") == before  # no event
    # ... but the in-memory project already holds the new text
    assert unescape(html.unescape(page_description(az, "ok"))) == text
    assert unescape(index_items(az, all="")["ok"][0]) == text


HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</p><h1>owned</h1><p>",
    "a<br>b<br/>c<BR>d<br />e!NEWLINE!f",
    "&lt;script&gt; &amp; &#60;b&#62;",
    "<!-- comment --><![CDATA[x]]>",
    "'single' \"double\" `back`",
    "emoji 😀 and zero width \u200b and rtl \u202e",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_description_is_never_markup_on_the_project_page(az: Az, text: str) -> None:
    az.create("h", text)
    sent = page_description(az, "h")
    assert "<" not in sent and ">" not in sent
    once = html.unescape(sent)
    # after one unescape only <br> may appear: the page's own line breaks
    assert "<" not in once.replace("<br>", "")
    expected = text.replace("<br/>", "\n").replace("<br>", "\n").replace("!NEWLINE!", "\n")
    assert unescape(once.replace("<br>", "\n")) == expected


def test_page_escaping_details(az: Az) -> None:
    az.create("p", "a<br/>b<br>c<BR>d!NEWLINE!e")
    assert html.unescape(page_description(az, "p")) == "a<br>b<br>c&lt;BR&gt;d<br>e"
    describe(az, "p", "ok ✅ 😀 café")
    assert html.unescape(page_description(az, "p")) == ("ok &#9989; &#55357;&#56832; caf&eacute;")


@pytest.mark.parametrize("text", HOSTILE)
def test_a_description_is_never_markup_on_the_index_page(az: Az, text: str) -> None:
    az.create("h", text)
    page = az.get("/index", all="").text
    item = index_items(az, all="")["h"][0]
    assert "<" not in item and ">" not in item
    assert unescape(item) == text
    assert "<script>" not in page and "<h1>owned" not in page


def test_index_all_lists_every_active_project_once_whatever_the_permissions(
    sandbox: SandboxServer,
) -> None:
    az, reader = Az(sandbox.url), Az(sandbox.url, "reader")
    az.create("one", "  lead & trail <b>x</b> café\nsecond line\ttab  ")
    az.create("two", "second")
    az.create("gone", "deleted soon")
    az.get("/manager", project="gone", delete="true")
    grant(az, "two", "reader", "read")
    listed = index_items(reader, all="")
    assert set(listed) == {"one", "two"}
    description, modified, by = listed["one"]
    assert description == (
        "  lead &amp; trail &lt;b&gt;x&lt;/b&gt; caf&eacute;\nsecond line\ttab  "
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", modified) and by == "azkaban"
    # without ?all: the user's own projects (a direct READ or ADMIN permission)
    assert set(index_items(reader)) == {"two"}
    assert set(index_items(az)) == {"one", "two"}


def test_index_shows_the_last_modifier(sandbox: SandboxServer) -> None:
    az, alice = Az(sandbox.url), Az(sandbox.url, "alice")
    az.create("m", "before")
    grant(az, "m", "alice", "write", "read")
    describe(alice, "m", "after <i>")
    description, _, by = index_items(az, all="")["m"]
    assert (html.unescape(description), by) == ("after <i>", "alice")


def test_index_requires_a_session(sandbox: SandboxServer) -> None:
    page = requests.get(sandbox.url + "/index", params={"all": ""}, timeout=10)
    assert 'id="login-form"' in page.text and "project-description" not in page.text
