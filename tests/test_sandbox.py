"""The sandbox against azkaban-api.md: every trap of section 12, and the refinements of 13.

Requests go over real HTTP with ``requests``, with no cookie jar and no redirect following, and
nothing from azstate's own client: these tests pin the emulator to the written behaviour, not
to the client's reading of it. ``Az`` and ``make_zip`` are shared with test_sandbox_hooks.py.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from azstate.sandbox.server import SandboxServer

XHR = {"X-Requested-With": "XMLHttpRequest"}

FLOW20_BASIC = {
    "flow20.project": "azkaban-flow-version: 2.0\n",
    "basic.flow": (
        "nodes:\n"
        "  - name: jobA\n    type: command\n    config:\n      command: echo A\n"
        "  - name: jobB\n    type: command\n    dependsOn: [jobA]\n"
        "    config:\n      command: echo B\n"
    ),
}
FLOW20_TWO = {
    "flow20.project": "azkaban-flow-version: 2.0\n",
    "alpha.flow": "nodes:\n  - name: extract\n    type: command\n    config:\n      command: x\n",
    "beta.flow": "nodes:\n  - name: report\n    type: command\n    config:\n      command: y\n",
}
FLOW20_ONE = {k: v for k, v in FLOW20_TWO.items() if k != "beta.flow"}


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


class Az:
    """One logged-in user; every call sends ``session.id`` as a parameter, never a cookie."""

    def __init__(self, url: str, user: str = "azkaban", password: str | None = None) -> None:
        self.url = url
        reply = requests.post(
            url + "/",
            data={"action": "login", "username": user, "password": password or user},
            timeout=10,
        )
        self.sid: str = reply.json()["session.id"]

    def get(self, path: str, **params: Any) -> requests.Response:
        params.setdefault("session.id", self.sid)
        return requests.get(self.url + path, params=params, allow_redirects=False, timeout=10)

    def head(self, path: str, **params: Any) -> requests.Response:
        params.setdefault("session.id", self.sid)
        return requests.head(self.url + path, params=params, allow_redirects=False, timeout=10)

    def post(self, path: str, **form: Any) -> requests.Response:
        form.setdefault("session.id", self.sid)
        return requests.post(
            self.url + path, data=form, headers=XHR, allow_redirects=False, timeout=10
        )

    def create(self, name: str, description: str = "test project") -> requests.Response:
        return self.post("/manager", action="create", name=name, description=description)

    def project_id(self, name: str) -> int:
        return int(self.get("/manager", ajax="getProjectId", project=name).json()["projectId"])

    def upload(
        self,
        project: str,
        files: dict[str, str] | bytes = FLOW20_BASIC,
        *,
        filename: str = "project.zip",
        content_type: str | None = "application/zip",
    ) -> requests.Response:
        data = files if isinstance(files, bytes) else make_zip(files)
        part: tuple[Any, ...] = (
            (filename, data, content_type) if content_type is not None else (filename, data)
        )
        return requests.post(
            self.url + "/manager",
            files={
                "session.id": (None, self.sid),
                "ajax": (None, "upload"),
                "project": (None, project),
                "file": part,
            },
            allow_redirects=False,
            timeout=10,
        )

    def schedule(
        self, project: str, flow: str, cron: str | None = "0 0 1 ? * *", **options: Any
    ) -> requests.Response:
        form: dict[str, Any] = {"ajax": "scheduleCronFlow", "projectName": project, "flow": flow}
        if cron is not None:
            form["cronExpression"] = cron
        form.update(options)
        return self.post("/schedule", **form)

    def fetch_schedule(self, project_id: int, flow: str) -> dict[str, Any]:
        reply = self.get("/schedule", ajax="fetchSchedule", projectId=project_id, flowId=flow)
        result: dict[str, Any] = reply.json()
        return result

    def set_sla(self, schedule_id: int, *settings: str, emails: str = "ops@example.com") -> Any:
        form: dict[str, Any] = {"ajax": "setSla", "scheduleId": schedule_id, "slaEmails": emails}
        for index, setting in enumerate(settings):
            form[f"settings[{index}]"] = setting
        return self.post("/schedule", **form).json()

    def sla_info(self, schedule_id: int) -> Any:
        return self.get("/schedule", ajax="slaInfo", scheduleId=schedule_id).json()

    def permission(self, ajax: str, project: str, name: str, *, group: bool = False,
                   **flags: bool) -> requests.Response:  # fmt: skip
        form: dict[str, Any] = {
            "ajax": ajax, "project": project, "name": name, "group": str(group).lower(),
        }  # fmt: skip
        for kind in ("admin", "read", "write", "execute", "schedule"):
            form[f"permissions[{kind}]"] = str(flags.get(kind, False)).lower()
        return self.post("/manager", **form)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    srv = SandboxServer(data_dir=tmp_path / "data", port=0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def az(server: SandboxServer) -> Az:
    return Az(server.url)


@pytest.fixture
def project(az: Az) -> str:
    """A project with the basic Flow 2.0 zip uploaded (flow ``basic``: jobA -> jobB)."""
    assert az.create("demo").status_code == 200
    assert az.upload("demo").json()["version"] == "1"
    return "demo"


def login(url: str, **form: str) -> requests.Response:
    return requests.post(url + "/", data={"action": "login", **form}, timeout=10)


# -- transport and authentication (traps 1-5) -----------------------------------------------------


def test_login_success_sets_cookie_and_answers_pretty_json(server: SandboxServer) -> None:
    reply = login(server.url, username="azkaban", password="azkaban")
    body = reply.json()
    assert body["status"] == "success"
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Set-Cookie"].startswith(
        f"azkaban.browser.session.id={body['session.id']}"
    )
    assert reply.text == (
        '{\n  "session.id" : "' + body["session.id"] + '",\n  "status" : "success"\n}'
    )


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"username": "azkaban", "password": "nope"},
            "Incorrect Login. Username/Password not found.",
        ),
        ({"username": "", "password": "x"}, "Incorrect Login. Username is empty."),
        ({"username": "azkaban", "password": " "}, "Incorrect Login. Password is empty."),
        ({"username": "azkaban"}, "Incorrect Login."),
    ],
)
def test_login_errors_have_no_status_key(
    server: SandboxServer, form: dict[str, str], error: str
) -> None:
    assert login(server.url, **form).json() == {"error": error}


def test_login_is_post_only_and_works_on_any_path(server: SandboxServer) -> None:
    reply = requests.get(
        server.url + "/", params={"action": "login", "username": "azkaban", "password": "azkaban"}
    )
    assert 'id="login-form"' in reply.text and "Set-Cookie" not in reply.headers
    on_manager = requests.post(
        server.url + "/manager",
        data={"action": "login", "username": "azkaban", "password": "azkaban"},
    )
    assert on_manager.json()["status"] == "success"


def test_password_in_query_is_refused_in_plain_text(server: SandboxServer) -> None:
    reply = requests.post(
        server.url + "/", params={"password": "azkaban"},
        data={"action": "login", "username": "azkaban"},
    )  # fmt: skip
    assert reply.text == "Login error. Must pass username and password in request body"
    assert "Content-Type" not in reply.headers


def test_every_login_is_a_new_session_and_old_ones_stay(server: SandboxServer) -> None:
    first, second = Az(server.url), Az(server.url)
    assert first.sid != second.sid
    assert "projects" in first.get("/index", ajax="fetchallprojects").json()


def test_stale_cookie_hides_a_valid_session_parameter(az: Az) -> None:
    stale = {"azkaban.browser.session.id": "11111111-2222-3333-4444-555555555555"}
    reply = requests.get(
        az.url + "/index", params={"ajax": "fetchallprojects", "session.id": az.sid}, cookies=stale
    )
    assert reply.json() == {"error": "session"}
    good = {"azkaban.browser.session.id": az.sid}
    assert (
        "projects"
        in requests.get(az.url + "/index", params={"ajax": "fetchallprojects"}, cookies=good).json()
    )


def test_invalid_session_shapes_differ_by_method_and_header(server: SandboxServer) -> None:
    url, bogus = server.url, {"session.id": "bogus"}
    get_ajax = requests.get(url + "/manager", params={**bogus, "ajax": "fetchprojectflows"})
    assert get_ajax.json() == {"error": "session"}
    assert get_ajax.headers["Content-Type"] == "application/json"
    get_page = requests.get(url + "/index", params=bogus)
    assert 'id="login-form"' in get_page.text
    xhr = requests.post(url + "/schedule", data={**bogus, "ajax": "fetchSchedules"}, headers=XHR)
    assert xhr.text == (
        '{"action":"login","message":"Invalid Session. Need to re-login","status":"error"}'
    )
    assert "Content-Type" not in xhr.headers
    plain = requests.post(url + "/schedule", data={**bogus, "ajax": "fetchSchedules"})
    assert 'id="login-form"' in plain.text
    multipart = requests.post(url + "/manager", files={"ajax": (None, "upload"), **{
        "session.id": (None, "bogus")}})  # fmt: skip
    assert multipart.text == "Login error. Need username and password"


def test_session_id_as_a_multipart_part_and_one_off_credentials(az: Az) -> None:
    az.create("parts")
    assert az.upload("parts").json() == {"projectId": str(az.project_id("parts")), "version": "1"}
    one_off = requests.post(az.url + "/manager", files={
        "username": (None, "azkaban"), "password": (None, "azkaban"), "ajax": (None, "upload"),
        "project": (None, "parts"), "file": ("p.zip", make_zip(FLOW20_BASIC), "application/zip"),
    })  # fmt: skip
    assert one_off.json()["version"] == "2"


def test_logout_redirects_home_and_ends_the_session(az: Az) -> None:
    """As on the real server the session goes once the 302 is sent: a request right after it
    may still find it, so ask until it is gone (in ms; 10 s is only a bound for a loaded box)."""
    reply = az.get("/index", logout="true")
    assert reply.status_code == 302
    assert reply.headers["Location"] == az.url + "/"
    deadline = time.monotonic() + 10
    while az.get("/index", ajax="fetchallprojects").json() != {"error": "session"}:
        assert time.monotonic() < deadline, "the session outlived its logout"
        time.sleep(0.01)


def test_root_redirects_to_index_with_a_session(az: Az) -> None:
    reply = az.get("/")
    assert reply.status_code == 302 and reply.headers["Location"] == az.url + "/index"


def test_unsupported_method_is_a_jetty_405(server: SandboxServer) -> None:
    reply = requests.put(server.url + "/manager")
    assert reply.status_code == 405 and "HTTP ERROR 405" in reply.text


# -- projects (traps 6-9) -------------------------------------------------------------------------


def test_create_answers_compact_json_without_content_type(az: Az) -> None:
    reply = az.create("proj1")
    assert reply.text == '{"path":"manager?project=proj1","action":"redirect","status":"success"}'
    assert "Content-Type" not in reply.headers
    assert az.create("PROJ1").json() == {"message": "Project already exists.", "status": "error"}


@pytest.mark.parametrize(
    ("name", "description", "message"),
    [
        ("", "d", "Project name cannot be empty."),
        ("ok", "  ", "Description cannot be empty."),
        ("9lives", "d", "Project names must start with a letter, followed by any number of "
         "letters, digits, '-' or '_'."),
        ("a.b", "d", "Project names must start with a letter, followed by any number of "
         "letters, digits, '-' or '_'."),
        ("n" * 65, "d", f"Insert project{'n' * 65} for existing project failed. "),
    ],
)  # fmt: skip
def test_create_errors(az: Az, name: str, description: str, message: str) -> None:
    assert az.create(name, description).json() == {"message": message, "status": "error"}


def test_create_accepts_a_pipe_and_64_characters(az: Az) -> None:
    assert az.create("pipe|name").json()["status"] == "success"
    assert az.create("n" * 64).json()["status"] == "success"
    missing = az.post("/manager", action="create", name="nodesc")
    assert missing.json() == {"message": "Description cannot be empty.", "status": "error"}


def test_lookup_ignores_case_and_echoes_the_request_spelling(az: Az, project: str) -> None:
    reply = az.get("/manager", ajax="fetchprojectflows", project="DEMO").json()
    assert reply["project"] == "DEMO" and reply["flows"] == [{"flowId": "basic"}]
    assert reply["projectId"] == az.project_id("demo")


def test_unknown_project_and_unknown_ajax(az: Az, project: str) -> None:
    assert az.get("/manager", ajax="fetchprojectflows", project="nosuch").json() == {
        "project": "nosuch", "error": "Project nosuch doesn't exist.",
    }  # fmt: skip
    assert az.get("/manager", ajax="frobnicate", project="demo").json()["error"] == (
        "Cannot execute command frobnicate"
    )


def test_manager_without_project_html_on_get_500_on_post(az: Az) -> None:
    page = az.get("/manager", ajax="fetchprojectflows")
    assert page.status_code == 200
    assert '<div class="alert alert-danger"><h4>Error</h4>No project set.</div>' in page.text
    cookies = [c.split(";")[0] for c in page.raw.headers.getlist("Set-Cookie")]
    assert sorted(cookies) == sorted(
        ["azkaban.failure.message=", "azkaban.warn.message=", "azkaban.success.message="]
    )
    post = az.post("/manager", ajax="fetchprojectflows")
    assert post.status_code == 500 and "HTTP ERROR 500" in post.text
    assert "Missing required parameter &apos;project&apos;." in post.text or (
        "Missing required parameter" in post.text
    )


def test_description_is_only_on_the_page_escaped_twice(az: Az) -> None:
    az.create("desc", 'Nightly <b>ETL</b> & "é"')
    page = az.get("/manager", project="desc").text
    assert (
        '<p class="editable" id="project-description">'
        "Nightly &amp;lt;b&amp;gt;ETL&amp;lt;/b&amp;gt; &amp;amp; "
        "&amp;quot;&amp;eacute;&amp;quot;</p>"
    ) in page
    assert az.post("/manager", ajax="changeDescription", project="desc", description="").json() == {
        "project": "desc", "projectId": az.project_id("desc"),
    }  # fmt: skip
    logs = az.get("/manager", ajax="fetchProjectLogs", project="desc").json()["logData"]
    assert [row[2:] for row in logs] == [
        ["DESCRIPTION", "Description changed to "], ["CREATED", None],
    ]  # fmt: skip
    unknown = az.get("/manager", project="nosuch").text
    assert "<h4>Error</h4>Project nosuch not found.</div>" in unknown


def test_delete_is_a_redirect_with_a_cookie_and_removes_schedules(az: Az, project: str) -> None:
    pid = az.project_id(project)
    schedule_id = az.schedule(project, "basic").json()["scheduleId"]
    reply = az.get("/manager", project=project, delete="true")
    assert reply.status_code == 302 and reply.headers["Location"] == az.url + "/"
    assert 'azkaban.success.message="Project \'demo\' was successfully deleted and associated ' \
           'schedules are removed."' in reply.headers["Set-Cookie"]  # fmt: skip
    assert az.fetch_schedule(pid, "basic") == {}
    assert az.sla_info(schedule_id) == {
        "error": f"Error loading schedule. Schedule {schedule_id} doesn't exist"
    }
    again = az.get("/manager", project=project, delete="true")
    assert 'azkaban.failure.message="Project demo doesn\'t exist."' in again.headers["Set-Cookie"]
    az.create(project)
    assert az.project_id(project) > pid
    assert az.upload(project).json()["version"] == "1"


def test_delete_needs_project_admin(server: SandboxServer, az: Az, project: str) -> None:
    reader = Az(server.url, "reader")
    reply = reader.get("/manager", project=project, delete="true")
    assert reply.headers["Location"] == server.url + "/manager?project=demo"
    assert "Cannot delete. User 'reader' is not an ADMIN." in reply.headers["Set-Cookie"]


# -- uploads (traps 10-14) ------------------------------------------------------------------------


def test_upload_fields_in_the_query_are_not_seen(az: Az) -> None:
    az.create("q")
    reply = requests.post(
        az.url + "/manager",
        params={"ajax": "upload", "project": "q", "session.id": az.sid},
        files={"file": ("q.zip", make_zip(FLOW20_BASIC), "application/zip")},
    )
    assert reply.status_code == 200 and reply.content == b""
    assert "Content-Type" not in reply.headers
    assert az.get("/manager", ajax="fetchprojectflows", project="q").json()["flows"] == []


@pytest.mark.parametrize(
    ("filename", "content_type", "status", "error"),
    [
        ("p.zip", None, 400, "Content type 'null' does not match extension 'zip'"),
        ("p.zip", "text/plain", 400, "Content type 'text/plain' does not match extension 'zip'"),
        ("p.tar", "application/zip", 400, "File extension 'tar' unrecognized."),
        ("P.ZIP", "application/octet-stream", 200, None),
        ("p.zip", "application/x-zip-compressed", 200, None),
    ],
)
def test_upload_file_part_checks(
    az: Az, filename: str, content_type: str | None, status: int, error: str | None
) -> None:
    az.create("ct")
    reply = az.upload("ct", filename=filename, content_type=content_type)
    assert reply.status_code == status
    if error is not None:
        assert reply.json() == {"error": error}
    else:
        assert reply.json()["version"] == "1"


def test_upload_status_codes(server: SandboxServer, az: Az, project: str) -> None:
    assert az.upload("nosuch").status_code == 410
    assert az.upload("nosuch").json() == {
        "error": "Installation Failed. Project 'nosuch doesn't exist."
    }
    no_name = requests.post(az.url + "/manager", files={
        "session.id": (None, az.sid), "ajax": (None, "upload"),
        "file": ("p.zip", make_zip(FLOW20_BASIC), "application/zip")})  # fmt: skip
    assert (no_name.status_code, no_name.json()) == (400, {"error": "No project name found."})
    no_file = requests.post(
        az.url + "/manager",
        files={"session.id": (None, az.sid), "ajax": (None, "upload"), "project": (None, project)},
    )
    assert no_file.status_code == 500 and "HTTP ERROR 500" in no_file.text
    reader = Az(server.url, "reader")
    denied = reader.upload(project)
    assert denied.status_code == 400
    assert denied.json() == {
        "error": "Installation Failed. User 'reader' does not have write access."
    }
    junk = az.upload(project, b"this is not a zip")
    assert junk.status_code == 500
    pid = str(az.project_id(project))
    assert junk.json() == {
        "error": "Installation Failed.<br>Error unzipping file.", "projectId": pid, "version": "1",
    }  # fmt: skip


def test_every_upload_is_a_new_version_and_old_ones_are_retained_three_deep(
    az: Az, project: str
) -> None:
    for version in range(2, 6):
        assert az.upload(project, filename=f"v{version}.zip").json()["version"] == str(version)
    assert az.get("/manager", project=project, download="true", version="1").status_code == 500
    kept = az.get("/manager", project=project, download="true", version="2")
    assert kept.status_code == 200 and kept.headers["version"] == "2"
    latest = az.get("/manager", project=project, download="true")
    assert latest.headers["Content-Disposition"] == 'attachment; filename="v5.zip"'
    assert latest.headers["projectId"] == str(az.project_id(project))
    head = az.head("/manager", project=project, download="true")
    assert head.headers["version"] == "5" and head.content == b""
    missing = az.get("/manager", project=project, download="true", version="9")
    assert missing.status_code == 302
    assert f"Project {project} with version 9 doesn't exist" in missing.headers["Set-Cookie"]
    assert az.get("/manager", project=project, download="true", version="x").status_code == 500


def test_download_before_any_upload(az: Az) -> None:
    az.create("empty")
    reply = az.get("/manager", project="empty", download="true")
    assert reply.status_code == 302
    assert "Project empty with version -1 doesn't exist" in reply.headers["Set-Cookie"]


def test_upload_drops_schedules_of_vanished_flows_only(az: Az) -> None:
    az.create("two")
    az.upload("two", FLOW20_TWO)
    alpha = az.schedule("two", "alpha").json()["scheduleId"]
    beta = az.schedule("two", "beta").json()["scheduleId"]
    assert az.set_sla(alpha, ",SUCCESS,1:30,true,false") == {}
    assert az.upload("two", FLOW20_ONE).json()["version"] == "2"
    pid = az.project_id("two")
    assert az.fetch_schedule(pid, "beta") == {}
    kept = az.fetch_schedule(pid, "alpha")["schedule"]
    assert kept["scheduleId"] == str(alpha)
    assert kept["executionOptions"]["slaOptions"][0]["type"] == "FLOW_SUCCEED"
    logs = az.get("/manager", ajax="fetchProjectLogs", project="two").json()["logData"]
    assert logs[0][0] == "azkaban" and logs[0][2] == "SCHEDULE"
    assert logs[0][3].startswith(f"Schedule id {beta} for two.beta ({pid}) to be run at")
    assert logs[0][3].endswith("has been removed due to the flow has been removed or renamed "
                               "during upload process.")  # fmt: skip


def test_upload_with_no_flows_drops_every_schedule(az: Az, project: str) -> None:
    az.schedule(project, "basic")
    assert az.upload(project, {"README": "nothing"}).json()["version"] == "2"
    assert az.fetch_schedule(az.project_id(project), "basic") == {}


def test_flow10_flows_are_terminal_jobs_with_inherited_properties(az: Az) -> None:
    az.create("old")
    files = {
        "common.properties": "team=data\ntype=command\n",
        "start.job": "command=echo ${team}\n",
        "load.job": "type=command\ncommand=load\ndependencies=start\n",
        "sub/report.job": "command=report\ndependencies=load\n",
        "cleanup.job": "type=command\ncommand=c\ndependencies=start\n",
    }
    assert az.upload("old", files).status_code == 200
    flows = az.get("/manager", ajax="fetchprojectflows", project="old").json()["flows"]
    assert sorted(f["flowId"] for f in flows) == ["cleanup", "report"]
    graph = az.get("/manager", ajax="fetchflowgraph", project="old", flow="report").json()
    assert graph["nodes"] == [
        {"in": ["start"], "id": "load", "type": "command"},
        {"in": ["load"], "id": "report", "type": "command"},
        {"id": "start", "type": "command"},
    ]
    info = az.get("/manager", ajax="fetchJobInfo", project="old", flowName="report",
                  jobName="start").json()  # fmt: skip
    assert info["generalParams"] == {"command": "echo ${team}"} and info["jobType"] is None
    jobs = az.get("/manager", ajax="fetchflowjobs", project="old", flow="report").json()
    assert [(n["id"], n["level"]) for n in jobs["nodes"]] == [
        ("start", 0), ("load", 1), ("report", 2),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "error"),
    [
        (
            {"p.project": "azkaban-flow-version: 2.0\n",
             "loop.flow": "nodes:\n  - name: first\n    type: command\n    dependsOn: [second]\n"
                          "  - name: second\n    type: command\n    dependsOn: [first]\n"},
            "Validator Directory Flow reports errors:<br><br>Cycles found at first>>second<br>",
        ),
        (
            {"p.project": "azkaban-flow-version: 2.0\n",
             "twice.flow": "nodes:\n  - name: same\n    type: command\n"
                           "  - name: same\n    type: command\n"},
            "Validator Directory Flow reports errors:<br><br>Failed to validate nodeBean for "
            "twice.flow. Duplicate nodes found or dependency undefined or ROOT used as a name.<br>",
        ),
        (
            {"p.project": "azkaban-flow-version: 2\n", "a.flow": "nodes: []\n"},
            "Installation Failed.<br>Invalid azkaban-flow-version in the project YAML file.",
        ),
        (
            {"p.project": "other: 1\n", "a.flow": "nodes: []\n"},
            "Installation Failed.<br>azkaban-flow-version is not specified in the project YAML "
            "file.",
        ),
        (
            {"a.project": "azkaban-flow-version: 2.0\n",
             "b.project": "azkaban-flow-version: 2.0\n"},
            "Installation Failed.<br>Duplicate project YAML files found in the project directory. "
            "Only one is allowed.",
        ),
        (
            {"a.job": "type=command\ndependencies=ghost\n"},
            "Validator Directory Flow reports errors:<br><br>a cannot find dependency ghost<br>",
        ),
        (
            {"a.job": "command=x\n"},
            "Validator Directory Flow reports errors:<br><br>Job doesn't have type set 'a'.<br>",
        ),
    ],
)  # fmt: skip
def test_loader_errors_reject_the_upload(az: Az, files: dict[str, str], error: str) -> None:
    az.create("bad")
    reply = az.upload("bad", files)
    assert reply.status_code == 500
    assert reply.json() == {"error": error, "projectId": str(az.project_id("bad")), "version": "0"}
    assert az.get("/manager", ajax="fetchprojectflows", project="bad").json()["flows"] == []


def test_action_upload_answers_with_a_redirect_and_cookies(az: Az) -> None:
    az.create("act")
    reply = requests.post(az.url + "/manager", files={
        "session.id": (None, az.sid), "action": (None, "upload"), "project": (None, "act"),
        "file": ("a.zip", b"junk", "application/zip")}, allow_redirects=False)  # fmt: skip
    assert reply.status_code == 302
    assert reply.headers["Location"] == az.url + "/manager?project=act"
    assert "Installation Failed.<br>Error unzipping file." in reply.headers["Set-Cookie"]


# -- permissions (traps 17-19) --------------------------------------------------------------------


def test_permissions_add_change_remove(az: Az, project: str) -> None:
    assert az.get("/manager", ajax="getPermissions", project=project).json()["permissions"] == [
        {"permission": ["ADMIN"], "username": "azkaban"}
    ]
    assert "error" not in az.permission("addPermission", project, "reader", read=True).json()
    again = az.permission("addPermission", project, "reader", read=True).json()
    assert again["error"] == "User permission already exists."
    unknown = az.permission("addPermission", project, "ghost", read=True).json()
    assert unknown["error"] == "User is invalid."
    az.permission("changePermission", project, "reader", read=True, write=True, admin=True)
    entries = az.get("/manager", ajax="getPermissions", project=project).json()["permissions"]
    assert {"permission": ["ADMIN"], "username": "reader"} in entries
    az.permission("changePermission", project, "reader")
    entries = az.get("/manager", ajax="getPermissions", project=project).json()["permissions"]
    assert [e["username"] for e in entries] == ["azkaban"]
    gone = az.permission("changePermission", project, "reader", read=True).json()
    assert gone["error"] == "Permissions for reader cannot be found."


def test_group_permissions_keep_the_username_key(az: Az, project: str) -> None:
    az.permission("addPermission", project, "anygroup", group=True, read=True, execute=True)
    groups = az.get("/manager", ajax="getGroupPermissions", project=project).json()
    assert groups["permissions"] == [{"permission": ["READ", "EXECUTE"], "username": "anygroup"}]


def test_permission_endpoints_need_all_five_flags(az: Az, project: str) -> None:
    reply = az.post("/manager", ajax="addPermission", project=project, name="reader",
                    group="false", **{"permissions[read]": "true"})  # fmt: skip
    assert reply.status_code == 500


def test_csrf_check_when_the_cookie_is_sent(az: Az, project: str) -> None:
    form = {"session.id": az.sid, "ajax": "addPermission", "project": project, "name": "reader",
            "group": "false", "permissions[admin]": "false", "permissions[read]": "true",
            "permissions[write]": "false", "permissions[execute]": "false",
            "permissions[schedule]": "false"}  # fmt: skip
    with_cookie = requests.post(az.url + "/manager", data=form, headers=XHR,
                                cookies={"azkaban.browser.session.id": az.sid})  # fmt: skip
    assert with_cookie.json() == {"error": "CSRF validation failed."}
    assert "error" not in requests.post(az.url + "/manager", data=form, headers=XHR).json()


def test_reader_needs_project_permissions(server: SandboxServer, az: Az, project: str) -> None:
    reader = Az(server.url, "reader")
    denied = reader.get("/manager", ajax="fetchprojectflows", project=project).json()
    assert denied["error"] == "Permission denied. Need READ access."
    page = reader.get("/manager", project=project).text
    assert "No permission to view project demo." in page
    az.permission("addPermission", project, "readers", group=True, read=True)
    assert reader.get("/manager", ajax="fetchprojectflows", project=project).json()["flows"]
    write = reader.post("/manager", ajax="changeDescription", project=project, description="x")
    assert write.json()["error"] == "Permission denied. Need WRITE access."
    schedule = reader.schedule(project, "basic").json()
    assert schedule == {"status": "error", "message": "Permission denied. Cannot execute basic"}


def test_listings(server: SandboxServer, az: Az, project: str) -> None:
    listed = az.get("/index", ajax="fetchallprojects").json()["projects"]
    assert listed[0]["projectName"] == "demo" and listed[0]["createdBy"] == "azkaban"
    assert listed[0]["userPermissions"] == [{"first": "azkaban", "second": {"types": ["ADMIN"]}}]
    reader = Az(server.url, "reader")
    assert len(reader.get("/index", ajax="fetchallprojects").json()["projects"]) == 1
    assert reader.get("/index", ajax="fetchuserprojects").json() == {"projects": []}
    az.permission("addPermission", project, "reader", read=True, write=True)
    reader.post("/manager", ajax="changeDescription", project=project, description="by reader")
    mine = reader.get("/index", ajax="fetchuserprojects").json()["projects"]
    assert mine[0]["createdBy"] == "reader"
    assert az.get("/index", ajax="nothing").json() == {}
    assert requests.post(az.url + "/index", data={"session.id": az.sid}).content == b""


# -- schedules (traps 20-27) ----------------------------------------------------------------------


def test_reschedule_keeps_the_id_and_wipes_the_sla(az: Az, project: str) -> None:
    first = az.schedule(project, "basic").json()
    assert first["status"] == "success" and first["message"] == "demo.basic scheduled."
    sid = first["scheduleId"]
    assert isinstance(sid, int)
    assert az.set_sla(sid, ",SUCCESS,2:00,true,true") == {}
    assert az.sla_info(sid)["settings"] == [
        {"duration": "120m", "rule": "SUCCEED", "id": "", "actions": ["EMAIL", "KILL"]}
    ]
    again = az.schedule(project, "basic", "0 30 1 ? * *").json()
    assert again["scheduleId"] == sid
    info = az.sla_info(sid)
    assert "settings" not in info and sorted(info["allJobNames"]) == ["jobA", "jobB"]


def test_schedule_with_sla_settings(az: Az, project: str) -> None:
    sid = az.schedule(project, "basic", **{
        "slaSettings[0]": ",SUCCESS,1:30,true,false",
        "slaSettings[1]": "jobA,FINISH,0:45,false,true",
        "slaEmails": "sla@example.com"}).json()["scheduleId"]  # fmt: skip
    settings = sorted(az.sla_info(sid)["settings"], key=lambda s: s["id"])
    assert settings == [
        {"duration": "90m", "rule": "SUCCEED", "id": "", "actions": ["EMAIL"]},
        {"duration": "45m", "rule": "FINISH", "id": "jobA", "actions": ["KILL"]},
    ]


def test_schedule_errors(az: Az, project: str) -> None:
    missing = az.schedule(project, "basic", None).json()
    assert missing == {"error": "Cron expression must exist.", "message": "demo.basic scheduled.",
                       "scheduleId": -1, "status": "success"}  # fmt: skip
    assert az.fetch_schedule(az.project_id(project), "basic") == {}
    for cron in ("not a cron", "0 1 * * *", "0 0 1 * * *", "0 0 1 1 1 ? 2001"):
        assert az.schedule(project, "basic", cron).json() == {
            "error": f"This expression <{cron}> can not be parsed to quartz cron."
        }
    assert az.schedule(project, "BASIC").json() == {
        "status": "error", "message": "Flow BASIC cannot be found in project demo",
    }  # fmt: skip
    assert az.schedule("nosuch", "basic").json() == {
        "message": "Project nosuch does not exist", "status": "error",
    }  # fmt: skip


def test_fetch_schedule_shape_and_server_zone(az: Az, project: str) -> None:
    az.schedule(project, "basic", "0 30 2 15 6 ? 2031", failureAction="cancelImmediately",
                failureEmails="a@x.com;;b@x.com", notifyFailureFirst="false",
                concurrentOption="pipeline", pipelineLevel="2", disabled='["jobA"]',
                **{"flowOverride[k]": "v"})  # fmt: skip
    schedule = az.fetch_schedule(az.project_id(project), "basic")["schedule"]
    assert isinstance(schedule["scheduleId"], str)
    assert schedule["nextExecTime"] == "2031-06-15 02:30:00"
    assert schedule["period"] == "null" and schedule["backExecuteOnce"] is False
    options = schedule["executionOptions"]
    assert options["failureAction"] == "CANCEL_ALL"
    assert options["failureEmails"] == ["a@x.com", "", "b@x.com"]
    assert options["notifyOnFirstFailure"] is False
    assert (options["concurrentOption"], options["pipelineLevel"]) == ("pipeline", 2)
    assert options["disabledJobs"] == [{"name": "jobA", "children": None, "embeddedFlow": False}]
    assert options["flowParameters"] == {"k": "v"}
    assert list(schedule) == [
        "cronExpression", "nextExecTime", "period", "submitUser", "backExecuteOnce",
        "executionOptions", "scheduleId", "firstSchedTime",
    ]  # fmt: skip


def test_schedule_option_quirks(az: Az, project: str) -> None:
    az.schedule(project, "basic", concurrentOption="queue", disabled='[{"id": "jobA"}]')
    options = az.fetch_schedule(az.project_id(project), "basic")["schedule"]["executionOptions"]
    assert options["pipelineLevel"] == 1 and options["disabledJobs"] == [None]
    broken = az.schedule(project, "basic", concurrentOption="pipeline")
    assert broken.status_code == 500
    admin_check = az.schedule(project, "basic", **{"flowOverride[flowPriority]": "high"}).json()
    assert admin_check["error"] == "flowPriority should be an integer"
    assert admin_check["status"] == "success"


def test_fetch_schedules_and_remove_forms(az: Az, project: str) -> None:
    assert az.get("/schedule", ajax="fetchSchedules").json() == {}
    sid = az.schedule(project, "basic").json()["scheduleId"]
    items = az.get("/schedule", ajax="loadFlow").json()["items"]
    assert items == [{"cron": "0 0 1 ? * *", "projectname": "demo", "period": 0,
                      "flowname": "basic", "time": items[0]["time"], "history": False,
                      "scheduleId": sid}]  # fmt: skip
    assert az.post("/schedule", ajax="removeSched", scheduleId=sid).json() == {}
    assert "text/html" in az.get("/schedule", action="removeSched", scheduleId=sid).headers[
        "Content-Type"]  # fmt: skip
    assert az.fetch_schedule(az.project_id(project), "basic") != {}
    removed = az.post("/schedule", action="removeSched", scheduleId=sid)
    assert removed.json() == {"message": "flow basic removed from Schedules.", "status": "success"}
    assert 'azkaban.success.message="flow basic removed from Schedules."' in removed.headers[
        "Set-Cookie"]  # fmt: skip
    again = az.post("/schedule", action="removeSched", scheduleId=sid)
    assert again.json() == {"message": f"Schedule with ID {sid} does not exist", "status": "error"}
    assert "azkaban.failure.message" in again.headers["Set-Cookie"]
    assert az.post("/schedule", action="removeSched").status_code == 500


def test_post_action_schedule_with_bad_cron_sets_an_empty_failure_cookie(
    az: Az, project: str
) -> None:
    reply = az.post("/schedule", action="scheduleCronFlow", projectName=project, flow="basic",
                    cronExpression="bad")  # fmt: skip
    assert reply.json() == {"error": "This expression <bad> can not be parsed to quartz cron."}
    assert reply.headers["Set-Cookie"].startswith("azkaban.failure.message=;")


# -- SLA (traps 28-30) ----------------------------------------------------------------------------


def test_sla_rule_and_duration_parsing(az: Az, project: str) -> None:
    sid = az.schedule(project, "basic").json()["scheduleId"]
    cases = [
        (",FINISH,0:90,false,true", {"duration": "90m", "rule": "FINISH", "actions": ["KILL"]}),
        (",SUCCEED,1:30,true,true", {"duration": "90m", "rule": "FINISH"}),
        (",success,1:30,true,false", {"rule": "FINISH"}),
        ("jobA,SUCCESS,5:00,true,false", {"id": "jobA", "rule": "SUCCEED", "duration": "300m"}),
    ]
    for setting, expected in cases:
        assert az.set_sla(sid, setting) == {}
        got = az.sla_info(sid)["settings"][0]
        assert {k: got[k] for k in expected} == expected
    az.set_sla(sid, "jobA,SUCCESS,0:30,true,false", ",FINISH,2:00,true,true", emails="x@a;y@b")
    info = az.sla_info(sid)
    assert info["slaEmails"] == ["x@a", "y@b"]
    assert info["slaAlerters"] == {"email": {"recipients": ["x@a", "y@b"]}}


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ((",SUCCESS,90m,true,false",), "Error parsing SLA setting ',SUCCESS,90m,true,false': "
         "javax.servlet.ServletException: Unable to parse duration for a SLA that needs to take "
         "actions!"),
        ((",SUCCESS,1:30,false,false",), "Error parsing SLA setting ',SUCCESS,1:30,false,false': "
         "javax.servlet.ServletException: Unable to create SLA as there is no action set"),
        ((",SUCCESS,1:30",), "Error parsing SLA setting ',SUCCESS,1:30': "
         "java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 3"),
        ((), "SLA for schedule {sid} must have at least one action"),
    ],
)  # fmt: skip
def test_set_sla_errors(az: Az, project: str, settings: tuple[str, ...], error: str) -> None:
    sid = az.schedule(project, "basic").json()["scheduleId"]
    assert az.set_sla(sid, *settings) == {"error": error.format(sid=sid)}
    assert "settings" not in az.sla_info(sid)


def test_set_sla_unknown_and_missing_schedule(az: Az) -> None:
    assert az.set_sla(999, ",SUCCESS,1:00,true,false") == {
        "error": "Error loading schedule. Schedule 999 doesn't exist"
    }
    missing = az.post("/schedule", ajax="setSla", **{"settings[0]": ",SUCCESS,1:00,true,false"})
    assert missing.json() == {"error": "Missing required parameter 'scheduleId'."}
    slainfo = az.get("/schedule", ajax="slaInfo").json()
    assert slainfo["error"]["message"] == "Missing required parameter 'scheduleId'."
    both = az.post("/schedule", ajax="setSla", scheduleId=1, slaEmails="a",
                   **{"slaAlerters[email][recipients]": "b"})  # fmt: skip
    assert "error" in both.json()


# -- executions -----------------------------------------------------------------------------------


def _wait_for(az: Az, exec_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        flow: dict[str, Any] = az.get("/executor", ajax="fetchexecflow", execid=exec_id).json()
        if flow["status"] in ("SUCCEEDED", "FAILED", "KILLED"):
            return flow
        time.sleep(0.05)
    raise AssertionError("the execution never finished")


def test_executions_finish_by_themselves(az: Az, project: str) -> None:
    started = az.post("/executor", ajax="executeFlow", project=project, flow="basic",
                      disabled='["jobA"]').json()  # fmt: skip
    exec_id = started["execid"]
    assert started["message"] == f"Execution queued successfully with exec id {exec_id}"
    flow = _wait_for(az, exec_id)
    statuses = {node["id"]: node["status"] for node in flow["nodes"]}
    assert flow["status"] == "SUCCEEDED" and statuses == {"jobA": "SKIPPED", "jobB": "SUCCEEDED"}
    history = az.get("/manager", ajax="fetchFlowExecutions", project=project, flow="basic",
                     start=0, length=10).json()  # fmt: skip
    assert history["total"] == 1 and history["executions"][0]["execId"] == exec_id
    unknown = az.post("/executor", ajax="executeFlow", project=project, flow="nosuch").json()
    assert unknown["error"].startswith("Flow 'nosuch' cannot be found in project "
                                       "azkaban.project.Project@")  # fmt: skip
    assert az.get("/executor", ajax="fetchexecflow", execid=424242).json() == {
        "error": "Cannot find execution '424242'"
    }


def test_skip_while_running(az: Az, project: str) -> None:
    first = az.post("/executor", ajax="executeFlow", project=project, flow="basic").json()
    second = az.post("/executor", ajax="executeFlow", project=project, flow="basic").json()
    assert second["error"] == (
        "Error submitting flow basic. Flow basic is already running. Skipping execution."
    )
    running = az.get("/executor", ajax="getRunning", project=project, flow="basic").json()
    assert running == {"execIds": [first["execid"]]}


# -- Java-isms of the replies ---------------------------------------------------------------------


def test_upload_reply_bytes_match_the_recorded_server(az: Az) -> None:
    az.create("bytes")
    reply = az.upload("bytes")
    pid = az.project_id("bytes")
    expected = '{\n  "projectId" : "' + str(pid) + '",\n  "version" : "1"\n}'
    assert reply.content == expected.encode()


def test_empty_objects_and_arrays_are_printed_like_jackson(az: Az) -> None:
    assert az.get("/schedule", ajax="fetchSchedules").content == b"{ }"
    az.create("arr")
    reply = az.get("/manager", ajax="fetchprojectflows", project="arr")
    assert b'"flows" : [ ]' in reply.content


def test_zip_round_trip(az: Az, project: str) -> None:
    reply = az.get("/manager", project=project, download="true")
    with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
        assert sorted(archive.namelist()) == ["basic.flow", "flow20.project"]


# -- pages and rarer /manager calls -------------------------------------------------------------


def _alert(reply: requests.Response) -> str | None:
    marker = '<div class="alert alert-danger"><h4>Error</h4>'
    if marker not in reply.text:
        return None
    return reply.text.split(marker, 1)[1].split("</div>", 1)[0]


def test_project_sub_pages_and_their_errors(server: SandboxServer, az: Az, project: str) -> None:
    assert _alert(az.get("/manager", project="nosuch", logs="1")) == "Project nosuch doesn't exist."
    assert _alert(az.get("/manager", project="nosuch", permissions="1")) == (
        "Project nosuch not found."
    )
    assert _alert(az.get("/manager", project=project, flow="nosuch")) == "Flow nosuch not found."
    assert _alert(az.get("/manager", project=project, flow="basic", job="x")) == (
        "Job x not found."
    )
    assert az.get("/manager", project="nosuch", flow="basic", job="jobA").status_code == 500
    assert _alert(az.get("/manager", project=project, flow="basic")) is None
    reader = Az(server.url, "reader")
    assert _alert(reader.get("/manager", project=project, flow="basic")) == (
        "No permission Project demo."
    )


def test_job_overrides_proxy_users_locks_and_purge(az: Az, project: str) -> None:
    reply = az.post("/manager", ajax="setJobOverrideProperty", project=project, flowName="basic",
                    jobName="jobA", **{"jobOverride[command]": "echo new"})  # fmt: skip
    assert "error" not in reply.json()
    info = az.get("/manager", ajax="fetchJobInfo", project=project, flowName="basic",
                  jobName="jobA").json()  # fmt: skip
    assert info["generalParams"] == {"command": "echo new", "type": "command"}
    logs = az.get("/manager", ajax="fetchProjectLogs", project=project, size=1).json()["logData"]
    assert logs[0][2:] == [
        "PROPERTY_OVERRIDE",
        "Deleted Properties: [ type, command], \n"
        "Modified Properties: [ command, echo A-->echo new], ",
    ]
    assert az.get("/manager", ajax="getProxyUsers", project=project).json()["proxyUsers"] == [
        "azkaban"
    ]
    added = az.post("/manager", ajax="addProxyUser", project=project, name="bob").json()
    assert added["error"] == "User azkaban has no permission to add bob as proxy user."
    locked = az.post("/manager", ajax="setFlowLock", project=project, flowName="basic",
                     isLocked="true").json()  # fmt: skip
    assert locked["isLocked"] is True
    assert (
        az.schedule(project, "basic").json()["message"] == "Flow basic in project demo is locked."
    )
    pid = az.project_id(project)
    early = az.get("/manager", project=str(pid), purge="true").json()
    assert early == {"error": "Project demo should be deleted before purging", "success": False}
    az.get("/manager", project=project, delete="true")
    assert az.get("/manager", project=str(pid), purge="true").json() == {"success": True}
