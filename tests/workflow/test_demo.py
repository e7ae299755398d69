"""The demo processes (workflow/demo/*.bpmn) and what ``seed_demo`` starts with them.

The files deploy and draw (every node and flow in the diagram, on a grid, nothing on top of
anything else); a seeded database has work waiting for the demo logins, and a second run
changes nothing; the processes route as drawn: an expense claim by its amount, a leave by its
days, the purchase countersign with one task per approver, a hand-over person on leave
answered by their proxy.
"""

from __future__ import annotations

import io
import itertools
import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from portal.models import CalendarDay, LeaveBalance, User
from tests.workflow.signature_helpers import signature_for
from workflow import demo
from workflow.bpmn.model import Bounds, ElementKind
from workflow.bpmn.parser import parse_bpmn
from workflow.bpmn.render import render_svg
from workflow.models import (
    CarbonCopy,
    HistoryEvent,
    Incident,
    InstanceState,
    Job,
    ProcessDefinition,
    ProcessInstance,
    ProcessSettings,
    Task,
    TaskState,
)
from workflow.selectors import visibility
from workflow.selectors.inbox import tasks_todo
from workflow.services import approvals, notifications
from workflow.services.definitions import definition_deploy
from workflow.services.engine import instance_start
from workflow.services.jobs import jobs_run_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seed_without_knowledge")]

KEYS = ("expense_claim", "leave_request", "purchase_request", "contract_review")
CJK = re.compile(r"[\u4e00-\u9fff]")


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", allow_production=True, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return seed()


def user(username: str) -> User:
    return User.objects.get(username=username)


def by_key(business_key: str) -> ProcessInstance:
    return ProcessInstance.objects.get(business_key=business_key)


def open_tasks(instance_id: int, element_id: str | None = None) -> list[Task]:
    found = Task.objects.filter(instance_id=instance_id, state=TaskState.OPEN)
    if element_id is not None:
        found = found.filter(element_id=element_id)
    return list(found.order_by("pk"))


def handler(task: Task) -> User:
    """Who acts on ``task`` in these walks: its assignee, else its first candidate."""
    name = task.assignee or notifications.handlers_of(task)[0]
    return user(name)


def start(key: str, initiator: str, **variables: Any) -> int:
    return instance_start(key, variables=variables, initiator=user(initiator), title="测试")


# --- the files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_file_deploys_and_renders_every_element(key):
    data = (demo.DEMO_DIR / f"{key}.bpmn").read_bytes()
    (deployed,) = definition_deploy(xml=data, source_name=f"{key}.bpmn")
    assert (deployed.key, deployed.version, deployed.created) == (key, 1, True)
    definition = ProcessDefinition.objects.get(key=key)
    assert CJK.search(definition.name)
    assert definition.history_time_to_live

    definitions = parse_bpmn(data)
    process = definitions.processes[key]
    svg = render_svg(definitions)
    assert svg.startswith("<svg")
    for element_id in [*process.elements, *process.flows]:
        assert f'data-element-id="{element_id}"' in svg, element_id


@pytest.mark.parametrize("key", KEYS)
def test_every_element_and_flow_label_is_chinese(key):
    process = parse_bpmn((demo.DEMO_DIR / f"{key}.bpmn").read_bytes()).processes[key]
    for element in process.elements.values():
        assert CJK.search(element.name), element.id
        for form_field in element.form_fields:
            assert CJK.search(form_field.label), f"{element.id}.{form_field.id}"
            for value_id, value_name in form_field.enum_values:
                assert CJK.search(value_name), f"{element.id}.{form_field.id}={value_id}"
    for flow in process.flows.values():
        assert CJK.search(flow.name), flow.id


def _inside(b: Bounds, x: float, y: float, pad: float) -> bool:
    return b.x - pad <= x <= b.x + b.width + pad and b.y - pad <= y <= b.y + b.height + pad


def _on_border(b: Bounds, x: float, y: float) -> bool:
    shrunk = Bounds(b.x + 1, b.y + 1, b.width - 2, b.height - 2)
    return _inside(b, x, y, 1) and not _inside(shrunk, x, y, 0)


def _overlap(a: Bounds, b: Bounds) -> bool:
    return (
        a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    )


