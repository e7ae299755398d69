"""Invoked applications: parameter binding, the registry, and the three built-ins
(``variables.set``, ``notify.user``, ``http.call`` against a real loopback HTTP server)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from portal.models import Notification, User
from portal.registry import Registry
from workflow.applications import (
    Application,
    ApplicationCall,
    ApplicationError,
    Parameter,
    applications,
)


def noop(call: ApplicationCall) -> None:
    return None


def call(
    name: str, parameters: Mapping[str, Any], *, key: str = "instance-1:step-1"
) -> Mapping[str, Any] | None:
    """Bind ``parameters`` as the engine does and call the registered application."""
    application = applications.get(name)
    assert application is not None
    bound = application.bind(parameters)
    return application.handler(
        ApplicationCall(parameters=bound, variables={}, instance_id=1, idempotency_key=key)
    )


SAMPLE = Application(
    "sample.app",
    "Sample",
    noop,
    (
        Parameter("name", "string"),
        Parameter("count", "integer", required=False, default=3),
        Parameter("ratio", "number", required=False, default=0.5),
        Parameter("flag", "boolean", required=False, default=False),
        Parameter("items", "list", required=False, default=None),
        Parameter("data", "object", required=False, default=None),
    ),
)


# --- Application.bind -------------------------------------------------------------------------


def test_bind_fills_defaults() -> None:
    assert SAMPLE.bind({"name": "x"}) == {
        "name": "x",
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "items": None,
        "data": None,
    }


def test_bind_keeps_given_values_of_the_right_type() -> None:
    given = {
        "name": "x",
        "count": 7,
        "ratio": 2,  # an integer is a number
        "flag": True,
        "items": ("a", "b"),
        "data": {"k": 1},
    }
    assert SAMPLE.bind(given) == given


def test_bind_missing_required_parameter_is_a_permanent_error() -> None:
    with pytest.raises(ApplicationError) as caught:
        SAMPLE.bind({})
    assert caught.value.permanent is True
    assert "name is required" in str(caught.value)
    assert str(caught.value).startswith("sample.app: ")


@pytest.mark.parametrize(
    ("parameter", "value", "type_name"),
    [
        ("name", 5, "string"),
        ("count", "5", "integer"),
        ("count", 1.5, "integer"),
        ("count", True, "integer"),
        ("ratio", True, "number"),
        ("ratio", "0.5", "number"),
        ("flag", 1, "boolean"),
        ("items", "abc", "list"),
        ("data", [1], "object"),
    ],
)
def test_bind_wrong_type_is_a_permanent_error(parameter: str, value: Any, type_name: str) -> None:
    given = {"name": "x", parameter: value}
    with pytest.raises(ApplicationError) as caught:
        SAMPLE.bind(given)
    assert caught.value.permanent is True
    assert f"{parameter} must be of type {type_name}" in str(caught.value)


def test_bind_names_every_wrong_parameter() -> None:
    with pytest.raises(ApplicationError) as caught:
        SAMPLE.bind({"count": "x", "bogus": 1})
    message = str(caught.value)
    assert "name is required" in message
    assert "count must be of type integer" in message
    assert "unknown parameter(s): bogus" in message


def test_bind_refuses_unknown_parameters() -> None:
    with pytest.raises(ApplicationError) as caught:
        SAMPLE.bind({"name": "x", "zeta": 1, "alpha": 2})
    assert caught.value.permanent is True
    assert "unknown parameter(s): alpha, zeta" in str(caught.value)


def test_bind_accepts_unknown_parameters_with_extra_parameters() -> None:
    open_app = Application(
        "open.app", "Open", noop, (Parameter("name", "string"),), extra_parameters=True
    )
    assert open_app.bind({"name": "x", "other": [1]}) == {"name": "x", "other": [1]}
    with pytest.raises(ApplicationError, match="name is required"):
        open_app.bind({"other": 1})


def test_parameter_with_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown type"):
        Parameter("x", "date")


def test_application_error_is_transient_by_default() -> None:
    assert ApplicationError("boom").permanent is False


# --- the registry -----------------------------------------------------------------------------


def test_registry_refuses_a_duplicate_name() -> None:
    registry: Registry[Application] = Registry("applications")
    registry.register(SAMPLE)
    with pytest.raises(ValueError, match="registered already"):
        registry.register(Application("sample.app", "Other", noop))
    assert registry.get("sample.app") is SAMPLE
    assert registry.keys() == frozenset({"sample.app"})
    registry.unregister("sample.app")
    assert registry.get("sample.app") is None


def test_global_registry_refuses_a_builtin_registered_again() -> None:
    existing = applications.get("variables.set")
    assert existing is not None
    with pytest.raises(ValueError, match="registered already"):
        applications.register(Application("variables.set", "Again", noop))
    assert applications.get("variables.set") is existing


def test_registry_holds_the_builtins() -> None:
    assert {"variables.set", "notify.user", "http.call"} <= applications.keys()
    names = [a.name for a in applications]
    assert names == sorted(names)


# --- variables.set ----------------------------------------------------------------------------


def test_variables_set_returns_its_parameters() -> None:
    parameters = {"approved": True, "amount": 12.5, "approver": "lina", "tags": ["a"]}
    assert call("variables.set", parameters) == parameters


def test_variables_set_with_nothing_returns_nothing() -> None:
    assert call("variables.set", {}) == {}


# --- notify.user ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_notify_user_creates_a_workflow_notification(employee: User) -> None:
    result = call(
        "notify.user",
        {"user": employee.username, "title": "请审批", "body": "一张报销单", "url": "/tasks/1/"},
    )
    assert result is None
    notification = Notification.objects.get(recipient=employee)
    assert notification.kind == "workflow"
    assert notification.title == "请审批"
    assert notification.body == "一张报销单"
    assert notification.url == "/tasks/1/"


@pytest.mark.django_db
def test_notify_user_twice_with_the_same_key_notifies_once(employee: User) -> None:
    parameters = {"user": employee.username, "title": "请审批"}
    call("notify.user", parameters, key="inst-7:Task_1")
    call("notify.user", parameters, key="inst-7:Task_1")
    assert Notification.objects.filter(recipient=employee).count() == 1
    call("notify.user", parameters, key="inst-7:Task_2")
    assert Notification.objects.filter(recipient=employee).count() == 2


@pytest.mark.django_db
def test_notify_unknown_user_is_a_permanent_error() -> None:
    with pytest.raises(ApplicationError) as caught:
        call("notify.user", {"user": "nobody", "title": "t"})
    assert caught.value.permanent is True
    assert "nobody" in str(caught.value)
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_notify_inactive_user_is_a_permanent_error(employee: User) -> None:
    employee.is_active = False
    employee.save()
    with pytest.raises(ApplicationError) as caught:
        call("notify.user", {"user": employee.username, "title": "t"})
    assert caught.value.permanent is True
    assert not Notification.objects.exists()


def test_notify_user_without_title_is_refused_when_bound() -> None:
    application = applications.get("notify.user")
    assert application is not None
    with pytest.raises(ApplicationError, match="title is required") as caught:
        application.bind({"user": "x"})
    assert caught.value.permanent is True


# --- http.call against a loopback server ------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    seen: list[Seen] = field(default_factory=list)


def make_handler(seen: list[Seen]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

        def answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            if self.path == "/echo":
                answer = {"method": self.command, "received": json.loads(body) if body else None}
                self.answer(200, json.dumps(answer).encode(), "application/json")
            elif self.path == "/empty":
                self.answer(200, b"", "application/json")
            elif self.path == "/missing":
                self.answer(404, b'{"error": "not found"}', "application/json")
            elif self.path == "/unavailable":
                self.answer(503, b'{"error": "busy"}', "application/json")
            elif self.path == "/text":
                self.answer(200, b"<html>hello</html>", "text/html")
            elif self.path == "/slow":
                time.sleep(1.0)
                with contextlib.suppress(OSError):  # the client gave up already
                    self.answer(200, b"{}", "application/json")
            else:
                self.answer(500, b"unexpected path", "text/plain")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    return Handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Server]:
    """A JSON server on 127.0.0.1 (a free port), in a thread, shut down after the test;
    ``http.call`` may reach it (listed, private addresses allowed: docs/operations.md 2.6)."""
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.HTTP_CALL_ALLOW_PRIVATE = True
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    seen: list[Seen] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(seen))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Server(url=f"http://127.0.0.1:{httpd.server_port}", seen=seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_http_call_posts_json_with_the_idempotency_key(server: Server) -> None:
    result = call(
        "http.call",
        {
            "url": f"{server.url}/echo",
            "json": {"amount": 120, "who": "张伟"},
            "result_variable": "answer",
        },
        key="inst-3:Service_1",
    )
    assert result == {"answer": {"method": "POST", "received": {"amount": 120, "who": "张伟"}}}
    (request,) = server.seen
    assert request.method == "POST"
    assert request.path == "/echo"
    assert json.loads(request.body) == {"amount": 120, "who": "张伟"}
    assert request.headers["Idempotency-Key"] == "inst-3:Service_1"
    assert request.headers["Content-Type"] == "application/json"


def test_http_call_without_result_variable_returns_nothing(server: Server) -> None:
    assert call("http.call", {"url": f"{server.url}/echo", "json": {"a": 1}}) is None
    assert len(server.seen) == 1


def test_http_call_get_without_body(server: Server) -> None:
    result = call(
        "http.call", {"url": f"{server.url}/echo", "method": "get", "result_variable": "r"}
    )
    assert result == {"r": {"method": "GET", "received": None}}
    assert server.seen[0].body == b""


def test_http_call_empty_answer_is_none(server: Server) -> None:
    assert call("http.call", {"url": f"{server.url}/empty", "result_variable": "r"}) == {"r": None}


def test_http_call_4xx_is_permanent(server: Server) -> None:
    with pytest.raises(ApplicationError) as caught:
        call("http.call", {"url": f"{server.url}/missing", "result_variable": "r"})
    assert caught.value.permanent is True
    assert "404" in str(caught.value)


def test_http_call_5xx_is_retried(server: Server) -> None:
    with pytest.raises(ApplicationError) as caught:
        call("http.call", {"url": f"{server.url}/unavailable", "result_variable": "r"})
    assert caught.value.permanent is False
    assert "503" in str(caught.value)


def test_http_call_time_out_is_retried(server: Server) -> None:
    started = time.monotonic()
    with pytest.raises(ApplicationError) as caught:
        call("http.call", {"url": f"{server.url}/slow", "timeout": 0.2, "result_variable": "r"})
    assert time.monotonic() - started < 0.9
    assert caught.value.permanent is False


def test_http_call_unreachable_is_retried(server: Server) -> None:
    # a port nobody listens on: bind one, note it, close it
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    with pytest.raises(ApplicationError) as caught:
        call("http.call", {"url": f"http://127.0.0.1:{port}/", "timeout": 1})
    assert caught.value.permanent is False
    assert "could not be reached" in str(caught.value)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "127.0.0.1/echo"])
def test_http_call_non_http_url_is_permanent_without_a_request(server: Server, url: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        call("http.call", {"url": url, "result_variable": "r"})
    assert caught.value.permanent is True
    assert "http://" in str(caught.value)
    assert server.seen == []


def test_http_call_unsupported_method_is_permanent(server: Server) -> None:
    with pytest.raises(ApplicationError) as caught:
        call("http.call", {"url": f"{server.url}/echo", "method": "TRACE"})
    assert caught.value.permanent is True
    assert server.seen == []


def test_http_call_non_json_answer_is_permanent(server: Server) -> None:
    with pytest.raises(ApplicationError) as caught:
        call("http.call", {"url": f"{server.url}/text", "result_variable": "r"})
    assert caught.value.permanent is True
    assert "not JSON" in str(caught.value)
    assert len(server.seen) == 1


def test_http_call_non_json_answer_without_result_variable_is_fine(server: Server) -> None:
    assert call("http.call", {"url": f"{server.url}/text"}) is None


def test_a_stand_in_is_seen_by_its_own_thread_only() -> None:
    """A simulation in one request replaces applications for itself: a job running in
    another thread at the same moment still gets the real one."""
    real = applications.get("notify.user")
    assert real is not None
    stand_in = Application("notify.user", "stand-in", lambda call: None)
    seen: list[object] = []
    with applications.standing_in({"notify.user": stand_in, "nowhere.app": stand_in}):
        assert applications.get("notify.user") is stand_in
        assert "nowhere.app" in applications
        assert applications.keys() >= {"nowhere.app", "notify.user"}
        other = threading.Thread(target=lambda: seen.append(applications.get("notify.user")))
        other.start()
        other.join()
    assert seen == [real]
    assert applications.get("notify.user") is real
    assert "nowhere.app" not in applications
