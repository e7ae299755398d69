"""/api/v1/definitions/validate and /simulate: the designer's checks, as each persona."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client

from portal.models import User
from tests.shared_files import shared_path
from tests.workflow.approval_helpers import make_admin
from tests.workflow.engine_helpers import chain, definitions, flow, process
from workflow.models import ProcessDefinition, ProcessInstance, Task

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

VALIDATE = "/api/v1/definitions/validate"
SIMULATE = "/api/v1/definitions/simulate"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _designer(user: User) -> User:
    """``user`` may deploy (and so design), reading the API in English."""
    user.preferred_language = "en"
    user.save()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="add_processdefinition")
    )
    return User.objects.get(pk=user.pk)


def _xml(key: str = "claim", condition: str = "amount > 5000") -> str:
    body = (
        '<startEvent id="start" camunda:initiator="initiator"/>'
        '<userTask id="Approve" name="Approve" camunda:assignee="${initiator}"/>'
        '<exclusiveGateway id="gw" default="gw-small"/>'
        '<userTask id="Director" camunda:candidateGroups="directors"/>'
        '<endEvent id="end"/>'
        + chain("start", "Approve", "gw")
        + flow("gw", "Director", condition)
        + '<sequenceFlow id="gw-small" sourceRef="gw" targetRef="end"/>'
        + flow("Director", "end")
    )
    return definitions(process(key, body))


def _post(client: Client, url: str, body: object) -> TestResponse:
    return client.post(url, json.dumps(body), content_type="application/json")


# --- validate -------------------------------------------------------------------------------


def test_a_valid_file_has_no_problem_and_nothing_is_deployed(login, hr_admin) -> None:
    answer = _post(login(_designer(hr_admin)), VALIDATE, {"xml": _xml()})
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"valid": True, "problems": []}
    assert not ProcessDefinition.objects.exists()


def test_problems_name_their_elements(login, hr_admin) -> None:
    xml = _xml(condition="amount >> 5000").replace(
        '<endEvent id="end"/>', '<endEvent id="end"/><scriptTask id="Script"/>'
    )
    answer = _post(login(_designer(hr_admin)), VALIDATE, {"xml": xml})
    assert answer.status_code == 200
    body = answer.json()
    assert body["valid"] is False
    by_element: dict[str, str] = {}
    for problem in body["problems"]:
        by_element[problem["element_id"]] = (
            by_element.get(problem["element_id"], "") + problem["message"]
        )
    assert "does not compile" in by_element["gw-Director"]
    assert "script tasks are not run" in by_element["Script"]


def test_the_shared_file_validates_and_a_broken_condition_is_found(login, hr_admin) -> None:
    shared = shared_path("bpmn", "expense_approval.bpmn")
    client = login(_designer(hr_admin))
    xml = shared.read_text()
    assert _post(client, VALIDATE, {"xml": xml}).json() == {"valid": True, "problems": []}
    broken = xml.replace("amount &gt; 5000", "amount &gt;&gt; 5000")
    problems = _post(client, VALIDATE, {"xml": broken}).json()["problems"]
    assert [p["element_id"] for p in problems] == ["Flow_ToDirector"]


def test_unregistered_application_and_missing_call_target(login, hr_admin) -> None:
    body = (
        '<startEvent id="start"/>'
        '<serviceTask id="Send" camunda:class="nobody.knows"/>'
        '<callActivity id="Sub" calledElement="not_deployed"/>'
        '<endEvent id="end"/>' + chain("start", "Send", "Sub", "end")
    )
    answer = _post(login(_designer(hr_admin)), VALIDATE, {"xml": definitions(process("p", body))})
    ids = {p["element_id"] for p in answer.json()["problems"]}
    assert {"Send", "Sub"} <= ids


def test_a_file_without_executable_process(login, hr_admin) -> None:
    xml = definitions(process("p", '<startEvent id="start"/>', executable="false"))
    answer = _post(login(_designer(hr_admin)), VALIDATE, {"xml": xml})
    assert answer.json() == {
        "valid": False,
        "problems": [{"element_id": "", "message": "the file has no executable process"}],
    }


@pytest.mark.parametrize(
    "xml",
    [
        "<definitions><process id='p'",  # cut short
        "not xml at all",
        "<?xml version='1.0'?><root/>",  # not BPMN
    ],
)
def test_malformed_xml_is_a_problem_of_the_file(login, hr_admin, xml: str) -> None:
    answer = _post(login(_designer(hr_admin)), VALIDATE, {"xml": xml})
    assert answer.status_code == 200
    body = answer.json()
    assert body["valid"] is False
    assert body["problems"][0]["element_id"] == ""
    assert body["problems"][0]["message"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" name="&lol3;"
 isExecutable="true"><startEvent id="s"/></process></definitions>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" name="&secret;"
 isExecutable="true"><startEvent id="s"/></process></definitions>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entities_are_refused_with_a_clear_problem(login, hr_admin, xml: str) -> None:
    answer = _post(login(_designer(hr_admin)), VALIDATE, {"xml": xml})
    assert answer.status_code == 200
    body = answer.json()
    assert body["valid"] is False
    assert "DTD" in body["problems"][0]["message"]
    assert "root:" not in answer.content.decode()


@pytest.mark.parametrize(
    "body",
    [{}, {"xml": ""}, {"xml": None}, {"xml": ["<definitions/>"]}],
)
def test_validate_without_xml_is_a_bad_request(login, hr_admin, body: dict) -> None:
    answer = _post(login(_designer(hr_admin)), VALIDATE, body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"
    assert "xml" in answer.json()["error"]["fields"]


def test_a_body_that_is_not_json_is_a_bad_request(login, hr_admin) -> None:
    client = login(_designer(hr_admin))
    for url in (VALIDATE, SIMULATE):
        answer = client.post(url, "{not json", content_type="application/json")
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "parse_error"
        assert "JSON" in answer.json()["error"]["message"]


def test_a_body_larger_than_the_request_limit_is_too_large(hr_admin) -> None:
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (8 MB) before the API reads it;
    # the API answers with its own error body
    client = Client(raise_request_exception=False)
    client.force_login(_designer(hr_admin))
    answer = _post(client, VALIDATE, {"xml": "x" * 9_000_000})
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert "8 MB" in answer.json()["error"]["message"]


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [VALIDATE, SIMULATE])
def test_anonymous_is_not_authenticated(client, url: str) -> None:
    answer = _post(client, url, {"xml": _xml()})
    assert answer.status_code in (401, 403)
    assert answer.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("persona", ["employee", "colleague", "outsider", "dept_head", "hr_admin"])
@pytest.mark.parametrize("url", [VALIDATE, SIMULATE])
def test_people_who_may_not_deploy_are_refused(request, login, persona: str, url: str) -> None:
    user = request.getfixturevalue(persona)
    answer = _post(login(user), url, {"xml": _xml()})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", [VALIDATE, SIMULATE])
def test_a_process_admin_may_without_the_deploy_permission(login, outsider, url) -> None:
    answer = _post(login(make_admin(outsider)), url, {"xml": _xml()})
    assert answer.status_code == 200, answer.json()


@pytest.mark.parametrize("url", [VALIDATE, SIMULATE])
def test_a_designer_and_the_superuser_may(login, hr_admin, superuser, url: str) -> None:
    for user in (_designer(hr_admin), superuser):
        answer = _post(login(user), url, {"xml": _xml()})
        assert answer.status_code == 200, answer.json()


# --- simulate -------------------------------------------------------------------------------


def test_simulate_follows_the_path_and_leaves_nothing(login, hr_admin) -> None:
    answer = _post(
        login(_designer(hr_admin)),
        SIMULATE,
        {"xml": _xml(), "variables": {"amount": 9000}, "task_data": {"approved": True}},
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["process"] == "claim"
    assert body["state"] == "completed"
    assert body["path"] == ["start", "Approve", "gw", "Director", "end"]
    assert body["end_events"] == ["end"]
    assert body["user_tasks"] == ["Approve", "Director"]
    assert body["variables"]["amount"] == 9000
    assert body["variables"]["approved"] is True
    assert body["variables"]["initiator"] == "zhaomin"  # the designer starts it
    assert body["error"] is None
    assert not ProcessDefinition.objects.exists()
    assert not ProcessInstance.objects.exists()
    assert not Task.objects.exists()


def test_simulate_data_per_task(login, hr_admin) -> None:
    answer = _post(
        login(_designer(hr_admin)),
        SIMULATE,
        {"xml": _xml(), "variables": {"amount": 10}, "task_data": {"Approve": {"ok": 1}}},
    )
    body = answer.json()
    assert body["path"] == ["start", "Approve", "gw", "end"]
    assert body["variables"]["ok"] == 1


def test_simulate_a_failing_expression_is_an_error_on_its_element(login, hr_admin) -> None:
    # "amount" is never set: the condition cannot be evaluated at the gateway
    answer = _post(login(_designer(hr_admin)), SIMULATE, {"xml": _xml(), "variables": {}})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["state"] == "error"
    assert body["error"]["element_id"] in {"gw", "gw-Director"}
    assert "amount" in body["error"]["message"]
    assert not ProcessInstance.objects.exists()


def test_simulate_the_shared_expense_process(login, hr_admin) -> None:
    shared = shared_path("bpmn", "expense_approval.bpmn")
    answer = _post(
        login(_designer(hr_admin)),
        SIMULATE,
        {
            "xml": shared.read_text(),
            "variables": {"amount": 120},
            "task_data": {"amount": 120, "description": "Taxi"},
        },
    )
    body = answer.json()
    assert body["state"] == "completed", body
    assert "Activity_DirectorApproval" not in body["path"]
    assert body["end_events"] == ["Event_ClaimApproved"]
    # erp.reserve_budget is inline (it writes the outbox): it ran, rolled back, as the designer
    assert not any("erp.reserve_budget" in note for note in body["notes"])
    assert body["variables"]["erp_posting"]["state"] == "queued"


def test_simulate_an_invalid_file_answers_its_problems(login, hr_admin) -> None:
    answer = _post(login(_designer(hr_admin)), SIMULATE, {"xml": _xml(condition="amount >> 5000")})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_bpmn"
    assert [p["element_id"] for p in error["problems"]] == ["gw-Director"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"variables": "{amount: 1}"}, "variables"),
        ({"variables": [1, 2]}, "variables"),
        ({"task_data": "yes"}, "task_data"),
        ({"timers": "now"}, "timers"),
        ({"process_key": "other"}, None),
    ],
)
def test_simulate_bad_input_is_a_clear_bad_request(login, hr_admin, body: dict, field) -> None:
    answer = _post(login(_designer(hr_admin)), SIMULATE, {"xml": _xml(), **body})
    assert answer.status_code == 400
    error = answer.json()["error"]
    if field is None:
        assert error["code"] == "invalid_bpmn"
        assert 'no executable process "other"' in error["problems"][0]["message"]
    else:
        assert error["code"] == "invalid"
        assert error["fields"][field]
    if field in ("variables", "task_data"):
        assert error["fields"][field] == ["Give a JSON object of names and values."]
