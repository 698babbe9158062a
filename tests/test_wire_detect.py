"""detect(): every error shape of azkaban-api.md section 1.4, on replies a real server gave.

The bodies come from tests/data/wire/: raw exchanges (transcripts/) and the conformance
goldens (goldens.json, normalised observations rebuilt into replies here).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from azstate.errors import AzkabanError, LoginError, SessionExpiredError
from azstate.plan import Call, UploadFile
from azstate.wire import calls
from azstate.wire.detect import (
    LOGIN,
    CallInfo,
    cookies_from_headers,
    detect,
    examine,
    parse_set_cookie,
    split_set_cookie,
)

DATA = Path(__file__).parent / "data" / "wire"


# -- loading recorded replies --------------------------------------------------------------


class Recorded:
    """One recorded reply: what detect() is given."""

    def __init__(self, info: CallInfo, status: int, headers: dict[str, str], body: bytes) -> None:
        self.info = info
        self.status = status
        self.headers = headers
        self.body = body

    def detect(self) -> AzkabanError | None:
        return detect(self.info, self.status, self.headers, self.body)

    def json(self) -> Any:
        return json.loads(self.body)


def _action(pairs: list[tuple[str, str]], method: str) -> str:
    for key, value in pairs:
        if key in ("ajax", "action"):
            return value
    for key, _ in pairs:
        if key in ("delete", "download"):
            return key
    return ""


def transcript(name: str) -> Recorded:
    """A raw exchange from tests/data/wire/transcripts/ (copied from shared/)."""
    path = next((DATA / "transcripts").glob(f"{name}*.txt"))
    text = path.read_text(encoding="utf-8")
    request = text.split("## Request line and headers as sent (curl -v)\n", 1)[1]
    request_line = request.strip().splitlines()[0]
    method, target, _ = request_line.split(" ", 2)
    response = text.split("## Raw response (status line, headers, body)\n", 1)[1]
    head, _, body = response.partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    body = body.rstrip("\n")
    command = text.split("$ curl", 1)[1].splitlines()[0]
    pairs: list[tuple[str, str]] = []
    for chunk in command.split("--")[1:]:
        chunk = chunk.strip().strip("'")
        if chunk.startswith(("data-urlencode ", "form ", "data ")):
            arg = chunk.split(" ", 1)[1].strip("'")
            for piece in arg.split("&"):
                key, _, value = piece.partition("=")
                pairs.append((key, value))
    if "?" in target:
        for piece in target.split("?", 1)[1].split("&"):
            key, _, value = piece.partition("=")
            pairs.append((key, value))
    info = CallInfo(method, target.split("?")[0], _action(pairs, method), "--form" in command)
    return Recorded(info, status, headers, body.encode("utf-8"))


GOLDENS: dict[str, Any] = json.loads((DATA / "goldens.json").read_text(encoding="utf-8"))["replies"]
LOGIN_PAGE = transcript("16").body


def _jetty_cookie(name: str, value: str) -> str:
    if value == "":
        return f"{name}=;Path=/"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}";Version=1;Path=/'


def _page(markers: dict[str, Any], title: str) -> bytes:
    """An HTML page carrying the markers a golden recorded (they are all the test needs)."""
    if markers.get("login_page"):
        return LOGIN_PAGE
    if markers.get("http_error_page"):
        esc = html.escape(title)
        return (
            '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;'
            f'charset=ISO-8859-1"/>\n<title>{esc}</title>\n</head>\n<body><h2>HTTP ERROR 500 '
            f"{esc[10:]}</h2>\n<table>\n<tr><th>URI:</th><td>/manager</td></tr>\n</table>\n"
            "</body>\n</html>\n"
        ).encode()
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head><title>Azkaban Web Client</title></head>']
    parts.append("<body>\n")
    if markers.get("error_alert"):
        parts.append(
            '<div class="alert alert-danger">\n  <h4>Error</h4>\n  '
            f"{html.escape(markers['error_alert'])}\n</div>\n"
        )
    if markers.get("project_description") is not None:
        raw = html.escape(markers["project_description"], quote=False)
        parts.append(f'<p class="editable" id="project-description">{raw}</p>\n')
    parts.append("</body>\n</html>\n")
    return "".join(parts).encode()


def golden(key: str) -> Recorded:
    """A golden observation turned back into a reply (Jetty 9 cookie syntax)."""
    entry = GOLDENS[key]
    request, reply = entry["request"], entry["reply"]
    pairs: list[tuple[str, str]] = []
    for field in ("query", "form"):
        pairs += [(str(k), str(v)) for k, v in request.get(field, [])]
    multipart = "multipart" in request
    for part in request.get("multipart", []):
        if "value" in part:
            pairs.append((part["name"], part["value"]))
    info = CallInfo(
        request["method"], request["path"], _action(pairs, request["method"]), multipart
    )
    headers: dict[str, str] = {}
    if reply["content_type"]:
        headers["Content-Type"] = reply["content_type"]
    if reply["location"]:
        headers["Location"] = "http://127.0.0.1:8081" + reply["location"]
    for name, value in (reply["headers"] or {}).items():
        headers[name] = value
    cookies = [
        _jetty_cookie(n, v) for n, v in (reply["cookies"] or {}).items() if n != "JSESSIONID"
    ]
    if cookies:
        headers["Set-Cookie"] = ", ".join(cookies)
    body = reply["body"]
    kind = body["kind"]
    if kind == "json":
        data = json.dumps(body["json"], indent=2).encode()
    elif kind == "text":
        data = body["text"].encode()
    elif kind == "empty":
        data = b""
    elif kind == "zip":
        data = b"PK\x03\x04" + b"\x00" * 26
    else:
        data = _page(body["markers"], body["info"]["title"])
    return Recorded(info, reply["status"], headers, data)


# -- every golden reply, and the verdict it must get ----------------------------------------

OK = None
EXPECTED: dict[str, type[AzkabanError] | None] = {
    "auth-login-errors/wrong-password": LoginError,
    "auth-login-errors/missing-password": LoginError,
    "auth-login-password-in-query/all-in-query": LoginError,
    "auth-session-invalid-multipart/upload-bad-session": SessionExpiredError,
    "auth-session-invalid-post/schedule-xhr": SessionExpiredError,
    "auth-session-invalid-post/create-xhr": SessionExpiredError,
    "auth-stale-cookie/project-id": OK,
    "auth-stale-cookie/delete": OK,
    "download-get-head/head-download": OK,
    "download-get-head/download-unknown-project": AzkabanError,
    "manager-ajax-misc/get-ajax-no-project": AzkabanError,
    "manager-ajax-misc/post-ajax-no-project": AzkabanError,
    "manager-ajax-misc/unknown-ajax": AzkabanError,
    "permissions-csrf-cookie/add-with-cookie": AzkabanError,
    "permissions-user/permissions-changed": OK,
    "permissions-user/add-reader-again": AzkabanError,
    "permissions-group/groups-added": OK,
    "permissions-group/all-projects": OK,
    "project-page-description/page": OK,
    "project-page-description/page-unknown-project": AzkabanError,
    "project-change-description/change-missing": AzkabanError,
    "project-change-description/logs": OK,
    "reader-permissions/reader-upload": AzkabanError,
    "reader-permissions/reader-flows-denied": AzkabanError,
    "schedule-concurrent-options/fetch-pipeline": OK,
    "schedule-concurrent-options/fetch-ignore": OK,
    "schedule-concurrent-options/fetch-skip": OK,
    "schedule-cron-errors/missing-cron": AzkabanError,
    "schedule-cron-errors/garbage-cron": AzkabanError,
    "schedule-cron-errors/fetch-nothing-stored": OK,
    "schedule-disabled-and-overrides/fetch-schedule": OK,
    "schedule-failure-options/fetch-schedule": OK,
    "schedule-failure-options/fetch-schedules": OK,
    "schedule-list/fetch-schedules-after": OK,
    "schedule-list/remove-alpha": OK,
    "schedule-remove-forms/remove-again": AzkabanError,
    "schedule-with-sla-settings/fetch-schedule": OK,
    "schedule-with-sla-settings/sla-info": OK,
    "sla-job-level/sla-info": OK,
    "sla-job-level/fetch-schedule": OK,
    "sla-rules/info-finish": OK,
    "sla-rules/info-succeed-word": OK,
    "sla-errors/no-settings": AzkabanError,
    "sla-errors/missing-schedule-id": AzkabanError,
    "upload-content-type-errors/upload-no-content-type": AzkabanError,
    "upload-not-a-zip/upload-junk": AzkabanError,
    "upload-unknown-dependency/upload": AzkabanError,
    "upload-fields-in-query/upload-fields-in-query": AzkabanError,
    "executor-basic/execute": OK,
    "executor-basic/fetch-exec": OK,
    "executor-basic/fetch-exec-unknown": AzkabanError,
    "executor-basic/execute-unknown-project": AzkabanError,
    "upload-flow20-basic/graph": OK,
    "upload-flow20-basic/graph-unknown-flow": AzkabanError,
}


def test_every_recorded_golden_has_an_expectation() -> None:
    assert set(EXPECTED) == set(GOLDENS)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_golden_verdicts(key: str) -> None:
    found = golden(key).detect()
    expected = EXPECTED[key]
    if expected is None:
        assert found is None, f"{key}: {found}"
    else:
        assert type(found) is expected, f"{key}: {found!r}"


# -- transcripts: the raw exchanges ---------------------------------------------------------

TRANSCRIPT_VERDICTS: dict[str, type[AzkabanError] | None] = {
    "01": OK,  # login
    "02": OK,  # create: compact JSON, no Content-Type, chunked
    "03": AzkabanError,  # duplicate create: status/message
    "04": OK,  # upload, ids as strings
    "05": OK,
    "06": OK,
    "07": OK,
    "08": AzkabanError,  # invalid cron: error, no status
    "09": OK,
    "10": OK,  # setSla: {}
    "11": OK,
    "12": OK,
    "13": OK,  # removeSched with a success cookie
    "14": OK,  # {}: no schedule
    "15": SessionExpiredError,  # {"error":"session"}
    "16": SessionExpiredError,  # POST without XHR: the login page
    "20": OK,
    "21": OK,
    "22": AzkabanError,  # error and status: success
    "23": AzkabanError,
    "24": AzkabanError,
    "25": OK,
    "26": OK,
    "27": AzkabanError,
    "28": AzkabanError,
    "29": OK,
    "30": OK,  # ajax=removeSched: {} (the builder never sends it)
    "31": AzkabanError,  # status error and a failure cookie
    "32": OK,
    "33": OK,
    "34": OK,
    "36": OK,
    "40": OK,  # delete: 302 and a success cookie
    "41": AzkabanError,
    "42": AzkabanError,  # delete unknown: 302 and a failure cookie
    "43": AzkabanError,
    "44": SessionExpiredError,
    "45": SessionExpiredError,
}


@pytest.mark.parametrize("name", sorted(TRANSCRIPT_VERDICTS))
def test_transcript_verdicts(name: str) -> None:
    found = transcript(name).detect()
    expected = TRANSCRIPT_VERDICTS[name]
    if expected is None:
        assert found is None, f"{name}: {found}"
    else:
        assert type(found) is expected, f"{name}: {found!r}"


def test_transcripts_all_covered() -> None:
    names = {p.name[:2] for p in (DATA / "transcripts").glob("*.txt")}
    assert names == set(TRANSCRIPT_VERDICTS)


# -- the messages carried -------------------------------------------------------------------


def test_error_carries_the_call_and_the_servers_words() -> None:
    err = transcript("03").detect()
    assert err is not None
    assert err.message == "Project already exists."
    assert (err.method, err.path, err.action, err.status) == ("POST", "/manager", "create", 200)
    assert str(err) == "POST /manager create: Project already exists."


def test_error_and_status_success_together_is_an_error() -> None:
    err = transcript("22").detect()
    assert err is not None and err.message == "Cron expression must exist."


def test_status_error_message() -> None:
    err = transcript("23").detect()
    assert err is not None and err.message == "Flow nosuchflow cannot be found in project demoproj"


def test_invalid_cron_error_without_status() -> None:
    err = transcript("08").detect()
    assert err is not None
    assert err.message == "This expression <not a cron> can not be parsed to quartz cron."


def test_error_object_uses_its_message() -> None:
    """slaInfo without scheduleId, fetchSchedule on ScheduleManagerException: a Throwable bean."""
    body = {
        "error": {
            "cause": None,
            "stackTrace": [{"methodName": "getParam", "fileName": "HttpRequestUtils.java"}],
            "message": "Missing required parameter 'scheduleId'.",
            "localizedMessage": "Missing required parameter 'scheduleId'.",
            "rootCause": None,
            "suppressed": [],
        }
    }
    err = detect(
        calls.sla_info(1),
        200,
        {"Content-Type": "application/json"},
        json.dumps(body, indent=2).encode(),
    )
    assert type(err) is AzkabanError
    assert err.message == "Missing required parameter 'scheduleId'."


def test_error_object_without_message_falls_back_to_its_cause() -> None:
    body = {
        "error": {
            "message": None,
            "localizedMessage": None,
            "cause": {"message": "Schedule 7 doesn't exist", "cause": None},
        }
    }
    err = detect(calls.fetch_schedule(1, "f"), 200, {}, json.dumps(body).encode())
    assert err is not None and err.message == "Schedule 7 doesn't exist"
    bare = detect(calls.fetch_schedule(1, "f"), 200, {}, b'{"error":{"message":null}}')
    assert bare is not None and "exception" in bare.message


def test_upload_errors_turn_br_into_newlines() -> None:
    err = golden("upload-unknown-dependency/upload").detect()
    assert err is not None and err.status == 500
    assert err.message == (
        "Validator Directory Flow reports errors:\n\nFailed to validate nodeBean for "
        "orphan.flow. Duplicate nodes found or dependency undefined or ROOT used as a name."
    )
    junk = golden("upload-not-a-zip/upload-junk").detect()
    assert junk is not None and junk.message == "Installation Failed.\nError unzipping file."


def test_upload_real_status_codes() -> None:
    denied = golden("reader-permissions/reader-upload").detect()
    assert denied is not None and denied.status == 400
    assert denied.message == "Installation Failed. User 'reader' does not have write access."
    no_type = golden("upload-content-type-errors/upload-no-content-type").detect()
    assert no_type is not None and no_type.message == (
        "Content type 'null' does not match extension 'zip'"
    )
    gone = detect(
        calls.upload("p", _upload()),
        410,
        {"Content-Type": "application/json"},
        b'{\n  "error" : "Installation Failed. Project \'p doesn\'t exist."\n}',
    )
    assert gone is not None and gone.status == 410 and "doesn't exist" in gone.message


def _upload() -> UploadFile:
    return UploadFile(name="p.zip", size=1, sha256="0" * 64)


def test_empty_reply_to_an_upload_with_fields_in_the_query() -> None:
    err = golden("upload-fields-in-query/upload-fields-in-query").detect()
    assert err is not None and "empty reply" in err.message


def test_jetty_500_page_names_the_exception() -> None:
    err = golden("manager-ajax-misc/post-ajax-no-project").detect()
    assert err is not None and err.status == 500
    assert err.message == (
        "HTTP 500: javax.servlet.ServletException: Missing required parameter 'project'."
    )


def test_jetty_6_500_page() -> None:
    page = (
        b'<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; '
        b"charset=ISO-8859-1\"/>\n<title>Error 500 Missing required parameter 'project'.</title>\n"
        b"</head>\n<body><h2>HTTP ERROR 500</h2>\n<p>Problem accessing /manager. Reason:\n"
        b"<pre>    Missing required parameter 'project'.</pre></p><hr /><i><small>Powered by "
        b"Jetty://</small></i>\n</body>\n</html>\n"
    )
    err = detect(calls.fetch_project_flows("p"), 500, {"Content-Type": "text/html"}, page)
    assert err is not None and err.message == "HTTP 500: Missing required parameter 'project'."


def test_html_error_box_on_a_200_page() -> None:
    err = golden("manager-ajax-misc/get-ajax-no-project").detect()
    assert err is not None and err.message == "No project set."
    missing = golden("project-page-description/page-unknown-project").detect()
    assert missing is not None and missing.message == "Project nosuch_r1234567 not found."


def test_project_page_is_a_success() -> None:
    assert golden("project-page-description/page").detect() is None


def test_html_for_an_ajax_call_is_an_error() -> None:
    page = b"<html><body><p>something else</p></body></html>"
    err = detect(calls.fetch_all_projects(), 200, {"Content-Type": "text/html"}, page)
    assert err is not None and "HTML" in err.message


def test_unexpected_plain_text_is_an_error() -> None:
    err = detect(calls.fetch_all_projects(), 200, {}, b"Service Unavailable")
    assert err is not None and "Service Unavailable" in err.message


# -- session expiry, in each of its shapes --------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "auth-session-invalid-post/schedule-xhr",
        "auth-session-invalid-post/create-xhr",
        "auth-session-invalid-multipart/upload-bad-session",
    ],
)
def test_session_shapes_from_goldens(key: str) -> None:
    assert isinstance(golden(key).detect(), SessionExpiredError)


def test_session_xhr_reply_has_no_content_type() -> None:
    reply = golden("auth-session-invalid-post/schedule-xhr")
    assert "Content-Type" not in reply.headers
    assert isinstance(reply.detect(), SessionExpiredError)


def test_login_page_on_post_is_session_expiry_but_on_login_a_login_error() -> None:
    assert isinstance(transcript("16").detect(), SessionExpiredError)
    assert isinstance(transcript("44").detect(), SessionExpiredError)
    assert isinstance(detect(LOGIN, 200, {"Content-Type": "text/html"}, LOGIN_PAGE), LoginError)


def test_head_download_answered_with_the_login_page_headers() -> None:
    """HEAD runs GET without a body: the login page shows only as text/html with status 200."""
    head = calls.download("p", head=True)
    err = detect(head, 200, {"Content-Type": "text/html;charset=utf-8"}, b"")
    assert isinstance(err, SessionExpiredError)
    ok = detect(head, 200, {"Content-Type": "application/zip", "version": "2"}, b"")
    assert ok is None


def test_get_download_of_a_zip_is_a_success() -> None:
    assert golden("download-get-head/head-download").detect() is None
    zipped = detect(
        calls.download("p"), 200, {"Content-Type": "application/zip"}, b"PK\x03\x04rest"
    )
    assert zipped is None


# -- login ----------------------------------------------------------------------------------


def test_login_errors() -> None:
    wrong = golden("auth-login-errors/wrong-password").detect()
    assert isinstance(wrong, LoginError)
    assert wrong.message == "Incorrect Login. Username/Password not found."
    query = golden("auth-login-password-in-query/all-in-query").detect()
    assert isinstance(query, LoginError)
    assert query.message == "Login error. Must pass username and password in request body"
    assert transcript("01").detect() is None


def test_login_reply_without_session_id() -> None:
    err = detect(LOGIN, 200, {}, b'{"status":"success"}')
    assert isinstance(err, LoginError)


# -- redirects and message cookies ----------------------------------------------------------


def test_delete_success_and_failure_cookies() -> None:
    assert transcript("40").detect() is None
    err = transcript("42").detect()
    assert err is not None and err.status == 302
    assert err.message == "Project nosuchproj doesn't exist."
    assert str(err) == "GET /manager delete: Project nosuchproj doesn't exist."


def test_redirect_without_a_message_is_an_error() -> None:
    err = detect(calls.delete_project("p"), 302, {"Location": "http://h/"}, b"")
    assert err is not None and "redirect" in err.message


def test_plain_jetty_6_failure_cookie() -> None:
    headers = {
        "Set-Cookie": "azkaban.failure.message=Project p with version -1 doesn't exist.; Path=/",
        "Location": "http://h/",
    }
    err = detect(calls.download("p", head=True), 302, headers, b"")
    assert err is not None and err.message == "Project p with version -1 doesn't exist."


def test_failure_cookie_on_a_200_reply() -> None:
    err = transcript("31").detect()
    assert err is not None and err.message == "Schedule with ID 9999 does not exist"


def test_split_and_parse_joined_set_cookie_headers() -> None:
    joined = (
        'azkaban.failure.message="a, b; \\"c\\"";Version=1;Path=/, '
        "azkaban.warn.message=; Path=/; Expires=Thu, 01-Jan-1970 00:00:00 GMT, "
        "JSESSIONID=node0x.node0;Path=/, azkaban.success.message=plain text;Path=/"
    )
    parts = split_set_cookie(joined)
    assert len(parts) == 4
    assert parse_set_cookie(parts) == {
        "azkaban.failure.message": 'a, b; "c"',
        "azkaban.warn.message": "",
        "JSESSIONID": "node0x.node0",
        "azkaban.success.message": "plain text",
    }
    assert cookies_from_headers({"set-cookie": joined})["azkaban.success.message"] == "plain text"


def test_examine_returns_json_and_cookies() -> None:
    recorded = transcript("13")
    seen = examine(recorded.info, recorded.status, recorded.headers, recorded.body)
    assert seen.error is None
    assert seen.json == {"message": "flow basic removed from Schedules.", "status": "success"}
    assert seen.cookies == {"azkaban.success.message": "flow basic removed from Schedules."}


def test_no_content_type_json_is_parsed() -> None:
    recorded = transcript("02")
    assert "Content-Type" not in recorded.headers
    seen = examine(recorded.info, recorded.status, recorded.headers, recorded.body)
    assert seen.error is None and seen.json["status"] == "success"


def test_call_info_from_a_call_and_a_description() -> None:
    call: Call = calls.upload("p", _upload())
    info = CallInfo.of(call)
    assert (info.method, info.path, info.action, info.multipart) == (
        "POST",
        "/manager",
        "upload",
        True,
    )
    login = CallInfo.of(LOGIN)
    assert login.is_login and not login.is_page
    assert CallInfo.of(calls.project_page("p")).is_page
