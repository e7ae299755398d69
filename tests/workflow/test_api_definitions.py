"""/api/v1/definitions/: the catalogue, deploying a file, the XML for the designer."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import User
from tests.workflow.engine_helpers import chain, definitions, process
from workflow.models import ProcessDefinition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _xml(key: str = "leave", name: str = "Leave") -> str:
    body = (
        f'<startEvent id="start"/><userTask id="Approve" name="Approve" '
        f'camunda:assignee="${{initiator}}"/><endEvent id="end"/>{chain("start", "Approve", "end")}'
    )
    return definitions(process(key, body).replace(f'id="{key}"', f'id="{key}" name="{name}"', 1))


BAD = definitions(
    process(
        "bad",
        '<startEvent id="start"/><scriptTask id="Script"/><endEvent id="end"/>'
        + chain("start", "Script", "end")
        + '<sequenceFlow id="dangling" sourceRef="end" targetRef="Nowhere"/>',
    )
)


def _deployer(user: User) -> User:
    """``user`` may deploy and read XML, and reads the API in English."""
    user.preferred_language = "en"
    user.save()
    for codename in ("add_processdefinition", "view_processdefinition"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="workflow", codename=codename)
        )
    return User.objects.get(pk=user.pk)


def test_deploy_a_file(login, hr_admin) -> None:
    client = login(_deployer(hr_admin))
    upload = SimpleUploadedFile("leave.bpmn", _xml().encode(), content_type="application/xml")
    answer = client.post("/api/v1/definitions/", {"file": upload})
    assert answer.status_code == 201, answer.json()
    assert answer.json() == [{"key": "leave", "version": 1, "created": True}]
    definition = ProcessDefinition.objects.get()
    assert (definition.source_name, definition.deployed_by) == ("leave.bpmn", hr_admin)

    # the same file again changes nothing: 200, not created
    again = SimpleUploadedFile("leave.bpmn", _xml().encode())
    answer = client.post("/api/v1/definitions/", {"file": again})
    assert answer.status_code == 200
    assert answer.json() == [{"key": "leave", "version": 1, "created": False}]


def test_deploy_json_xml(login, hr_admin) -> None:
    answer = login(_deployer(hr_admin)).post(
        "/api/v1/definitions/",
        {"xml": _xml(), "source_name": "designer"},
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert ProcessDefinition.objects.get().source_name == "designer"


def test_a_bad_file_answers_every_problem_and_deploys_nothing(login, hr_admin) -> None:
    answer = login(_deployer(hr_admin)).post(
        "/api/v1/definitions/", {"xml": BAD}, content_type="application/json"
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_bpmn"
    assert error["message"] == "The BPMN file cannot be deployed."
    elements = {problem["element_id"] for problem in error["problems"]}
    assert "Script" in elements
    assert "dangling" in elements
    assert all(problem["message"] for problem in error["problems"])
    assert ProcessDefinition.objects.count() == 0


def test_not_xml_at_all(login, hr_admin) -> None:
    upload = SimpleUploadedFile("x.bpmn", b"this is not xml")
    answer = login(_deployer(hr_admin)).post("/api/v1/definitions/", {"file": upload})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_bpmn"
    assert len(answer.json()["error"]["problems"]) >= 1


def test_neither_file_nor_xml_is_a_field_error(login, hr_admin) -> None:
    answer = login(_deployer(hr_admin)).post(
        "/api/v1/definitions/", {}, content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {"xml": ["This field is required."]}


def test_deploying_needs_the_permission(login, employee) -> None:
    answer = login(employee).post(
        "/api/v1/definitions/", {"xml": _xml()}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"
    assert ProcessDefinition.objects.count() == 0


def test_the_catalogue_lists_each_key_once_with_its_versions(login, hr_admin, employee) -> None:
    client = login(_deployer(hr_admin))
    for name in ("Leave", "Leave (v2)"):
        client.post(
            "/api/v1/definitions/", {"xml": _xml(name=name)}, content_type="application/json"
        )
    client.post(
        "/api/v1/definitions/", {"xml": _xml("expense", "Expense")}, content_type="application/json"
    )
    listed = login(employee).get("/api/v1/definitions/").json()
    assert [(d["key"], d["name"], d["version"]) for d in listed] == [
        ("expense", "Expense", 1),
        ("leave", "Leave (v2)", 2),
    ]
    assert [v["version"] for v in listed[1]["versions"]] == [2, 1]
    assert listed[1]["versions"][0]["deployed_by"] == "zhaomin"


def test_the_xml_for_the_designer(login, hr_admin, employee) -> None:
    client = login(_deployer(hr_admin))
    client.post("/api/v1/definitions/", {"xml": _xml(name="One")}, content_type="application/json")
    client.post("/api/v1/definitions/", {"xml": _xml(name="Two")}, content_type="application/json")
    latest = client.get("/api/v1/definitions/leave/xml")
    assert latest.status_code == 200
    assert latest["Content-Type"].startswith("application/xml")
    assert 'name="Two"' in latest.content.decode()
    first = client.get("/api/v1/definitions/leave/xml?version=1")
    assert 'name="One"' in first.content.decode()

    missing = client.get("/api/v1/definitions/nope/xml")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert login(employee).get("/api/v1/definitions/leave/xml").status_code == 403
