"""The monitoring console's pages (workflow/views/console.py): who may use them, the instance
list's filters and keyset pages, administrators' actions singly and in bulk, incidents and
their retry, the job queue's health, the statistics page."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import Department, User
from tests.factories import UserFactory
from tests.workflow.approval_helpers import (
    deploy_steps,
    instance,
    live,
    make_admin,
    open_task,
    start,
    user_task,
)
from tests.workflow.conftest import RecordingApps
from tests.workflow.engine_helpers import chain
from workflow.applications import ApplicationError
from workflow.models import Incident, Job, JobKind, ProcessInstance, Task
from workflow.selectors import statistics
from workflow.services import approvals, definitions, engine, jobs

pytestmark = pytest.mark.django_db

CONSOLE = "/workflow/console/"
ACTIONS = "/workflow/console/actions/"
INCIDENTS = "/workflow/console/incidents/"
RETRY = "/workflow/console/incidents/retry/"
JOBS = "/workflow/console/jobs/"
STATISTICS = "/workflow/console/statistics/"

FORBIDDEN = ["employee", "colleague", "outsider", "dept_head", "hr_admin"]
ALLOWED = ["admin", "superuser"]
# a query of the action chooser (typed: mypy infers a mixed dict display as dict[str, object])
Query = dict[str, str | int | list[int]]


@pytest.fixture
def admin(org: dict[str, Department]) -> User:
    """徐刚, a process administrator (the permission workflow.manage_processes); his pages
    in English, as these tests read them."""
    user = UserFactory.create(
        username="xugang",
        first_name="刚",
        last_name="徐",
        department=org["root"],
        preferred_language="en",
    )
    return make_admin(user)


def three_steps() -> None:
    deploy_steps(
        user_task("A", assignee="lina"),
        user_task("B", assignee="wangfang"),
        user_task("C", assignee="liuyang"),
    )


def as_persona(
    request: pytest.FixtureRequest, login: Callable[[User], Client], persona: str
) -> Client:
    if persona == "anonymous":
        return Client()
    return login(request.getfixturevalue(persona))


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def follow_messages(client: Any, response: Any) -> str:
    page = client.get(response["Location"])
    return page.content.decode()


# --- who may use the console ------------------------------------------------------------------


@pytest.fixture
def running(employee: User, dept_head: User, colleague: User, outsider: User) -> int:
    three_steps()
    return start(employee)


@pytest.mark.parametrize("url", [CONSOLE, INCIDENTS, JOBS, STATISTICS])
def test_anonymous_is_sent_to_login(client: Any, url: str, running: int) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("persona", FORBIDDEN)
@pytest.mark.parametrize("url", [CONSOLE, INCIDENTS, JOBS, STATISTICS, ACTIONS + "?ids=1"])
def test_other_people_get_403(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    hr_admin: User,
    running: int,
    persona: str,
    url: str,
) -> None:
    client = as_persona(request, login, persona)
    assert client.get(url.replace("ids=1", f"ids={running}")).status_code == 403


@pytest.mark.parametrize("persona", ALLOWED)
@pytest.mark.parametrize("url", [CONSOLE, INCIDENTS, JOBS, STATISTICS])
def test_administrators_see_every_page(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    admin: User,
    running: int,
    persona: str,
    url: str,
) -> None:
    client = as_persona(request, login, persona)
    response = client.get(url)
    assert response.status_code == 200
    assert 'class="tabs console-tabs"' in response.content.decode()


@pytest.mark.parametrize("persona", ALLOWED)
def test_administrators_get_the_action_confirmation(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    admin: User,
    running: int,
    persona: str,
) -> None:
    client = as_persona(request, login, persona)
    query: Query = {"ids": running, "action": "move"}
    response = client.get(ACTIONS, query)
    assert response.status_code == 200
    html = response.content.decode()
    # the chooser offers the version's main-flow steps
    for step in ("A step (A)", "B step (B)", "C step (C)"):
        assert step in html
    assert 'name="csrfmiddlewaretoken"' in html


@pytest.mark.parametrize("persona", ["anonymous", *FORBIDDEN])
def test_posts_by_others_change_nothing(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    hr_admin: User,
    running: int,
    persona: str,
) -> None:
    client = as_persona(request, login, persona)
    response = client.post(ACTIONS, {"ids": running, "action": "suspend", "reason": "x"})
    assert response.status_code == (302 if persona == "anonymous" else 403)
    assert instance(running).state == "active"
    response = client.post(RETRY, {"ids": "1"})
    assert response.status_code == (302 if persona == "anonymous" else 403)


@pytest.mark.parametrize("persona", ALLOWED)
def test_administrators_may_post(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    admin: User,
    running: int,
    persona: str,
) -> None:
    client = as_persona(request, login, persona)
    response = client.post(ACTIONS, {"ids": running, "action": "suspend", "reason": "audit"})
    assert response.status_code == 303
    assert instance(running).state == "suspended"


def test_non_admin_does_not_see_the_console_in_the_navigation(
    login: Callable[[User], Client], employee: User, admin: User
) -> None:
    assert CONSOLE not in login(employee).get("/").content.decode()
    assert CONSOLE in login(admin).get("/").content.decode()


# --- the instance list ---------------------------------------------------------------------------


def row_ids(response: Any) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="ids" value="(\d+)"', response.content.decode())]


@pytest.fixture
def population(employee: User, colleague: User, outsider: User, dept_head: User) -> dict[str, int]:
    three_steps()
    now = timezone.now()
    ids = {
        "emp_old": engine.instance_start(
            "leave", initiator=employee, business_key="BK-001", title="年假 5 天"
        ),
        "col_new": engine.instance_start(
            "leave", initiator=colleague, business_key="BK-002", title="Sick leave"
        ),
        "out_mid": engine.instance_start(
            "leave", initiator=outsider, business_key="FIN-9", title="Travel"
        ),
    }
    ProcessInstance.objects.filter(pk=ids["emp_old"]).update(
        started_at=now - datetime.timedelta(days=40)
    )
    ProcessInstance.objects.filter(pk=ids["out_mid"]).update(
        started_at=now - datetime.timedelta(days=10)
    )
    deploy_steps(user_task("A", assignee="lina"), key="expense")
    ids["expense"] = engine.instance_start("expense", initiator=employee, title="Taxi")
    return ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["expense", "col_new", "out_mid", "emp_old"]),
        ({"key": "expense"}, ["expense"]),
        ({"key": "leave", "version": "1"}, ["col_new", "out_mid", "emp_old"]),
        ({"version": "2"}, []),
        ({"state": "suspended"}, []),
        ({"older_than_days": "30"}, ["emp_old"]),
        ({"older_than_days": "5"}, ["out_mid", "emp_old"]),
        ({"initiator": "wangfang"}, ["col_new"]),
        ({"initiator": "张伟"}, ["expense", "emp_old"]),
        ({"initiator": "伟"}, ["expense", "emp_old"]),  # a part of the name
        ({"initiator": "WANGF"}, ["col_new"]),  # a part of the user name, case aside
        ({"initiator": "芳 王"}, ["col_new"]),  # given name first
        ({"initiator": "nobody"}, []),
        ({"q": "BK-"}, ["col_new", "emp_old"]),
        ({"q": "sick"}, ["col_new"]),
    ],
)
def test_filters(
    login: Callable[[User], Client],
    admin: User,
    population: dict[str, int],
    query: dict[str, str],
    expected: list[str],
) -> None:
    response = login(admin).get(CONSOLE, query)
    assert response.status_code == 200
    assert row_ids(response) == [population[name] for name in expected]


@pytest.mark.parametrize("listed", [5000, 1])
def test_filter_by_department_takes_sub_departments(
    login: Callable[[User], Client],
    admin: User,
    org: dict[str, Department],
    population: dict[str, int],
    listed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same rows whether the department's people are named as a list or, beyond
    ``DEPARTMENT_LISTED``, by a subquery."""
    monkeypatch.setattr(statistics, "DEPARTMENT_LISTED", listed)
    client = login(admin)
    sales = row_ids(client.get(CONSOLE, {"department": org["sales"].pk}))
    assert sales == [population[n] for n in ("expense", "col_new", "emp_old")]
    finance = row_ids(client.get(CONSOLE, {"department": org["finance"].pk}))
    assert finance == [population["out_mid"]]


