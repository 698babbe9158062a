"""AzkabanClient over real HTTP against the sandbox: each trap of azkaban-api.md section 12,
session expiry and re-login, retries and their limits, no blind resend of writes, timeouts,
TLS, and redaction. Faults are injected into the sandbox (srv.faults), and srv.log shows
what the server was actually sent.
"""

from __future__ import annotations

import io
import logging
import shutil
import socket
import subprocess
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from azstate.errors import (
    AzkabanError,
    AzstateError,
    LoginError,
    SessionExpiredError,
    TransportError,
)
from azstate.plan import Call, UploadFile
from azstate.sandbox.server import LateReply, SandboxServer
from azstate.state import (
    FailureAction,
    Perm,
    PermissionValue,
    ScheduleValue,
    SlaRule,
    SlaRuleValue,
    SlaValue,
)
from azstate.wire import calls
from azstate.wire.client import AzkabanClient, redact, redact_params

PASSWORD = "azkaban"
FLOW = """\
nodes:
  - name: jobA
    type: command
    config:
      command: echo a
  - name: jobB
    type: command
    dependsOn: [jobA]
    config:
      command: echo b
"""


def project_zip(*flows: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("flow20.project", "azkaban-flow-version: 2.0\n")
        for flow in flows or ("basic",):
            zf.writestr(f"{flow}.flow", FLOW)
    return buf.getvalue()


def upload_file(data: bytes, name: str = "etl.zip") -> UploadFile:
    import hashlib

    return UploadFile(name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest())


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(data_dir=tmp_path / "sandbox", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_client(url: str, **options: object) -> AzkabanClient:
    options.setdefault("backoff", 0.01)
    options.setdefault("timeout", 5)
    return AzkabanClient(url, "azkaban", SecretStr(PASSWORD), **options)  # type: ignore[arg-type]


@pytest.fixture
def client(srv: SandboxServer) -> Iterator[AzkabanClient]:
    c = make_client(srv.url)
    try:
        yield c
    finally:
        c.close()


class Sent:
    """Every request the client put on the wire, as requests prepared it."""

    def __init__(self, client: AzkabanClient) -> None:
        self.requests: list[requests.PreparedRequest] = []
        client._http.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.requests.append(response.request)


def logged(srv: SandboxServer, action: str) -> list[object]:
    return [r for r in srv.log.snapshot() if r.action == action]


def with_project(client: AzkabanClient, name: str = "etl", *flows: str) -> int:
    client.create_project(name, "test project")
    client.upload(name, project_zip(*flows), filename=f"{name}.zip")
    pid = client.get_project_id(name)
    assert pid is not None
    return pid


# -- trap 2 and 4: session id as a parameter, no cookie, password in the body ---------------


def test_login_sends_credentials_in_the_body_only(client: AzkabanClient) -> None:
    sent = Sent(client)
    client.login()
    [login] = sent.requests
    assert login.method == "POST" and "password" not in (login.url or "")
    assert isinstance(login.body, str) and "password=azkaban" in login.body
    assert login.headers["X-Requested-With"] == "XMLHttpRequest"


def test_cookie_never_stored_nor_sent(client: AzkabanClient, srv: SandboxServer) -> None:
    sent = Sent(client)
    pid = with_project(client)
    client.fetch_schedule(pid, "basic")
    client.delete_project("etl")
    assert len(client._http.cookies) == 0
    assert all("Cookie" not in r.headers for r in sent.requests)


def test_session_id_goes_in_query_form_or_part(client: AzkabanClient) -> None:
    sent = Sent(client)
    client.login()
    sid = client._sid
    assert sid
    client.fetch_all_projects()
    client.create_project("etl", "d")
    client.upload("etl", project_zip())
    get, post, multipart = sent.requests[1:]
    assert f"session.id={sid}" in (get.url or "")
    assert isinstance(post.body, str) and f"session.id={sid}" in post.body
    assert "session.id" not in (post.url or "")
    assert isinstance(multipart.body, bytes)
    assert b'name="session.id"\r\n\r\n' + sid.encode() in multipart.body
    assert b'name="ajax"\r\n\r\nupload' in multipart.body
    assert b'filename="project.zip"\r\nContent-Type: application/zip' in multipart.body
    assert all(r.headers["X-Requested-With"] == "XMLHttpRequest" for r in sent.requests)


def test_permissions_need_no_csrf_token_without_the_cookie(client: AzkabanClient) -> None:
    """Trap 2: with the session cookie sent, addPermission fails the CSRF check."""
    with_project(client)
    client.add_permission("etl", "user", "reader", frozenset({Perm.READ}))
    client.add_permission("etl", "group", "readers", frozenset({Perm.READ, Perm.EXECUTE}))
    assert client.get_permissions("etl")["reader"] == PermissionValue(perms=frozenset({Perm.READ}))
    assert client.get_group_permissions("etl") == {
        "readers": PermissionValue(perms=frozenset({Perm.READ, Perm.EXECUTE}))
    }


def test_wrong_password_is_a_login_error(srv: SandboxServer) -> None:
    client = AzkabanClient(srv.url, "azkaban", SecretStr("wrong"), backoff=0.01)
    with pytest.raises(LoginError, match="Incorrect Login") as caught:
        client.login()
    assert "wrong" not in str(caught.value)
    assert len(logged(srv, "login")) == 1


# -- trap 3: session expiry, in each method's shape, and one re-login ------------------------


def test_relogin_once_after_expiry_on_get(client: AzkabanClient, srv: SandboxServer) -> None:
    client.login()
    srv.faults.add("expire_session", path="/index", action="fetchallprojects")
    assert client.fetch_all_projects() == []
    assert client.stats.count("POST", "login") == 2
    assert len(logged(srv, "fetchallprojects")) == 2


def test_relogin_once_after_expiry_on_post(client: AzkabanClient, srv: SandboxServer) -> None:
    client.login()
    srv.faults.add("expire_session", path="/manager", action="create")
    client.create_project("etl", "d")
    assert client.stats.count("POST", "login") == 2
    creates = logged(srv, "create")
    assert len(creates) == 2
    assert [p.name for p in client.fetch_all_projects()] == ["etl"]


def test_relogin_once_after_expiry_on_multipart(client: AzkabanClient, srv: SandboxServer) -> None:
    client.create_project("etl", "d")
    srv.faults.add("expire_session", path="/manager", action="upload")
    result = client.upload("etl", project_zip())
    assert result.version == 1  # refused once, stored once
    assert client.stats.count("POST", "login") == 2
    assert client.project_version("etl") == (result.project_id, 1)


@pytest.mark.parametrize("which", ["delete", "download-head", "page", "schedule-post"])
def test_relogin_on_pages_heads_and_actions(
    client: AzkabanClient, srv: SandboxServer, which: str
) -> None:
    pid = with_project(client)
    if which == "delete":
        srv.faults.add("expire_session", path="/manager", action="delete")
        client.delete_project("etl")
        assert not client.project_exists("etl")
    elif which == "download-head":
        srv.faults.add("expire_session", path="/manager", action="download")
        assert client.project_version("etl") == (pid, 1)
    elif which == "page":
        srv.faults.add("expire_session", path="/manager")
        assert client.project_description("etl") == "test project"
    else:
        srv.faults.add("expire_session", path="/schedule", action="scheduleCronFlow")
        sid = client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * *"))
        client.login()
        srv.faults.add("expire_session", path="/schedule", action="removeSched")
        client.remove_schedule(sid)
        assert client.fetch_schedule(pid, "basic") is None
    assert client.stats.count("POST", "login") >= 2


def test_expired_twice_gives_up_after_one_relogin(
    client: AzkabanClient, srv: SandboxServer
) -> None:
    client.login()
    srv.faults.add("expire_session", path="/index", times=2)
    with pytest.raises(SessionExpiredError):
        client.fetch_all_projects()
    assert client.stats.count("POST", "login") == 2


def test_concurrent_expiry_logs_in_once(client: AzkabanClient, srv: SandboxServer) -> None:
    client.login()
    srv.faults.latency = 0.02
    srv.faults.add("expire_session", path="/index", action="fetchallprojects")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: client.fetch_all_projects(), range(32)))
    assert all(r == [] for r in results)
    assert client.stats.count("POST", "login") == 2


