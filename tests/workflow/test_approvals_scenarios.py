"""What the approval scenarios found (issue 15, items 11–13, 15, 16): notices that are
settled when their task leaves a person's hands, a complete 已办, time-outs that say so,
history that reads right, and resubmitting a returned request."""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from portal.models import Notification, User
from portal.selectors import unread_notification_count
from tests.workflow.approval_helpers import (
    away,
    deploy_body,
    deploy_steps,
    make_admin,
    make_role,
    open_task,
    rows,
    settings,
    start,
    user_task,
)
from tests.workflow.engine_helpers import chain, definitions, make_due, process
from workflow.bpmn.model import BpmnError
from workflow.bpmn.validate import parse_and_validate, ratio_share
from workflow.engine.cache import graph_for_definition
from workflow.engine.runtime import countersign_result
from workflow.models import HistoryEvent, ProcessInstance, ProcessSettings, Task
from workflow.selectors import actions, inbox
from workflow.selectors.timeline import OUTCOMES, return_notice, timeline
from workflow.services import approvals, engine, notifications, steps
from workflow.services import jobs as job_services

pytestmark = pytest.mark.django_db

DAYS = '<camunda:formField id="days" label="Days" type="long"/>'
REASON = '<camunda:formField id="reason" label="Reason" type="string"/>'


@pytest.fixture(autouse=True)
def _english(employee: User, dept_head: User, colleague: User, outsider: User, hr_admin: User):
    """Everybody reads their notices in English here (the wording is what is checked)."""
    User.objects.update(preferred_language="en")


def _subject(task: Task) -> str:
    return f"workflow.task:{task.pk}"


def _open_notes(user: User, task: Task) -> list[str]:
    """The titles of ``user``'s unread notices about ``task``."""
    return list(
        Notification.objects.filter(
            recipient=user, subject=_subject(task), read_at__isnull=True
        ).values_list("title", flat=True)
    )


def _done_notes(user: User, task: Task) -> int:
    return Notification.objects.filter(
        recipient=user, subject=_subject(task), done_at__isnull=False, read_at__isnull=False
    ).count()


def _announce(iid: int) -> None:
    """The new-task notices of the instance's open tasks (what the after-commit task does)."""
    pairs = set(
        Task.objects.filter(instance_id=iid, state="open").values_list("instance_id", "execution")
    )
    notifications.notify_new_tasks(sorted(pairs))


# --- 11. notices that are settled -------------------------------------------------------------


def test_a_new_task_notice_is_about_its_task_and_done_when_it_is_approved(
    employee, dept_head
) -> None:
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    iid = start(employee)
    _announce(iid)
    task = open_task(iid)
    assert _open_notes(dept_head, task) == ["New task: A step — Leave 3 days"]
    assert unread_notification_count(dept_head) == 1

    approvals.task_approve(task.pk, user=dept_head)

    assert _open_notes(dept_head, task) == []
    assert _done_notes(dept_head, task) == 1
    assert unread_notification_count(dept_head) == 0  # the bell drops


def test_a_transfer_settles_the_old_holders_notice_not_the_new_ones(
    employee, dept_head, colleague
) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    _announce(iid)
    task = open_task(iid)
    approvals.task_transfer(task.pk, user=dept_head, to="wangfang")
    assert _open_notes(dept_head, task) == []
    assert _done_notes(dept_head, task) == 1
    assert _open_notes(colleague, task) == ["New task: A step — Leave 3 days"]

    # handed back again: the old notice is news again, not a second row
    approvals.task_transfer(task.pk, user=colleague, to="lina")
    assert _open_notes(dept_head, task) == ["New task: A step — Leave 3 days"]
    assert Notification.objects.filter(recipient=dept_head, subject=_subject(task)).count() == 1
    assert _open_notes(colleague, task) == []