def test_filter_by_dates_and_bad_filters(
    login: Callable[[User], Client], admin: User, population: dict[str, int]
) -> None:
    client = login(admin)
    today = timezone.localdate()
    before = (today - datetime.timedelta(days=20)).isoformat()
    assert row_ids(client.get(CONSOLE, {"started_before": before})) == [population["emp_old"]]
    after = (today - datetime.timedelta(days=15)).isoformat()
    assert row_ids(client.get(CONSOLE, {"started_after": after})) == [
        population[n] for n in ("expense", "col_new", "out_mid")
    ]
    # bad input: a clear message, the bad field filters nothing
    response = client.get(CONSOLE, {"older_than_days": "-3", "state": "nonsense"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 0." in html
    assert "Select a valid choice." in html
    assert len(row_ids(response)) == 4
    response = client.get(CONSOLE, {"started_after": after, "started_before": before})
    assert "The end of the range is before its start." in response.content.decode()


def test_rows_show_state_steps_holders_and_incidents(
    login: Callable[[User], Client], admin: User, population: dict[str, int]
) -> None:
    iid = population["col_new"]
    Incident.objects.create(
        instance_id=iid, element_id="A", message="boom", created_at=timezone.now()
    )
    html = login(admin).get(CONSOLE, {"q": "Sick"}).content.decode()
    assert f'href="/workflow/instances/{iid}/"' in html
    assert "A step" in html and "李娜" in html  # the step and its holder's name
    assert "running" in html
    assert '<span class="tag danger">1</span>' in html


def test_the_list_reads_a_page_in_a_fixed_number_of_queries(
    login: Callable[[User], Client],
    admin: User,
    employee: User,
    colleague: User,
    django_assert_max_num_queries: Any,
) -> None:
    """The initiators' names come with the holders', the statuses and titles from what the
    steps read: 14 queries for a page, however many rows and people it shows."""
    three_steps()
    client = login(admin)
    for person in (employee, colleague, employee, colleague, employee):
        start(person)
    client.get(CONSOLE)
    with django_assert_max_num_queries(14):
        html = client.get(CONSOLE).content.decode()
    assert html.count('name="ids"') == 5
    assert "张伟" in html and "王芳" in html and "李娜" in html


def test_a_row_escapes_what_people_typed_and_links_back_to_the_page(
    login: Callable[[User], Client], admin: User, employee: User
) -> None:
    """The rows are written in Python (``workflow.views.console_rows``): a title and a
    business key are escaped, the action link carries the page back, url-encoded."""
    three_steps()
    iid = engine.instance_start(
        "leave", initiator=employee, business_key="K<1>&2", title='<b>"Leave"</b> & more'
    )
    html = login(admin).get(CONSOLE, {"q": "K<1>"}).content.decode()
    assert f"#{iid} &lt;b&gt;&quot;Leave&quot;&lt;/b&gt; &amp; more</a>" in html
    assert " · K&lt;1&gt;&amp;2</div>" in html
    assert "<b>" not in html.split('id="instance-rows"')[1]
    assert f"?ids={iid}&amp;next=/workflow/console/%3Fq%3DK%253C1%253E" in html
    assert f'aria-label="Select #{iid}"' in html and "age " in html


def test_keyset_pages_with_load_more(
    login: Callable[[User], Client], admin: User, employee: User, dept_head: User
) -> None:
    three_steps()
    same = timezone.now() - datetime.timedelta(hours=1)
    ids = [start(employee) for _ in range(30)]
    # ties on started_at: the id breaks them, nothing is skipped or repeated
    ProcessInstance.objects.filter(pk__in=ids[10:20]).update(started_at=same)
    client = login(admin)
    first = client.get(CONSOLE)
    page1 = row_ids(first)
    assert len(page1) == 25
    found = re.search(r'hx-get="([^"]*after=[^"]*)"', first.content.decode())
    assert found is not None
    next_url = found.group(1)
    assert "after=" in next_url and "offset" not in next_url
    more = client.get(CONSOLE + next_url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    html = more.content.decode()
    assert "<html" not in html  # the partial: rows only
    page2 = row_ids(more)
    assert len(page2) == 5
    assert sorted(page1 + page2) == sorted(ids)
    assert "Load more" not in html
    # without htmx the same link is a full page
    assert "<html" in client.get(CONSOLE + next_url.replace("&amp;", "&")).content.decode()
    # a malformed cursor is a first page
    assert len(row_ids(client.get(CONSOLE, {"after": "garbage"}))) == 25


def test_keyset_keeps_the_filters(
    login: Callable[[User], Client], admin: User, employee: User, dept_head: User
) -> None:
    three_steps()
    for _ in range(27):
        start(employee)
    deploy_steps(user_task("A", assignee="lina"), key="expense")
    other = engine.instance_start("expense", initiator=employee)
    client = login(admin)
    first = client.get(CONSOLE, {"key": "leave"})
    found = re.search(r'hx-get="([^"]*after=[^"]*)"', first.content.decode())
    assert found is not None
    next_url = found.group(1).replace("&amp;", "&")
    assert "key=leave" in next_url
    page2 = row_ids(client.get(CONSOLE + next_url, headers={"HX-Request": "true"}))
    assert len(page2) == 2 and other not in page2


# --- administrators' actions ---------------------------------------------------------------------


@pytest.fixture
def two(employee: User, dept_head: User, colleague: User, outsider: User) -> list[int]:
    three_steps()
    return [start(employee), start(employee)]


def test_bulk_suspend_and_resume(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    client = login(admin)
    response = client.post(
        ACTIONS, {"ids": two, "action": "suspend", "reason": "audit", "next": CONSOLE}
    )
    assert response.status_code == 303 and response["Location"] == CONSOLE
    assert [instance(pk).state for pk in two] == ["suspended", "suspended"]
    assert "2 processes done." in follow_messages(client, response)
    client.post(ACTIONS, {"ids": two, "action": "resume"})
    assert [instance(pk).state for pk in two] == ["active", "active"]


def test_partial_refusal_is_reported_and_the_others_done(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    client = login(admin)
    client.post(ACTIONS, {"ids": two[0], "action": "suspend"})
    response = client.post(ACTIONS, {"ids": two, "action": "suspend"})
    html = follow_messages(client, response)
    assert "1 process done." in html
    assert f"1 refused: #{two[0]}: Only a running process can be suspended." in html
    assert [instance(pk).state for pk in two] == ["suspended", "suspended"]


def test_terminate_needs_a_reason(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    client = login(admin)
    response = client.post(ACTIONS, {"ids": two, "action": "terminate", "reason": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert [instance(pk).state for pk in two] == ["active", "active"]
    response = client.post(ACTIONS, {"ids": two, "action": "terminate", "reason": "duplicate"})
    assert response.status_code == 303
    assert [instance(pk).state for pk in two] == ["terminated", "terminated"]


def test_unknown_ids_and_bad_input_change_nothing(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    client = login(admin)
    for data, message in (
        ({"ids": [two[0], 999999], "action": "suspend"}, "Unknown process instances: 999999."),
        ({"ids": ["x"], "action": "suspend"}, "The selection is not valid."),
        ({"action": "suspend"}, "Select at least one row first."),
        ({"ids": two, "action": "explode"}, "Unknown action."),
    ):
        response = client.post(ACTIONS, data)
        assert response.status_code == 303
        assert message in follow_messages(client, response)
    assert [instance(pk).state for pk in two] == ["active", "active"]


def test_move_to_a_chosen_step_and_refuse_an_invalid_one(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    client = login(admin)
    response = client.post(
        ACTIONS, {"ids": two, "action": "move", "target": "nowhere", "reason": "fix"}
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert [live(pk) for pk in two] == [[("A", "lina", "open")]] * 2
    response = client.post(ACTIONS, {"ids": two, "action": "move", "target": "C", "reason": ""})
    assert response.status_code == 400
    response = client.post(ACTIONS, {"ids": two, "action": "move", "target": "C", "reason": "fix"})
    assert response.status_code == 303
    assert [live(pk) for pk in two] == [[("C", "liuyang", "open")]] * 2


def test_reassign_open_tasks(
    login: Callable[[User], Client], admin: User, two: list[int], colleague: User
) -> None:
    client = login(admin)
    task = open_task(two[0])
    query: Query = {"ids": two, "action": "reassign"}
    page = client.get(ACTIONS, query).content.decode()
    assert f'value="{task.pk}"' in page and "李娜" in page
    response = client.post(
        ACTIONS, {"ids": two, "action": "reassign", "tasks": [task.pk], "to": "nobody"}
    )
    assert response.status_code == 400
    assert "No active user is called nobody." in response.content.decode()
    response = client.post(ACTIONS, {"ids": two, "action": "reassign", "tasks": [999], "to": "x"})
    assert response.status_code == 400
    assert Task.objects.get(pk=task.pk).assignee == "lina"
    response = client.post(
        ACTIONS, {"ids": two, "action": "reassign", "tasks": [task.pk], "to": "wangfang"}
    )
    assert "1 task done." in follow_messages(client, response)
    assert live(two[0]) == [("A", "wangfang", "open")]
    assert live(two[1]) == [("A", "lina", "open")]


def test_migrate_reports_what_cannot_move(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    client = login(admin)
    client.post(ACTIONS, {"ids": two[1], "action": "move", "target": "B", "reason": "r"})
    # version 2 has no step B
    deploy_steps(user_task("A", assignee="lina"), user_task("C", assignee="liuyang"))
    v2 = ProcessInstance.objects.get(pk=two[0]).definition.__class__.objects.get(
        key="leave", version=2
    )
    query: Query = {"ids": two, "action": "migrate"}
    page = client.get(ACTIONS, query).content.decode()
    assert "v2" in page and "v1" in page
    response = client.post(ACTIONS, {"ids": two, "action": "migrate", "definition": v2.pk})
    html = follow_messages(client, response)
    assert "1 process done." in html
    assert f"1 refused: #{two[1]}: Steps missing in the new version: B" in html
    assert instance(two[0]).definition_id == v2.pk
    assert instance(two[1]).definition_id != v2.pk


def test_migrate_refuses_a_mixed_selection(
    login: Callable[[User], Client], admin: User, two: list[int], employee: User
) -> None:
    deploy_steps(user_task("A", assignee="lina"), key="expense")
    other = engine.instance_start("expense", initiator=employee)
    response = login(admin).post(ACTIONS, {"ids": [two[0], other], "action": "migrate"})
    assert response.status_code == 400
    assert "Choose instances of one process to migrate them." in response.content.decode()


def test_the_action_chooser_of_one_row(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    query: Query = {"ids": two[0], "next": CONSOLE}
    html = login(admin).get(ACTIONS, query).content.decode()
    for action in ("suspend", "resume", "terminate", "move", "reassign", "migrate"):
        assert f"?action={action}&amp;ids={two[0]}" in html


def test_next_must_stay_on_the_site(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    response = login(admin).post(
        ACTIONS, {"ids": two[0], "action": "suspend", "next": "https://evil.example/"}
    )
    assert response["Location"] == CONSOLE


# --- incidents -----------------------------------------------------------------------------------

SERVICE_STEP = (
    '<startEvent id="start"/><serviceTask id="S" name="Book in ERP" camunda:type="test.job"/>'
    '<userTask id="A" name="Check" camunda:assignee="lina"/><endEvent id="end"/>'
    + chain("start", "S", "A", "end")
)


@pytest.fixture
def failed(apps: RecordingApps, employee: User) -> tuple[int, RecordingApps]:
    from tests.workflow.approval_helpers import deploy_body

    apps.behaviour["test.job"] = ApplicationError(
        "ERP answered 400\nline two\nline three", permanent=True
    )
    deploy_body(SERVICE_STEP, key="booking")
    iid = engine.instance_start("booking", initiator=employee, title="Book it")
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    jobs.jobs_run_due()
    assert Incident.objects.filter(instance_id=iid, resolved_at__isnull=True).count() == 1
    return iid, apps


def test_incidents_list_the_step_error_and_retries(
    login: Callable[[User], Client], admin: User, failed: tuple[int, RecordingApps]
) -> None:
    iid, _apps = failed
    html = login(admin).get(INCIDENTS).content.decode()
    assert "Book in ERP" in html
    assert f'href="/workflow/instances/{iid}/"' in html
    assert "ERP answered 400\nline two" in html
    assert "<details>" in html  # the full text expands
    assert "0 left · 1 tried" in html


@pytest.mark.parametrize("persona", FORBIDDEN)
def test_others_cannot_retry(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    hr_admin: User,
    failed: tuple[int, RecordingApps],
    persona: str,
) -> None:
    incident = Incident.objects.get()
    client = as_persona(request, login, persona)
    assert client.post(RETRY, {"ids": incident.pk}).status_code == 403
    assert Incident.objects.get().resolved_at is None


def test_retry_runs_the_job_again(
    login: Callable[[User], Client],
    admin: User,
    failed: tuple[int, RecordingApps],
    django_capture_on_commit_callbacks: Any,
) -> None:
    iid, apps = failed
    apps.behaviour["test.job"] = {"booked": True}
    incident = Incident.objects.get()
    client = login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RETRY, {"only": incident.pk, "ids": [incident.pk]})
    assert response.status_code == 303
    retried = "1 incident retried successfully: the process went on."
    assert retried in follow_messages(client, response)
    incident.refresh_from_db()
    assert incident.resolved_by == "xugang"
    assert live(iid) == [
        ("A", "lina", "open")
    ]  # the job ran (Celery eager) and the process went on
    assert "No open incidents." in client.get(INCIDENTS).content.decode()
    resolved = client.get(INCIDENTS, {"status": "resolved"}).content.decode()
    assert "Book in ERP" in resolved and "xugang" in resolved
    # retried again: already resolved, reported, nothing breaks
    response = client.post(RETRY, {"ids": [incident.pk]})
    assert "This incident has already been resolved." in follow_messages(client, response)


def test_retry_bad_input_changes_nothing(
    login: Callable[[User], Client], admin: User, failed: tuple[int, RecordingApps]
) -> None:
    incident = Incident.objects.get()
    client = login(admin)
    for data, message in (
        ({"ids": [incident.pk, 424242]}, "Unknown incidents: 424242."),
        ({"ids": ["1; DROP"]}, "The selection is not valid."),
        ({}, "Select at least one row first."),
    ):
        response = client.post(RETRY, data)
        assert message in follow_messages(client, response)
    assert Incident.objects.get().resolved_at is None


def test_row_retry_button_retries_only_its_incident(
    login: Callable[[User], Client], admin: User, failed: tuple[int, RecordingApps], employee: User
) -> None:
    iid2 = engine.instance_start("booking", initiator=employee)
    Job.objects.filter(instance_id=iid2).update(due_at=timezone.now())
    jobs.jobs_run_due()
    first, second = Incident.objects.order_by("pk")
    login(admin).post(RETRY, {"only": second.pk, "ids": [first.pk, second.pk]})
    assert Incident.objects.get(pk=first.pk).resolved_at is None
    assert Incident.objects.get(pk=second.pk).resolved_at is not None


# --- the job queue ------------------------------------------------------------------------------


def test_job_health_page_counts_and_refreshes(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    now = timezone.now()
    hour = datetime.timedelta(hours=1)

    def job(kind: str, **fields: Any) -> None:
        Job.objects.create(
            kind=kind, element_id="X", created_at=now, **{"due_at": now - hour, **fields}
        )

    job(JobKind.TIMER)  # due
    job(JobKind.TIMER, due_at=now + hour)  # scheduled
    job(JobKind.SERVICE, locked_by="w", locked_until=now + hour)  # running
    job(JobKind.SERVICE, retries=0)  # failed
    client = login(admin)
    html = client.get(JOBS).content.decode()
    assert 'hx-trigger="every 15s"' in html
    assert re.search(r'data-count="due">1<', html)
    assert re.search(r'data-count="scheduled">1<', html)
    assert re.search(r'data-count="running">1<', html)
    assert re.search(r'data-count="failed">1<', html)
    partial = client.get(JOBS, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and 'id="job-health"' in partial


# --- statistics ---------------------------------------------------------------------------------


DI_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <process id="leave" name="Leave" isExecutable="true">
    <startEvent id="start"/>
    <userTask id="A" name="A step" camunda:assignee="lina"/>
    <userTask id="B" name="B step" camunda:assignee="wangfang"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="A"/>
    <sequenceFlow id="f2" sourceRef="A" targetRef="B"/>
    <sequenceFlow id="f3" sourceRef="B" targetRef="end"/>
  </process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="leave">
    <bpmndi:BPMNShape id="s0" bpmnElement="start">
      <dc:Bounds x="0" y="20" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s1" bpmnElement="A">
      <dc:Bounds x="80" y="0" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s2" bpmnElement="B">
      <dc:Bounds x="220" y="0" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s3" bpmnElement="end">
      <dc:Bounds x="360" y="20" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="f1">
      <di:waypoint x="36" y="38"/>
      <di:waypoint x="80" y="40"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e2" bpmnElement="f2">
      <di:waypoint x="180" y="40"/>
      <di:waypoint x="220" y="40"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e3" bpmnElement="f3">
      <di:waypoint x="320" y="40"/>
      <di:waypoint x="360" y="38"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</definitions>"""


def test_statistics_page_shows_charts_tables_and_heatmap(
    login: Callable[[User], Client], admin: User, employee: User, dept_head: User, colleague: User
) -> None:

    definitions.definition_deploy(xml=DI_PROCESS)
    two = [start(employee), start(employee)]
    task = open_task(two[0])
    approvals.task_approve(task.pk, user=dept_head)
    Task.objects.filter(instance_id=two[1]).update(due_at=timezone.now() - datetime.timedelta(1))
    html = login(admin).get(STATISTICS, {"key": "leave"}).content.decode()
    # ECharts draws them from JSON specs (portal/charts.py), each with its table beside
    assert html.count('data-chart="chart-') == 3  # nothing completed: no duration per process
    assert html.count('<script id="chart-') == 3
    assert '<script src="/static/charts/charts.js" defer>' in html
    assert 'class="bpmn-diagram"' in html and 'class="heat"' in html
    assert "销售部" in html  # overdue by the holder's department (lina heads 销售部)
    assert "A step" in html


def test_statistics_durations_are_shown_in_their_unit(
    login: Callable[[User], Client], admin: User, employee: User
) -> None:
    """A request that took 2 hours reads "2 h" in the table and on the chart (whose bar is 2
    on an hours axis), never "0 s"; the filters name processes without their keys."""
    definitions.definition_deploy(xml=DI_PROCESS)
    instance_id = start(employee)
    ended = timezone.now() - datetime.timedelta(hours=1)
    ProcessInstance.objects.filter(pk=instance_id).update(
        state="completed", started_at=ended - datetime.timedelta(hours=2), ended_at=ended
    )
    response = login(admin).get(STATISTICS, {"key": "leave"})
    html = response.content.decode()
    row = re.search(r'<tr data-key="leave">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "<td>2 h</td>" in row.group(1)
    assert "0 s" not in row.group(1)
    spec = response.context["by_process_chart"].as_json()
    assert spec["axis"] == "{n} h"
    assert spec["series"][0]["values"] == [2.0]
    assert spec["series"][0]["labels"] == ["2 h"]
    options = re.findall(r'<option value="leave"[^>]*>([^<]*)</option>', html)
    assert options == ["Leave"]  # the name, not "Leave (leave)"


def test_statistics_bad_range_is_explained(
    login: Callable[[User], Client], admin: User, two: list[int]
) -> None:
    client = login(admin)
    response = client.get(STATISTICS, {"start": "2025-02-01", "end": "2025-01-01"})
    assert response.status_code == 200
    assert "The end of the range is before its start." in response.content.decode()
    response = client.get(STATISTICS, {"start": "2020-01-01", "end": "2025-01-01"})
    assert "Choose a range of at most 366 days." in response.content.decode()
    response = client.get(STATISTICS, {"start": "not a date"})
    assert "Enter a valid date." in response.content.decode()
