"""统一待办 (issue 15, item 17 b): an external task's PUT replaces it whole, PATCH changes
only the fields it is given."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.cache import cache

from portal.models import Notification
from tests.workflow.test_api_external import T0, URL, _body, _push, _pusher
from workflow.models import ExternalTask, ExternalTaskState
from workflow.services import external

pytestmark = pytest.mark.django_db

TASK = "/api/v1/external-tasks/erp/PO-1"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _at(hours: int) -> str:
    return (T0 + datetime.timedelta(hours=hours)).isoformat()


def _patch(client: Any, body: dict[str, Any], path: str = TASK) -> Any:
    return client.patch(path, body, content_type="application/json")


def test_put_is_a_full_replace(login, employee, outsider) -> None:
    _push(summary="3 laptops", category="purchase", due_at=T0 + datetime.timedelta(days=2))
    outsider.preferred_language = "en"
    outsider.save()
    client = login(_pusher(outsider))
    answer = client.put(
        TASK, _body(title="PO-1 again", source_updated_at=_at(1)), content_type="application/json"
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "updated")
    stored = ExternalTask.objects.get()
    # the optional fields left out are emptied: PUT says what the task is now, whole
    assert (stored.title, stored.summary, stored.category, stored.due_at) == (
        "PO-1 again",
        "",
        "",
        None,
    )
    missing = {k: v for k, v in _body(source_updated_at=_at(2)).items() if k != "url"}
    refused = client.put(TASK, missing, content_type="application/json")
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["url"]
    assert refused.json()["error"]["fields"]["url"] == ["This field is required."]
    assert ExternalTask.objects.get().title == "PO-1 again"


def test_patch_changes_only_what_it_is_given(login, employee, colleague, outsider) -> None:
    due = T0 + datetime.timedelta(days=2)
    _push(summary="3 laptops", category="purchase", due_at=due)
    client = login(_pusher(outsider))
    answer = _patch(client, {"title": "PO-1: 4 laptops", "source_updated_at": _at(1)})
    assert (answer.status_code, answer.json()["status"]) == (200, "updated"), answer.json()
    stored = ExternalTask.objects.get()
    assert (stored.title, stored.summary, stored.category, stored.due_at, stored.url) == (
        "PO-1: 4 laptops",
        "3 laptops",
        "purchase",
        due,
        URL,
    )
    assert stored.assignee == employee
    # a new assignee is notified; the due date can be taken away explicitly
    answer = _patch(client, {"assignee": "wangfang", "due_at": None, "source_updated_at": _at(2)})
    assert answer.status_code == 200
    stored.refresh_from_db()
    assert (stored.assignee, stored.due_at, stored.summary) == (colleague, None, "3 laptops")
    assert Notification.objects.filter(recipient=colleague).count() == 1


def test_patch_keeps_the_stale_rule_and_the_state(login, employee, outsider) -> None:
    _push()
    external.external_task_close(
        source="erp", external_id="PO-1", source_updated_at=T0.replace(hour=10)
    )
    client = login(_pusher(outsider))
    stale = _patch(client, {"title": "late", "source_updated_at": _at(0)})
    assert (stale.status_code, stale.json()["status"]) == (200, "stale")
    later = _patch(client, {"summary": "note", "source_updated_at": _at(5)})
    assert later.json()["status"] == "updated"
    stored = ExternalTask.objects.get()
    assert (stored.title, stored.summary, stored.state) == (
        "Purchase order PO-1",
        "note",
        ExternalTaskState.CLOSED,
    )


def test_patch_bad_input_and_unknown_tasks(login, employee, outsider) -> None:
    _push()
    client = login(_pusher(outsider))
    no_time = _patch(client, {"title": "x"})
    assert list(no_time.json()["error"]["fields"]) == ["source_updated_at"]
    bad = _patch(client, {"url": "not a link", "source_updated_at": _at(1)})
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["url"])
    nobody = _patch(client, {"assignee": "nobody", "source_updated_at": _at(1)})
    assert (nobody.status_code, list(nobody.json()["error"]["fields"])) == (400, ["assignee"])
    assert ExternalTask.objects.get().source_updated_at == T0
    missing = _patch(client, {"title": "x", "source_updated_at": _at(1)}, TASK + "-nope")
    assert missing.status_code == 404
    assert (
        login(employee)
        .patch(TASK, {"source_updated_at": _at(1)}, content_type="application/json")
        .status_code
        == 403
    )
