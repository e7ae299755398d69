"""The approval chain in people (workflow/selectors/chain.py): who will handle a request,
step by step, for the data entered, without starting anything; the preview beside the start
form (``workflow:start-preview``); the approval timeline of the task and instance pages
(workflow/selectors/timeline.py ``approval_timeline``).

Personas (tests/conftest.py): 张伟 (employee) starts; 李娜 (dept_head) is his manager and
head of 销售部; 王芳 (colleague) and 刘洋 (outsider) hold roles as a test needs; 陈总 heads
the company (two levels above 张伟).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.models import Department, Notification, User
from tests.factories import UserFactory, role
from tests.workflow.approval_helpers import (
    away,
    deploy_body,
    deploy_steps,
    make_role,
    open_task,
    start,
    user_task,
)
from tests.workflow.approval_helpers import settings as process_settings
from tests.workflow.engine_helpers import chain, flow
from workflow.demo import DEMO_DIR
from workflow.engine.cache import graph_for_definition
from workflow.models import (
    HistoryEvent,
    Job,
    ProcessDefinition,
    ProcessInstance,
    ProcessSettings,
    Task,
)
from workflow.selectors.chain import (
    ChainPreview,
    avatar_text,
    chain_preview,
    entered_data,
)
from workflow.selectors.timeline import approval_timeline
from workflow.services import approvals, definitions

KEY = "leave"
AMOUNT = '<camunda:formField id="amount" label="Amount" type="long"/>'
HANDOVER = '<camunda:formField id="handover" label="Handover" type="string"/>'


@pytest.fixture
def gm(org: dict[str, Department]) -> User:
    """陈总, head of the company (总经办, the root): two heads above 张伟."""
    user = UserFactory.create(
        username="chenzong", first_name="总", last_name="陈", department=org["root"]
    )
    root = org["root"]
    root.head = user
    root.save()
    return user


def latest(key: str = KEY) -> int:
    return (
        ProcessDefinition.objects.filter(key=key).order_by("-version").values_list("pk", flat=True)
    )[0]


def preview(user: User, key: str = KEY, **data: Any) -> ChainPreview:
    return chain_preview(latest(key), initiator=user, data=data)


def steps(found: ChainPreview) -> list[tuple[str, list[str], bool]]:
    """(step name, people's names, passes) of each step."""
    return [(s.name, [p.name for p in s.people], s.passes) for s in found.steps]


def deploy_claim() -> str:
    """Deploy the demo expense claim; the label of its amount field (the start form's)."""
    xml = (DEMO_DIR / "expense_claim.bpmn").read_text(encoding="utf-8")
    definitions.definition_deploy(xml=xml, source_name="expense_claim.bpmn")
    start_event = graph_for_definition(latest("expense_claim")).start_event(None)
    return next(f.label for f in start_event.form_fields if f.id == "amount")


# --- the walk: conditions, people, rules ---------------------------------------------------------


def test_conditions_switch_the_path_as_the_data_changes(
    employee: User, dept_head: User, outsider: User, gm: User
) -> None:
    amount = deploy_claim()
    make_role("finance_reviewer", outsider)
    make_role("general_manager", gm)
    small = preview(employee, "expense_claim", amount=3200)
    assert steps(small) == [("直属上级审批", ["李娜"], False), ("财务审核", ["刘洋"], False)]
    assert small.reached_end and small.waiting_for == ""
    large = preview(employee, "expense_claim", amount=8000)
    assert steps(large) == [
        ("直属上级审批", ["李娜"], False),
        ("部门负责人审批", ["陈总"], False),
        ("财务审核", ["刘洋"], False),
        ("总经理审批", ["陈总"], False),
    ]
    # not filled in yet: the steps before the gateway, then what the rest depends on
    unknown = preview(employee, "expense_claim")
    assert steps(unknown) == [("直属上级审批", ["李娜"], False)]
    assert amount in unknown.waiting_for and not unknown.reached_end


def test_role_candidates_are_listed_by_name_without_the_initiator(
    employee: User, colleague: User, outsider: User
) -> None:
    make_role("finance_reviewer", outsider, colleague, employee)
    deploy_steps(user_task("review", groups="role:finance_reviewer"))
    [step] = preview(employee).steps
    assert [p.name for p in step.people] == ["刘洋", "王芳"]  # by user name; 张伟 left out
    assert step.mode == "anyone" and step.mode_label == "any one of them"
    assert [p.initials for p in step.people] == ["刘洋", "王芳"]


def test_department_candidates_include_sub_departments(
    employee: User, dept_head: User, colleague: User, outsider: User
) -> None:
    deploy_steps(user_task("sales", groups="dept:SALES"))
    [step] = preview(outsider).steps
    assert sorted(p.username for p in step.people) == ["lina", "wangfang", "zhangwei"]


def test_manager_chain(employee: User, dept_head: User, gm: User) -> None:
    deploy_steps(
        user_task("manager", assignee="${manager(initiator)}"),
        user_task("head", assignee="${deptHead(initiator, 2)}"),
    )
    assert steps(preview(employee)) == [
        ("manager step", ["李娜"], False),
        ("head step", ["陈总"], False),
    ]


def test_the_initiator_is_skipped_unless_the_step_allows_them(
    employee: User, dept_head: User
) -> None:
    deploy_steps(
        user_task("boss", assignee="${boss}"),
        user_task("own", assignee="${initiator}"),
        start_fields='<camunda:formField id="boss" label="Boss" type="string"/>',
    )
    found = preview(employee, boss="zhangwei")
    assert steps(found) == [("boss step", ["张伟"], True), ("own step", ["张伟"], False)]
    assert "nobody approves their own request" in found.steps[0].note
    deploy_steps(
        user_task("boss", assignee="${boss}", props={"initiatorMayApprove": "true"}),
        start_fields='<camunda:formField id="boss" label="Boss" type="string"/>',
    )
    assert steps(preview(employee, boss="zhangwei")) == [("boss step", ["张伟"], False)]


def test_the_same_approver_twice_passes_the_second_time(employee: User, dept_head: User) -> None:
    deploy_steps(
        user_task("first", assignee="${manager(initiator)}"),
        user_task("second", assignee="lina"),
    )
    found = preview(employee)
    assert steps(found) == [("first step", ["李娜"], False), ("second step", ["李娜"], True)]
    assert "same person approved the step before" in found.steps[1].note
    process_settings(auto_pass_repeated=False)
    assert [s.passes for s in preview(employee).steps] == [False, False]


def test_nobody_to_handle_a_step_follows_the_empty_assignee_policy(
    employee: User, outsider: User
) -> None:
    deploy_steps(user_task("review", groups="role:nobody_holds_it"))
    process_settings(empty_assignee="skip")
    [step] = preview(employee).steps
    assert step.passes and step.people == []
    escalation = make_role("escalation", outsider)
    process_settings(empty_assignee="escalate", escalation_role=escalation)
    [step] = preview(employee).steps
    assert [p.name for p in step.people] == ["刘洋"] and not step.passes
    process_settings(empty_assignee="incident", escalation_role=None)
    [step] = preview(employee).steps
    assert step.people == [] and "administrator will choose" in step.note


@pytest.mark.parametrize(
    ("props", "mi", "mode", "label"),
    [
        ({"countersign": "all"}, "", "all", "all must approve"),
        ({"countersign": "any"}, "", "any", "the first to decide"),
        ({"countersign": "ratio:0.6"}, "", "ratio", "60% must approve"),
        ({"countersign": "sequence"}, "", "sequence", "one after another"),
        ({}, ' isSequential="true"', "sequence", "one after another"),
    ],
)
def test_countersign_lists_everyone_with_its_mode(
    employee: User,
    dept_head: User,
    colleague: User,
    outsider: User,
    props: dict[str, str],
    mi: str,
    mode: str,
    label: str,
) -> None:
    deploy_steps(
        user_task(
            "sign",
            assignee="${signer}",
            props=props,
            mi=f'camunda:collection="${{signers}}" camunda:elementVariable="signer"{mi}',
        ),
        start_fields='<camunda:formField id="signers" label="Signers" type="string"/>',
    )
    [step] = preview(employee, signers=["lina", "zhangwei", "liuyang", "wangfang"]).steps
    assert step.kind == "countersign" and (step.mode, step.mode_label) == (mode, label)
    assert [p.name for p in step.people] == ["李娜", "刘洋", "王芳"]
    assert "initiator is left out" in step.note


def test_copies_of_a_step_and_at_the_end(
    employee: User, dept_head: User, colleague: User, outsider: User
) -> None:
    make_role("records", outsider)
    deploy_steps(user_task("approve", assignee="lina", props={"cc": "role:records"}))
    process_settings(cc_at_end="wangfang")
    found = preview(employee)
    assert [(s.kind, [p.name for p in s.people]) for s in found.steps] == [
        ("task", ["李娜"]),
        ("cc", ["刘洋"]),
        ("cc", ["王芳"]),
    ]
    assert found.steps[-1].name == "CC when approved"


def test_a_participant_field_not_filled_in_is_named(employee: User, colleague: User) -> None:
    deploy_steps(
        user_task("handover", assignee="${handover}"),
        user_task("after", assignee="wangfang"),
        start_fields=HANDOVER,
    )
    found = preview(employee)
    assert found.steps[0].people == [] and "Handover" in found.steps[0].note
    assert steps(found)[1] == ("after step", ["王芳"], False)  # the walk goes on
    assert steps(preview(employee, handover="wangfang"))[0] == ("handover step", ["王芳"], False)


def test_a_route_that_depends_on_a_later_step_says_so(employee: User, dept_head: User) -> None:
    fields = '<camunda:formField id="approved_amount" label="Approved amount" type="long"/>'
    body = (
        '<startEvent id="start"/>'
        + user_task("finance", assignee="lina", fields=fields)
        + '<exclusiveGateway id="gw" default="gw-end"/>'
        + user_task("gm", assignee="lina")
        + '<endEvent id="end"/>'
        + chain("start", "finance", "gw")
        + flow("gw", "gm", "${approved_amount > 5000}")
        + flow("gw", "end")
        + flow("gm", "end")
    )
    deploy_body(body)
    found = preview(employee)
    assert steps(found) == [("finance step", ["李娜"], False)]
    assert found.waiting_for == "The next steps depend on what finance step decides."


def test_parallel_branches_are_all_listed_then_the_join(
    employee: User, dept_head: User, colleague: User, outsider: User
) -> None:
    body = (
        '<startEvent id="start"/><parallelGateway id="fork"/><parallelGateway id="join"/>'
        + user_task("a", assignee="wangfang")
        + user_task("b", assignee="liuyang")
        + user_task("last", assignee="lina")
        + '<endEvent id="end"/>'
        + chain("start", "fork")
        + flow("fork", "a")
        + flow("fork", "b")
        + flow("a", "join")
        + flow("b", "join")
        + chain("join", "last", "end")
    )
    deploy_body(body)
    found = preview(employee)
    assert [(s.name, s.branch > 0) for s in found.steps] == [
        ("a step", True),
        ("b step", True),
        ("last step", False),
    ]
    assert found.steps[0].branch != found.steps[1].branch and found.reached_end


def test_an_absent_approver_s_proxy_is_named(
    employee: User, dept_head: User, colleague: User
) -> None:
    away(dept_head, colleague)
    deploy_steps(user_task("manager", assignee="${manager(initiator)}"))
    [step] = preview(employee).steps
    assert [p.name for p in step.people] == ["王芳"] and "李娜 is away" in step.note


def test_the_preview_writes_nothing(
    employee: User, dept_head: User, outsider: User, gm: User
) -> None:
    deploy_claim()
    make_role("finance_reviewer", outsider)
    tables = (ProcessInstance, Task, HistoryEvent, Job, Notification, ProcessSettings)
    before = [model.objects.count() for model in tables]
    with CaptureQueriesContext(connection) as queries:
        preview(employee, "expense_claim", amount=8000)
        element = graph_for_definition(latest("expense_claim")).start_event(None)
        entered_data(element, {"amount": "8000", "reason": "x"}, user=employee)
    assert [model.objects.count() for model in tables] == before
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"])
    ]
    assert writes == []


