"""Words people use (issue 15, item 5): a request's status as 审批中 / 已通过 / 已驳回 /
已撤回 / 已撤销 (not the engine's states), no 认领 (a task offered to several people is taken
by the first to act on it), 撤回 and 撤销 explained and not two red buttons side by side, and
nothing raw where a person reads: history kinds, element ids, incident messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from portal.models import User
from tests.workflow.approval_helpers import (
    deploy_steps,
    gateway_on_approved,
    make_admin,
    make_role,
    open_task,
    settings,
    start,
    user_task,
)
from tests.workflow.test_engine_concurrency import race
from workflow.engine.runtime import AlreadyHandled
from workflow.models import HistoryEvent, Incident, ProcessInstance
from workflow.selectors import status as request_status
from workflow.selectors.status import incident_text, status_of, statuses
from workflow.selectors.timeline import KINDS, STEP_EVENTS, event_words
from workflow.services import administration, approvals
from workflow.services.steps import ActionRefused

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _status(instance_id: int) -> str:
    return status_of(ProcessInstance.objects.get(pk=instance_id)).code


def _zh(text: object) -> str:
    """A lazy text in Chinese."""
    with translation.override("zh-hans"):
        return str(text)


def _english(*users: User) -> None:
    for user in users:
        user.preferred_language = "en"
        user.save()


# --- statuses ------------------------------------------------------------------------------


def test_a_running_request_is_in_approval_and_an_approved_one_approved(
    employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    iid = start(employee)
    assert _status(iid) == "running"
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    found = status_of(ProcessInstance.objects.get(pk=iid))
    assert found.code == "approved"
    with translation.override("zh-hans"):
        assert found.label == "已通过"
    with translation.override("en"):
        assert found.label == "Approved"


def test_a_rejection_that_ends_the_request_is_rejected(employee: User, dept_head: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    settings(reject="end")
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="不同意")
    assert _status(iid) == "rejected"
    with translation.override("zh-hans"):
        assert status_of(ProcessInstance.objects.get(pk=iid)).label == "已驳回"


def test_a_rejection_the_diagram_routes_to_an_end_is_rejected(
    employee: User, dept_head: User
) -> None:
    """ "The diagram decides": a rejection reaches an end event; the request did not pass."""
    deploy_steps(
        user_task("Manager", assignee="lina"),
        extra='<endEvent id="refused"/>' + gateway_on_approved("Manager", "end", "refused"),
    )
    settings(reject="route")
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="不同意")
    instance = ProcessInstance.objects.get(pk=iid)
    assert instance.state == "completed"  # the engine's: it reached an end event
    assert status_of(instance).code == "rejected"


def test_a_cancelled_request_is_cancelled(employee: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    iid = start(employee)
    approvals.instance_cancel(iid, user=employee, reason="不需要了")
    assert _status(iid) == "cancelled"
    with translation.override("zh-hans"):
        assert status_of(ProcessInstance.objects.get(pk=iid)).label == "已撤销"


def test_a_request_taken_back_by_its_initiator_is_withdrawn(
    employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    iid = start(employee)
    approvals.instance_withdraw(iid, user=employee)
    assert _status(iid) == "withdrawn"
    with translation.override("zh-hans"):
        assert status_of(ProcessInstance.objects.get(pk=iid)).label == "已撤回"
    # submitted again: in approval once more
    approvals.task_approve(open_task(iid).pk, user=employee)
    assert _status(iid) == "running"


def test_a_request_returned_to_its_initiator_is_returned(employee: User, dept_head: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    iid = start(employee)
    approvals.task_return(open_task(iid).pk, user=dept_head, target="initiator", comment="补充")
    assert _status(iid) == "returned"


def test_suspended_and_terminated_requests(employee: User, dept_head: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    admin = make_admin(dept_head)
    first, second = start(employee), start(employee)
    administration.instance_suspend(first, by=admin)
    administration.instance_terminate(second, by=admin, reason="重复的申请")
    found = statuses(list(ProcessInstance.objects.filter(pk__in=[first, second])))
    assert (found[first].code, found[second].code) == ("suspended", "terminated")


def test_a_page_of_statuses_takes_a_few_queries(
    employee: User, dept_head: User, django_assert_max_num_queries: Any
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    ids = [start(employee) for _ in range(6)]
    approvals.instance_withdraw(ids[0], user=employee)
    approvals.task_return(open_task(ids[1]).pk, user=dept_head, target="initiator", comment="补")
    page = list(ProcessInstance.objects.filter(pk__in=ids))
    with django_assert_max_num_queries(2):
        found = statuses(page)
    assert [found[i].code for i in ids] == ["withdrawn", "returned"] + ["running"] * 4


def test_every_status_has_words_in_both_languages() -> None:
    for code in request_status.LABELS:
        status = request_status.Status(code)  # type: ignore[arg-type]
        with translation.override("en"):
            english = status.label
        with translation.override("zh-hans"):
            chinese = status.label
        assert english and chinese and english != chinese, code
        assert re.search(r"[\u4e00-\u9fff]", chinese), (code, chinese)


def test_pages_and_the_api_show_the_status_in_words(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    client = login(employee)
    with translation.override("zh-hans"):
        page = client.get(f"/workflow/instances/{iid}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert 'class="tag status status-approved"' in html
    body = client.get(f"/api/v1/instances/{iid}").json()
    assert body["state"] == "completed"  # the machine field stays the engine's
    assert body["status"] == "approved"
    listed = client.get("/api/v1/instances/").json()
    assert [(r["id"], r["status"]) for r in listed["results"]] == [(iid, "approved")]


# --- no 认领 -------------------------------------------------------------------------------


def test_a_role_task_is_taken_by_the_first_candidate_who_acts(
    employee: User, colleague: User, dept_head: User
) -> None:
    make_role("reviewers", colleague, dept_head)
    deploy_steps(user_task("Review", groups="role:reviewers"))
    iid = start(employee)
    task = open_task(iid, "Review")
    assert task.assignee == ""
    approvals.task_approve(task.pk, user=colleague, comment="同意")
    task.refresh_from_db()
    assert (task.state, task.completed_by, task.assignee) == ("completed", "wangfang", "wangfang")
    with pytest.raises(AlreadyHandled) as refused:
        approvals.task_approve(task.pk, user=dept_head)
    assert str(refused.value) == "Someone else has already handled this task."
    assert _reason(task.pk, dept_head) == "此任务已被他人处理。"


def _reason(task_id: int, user: User) -> str:
    with translation.override("zh-hans"):
        try:
            approvals.task_approve(task_id, user=user)
        except AlreadyHandled as error:
            return str(error)
    raise AssertionError("not refused")


def test_a_candidate_after_another_took_the_task_by_handing_it_on_is_told(
    employee: User, colleague: User, dept_head: User, outsider: User
) -> None:
    """The first candidate transferred it (which took it); the second is told someone else
    has it, not "not yours"."""
    make_role("reviewers", colleague, dept_head)
    deploy_steps(user_task("Review", groups="role:reviewers"))
    task = open_task(start(employee), "Review")
    approvals.task_transfer(task.pk, user=colleague, to=outsider.username)
    with pytest.raises(AlreadyHandled, match=r"Someone else has already handled this task\."):
        approvals.task_reject(task.pk, user=dept_head, comment="不同意")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="races need concurrent connections (PostgreSQL)"
)
def test_two_candidates_approving_at_once_one_wins_the_other_is_told(
    employee: User, colleague: User, dept_head: User
) -> None:
    """No 认领 first: both open the task and approve at the same instant; the instance's
    lock lets one through, the other is told someone else handled it."""
    make_role("reviewers", colleague, dept_head)
    deploy_steps(user_task("Review", groups="role:reviewers"))
    for _round in range(6):
        task = open_task(start(employee), "Review")
        results = race(
            partial(approvals.task_approve, task.pk, user=colleague),
            partial(approvals.task_approve, task.pk, user=dept_head),
        )
        losers = [r for r in results if r is not None]
        assert len(losers) == 1 and isinstance(losers[0], AlreadyHandled), results
        # in the racing thread's language (the site's default, not the test's English)
        with translation.override(django_settings.LANGUAGE_CODE):
            told = gettext("Someone else has already handled this task.")
        assert str(losers[0]) in {told, "Someone else has already handled this task."}
        task.refresh_from_db()
        winner = colleague if results[0] is None else dept_head
        assert (task.state, task.completed_by) == ("completed", winner.username)


def test_pages_offer_no_claim(
    login: Callable[[User], Client], employee: User, colleague: User, dept_head: User
) -> None:
    make_role("reviewers", colleague, dept_head)
    deploy_steps(user_task("Review", groups="role:reviewers"))
    task = open_task(start(employee), "Review")
    _english(colleague)
    client = login(colleague)
    page = client.get(f"/workflow/tasks/{task.pk}/").content.decode()
    assert 'data-action="claim"' not in page and 'data-action="unclaim"' not in page
    assert 'data-action="approve"' in page
    # whoever may act on it is named (not "not claimed yet")
    assert "(whoever acts first)" in page
    inbox = client.get("/workflow/inbox/").content.decode()
    assert "/workflow/inbox/claim/" not in inbox
    assert f"/workflow/tasks/{task.pk}/" in inbox
    # the page's claim action is gone; the API keeps it
    assert client.post(f"/workflow/tasks/{task.pk}/claim/").status_code == 404
    api = client.post(f"/api/v1/tasks/{task.pk}/claim", content_type="application/json")
    assert api.status_code == 200


# --- 撤回 and 撤销 --------------------------------------------------------------------------


def test_withdraw_and_cancel_are_explained_and_not_two_red_buttons(
    login: Callable[[User], Client], employee: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    iid = start(employee)
    _english(employee)
    page = login(employee).get(f"/workflow/instances/{iid}/").content.decode()
    bar = page.split('id="actions"', 1)[1].split("</div>\n", 1)[0]
    withdraw = re.search(r'<a [^>]*data-action="withdraw"[^>]*>', bar)
    cancel = re.search(r'<a [^>]*data-action="cancel"[^>]*>', bar)
    assert withdraw is not None and cancel is not None
    assert "danger" not in withdraw.group(0)
    assert "danger" not in cancel.group(0)
    assert bar.index("<details") < bar.index('data-action="cancel"')  # 撤销 under "More"
    assert bar.index('data-action="withdraw"') < bar.index("<details")
    assert "The request does not end." in page  # the withdraw dialog says what it does
    assert "Cancelling ends the request for good" in page


# --- nothing raw -----------------------------------------------------------------------------


def _recorded_kinds() -> set[str]:
    """Every history kind the code writes (``run.record("…")``, ``kind="…"`` of a history
    row, the engine's SQL): read from the sources, so a kind added later is checked too."""
    found: set[str] = set()
    for path in (ROOT / "workflow").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'\.record\(\s*"([a-z-]+)"', text))
        found |= set(re.findall(r"'(task-[a-z]+)'", text))
        for block in re.findall(r"HistoryEvent(?:\.objects\.create)?\((.*?)\)", text, re.S):
            found |= set(re.findall(r'kind="([a-z-]+)"', block))
    return found


