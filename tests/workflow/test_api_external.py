"""统一待办: tasks of other systems pushed into the inbox (workflow/external.py and its
endpoints under /api/v1/external-tasks/)."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from portal.models import Notification, User
from workflow.models import ExternalTask
from workflow.selectors import inbox
from workflow.services import external

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
URL = "https://erp.example.com/approvals/PO-1"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _pusher(user: User) -> User:
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="push_external_tasks")
    )
    return User.objects.get(pk=user.pk)


def _push(**overrides: Any) -> tuple[ExternalTask, str]:
    values: dict[str, Any] = {
        "source": "erp",
        "external_id": "PO-1",
        "assignee": "zhangwei",
        "title": "Purchase order PO-1",
        "url": URL,
        "source_updated_at": T0,
    }
    values.update(overrides)
    return external.external_task_upsert(**values)


# --- services ---------------------------------------------------------------------------------


def test_a_new_task_is_created_and_its_assignee_notified(employee) -> None:
    _task, status = _push(summary="3 laptops", category="purchase")
    assert status == "created"
    stored = ExternalTask.objects.get()
    assert (stored.source, stored.external_id, stored.assignee, stored.state) == (
        "erp",
        "PO-1",
        employee,
        "open",
    )
    assert stored.summary == "3 laptops"
    [note] = Notification.objects.filter(recipient=employee)
    assert note.url == URL
    assert note.dedup_key == "external:erp:PO-1"
    assert "Purchase order PO-1" in note.title


def test_the_assignee_may_be_named_by_employee_number(employee) -> None:
    task, status = _push(assignee=employee.employee_no.lower())
    assert status == "created"
    assert task.assignee == employee


def test_an_unknown_assignee_is_a_field_error(employee) -> None:
    with pytest.raises(ValidationError) as raised:
        _push(assignee="nobody")
    assert list(raised.value.message_dict) == ["assignee"]
    assert ExternalTask.objects.count() == 0


def test_a_newer_push_updates_an_older_one_is_ignored(employee, colleague) -> None:
    _push()
    _task, status = _push(title="PO-1 (revised)", source_updated_at=T0 + datetime.timedelta(1))
    assert status == "updated"
    assert ExternalTask.objects.get().title == "PO-1 (revised)"

    _task, status = _push(title="late delivery of an old change", assignee="wangfang")
    assert status == "stale"
    stored = ExternalTask.objects.get()
    assert (stored.title, stored.assignee, stored.source_updated_at) == (
        "PO-1 (revised)",
        employee,
        T0 + datetime.timedelta(1),
    )
    # the same moment again is stale too: nothing is applied twice
    _task, status = _push(title="again", source_updated_at=T0 + datetime.timedelta(1))
    assert status == "stale"
    assert Notification.objects.filter(recipient=colleague).count() == 0


def test_a_task_given_to_someone_else_notifies_them_once(employee, colleague) -> None:
    _push()
    _push(assignee="wangfang", source_updated_at=T0 + datetime.timedelta(hours=1))
    _push(assignee="wangfang", title="x", source_updated_at=T0 + datetime.timedelta(hours=2))
    assert ExternalTask.objects.get().assignee == colleague
    assert Notification.objects.filter(recipient=colleague).count() == 1
    assert Notification.objects.filter(recipient=employee).count() == 1


def test_close_with_the_stale_rule(employee) -> None:
    _push(source_updated_at=T0)
    _task, status = external.external_task_close(
        source="erp", external_id="PO-1", source_updated_at=T0 - datetime.timedelta(1)
    )
    assert status == "stale"
    assert ExternalTask.objects.get().state == "open"
    _task, status = external.external_task_close(
        source="erp", external_id="PO-1", source_updated_at=T0 + datetime.timedelta(1)
    )
    assert status == "closed"
    stored = ExternalTask.objects.get()
    assert stored.state == "closed"
    assert stored.closed_at is not None
    assert list(inbox.external_tasks_for(employee)) == []
    with pytest.raises(ExternalTask.DoesNotExist):
        external.external_task_close(source="erp", external_id="nope", source_updated_at=T0)


def test_a_newer_push_reopens_a_closed_task(employee) -> None:
    _push()
    external.external_task_close(
        source="erp", external_id="PO-1", source_updated_at=T0 + datetime.timedelta(1)
    )
    _task, status = _push(source_updated_at=T0 + datetime.timedelta(2))
    assert status == "updated"
    stored = ExternalTask.objects.get()
    assert (stored.state, stored.closed_at) == ("open", None)


def test_replace_closes_the_old_and_creates_the_new(employee, colleague) -> None:
    _push()
    new, status = external.external_task_replace(
        source="erp",
        external_id="PO-1",
        new_external_id="PO-1-step2",
        source_updated_at=T0 + datetime.timedelta(hours=1),
        assignee="wangfang",
        title="PO-1: finance review",
        url=URL + "/2",
    )
    assert status == "created"
    old = ExternalTask.objects.get(external_id="PO-1")
    assert (old.state, old.replaced_by) == ("closed", "PO-1-step2")
    assert (new.external_id, new.assignee, new.state) == ("PO-1-step2", colleague, "open")

    # the same replace delivered again: stale, nothing changes
    again, status = external.external_task_replace(
        source="erp",
        external_id="PO-1",
        new_external_id="PO-1-step2",
        source_updated_at=T0 + datetime.timedelta(hours=1),
        assignee="zhangwei",
        title="changed",
        url=URL,
    )
    assert status == "stale"
    assert again.pk == new.pk
    assert ExternalTask.objects.get(external_id="PO-1-step2").title == "PO-1: finance review"


def test_replace_is_all_or_nothing(employee) -> None:
    _push()
    with pytest.raises(ValidationError):
        external.external_task_replace(
            source="erp",
            external_id="PO-1",
            new_external_id="PO-2",
            source_updated_at=T0 + datetime.timedelta(1),
            assignee="nobody",
            title="x",
            url=URL,
        )
    old = ExternalTask.objects.get()
    assert (old.external_id, old.state, old.replaced_by) == ("PO-1", "open", "")


def test_a_bad_link_is_a_field_error(employee) -> None:
    with pytest.raises(ValidationError) as raised:
        _push(url="javascript:alert(1)")
    assert "url" in raised.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_two_first_pushes_at_once_make_one_task(employee) -> None:
    """Both find no row; the unique constraint lets one insert, the other updates."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers at BEGIN IMMEDIATE; the race needs PostgreSQL")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def push(title: str, hours: int) -> None:
        barrier.wait()
        try:
            results.append(
                _push(title=title, source_updated_at=T0 + datetime.timedelta(hours=hours))[1]
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(f"t{i}", i)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ExternalTask.objects.count() == 1
    assert sorted(results) in (["created", "updated"], ["created", "stale"])
    assert ExternalTask.objects.get().title == "t2"


# --- API --------------------------------------------------------------------------------------


def _body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "assignee": "zhangwei",
        "title": "Purchase order PO-1",
        "url": URL,
        "source_updated_at": T0.isoformat(),
    }
    body.update(overrides)
    return body


