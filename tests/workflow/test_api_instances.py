"""/api/v1/instances/: start (with Idempotency-Key), list, detail with history and diagram,
and the actions on an instance, as each persona."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from portal.models import User
from tests.workflow.approval_helpers import (
    KEY,
    deploy_body,
    deploy_steps,
    make_admin,
    make_role,
    open_task,
    settings,
    start,
    user_task,
)
from tests.workflow.engine_helpers import chain
from workflow.models import CarbonCopy, InstanceStartKey, ProcessInstance
from workflow.services import approvals, starts
from workflow.services import definitions as deploys

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def leave(db) -> str:
    """start → Approve (the initiator's manager) → HR → end."""
    return deploy_steps(
        user_task("Approve", assignee="${manager(initiator)}"),
        user_task("Hr", assignee="zhaomin"),
        start_fields=DAYS_FIELD,
    )


DAYS_FIELD = '<camunda:formField id="days" label="Days" type="long"/>'


def _english(*users: User) -> None:
    for user in users:
        user.preferred_language = "en"
        user.save()


def _start(client: Client, **body: Any) -> TestResponse:
    payload = {"process_key": KEY, "title": "Leave 3 days", **body}
    headers: dict[str, Any] = {}
    if "key" in payload:
        headers["HTTP_IDEMPOTENCY_KEY"] = payload.pop("key")
    return client.post("/api/v1/instances/", payload, content_type="application/json", **headers)


# --- start ---------------------------------------------------------------------------------------


def test_start(login, leave, employee, dept_head) -> None:
    answer = _start(login(employee), business_key="L-1", variables={"days": 3})
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    instance = ProcessInstance.objects.get()
    assert body["id"] == instance.pk
    assert (body["process_key"], body["version"], body["state"]) == (KEY, 1, "active")
    assert (instance.initiator, instance.business_key, instance.title) == (
        "zhangwei",
        "L-1",
        "Leave 3 days",
    )
    assert instance.variables["days"] == 3
    assert body["url"].endswith(f"/api/v1/instances/{instance.pk}")
    assert open_task(instance.pk).assignee == "lina"


def test_start_an_unknown_process_is_a_field_error(login, employee) -> None:
    _english(employee)
    answer = _start(login(employee), process_key="nope")
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {
        "process_key": ["No process with this key is deployed."]
    }


def test_the_same_idempotency_key_starts_once(login, leave, employee) -> None:
    client = login(employee)
    first = _start(client, key="req-1", variables={"days": 3})
    again = _start(client, key="req-1", variables={"days": 3})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert ProcessInstance.objects.count() == 1
    assert InstanceStartKey.objects.get().instance_id == first.json()["id"]


def test_the_same_key_with_another_body_is_422(login, leave, employee) -> None:
    _english(employee)
    client = login(employee)
    _start(client, key="req-1", variables={"days": 3})
    answer = _start(client, key="req-1", variables={"days": 4})
    assert answer.status_code == 422
    assert answer.json()["error"] == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used with a different request.",
    }
    assert ProcessInstance.objects.count() == 1


def test_keys_belong_to_their_caller(login, leave, employee, colleague) -> None:
    _start(login(employee), key="req-1")
    assert _start(login(colleague), key="req-1").status_code == 201
    assert ProcessInstance.objects.count() == 2


def test_a_start_that_loses_the_race_for_its_key_is_rolled_back(
    login, leave, employee, monkeypatch
) -> None:
    """The other request committed the key between our look-up and our insert: the unique
    constraint refuses ours, our instance goes with the rollback, and we answer with theirs."""
    winner = start(employee)
    InstanceStartKey.objects.create(
        user=employee,
        key="req-1",
        request_hash=starts.request_hash(
            {
                "process_key": KEY,
                "business_key": "",
                "title": "Leave 3 days",
                "variables": {"days": None},
            }
        ),
        instance_id=winner,
    )
    real = starts.started_before
    calls: list[tuple[User, str, str]] = []

    def not_yet_committed(*args: Any) -> int | None:
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(starts, "started_before", not_yet_committed)
    answer = _start(login(employee), key="req-1")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["id"] == winner
    assert list(ProcessInstance.objects.values_list("pk", flat=True)) == [winner]
    assert len(calls) == 2