def test_every_history_kind_has_words_in_both_languages() -> None:
    kinds = _recorded_kinds()
    assert {"task-cancelled", "task-created", "activity", "instance-start", "urged"} <= kinds
    for kind in sorted(kinds):
        assert kind in KINDS or kind in STEP_EVENTS or kind == "task-completed", kind
        with translation.override("en"):
            english = event_words(kind)
        with translation.override("zh-hans"):
            chinese = event_words(kind)
        assert english != kind and kind not in chinese, kind
        assert re.search(r"[\u4e00-\u9fff]", chinese), (kind, chinese)
    # a kind nobody gave words yet still reads as words
    assert "some-new-kind" not in event_words("some-new-kind")


def test_the_chinese_instance_page_shows_no_raw_history_kind(
    login: Callable[[User], Client], employee: User, colleague: User, dept_head: User
) -> None:
    make_role("reviewers", colleague, dept_head)
    deploy_steps(
        user_task("Manager", assignee="lina"), user_task("Review", groups="role:reviewers")
    )
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    approvals.instance_urge(iid, user=employee)
    approvals.instance_cancel(iid, user=employee, reason="不需要了")
    kinds = set(HistoryEvent.objects.filter(instance_id=iid).values_list("kind", flat=True))
    assert "task-cancelled" in kinds
    employee.preferred_language = "zh-hans"
    employee.save()
    html = login(employee).get(f"/workflow/instances/{iid}/").content.decode()
    visible = re.sub(r"<[^>]+>", " ", html)
    for kind in kinds | {"role:reviewers", "Task_", "task-cancelled"}:
        assert kind not in visible, kind


