"""The inbox page (/workflow/inbox/): the four tabs as each persona, counts, filters, search,
sort, keyset pages, claiming, bulk approve, and the query counts that keep it fast."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import Notification, User
from portal.selectors import unread_notifications
from tests.workflow.approval_helpers import (
    deploy_body,
    deploy_steps,
    make_admin,
    make_role,
    open_task,
    user_task,
)
from tests.workflow.engine_helpers import flow
from workflow.models import CarbonCopy, HistoryEvent, ProcessInstance, Task, TaskState
from workflow.selectors import inbox as inbox_reads
from workflow.selectors.visibility import copies_for, instances_started
from workflow.services import approvals, engine, external

pytestmark = pytest.mark.django_db

INBOX = "/workflow/inbox/"
COUNTS = "/workflow/inbox/counts/"
BADGE = "/workflow/inbox/badge/"
BULK = "/workflow/inbox/bulk-approve/"

REQUIRED_REASON = (
    '<camunda:formField id="reason" label="Reason" type="string">'
    '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
    "</camunda:formField>"
)
DAYS_WITH_DEFAULT = (
    '<camunda:formField id="days" label="Days" type="long" defaultValue="1">'
    '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
    "</camunda:formField>"
)


@pytest.fixture
def leave(db: None) -> str:
    """start → Approve (the initiator's manager, a form whose one field has a default) →
    end."""
    return deploy_steps(
        user_task("Approve", assignee="${manager(initiator)}", fields=DAYS_WITH_DEFAULT)
    )


@pytest.fixture
def login(login: Callable[[User], Client]) -> Callable[[User], Client]:
    """The shared ``login``, with the persona reading the portal in English (these tests
    read its messages in English)."""

    def _login(user: User) -> Client:
        if user.preferred_language != "en":
            user.preferred_language = "en"
            user.save(update_fields=["preferred_language"])
        return login(user)

    return _login


@pytest.fixture
def admin(hr_admin: User) -> User:
    """A process administrator (赵敏 with workflow.manage_processes)."""
    return make_admin(hr_admin)


def _start(user: User, key: str = "leave", title: str = "Leave 3 days", **extra: Any) -> int:
    return engine.instance_start(key, initiator=user, title=title, variables={}, **extra)


def _rows(client: Client, query: str = "") -> list[str]:
    """The ``data-testid=row`` items of the list, each as its visible title."""
    html = client.get(INBOX + query).content.decode()
    return re.findall(r'data-testid="row">.*?class="title"[^>]*>([^<]+)', html, re.S)


def _page(client: Client, query: str = "") -> str:
    answer = client.get(INBOX + query)
    assert answer.status_code == 200
    return answer.content.decode()


def _task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/workflow/tasks/(\d+)/"', html)]


# --- who may use it ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [INBOX, COUNTS, BADGE])
def test_anonymous_is_sent_to_sign_in(client: Client, url: str) -> None:
    answer = client.get(url)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", [BULK, "/workflow/inbox/claim/1/"])
def test_anonymous_posts_are_sent_to_sign_in(client: Client, url: str) -> None:
    answer = client.post(url, {"task": "1"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")


def test_each_persona_sees_only_their_own_rows(
    login, leave, employee, colleague, dept_head, outsider, admin, superuser
) -> None:
    iid = _start(employee)
    task = open_task(iid)
    # the manager: the task is theirs to do
    html = _page(login(dept_head), "?tab=todo")
    assert _task_ids(html) == [task.pk]
    assert "张伟" in html  # the initiator's name
    assert "Approve step" in html
    # the employee: nothing to do, the instance under "started by me" with where it stands
    assert _rows(login(employee), "?tab=todo") == []
    started = _page(login(employee), "?tab=started")
    assert f'href="/workflow/instances/{iid}/"' in started
    assert "Approve step (李娜)" in started
    # everyone else sees nothing in any tab, administrators included (the inbox is personal)
    for persona in (colleague, outsider, admin, superuser):
        client = login(persona)
        for tab in ("todo", "done", "started", "copied"):
            assert _rows(client, f"?tab={tab}") == [], (persona, tab)


def test_every_page_and_endpoint_answers_each_persona(
    login, leave, employee, colleague, dept_head, outsider, admin, superuser
) -> None:
    _start(employee)
    for persona in (employee, colleague, dept_head, outsider, admin, superuser):
        client = login(persona)
        for tab in ("todo", "done", "started", "copied"):
            assert client.get(f"{INBOX}?tab={tab}").status_code == 200
        assert client.get(COUNTS).status_code == 200
        assert client.get(BADGE).status_code == 200
        # GET is not how bulk approve or claim is done
        assert client.get(BULK).status_code == 405


def test_the_done_tab_shows_the_outcome(login, leave, employee, dept_head) -> None:
    iid = _start(employee)
    task = open_task(iid)
    approvals.task_approve(task.pk, user=dept_head, data={"days": 2})
    html = _page(login(dept_head), "?tab=done")
    assert _task_ids(html) == [task.pk]
    assert "outcome-approved" in html and "Approved" in html
    assert _rows(login(dept_head), "?tab=todo") == []
    started = _page(login(employee), "?tab=started")
    assert 'class="tag status status-approved">Approved<' in started  # in words


def test_the_copied_tab_with_unread_first_marked_and_the_read_filter(
    login, leave, employee, dept_head, outsider
) -> None:
    first = _start(employee, title="First")
    second = _start(employee, title="Second")
    approvals.instance_copy(first, user=employee, recipients=["liuyang"], comment="FYI")
    approvals.instance_copy(second, user=employee, recipients=["liuyang"])
    approvals.copy_mark_read(second, user=outsider)
    client = login(outsider)
    html = _page(client, "?tab=copied")
    assert _rows(client, "?tab=copied") == ["Second", "First"]
    assert html.count("inbox-row kind-copy unread") == 1
    assert f'href="/workflow/instances/{first}/"' in html
    assert "Copied by 张伟" in html and "FYI" in html
    assert _rows(client, "?tab=copied&read=unread") == ["First"]
    assert _rows(client, "?tab=copied&read=read") == ["Second"]
    # the unread count on the tab
    counts = client.get(COUNTS).content.decode()
    assert re.search(r'data-testid="count-copied"[^>]*>1<', counts)


def test_a_candidate_task_appears_to_claim(login, employee, colleague, outsider) -> None:
    make_role("clerks", employee, colleague)
    deploy_steps(user_task("Check", groups="clerks"), key="check")
    iid = _start(outsider, "check", title="Check it")
    task = open_task(iid)
    html = _page(login(employee), "?tab=todo")
    assert _task_ids(html) == [task.pk]
    # no 认领 (issue 15): it opens to whoever opens it and is theirs once they act on it
    assert "To claim" not in html and "/workflow/inbox/claim/" not in html
    assert f'href="/workflow/tasks/{task.pk}/"' in html
    assert 'name="task"' not in html  # a candidate task is not bulk-approvable
    assert _rows(login(outsider), "?tab=todo") == []
    # someone who may not claim it: 404, and nothing changes
    assert login(outsider).post(f"/workflow/inbox/claim/{task.pk}/").status_code == 404
    assert login(outsider).post("/workflow/inbox/claim/999999/").status_code == 404
    # the candidate claims it
    client = login(employee)
    answer = client.post(f"/workflow/inbox/claim/{task.pk}/", {"back": "tab=todo"})
    assert answer.status_code == 302 and answer["Location"] == f"{INBOX}?tab=todo"
    assert Task.objects.get(pk=task.pk).assignee == "zhangwei"
    html = _page(client, "?tab=todo")
    assert "The task is yours now." in html
    assert "To claim" not in html
    # the other candidate no longer sees it, and claiming it now is refused with a message
    assert _rows(login(colleague), "?tab=todo") == []
    assert login(colleague).post(f"/workflow/inbox/claim/{task.pk}/").status_code == 404


@pytest.mark.parametrize("listed", [1000, 2, 0])
def test_what_a_person_may_claim_is_read_once_or_stays_a_condition(
    login, leave, employee, colleague, outsider, dept_head, listed, monkeypatch
) -> None:
    """The to-do page reads the tasks its person may claim once (its list, tab counts and
    process filter test their ids), up to ``CLAIMABLE_LISTED``; beyond, each keeps the
    candidacy condition. The page is the same either way, and a task claimed by someone
    else between that read and the list is not offered."""
    monkeypatch.setattr(inbox_reads, "CLAIMABLE_LISTED", listed)
    make_role("clerks", employee, colleague)
    deploy_steps(user_task("Check", groups="clerks"), key="check")
    checks = [open_task(_start(outsider, "check", title=f"Check {n}")) for n in range(3)]
    _start(employee)  # the leave: dept_head's, not the clerks'
    # a claimable step of another process, so that the filter's choices cover every task
    # to claim, listed or not
    deploy_steps(user_task("Count", groups="clerks"), key="count")
    _start(outsider, "count", title="Count it")
    keys, read = inbox_reads.inbox_process_keys(employee)
    assert {"check", "count"} <= keys
    count_task = Task.objects.get(definition_key="count")
    checks.append(count_task)
    if listed >= 4:
        assert sorted(read.ids or []) == sorted(task.pk for task in checks)
        assert read.keys == {"check", "count"}
    else:
        assert read.ids is None
    again = inbox_reads.claimable_read(employee)  # alone: the same tasks
    assert (again.ids is None) == (read.ids is None)
    assert sorted(again.ids or []) == sorted(read.ids or []) and again.keys <= keys
    html = _page(login(employee), "?tab=todo")
    assert sorted(_task_ids(html)) == sorted(task.pk for task in checks)
    assert 'value="check"' in html and 'value="count"' in html  # the process filter
    assert re.search(r'data-testid="count-todo"[^>]*>4<', html)
    # claimed by the colleague after the read: no longer offered, nor counted
    approvals.task_claim(checks[0].pk, user=colleague)
    left = sorted(task.pk for task in checks[1:])
    html = _page(login(employee), "?tab=todo")
    assert sorted(_task_ids(html)) == left
    assert re.search(r'data-testid="count-todo"[^>]*>3<', html)
    page = inbox_reads.inbox_page(employee, "todo", inbox_reads.InboxFilter(), claimable=read)
    assert sorted(row.pk for _kind, row in page.rows) == left
    assert inbox_reads.inbox_counts(employee, claimable=read)["todo"] == 3
    # nothing to claim: an empty read; the list and the counts hold the person's own task
    nothing = inbox_reads.claimable_read(dept_head)
    assert nothing == inbox_reads.Claimable([], frozenset())
    assert _rows(login(dept_head), "?tab=todo") == ["Leave 3 days"]
    page = inbox_reads.inbox_page(dept_head, "todo", inbox_reads.InboxFilter(), claimable=nothing)
    assert [row.instance.title for _kind, row in page.rows] == ["Leave 3 days"]
    assert inbox_reads.inbox_counts(dept_head, claimable=nothing)["todo"] == 1


def test_the_counts_and_the_process_filter_count_what_the_lists_list(
    leave, employee, colleague, dept_head
) -> None:
    """The tab counts and the process filter's keys are SQL of a fixed text (one query on
    every page); they count and name what the selectors behind the lists find: open tasks
    assigned, tasks to claim, open external tasks, unread copies, unread notifications;
    the processes of those, of the tasks completed and of the requests started."""
    make_role("clerks", dept_head, colleague)
    deploy_steps(user_task("Check", groups="clerks"), key="check")
    _start(employee, "check", title="Check it")  # one to claim
    first, second = _start(employee), _start(employee, title="Leave 2 days")
    approvals.task_approve(open_task(first).pk, user=dept_head, data={"days": 3})
    _start(dept_head, "check", title="Their own")  # started; a clerk's, not theirs to claim
    external.external_task_upsert(
        source="ERP",
        external_id="PO-1",
        assignee=dept_head.username,
        title="Purchase order PO-1",
        url="https://erp.example.com/po/1",
        source_updated_at=timezone.now(),
    )
    now = timezone.now()
    for instance_id, read_at in ((first, None), (second, now)):
        CarbonCopy.objects.create(
            instance_id=instance_id, user=dept_head, created_at=now, read_at=read_at
        )
    for read_at in (None, None, now):
        Notification.objects.create(recipient=dept_head, kind="other", title="x", read_at=read_at)

    counts = inbox_reads.inbox_counts(dept_head, notifications=True)
    todo = (
        inbox_reads.tasks_assigned(dept_head).count()
        + inbox_reads.tasks_claimable(dept_head).count()
        + inbox_reads.external_tasks_for(dept_head).count()
    )
    assert counts == {
        "todo": todo,
        "copied": copies_for(dept_head).filter(read_at__isnull=True).count(),
        "notifications": unread_notifications(dept_head).count(),
    }
    # the leave waiting for them, the check to claim, the PO; the engine's notices too
    assert (counts["todo"], counts["copied"]) == (3, 1) and counts["notifications"] >= 2
    keys, read = inbox_reads.inbox_process_keys(dept_head)
    listed = [
        inbox_reads.tasks_assigned(dept_head),
        inbox_reads.tasks_claimable(dept_head),
        inbox_reads.tasks_done(dept_head),
    ]
    expected = {key for rows in listed for key in rows.values_list("definition_key", flat=True)}
    expected |= set(instances_started(dept_head).values_list("definition_key", flat=True))
    assert keys == expected == {"leave", "check"}
    assert read == inbox_reads.claimable_read(dept_head)


def test_external_tasks_appear_beside_ours_with_a_link_out(
    login, leave, employee, dept_head
) -> None:
    _start(employee)
    external.external_task_upsert(
        source="ERP",
        external_id="PO-1",
        assignee="lina",
        title="Purchase order PO-1",
        url="https://erp.example.com/po/1",
        source_updated_at=timezone.now(),
        category="Purchase",
    )
    html = _page(login(dept_head), "?tab=todo")
    assert 'href="https://erp.example.com/po/1" target="_blank" rel="noopener noreferrer"' in html
    assert "From ERP" in html
    assert _rows(login(dept_head), "?tab=todo") == ["Purchase order PO-1 ", "Leave 3 days"]
    # a process filter leaves them out: they belong to no process
    assert _rows(login(dept_head), "?tab=todo&process=leave") == ["Leave 3 days"]
    assert _rows(login(employee), "?tab=todo") == []


# --- rows --------------------------------------------------------------------------------------


def test_a_row_shows_urgent_overdue_on_behalf_and_delegation(
    login, leave, employee, colleague, dept_head
) -> None:
    iid = _start(employee)
    task = open_task(iid)
    past = timezone.now() - datetime.timedelta(days=1)
    Task.objects.filter(pk=task.pk).update(priority=80, due_at=past, on_behalf_of="wangfang")
    html = _page(login(dept_head), "?tab=todo")
    assert "Urgent" in html and "Overdue" in html and "due late" in html
    assert "On behalf of 王芳" in html
    approvals.task_delegate(task.pk, user=dept_head, to="wangfang")
    html = _page(login(colleague), "?tab=todo")
    assert "Delegated by 李娜" in html
    assert 'name="task"' not in html  # the delegate hands it back, never approves


def test_a_task_whose_form_needs_input_has_no_check_box(login, employee, dept_head) -> None:
    deploy_steps(
        user_task("Approve", assignee="${manager(initiator)}", fields=REQUIRED_REASON),
        key="reasoned",
    )
    deploy_steps(
        user_task("Approve", assignee="${manager(initiator)}", fields=DAYS_WITH_DEFAULT),
        key="leave",
    )
    needs = open_task(_start(employee, "reasoned", title="Needs"))
    ready = open_task(_start(employee, "leave", title="Ready"))
    html = _page(login(dept_head), "?tab=todo")
    assert f'name="task" value="{ready.pk}"' in html
    assert f'name="task" value="{needs.pk}"' not in html
    assert "Approve selected" in html


# --- filters, search, sort ---------------------------------------------------------------------


@pytest.fixture
def three(leave, employee, colleague, dept_head) -> dict[str, int]:
    """Three tasks for 李娜: an old one, an urgent one, an overdue one of another process."""
    deploy_steps(user_task("Sign", assignee="${manager(initiator)}"), key="purchase")
    ids = {
        "old": open_task(_start(employee, title="Old leave", business_key="BK-001")).pk,
        "urgent": open_task(_start(colleague, title="Urgent leave")).pk,
        "late": open_task(_start(employee, "purchase", title="Laptop")).pk,
    }
    now = timezone.now()
    Task.objects.filter(pk=ids["old"]).update(created_at=now - datetime.timedelta(days=10))
    Task.objects.filter(pk=ids["urgent"]).update(
        priority=90, due_at=now + datetime.timedelta(days=3)
    )
    Task.objects.filter(pk=ids["late"]).update(due_at=now - datetime.timedelta(hours=2))
    return ids


def test_filters(login, three, dept_head) -> None:
    client = login(dept_head)
    assert _rows(client) == ["Urgent leave", "Laptop", "Old leave"]
    assert _rows(client, "?process=purchase") == ["Laptop"]
    assert _rows(client, "?urgent=on") == ["Urgent leave"]
    assert _rows(client, "?overdue=on") == ["Laptop"]
    today = timezone.localdate()
    assert _rows(client, f"?since={today.isoformat()}") == ["Urgent leave", "Laptop"]
    old = (today - datetime.timedelta(days=10)).isoformat()
    assert _rows(client, f"?since={old}&until={old}") == ["Old leave"]
    # the process choices are the processes of this person's inbox
    html = _page(client)
    assert '<option value="purchase">' in html and '<option value="leave">' in html


def test_search_by_title_business_key_initiator_and_step(login, three, dept_head) -> None:
    client = login(dept_head)
    assert _rows(client, "?q=laptop") == ["Laptop"]
    assert _rows(client, "?q=BK-001") == ["Old leave"]
    assert _rows(client, "?q=王芳") == ["Urgent leave"]
    assert _rows(client, "?q=张") == ["Laptop", "Old leave"]
    assert _rows(client, "?q=Sign step") == ["Laptop"]
    html = _page(client, "?q=nothing-like-this")
    assert "Nothing matches these filters." in html


def test_sort(login, three, dept_head) -> None:
    client = login(dept_head)
    # 加急 first whatever the sort, then the others in its order
    assert _rows(client, "?sort=new") == ["Urgent leave", "Laptop", "Old leave"]
    assert _rows(client, "?sort=old") == ["Urgent leave", "Old leave", "Laptop"]
    # due soonest; tasks without a due date last
    assert _rows(client, "?sort=due") == ["Urgent leave", "Laptop", "Old leave"]


def test_bad_filters_get_a_message_and_are_ignored(login, three, dept_head) -> None:
    client = login(dept_head)
    html = _page(client, "?since=yesterday&sort=sideways&tab=nowhere")
    assert "Enter a valid date." in html
    assert "Select a valid choice." in html
    assert _rows(client, "?since=yesterday") == ["Urgent leave", "Laptop", "Old leave"]
    html = _page(client, "?since=2025-02-01&until=2025-01-01")
    assert "The end date is before the start date." in html
    html = _page(client, "?cursor=not-a-cursor")
    assert "This link to the next page is broken" in html
    assert len(_task_ids(html)) == 3


def test_filters_are_kept_across_tabs(login, three, dept_head) -> None:
    html = _page(login(dept_head), "?q=leave&process=leave&overdue=on")
    assert "/workflow/inbox/?tab=done&amp;process=leave&amp;overdue=on&amp;q=leave" in html


# --- keyset pages ------------------------------------------------------------------------------


def _all_pages(client: Client, query: str) -> list[int]:
    seen: list[int] = []
    url = INBOX + query
    for _page_number in range(10):
        html = client.get(url).content.decode()
        seen += _task_ids(html)
        more = re.search(r'<li class="more".*?href="([^"]+)"', html, re.S)
        if not more:
            return seen
        url = more.group(1).replace("&amp;", "&")
    raise AssertionError("too many pages")


@pytest.mark.parametrize("sort", ["new", "old", "due"])
def test_keyset_pages_neither_repeat_nor_skip(login, leave, employee, dept_head, sort) -> None:
    ids = [open_task(_start(employee, title=f"Leave {n}")).pk for n in range(45)]
    same = timezone.now() - datetime.timedelta(hours=1)
    # ties on the sort key: the id decides
    Task.objects.filter(pk__in=ids[:30]).update(created_at=same)
    Task.objects.filter(pk__in=ids[10:20]).update(due_at=same)
    Task.objects.filter(pk__in=ids[20:25]).update(due_at=same + datetime.timedelta(hours=5))
    external.external_task_upsert(
        source="HR",
        external_id="x",
        assignee="lina",
        title="Badge",
        url="https://hr.example.com/x",
        source_updated_at=timezone.now(),
    )
    pages = _all_pages(login(dept_head), f"?tab=todo&sort={sort}")
    assert sorted(pages) == sorted(ids)
    assert len(pages) == 45
    expected = list(
        Task.objects.filter(pk__in=ids)
        .order_by(
            *{
                "new": ["-created_at", "-pk"],
                "old": ["created_at", "pk"],
                "due": ["due_at", "pk"],  # SQLite and PostgreSQL differ on nulls: see below
            }[sort]
        )
        .values_list("pk", flat=True)
    )
    if sort == "due":
        with_due = [pk for pk in expected if Task.objects.get(pk=pk).due_at is not None]
        expected = with_due + sorted(pk for pk in ids if pk not in with_due)
    assert pages == expected


def test_load_more_with_htmx_answers_only_the_next_rows(login, leave, employee, dept_head) -> None:
    for n in range(22):
        _start(employee, title=f"Leave {n}")
    client = login(dept_head)
    html = _page(client)
    more = re.search(r'<li class="more".*?href="([^"]+)"', html, re.S)
    assert more
    answer = client.get(more.group(1).replace("&amp;", "&"), HTTP_HX_REQUEST="true")
    body = answer.content.decode()
    assert "<html" not in body and "inbox-list" not in body
    assert len(_task_ids(body)) == 2
    assert 'class="more"' not in body


def test_a_filter_change_with_htmx_answers_the_list_and_the_tabs(login, three, dept_head) -> None:
    answer = login(dept_head).get(INBOX + "?q=laptop", HTTP_HX_REQUEST="true")
    body = answer.content.decode()
    assert "<html" not in body
    assert 'id="inbox-list"' in body
    assert 'hx-swap-oob="true"' in body  # the tab links, with the filters
    assert _task_ids(body) == [three["late"]]


# --- counts ------------------------------------------------------------------------------------


def test_counts_on_the_tabs_and_the_navigation(login, leave, employee, dept_head) -> None:
    _start(employee)
    _start(employee)
    client = login(dept_head)
    counts = client.get(COUNTS + "?tab=todo").content.decode()
    assert re.search(r'data-testid="count-todo"[^>]*>2<', counts)
    assert 'hx-trigger="every 30s, inbox-changed from:body"' in counts
    badge = client.get(BADGE).content.decode()
    assert re.search(r'data-testid="inbox-badge"[^>]*>2<', badge)
    # the inbox and the 工作台 read the count already: the navigation shows it in the page
    # and polls it, without loading it again; another page has its badge load itself
    for page in (_page(client), _page(client, "?tab=started"), client.get("/").content.decode()):
        nav = re.search(r'<span id="inbox-badge"[^>]*>[^<]*</span>', page)
        assert nav is not None and re.search(r'data-testid="inbox-badge"[^>]*>2<', nav[0])
        assert 'hx-trigger="every 30s, inbox-changed from:body"' in nav[0]
        assert page.count('<span id="inbox-badge"') == 1
    catalogue = client.get("/workflow/processes/").content.decode()
    loads = r'id="inbox-badge" hx-get="/workflow/inbox/badge/" hx-trigger="load, '
    assert re.search(loads, catalogue)
    # nothing to do: no number, in the badge and in the page
    assert "data-testid" not in login(employee).get(BADGE).content.decode()
    assert 'data-testid="inbox-badge"' not in _page(login(employee))


def test_counts_stop_at_99_plus(login, leave, employee, dept_head) -> None:
    iid = _start(employee)
    task = open_task(iid)
    now = timezone.now()
    Task.objects.bulk_create(
        Task(
            instance_id=iid,
            execution=task.execution,
            definition_key="leave",
            element_id="Approve",
            name="Approve step",
            assignee="lina",
            created_at=now,
        )
        for _n in range(120)
    )
    client = login(dept_head)
    assert re.search(r'data-testid="count-todo"[^>]*>99\+<', client.get(COUNTS).content.decode())
    assert re.search(r'data-testid="inbox-badge"[^>]*>99\+<', client.get(BADGE).content.decode())


# --- bulk approve ------------------------------------------------------------------------------


def _bulk(client: Client, *ids: int | str, confirmed: bool = True, **extra: Any) -> Any:
    body: dict[str, Any] = {"task": [str(i) for i in ids], "back": "tab=todo"}
    if confirmed:
        body["confirmed"] = "1"
    return client.post(BULK, body, **extra)


def _messages(client: Client) -> str:
    return client.get(INBOX).content.decode()


def test_bulk_approve(login, leave, employee, colleague, dept_head) -> None:
    first = open_task(_start(employee))
    second = open_task(_start(colleague))
    client = login(dept_head)
    answer = _bulk(client, first.pk, second.pk)
    assert answer.status_code == 302 and answer["Location"] == f"{INBOX}?tab=todo"
    for task in (first, second):
        done = Task.objects.get(pk=task.pk)
        assert (done.state, done.completed_by, done.outcome) == ("completed", "lina", "approved")
        assert done.data == {"days": 1}  # the form's default was submitted
    assert ProcessInstance.objects.get(pk=first.instance_id).state == "completed"
    assert "2 tasks approved." in _messages(client)


def test_bulk_approve_without_javascript_asks_first(login, leave, employee, dept_head) -> None:
    task = open_task(_start(employee))
    client = login(dept_head)
    answer = _bulk(client, task.pk, confirmed=False)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Approve this task with the values its form shows now?" in html
    assert 'name="confirmed" value="1"' in html
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN


def _opinion(client: Client, comment: str, *ids: int, confirmed: bool = True) -> Any:
    """Bulk approve with the dialog's one shared opinion (审批意见)."""
    body: dict[str, Any] = {"task": [str(i) for i in ids], "back": "tab=todo", "comment": comment}
    if confirmed:
        body["confirmed"] = "1"
    return client.post(BULK, body)