def test_an_overlong_idempotency_key_is_refused(login, leave, employee) -> None:
    answer = _start(login(employee), key="k" * 256)
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert ProcessInstance.objects.count() == 0


def test_only_the_starter_roles_may_start(login, leave, employee, outsider) -> None:
    """To whoever may not start it, the process is as if not deployed (the catalogue does not
    show it either): the same field error as an unknown key, and not in the list."""
    row = settings()
    row.starter_roles.add(make_role("sales", employee))
    refused = _start(login(outsider))
    assert refused.status_code == 400
    assert (
        refused.json()["error"]["fields"]
        == _start(login(outsider), process_key="no-such-process").json()["error"]["fields"]
    )
    listed = login(outsider).get("/api/v1/definitions/").json()
    assert KEY not in [row["key"] for row in listed]
    assert _start(login(employee)).status_code == 201
    assert KEY in [row["key"] for row in login(employee).get("/api/v1/definitions/").json()]
    assert ProcessInstance.objects.count() == 1


# --- list and detail ------------------------------------------------------------------------------


def test_each_persona_lists_what_they_may_see(
    login, leave, employee, colleague, dept_head, outsider, superuser
) -> None:
    mine = start(employee)
    theirs = start(colleague)

    def ids(user: User, query: str = "") -> list[int]:
        answer = login(user).get(f"/api/v1/instances/{query}")
        assert answer.status_code == 200
        return [row["id"] for row in answer.json()["results"]]

    assert ids(employee) == [mine]
    assert ids(colleague) == [theirs]
    assert ids(dept_head) == [theirs, mine]  # the manager's task in both
    assert ids(outsider) == []
    assert ids(superuser) == [theirs, mine]
    assert ids(dept_head, "?started_by_me=true") == []
    assert ids(superuser, f"?process={KEY}&state=active") == [theirs, mine]
    assert ids(superuser, "?state=completed") == []


def test_the_list_pages_by_keyset(login, leave, employee) -> None:
    started = [start(employee) for _ in range(5)]
    client = login(employee)
    seen: list[int] = []
    url = "/api/v1/instances/?page_size=2"
    pages = 0
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
        pages += 1
    assert seen == list(reversed(started))
    assert pages == 3


def test_detail_with_history_tasks_and_diagram_link(login, leave, employee, dept_head) -> None:
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head, comment="ok")
    answer = login(employee).get(f"/api/v1/instances/{iid}")
    assert answer.status_code == 200
    body = answer.json()
    kinds = [row["kind"] for row in body["history"]]
    assert kinds[0] == "instance-start"
    assert "task-completed" in kinds
    [completed] = [row for row in body["history"] if row["kind"] == "task-completed"]
    assert (completed["element_id"], completed["actor"], completed["outcome"]) == (
        "Approve",
        "lina",
        "approved",
    )
    assert [(t["element_id"], t["assignee"]) for t in body["open_tasks"]] == [("Hr", "zhaomin")]
    assert body["diagram_url"].endswith(f"/api/v1/instances/{iid}/diagram")


def test_someone_elses_instance_is_404(login, leave, employee, outsider) -> None:
    _english(outsider)
    iid = start(employee)
    answer = login(outsider).get(f"/api/v1/instances/{iid}")
    assert answer.status_code == 404
    assert answer.json() == {"error": {"code": "not_found", "message": "Not found."}}
    assert login(outsider).get(f"/api/v1/instances/{iid}/diagram").status_code == 404
    cancelled = login(outsider).post(
        f"/api/v1/instances/{iid}/cancel", {"reason": "x"}, content_type="application/json"
    )
    assert cancelled.status_code == 404
    assert ProcessInstance.objects.get().state == "active"