def test_a_task_taken_by_one_candidate_settles_the_others_notices(
    employee, colleague, outsider
) -> None:
    make_role("finance", outsider, colleague)
    deploy_steps(user_task("A", groups="role:finance"))
    iid = start(employee)
    _announce(iid)
    task = open_task(iid)
    assert _open_notes(colleague, task) and _open_notes(outsider, task)
    approvals.task_claim(task.pk, user=outsider)
    assert _open_notes(colleague, task) == []
    assert _done_notes(colleague, task) == 1
    assert len(_open_notes(outsider, task)) == 1


def test_withdraw_and_cancel_settle_the_notices_of_the_tasks_they_take_away(
    employee, dept_head, colleague
) -> None:
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    _announce(iid)
    second = open_task(iid)
    assert _open_notes(colleague, second)
    approvals.instance_withdraw(iid, user=dept_head)  # 撤回: B's task is taken away
    assert _open_notes(colleague, second) == []
    assert _done_notes(colleague, second) == 1

    _announce(iid)
    back = open_task(iid)
    assert _open_notes(dept_head, back)
    approvals.instance_cancel(iid, user=employee, reason="plans changed")
    assert _open_notes(dept_head, back) == []
    assert unread_notification_count(dept_head) == 1  # only "cancelled by the initiator"


def test_a_task_the_engine_completes_settles_its_notice_with_the_writes(
    employee, dept_head
) -> None:
    """``engine.task_complete`` sends the settle in its writes' batch (one round trip on
    PostgreSQL): it still sees the task completed there."""
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    iid = start(employee)
    _announce(iid)
    task = open_task(iid)
    engine.task_complete(task.pk, actor=dept_head, data={})
    assert _open_notes(dept_head, task) == []
    assert _done_notes(dept_head, task) == 1


def test_an_open_task_keeps_the_notices_of_its_holder_and_of_the_absent_person_only(
    employee, dept_head, colleague, outsider
) -> None:
    """Held by a proxy (``assignee``) for an absent person (``on_behalf_of``): both keep
    their notice, a former holder's is settled; an open task offered to candidates keeps
    every notice; a task no longer open keeps none."""
    away(dept_head, colleague)
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    task = open_task(iid)
    assert (task.assignee, task.on_behalf_of) == ("wangfang", "lina")
    for person in (dept_head, colleague, outsider):
        Notification.objects.create(recipient=person, kind="x", title="A", subject=_subject(task))

    notifications.settle_task_notices([iid])
    assert [bool(_open_notes(p, task)) for p in (dept_head, colleague, outsider)] == [
        True,
        True,
        False,
    ]

    Task.objects.filter(pk=task.pk).update(assignee="", on_behalf_of="")  # offered again
    Notification.objects.filter(subject=_subject(task)).update(read_at=None, done_at=None)
    notifications.settle_task_notices([iid])
    assert [bool(_open_notes(p, task)) for p in (dept_head, colleague, outsider)] == [True] * 3

    Task.objects.filter(pk=task.pk).update(state="completed")
    notifications.settle_task_notices([iid])
    assert [bool(_open_notes(p, task)) for p in (dept_head, colleague, outsider)] == [False] * 3
    assert Notification.objects.filter(subject=_subject(task), done_at__isnull=True).count() == 0


