"""/api/v1/tasks/: the inbox tabs with keyset pages and filters, a task with its form and
actions, and the approval actions, as each persona."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from portal.models import User
from portal.search import search_text
from tests.workflow.approval_helpers import (
    KEY,
    deploy_steps,
    make_admin,
    make_role,
    open_task,
    start,
    tasks,
    user_task,
)
from workflow.models import ExternalTask, ProcessInstance, Task
from workflow.services import approvals, external

# a title written over the one the request started with, searchable as the engine writes it
TRIP = "Trip to Shanghai"

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

DAYS = (
    '<camunda:formField id="days" label="Days" type="long" defaultValue="1">'
    '<camunda:validation><camunda:constraint name="required"/>'
    '<camunda:constraint name="min" config="1"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="kind" label="Kind" type="enum">'
    '<camunda:value id="annual" name="Annual"/><camunda:value id="sick" name="Sick"/>'
    "</camunda:formField>"
)


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def leave(db) -> str:
    """start → Approve (the manager, with a form) → Hr (zhaomin) → end."""
    return deploy_steps(
        user_task("Approve", assignee="${manager(initiator)}", fields=DAYS),
        user_task("Hr", assignee="zhaomin"),
    )


def _english(*users: User) -> None:
    for user in users:
        user.preferred_language = "en"
        user.save()


def _post(client: Client, url: str, body: dict[str, Any] | None = None) -> TestResponse:
    return client.post(url, body or {}, content_type="application/json")


def _rows(client: Client, query: str = "") -> list[tuple[str, int]]:
    answer = client.get(f"/api/v1/tasks/{query}")
    assert answer.status_code == 200, answer.json()
    return [(r["kind"], r["id"]) for r in answer.json()["results"]]


# --- tabs ----------------------------------------------------------------------------------------


def test_the_tabs_of_each_persona(login, leave, employee, dept_head, outsider) -> None:
    iid = start(employee)
    task = open_task(iid)
    assert _rows(login(dept_head), "?tab=todo") == [("task", task.pk)]
    assert _rows(login(employee), "?tab=todo") == []
    assert _rows(login(employee), "?tab=started") == [("instance", iid)]
    assert _rows(login(outsider), "?tab=todo") == []

    approvals.task_approve(task.pk, user=dept_head, data={"days": 2})
    assert _rows(login(dept_head), "?tab=done") == [("task", task.pk)]
    assert _rows(login(dept_head), "?tab=todo") == []
    row = login(dept_head).get("/api/v1/tasks/?tab=done").json()["results"][0]
    assert (row["source"], row["title"], row["name"], row["process_key"]) == (
        "workflow",
        "Leave 3 days",
        "Approve step",
        KEY,
    )
    assert row["url"].endswith(f"/api/v1/tasks/{task.pk}")


def test_an_unknown_tab_is_a_field_error(login, employee) -> None:
    answer = login(employee).get("/api/v1/tasks/?tab=mine")
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == ["tab"]


def test_keyset_pages_merge_our_tasks_and_external_ones(login, leave, employee, dept_head) -> None:
    """Five of our tasks and four external ones, two of them at the very same moment as
    ours: each row comes exactly once, in (created_at, rank, id) order, newest first."""
    ids = [open_task(start(employee)).pk for _ in range(5)]
    base = timezone.now() - datetime.timedelta(hours=1)
    for offset, task_id in enumerate(ids):
        Task.objects.filter(pk=task_id).update(created_at=base + datetime.timedelta(minutes=offset))
    for n in range(4):
        external.external_task_upsert(
            source="erp",
            external_id=f"PO-{n}",
            assignee="lina",
            title=f"PO {n}",
            url=f"https://erp.example.com/{n}",
            source_updated_at=base,
        )
    moments = [0, 2, 2, 5]  # minutes; PO-1 and PO-2 tie with our task at minute 2
    for n, minute in enumerate(moments):
        ExternalTask.objects.filter(external_id=f"PO-{n}").update(
            created_at=base + datetime.timedelta(minutes=minute)
        )
    externals = {n: ExternalTask.objects.get(external_id=f"PO-{n}").pk for n in range(len(moments))}
    expected = [
        ("external", externals[3]),  # minute 5
        ("task", ids[4]),
        ("task", ids[3]),
        ("task", ids[2]),  # minute 2: ours first, then the external ones by id
        ("external", externals[2]),
        ("external", externals[1]),
        ("task", ids[1]),
        ("task", ids[0]),  # minute 0: ours, then PO-0
        ("external", externals[0]),
    ]
    client = login(dept_head)
    for size in (1, 2, 4, 20):
        seen: list[tuple] = []
        url = f"/api/v1/tasks/?tab=todo&page_size={size}"
        while url:
            page = client.get(url).json()
            seen += [(r["kind"], r["id"]) for r in page["results"]]
            url = page["next"]
        assert seen == expected, size


def test_a_broken_cursor_is_a_field_error(login, employee) -> None:
    answer = login(employee).get("/api/v1/tasks/?cursor=not-a-cursor")
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == ["cursor"]
    too_big = login(employee).get("/api/v1/tasks/?page_size=1000")
    assert list(too_big.json()["error"]["fields"]) == ["page_size"]


def test_filters(login, leave, employee, colleague, dept_head) -> None:
    first = open_task(start(employee)).pk
    second = open_task(start(colleague)).pk
    ProcessInstance.objects.filter(task__pk=second).update(title=TRIP, search=search_text(TRIP))
    past = timezone.now() - datetime.timedelta(days=1)
    Task.objects.filter(pk=first).update(due_at=past, created_at=past)
    client = login(dept_head)
    assert _rows(client, "?q=shanghai") == [("task", second)]
    assert _rows(client, "?overdue=true") == [("task", first)]
    assert _rows(client, "?overdue=false") == [("task", second)]
    assert _rows(client, f"?process={KEY}") == [("task", second), ("task", first)]
    assert _rows(client, "?process=other") == []
    cut = (timezone.now() - datetime.timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert _rows(client, f"?created_after={cut}") == [("task", second)]
    assert _rows(client, f"?created_before={cut}") == [("task", first)]
    overdue = client.get("/api/v1/tasks/?overdue=true").json()["results"][0]
    assert overdue["overdue"] is True


# --- a task --------------------------------------------------------------------------------------


def test_a_task_with_its_form_and_actions(login, leave, employee, dept_head) -> None:
    iid = start(employee)
    task = open_task(iid)
    answer = login(dept_head).get(f"/api/v1/tasks/{task.pk}")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["element_id"], body["assignee"], body["state"]) == ("Approve", "lina", "open")
    assert body["instance"]["id"] == iid
    days, kind = body["form_fields"]
    assert (days["id"], days["type"], days["required"], days["value"]) == ("days", "long", True, 1)
    assert days["constraints"] == {"min_value": "1"}
    assert (kind["type"], kind["choices"]) == (
        "enum",
        [{"id": "annual", "name": "Annual"}, {"id": "sick", "name": "Sick"}],
    )
    assert {"approve", "reject", "transfer", "delegate", "add-signers"} <= set(body["actions"])
    assert "claim" not in body["actions"]

    # the initiator sees the task but may only cancel or urge
    mine = login(employee).get(f"/api/v1/tasks/{task.pk}").json()
    assert "approve" not in mine["actions"]
    assert {"cancel", "urge"} <= set(mine["actions"])


def test_someone_elses_task_is_404(login, leave, employee, outsider) -> None:
    task = open_task(start(employee))
    assert login(outsider).get(f"/api/v1/tasks/{task.pk}").status_code == 404
    answer = _post(login(outsider), f"/api/v1/tasks/{task.pk}/approve", {"data": {"days": 2}})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert Task.objects.get(pk=task.pk).state == "open"
    assert login(outsider).get(f"/api/v1/tasks/{task.pk}/return-targets").status_code == 404
    assert login(outsider).get("/api/v1/tasks/999999").status_code == 404


# --- actions -------------------------------------------------------------------------------------


def test_approve_validates_the_form_and_moves_on(login, leave, employee, dept_head) -> None:
    _english(dept_head)
    iid = start(employee)
    task = open_task(iid)
    url = f"/api/v1/tasks/{task.pk}/approve"
    invalid = _post(login(dept_head), url, {"data": {"days": 0, "kind": "holiday"}})
    assert invalid.status_code == 400
    assert set(invalid.json()["error"]["fields"]) == {"days", "kind"}
    assert Task.objects.get(pk=task.pk).state == "open"

    answer = _post(login(dept_head), url, {"data": {"days": 2}, "comment": "fine"})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["task"]["state"] == "completed"
    assert ProcessInstance.objects.get().variables["days"] == 2
    assert open_task(iid).element_id == "Hr"

    again = _post(login(dept_head), url, {"data": {"days": 2}})
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "already_handled",
        "message": "This task has already been handled.",
    }


def test_someone_who_may_see_but_not_handle_is_refused(login, leave, employee) -> None:
    _english(employee)
    task = open_task(start(employee))
    answer = _post(login(employee), f"/api/v1/tasks/{task.pk}/approve", {"data": {"days": 2}})
    assert answer.status_code == 409
    assert answer.json()["error"] == {
        "code": "action_refused",
        "message": "You started this request: someone else approves it.",
    }


def test_reject_needs_a_comment(login, leave, employee, dept_head) -> None:
    iid = start(employee)
    url = f"/api/v1/tasks/{open_task(iid).pk}/reject"
    assert list(_post(login(dept_head), url).json()["error"]["fields"]) == ["comment"]
    answer = _post(login(dept_head), url, {"comment": "not now", "data": {"days": 2}})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["instance"]["state"] == "rejected"


def test_return_to_an_earlier_step(login, leave, employee, dept_head, hr_admin) -> None:
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head, data={"days": 2})
    hr_task = open_task(iid)
    targets = login(hr_admin).get(f"/api/v1/tasks/{hr_task.pk}/return-targets").json()
    assert [t["element_id"] for t in targets] == ["initiator", "Approve"]
    answer = _post(
        login(hr_admin),
        f"/api/v1/tasks/{hr_task.pk}/return",
        {"target": "Approve", "comment": "check the dates"},
    )
    assert answer.status_code == 200, answer.json()
    back = open_task(iid)
    assert (back.element_id, back.assignee) == ("Approve", "lina")


def test_return_to_a_step_never_reached_is_refused(login, leave, employee, dept_head) -> None:
    iid = start(employee)
    task = open_task(iid)
    for target in ("Hr", "Nowhere"):  # later in the process / not in it at all
        answer = _post(
            login(dept_head),
            f"/api/v1/tasks/{task.pk}/return",
            {"target": target, "comment": "back"},
        )
        assert (answer.status_code, answer.json()["error"]["code"]) == (409, "action_refused")
    assert open_task(iid).pk == task.pk  # nothing changed


def test_acting_twice_is_already_handled(login, leave, employee, dept_head) -> None:
    iid = start(employee)
    task = open_task(iid)
    url = f"/api/v1/tasks/{task.pk}/approve"
    assert _post(login(dept_head), url, {"data": {"days": 2}}).status_code == 200
    again = _post(login(dept_head), url, {"data": {"days": 2}})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_handled")


def test_claim_and_unclaim(login, employee, outsider) -> None:
    reviewer = User.objects.create(username="reviewer2", department=outsider.department)
    make_role("finance", outsider, reviewer)
    deploy_steps(user_task("Review", groups="role:finance"))
    task = open_task(start(employee))
    assert "claim" in login(outsider).get(f"/api/v1/tasks/{task.pk}").json()["actions"]
    claimed = _post(login(outsider), f"/api/v1/tasks/{task.pk}/claim")
    assert claimed.status_code == 200
    assert claimed.json()["task"]["assignee"] == "liuyang"
    taken = _post(login(reviewer), f"/api/v1/tasks/{task.pk}/claim")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "already_handled")
    assert _post(login(outsider), f"/api/v1/tasks/{task.pk}/unclaim").status_code == 200
    assert Task.objects.get(pk=task.pk).assignee == ""


def test_transfer(login, leave, employee, colleague, dept_head) -> None:
    task = open_task(start(employee))
    answer = _post(login(dept_head), f"/api/v1/tasks/{task.pk}/transfer", {"to": "wangfang"})
    assert answer.status_code == 200, answer.json()
    assert open_task(task.instance_id).assignee == "wangfang"
    unknown = _post(
        login(colleague),
        f"/api/v1/tasks/{open_task(task.instance_id).pk}/transfer",
        {"to": "ghost"},
    )
    assert unknown.status_code == 400
    assert list(unknown.json()["error"]["fields"]) == ["to"]


def test_delegate_and_resolve(login, leave, employee, colleague, dept_head) -> None:
    iid = start(employee)
    task = open_task(iid)
    delegated = _post(login(dept_head), f"/api/v1/tasks/{task.pk}/delegate", {"to": "wangfang"})
    assert delegated.status_code == 200, delegated.json()
    with_delegate = open_task(iid)
    assert with_delegate.assignee == "wangfang"
    actions = login(colleague).get(f"/api/v1/tasks/{with_delegate.pk}").json()["actions"]
    assert "resolve" in actions
    assert "approve" not in actions
    resolved = _post(
        login(colleague), f"/api/v1/tasks/{with_delegate.pk}/resolve", {"data": {"days": 2}}
    )
    assert resolved.status_code == 200, resolved.json()
    assert open_task(iid).assignee == "lina"


def test_add_and_remove_a_signer(login, leave, employee, colleague, dept_head) -> None:
    iid = start(employee)
    task = open_task(iid)
    added = _post(
        login(dept_head),
        f"/api/v1/tasks/{task.pk}/add-signers",
        {"signers": ["wangfang"], "position": "before"},
    )
    assert added.status_code == 200, added.json()
    assert ("Approve", "wangfang", "open") in tasks(iid)
    signer = open_task(iid, assignee="wangfang")
    # the adder's task lists the signer (and offers remove-signer); 减签 names the signer's task
    mine = login(dept_head).get(f"/api/v1/tasks/{task.pk}").json()
    assert "remove-signer" in mine["actions"]
    assert mine["added_signers"] == [
        {"id": signer.pk, "assignee": "wangfang", "signer": "before", "state": "open"}
    ]
    not_mine = _post(login(colleague), f"/api/v1/tasks/{signer.pk}/remove-signer")
    assert (not_mine.status_code, not_mine.json()["error"]["code"]) == (409, "action_refused")
    removed = _post(login(dept_head), f"/api/v1/tasks/{signer.pk}/remove-signer")
    assert removed.status_code == 200, removed.json()
    assert ("Approve", "wangfang", "open") not in tasks(iid)
    bad = _post(
        login(dept_head),
        f"/api/v1/tasks/{task.pk}/add-signers",
        {"signers": ["wangfang"], "position": "somewhere"},
    )
    assert list(bad.json()["error"]["fields"]) == ["position"]


def test_reassign_by_an_administrator(login, leave, employee, colleague, outsider) -> None:
    task = open_task(start(employee))
    refused = _post(login(colleague), f"/api/v1/tasks/{task.pk}/reassign", {"to": "wangfang"})
    assert refused.status_code == 404  # a colleague cannot see the instance
    admin = make_admin(outsider)
    answer = _post(login(admin), f"/api/v1/tasks/{task.pk}/reassign", {"to": "wangfang"})
    assert answer.status_code == 200, answer.json()
    assert Task.objects.get(pk=task.pk).assignee == "wangfang"


def test_filters_on_the_started_and_copied_tabs(login, leave, employee, outsider) -> None:
    late = start(employee)
    other = start(employee)
    ProcessInstance.objects.filter(pk=other).update(title=TRIP, search=search_text(TRIP))
    Task.objects.filter(instance_id=late).update(due_at=timezone.now() - datetime.timedelta(1))
    client = login(employee)
    assert _rows(client, "?tab=started&q=shanghai") == [("instance", other)]
    assert _rows(client, "?tab=started&overdue=true") == [("instance", late)]
    assert _rows(client, "?tab=started&process=other") == []
    for iid in (late, other):
        approvals.instance_copy(iid, user=employee, recipients=["liuyang"])
    copies = login(outsider).get("/api/v1/tasks/?tab=copied&overdue=true").json()["results"]
    assert [row["instance_id"] for row in copies] == [late]