DIAGRAM = (
    '<startEvent id="start"/><userTask id="Approve" name="Approve" '
    'camunda:assignee="${manager(initiator)}"/><endEvent id="end"/>'
    + chain("start", "Approve", "end")
)
DI = """<bpmndi:BPMNDiagram id="D1" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
 xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI">
 <bpmndi:BPMNPlane id="P1" bpmnElement="leave">
  <bpmndi:BPMNShape id="S1" bpmnElement="start"><dc:Bounds x="0" y="0" width="36" height="36"/>
  </bpmndi:BPMNShape>
  <bpmndi:BPMNShape id="S2" bpmnElement="Approve"><dc:Bounds x="100" y="0" width="100" height="80"/>
  </bpmndi:BPMNShape>
  <bpmndi:BPMNShape id="S3" bpmnElement="end"><dc:Bounds x="260" y="0" width="36" height="36"/>
  </bpmndi:BPMNShape>
  <bpmndi:BPMNEdge id="E1" bpmnElement="start-Approve"><di:waypoint x="36" y="18"/>
   <di:waypoint x="100" y="18"/></bpmndi:BPMNEdge>
 </bpmndi:BPMNPlane>
</bpmndi:BPMNDiagram>"""


def test_the_diagram_marks_where_the_instance_waits(login, employee) -> None:
    from tests.workflow.engine_helpers import definitions, process

    deploys.definition_deploy(xml=definitions(process(KEY, DIAGRAM), DI))
    iid = start(employee)
    answer = login(employee).get(f"/api/v1/instances/{iid}/diagram")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("image/svg+xml")
    svg = answer.content.decode()
    assert re.search(r'class="[^"]*is-active[^"]*" data-element-id="Approve"', svg), svg
    assert re.search(r'class="[^"]*is-completed[^"]*" data-element-id="start"', svg)
    assert "<title>Leave 3 days</title>" in svg


def test_a_process_without_a_diagram_answers_404(login, leave, employee) -> None:
    iid = start(employee)
    answer = login(employee).get(f"/api/v1/instances/{iid}/diagram")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


# --- actions --------------------------------------------------------------------------------------


def _post(client: Client, url: str, body: dict[str, Any] | None = None) -> TestResponse:
    return client.post(url, body or {}, content_type="application/json")