def test_bulk_approve_gives_every_approval_the_one_opinion(
    login, leave, employee, colleague, dept_head
) -> None:
    first = open_task(_start(employee))
    second = open_task(_start(colleague))
    _opinion(login(dept_head), "  情况属实，同意。 ", first.pk, second.pk)
    for task in (first, second):
        done = HistoryEvent.objects.get(task_id=task.pk, kind="task-completed")
        assert done.data == {"comment": "情况属实，同意。"}


def test_bulk_approve_without_javascript_keeps_the_opinion_to_confirm(
    login, leave, employee, dept_head
) -> None:
    task = open_task(_start(employee))
    html = _opinion(login(dept_head), "同意", task.pk, confirmed=False).content.decode()
    assert 'name="comment"' in html and "同意</textarea>" in html
    assert 'class="chip"' in html  # the 常用语, one tap away here too
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN


def test_bulk_approve_refuses_an_overlong_opinion(login, leave, employee, dept_head) -> None:
    task = open_task(_start(employee))
    client = login(dept_head)
    _opinion(client, "长" * 4001, task.pk)
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN
    assert "at most 4000 characters" in _messages(client)


def test_the_inbox_has_the_bulk_dialog_not_the_browsers_confirm(
    login, leave, employee, dept_head
) -> None:
    open_task(_start(employee))
    html = login(dept_head).get(INBOX).content.decode()
    assert 'id="bulk-dialog"' in html and "hx-confirm" not in html
    assert 'name="comment" form="bulk-form"' in html
    assert 'name="confirmed" value="1" form="bulk-form" disabled' in html