def test_api_push_update_close_and_list(login, employee, outsider) -> None:
    client = login(_pusher(outsider))
    url = "/api/v1/external-tasks/erp/PO-1"
    created = client.put(url, _body(), content_type="application/json")
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "created"
    assert created.json()["task"]["assignee"] == "zhangwei"

    stale = client.put(url, _body(title="old"), content_type="application/json")
    assert (stale.status_code, stale.json()["status"]) == (200, "stale")
    assert stale.json()["task"]["title"] == "Purchase order PO-1"

    later = (T0 + datetime.timedelta(hours=1)).isoformat()
    updated = client.put(
        url, _body(title="new", source_updated_at=later), content_type="application/json"
    )
    assert (updated.status_code, updated.json()["status"]) == (200, "updated")

    mine = login(employee).get("/api/v1/external-tasks/mine")
    assert [(t["source"], t["external_id"], t["title"]) for t in mine.json()["results"]] == [
        ("erp", "PO-1", "new")
    ]

    client = login(_pusher(outsider))
    closing = (T0 + datetime.timedelta(hours=2)).isoformat()
    closed = client.post(
        url + "/close", {"source_updated_at": closing}, content_type="application/json"
    )
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    assert login(employee).get("/api/v1/external-tasks/mine").json()["results"] == []
    everything = login(employee).get("/api/v1/external-tasks/mine?state=all").json()["results"]
    assert [t["state"] for t in everything] == ["closed"]


def test_api_replace(login, employee, colleague, outsider) -> None:
    _push()
    client = login(_pusher(outsider))
    answer = client.post(
        "/api/v1/external-tasks/erp/PO-1/replace",
        _body(
            new_external_id="PO-1-2",
            assignee=colleague.employee_no,
            source_updated_at=(T0 + datetime.timedelta(1)).isoformat(),
        ),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["task"]["external_id"] == "PO-1-2"
    assert answer.json()["task"]["assignee"] == "wangfang"
    assert ExternalTask.objects.get(external_id="PO-1").replaced_by == "PO-1-2"


def test_api_unknown_assignee_answers_400_in_the_users_language(login, outsider) -> None:
    pusher = _pusher(outsider)
    pusher.preferred_language = "zh-hans"
    pusher.save()
    answer = login(pusher).put(
        "/api/v1/external-tasks/erp/PO-1", _body(assignee="nobody"), content_type="application/json"
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["assignee"]
    assert "nobody" in error["fields"]["assignee"][0]
    assert ExternalTask.objects.count() == 0


def test_api_missing_fields_answer_400_with_each_field(login, outsider) -> None:
    answer = login(_pusher(outsider)).put(
        "/api/v1/external-tasks/erp/PO-1", {"title": ""}, content_type="application/json"
    )
    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {
        "assignee",
        "title",
        "url",
        "source_updated_at",
    }


def test_api_push_needs_the_permission(login, employee) -> None:
    answer = login(employee).put(
        "/api/v1/external-tasks/erp/PO-1", _body(), content_type="application/json"
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"
    assert ExternalTask.objects.count() == 0


def test_api_close_of_an_unknown_task_is_404(login, outsider) -> None:
    answer = login(_pusher(outsider)).post(
        "/api/v1/external-tasks/erp/nope/close",
        {"source_updated_at": T0.isoformat()},
        content_type="application/json",
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_api_mine_shows_only_my_tasks(login, employee, colleague) -> None:
    _push()
    _push(external_id="PO-2", assignee="wangfang")
    assert [
        t["external_id"]
        for t in login(colleague).get("/api/v1/external-tasks/mine").json()["results"]
    ] == ["PO-2"]


def test_external_tasks_appear_in_the_todo_tab(login, employee) -> None:
    _push()
    ExternalTask.objects.update(created_at=timezone.now())
    rows = login(employee).get("/api/v1/tasks/?tab=todo").json()["results"]
    assert [(r["kind"], r["source"], r["title"], r["url"]) for r in rows] == [
        ("external", "erp", "Purchase order PO-1", URL)
    ]
    assert login(employee).get("/api/v1/tasks/?tab=todo&external=false").json()["results"] == []