# -- retries for reads, never a blind resend of a write --------------------------------------


def test_reads_retried_on_http500(client: AzkabanClient, srv: SandboxServer) -> None:
    client.login()
    srv.faults.add("http500", path="/index", times=2)
    assert client.fetch_all_projects() == []
    assert len(logged(srv, "fetchallprojects")) == 3


def test_read_retries_are_limited(srv: SandboxServer) -> None:
    client = make_client(srv.url, retries=2)
    client.login()
    srv.faults.add("http500", path="/index", times=None)
    with pytest.raises(AzkabanError) as caught:
        client.fetch_all_projects()
    assert caught.value.status == 500
    assert len(logged(srv, "fetchallprojects")) == 3


@pytest.mark.parametrize("kind", ["reset_before", "reset_after"])
def test_reads_retried_on_reset(client: AzkabanClient, srv: SandboxServer, kind: str) -> None:
    pid = with_project(client)
    srv.faults.add(kind, path="/schedule", action="fetchSchedule")
    assert client.fetch_schedule(pid, "basic") is None
    assert len(logged(srv, "fetchSchedule")) == 2


def test_write_not_retried_on_http500(client: AzkabanClient, srv: SandboxServer) -> None:
    client.login()
    srv.faults.add("http500", path="/manager", action="create")
    with pytest.raises(AzkabanError) as caught:
        client.create_project("etl", "d")
    assert caught.value.status == 500
    assert len(logged(srv, "create")) == 1


