"""One error body for every error of the API (portal/api.py), with the right status, and
the throttles; the incidents endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from portal.models import User
from tests.workflow.approval_helpers import (
    deploy_body,
    deploy_steps,
    make_admin,
    open_task,
    start,
    user_task,
)
from tests.workflow.engine_helpers import flow
from workflow.models import Incident, Job, ProcessInstance

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _english(user: User) -> User:
    user.preferred_language = "en"
    user.save()
    return user


def _post(client: Client, url: str, body: dict[str, Any] | None = None) -> TestResponse:
    return client.post(url, body or {}, content_type="application/json")


def test_400_validation_with_fields(login, employee) -> None:
    answer = _post(login(_english(employee)), "/api/v1/instances/", {"variables": "nope"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "code": "invalid",
            "message": "Some of the data sent are not valid.",
            "fields": {
                "process_key": ["This field is required."],
                "variables": ['Expected a dictionary of items but got type "str".'],
            },
        }
    }


def test_400_unreadable_json(login, employee) -> None:
    answer = login(_english(employee)).post(
        "/api/v1/instances/", "{not json", content_type="application/json"
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "parse_error"
    assert "fields" not in error


def test_401_without_credentials(client, db) -> None:
    answer = client.get("/api/v1/tasks/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'


def test_403_without_permission(login, employee) -> None:
    answer = login(_english(employee)).get("/api/v1/incidents/")
    assert answer.status_code == 403
    assert answer.json() == {
        "error": {
            "code": "permission_denied",
            "message": "You do not have permission to perform this action.",
        }
    }


def test_404_also_for_unknown_addresses(login, employee) -> None:
    client = login(_english(employee))
    for url in ("/api/v1/nothing-here", "/api/v2/tasks/", "/api/v1/tasks/abc"):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert answer.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_405(login, employee) -> None:
    answer = login(employee).delete("/api/v1/tasks/")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_409_for_a_task_handled_meanwhile(login, employee, dept_head) -> None:
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"))
    task = open_task(start(employee))
    client = login(_english(dept_head))
    assert _post(client, f"/api/v1/tasks/{task.pk}/approve").status_code == 200
    answer = _post(client, f"/api/v1/tasks/{task.pk}/approve")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "already_handled"


def test_422_when_the_process_fails_on_the_data(login, employee) -> None:
    """No flow out of the gateway matches: the start is rolled back and nothing is left."""
    deploy_body(
        '<startEvent id="start"><extensionElements><camunda:formData>'
        '<camunda:formField id="amount" type="long"/></camunda:formData></extensionElements>'
        '</startEvent><exclusiveGateway id="gw"/>'
        '<endEvent id="big"/><endEvent id="small"/>'
        + flow("start", "gw")
        + flow("gw", "big", "${amount > 100}")
        + flow("gw", "small", "${amount &lt; 10}")
    )
    answer = _post(
        login(_english(employee)),
        "/api/v1/instances/",
        {"process_key": "leave", "variables": {"amount": 50}},
    )
    assert answer.status_code == 422, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "process_error"
    assert error["message"].startswith("gw:")
    assert ProcessInstance.objects.count() == 0


def test_429_when_throttled(login, employee, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "2/min"},
    }
    client = login(_english(employee))
    assert [client.get("/api/v1/tasks/").status_code for _ in range(2)] == [200, 200]
    answer = client.get("/api/v1/tasks/")
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert error["code"] == "throttled"
    assert error["message"].startswith("Request was throttled.")
    assert 0 < int(answer["Retry-After"]) <= 60


def test_anonymous_callers_are_throttled(client, settings, db) -> None:
    """Per address, on what answers without credentials (the API's own 404)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/min", "user": "1000/min"},
    }
    assert client.get("/api/v1/no-such-thing").status_code == 404
    answer = client.get("/api/v1/no-such-thing")
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "throttled"


# --- incidents -----------------------------------------------------------------------------------


def _incident(instance_id: int, message: str = "ERP down") -> Incident:
    now = timezone.now()
    # a service call at a step that names no application: it fails again when retried
    job = Job.objects.create(
        instance_id=instance_id,
        kind="service",
        element_id="Approve",
        due_at=now,
        retries=0,
        created_at=now,
    )
    return Incident.objects.create(
        instance_id=instance_id,
        job_id=job.pk,
        element_id="Approve",
        message=message,
        created_at=now,
    )


def test_incidents_are_for_process_administrators(login, employee, outsider) -> None:
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"))
    iid = start(employee)
    incident = _incident(iid)
    assert login(employee).get("/api/v1/incidents/").status_code == 403
    assert _post(login(employee), f"/api/v1/incidents/{incident.pk}/retry").status_code == 403

    admin = make_admin(outsider)
    listed = login(admin).get("/api/v1/incidents/").json()["results"]
    assert [(i["id"], i["instance_id"], i["process_key"], i["message"]) for i in listed] == [
        (incident.pk, iid, "leave", "ERP down")
    ]
    retried = _post(login(admin), f"/api/v1/incidents/{incident.pk}/retry")
    assert retried.status_code == 200, retried.json()
    body = retried.json()
    assert (body["id"], body["resolved_by"], body["succeeded"]) == (incident.pk, "liuyang", False)
    assert "not registered" in body["error"]
    # the job failed again: a new incident stands for it, the retried one stays resolved
    assert [i["id"] for i in login(admin).get("/api/v1/incidents/").json()["results"]] == [
        body["new_incident_id"]
    ]
    assert len(login(admin).get("/api/v1/incidents/?state=resolved").json()["results"]) == 1

    again = _post(login(admin), f"/api/v1/incidents/{incident.pk}/retry")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_handled")
    assert _post(login(admin), "/api/v1/incidents/999999/retry").status_code == 404
    assert login(admin).get("/api/v1/incidents/?state=odd").status_code == 400
