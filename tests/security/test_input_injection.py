"""Bad form and API input: wrong types, huge values, undeclared fields, HTML and script.

The doors: the start form (``/workflow/processes/<key>/start/``), a task's approve form
(``/workflow/tasks/<id>/approve/`` and ``approvals.task_approve``), and the API's start and
approve (``POST /api/v1/instances/``, ``POST /api/v1/tasks/<id>/approve``). Each bad input
answers a clear field error and changes nothing (instances, tasks and variables are counted
before and after), or is stored verbatim and shown escaped on every page that shows it; an
undeclared field never becomes a process variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from portal.models import User
from tests.security.conftest import assert_no_leak
from tests.workflow.engine_helpers import chain, definitions, process
from workflow.models import HistoryEvent, ProcessInstance, Task, TaskState
from workflow.services import approvals, engine
from workflow.services import definitions as deploys

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(document.cookie)"
HOSTILE = [SCRIPT, IMG, JS_URL, "{{ 7|add:7 }}{% debug %}", "${__import__('os')}"]
HUGE_TEXT = "x" * (10 * 1024 * 1024)
HUGE_NUMBER = 10**100

FIELDS = (
    '<camunda:formField id="days" label="Days" type="long">'
    '<camunda:validation><camunda:constraint name="required"/>'
    '<camunda:constraint name="min" config="1"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="reason" label="Reason" type="string">'
    '<camunda:validation><camunda:constraint name="maxlength" config="500"/>'
    "</camunda:validation></camunda:formField>"
    '<camunda:formField id="note" label="Note" type="string"/>'
    '<camunda:formField id="urgent" label="Urgent" type="boolean"/>'
    '<camunda:formField id="kind" label="Kind" type="enum">'
    '<camunda:value id="annual" name="Annual"/><camunda:value id="sick" name="Sick"/>'
    "</camunda:formField>"
    '<camunda:formField id="first_day" label="First day" type="date"/>'
)
LEAVE = definitions(
    process(
        "leave",
        f'<startEvent id="start"><extensionElements><camunda:formData>{FIELDS}'
        "</camunda:formData></extensionElements></startEvent>"
        '<userTask id="approve" name="Approve" camunda:assignee="${initiator}">'
        f"<extensionElements><camunda:formData>{FIELDS}</camunda:formData>"
        '</extensionElements></userTask><endEvent id="end"/>' + chain("start", "approve", "end"),
    ).replace('<process id="leave"', '<process id="leave" name="Leave"', 1)
)
GOOD = {"days": "3", "reason": "family", "kind": "annual", "first_day": "2030-01-02"}
DECLARED = {"days", "reason", "note", "urgent", "kind", "first_day"}


@pytest.fixture
def leave(db: None, deployer: User) -> str:
    deploys.definition_deploy(xml=LEAVE, deployed_by=deployer, source_name="leave.bpmn")
    return "leave"


@pytest.fixture
def web(employee: User) -> Client:
    employee.preferred_language = "en"
    employee.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


def _state() -> tuple[int, int, int, list[Any]]:
    """What a refused input must leave as it was."""
    return (
        ProcessInstance.objects.count(),
        Task.objects.count(),
        HistoryEvent.objects.count(),
        sorted(
            json.dumps(v, sort_keys=True)
            for v in ProcessInstance.objects.values_list("variables", flat=True)
        ),
    )


@pytest.fixture
def unchanged() -> Iterator[None]:
    before = _state()
    yield
    assert _state() == before, "a refused input changed something"


def _start(client: Client, key: str = "leave", **fields: Any) -> Any:
    data = {"action": "submit", "meta-idempotency_key": f"web:{len(fields)}:{hash(str(fields))}"}
    data.update(fields)
    return client.post(f"/workflow/processes/{key}/start/", data)


def _started() -> ProcessInstance:
    found = ProcessInstance.objects.order_by("-pk").first()
    assert found is not None
    return found


def _escaped(html: str, value: str) -> None:
    """``value`` never appears raw in ``html`` where it could run (its markup is escaped)."""
    if "<" in value or '"' in value:
        assert value not in html, f"{value!r} is shown unescaped"
    assert SCRIPT not in html
    assert not re.search(r"<img[^>]*onerror", html, re.IGNORECASE)
    assert not re.search(r"href=[\"']?\s*javascript:", html, re.IGNORECASE)


def _page(client: Client, url: str) -> str:
    """The page at ``url``, which must answer 200: every page these tests read exists, so a
    404 is a broken page."""
    answer = client.get(url)
    assert answer.status_code == 200, f"GET {url} answered {answer.status_code}, not 200"
    return answer.content.decode()


# --- the start form ----------------------------------------------------------------------------


BAD_START = {
    "text in a long field": ({**GOOD, "days": "three"}, "days"),
    "a float in a long field": ({**GOOD, "days": "1.5"}, "days"),
    "10^100 in a long field": ({**GOOD, "days": str(HUGE_NUMBER)}, "days"),
    "below the minimum": ({**GOOD, "days": "0"}, "days"),
    "missing required": ({k: v for k, v in GOOD.items() if k != "days"}, "days"),
    "too long for maxlength": ({**GOOD, "reason": "r" * 501}, "reason"),
    "not a choice": ({**GOOD, "kind": "<script>"}, "kind"),
    "not a date": ({**GOOD, "first_day": "yesterday"}, "first_day"),
    "year 0": ({**GOOD, "first_day": "0000-01-01"}, "first_day"),
    "boolean as a word": ({**GOOD, "urgent": "maybe"}, "urgent"),
    "nul character": ({**GOOD, "note": "a\x00b"}, "note"),
}


@pytest.mark.parametrize("name", list(BAD_START))
def test_the_start_form_refuses_bad_values_and_starts_nothing(
    web: Client, leave: str, unchanged: None, name: str
) -> None:
    fields, field = BAD_START[name]
    answer = _start(web, **fields)
    assert answer.status_code == 400
    form = answer.context["form"]
    assert field in form.errors, form.errors
    _escaped(answer.content.decode(), fields.get(field, ""))


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({**GOOD, "note": HUGE_TEXT}, id="10 MB value"),
        pytest.param({**GOOD, **{f"f{i}": "x" for i in range(5_000)}}, id="5000 fields"),
        pytest.param({**GOOD, "n" * (9 * 1024 * 1024): "x"}, id="9 MB field name"),
    ],
)
def test_oversized_start_requests_are_refused_before_the_form(
    web: Client, leave: str, unchanged: None, fields: dict[str, str]
) -> None:
    """Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (8 MB) and more than 1,000 fields
    (400) before any view."""
    assert _start(web, **fields).status_code == 400


@pytest.mark.parametrize("value", HOSTILE)
def test_markup_is_stored_verbatim_and_shown_escaped(web: Client, leave: str, value: str) -> None:
    answer = _start(web, **{**GOOD, "reason": value, "note": value, "meta-title": value})
    assert answer.status_code == 302, answer.content[:500]
    instance = _started()
    assert instance.variables["reason"] == value
    assert instance.variables["note"] == value
    assert instance.title == value
    _escaped(_page(web, f"/workflow/instances/{instance.pk}/"), value)
    task = Task.objects.get(instance=instance, state=TaskState.OPEN)
    _escaped(_page(web, f"/workflow/tasks/{task.pk}/"), value)
    _escaped(_page(web, "/workflow/inbox/"), value)


def test_a_bad_value_comes_back_escaped_in_the_form(web: Client, leave: str) -> None:
    answer = _start(web, **{**GOOD, "days": IMG, "reason": SCRIPT, "meta-title": IMG})
    assert answer.status_code == 400
    _escaped(answer.content.decode(), IMG)
    assert "&lt;script&gt;" in answer.content.decode() or "&lt;script" in answer.content.decode()


def test_undeclared_fields_never_become_variables(web: Client, leave: str) -> None:
    answer = _start(
        web,
        **GOOD,
        initiator="admin",
        approved="true",
        __class__="x",
        evil=SCRIPT,
        **{"days[]": "9", "meta-evil": "x", "n" * 200: "long name"},
    )
    assert answer.status_code == 302, answer.content[:300]
    instance = _started()
    assert set(instance.variables) - {"initiator"} <= DECLARED, instance.variables
    assert instance.initiator == "zhangwei"
    assert instance.variables.get("initiator") in (None, "zhangwei")
    assert instance.variables["days"] == 3


def test_a_list_where_a_value_goes_keeps_one_value(web: Client, leave: str) -> None:
    answer = web.post(
        "/workflow/processes/leave/start/",
        {
            **GOOD,
            "days": ["2", "5"],
            "reason": ["a", "b"],
            "action": "submit",
            "meta-idempotency_key": "web:list",
        },
    )
    assert answer.status_code in (302, 400)
    if answer.status_code == 302:
        assert isinstance(_started().variables["reason"], str)


# --- approving a task --------------------------------------------------------------------------


@pytest.fixture
def task(leave: str, employee: User) -> Task:
    instance_id = engine.instance_start(
        "leave", variables={"days": 1}, initiator=employee, title="Leave"
    )
    return Task.objects.get(instance_id=instance_id, state=TaskState.OPEN)


BAD_DATA: dict[str, tuple[dict[str, Any], str]] = {
    "text in a long field": ({**GOOD, "days": "many"}, "days"),
    "a list in a long field": ({**GOOD, "days": [1, 2]}, "days"),
    "a dict in a string field": ({**GOOD, "reason": {"a": 1}}, "reason"),
    "a list in a string field": ({**GOOD, "reason": ["a"]}, "reason"),
    "null where required": ({**GOOD, "days": None}, "days"),
    "a boolean in a long field": ({**GOOD, "days": True}, "days"),
    "10^100": ({**GOOD, "days": HUGE_NUMBER}, "days"),
    "-10^100": ({**GOOD, "days": -HUGE_NUMBER}, "days"),
    "a float": ({**GOOD, "days": 1e308}, "days"),
    "boolean as text": ({**GOOD, "urgent": "yes please"}, "urgent"),
    "boolean as a list": ({**GOOD, "urgent": [True]}, "urgent"),
    "a number as a date": ({**GOOD, "first_day": 20300102}, "first_day"),
    "a dict as a choice": ({**GOOD, "kind": {"annual": 1}}, "kind"),
    "a 10 MB reason": ({**GOOD, "reason": HUGE_TEXT}, "reason"),
    "nul character": ({**GOOD, "note": "\x00"}, "note"),
}


@pytest.mark.parametrize("name", list(BAD_DATA))
def test_task_approve_refuses_bad_data_and_changes_nothing(
    task: Task, employee: User, unchanged: None, name: str
) -> None:
    data, field = BAD_DATA[name]
    with pytest.raises(ValidationError) as caught:
        approvals.task_approve(task.pk, user=employee, data=data)
    assert field in caught.value.message_dict, caught.value.message_dict
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN


def test_task_approve_keeps_declared_fields_only(task: Task, employee: User) -> None:
    """Undeclared keys are refused (and nothing is set), declared ones stored as given."""
    with pytest.raises(ValidationError) as refused:
        approvals.task_approve(
            task.pk,
            user=employee,
            data={**GOOD, "note": SCRIPT, "evil": "x", "initiator": "admin", "approved": False},
        )
    assert sorted(refused.value.message_dict) == ["approved", "evil", "initiator"]
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN
    approvals.task_approve(task.pk, user=employee, data={**GOOD, "note": SCRIPT})
    variables = ProcessInstance.objects.get(pk=task.instance_id).variables
    assert variables["note"] == SCRIPT
    assert "evil" not in variables
    assert variables.get("initiator") in (None, "zhangwei")
    assert variables["approved"] is True  # the decision, not a posted field


def _approve_page(client: Client, task: Task, fields: dict[str, Any]) -> Any:
    return client.post(
        f"/workflow/tasks/{task.pk}/approve/",
        {**fields, "approve-comment": fields.get("comment", ""), "confirmed": "1"},
    )


@pytest.mark.parametrize("name", ["text in a long field", "10^100", "boolean as text"])
def test_the_approve_page_refuses_bad_values(
    web: Client, task: Task, unchanged: None, name: str
) -> None:
    data, field = BAD_DATA[name]
    answer = _approve_page(web, task, {k: str(v) for k, v in data.items()})
    assert answer.status_code == 400, f"the approve page answered {answer.status_code}, not 400"
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN
    _escaped(answer.content.decode(), str(data[field]))


@pytest.mark.parametrize("value", [SCRIPT, IMG, JS_URL])
def test_the_approve_page_stores_markup_verbatim_and_shows_it_escaped(
    web: Client, task: Task, value: str
) -> None:
    answer = _approve_page(web, task, {**GOOD, "note": value, "evil": value, "comment": value})
    assert answer.status_code == 302, (answer.status_code, answer.content[:500])
    variables = ProcessInstance.objects.get(pk=task.instance_id).variables
    assert variables["note"] == value
    assert "evil" not in variables
    _escaped(_page(web, f"/workflow/instances/{task.instance_id}/"), value)
    _escaped(_page(web, f"/workflow/tasks/{task.pk}/"), value)


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def api(web: Client) -> Client:
    return web  # a signed-in session; the test client needs no CSRF token


def _post(client: Client, url: str, body: Any) -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, raw, content_type="application/json")


BAD_API_START: dict[str, Any] = {
    "variables a list": {"process_key": "leave", "variables": [1, 2]},
    "variables a string": {"process_key": "leave", "variables": "days=3"},
    "variables null": {"process_key": "leave", "variables": None},
    "process key a list": {"process_key": ["leave"]},
    "process key a dict": {"process_key": {"$ne": ""}},
    "process key null": {"process_key": None},
    "process key a number": {"process_key": 10**100},
    "process key unknown": {"process_key": "<script>"},
    "title too long": {"process_key": "leave", "title": "t" * 256},
    "title a list": {"process_key": "leave", "title": ["a"]},
    "title with nul": {"process_key": "leave", "title": "a\x00b"},
    "title with a lone surrogate": '{"process_key": "leave", "title": "\\ud800"}',
    "business key a dict": {"process_key": "leave", "business_key": {"a": 1}},
    "not an object": [1, 2, 3],
    "NaN": '{"process_key": "leave", "variables": {"days": NaN}}',
    "broken json": '{"process_key": "leave",',
}


def test_deeply_nested_json_is_a_parse_error(api: Client, leave: str) -> None:
    body = '{"process_key": "leave", "variables": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = _post(api, "/api/v1/instances/", body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize("name", list(BAD_API_START))
def test_the_api_start_refuses_bad_input_with_a_field_error(
    api: Client, leave: str, unchanged: None, name: str
) -> None:
    answer = _post(api, "/api/v1/instances/", BAD_API_START[name])
    assert answer.status_code == 400, answer.content[:300]
    error = answer.json()["error"]
    assert error["code"] in ("invalid", "parse_error"), error
    assert error["message"]
    assert_no_leak(answer.content.decode())


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"days": HUGE_NUMBER}, id="10^100"),
        pytest.param({"note": SCRIPT, "nested": {"a": [IMG, {"b": None}]}}, id="markup nested"),
        pytest.param({"k" * 1000: 1}, id="a 1000-character name"),
        pytest.param({f"v{i}": i for i in range(2_000)}, id="2000 variables"),
    ],
)
def test_the_api_start_stores_free_variables_or_refuses_them(
    api: Client, leave: str, variables: dict[str, Any]
) -> None:
    """The API's start takes free variables (it does not apply the start form, see the report):
    they are stored verbatim as JSON or refused with a field error, never a 500."""
    before = _state()
    answer = _post(api, "/api/v1/instances/", {"process_key": "leave", "variables": variables})
    assert answer.status_code in (201, 400), answer.content[:300]
    if answer.status_code == 400:
        assert answer.json()["error"]["code"] == "invalid"
        assert _state() == before
        return
    instance = ProcessInstance.objects.get(pk=answer.json()["id"])
    for name, value in variables.items():
        assert instance.variables[name] == value
    _escaped(_page(api, f"/workflow/instances/{instance.pk}/"), SCRIPT)


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"nul": "a\x00b"}, id="nul character"),
        pytest.param({"surrogate": "\ud800"}, id="lone surrogate"),
        pytest.param({"a\x00": 1}, id="nul in a name"),
        pytest.param({"deep": [{"x": ["ok", "\udfff"]}]}, id="nested surrogate"),
    ],
)
def test_variables_the_database_cannot_store_are_a_field_error(
    api: Client, leave: str, task: Task, unchanged: None, variables: dict[str, Any]
) -> None:
    """PostgreSQL refuses NUL in jsonb, and no database takes an unpaired surrogate: a 400,
    not a 500 (free variables of the API's start, data of a step without form)."""
    answer = _post(api, "/api/v1/instances/", {"process_key": "leave", "variables": variables})
    assert answer.status_code == 400, answer.content[:300]
    assert "variables" in answer.json()["error"]["fields"]
    answer = _post(api, f"/api/v1/tasks/{task.pk}/approve", {"data": variables})
    assert answer.status_code == 400, answer.content[:300]
    assert "data" in answer.json()["error"]["fields"]


def test_a_10_mb_api_start_is_refused(api: Client, leave: str, unchanged: None) -> None:
    answer = _post(
        api, "/api/v1/instances/", {"process_key": "leave", "variables": {"x": HUGE_TEXT}}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("name", list(BAD_DATA))
def test_the_api_approve_refuses_bad_data_with_a_field_error(
    api: Client, task: Task, unchanged: None, name: str
) -> None:
    data, field = BAD_DATA[name]
    answer = _post(api, f"/api/v1/tasks/{task.pk}/approve", {"data": data})
    if name == "a 10 MB reason":  # larger than DATA_UPLOAD_MAX_MEMORY_SIZE: refused whole
        assert answer.status_code == 413, answer.content[:300]
        assert answer.json()["error"]["code"] == "too_large"
        return
    assert answer.status_code == 400, answer.content[:300]
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    # a NUL character is refused by the API's input itself, under "data"
    assert any(key.endswith(field) or key == "data" for key in error["fields"]), error
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN


@pytest.mark.parametrize(
    "body",
    [
        {"data": [GOOD]},
        {"data": "days=3"},
        {"data": None},
        {"comment": ["a"]},
        {"comment": {"a": 1}},
        {"comment": "c" * 4001},
        {"comment": "a\x00b"},
    ],
)
def test_the_api_approve_refuses_wrong_shapes(
    api: Client, task: Task, unchanged: None, body: dict[str, Any]
) -> None:
    answer = _post(api, f"/api/v1/tasks/{task.pk}/approve", body)
    assert answer.status_code == 400, answer.content[:300]
    assert answer.json()["error"]["code"] == "invalid"


def test_the_api_approve_keeps_declared_fields_and_escapes_markup(api: Client, task: Task) -> None:
    refused = _post(
        api,
        f"/api/v1/tasks/{task.pk}/approve",
        {"data": {**GOOD, "note": IMG, "evil": SCRIPT}, "comment": SCRIPT},
    )
    assert refused.status_code == 400, refused.content[:300]
    assert list(refused.json()["error"]["fields"]) == ["evil"]
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN
    answer = _post(
        api,
        f"/api/v1/tasks/{task.pk}/approve",
        {"data": {**GOOD, "note": IMG}, "comment": SCRIPT},
    )
    assert answer.status_code == 200, answer.content[:300]
    variables = ProcessInstance.objects.get(pk=task.instance_id).variables
    assert variables["note"] == IMG
    assert "evil" not in variables
    _escaped(_page(api, f"/workflow/instances/{task.instance_id}/"), IMG)