@pytest.mark.parametrize("key", KEYS)
def test_diagram_is_complete_and_laid_out_on_a_grid(key):
    """A shape for every node, an edge for every flow from its source's border to its
    target's, in straight horizontal and vertical segments, left to right, and no shape or
    label on top of another."""
    definitions = parse_bpmn((demo.DEMO_DIR / f"{key}.bpmn").read_bytes())
    process = definitions.processes[key]
    (diagram,) = definitions.diagrams
    shapes = {s.element_id: s for s in diagram.shapes}
    edges = {e.element_id: e for e in diagram.edges}
    assert set(shapes) == set(process.elements)
    assert set(edges) == set(process.flows)

    for flow in process.flows.values():
        points = edges[flow.id].waypoints
        assert len(points) >= 2, flow.id
        first, last = points[0], points[-1]
        assert _on_border(shapes[flow.source].bounds, first.x, first.y), flow.id
        assert _on_border(shapes[flow.target].bounds, last.x, last.y), flow.id
        for a, b in itertools.pairwise(points):
            assert a.x == b.x or a.y == b.y, f"{flow.id}: a slanted segment"
        assert last.x >= first.x, f"{flow.id} runs right to left"

    boxes = [(s.element_id, s.bounds) for s in shapes.values()]
    boxes += [(f"{s.element_id} label", s.label) for s in shapes.values() if s.label]
    boxes += [(f"{e.element_id} label", e.label) for e in edges.values() if e.label]
    for (name_a, box_a), (name_b, box_b) in itertools.combinations(boxes, 2):
        assert not _overlap(box_a, box_b), f"{name_a} overlaps {name_b}"


def test_start_forms_ask_what_the_brief_names():
    start_fields = {}
    for key in KEYS:
        process = parse_bpmn((demo.DEMO_DIR / f"{key}.bpmn").read_bytes()).processes[key]
        (start_event,) = process.start_events(None)
        start_fields[key] = {f.label: f for f in start_event.form_fields}
    expense = start_fields["expense_claim"]
    assert {"报销事由", "报销金额", "费用类型", "发生日期"} <= set(expense)
    assert expense["报销金额"].type == "money" and expense["报销金额"].validation["min"] == "0.01"
    assert [name for _id, name in expense["费用类型"].enum_values] == [
        "差旅",
        "招待",
        "办公",
        "其他",
    ]
    assert all(f.required for f in expense.values())
    leave = start_fields["leave_request"]
    assert [name for _id, name in leave["请假类型"].enum_values] == ["年假", "病假", "事假", "调休"]
    assert {"开始日期", "开始时段", "结束日期", "结束时段", "请假天数", "事由"} <= set(leave)
    assert leave["请假天数"].type == "leave_days"  # counted by the server, never typed
    assert leave["工作交接人"].type == "person"  # a picker, never a typed user name
    purchase = start_fields["purchase_request"]
    assert {"物品", "数量", "预算金额", "供应商"} <= set(purchase)
    assert purchase["预算金额"].type == "money"
    assert purchase["会签人（不选则由财务审核员会签）"].type == "people"
    contract = start_fields["contract_review"]
    assert {"合同名称", "对方单位", "合同金额", "签约日期"} <= set(contract)
    assert contract["合同金额"].type == "money"


def test_countersign_and_copy_are_step_properties():
    purchase = parse_bpmn((demo.DEMO_DIR / "purchase_request.bpmn").read_bytes()).processes[
        "purchase_request"
    ]
    countersign = purchase.elements["Task_Countersign"]
    assert countersign.kind is ElementKind.USER_TASK
    assert countersign.properties["countersign"] == "all"
    assert countersign.multi_instance is not None
    assert countersign.multi_instance.element_variable == "approver"
    assert "approvers" in (countersign.multi_instance.collection or "")
    contract = parse_bpmn((demo.DEMO_DIR / "contract_review.bpmn").read_bytes()).processes[
        "contract_review"
    ]
    assert contract.elements["Task_GmApproval"].properties["cc"] == "${manager(initiator)}"


# --- the seed ---------------------------------------------------------------------------------


def snapshot() -> dict[str, Any]:
    return {
        "definitions": list(ProcessDefinition.objects.values_list("pk", "key", "version")),
        "settings": list(ProcessSettings.objects.order_by("pk").values()),
        "instances": list(
            ProcessInstance.objects.order_by("pk").values_list(
                "pk", "business_key", "state", "revision", "variables"
            )
        ),
        "tasks": list(
            Task.objects.order_by("pk").values_list("pk", "element_id", "state", "assignee")
        ),
        "history": HistoryEvent.objects.count(),
        "jobs": Job.objects.count(),
        "copies": CarbonCopy.objects.count(),
    }


