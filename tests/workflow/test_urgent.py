"""加急 (issue 15, item 4): a request marked urgent at the start (the start form, a draft, the
API) comes first and flagged in the approvers' 待办, and the keyset pages stay whole across
the turn from the urgent rows to the others."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from portal.keyset import Cursor
from portal.models import User
from tests.workflow.approval_helpers import deploy_steps, make_role, open_task, user_task
from workflow.models import Draft, ProcessInstance, Task
from workflow.selectors import inbox
from workflow.services import drafts, starts

pytestmark = pytest.mark.django_db

KEY = "trip"
FIELDS = '<camunda:formField id="days" label="Days" type="long"/>'


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def trip(db: None, dept_head: User) -> str:
    """start (days) → Approve (李娜, the department head) → end."""
    return deploy_steps(user_task("Approve", assignee="lina"), key=KEY, start_fields=FIELDS)


def _submit(user: User, n: int, *, urgent: bool = False) -> int:
    instance_id, _created = starts.request_submit(
        user=user, key=KEY, data={"days": n}, title=f"trip {n}", urgent=urgent
    )
    return instance_id


def _all_pages(user: User, size: int, **kwargs: Any) -> tuple[list[int], list[Cursor | None]]:
    """Every task id of 待办 page by page, and the cursor each page ended with."""
    seen: list[int] = []
    cursors: list[Cursor | None] = []
    after: Cursor | None = None
    for _page in range(50):
        page = inbox.inbox_page(user, "todo", inbox.InboxFilter(), after=after, size=size, **kwargs)
        seen += [row.pk for _kind, row in page.rows]
        cursors.append(page.next)
        if page.next is None:
            break
        # as the page and the API carry it: through its text
        after = Cursor.decode(page.next.encode())
    return seen, cursors


@pytest.fixture
def mixed(trip: str, employee: User) -> dict[str, list[int]]:
    """Seven requests, the 2nd, 5th and 6th urgent; the approver's tasks, oldest first."""
    plain: list[int] = []
    urgent: list[int] = []
    for n in range(7):
        instance_id = _submit(employee, n, urgent=n in (1, 4, 5))
        (urgent if n in (1, 4, 5) else plain).append(open_task(instance_id).pk)
    return {"plain": plain, "urgent": urgent}


def test_the_start_service_marks_the_request_urgent(trip: str, employee: User) -> None:
    urgent, plain = _submit(employee, 1, urgent=True), _submit(employee, 2)
    assert ProcessInstance.objects.get(pk=urgent).urgent is True
    assert ProcessInstance.objects.get(pk=plain).urgent is False