def test_create_not_resent_after_reset_after(client: AzkabanClient, srv: SandboxServer) -> None:
    client.login()
    srv.faults.add("reset_after", path="/manager", action="create")
    with pytest.raises(TransportError) as caught:
        client.create_project("etl", "d")
    assert caught.value.may_have_reached_server
    assert len(logged(srv, "create")) == 1
    assert client.project_exists("etl")  # it happened: apply checks this way
    assert [p.name for p in client.fetch_all_projects()] == ["etl"]


def test_create_reset_before_is_reported_not_resent(
    client: AzkabanClient, srv: SandboxServer
) -> None:
    client.login()
    srv.faults.add("reset_before", path="/manager", action="create")
    with pytest.raises(TransportError) as caught:
        client.create_project("etl", "d")
    assert caught.value.may_have_reached_server  # the client cannot tell the two resets apart
    assert len(logged(srv, "create")) == 1
    assert not client.project_exists("etl")


def test_upload_not_resent_after_reset_after(client: AzkabanClient, srv: SandboxServer) -> None:
    client.create_project("etl", "d")
    srv.faults.add("reset_after", path="/manager", action="upload")
    data = project_zip()
    with pytest.raises(TransportError) as caught:
        client.send(calls.upload("etl", upload_file(data)), file_bytes=data)
    assert caught.value.may_have_reached_server
    assert len(logged(srv, "upload")) == 1
    _, version = client.project_version("etl")
    assert version == 1  # stored once, not twice
    assert client.download("etl", version) == data


def test_error_reply_on_a_read_is_not_retried(client: AzkabanClient, srv: SandboxServer) -> None:
    client.login()
    srv.faults.add("error200", path="/index")
    with pytest.raises(AzkabanError, match="Injected fault"):
        client.fetch_all_projects()
    assert len(logged(srv, "fetchallprojects")) == 1