def test_second_run_changes_nothing(seeded):
    before = snapshot()
    assert len(before["instances"]) >= 10
    output = seed()
    assert snapshot() == before
    assert "created" not in output and "updated" not in output
    assert "demo instances: " in output and "existing" in output
    stats = demo.seed_workflow_demo()
    assert stats["deployed"] == stats["settings_saved"] == stats["instances_started"] == 0
    assert snapshot() == before


def test_first_run_reports_what_it_did(seeded):
    assert "demo processes: 4 (this run: deployed 4)" in seeded
    assert "process settings: 4 (this run: saved 4)" in seeded
    count = ProcessInstance.objects.filter(business_key__startswith="DEMO-").count()
    assert f"demo instances: {count} (this run: started {count})" in seeded
    assert re.search(r"^  huangli 黄丽: .*请假申请/交接人确认 \(for chenjing\)", seeded, re.M)


def test_bad_demo_data_stops_the_run_and_keeps_nothing_of_it(monkeypatch):
    """Demo data the start form refuses is a bug: the command says which request, and the
    processes, settings and instances of the run are rolled back together."""
    bad = demo.DemoInstance(
        "DEMO-EXP-9999", "expense_claim", "zhangwei", "缺金额", {"reason": "测试"}
    )
    monkeypatch.setattr(demo, "demo_instances", lambda: (bad,))
    with pytest.raises(CommandError, match=r"DEMO-EXP-9999.*amount"):
        seed()
    assert User.objects.filter(username="zhangwei").exists()  # the organization is kept
    assert not ProcessDefinition.objects.exists()
    assert not ProcessSettings.objects.exists()
    assert not ProcessInstance.objects.exists()


def test_settings_per_process(seeded):
    rows = {row.key: row for row in ProcessSettings.objects.select_related("escalation_role")}
    assert set(rows) == set(KEYS)
    assert {key: rows[key].category for key in KEYS} == {
        "expense_claim": "财务",
        "leave_request": "人事",
        "purchase_request": "采购",
        "contract_review": "法务",
    }
    for row in rows.values():
        assert CJK.search(row.description)
        assert row.default_due and row.remind_before and row.timeout
        assert row.escalation_role is not None
    assert rows["expense_claim"].reject == "return"
    assert rows["purchase_request"].reject == "route"


@pytest.mark.parametrize("username", ["chenjianguo", "lina", "zhangwei", "huangli", "zhaomin"])
def test_demo_logins_have_work_waiting(seeded, username):
    todo = tasks_todo(user(username)).filter(instance__business_key__startswith="DEMO-")
    assert todo.exists(), username


def test_zhangwei_waits_for_his_manager_and_one_claim_is_with_finance(seeded):
    first = by_key("DEMO-EXP-0001")
    assert first.initiator == "zhangwei"
    assert [(t.element_id, t.assignee) for t in open_tasks(first.pk)] == [
        ("Task_ManagerApproval", "yangfan")
    ]
    (finance,) = open_tasks(by_key("DEMO-EXP-0003").pk)
    assert finance.element_id == "Task_FinanceReview" and finance.assignee == ""
    assert finance in tasks_todo(user("huangli"))
    (head,) = open_tasks(by_key("DEMO-EXP-0002").pk)
    assert (head.element_id, head.assignee) == ("Task_DeptHeadApproval", "lina")
    (returned,) = open_tasks(by_key("DEMO-EXP-0005").pk)
    assert (returned.element_id, returned.assignee) == ("Start_Claim", "zhangwei")
    assert by_key("DEMO-EXP-0006").state == InstanceState.COMPLETED


def test_leave_reaches_the_proxy_of_the_hand_over_on_leave(seeded):
    instance = by_key("DEMO-LEAVE-0001")
    (task,) = open_tasks(instance.pk)
    assert (task.element_id, task.assignee, task.on_behalf_of) == (
        "Task_HandoverConfirm",
        "huangli",
        "chenjing",
    )
    assert task in tasks_todo(user("huangli"))
    assert task not in tasks_todo(user("chenjing"))

    approvals.task_approve(task.pk, user=user("huangli"), data={"handover_opinion": "已交接"})
    done = HistoryEvent.objects.get(task_id=task.pk, kind="task-completed")
    assert (done.actor, done.on_behalf_of) == ("huangli", "chenjing")
    (manager,) = open_tasks(instance.pk)
    assert (manager.element_id, manager.assignee) == ("Task_ManagerApproval", "liuyang")