def test_cancel_by_the_initiator(login, leave, employee, dept_head) -> None:
    _english(employee)
    iid = start(employee)
    url = f"/api/v1/instances/{iid}/cancel"
    assert _post(login(employee), url).json()["error"]["fields"] == {
        "reason": ["This field is required."]
    }
    refused = _post(login(dept_head), url, {"reason": "no"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "action_refused"
    answer = _post(login(employee), url, {"reason": "plans changed"})
    assert answer.status_code == 200
    assert answer.json()["state"] == "cancelled"
    again = _post(login(employee), url, {"reason": "again"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "action_refused")


def test_withdraw_after_the_next_handler_acted_is_refused(
    login, leave, employee, colleague, dept_head, hr_admin
) -> None:
    _english(dept_head)
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    hr_step = open_task(iid)
    approvals.task_transfer(hr_step.pk, user=hr_admin, to=colleague.username)  # it acted
    answer = _post(login(dept_head), f"/api/v1/instances/{iid}/withdraw")
    assert (answer.status_code, answer.json()["error"]) == (
        409,
        {
            "code": "action_refused",
            "message": "The next handler has already acted; it can no longer be withdrawn.",
        },
    )
    assert open_task(iid).assignee == colleague.username  # nothing changed


def test_withdraw_before_anyone_acted(login, leave, employee) -> None:
    iid = start(employee)
    answer = _post(login(employee), f"/api/v1/instances/{iid}/withdraw")
    assert answer.status_code == 200, answer.json()
    task = open_task(iid)
    assert (task.element_id, task.assignee) == ("start", "zhangwei")


def test_urge_once_per_interval(login, leave, employee, dept_head) -> None:
    iid = start(employee)
    url = f"/api/v1/instances/{iid}/urge"
    first = _post(login(employee), url, {"comment": "please"})
    assert first.status_code == 200
    assert first.json() == {"people": ["lina"]}
    second = _post(login(employee), url)
    assert (second.status_code, second.json()["error"]["code"]) == (409, "action_refused")
    assert _post(login(dept_head), url).status_code == 409


def test_copy_and_mark_read(login, leave, employee, colleague, outsider) -> None:
    iid = start(employee)
    assert login(outsider).get(f"/api/v1/instances/{iid}").status_code == 404
    answer = _post(login(employee), f"/api/v1/instances/{iid}/copy", {"recipients": ["liuyang"]})
    assert answer.json() == {"people": ["liuyang"]}
    assert login(outsider).get(f"/api/v1/instances/{iid}").status_code == 200
    copied = login(outsider).get("/api/v1/tasks/?tab=copied").json()["results"]
    assert [(row["kind"], row["instance_id"], row["read_at"]) for row in copied] == [
        ("copy", iid, None)
    ]
    assert _post(login(outsider), f"/api/v1/instances/{iid}/read").status_code == 200
    assert CarbonCopy.objects.get().read_at is not None

    unknown = _post(login(employee), f"/api/v1/instances/{iid}/copy", {"recipients": ["ghost"]})
    assert unknown.status_code == 400
    assert list(unknown.json()["error"]["fields"]) == ["recipients"]


def test_comments_and_attachments(login, leave, employee, dept_head) -> None:
    iid = start(employee)
    comment = _post(login(dept_head), f"/api/v1/instances/{iid}/comments", {"text": "Noted"})
    assert comment.status_code == 201
    assert (comment.json()["author"], comment.json()["text"]) == ("lina", "Noted")
    wrong_task = _post(
        login(dept_head), f"/api/v1/instances/{iid}/comments", {"text": "x", "task_id": 999999}
    )
    assert list(wrong_task.json()["error"]["fields"]) == ["task_id"]

    upload = SimpleUploadedFile("note.txt", b"three days in March\n", content_type="text/plain")
    attached = login(employee).post(f"/api/v1/instances/{iid}/attachments", {"upload": upload})
    assert attached.status_code == 201, attached.json()
    assert (attached.json()["name"], attached.json()["size"]) == ("note.txt", 20)

    evil = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    refused = login(employee).post(f"/api/v1/instances/{iid}/attachments", {"upload": evil})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid"

    detail = login(employee).get(f"/api/v1/instances/{iid}").json()
    assert [c["text"] for c in detail["comments"]] == ["Noted"]
    assert [a["name"] for a in detail["attachments"]] == ["note.txt"]


def test_administrators_suspend_resume_move_and_terminate(
    login, leave, employee, superuser
) -> None:
    iid = start(employee)
    base = f"/api/v1/instances/{iid}"
    refused = _post(login(employee), f"{base}/suspend")
    # not an administrator: a 403 (what the request's state refuses is a 409)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")

    admin = login(superuser)
    assert _post(admin, f"{base}/suspend", {"reason": "audit"}).json()["state"] == "suspended"
    assert _post(admin, f"{base}/resume").json()["state"] == "active"
    moved = _post(admin, f"{base}/move", {"target": "Hr", "reason": "skip"})
    assert moved.status_code == 200, moved.json()
    assert open_task(iid).element_id == "Hr"
    bad = _post(admin, f"{base}/move", {"target": "nowhere", "reason": "x"})
    assert list(bad.json()["error"]["fields"]) == ["target"]
    done = _post(admin, f"{base}/terminate", {"reason": "duplicate"})
    assert done.json()["state"] == "terminated"


def test_migrate_to_the_next_version(login, leave, employee, outsider) -> None:
    iid = start(employee)
    v2 = deploy_body(
        '<startEvent id="start"/>'
        + user_task("Approve", assignee="${manager(initiator)}")
        + '<endEvent id="end"/>'
        + chain("start", "Approve", "end")
    )
    admin = make_admin(outsider)
    answer = _post(login(admin), f"/api/v1/instances/{iid}/migrate", {"to_definition_id": v2})
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"migrated": [iid], "refused": {}}
    assert ProcessInstance.objects.get().definition_id == v2
    missing = _post(login(admin), f"/api/v1/instances/{iid}/migrate", {"to_definition_id": 0})
    assert list(missing.json()["error"]["fields"]) == ["to_definition_id"]


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_start_one_instance(leave, employee) -> None:
    """Real threads on PostgreSQL: both miss the key, both start; the unique constraint lets
    one key row commit and the other request rolls its instance back."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers at BEGIN IMMEDIATE; the race needs PostgreSQL")
    barrier = threading.Barrier(2)
    answers: list[tuple[int, int]] = []

    def post() -> None:
        client = Client()
        client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
        barrier.wait()
        try:
            answer = _start(client, key="race-1")
            answers.append((answer.status_code, answer.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _id in answers) == [200, 201]
    assert len({instance_id for _status, instance_id in answers}) == 1
    assert ProcessInstance.objects.count() == 1
