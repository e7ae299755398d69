"""The workflow's boxes on the 工作台 (workflow/selectors/home.py, workflow/portlets.py):
my to-dos (top 5, urgent first) with the inbox's counts, my requests with their status in
words, unread copies, quick starts from my own starts (else everybody's), all in the first
response and in a number of queries that does not grow with a person's history."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.models import User
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task
from workflow.models import CarbonCopy, ProcessInstance
from workflow.selectors import home
from workflow.services import approvals

pytestmark = pytest.mark.django_db


@pytest.fixture
def processes(employee: User, dept_head: User) -> None:
    User.objects.update(preferred_language="en")  # the pages in English, as read here
    deploy_steps(user_task("A", assignee="lina"), key="leave")
    deploy_steps(user_task("X", assignee="lina"), key="expense")


def started(user: User, key: str, title: str, minutes_ago: int) -> int:
    instance_id = start(user, key)
    ProcessInstance.objects.filter(pk=instance_id).update(
        title=title, started_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )
    return instance_id


def box(html: str, key: str) -> str:
    found = re.search(rf'id="portlet-{key}">(.*?)</section>', html, re.S)
    assert found is not None, key
    return found.group(1)


def titles(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", t).strip()
        for t in re.findall(r'<a class="hometitle"[^>]*>(.*?)</a>', html, re.S)
    ]


def test_todos_show_the_top_five_urgent_first_with_the_counts(
    login: Callable[[User], Client], processes: None, employee: User, dept_head: User
) -> None:
    ids = [started(employee, "leave", f"请假 {n}", minutes_ago=100 - n) for n in range(7)]
    ProcessInstance.objects.filter(pk=ids[0]).update(urgent=True)  # the oldest, but urgent
    html = login(dept_head).get("/").content.decode()
    todo = box(html, "workflow-todo")
    assert titles(todo) == ["Urgent请假 0", "请假 6", "请假 5", "请假 4", "请假 3"]
    assert 'data-count="todo">7<' in todo
    assert 'data-count="copied">0<' in todo
    assert "Loading" not in html


def test_my_requests_show_their_status_in_words(
    login: Callable[[User], Client], processes: None, employee: User, dept_head: User
) -> None:
    running = started(employee, "leave", "年假三天", minutes_ago=30)
    done = started(employee, "expense", "差旅报销", minutes_ago=20)
    approvals.task_approve(open_task(done).pk, user=dept_head)
    html = login(employee).get("/").content.decode()
    mine = box(html, "workflow-requests")
    rows = re.findall(
        r'<a class="hometitle"[^>]*>(.*?)</a>\s*'
        r'<span class="tag status status-(\w+)">([^<]+)</span>',
        mine,
    )
    assert rows == [("差旅报销", "approved", "Approved"), ("年假三天", "running", "In approval")]
    assert f'href="/workflow/instances/{running}/"' in mine
    todo = box(html, "workflow-todo")
    assert 'data-count="running">1<' in todo  # my requests in approval


def test_unread_copies_only(
    login: Callable[[User], Client], processes: None, employee: User, dept_head: User
) -> None:
    first = started(employee, "leave", "抄送一", minutes_ago=30)
    second = started(employee, "leave", "抄送二", minutes_ago=20)
    third = started(employee, "leave", "已读的", minutes_ago=10)
    now = timezone.now()
    for n, instance_id in enumerate((first, second, third)):
        CarbonCopy.objects.create(
            instance_id=instance_id,
            user=dept_head,
            sent_by="zhangwei",
            created_at=now - datetime.timedelta(minutes=10 - n),
            read_at=now if instance_id == third else None,
        )
    html = login(dept_head).get("/").content.decode()
    copies = box(html, "workflow-copies")
    assert titles(copies) == ["抄送二", "抄送一"]
    assert "copied by 张伟" in copies
    assert 'data-count="copied">2<' in box(html, "workflow-todo")


def test_quick_starts_come_from_my_own_starts_else_everybodys(
    login: Callable[[User], Client],
    processes: None,
    employee: User,
    colleague: User,
    dept_head: User,
) -> None:
    deploy_steps(user_task("P", assignee="lina"), key="purchase")
    for n in range(3):
        started(employee, "expense", f"报销 {n}", minutes_ago=50 + n)
    started(employee, "leave", "请假", minutes_ago=10)
    for n in range(4):
        started(dept_head, "purchase", f"采购 {n}", minutes_ago=5 + n)
    processes_, personal = home.quick_starts(employee)
    assert [p.key for p in processes_] == ["expense", "leave", "purchase"]
    assert personal
    others, personal = home.quick_starts(colleague)  # started nothing: the company's
    assert [p.key for p in others] == ["purchase", "expense", "leave"]
    assert not personal
    html = login(employee).get("/").content.decode()
    quick = box(html, "workflow-quick-start")
    links = re.findall(r'class="quickstart" href="([^"]+)"', quick)
    assert links == [
        "/workflow/processes/expense/start/",
        "/workflow/processes/leave/start/",
        "/workflow/processes/purchase/start/",
    ]
    assert 'href="#picon-' in quick and 'id="picon-money"' in quick


def test_quick_starts_of_as_many_starts_put_the_one_started_last_first(
    processes: None, employee: User, colleague: User
) -> None:
    for minutes_ago in (30, 5):
        started(employee, "expense", "报销", minutes_ago=minutes_ago)
    for minutes_ago in (20, 10):
        started(employee, "leave", "请假", minutes_ago=minutes_ago)
    assert [p.key for p in home.quick_starts(employee)[0]][:2] == ["expense", "leave"]
    started(employee, "leave", "请假", minutes_ago=1)  # one more, and the latest
    assert [p.key for p in home.quick_starts(employee)[0]][:2] == ["leave", "expense"]
    # the company's, for someone who started nothing: counted the same way
    assert [p.key for p in home.quick_starts(colleague)[0]][:2] == ["leave", "expense"]


def dashboard_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_the_dashboard_does_not_query_per_row(
    login: Callable[[User], Client], processes: None, employee: User, dept_head: User
) -> None:
    client = login(dept_head)
    for n in range(2):
        instance_id = started(employee, "leave", f"请假 {n}", minutes_ago=n)
        started(dept_head, "expense", f"报销 {n}", minutes_ago=n)
        CarbonCopy.objects.create(
            instance_id=instance_id, user=dept_head, sent_by="zhangwei", created_at=timezone.now()
        )
    dashboard_queries(client)  # warm the per-process caches (parsed diagrams)
    few = dashboard_queries(client)
    for n in range(8):
        instance_id = started(employee, "leave", f"更多 {n}", minutes_ago=n)
        started(dept_head, "expense", f"更多报销 {n}", minutes_ago=n)
        CarbonCopy.objects.create(
            instance_id=instance_id, user=dept_head, sent_by="zhangwei", created_at=timezone.now()
        )
    many = dashboard_queries(client)
    assert many == few
    # the shell's 5, the to-dos and counts 14, quick starts 5, requests 3, copies 3, then
    # the announcements and the profile (tests/portal/test_views.py)
    assert many <= 40