def test_purchase_countersign_has_one_vote_cast(seeded):
    instance = by_key("DEMO-PUR-0001")
    votes = Task.objects.filter(instance=instance, element_id="Task_Countersign")
    assert sorted(votes.values_list("assignee", "state")) == [
        ("chenjianguo", "open"),
        ("dupeng", "completed"),
        ("wangxiuying", "open"),
    ]
    for vote in votes.filter(state=TaskState.OPEN):
        approvals.task_approve(vote.pk, user=user(vote.assignee))
    (purchase,) = open_tasks(instance.pk)
    assert purchase.element_id == "Task_Purchase"
    assert purchase in tasks_todo(user("dupeng"))  # 采购部 executes it


def test_contract_legal_reviewer_asked_finance_to_sign_first(seeded):
    instance = by_key("DEMO-CON-0001")
    legal = Task.objects.get(instance=instance, element_id="Task_LegalReview", signer="")
    assert (legal.assignee, legal.state) == ("xiewei", TaskState.WAITING)
    (signer,) = open_tasks(instance.pk)
    assert (signer.assignee, signer.signer, signer.added_by_id) == (
        "wangxiuying",
        "before",
        legal.pk,
    )
    approvals.task_approve(signer.pk, user=user("wangxiuying"), comment="账期可接受")
    legal.refresh_from_db()
    assert legal.state == TaskState.OPEN
    approvals.task_approve(legal.pk, user=user("xiewei"))
    (head,) = open_tasks(instance.pk)
    assert (head.element_id, head.assignee) == ("Task_DeptHeadApproval", "lina")


def test_contract_decision_is_copied_to_the_initiators_manager(seeded):
    instance = by_key("DEMO-CON-0002")
    (gm,) = open_tasks(instance.pk)
    assert gm.element_id == "Task_GmApproval"
    approvals.task_approve(gm.pk, user=user("chenjianguo"))
    jobs_run_due()  # what a worker (or the embedded sweep) does after the commit
    instance.refresh_from_db()
    # approved; archiving waits for the document system, which the demo does not configure
    assert instance.state == InstanceState.ACTIVE
    assert list(
        Incident.objects.filter(instance=instance, resolved_at__isnull=True).values_list(
            "element_id", flat=True
        )
    ) == ["Task_Archive"]
    assert set(
        CarbonCopy.objects.filter(instance=instance).values_list("user__username", flat=True)
    ) == {"lina"}


def test_an_approved_contract_waits_with_an_incident_for_the_console(seeded):
    instance = by_key("DEMO-CON-0003")
    jobs_run_due()  # what a worker (or the embedded sweep) does after the commit
    (incident,) = Incident.objects.filter(instance=instance, resolved_at__isnull=True)
    assert incident.element_id == "Task_Archive"
    assert "DMS_BRIDGE_URL" in incident.message
    assert not open_tasks(instance.pk)


def test_process_admin_is_staff_with_the_workflow_permissions(seeded):
    xugang = user("xugang")
    assert xugang.is_staff
    assert xugang.has_perms(
        [
            "workflow.manage_processes",
            "workflow.view_processinstance",
            "workflow.view_task",
            "workflow.view_incident",
        ]
    )
    assert not xugang.has_perm("workflow.change_processdefinition")
    assert visibility.is_process_admin(xugang)
    assert not visibility.is_process_admin(user("zhaomin"))


# --- the processes run as drawn ------------------------------------------------------------------


def walk(instance_id: int) -> list[tuple[str, str]]:
    """Approve every step until the instance ends; the (step, handler) in order."""
    path: list[tuple[str, str]] = []
    for _step in range(20):
        found = open_tasks(instance_id)
        if not found:
            break
        task = found[0]
        person = handler(task)
        path.append((task.element_id, person.username))
        approvals.task_approve(task.pk, user=person, signature=signature_for(task))
    return path


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (3000, [("Task_ManagerApproval", "yangfan"), ("Task_FinanceReview", "chenjing")]),
        (
            8000,
            [
                ("Task_ManagerApproval", "yangfan"),
                ("Task_DeptHeadApproval", "lina"),
                ("Task_FinanceReview", "chenjing"),
                ("Task_GmApproval", "chenjianguo"),
            ],
        ),
        (
            5000,
            [
                ("Task_ManagerApproval", "yangfan"),
                ("Task_DeptHeadApproval", "lina"),
                ("Task_FinanceReview", "chenjing"),
                ("Task_GmApproval", "chenjianguo"),
            ],
        ),
    ],
)
def test_expense_claim_routes_by_amount(seeded, amount, expected):
    instance_id = start(
        "expense_claim",
        "zhangwei",
        reason="测试",
        amount=amount,
        expense_type="travel",
        expense_date="2025-03-01",
    )
    assert walk(instance_id) == expected
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.COMPLETED