def test_entered_data_keeps_what_is_valid_and_names_what_is_not(employee: User) -> None:
    deploy_steps(user_task("a", assignee="lina"), start_fields=AMOUNT + HANDOVER)
    element = graph_for_definition(latest()).start_event(None)
    entered = entered_data(element, {"amount": "abc", "handover": "wangfang"}, user=employee)
    assert entered.values == {"handover": "wangfang"} and entered.invalid == ["amount"]
    assert entered_data(element, {"amount": "12"}, user=employee).values == {"amount": 12}


def test_avatar_text() -> None:
    assert [avatar_text(n) for n in ("张伟", "欧阳娜娜", "Wei Zhang", "lina", " ")] == [
        "张伟",
        "娜娜",
        "WZ",
        "LI",
        "?",
    ]


# --- the preview beside the start form ---------------------------------------------------------


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def _login(user: User) -> Client:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
        client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
        return client

    return _login


PREVIEW = "/workflow/processes/expense_claim/start/preview/"


def test_start_page_shows_the_chain_and_asks_for_it_again_as_fields_change(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    amount = deploy_claim()
    html = login(employee).get("/workflow/processes/expense_claim/start/").content.decode()
    assert 'id="chain"' in html and f'hx-post="{PREVIEW}"' in html
    assert (
        'hx-trigger="change from:#start-form' in html and 'hx-params="not meta-attachments"' in html
    )
    assert "直属上级审批" in html and "李娜" in html
    assert f"Depends on {amount}: fill it in" in html  # the rest depends on the amount


def test_preview_follows_the_values_posted(
    login: Callable[[User], Client], employee: User, dept_head: User, gm: User
) -> None:
    deploy_claim()
    client = login(employee)
    small = client.post(PREVIEW, {"amount": "3200"}).content.decode()
    large = client.post(PREVIEW, {"amount": "8000"}).content.decode()
    assert "部门负责人审批" not in small and "财务审核" in small
    assert "部门负责人审批" in large and "陈总" in large
    assert "部门负责人审批" in client.get(PREVIEW, {"amount": "8000"}).content.decode()
    assert ProcessInstance.objects.count() == 0


def test_preview_of_bad_data_says_so_instead_of_failing(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    amount = deploy_claim()
    response = login(employee).post(PREVIEW, {"amount": "many", "expense_date": "soon"})
    assert response.status_code == 200
    assert f"Depends on {amount}: correct it to see" in response.content.decode()
    assert ProcessInstance.objects.count() == 0


def test_preview_is_404_for_who_may_not_start_it(
    login: Callable[[User], Client], employee: User, outsider: User
) -> None:
    deploy_claim()
    row = process_settings("expense_claim")
    row.starter_roles.add(role("sales_rep"))
    assert login(outsider).post(PREVIEW, {"amount": "1"}).status_code == 404
    assert login(outsider).get("/workflow/processes/nothing/start/preview/").status_code == 404


def test_preview_needs_a_signed_in_person(client: Client, employee: User) -> None:
    deploy_claim()
    response = client.post(PREVIEW, {"amount": "1"})
    assert response.status_code == 302 and "/login" in response["Location"]


# --- the timeline of the task and instance pages -------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def test_timeline_names_people_comments_and_who_can_act_at_a_role_step(
    login: Callable[[User], Client],
    employee: User,
    dept_head: User,
    colleague: User,
    outsider: User,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    make_role("finance_reviewer", colleague, outsider)
    deploy_steps(
        user_task("manager", assignee="${manager(initiator)}"),
        user_task("finance", groups="role:finance_reviewer"),
        user_task("archive", assignee="lina"),
    )
    instance_id = start(employee)
    first = open_task(instance_id)
    approvals.task_approve(first.pk, user=dept_head, comment="情况属实，同意。")
    Task.objects.filter(pk=first.pk).update(signature="sig.png")
    (tmp_path / "sig.png").write_bytes(PNG)
    html = login(employee).get(f"/workflow/instances/{instance_id}/").content.decode()
    flow_html = html[html.index('<ol class="timeline flow">') : html.index("</ol>")]
    # the submission, the decided step with its opinion and signature
    assert "Submitted" in flow_html and "张伟" in flow_html
    assert "manager step" in flow_html and "李娜" in flow_html and "Approved" in flow_html
    assert "情况属实，同意。" in flow_html
    assert f'src="/workflow/tasks/{first.pk}/signature.png"' in flow_html
    # the role step: the people who can act, the step named once, no "claim"
    now = flow_html[flow_html.index("kind-now") :]
    assert "王芳" in now and "刘洋" in now and "to handle" in now
    assert flow_html.count("finance step") == 1 and "claim" not in flow_html.lower()
    # the step still to come, greyed
    ahead = flow_html[flow_html.index("kind-ahead") :]
    assert "archive step" in ahead and "李娜" in ahead and "to come" in ahead
    # the diagram stays, folded
    assert '<details class="diagram-fold">' in html


def test_timeline_of_an_ended_request_ends_with_its_status(employee: User, dept_head: User) -> None:
    deploy_steps(user_task("manager", assignee="lina"))
    instance_id = start(employee)
    approvals.task_reject(open_task(instance_id).pk, user=dept_head, comment="预算不足")
    instance = ProcessInstance.objects.get(pk=instance_id)
    nodes = approval_timeline(instance, graph_for_definition(instance.definition_id)).nodes
    assert [n.kind for n in nodes] == ["start", "step", "end"]
    assert nodes[1].marks[0].state == "Rejected" and nodes[1].marks[0].comment == "预算不足"
    assert nodes[-1].title == "Rejected"


def test_timeline_queries_do_not_grow_with_the_history(
    login: Callable[[User], Client], employee: User, dept_head: User, colleague: User
) -> None:
    make_role("finance_reviewer", colleague)
    steps_ = [user_task(f"s{n}", assignee="lina" if n % 2 else "wangfang") for n in range(6)]
    deploy_steps(*steps_)
    process_settings(auto_pass_repeated=False)
    instance_id = start(employee)
    client = login(employee)
    url = f"/workflow/instances/{instance_id}/"

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    approvals.task_approve(open_task(instance_id).pk, user=colleague, comment="1")
    early = count()
    for _n in range(3):
        task = open_task(instance_id)
        user = dept_head if task.assignee == "lina" else colleague
        approvals.task_approve(task.pk, user=user, comment="ok")
    assert count() <= early


def test_a_countersign_under_way_is_one_node_with_the_votes_and_who_is_still_to_act(
    employee: User, dept_head: User, colleague: User
) -> None:
    deploy_steps(
        user_task(
            "sign",
            assignee="${signer}",
            props={"countersign": "all"},
            mi='camunda:collection="${signers}" camunda:elementVariable="signer"',
        ),
    )
    instance_id = start(employee, signers=["lina", "wangfang"])
    approvals.task_approve(
        open_task(instance_id, assignee="lina").pk, user=dept_head, comment="同意"
    )
    instance = ProcessInstance.objects.get(pk=instance_id)
    nodes = approval_timeline(instance, graph_for_definition(instance.definition_id)).nodes
    assert [n.kind for n in nodes] == ["start", "now"]
    sign = nodes[1]
    assert (sign.title, sign.mode) == ("sign step", "all must approve")
    assert [(m.person.name if m.person else "", m.state) for m in sign.marks] == [
        ("李娜", "Approved"),
        ("王芳", "In progress"),
    ]


def test_a_transfer_shows_who_handed_it_to_whom_and_who_holds_it(
    employee: User, dept_head: User, colleague: User
) -> None:
    deploy_steps(user_task("manager", assignee="lina"), user_task("next", assignee="liuyang"))
    instance_id = start(employee)
    approvals.task_transfer(
        open_task(instance_id).pk, user=dept_head, to="wangfang", comment="出差"
    )
    instance = ProcessInstance.objects.get(pk=instance_id)
    nodes = approval_timeline(instance, graph_for_definition(instance.definition_id)).nodes
    assert [n.kind for n in nodes] == ["start", "now", "ahead"]
    marks = nodes[1].marks
    assert [(m.person.name if m.person else "", m.state, m.to, m.comment) for m in marks] == [
        ("李娜", "Transferred", ["王芳"], "出差"),
        ("王芳", "In progress", [], ""),
    ]
