"""The approval layer's reads on the engine's hot path, written as SQL of the engine's own
(``workflow.engine.store``): they give the answers the ORM queries they replaced give; and
the end of a request, read once for the initiator's notice and the other apps' listeners."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from portal.models import DelegationRule, Notification, User
from tests.factories import UserFactory, department, role
from tests.workflow.approval_helpers import KEY, deploy_steps, open_task, start, user_task
from workflow import participants
from workflow.engine import store
from workflow.events import InstanceEndListener, instance_end_listeners
from workflow.models import ProcessDefinition
from workflow.services import approvals, engine, notifications
from workflow.translation import default_title

pytestmark = pytest.mark.django_db


def _orm_anyone(candidates: list[tuple[str, str]], besides: str) -> bool:
    """The answer as the ORM gives it (``participants._candidates_q``)."""
    found = User.objects.filter(participants._candidates_q(candidates), is_active=True)
    return (found.exclude(username=besides) if besides else found).exists()


def test_anyone_among_candidates_matches_the_orm() -> None:
    head = department("HQ", "总部")
    sales = department("SALES", "销售部", parent=head)
    east = department("SALES_E", "华东销售", parent=sales)
    department("EMPTY", "空部门", parent=head)
    reviewer = role("finance_reviewer")
    role("nobody_role")
    alice = UserFactory.create(username="alice", department=east)
    bob = UserFactory.create(username="bob", department=head)
    UserFactory.create(username="gone", department=sales, is_active=False)
    alice.groups.add(reviewer)
    gone_reviewer = UserFactory.create(username="gone_reviewer", is_active=False)
    gone_reviewer.groups.add(reviewer)
    options = [
        ("user", "alice"),
        ("user", "gone"),
        ("user", "stranger"),
        ("group", "finance_reviewer"),
        ("group", "nobody_role"),
        ("dept", "SALES"),
        ("dept", "HQ"),
        ("dept", "EMPTY"),
        ("dept", "NO_SUCH"),
    ]
    checked = 0
    for size in (1, 2):
        for candidates in itertools.combinations(options, size):
            for besides in ("", "alice", bob.username):
                expected = _orm_anyone(list(candidates), besides)
                assert participants._anyone(list(candidates), besides=besides) is expected, (
                    candidates,
                    besides,
                )
                checked += 1
    assert checked == 3 * (9 + 36)
    assert participants._anyone([], besides="") is False


def test_delegation_in_force_only_between_its_start_and_end() -> None:
    away = UserFactory.create(username="away")
    proxy = UserFactory.create(username="proxy")
    now = timezone.now()
    DelegationRule.objects.create(
        delegator=away,
        delegate=proxy,
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=1),
    )
    assert store.has_delegation("away", store.db_time(now)) is True
    assert store.has_delegation("proxy", store.db_time(now)) is False
    assert store.has_delegation("away", store.db_time(now + datetime.timedelta(hours=2))) is False
    assert store.has_delegation("away", store.db_time(now - datetime.timedelta(hours=2))) is False
    DelegationRule.objects.filter(delegator=away).update(is_active=False)
    assert store.has_delegation("away", store.db_time(now)) is False


# --- the end of a request ---------------------------------------------------------------------


def test_the_end_tells_the_initiator_with_their_name_read_with_the_request(
    employee: User, dept_head: User
) -> None:
    """The initiator's notice says the request's default title in their language, with
    their display name (张伟, not the user name) read with the ended request: no ``User``
    is loaded whole for it. The listeners of other apps get the request's key from the
    same read."""
    employee.preferred_language = "en"
    employee.save()
    deploy_steps(user_task("A", assignee="lina"))
    title = default_title("张伟", KEY, language="zh-hans")
    iid = engine.instance_start(KEY, variables={}, initiator=employee, title=title)
    heard: list[tuple[int, str, str]] = []
    instance_end_listeners.register(
        InstanceEndListener("test", lambda pk, key, outcome: heard.append((pk, key, outcome)))
    )
    try:
        with CaptureQueriesContext(connection) as captured:
            approvals.task_approve(open_task(iid).pk, user=dept_head)
    finally:
        instance_end_listeners.unregister("test")
    assert heard == [(iid, KEY, "completed")]
    [note] = Notification.objects.filter(recipient=employee)
    assert note.title == "Approved: 张伟's leave"
    sql = [query["sql"] for query in captured.captured_queries]
    assert not [s for s in sql if "password" in s], "no whole User is loaded for the end"
    assert not [s for s in sql if 'FROM "portal_user"' in s], "the initiator is read with the end"


def test_the_initiator_who_is_no_user_reads_as_their_user_name() -> None:
    request = store.EndedRequest(1, "", "leave", 0, "ghost", None)
    assert notifications._initiator(request) is None
    assert notifications._ended_title(request, None) == ""
    deploy_steps(user_task("A", assignee="lina"))
    definition_id = ProcessDefinition.objects.get(key=KEY).pk
    typed = store.EndedRequest(1, "My leave", KEY, definition_id, "ghost", None)
    assert str(notifications._ended_title(typed, None)) == "My leave"
    default = default_title("ghost", KEY, language="en")
    named = store.EndedRequest(1, default, KEY, definition_id, "ghost", None)
    with translation.override("en"):
        assert str(notifications._ended_title(named, None)) == "ghost's leave"


def test_an_inactive_initiator_is_not_told_and_the_initiator_read_is_a_deferred_user(
    employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert Notification.objects.filter(recipient=employee).count() == 1
    [request] = store.ended_requests([iid])
    initiator = notifications._initiator(request)
    assert initiator is not None
    assert (initiator.pk, initiator.display_name, initiator.is_active) == (
        employee.pk,
        "张伟",
        True,
    )
    assert initiator.notify_by_email is employee.notify_by_email
    assert initiator.get_deferred_fields() >= {"password", "department_id"}
    later = start(employee)
    User.objects.filter(pk=employee.pk).update(is_active=False)
    approvals.task_approve(open_task(later).pk, user=dept_head)
    assert Notification.objects.filter(recipient=employee).count() == 1, "not told: inactive"