def test_demo_forms_store_amounts_people_and_counted_days(seeded):
    """The demo starts its requests through the start forms: amounts as exact text, the
    hand-over by user name, a leave's days counted with the 2026 calendar it seeds."""
    for key, days in [
        ("DEMO-LEAVE-0001", 5),
        ("DEMO-LEAVE-0002", 2),
        ("DEMO-LEAVE-0003", 4),
        ("DEMO-LEAVE-0004", 5),
    ]:
        assert by_key(key).variables["days"] == days
    assert by_key("DEMO-LEAVE-0001").variables["handover"] == "chenjing"
    assert by_key("DEMO-EXP-0001").variables["amount"] == "3200.00"
    approvers = by_key("DEMO-PUR-0001").variables["approvers"]
    assert approvers == ["dupeng", "wangxiuying", "chenjianguo"]
    assert CalendarDay.objects.filter(kind="holiday").count() == 33
    assert CalendarDay.objects.filter(kind="workday").count() == 6
    assert LeaveBalance.objects.get(user__username="wulei", leave_type="annual").days == 10


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (2, ["Task_HandoverConfirm", "Task_ManagerApproval"]),
        (
            5,
            [
                "Task_HandoverConfirm",
                "Task_ManagerApproval",
                "Task_DeptHeadApproval",
                "Task_HrFiling",
            ],
        ),
    ],
)
def test_leave_request_routes_by_days(seeded, days, expected):
    instance_id = start(
        "leave_request",
        "zhangwei",
        leave_type="annual",
        start_date="2025-03-03",
        end_date="2025-03-07",
        days=days,
        reason="测试",
        handover="wangfang",
    )
    assert [step for step, _who in walk(instance_id)] == expected
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.COMPLETED


def test_countersign_makes_one_task_per_approver(seeded):
    instance_id = start(
        "purchase_request",
        "lvbin",
        item="游标卡尺",
        quantity=5,
        budget=2500,
        approvers=["dupeng", "wangxiuying", "sujianhua"],
    )
    (head,) = open_tasks(instance_id)
    assert (head.element_id, head.assignee) == ("Task_DeptHeadApproval", "weidong")
    approvals.task_approve(head.pk, user=user("weidong"))
    votes = open_tasks(instance_id, "Task_Countersign")
    assert sorted(t.assignee for t in votes) == ["dupeng", "sujianhua", "wangxiuying"]
    for vote in votes[:2]:
        approvals.task_approve(vote.pk, user=user(vote.assignee))
    assert [t.element_id for t in open_tasks(instance_id)] == ["Task_Countersign"]
    approvals.task_approve(votes[2].pk, user=user(votes[2].assignee))
    assert [t.element_id for t in open_tasks(instance_id)] == ["Task_Purchase"]


def test_countersign_without_approvers_asks_the_finance_reviewers(seeded):
    """Started from the portal's form (no ``approvers``): the finance reviewers vote, 陈静's
    vote goes to her proxy; one rejection ends the request as 未通过 (reject = route)."""
    instance_id = start("purchase_request", "lvbin", item="游标卡尺", quantity=5, budget=2500)
    (head,) = open_tasks(instance_id)
    approvals.task_approve(head.pk, user=user("weidong"))
    votes = open_tasks(instance_id, "Task_Countersign")
    assert sorted((t.assignee, t.on_behalf_of) for t in votes) == [
        ("huangli", ""),
        ("huangli", "chenjing"),
        ("liuyang", ""),
        ("wangxiuying", ""),
    ]
    approvals.task_reject(votes[0].pk, user=user(votes[0].assignee), comment="预算不足")
    instance = ProcessInstance.objects.get(pk=instance_id)
    assert not open_tasks(instance_id)
    assert instance.end_event == "End_Rejected"