def test_opening_the_task_page_reads_its_notices(login, employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    _announce(iid)
    task = open_task(iid)
    assert unread_notification_count(dept_head) == 1
    assert login(dept_head).get(f"/workflow/tasks/{task.pk}/").status_code == 200
    assert unread_notification_count(dept_head) == 0
    note = Notification.objects.get(recipient=dept_head)
    assert note.done_at is None  # read, but the task is still theirs to do


def test_a_return_notifies_the_person_it_goes_back_to_once_with_the_reason(
    employee, dept_head, colleague, django_capture_on_commit_callbacks
) -> None:
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.task_return(open_task(iid).pk, user=colleague, target="A", comment="金额有误")
    back = open_task(iid)
    notes = Notification.objects.filter(recipient=dept_head, subject=_subject(back))
    assert [(n.title, n.body) for n in notes] == [("Returned to you: Leave 3 days", "金额有误")]
    assert Notification.objects.filter(recipient=dept_head, read_at__isnull=True).count() == 1


def test_a_return_to_the_initiator_notifies_them_once(
    employee, dept_head, django_capture_on_commit_callbacks
) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.task_return(open_task(iid).pk, user=dept_head, target="initiator", comment="补充")
    assert list(employee.notifications.values_list("title", "body")) == [
        ("Returned to you: Leave 3 days", "补充")
    ]


def test_the_urge_comment_reaches_the_person_urged(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.instance_urge(iid, user=employee, comment="明天出差，请今天处理")
    note = dept_head.notifications.get()
    assert (note.body, note.subject) == ("明天出差，请今天处理", _subject(open_task(iid)))


def test_the_initiator_is_told_of_an_approval_on_time_out(employee, dept_head) -> None:
    settings(default_due="PT8H", timeout="approve")
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    assert make_due(instance_id=iid, kind="timeout") == 1
    assert job_services.jobs_run_due() == 1
    assert ProcessInstance.objects.get(pk=iid).state == "completed"
    assert list(employee.notifications.values_list("title", flat=True)) == [
        "Approved automatically on time-out: Leave 3 days"
    ]


def test_the_initiator_is_told_of_a_rejection(employee, dept_head) -> None:
    settings(reject="end")
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="不符合规定")
    assert list(employee.notifications.values_list("title", flat=True)) == [
        "Rejected: Leave 3 days"
    ]


# --- 12. 已办 is complete -------------------------------------------------------------------------


def test_done_lists_what_i_transferred_delegated_resolved_and_returned(
    employee, dept_head, colleague, outsider
) -> None:
    deploy_steps(
        user_task("A", assignee="lina"),
        user_task("B", assignee="wangfang"),
        user_task("C", assignee="liuyang"),
    )
    first = start(employee)
    approvals.task_transfer(open_task(first).pk, user=dept_head, to="zhaomin")
    second = start(employee)
    task = open_task(second)
    approvals.task_delegate(task.pk, user=dept_head, to="wangfang")
    approvals.task_resolve(task.pk, user=colleague, comment="看过了")
    approvals.task_approve(task.pk, user=dept_head)
    approvals.task_return(
        open_task(second).pk, user=colleague, target="initiator", comment="缺发票"
    )

    mine = inbox.inbox_page(dept_head, "done", inbox.InboxFilter())
    assert [(kind, t.instance_id, t.done_outcome) for kind, t in mine.rows] == [
        ("done", second, "approved"),
        ("done", second, "delegated"),
        ("done", first, "transferred"),
    ]
    theirs = inbox.inbox_page(colleague, "done", inbox.InboxFilter())
    assert [t.done_outcome for _kind, t in theirs.rows] == ["returned", "resolved"]


def test_done_pages_through_both_halves_without_repeats(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    ids = []
    for n in range(5):
        iid = start(employee)
        ids.append(iid)
        task = open_task(iid)
        if n % 2:
            approvals.task_transfer(task.pk, user=dept_head, to="wangfang")
        else:
            approvals.task_approve(task.pk, user=dept_head)
    seen: list[int] = []
    after = None
    while True:
        page = inbox.inbox_page(dept_head, "done", inbox.InboxFilter(), after=after, size=2)
        seen += [t.instance_id for _kind, t in page.rows]
        if page.next is None:
            break
        after = page.next
    assert sorted(seen) == sorted(ids)


def test_the_api_done_rows_carry_the_outcome(login, employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_transfer(open_task(iid).pk, user=dept_head, to="wangfang")
    other = start(employee)
    approvals.task_approve(open_task(other).pk, user=dept_head)
    items = login(dept_head).get("/api/v1/tasks/?tab=done").json()["results"]
    assert [(i["instance_id"], i["outcome"], i["outcome_label"]) for i in items] == [
        (other, "approved", "approved"),
        (iid, "transferred", "transferred"),
    ]
    assert all(i["done_at"] for i in items)


def test_the_done_tab_shows_the_outcome_in_words(login, employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_delegate(open_task(iid).pk, user=dept_head, to="wangfang")
    html = login(dept_head).get("/workflow/inbox/?tab=done").content.decode()
    assert "outcome-delegated" in html and ">delegated<" in html


# --- 13. time-outs ----------------------------------------------------------------------------


def test_an_approval_on_time_out_says_so_in_the_history(employee, dept_head) -> None:
    settings(default_due="PT8H", timeout="approve")
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    iid = start(employee)
    make_due(instance_id=iid, kind="timeout")
    job_services.jobs_run_due()
    [row] = rows(iid, "task-completed")
    assert (row.element_id, row.outcome, row.actor) == ("A", "timeout-approved", "")
    instance = ProcessInstance.objects.get(pk=iid)
    [entry] = [
        e
        for e in timeline(instance, graph_for_definition(instance.definition_id))
        if e.step == "A step"
    ]
    assert (entry.who, entry.label) == ("System", "approved automatically on time-out")
    assert str(OUTCOMES["auto-approved"]) == "approved automatically"  # the repeated approver's


@pytest.mark.parametrize("due", ["PT30S", "P1DT2H30M15S"])
def test_a_step_due_time_takes_any_iso_duration(employee, due: str) -> None:
    deploy_body(
        '<startEvent id="start"/>'
        f'<userTask id="A" name="A" camunda:assignee="lina" camunda:dueDate="{due}"/>'
        '<endEvent id="end"/>' + chain("start", "A", "end")
    )
    before = datetime.datetime.now(datetime.UTC)
    iid = start(employee)
    task = open_task(iid)
    expected = {"PT30S": datetime.timedelta(seconds=30)}.get(
        due, datetime.timedelta(days=1, hours=2, minutes=30, seconds=15)
    )
    assert task.due_at is not None
    assert before + expected <= task.due_at <= before + expected + datetime.timedelta(minutes=5)


def test_a_due_time_that_is_no_duration_is_refused_at_deploy() -> None:
    xml = definitions(
        process(
            "bad",
            '<startEvent id="start"/><userTask id="A" camunda:dueDate="P3X"/><endEvent id="end"/>'
            + chain("start", "A", "end"),
        )
    )
    with pytest.raises(BpmnError) as caught:
        parse_and_validate(xml)
    assert "dueDate" in str(caught.value)


def test_settings_take_a_due_time_in_seconds(employee, dept_head) -> None:
    row = ProcessSettings(key="leave", default_due="PT30S", remind_before="PT10S")
    row.full_clean(exclude=["starter_roles", "starter_departments"])
    bad = ProcessSettings(key="leave", default_due="30 seconds")
    with pytest.raises(ValidationError) as caught:
        bad.full_clean(exclude=["starter_roles", "starter_departments"])
    assert "PT45S" in str(caught.value)


def test_a_ratio_takes_a_fraction_a_decimal_and_a_percentage() -> None:
    assert ratio_share("ratio:2/3") == Fraction(2, 3)
    assert ratio_share("ratio:0.67") == Fraction(67, 100)
    assert ratio_share("ratio:60%") == Fraction(3, 5)
    for bad in ("ratio:3/2", "ratio:0", "ratio:1/0", "ratio:x", "ratio:", "all"):
        assert ratio_share(bad) is None
    # two of three: enough for 2/3, not for 0.67
    assert countersign_result("ratio:2/3", 3, 2, 1) == "approved"
    assert countersign_result("ratio:0.67", 3, 2, 1) == "rejected"
    assert countersign_result("ratio:2/3", 3, 1, 0) is None


def test_a_ratio_countersign_with_a_fraction_deploys_and_decides(
    employee, dept_head, colleague, outsider
) -> None:
    deploy_steps(
        user_task(
            "Vote",
            assignee="${voter}",
            props={"countersign": "ratio:2/3"},
            mi='camunda:collection="${voters}" camunda:elementVariable="voter"',
        )
    )
    iid = start(employee, voters=["lina", "wangfang", "liuyang"])
    approvals.task_approve(open_task(iid, assignee="lina").pk, user=dept_head)
    assert ProcessInstance.objects.get(pk=iid).state == "active"
    approvals.task_approve(open_task(iid, assignee="wangfang").pk, user=colleague)
    assert ProcessInstance.objects.get(pk=iid).state == "completed"


def test_a_bad_ratio_is_refused_at_deploy() -> None:
    xml = definitions(
        process(
            "bad",
            '<startEvent id="start"/>'
            + user_task(
                "Vote",
                assignee="${voter}",
                props={"countersign": "ratio:3/2"},
                mi='camunda:collection="${voters}" camunda:elementVariable="voter"',
            )
            + '<endEvent id="end"/>'
            + chain("start", "Vote", "end"),
        )
    )
    with pytest.raises(BpmnError) as caught:
        parse_and_validate(xml)
    assert "ratio:2/3" in str(caught.value)


# --- 15. history that reads right -----------------------------------------------------------


def test_the_copy_at_the_end_leaves_a_history_line(employee, dept_head, hr_admin) -> None:
    settings(cc_at_end="zhaomin")
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    [row] = rows(iid, "copied")
    assert (row.actor, row.data["to"]) == ("", ["zhaomin"])
    assert hr_admin.notifications.count() == 1


def test_copying_someone_already_copied_leaves_no_line_and_no_notice(
    employee, dept_head, hr_admin
) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    assert approvals.instance_copy(iid, user=employee, recipients=["zhaomin"]) == ["zhaomin"]
    assert approvals.instance_copy(iid, user=employee, recipients=["zhaomin"]) == []
    assert len(rows(iid, "copied")) == 1
    assert hr_admin.notifications.count() == 1


def test_a_cancel_is_in_the_history_in_the_order_it_happened(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.instance_cancel(iid, user=employee, reason="plans changed")
    kinds = [
        r.kind
        for r in HistoryEvent.objects.filter(instance_id=iid)
        .exclude(kind="activity")
        .order_by("at", "id")
    ]
    assert kinds[kinds.index("instance-cancelled") :] == [
        "instance-cancelled",
        "task-cancelled",
        "instance-end",
    ]


def test_approving_a_task_of_a_cancelled_request_says_it_was_cancelled(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    task = open_task(iid)
    approvals.instance_cancel(iid, user=employee, reason="plans changed")
    with pytest.raises(steps.ActionRefused) as caught:
        approvals.task_approve(task.pk, user=dept_head)
    assert str(caught.value) == "The initiator cancelled this request."


def test_a_refused_non_administrator_gets_a_403(login, employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    task = open_task(iid)
    for url, body in (
        (f"/api/v1/instances/{iid}/suspend", {}),
        (f"/api/v1/tasks/{task.pk}/reassign", {"to": "wangfang", "reason": "away"}),
    ):
        answer = login(dept_head).post(url, body, content_type="application/json")
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")
    assert ProcessInstance.objects.get(pk=iid).state == "active"
    assert open_task(iid).assignee == "lina"
    # the state still refuses with a 409: an administrator resuming a running request
    admin = make_admin(dept_head)
    answer = login(admin).post(
        f"/api/v1/instances/{iid}/resume", {}, content_type="application/json"
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "action_refused")


def test_the_history_api_hides_the_engine_rows_unless_asked(login, employee, dept_head) -> None:
    deploy_body(
        '<startEvent id="start"/><exclusiveGateway id="gw"/>'
        '<userTask id="A" name="A" camunda:assignee="lina"/><endEvent id="end"/>'
        + chain("start", "gw", "A", "end")
    )
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    client: Client = login(employee)
    shown = [h["kind"] for h in client.get(f"/api/v1/instances/{iid}").json()["history"]]
    assert "activity" not in shown and "task-created" not in shown
    assert {"instance-start", "task-completed", "instance-end"} <= set(shown)
    everything = client.get(f"/api/v1/instances/{iid}?all=true").json()["history"]
    assert "activity" in [h["kind"] for h in everything]
    assert len(everything) > len(shown)


# --- 16. resubmitting ---------------------------------------------------------------------------


def _returned(employee: User, dept_head: User) -> int:
    deploy_steps(user_task("A", assignee="lina"), start_fields=DAYS + REASON)
    iid = start(employee, days=3, reason="探亲")
    approvals.task_return(open_task(iid).pk, user=dept_head, target="initiator", comment="请补充")
    return iid


def test_resubmitting_through_the_api_without_a_body_keeps_the_values(
    login, employee, dept_head
) -> None:
    iid = _returned(employee, dept_head)
    task = open_task(iid)
    answer = login(employee).post(
        f"/api/v1/tasks/{task.pk}/approve", {}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.json()
    variables = ProcessInstance.objects.get(pk=iid).variables
    assert (variables["days"], variables["reason"]) == (3, "探亲")
    assert open_task(iid).element_id == "A"


def test_resubmitting_with_some_values_changes_only_those(employee, dept_head) -> None:
    iid = _returned(employee, dept_head)
    approvals.task_approve(open_task(iid).pk, user=employee, data={"days": 2})
    variables = ProcessInstance.objects.get(pk=iid).variables
    assert (variables["days"], variables["reason"]) == (2, "探亲")


def test_a_returned_request_shows_the_reason_at_the_top(login, employee, dept_head) -> None:
    iid = _returned(employee, dept_head)
    instance = ProcessInstance.objects.get(pk=iid)
    notice = return_notice(instance, graph_for_definition(instance.definition_id))
    assert notice is not None and (notice.reason, notice.step) == ("请补充", "A step")
    task = open_task(iid)
    for url in (f"/workflow/tasks/{task.pk}/", f"/workflow/instances/{iid}/"):
        html = login(employee).get(url).content.decode()
        banner = html.index('data-testid="returned-banner"')
        assert "请补充" in html[banner : banner + 600]
    approvals.task_approve(task.pk, user=employee)
    assert return_notice(instance, graph_for_definition(instance.definition_id)) is None


def test_the_resubmit_step_offers_only_resubmit_and_cancel(employee, dept_head) -> None:
    iid = _returned(employee, dept_head)
    task = open_task(iid)
    offered = actions.task_actions(employee, task)
    assert offered & {"transfer", "delegate", "add_signers", "urge", "reject", "return"} == set()
    assert {"approve", "cancel"} <= offered
    for act, kwargs in (
        (approvals.task_transfer, {"to": "wangfang"}),
        (approvals.task_delegate, {"to": "wangfang"}),
        (approvals.task_add_signers, {"signers": ["wangfang"], "position": "after"}),
    ):
        with pytest.raises(steps.ActionRefused):
            act(task.pk, user=employee, **kwargs)
    with pytest.raises(steps.ActionRefused):
        approvals.instance_urge(iid, user=employee)
    assert not rows(iid, "urged")


def test_nobody_urges_themselves(employee, dept_head) -> None:
    admin = make_admin(dept_head)
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    instance = ProcessInstance.objects.get(pk=iid)
    assert "urge" in actions.instance_actions(employee, instance)
    assert "urge" not in actions.instance_actions(admin, instance)  # it waits for lina herself
    with pytest.raises(steps.ActionRefused):
        approvals.instance_urge(iid, user=admin)
    assert admin.notifications.count() == 0