def test_bulk_approve_with_htmx_answers_the_list_and_tells_the_counts(
    login, leave, employee, dept_head
) -> None:
    task = open_task(_start(employee))
    answer = _bulk(login(dept_head), task.pk, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert answer["HX-Trigger"] == "inbox-changed"
    body = answer.content.decode()
    assert "1 task approved." in body
    assert "Nothing to do." in body
    assert 'hx-swap-oob="true"' in body


def test_bulk_approve_reports_the_tasks_that_fail(login, leave, employee, dept_head) -> None:
    # after "Approve" the gateway finds no way on: the engine refuses, nothing of it changes
    deploy_body(
        '<startEvent id="start"/>'
        + user_task("Approve", assignee="${manager(initiator)}")
        + '<exclusiveGateway id="gw"/><endEvent id="end"/>'
        + flow("start", "Approve")
        + flow("Approve", "gw")
        + flow("gw", "end", "${!approved}"),
        key="broken",
    )
    good = open_task(_start(employee))
    bad = open_task(_start(employee, "broken", title="Broken one"))
    client = login(dept_head)
    _bulk(client, good.pk, bad.pk)
    assert Task.objects.get(pk=good.pk).state == "completed"
    assert Task.objects.get(pk=bad.pk).state == "open"
    html = _messages(client)
    assert "1 task approved." in html
    assert "1 could not be approved: Broken one · Approve step:" in html


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5"])
def test_bulk_approve_refuses_a_bad_id_and_changes_nothing(
    login, leave, employee, dept_head, bad
) -> None:
    task = open_task(_start(employee))
    client = login(dept_head)
    _bulk(client, task.pk, bad)
    assert Task.objects.get(pk=task.pk).state == "open"
    assert "The selection is not valid; nothing was approved." in _messages(client)


def test_bulk_approve_refuses_someone_elses_task_and_changes_nothing(
    login, leave, employee, colleague, dept_head, outsider, admin
) -> None:
    mine = open_task(_start(employee))
    # the outsider, the initiator and an administrator cannot approve 李娜's task
    for persona in (outsider, employee, admin):
        client = login(persona)
        _bulk(client, mine.pk)
        assert Task.objects.get(pk=mine.pk).state == "open"
        assert f"Task {mine.pk} is not in your to-do list" in _messages(client)
    # a known task and an unknown id: nothing is approved
    client = login(dept_head)
    _bulk(client, mine.pk, 999999)
    assert Task.objects.get(pk=mine.pk).state == "open"
    assert "Nothing was approved." in _messages(client)


def test_bulk_approve_refuses_a_task_that_needs_input(login, employee, dept_head) -> None:
    deploy_steps(
        user_task("Approve", assignee="${manager(initiator)}", fields=REQUIRED_REASON),
        key="reasoned",
    )
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"), key="plain")
    needs = open_task(_start(employee, "reasoned", title="Needs a reason"))
    plain = open_task(_start(employee, "plain", title="Plain"))
    client = login(dept_head)
    _bulk(client, plain.pk, needs.pk)
    assert Task.objects.get(pk=needs.pk).state == "open"
    assert Task.objects.get(pk=plain.pk).state == "open"
    assert "Needs a reason · Approve step needs input on its form" in _messages(client)


def test_bulk_approve_refuses_a_candidate_task(login, employee, colleague, outsider) -> None:
    make_role("clerks", employee, colleague)
    deploy_steps(user_task("Check", groups="clerks"), key="check")
    task = open_task(_start(outsider, "check"))
    client = login(employee)
    _bulk(client, task.pk)
    assert Task.objects.get(pk=task.pk).state == "open"
    assert Task.objects.get(pk=task.pk).assignee == ""


def test_bulk_approve_needs_a_selection(login, dept_head) -> None:
    client = login(dept_head)
    _bulk(client)
    assert "Select the tasks to approve first." in _messages(client)


def test_bulk_approve_needs_the_csrf_token(leave, employee, dept_head) -> None:
    task = open_task(_start(employee))
    client = Client(enforce_csrf_checks=True)
    client.force_login(dept_head, backend="portal.backends.UsernameOrEmployeeNoBackend")
    answer = _bulk(client, task.pk)
    assert answer.status_code == 403
    assert Task.objects.get(pk=task.pk).state == "open"
    assert client.post(f"/workflow/inbox/claim/{task.pk}/").status_code == 403


# --- speed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("tab", ["todo", "done", "started", "copied"])
def test_the_page_does_not_query_per_row(
    login, leave, employee, colleague, dept_head, django_assert_max_num_queries, tab
) -> None:
    make_role("leads", dept_head)
    deploy_steps(user_task("Check", groups="leads"), key="check")
    for n in range(12):
        iid = _start(employee if n % 2 else colleague, title=f"Leave {n}")
        if tab == "done":
            approvals.task_approve(open_task(iid).pk, user=dept_head, data={"days": 1})
        _start(colleague, "check", title=f"Check {n}")
        approvals.instance_copy(iid, user=employee if n % 2 else colleague, recipients=["lina"])
    if tab in ("started", "copied"):
        # ended requests too, one rejected by its diagram (approved false): how each ended is
        # read for the page at once, not from each one's variables (a query per row before)
        for n, instance in enumerate(
            ProcessInstance.objects.filter(initiator="zhangwei").order_by("pk")[:4]
        ):
            ProcessInstance.objects.filter(pk=instance.pk).update(
                state="completed",
                ended_at=timezone.now(),
                variables={**instance.variables, "approved": n != 1},
            )
    viewer = dept_head if tab != "started" else employee
    client = login(viewer)
    assert len(_rows(client, f"?tab={tab}")) >= 6
    # 22 before issue 16: the session, the person, the process filter's keys, the page's
    # rows (待办: every task source in one query, and other systems' tasks), the processes'
    # names, people's names, the steps (我发起的 / 抄送我的: holders, their executions),
    # the tab and bell counts, the saved phrases (待办), the navigation's permissions
    with django_assert_max_num_queries(10):
        response = client.get(f"{INBOX}?tab={tab}")
    # and the page is the one it was: the right rows, each with its own link
    html = response.content.decode()
    titles = re.findall(r'data-testid="row">.*?class="title"[^>]*>([^<]+)', html, re.S)
    leaves = {f"Leave {n}" for n in range(12)}
    if tab == "todo":  # 24 tasks, a leave then a check each time: the newest 20
        assert titles == [f"{what} {n}" for n in range(11, 1, -1) for what in ("Check", "Leave")]
        open_ids = set(Task.objects.filter(state=TaskState.OPEN).values_list("pk", flat=True))
        assert len(set(_task_ids(html))) == 20 and set(_task_ids(html)) <= open_ids
        assert html.count('name="task"') == 10  # my leaves, approvable at once; not the checks
    elif tab == "done":
        assert sorted(titles) == sorted(leaves)
        done = Task.objects.filter(completed_by=dept_head.username).values_list("pk", flat=True)
        assert set(_task_ids(html)) == set(done)
    elif tab == "started":
        assert sorted(titles) == sorted(f"Leave {n}" for n in range(1, 12, 2))
        assert html.count("status-rejected") == 1 and html.count("status-approved") == 3
    else:
        assert sorted(titles) == sorted(leaves)
        assert html.count("status-rejected") == 1 and html.count("status-approved") == 3
        copied = CarbonCopy.objects.filter(user=dept_head).values_list("instance_id", flat=True)
        assert set(map(int, re.findall(r'href="/workflow/instances/(\d+)/"', html))) == set(copied)
    # the session, the person, and one for the four counts (roles and departments in it)
    with django_assert_max_num_queries(3):
        client.get(COUNTS)


def test_the_copy_is_read_on_the_instance_page_not_here(login, leave, employee, outsider) -> None:
    iid = _start(employee)
    approvals.instance_copy(iid, user=employee, recipients=["liuyang"])
    _page(login(outsider), "?tab=copied")
    assert CarbonCopy.objects.get(instance_id=iid).read_at is None