def test_connection_refused_is_retried_even_for_writes() -> None:
    """Nothing was sent, so a write may be tried again; then it gives up, saying so."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", retries=2)
    client._sid = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(TransportError) as caught:
        client.create_project("etl", "d")
    assert not caught.value.may_have_reached_server
    assert client.stats.count("POST", "create") == 3
    assert "connect" in str(caught.value)


# -- timeouts -------------------------------------------------------------------------------


def test_slow_read_times_out_and_is_retried(srv: SandboxServer) -> None:
    """The client stops waiting after its timeout, closes the connection and asks again; the
    slow reply is never waited for (the server sees the client go before it answers)."""
    client = make_client(srv.url, timeout=0.5)
    client.login()
    late = LateReply()
    srv.faults.add("slow", path="/index", on_fire=late)
    started = time.monotonic()
    assert client.fetch_all_projects() == []
    assert time.monotonic() - started >= 0.5  # it did wait for its timeout first
    assert late.client_gave_up()
    assert client.stats.count("GET", "fetchallprojects") == 2


def test_slow_write_times_out_and_may_have_happened(srv: SandboxServer) -> None:
    client = make_client(srv.url, timeout=0.5)
    client.login()
    late = LateReply()
    srv.faults.add("slow", path="/manager", action="create", on_fire=late)
    with pytest.raises(TransportError, match="no reply") as caught:
        client.create_project("etl", "d")
    assert caught.value.may_have_reached_server
    assert late.client_gave_up()
    # the server goes on with the request its client gave up on
    assert srv.log.wait_for(lambda e: e.action == "create", timeout=30)
    assert len(logged(srv, "create")) == 1
    assert client.project_exists("etl")


# -- the traps of section 12, one by one ------------------------------------------------------


def test_trap1_errors_in_200_replies(client: AzkabanClient) -> None:
    pid = with_project(client)
    with pytest.raises(AzkabanError, match="Project already exists"):
        client.create_project("ETL", "again")
    no_cron = Call(
        method="POST", path="/schedule",
        params=(("ajax", "scheduleCronFlow"), ("projectName", "etl"), ("flow", "basic")),
    )  # fmt: skip
    with pytest.raises(AzkabanError, match="Cron expression must exist"):
        client.send(no_cron)
    with pytest.raises(AzkabanError, match="can not be parsed to quartz cron"):
        client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 1 * * *"))
    assert client.fetch_schedule(pid, "basic") is None


def test_trap5_and_6_create_has_no_content_type_and_no_id(client: AzkabanClient) -> None:
    reply = client.send(calls.create_project("etl", "d"))
    assert reply.json == {"path": "manager?project=etl", "action": "redirect", "status": "success"}
    assert client.get_project_id("etl") is not None


def test_trap7_description_only_from_the_page(client: AzkabanClient) -> None:
    client.create_project("etl", 'Nightly <b>ETL</b> & "reports" café')
    assert client.project_description("etl") == 'Nightly <b>ETL</b> & "reports" café'
    client.change_description("etl", "")
    assert client.project_description("etl") == ""
    with pytest.raises(AzkabanError, match="not found"):
        client.project_description("nosuch")


def test_trap8_names_ignore_case(client: AzkabanClient) -> None:
    client.create_project("Etl", "d")
    pid = client.get_project_id("Etl")
    assert pid is not None and client.get_project_id("ETL") == pid
    assert client.project_exists("etl") and not client.project_exists("other")


def test_trap9_delete_is_a_redirect_with_a_cookie(
    client: AzkabanClient, srv: SandboxServer
) -> None:
    pid = with_project(client)
    sid = client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * *"))
    srv.log.clear()
    reply = client.send(calls.delete_project("etl"))
    assert (
        reply.status == 302 and "successfully deleted" in reply.cookies["azkaban.success.message"]
    )
    assert [r.path for r in srv.log.snapshot()] == ["/manager"]  # the redirect is not followed
    assert not client.project_exists("etl")
    with pytest.raises(AzkabanError, match="doesn't exist"):
        client.delete_project("etl")
    with pytest.raises(AzkabanError, match=f"Schedule {sid} doesn't exist"):
        client.sla_info(sid)
    assert with_project(client) != pid  # a new id for the same name


def test_trap10_upload_parts_and_zip_name(client: AzkabanClient, srv: SandboxServer) -> None:
    client.create_project("etl", "d")
    data = project_zip()
    reply = client.send(calls.upload("etl", upload_file(data, "etl-files")), file_bytes=data)
    assert reply.json["version"] == "1"
    logs = client.fetch_project_logs("etl")
    assert logs[0].message == "Uploaded project files zip etl-files.zip"
    with pytest.raises(AzstateError, match="not the planned ones"):
        client.send(calls.upload("etl", upload_file(data)), file_bytes=data + b"x")
    assert len(logged(srv, "upload")) == 1


def test_trap11_upload_errors_and_string_ids(client: AzkabanClient, srv: SandboxServer) -> None:
    client.create_project("etl", "d")
    with pytest.raises(AzkabanError) as caught:
        client.upload("etl", b"this is not a zip archive\n")
    assert caught.value.status == 500
    assert caught.value.message == "Installation Failed.\nError unzipping file."
    assert len(logged(srv, "upload")) == 1  # a write's 500 is not retried
    pid, version = client.project_version("etl")
    assert version is None and pid == client.get_project_id("etl")
    result = client.upload("etl", project_zip())
    assert (result.project_id, result.version) == (pid, 1)


def test_trap12_every_upload_is_a_new_version(client: AzkabanClient) -> None:
    with_project(client)
    assert client.upload("etl", project_zip()).version == 2
    assert client.project_version("etl")[1] == 2


def test_trap13_upload_without_a_flow_drops_its_schedule(client: AzkabanClient) -> None:
    pid = with_project(client, "etl", "alpha", "beta")
    client.schedule_cron_flow("etl", "alpha", ScheduleValue(cron="0 0 1 ? * *"))
    client.schedule_cron_flow("etl", "beta", ScheduleValue(cron="0 0 2 ? * *"))
    client.upload("etl", project_zip("alpha"))
    assert client.fetch_schedule(pid, "beta") is None
    assert client.fetch_schedule(pid, "alpha") is not None


def test_trap14_flow_ids(client: AzkabanClient) -> None:
    with_project(client, "etl", "alpha", "beta")
    assert client.fetch_project_flows("etl") == ["alpha", "beta"]
    graph = client.fetch_flow_graph("etl", "alpha")
    assert {n.id for n in graph.nodes} == {"jobA", "jobB"}
    with pytest.raises(AzkabanError, match="not found in project"):
        client.fetch_flow_graph("etl", "nosuch")


def test_trap15_ajax_get_without_project_is_html(client: AzkabanClient) -> None:
    call = Call(
        method="GET", path="/manager", params=(("ajax", "fetchprojectflows"),), mutating=False
    )
    with pytest.raises(AzkabanError, match="No project set"):
        client.send(call)


def test_trap16_and_17_listing_and_creator_admin(client: AzkabanClient) -> None:
    pid = with_project(client)
    [item] = client.fetch_all_projects()
    assert item.project_id == pid and item.name == "etl"
    assert item.user_permissions == {"azkaban": PermissionValue(perms=frozenset({Perm.ADMIN}))}


def test_trap18_add_once_change_and_remove(client: AzkabanClient) -> None:
    with_project(client)
    client.add_permission("etl", "user", "reader", frozenset({Perm.READ}))
    with pytest.raises(AzkabanError, match="already exists"):
        client.add_permission("etl", "user", "reader", frozenset({Perm.READ}))
    client.change_permission("etl", "user", "reader", frozenset({Perm.READ, Perm.WRITE}))
    assert client.get_permissions("etl")["reader"] == PermissionValue(
        perms=frozenset({Perm.READ, Perm.WRITE})
    )
    client.change_permission("etl", "user", "reader", frozenset())
    assert "reader" not in client.get_permissions("etl")


def test_trap19_creator_is_a_proxy_user(client: AzkabanClient) -> None:
    """addProxyUser is not offered (the solo user may add no proxy); the creator is listed."""
    client.create_project("etl", "d")
    assert client.get_proxy_users("etl") == ["azkaban"]


def test_trap20_21_ids_by_name_and_number(client: AzkabanClient) -> None:
    pid = with_project(client)
    sid = client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * *"))
    assert isinstance(sid, int)
    live = client.fetch_schedule(pid, "basic")
    assert live is not None and live.schedule_id == sid
    [listed] = client.fetch_schedules()
    assert (listed.schedule_id, listed.project_name, listed.flow) == (sid, "etl", "basic")
    again = client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 3 ? * *"))
    assert again == sid  # replaced in place


def test_trap22_remove_schedule_only_as_post_action(client: AzkabanClient) -> None:
    pid = with_project(client)
    sid = client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * *"))
    wrong = Call(
        method="POST", path="/schedule", params=(("ajax", "removeSched"), ("scheduleId", str(sid)))
    )
    assert client.send(wrong).json == {}
    assert client.fetch_schedule(pid, "basic") is not None
    client.remove_schedule(sid)
    assert client.fetch_schedule(pid, "basic") is None
    with pytest.raises(AzkabanError, match="does not exist"):
        client.remove_schedule(sid)


def test_trap23_reschedule_wipes_the_sla(client: AzkabanClient) -> None:
    with_project(client)
    value = ScheduleValue(cron="0 0 2 ? * *")
    sla = SlaValue(
        emails=frozenset({"ops@example.com"}),
        rules=frozenset({SlaRuleValue(rule=SlaRule.SUCCESS, minutes=120, email=True)}),
    )
    sid = client.schedule_cron_flow("etl", "basic", value, sla)
    assert client.sla_info(sid) == sla
    client.schedule_cron_flow("etl", "basic", value)
    assert client.sla_info(sid) is None


def test_trap24_none_is_empty(client: AzkabanClient) -> None:
    pid = with_project(client)
    assert client.fetch_schedules() == []
    assert client.fetch_schedule(pid, "basic") is None


def test_trap25_cron_is_stored_verbatim_and_read_back_normalized(client: AzkabanClient) -> None:
    pid = with_project(client)
    call = calls.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * mon"), None)
    client.send(call)
    live = client.fetch_schedule(pid, "basic")
    assert live is not None and live.value.cron == "0 0 2 ? * MON"


def test_trap27_options_read_back_as_sent(client: AzkabanClient) -> None:
    pid = with_project(client)
    value = ScheduleValue(
        cron="0 0 2 ? * *",
        concurrent="pipeline",
        pipeline_level=2,
        failure_action=FailureAction.FINISH_POSSIBLE,
        failure_emails=frozenset({"a@example.com"}),
        notify_on_first_failure=False,
        disabled_jobs=frozenset({"jobB"}),
        parameters=(("env", "prod"),),
    )
    client.schedule_cron_flow("etl", "basic", value)
    live = client.fetch_schedule(pid, "basic")
    assert live is not None and live.value == value


def test_trap28_sla_formats_converted_both_ways(client: AzkabanClient) -> None:
    with_project(client)
    sid = client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * *"))
    sla = SlaValue(
        emails=frozenset({"ops@example.com"}),
        rules=frozenset({
            SlaRuleValue(rule=SlaRule.SUCCESS, minutes=90, email=True, kill=True),
            SlaRuleValue(job="jobA", rule=SlaRule.FINISH, minutes=300, kill=True),
        }),
    )  # fmt: skip
    client.set_sla(sid, sla)
    assert client.sla_info(sid) == sla


def test_trap29_set_sla_cannot_clear(client: AzkabanClient) -> None:
    with_project(client)
    sid = client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * *"))
    with pytest.raises(AzkabanError, match="at least one action"):
        client.set_sla(sid, SlaValue(rules=frozenset()))


def test_trap30_sla_info_errors(client: AzkabanClient) -> None:
    with_project(client)
    with pytest.raises(AzkabanError, match="Schedule 999999 doesn't exist"):
        client.sla_info(999999)
    no_id = Call(method="GET", path="/schedule", params=(("ajax", "slaInfo"),), mutating=False)
    with pytest.raises(AzkabanError) as caught:
        client.send(no_id)
    assert "scheduleId" in caught.value.message


def test_downloads_and_stats(client: AzkabanClient) -> None:
    data = project_zip()
    client.create_project("etl", "d")
    client.upload("etl", data)
    before = client.stats.bytes_downloaded
    assert client.download("etl") == data
    assert client.download("etl", 1) == data
    assert client.stats.bytes_downloaded - before == 2 * len(data)
    assert client.stats.calls[("GET", "download")] == 2
    with pytest.raises(AzkabanError, match="doesn't exist"):
        client.download("nosuch")


def test_executions_and_other_reads(client: AzkabanClient) -> None:
    pid = with_project(client)
    exec_id = client.execute_flow("etl", "basic")
    run = client.fetch_exec_flow(exec_id)
    assert run.exec_id == exec_id and run.flow == "basic"
    assert set(run.nodes) == {"jobA", "jobB"}
    [summary] = client.fetch_flow_executions("etl", "basic")
    assert (summary.exec_id, summary.project_id) == (exec_id, pid)
    assert all(isinstance(i, int) for i in client.get_running("etl", "basic"))
    info = client.fetch_job_info("etl", "basic", "jobB")
    assert info.job == "jobB" and info.type == "command"
    assert [p.name for p in client.fetch_user_projects()] == ["etl"]
    assert client.fetch_user_projects("reader") == []
    assert isinstance(client.get_proxy_users("etl"), list)
    with pytest.raises(AzkabanError, match="Cannot find execution"):
        client.cancel_flow(999999)


# -- redaction and logs ----------------------------------------------------------------------


def test_logs_never_hold_the_password_or_a_session_id(
    client: AzkabanClient, srv: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="azstate.wire")
    client.login()
    first = client._sid
    srv.faults.add("expire_session", path="/index")
    srv.faults.add("http500", path="/schedule")
    client.create_project("etl", "d")
    client.upload("etl", project_zip())
    client.fetch_all_projects()
    client.fetch_schedules()
    second = client._sid
    assert first and second and first != second
    text = caplog.text
    assert "/index fetchallprojects" in text and "session.id=***" in text
    assert "password=***" in text
    for secret in (PASSWORD, first, second):
        assert secret not in text
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "->" in r.getMessage())


def test_errors_never_hold_a_session_id(srv: SandboxServer) -> None:
    client = make_client(srv.url, retries=1)
    client.login()
    sid = client._sid
    assert sid
    srv.stop()
    with pytest.raises(TransportError) as caught:
        client.fetch_all_projects()
    chain: list[BaseException] = []
    todo: list[BaseException] = [caught.value]
    while todo:
        exc = todo.pop()
        if exc in chain:
            continue
        chain.append(exc)
        todo += [e for e in (exc.__cause__, exc.__context__) if e is not None]
    assert len(chain) >= 2
    for link in chain:
        assert sid not in str(link) and PASSWORD not in str(link)
        assert sid not in repr(link.args)


def test_redactor() -> None:
    sid = "2b4bac0b-6a3f-4aac-8a97-553b7beadcc1"
    text = f'GET /manager?ajax=x&session.id={sid}&password=s3cret%21 {{"session.id" : "{sid}"}}'
    cleaned = redact(text, ["s3cret!", sid])
    assert sid not in cleaned and "s3cret" not in cleaned
    assert redact("password=ab&x=1") == "password=***&x=1"
    assert redact_params([("session.id", "x"), ("password", "y"), ("a", "b")]) == [
        ("session.id", "***"),
        ("password", "***"),
        ("a", "b"),
    ]


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[SandboxServer, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = SandboxServer(
        data_dir=tmp_path / "tls-data", port=0, ssl_context=(str(cert), str(key))
    )
    server.start()
    try:
        yield server, cert
    finally:
        server.stop()


def test_tls_verified_by_default(tls_server: tuple[SandboxServer, Path]) -> None:
    server, _ = tls_server
    client = make_client(server.url)
    with pytest.raises(TransportError, match="TLS") as caught:
        client.login()
    assert not caught.value.may_have_reached_server
    assert client.stats.count("POST", "login") == 1  # a certificate failure is not retried


def test_tls_with_a_ca_bundle(tls_server: tuple[SandboxServer, Path]) -> None:
    server, cert = tls_server
    client = make_client(server.url, ca_bundle=str(cert))
    assert client.fetch_all_projects() == []


def test_tls_unverified_warns(
    tls_server: tuple[SandboxServer, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = tls_server
    caplog.set_level(logging.WARNING, logger="azstate.wire")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        client = make_client(server.url, verify_tls=False)
        assert client.fetch_all_projects() == []
    assert any("TLS verification is off" in r.getMessage() for r in caplog.records)
    assert not [w for w in seen if "Unverified HTTPS" in str(w.message)]


def test_thread_safe_under_parallel_load(client: AzkabanClient, srv: SandboxServer) -> None:
    pid = with_project(client)
    client.schedule_cron_flow("etl", "basic", ScheduleValue(cron="0 0 2 ? * *"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                assert client.fetch_schedule(pid, "basic") is not None
                assert client.project_exists("etl")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert client.stats.count("GET", "fetchSchedule") == 80