def test_an_idempotent_retry_must_say_urgent_again(trip: str, employee: User) -> None:
    first, created = starts.request_submit(
        user=employee, key=KEY, data={"days": 1}, idempotency_key="k1", urgent=True
    )
    again, created_again = starts.request_submit(
        user=employee, key=KEY, data={"days": 1}, idempotency_key="k1", urgent=True
    )
    assert (again, created, created_again) == (first, True, False)
    with pytest.raises(starts.IdempotencyKeyReused):
        starts.request_submit(user=employee, key=KEY, data={"days": 1}, idempotency_key="k1")


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 20])
def test_urgent_first_and_every_row_once_on_any_page_size(
    mixed: dict[str, list[int]], dept_head: User, size: int
) -> None:
    """Newest first within each part; the urgent part first, whichever page it ends on
    (3 urgent rows: a page size of 3 ends the urgent part exactly at a page's end)."""
    seen, cursors = _all_pages(dept_head, size)
    assert seen == mixed["urgent"][::-1] + mixed["plain"][::-1]
    assert cursors[-1] is None
    assert len(cursors) == -(-len(seen) // size)  # no empty last page


@pytest.mark.parametrize("sort", ["old", "due"])
def test_urgent_first_oldest_first_too(
    mixed: dict[str, list[int]], dept_head: User, sort: str
) -> None:
    seen, _cursors = _all_pages(dept_head, 2, sort=sort)
    assert seen == mixed["urgent"] + mixed["plain"]


def test_a_high_priority_task_counts_as_urgent(
    mixed: dict[str, list[int]], dept_head: User
) -> None:
    raised = mixed["plain"][0]
    Task.objects.filter(pk=raised).update(priority=80)
    seen, _cursors = _all_pages(dept_head, 3)
    assert seen[:4] == sorted([*mixed["urgent"], raised], reverse=True)
    only = inbox.inbox_page(dept_head, "todo", inbox.InboxFilter(urgent=True), size=20)
    assert sorted(row.pk for _k, row in only.rows) == sorted([*mixed["urgent"], raised])


@pytest.mark.parametrize("listed", [True, False])
def test_tasks_to_claim_urgent_first_as_the_page_read_them(
    db: None, employee: User, colleague: User, listed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks offered to a role (签收): the page reads once which it may claim and which of
    those are urgent, and each part of the list names its own (issue 16); beyond
    ``CLAIMABLE_LISTED`` each part keeps the condition. Either way the same pages."""
    if not listed:
        monkeypatch.setattr(inbox, "CLAIMABLE_LISTED", 0)
    make_role("approvers", colleague)
    deploy_steps(user_task("Approve", groups="approvers"), key=KEY, start_fields=FIELDS)
    plain: list[int] = []
    urgent: list[int] = []
    for n in range(7):
        instance_id = _submit(employee, n, urgent=n in (1, 4, 5))
        (urgent if n in (1, 4, 5) else plain).append(open_task(instance_id).pk)
    Task.objects.filter(pk=plain[0]).update(priority=80)  # urgent by its priority
    urgent = sorted([*urgent, plain.pop(0)])
    read = inbox.claimable_read(colleague)
    assert (read.ids is not None) == listed
    if listed:
        assert read.urgent == frozenset(urgent)
    for size in (2, 3, 20):
        seen, cursors = _all_pages(colleague, size, claimable=read)
        assert seen == urgent[::-1] + plain[::-1]
        assert cursors[-1] is None
    seen, _cursors = _all_pages(colleague, 2, sort="old", claimable=read)
    assert seen == urgent + plain
    only = inbox.inbox_page(colleague, "todo", inbox.InboxFilter(urgent=True), claimable=read)
    assert [row.pk for _k, row in only.rows] == urgent[::-1]
    rest = inbox.inbox_page(colleague, "todo", inbox.InboxFilter(urgent=False), claimable=read)
    assert [row.pk for _k, row in rest.rows] == plain[::-1]


def test_a_page_costs_a_few_queries(
    mixed: dict[str, list[int]], dept_head: User, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        page = inbox.inbox_page(dept_head, "todo", inbox.InboxFilter(), size=2)
        assert [row.pk for _k, row in page.rows] == mixed["urgent"][::-1][:2]


def test_the_inbox_flags_urgent_rows_first(
    mixed: dict[str, list[int]], dept_head: User, login: Callable[[User], Client]
) -> None:
    dept_head.preferred_language = "zh-hans"
    dept_head.save()
    html = login(dept_head).get("/workflow/inbox/").content.decode()
    rows = html.split('data-testid="row"')[1:]
    flagged = ['class="tag urgent"' in row for row in rows]
    assert flagged == [True] * 3 + [False] * 4
    with translation.override("zh-hans"):
        assert f">{translation.gettext('Urgent')}<" in rows[0]


def test_the_instance_and_task_pages_show_the_tag(
    trip: str, employee: User, dept_head: User, login: Callable[[User], Client]
) -> None:
    instance_id = _submit(employee, 1, urgent=True)
    plain_id = _submit(employee, 2)
    client = login(dept_head)
    assert (
        'class="tag urgent"' in client.get(f"/workflow/instances/{instance_id}/").content.decode()
    )
    assert (
        'class="tag urgent"'
        in client.get(f"/workflow/tasks/{open_task(instance_id).pk}/").content.decode()
    )
    assert (
        'class="tag urgent"' not in client.get(f"/workflow/instances/{plain_id}/").content.decode()
    )


def test_the_start_form_takes_urgent(
    trip: str, employee: User, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    url = f"/workflow/processes/{KEY}/start/"
    assert 'name="meta-urgent"' in client.get(url).content.decode()
    answer = client.post(
        url,
        {"days": "2", "meta-urgent": "on", "meta-idempotency_key": "web:u1", "action": "submit"},
    )
    assert answer.status_code == 302
    instance = ProcessInstance.objects.get(initiator="zhangwei")
    assert instance.urgent is True


def test_a_draft_keeps_urgent(trip: str, employee: User, login: Callable[[User], Client]) -> None:
    client = login(employee)
    url = f"/workflow/processes/{KEY}/start/"
    client.post(url, {"days": "2", "meta-urgent": "on", "action": "save"})
    draft = Draft.objects.get(owner=employee)
    assert drafts.draft_urgent(draft) is True
    assert drafts.draft_values(draft) == {"days": "2"}
    html = client.get(f"{url}?draft={draft.pk}").content.decode()
    assert re.search(r'<input type="checkbox" name="meta-urgent"[^>]* checked>', html)
    assert "was left out" not in html  # the mark is not a field the process lost
    client.post(
        f"{url}?draft={draft.pk}",
        {"days": "2", "meta-urgent": "on", "meta-idempotency_key": "web:d", "action": "submit"},
    )
    assert ProcessInstance.objects.get(initiator="zhangwei").urgent is True
    assert not Draft.objects.filter(pk=draft.pk).exists()


def test_the_api_starts_urgent_and_lists_the_flag(
    trip: str, employee: User, dept_head: User, login: Callable[[User], Client]
) -> None:
    answer = login(employee).post(
        "/api/v1/instances/",
        {"process_key": KEY, "variables": {"days": 1}, "urgent": True},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["urgent"] is True
    plain = login(employee).post(
        "/api/v1/instances/",
        {"process_key": KEY, "variables": {"days": 2}},
        content_type="application/json",
    )
    assert plain.json()["urgent"] is False
    listed = login(dept_head).get("/api/v1/tasks/?page_size=1").json()
    assert listed["results"][0]["instance_id"] == answer.json()["id"]
    assert listed["results"][0]["urgent"] is True
    following = login(dept_head).get(listed["next"]).json()
    assert [row["urgent"] for row in following["results"]] == [False]
    assert following["next"] is None
    only = login(dept_head).get("/api/v1/tasks/?urgent=true").json()
    assert [row["instance_id"] for row in only["results"]] == [answer.json()["id"]]


def test_the_api_refuses_a_bad_urgent_value(
    trip: str, employee: User, login: Callable[[User], Client]
) -> None:
    answer = login(employee).post(
        "/api/v1/instances/",
        {"process_key": KEY, "variables": {"days": 1}, "urgent": "very"},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert not ProcessInstance.objects.exists()