def test_a_refused_return_names_the_steps_not_their_ids(employee: User, dept_head: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina"), user_task("Head", assignee="lina"))
    settings(initiator_approver="keep", auto_pass_repeated=False)
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    task = open_task(iid, "Head")
    with pytest.raises(ActionRefused) as refused:
        approvals.task_return(task.pk, user=dept_head, target="Nowhere", comment="退回")
    message = str(refused.value)
    assert "Manager step" in message and "Request" in message
    assert "Manager," not in message and "Nowhere" not in message


def test_the_return_dialog_refuses_an_unknown_step_by_naming_the_steps(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"), user_task("Head", assignee="lina"))
    settings(auto_pass_repeated=False)
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    task = open_task(iid, "Head")
    _english(dept_head)
    response = login(dept_head).post(
        f"/workflow/tasks/{task.pk}/return/",
        {"return-target": "Task_DeptHeadApproval", "return-comment": "退回", "confirmed": "1"},
    )
    html = response.content.decode()
    assert "It can only be returned to a step it has passed: Request、Manager step." in html
    assert "Task_DeptHeadApproval" not in re.sub(r"<[^>]+>", " ", html)


def test_incidents_read_as_words_with_the_error_kept_as_detail() -> None:
    text = incident_text(
        "Task_Archive: dms.store_contract: the connection is not configured; set DMS_BRIDGE_URL"
    )
    assert text.words == "The system this step connects to is not set up yet."
    with translation.override("zh-hans"):
        assert incident_text("x: not configured").words == "这一步要连接的系统尚未配置。"
    assert "Task_Archive" not in text.words and text.detail.startswith("dms.store_contract")
    assert incident_text("Gateway_1: no outgoing flow can be taken").words == (
        "No path of the diagram fits the request's data."
    )
    assert incident_text("boom").words == "An error stopped this step."


def test_the_instance_page_shows_an_incident_in_words(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    iid = start(employee)
    Incident.objects.create(
        instance_id=iid,
        element_id="Manager",
        message="Manager: erp.reserve_budget: HTTP 503 from the bridge",
        created_at=timezone.now(),
    )
    _english(employee, dept_head)
    employee_page = login(employee).get(f"/workflow/instances/{iid}/").content.decode()
    assert "The other system could not be reached or refused the call." in employee_page
    assert "HTTP 503" not in employee_page  # the technical detail is for administrators
    admin_page = login(make_admin(dept_head)).get(f"/workflow/instances/{iid}/").content.decode()
    assert "erp.reserve_budget: HTTP 503 from the bridge" in admin_page
