"""The engine's scopes: embedded sub-processes, call activities and multi-instance activities.
One small process per behaviour."""

from __future__ import annotations

import pytest

from tests.workflow.conftest import RecordingApps
from tests.workflow.engine_helpers import (
    assert_ended,
    chain,
    complete,
    definitions,
    deploy,
    ends,
    fire_timers,
    flow,
    history,
    instance,
    jobs,
    open_tasks,
    path,
    process,
    runtime_rows,
    start,
    timer,
    variables,
)
from workflow.applications import ApplicationCall
from workflow.engine.runtime import BpmnErrorThrown, ProcessError
from workflow.models import Execution, Job, ProcessInstance, Task
from workflow.services import definitions as deploys
from workflow.services import engine
from workflow.services import jobs as job_services

pytestmark = pytest.mark.django_db


# --- embedded sub-processes ---------------------------------------------------------------------


def test_embedded_sub_process_runs_its_content_then_the_flow_goes_on() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<subProcess id="Sub"><startEvent id="ss"/><userTask id="X"/><userTask id="Y"/>'
        '<endEvent id="se"/>' + chain("ss", "X", "Y", "se") + "</subProcess>"
        '<userTask id="After"/><endEvent id="end"/>' + chain("start", "Sub", "After", "end")
    )
    iid = start()
    assert path(iid) == ["start", "ss"]
    assert open_tasks(iid) == ["X"]
    assert sorted(Execution.objects.filter(instance_id=iid).values_list("element_id", "state")) == [
        ("Sub", "scope"),
        ("X", "waiting"),
    ]
    complete(iid, "X")
    complete(iid, "Y")
    assert path(iid) == ["start", "ss", "X", "Y", "se", "Sub"]
    assert open_tasks(iid) == ["After"]
    assert runtime_rows(iid)["executions"] == 1
    complete(iid, "After")
    assert_ended(iid, end_event="end")


def test_sub_process_without_wait_state_is_passed_while_starting() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<subProcess id="Sub"><startEvent id="ss"/><task id="T"/><endEvent id="se"/>'
        + chain("ss", "T", "se")
        + "</subProcess>"
        '<endEvent id="end"/>' + chain("start", "Sub", "end")
    )
    iid = start()
    assert path(iid) == ["start", "ss", "T", "se", "Sub", "end"]
    assert_ended(iid)


def test_sub_process_completes_only_when_all_its_paths_end() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<subProcess id="Sub"><startEvent id="ss"/><parallelGateway id="fork"/>'
        '<userTask id="X"/><userTask id="Y"/><endEvent id="ex"/><endEvent id="ey"/>'
        + flow("ss", "fork")
        + flow("fork", "X")
        + flow("fork", "Y")
        + flow("X", "ex")
        + flow("Y", "ey")
        + "</subProcess>"
        '<userTask id="After"/>' + chain("start", "Sub", "After") + ends("After")
    )
    iid = start()
    complete(iid, "X")
    assert open_tasks(iid) == ["Y"]
    complete(iid, "Y")
    assert open_tasks(iid) == ["After"]
    assert path(iid).count("Sub") == 1


def test_terminate_end_event_in_a_sub_process_ends_only_the_sub_process() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<subProcess id="Sub"><startEvent id="ss"/><parallelGateway id="fork"/>'
        '<userTask id="X"/><userTask id="Y"/><endEvent id="ex"/>'
        '<endEvent id="stop"><terminateEventDefinition/></endEvent>'
        + flow("ss", "fork")
        + flow("fork", "X")
        + flow("fork", "Y")
        + flow("X", "ex")
        + flow("Y", "stop")
        + "</subProcess>"
        '<userTask id="After"/>' + chain("start", "Sub", "After") + ends("After")
    )
    iid = start()
    complete(iid, "Y")
    assert instance(iid).state == "active"
    assert open_tasks(iid) == ["After"]
    assert Task.objects.get(instance_id=iid, element_id="X").state == "cancelled"
    assert path(iid)[-4:] == ["Y", "stop", "X", "Sub"]


# --- call activities ----------------------------------------------------------------------------


def deploy_pair(parent_body: str, child_body: str, extra: str = "") -> None:
    """Deploy the called process ``child`` and the calling process ``parent`` in one file."""
    deploys.definition_deploy(
        xml=definitions(extra, process("child", child_body), process("parent", parent_body)),
        source_name="pair.bpmn",
    )


CALL = (
    '<startEvent id="start"/>'
    '<callActivity id="Call" calledElement="child"><extensionElements>'
    '<camunda:in source="amount" target="limit"/>'
    '<camunda:in sourceExpression="${amount * 2}" target="double"/>'
    '<camunda:out source="decision" target="outcome"/>'
    "</extensionElements></callActivity>"
    '<userTask id="After"/><endEvent id="end"/>' + chain("start", "Call", "After", "end")
)
CHILD_WITH_TASK = '<startEvent id="cs"/><userTask id="Decide"/><endEvent id="ce"/>' + chain(
    "cs", "Decide", "ce"
)


def test_call_activity_starts_a_child_with_the_in_mappings() -> None:
    deploy_pair(CALL, CHILD_WITH_TASK)
    parent = engine.instance_start(
        "parent", variables={"amount": 10, "secret": "x"}, initiator="alice", business_key="B1"
    )
    child = ProcessInstance.objects.get(parent_id=parent)
    assert child.definition_key == "child"
    assert (child.root_id, child.parent_execution) == (
        parent,
        Execution.objects.get(instance_id=parent).number,
    )
    assert (child.initiator, child.business_key) == ("alice", "B1")
    assert child.variables == {"limit": 10, "double": 20}
    assert open_tasks(child.pk) == ["Decide"]
    assert open_tasks(parent) == []
    assert Execution.objects.get(instance_id=parent).element_id == "Call"


def test_parent_continues_with_the_out_mappings_when_the_child_ends() -> None:
    deploy_pair(CALL, CHILD_WITH_TASK)
    parent = engine.instance_start("parent", variables={"amount": 10})
    child = ProcessInstance.objects.get(parent_id=parent).pk

    complete(child, "Decide", decision="yes", noise=1)

    assert_ended(child, end_event="ce")
    assert open_tasks(parent) == ["After"]
    assert variables(parent) == {"amount": 10, "outcome": "yes"}
    assert path(parent) == ["start", "Call"]
    complete(parent, "After")
    assert_ended(parent)


def test_a_child_without_wait_state_ends_in_the_same_transaction() -> None:
    deploy_pair(
        CALL,
        '<startEvent id="cs"/><serviceTask id="Set" camunda:type="variables.set" '
        'camunda:param.decision="auto"/><endEvent id="ce"/>' + chain("cs", "Set", "ce"),
    )
    parent = engine.instance_start("parent", variables={"amount": 1})
    child = ProcessInstance.objects.get(parent_id=parent)
    assert_ended(child.pk, end_event="ce")
    assert child.root_id == parent
    assert open_tasks(parent) == ["After"]
    assert variables(parent) == {"amount": 1, "outcome": "auto"}
    assert [e.outcome for e in history(child.pk, "instance-end")] == ["completed"]


def test_call_activity_without_mappings_copies_every_variable_both_ways() -> None:
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="child"/>'
        '<userTask id="After"/>' + chain("start", "Call", "After") + ends("After"),
        CHILD_WITH_TASK,
    )
    parent = engine.instance_start("parent", variables={"a": 1})
    child = ProcessInstance.objects.get(parent_id=parent).pk
    assert variables(child) == {"a": 1}
    complete(child, "Decide", b=2)
    assert variables(parent) == {"a": 1, "b": 2}


def test_call_activity_all_variables_mapping() -> None:
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="child">'
        '<extensionElements><camunda:in variables="all"/><camunda:out source="b" target="c"/>'
        "</extensionElements></callActivity>"
        '<userTask id="After"/>' + chain("start", "Call", "After") + ends("After"),
        CHILD_WITH_TASK,
    )
    parent = engine.instance_start("parent", variables={"a": 1, "z": 0})
    child = ProcessInstance.objects.get(parent_id=parent).pk
    assert variables(child) == {"a": 1, "z": 0}
    complete(child, "Decide", b=2, d=4)
    assert variables(parent) == {"a": 1, "z": 0, "c": 2}


def test_the_called_process_may_be_an_expression() -> None:
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="${which}"/>'
        '<userTask id="After"/>' + chain("start", "Call", "After") + ends("After"),
        CHILD_WITH_TASK,
    )
    parent = engine.instance_start("parent", variables={"which": "child"})
    assert ProcessInstance.objects.get(parent_id=parent).definition_key == "child"


def test_a_child_waiting_for_a_job_resumes_the_parent_when_the_job_runs(
    apps: RecordingApps,
) -> None:
    apps.behaviour["test.job"] = {"decision": "by job"}
    deploy_pair(
        CALL,
        '<startEvent id="cs"/><serviceTask id="S" camunda:type="test.job"/><endEvent id="ce"/>'
        + chain("cs", "S", "ce"),
    )
    parent = engine.instance_start("parent", variables={"amount": 3})
    child = ProcessInstance.objects.get(parent_id=parent).pk
    job = Job.objects.get()
    assert (job.kind, job.instance_id, job.root_instance_id) == ("service", child, parent)
    assert job_services.jobs_run_due() == 1
    assert_ended(child)
    assert open_tasks(parent) == ["After"]
    assert variables(parent) == {"amount": 3, "outcome": "by job"}


def test_a_child_waiting_for_a_message_resumes_the_parent() -> None:
    deploy_pair(
        CALL,
        '<startEvent id="cs"/><receiveTask id="R" messageRef="Msg_ok"/><endEvent id="ce"/>'
        + chain("cs", "R", "ce"),
        extra='<message id="Msg_ok" name="ok"/>',
    )
    parent = engine.instance_start("parent", variables={"amount": 3}, business_key="K")
    child = ProcessInstance.objects.get(parent_id=parent).pk
    assert engine.message_correlate("ok", business_key="K", variables={"decision": "m"}) == child
    assert_ended(child)
    assert open_tasks(parent) == ["After"]
    assert variables(parent)["outcome"] == "m"


def test_nested_call_activities_share_the_root() -> None:
    deploys.definition_deploy(
        xml=definitions(
            process(
                "leaf",
                '<startEvent id="ls"/><userTask id="Leaf"/><endEvent id="le"/>'
                + chain("ls", "Leaf", "le"),
            ),
            process(
                "middle",
                '<startEvent id="ms"/><callActivity id="CallLeaf" calledElement="leaf"/>'
                '<endEvent id="me"/>' + chain("ms", "CallLeaf", "me"),
            ),
            process(
                "top",
                '<startEvent id="ts"/><callActivity id="CallMiddle" calledElement="middle"/>'
                '<userTask id="Done"/>' + chain("ts", "CallMiddle", "Done") + ends("Done"),
            ),
        ),
        source_name="nested.bpmn",
    )
    top = engine.instance_start("top")
    middle = ProcessInstance.objects.get(parent_id=top)
    leaf = ProcessInstance.objects.get(parent_id=middle.pk)
    assert (middle.root_id, leaf.root_id) == (top, top)

    complete(leaf.pk, "Leaf")

    assert_ended(leaf.pk)
    assert_ended(middle.pk)
    assert open_tasks(top) == ["Done"]


def test_interrupting_boundary_on_a_call_activity_terminates_the_child() -> None:
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="child"/>'
        f'<boundaryEvent id="late" attachedToRef="Call">{timer("timeDuration", "P1D")}'
        "</boundaryEvent>"
        '<userTask id="After"/><userTask id="Chase"/>'
        + chain("start", "Call", "After")
        + flow("late", "Chase")
        + ends("After", "Chase"),
        CHILD_WITH_TASK,
    )
    parent = engine.instance_start("parent")
    child = ProcessInstance.objects.get(parent_id=parent).pk
    fire_timers(parent)
    assert_ended(child, state="terminated")
    assert Task.objects.get(instance_id=child).state == "cancelled"
    assert open_tasks(parent) == ["Chase"]


def test_an_error_end_event_of_the_child_is_caught_on_the_call_activity() -> None:
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="child"/>'
        '<boundaryEvent id="failed" attachedToRef="Call">'
        '<errorEventDefinition errorRef="Err_E1"/></boundaryEvent>'
        '<userTask id="After"/><userTask id="Repair"/>'
        + chain("start", "Call", "After")
        + flow("failed", "Repair")
        + ends("After", "Repair"),
        '<startEvent id="cs"/><userTask id="Decide"/>'
        '<endEvent id="ce"><errorEventDefinition errorRef="Err_E1"/></endEvent>'
        + chain("cs", "Decide", "ce"),
        extra='<error id="Err_E1" errorCode="E1"/>',
    )
    parent = engine.instance_start("parent")
    child = ProcessInstance.objects.get(parent_id=parent).pk
    complete(child, "Decide")
    assert open_tasks(parent) == ["Repair"]
    assert path(parent) == ["start", "Call", "failed"]
    assert_ended(child, state="terminated", end_event="ce")
    assert [e.outcome for e in history(child, "instance-end")] == ["terminated"]


def test_an_application_error_of_a_child_started_in_the_same_action_reaches_the_caller(
    apps: RecordingApps,
) -> None:
    apps.behaviour["test.inline"] = BpmnErrorThrown("E1")
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="child"/>'
        '<boundaryEvent id="failed" attachedToRef="Call">'
        '<errorEventDefinition errorRef="Err_E1"/></boundaryEvent>'
        '<userTask id="After"/><userTask id="Repair"/>'
        + chain("start", "Call", "After")
        + flow("failed", "Repair")
        + ends("After", "Repair"),
        '<startEvent id="cs"/><serviceTask id="S" camunda:type="test.inline"/>'
        '<endEvent id="ce"/>' + chain("cs", "S", "ce"),
        extra='<error id="Err_E1" errorCode="E1"/>',
    )
    parent = engine.instance_start("parent")
    child = ProcessInstance.objects.get(parent_id=parent).pk
    assert open_tasks(parent) == ["Repair"]
    assert_ended(child, state="terminated", end_event="S")
    assert runtime_rows(parent) == {"executions": 1, "jobs": 0, "subscriptions": 0}


def test_an_error_nobody_catches_in_the_caller_either_rolls_back() -> None:
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="child"/>'
        '<userTask id="After"/>' + chain("start", "Call", "After") + ends("After"),
        '<startEvent id="cs"/><userTask id="Decide"/>'
        '<endEvent id="ce"><errorEventDefinition errorRef="Err_E1"/></endEvent>'
        + chain("cs", "Decide", "ce"),
        extra='<error id="Err_E1" errorCode="E1"/>',
    )
    parent = engine.instance_start("parent")
    child = ProcessInstance.objects.get(parent_id=parent).pk
    with pytest.raises(ProcessError, match="E1"):
        complete(child, "Decide")
    assert open_tasks(child) == ["Decide"]
    assert instance(child).state == "active"
    assert Execution.objects.get(instance_id=parent).element_id == "Call"


# --- multi-instance -----------------------------------------------------------------------------


def mi_task(
    characteristics: str,
    *,
    attributes: str = "",
    kind: str = "userTask",
    sequential: bool = False,
) -> str:
    seq = ' isSequential="true"' if sequential else ""
    return (
        '<startEvent id="start"/>'
        f'<{kind} id="M" {attributes}><multiInstanceLoopCharacteristics{seq} '
        f"{characteristics}</multiInstanceLoopCharacteristics></{kind}>"
        '<userTask id="After"/><endEvent id="end"/>' + chain("start", "M", "After", "end")
    )


def open_m(iid: int) -> list[Task]:
    return list(Task.objects.filter(instance_id=iid, element_id="M", state="open").order_by("id"))


def test_parallel_multi_instance_over_a_collection_variable() -> None:
    deploy(
        mi_task(
            'camunda:collection="reviewers" camunda:elementVariable="reviewer">',
            attributes='camunda:assignee="${reviewer}"',
        )
    )
    iid = start(reviewers=["bob", "carol", "dave"])
    assert [t.assignee for t in open_m(iid)] == ["bob", "carol", "dave"]
    assert path(iid) == ["start"]

    for opened in open_m(iid)[:2]:
        engine.task_complete(opened.pk, actor=opened.assignee)
        assert open_tasks(iid).count("After") == 0
    engine.task_complete(open_m(iid)[0].pk, actor="dave")

    assert open_tasks(iid) == ["After"]
    assert path(iid) == ["start", "M", "M", "M", "M"]  # three instances, then the body
    assert "reviewer" not in variables(iid)
    assert runtime_rows(iid)["executions"] == 1
    complete(iid, "After")
    assert_ended(iid)


def test_sequential_multi_instance_runs_one_item_after_the_other() -> None:
    deploy(
        mi_task(
            'camunda:collection="${order.items}" camunda:elementVariable="item">',
            attributes='camunda:assignee="${item}"',
            sequential=True,
        )
    )
    iid = start(order={"items": ["bob", "carol"]})
    assert [t.assignee for t in open_m(iid)] == ["bob"]
    engine.task_complete(open_m(iid)[0].pk, actor="bob")
    assert [t.assignee for t in open_m(iid)] == ["carol"]
    engine.task_complete(open_m(iid)[0].pk, actor="carol")
    assert open_tasks(iid) == ["After"]


def test_loop_cardinality_and_the_loop_variables_seen_by_expressions() -> None:
    deploy(
        mi_task(
            "><loopCardinality>${n}</loopCardinality>",
            attributes=(
                'camunda:priority="${loopCounter * 100 + nrOfInstances * 10 + nrOfActiveInstances}"'
            ),
            sequential=True,
        )
    )
    iid = start(n=3)
    priorities = []
    for _ in range(3):
        [opened] = open_m(iid)
        priorities.append(opened.priority)
        engine.task_complete(opened.pk, actor="alice")
    assert priorities == [31, 131, 231]
    assert open_tasks(iid) == ["After"]
    assert set(variables(iid)) == {"n"}  # the loop variables do not leak


def test_parallel_loop_cardinality_counts_every_instance_active() -> None:
    deploy(
        mi_task(
            "><loopCardinality>3</loopCardinality>",
            attributes=(
                'camunda:priority="${loopCounter * 100 + nrOfInstances * 10 + nrOfActiveInstances}"'
            ),
        )
    )
    iid = start()
    assert [t.priority for t in open_m(iid)] == [33, 133, 233]
    for opened in open_m(iid):
        engine.task_complete(opened.pk, actor="alice")
    assert open_tasks(iid) == ["After"]


def test_sequential_completion_condition_stops_at_the_first_rejection() -> None:
    deploy(
        mi_task(
            'camunda:collection="approvers" camunda:elementVariable="approver">'
            "<completionCondition>${!approved}</completionCondition>",
            attributes='camunda:assignee="${approver}"',
            sequential=True,
        )
    )
    iid = start(approvers=["a", "b", "c", "d"])
    for who, approved in (("a", True), ("b", False)):
        [opened] = open_m(iid)
        assert opened.assignee == who
        engine.task_complete(opened.pk, actor=who, data={"approved": approved})
    assert open_tasks(iid) == ["After"]
    assert Task.objects.filter(instance_id=iid, element_id="M").count() == 2  # c, d never asked
    assert history(iid, "task-cancelled") == []


def test_loop_variables_seen_by_an_inline_application(apps: RecordingApps) -> None:
    deploy(
        mi_task(
            'camunda:collection="items" camunda:elementVariable="item">',
            attributes='camunda:type="test.inline"',
            kind="serviceTask",
        )
    )
    iid = start(items=["a", "b", "c"])
    seen = [
        (
            c.variables["item"],
            c.variables["loopCounter"],
            c.variables["nrOfInstances"],
            c.variables["nrOfCompletedInstances"],
        )
        for c in apps.called("test.inline")
    ]
    assert seen == [("a", 0, 3, 0), ("b", 1, 3, 1), ("c", 2, 3, 2)]
    assert open_tasks(iid) == ["After"]


def test_completion_condition_ends_early_and_cancels_the_rest() -> None:
    deploy(
        mi_task(
            'camunda:collection="people" camunda:elementVariable="who">'
            "<completionCondition>${nrOfCompletedInstances/nrOfInstances &gt;= 0.6}"
            "</completionCondition>",
            attributes='camunda:assignee="${who}"',
        )
    )
    iid = start(people=["a", "b", "c", "d", "e"])
    assert len(open_m(iid)) == 5
    for _ in range(2):
        engine.task_complete(open_m(iid)[0].pk, actor="x")
        assert "After" not in open_tasks(iid)
    engine.task_complete(open_m(iid)[0].pk, actor="x")

    assert open_tasks(iid) == ["After"]
    assert Task.objects.filter(instance_id=iid, element_id="M", state="cancelled").count() == 2
    assert len(history(iid, "task-cancelled")) == 2
    assert runtime_rows(iid)["executions"] == 1
    assert path(iid).count("After") == 0


def test_empty_collection_passes_straight_on() -> None:
    deploy(mi_task('camunda:collection="people" camunda:elementVariable="who">'))
    iid = start(people=[])
    assert open_tasks(iid) == ["After"]
    assert path(iid) == ["start", "M"]
    assert runtime_rows(iid)["executions"] == 1


def test_a_collection_that_is_not_a_list_is_a_process_error() -> None:
    deploy(mi_task('camunda:collection="people" camunda:elementVariable="who">'))
    with pytest.raises(ProcessError, match="not a list"):
        start(people="bob")


def test_multi_instance_sub_process_keeps_each_instance_apart() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<subProcess id="M"><multiInstanceLoopCharacteristics camunda:collection="items" '
        'camunda:elementVariable="item"/>'
        '<startEvent id="ss"/><userTask id="X" camunda:assignee="${item}"/>'
        '<userTask id="Y" camunda:assignee="${item}"/><endEvent id="se"/>'
        + chain("ss", "X", "Y", "se")
        + "</subProcess>"
        '<userTask id="After"/>' + chain("start", "M", "After") + ends("After")
    )
    iid = start(items=["bob", "carol"])
    assert sorted(
        Task.objects.filter(instance_id=iid, state="open").values_list("element_id", "assignee")
    ) == [("X", "bob"), ("X", "carol")]
    engine.task_complete(
        Task.objects.get(instance_id=iid, element_id="X", assignee="carol").pk, actor="carol"
    )
    assert sorted(
        Task.objects.filter(instance_id=iid, state="open").values_list("element_id", "assignee")
    ) == [("X", "bob"), ("Y", "carol")]
    for element_id, who in (("Y", "carol"), ("X", "bob"), ("Y", "bob")):
        engine.task_complete(
            Task.objects.get(instance_id=iid, element_id=element_id, assignee=who, state="open").pk,
            actor=who,
        )
    assert open_tasks(iid) == ["After"]
    assert runtime_rows(iid)["executions"] == 1


def test_multi_instance_call_activity_starts_one_child_per_item() -> None:
    deploy_pair(
        '<startEvent id="start"/><callActivity id="Call" calledElement="child">'
        '<extensionElements><camunda:in source="item" target="who"/>'
        "</extensionElements>"
        '<multiInstanceLoopCharacteristics camunda:collection="items" '
        'camunda:elementVariable="item"/></callActivity>'
        '<userTask id="After"/>' + chain("start", "Call", "After") + ends("After"),
        '<startEvent id="cs"/><userTask id="Decide" camunda:assignee="${who}"/>'
        '<endEvent id="ce"/>' + chain("cs", "Decide", "ce"),
    )
    parent = engine.instance_start("parent", variables={"items": ["bob", "carol"]})
    children = list(ProcessInstance.objects.filter(parent_id=parent).order_by("id"))
    assert [c.variables for c in children] == [{"who": "bob"}, {"who": "carol"}]
    for child in children:
        complete(child.pk, "Decide")
    assert open_tasks(parent) == ["After"]


def test_interrupting_timer_on_a_multi_instance_task_cancels_every_instance() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<userTask id="M"><multiInstanceLoopCharacteristics camunda:collection="people" '
        'camunda:elementVariable="who"/></userTask>'
        f'<boundaryEvent id="late" attachedToRef="M">{timer("timeDuration", "P1D")}'
        "</boundaryEvent>"
        '<userTask id="After"/><userTask id="Chase"/>'
        + chain("start", "M", "After")
        + flow("late", "Chase")
        + ends("After", "Chase")
    )
    iid = start(people=["a", "b", "c"])
    assert jobs(iid) == [("timer", "late")]  # one boundary timer for the whole body
    engine.task_complete(open_m(iid)[0].pk, actor="a")
    fire_timers(iid)
    assert open_tasks(iid) == ["Chase"]
    assert Task.objects.filter(instance_id=iid, element_id="M", state="cancelled").count() == 2
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}


def test_error_boundary_on_a_multi_instance_task_cancels_every_instance(
    apps: RecordingApps,
) -> None:
    def fail_on_b(call: ApplicationCall) -> None:
        if call.variables["item"] == "b":
            raise BpmnErrorThrown("E1")

    apps.behaviour["test.inline"] = fail_on_b
    deploy(
        '<startEvent id="start"/>'
        '<serviceTask id="M" camunda:type="test.inline">'
        '<multiInstanceLoopCharacteristics isSequential="true" camunda:collection="items" '
        'camunda:elementVariable="item"/></serviceTask>'
        '<boundaryEvent id="failed" attachedToRef="M">'
        '<errorEventDefinition errorRef="Err_E1"/></boundaryEvent>'
        '<userTask id="After"/><userTask id="Repair"/>'
        + chain("start", "M", "After")
        + flow("failed", "Repair")
        + ends("After", "Repair"),
        extra='<error id="Err_E1" errorCode="E1"/>',
    )
    iid = start(items=["a", "b", "c"])
    assert [c.variables["item"] for c in apps.called("test.inline")] == ["a", "b"]
    assert open_tasks(iid) == ["Repair"]
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}
    assert path(iid)[-2:] == ["M", "failed"]


def test_error_end_event_in_a_multi_instance_sub_process_is_caught_on_the_body() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<subProcess id="M"><multiInstanceLoopCharacteristics camunda:collection="items" '
        'camunda:elementVariable="item"/>'
        '<startEvent id="ss"/><userTask id="X"/><exclusiveGateway id="ok" default="ok-se"/>'
        '<endEvent id="se"/><endEvent id="fail"><errorEventDefinition errorRef="Err_E1"/>'
        "</endEvent>"
        + chain("ss", "X", "ok")
        + flow("ok", "fail", "${broken}")
        + flow("ok", "se")
        + "</subProcess>"
        '<boundaryEvent id="failed" attachedToRef="M">'
        '<errorEventDefinition errorRef="Err_E1"/></boundaryEvent>'
        '<userTask id="After"/><userTask id="Repair"/>'
        + chain("start", "M", "After")
        + flow("failed", "Repair")
        + ends("After", "Repair"),
        extra='<error id="Err_E1" errorCode="E1"/>',
    )
    iid = start(items=[1, 2, 3], broken=False)
    first, second, _third = Task.objects.filter(instance_id=iid, element_id="X").order_by("id")
    engine.task_complete(first.pk, actor="alice")
    engine.task_complete(second.pk, actor="alice", data={"broken": True})
    assert open_tasks(iid) == ["Repair"]
    assert Task.objects.filter(instance_id=iid, element_id="X", state="cancelled").count() == 1
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}


def test_a_job_application_of_a_multi_instance_task_sees_its_item(apps: RecordingApps) -> None:
    apps.behaviour["test.job"] = lambda call: {f"seen_{call.variables['item']}": True}
    deploy(
        mi_task(
            'camunda:collection="items" camunda:elementVariable="item">',
            attributes='camunda:type="test.job"',
            kind="serviceTask",
        )
    )
    iid = start(items=["a", "b"])
    assert jobs(iid) == [("service", "M"), ("service", "M")]
    assert job_services.jobs_run_due() == 2
    assert sorted(c.variables["item"] for c in apps.called("test.job")) == ["a", "b"]
    assert sorted(c.variables["loopCounter"] for c in apps.called("test.job")) == [0, 1]
    assert variables(iid) == {"items": ["a", "b"], "seen_a": True, "seen_b": True}
    assert open_tasks(iid) == ["After"]


def test_terminating_the_caller_terminates_a_running_child() -> None:
    deploy_pair(
        '<startEvent id="start"/><parallelGateway id="fork"/>'
        '<callActivity id="Call" calledElement="child"/><userTask id="Stop"/>'
        '<endEvent id="kill"><terminateEventDefinition/></endEvent>'
        + flow("start", "fork")
        + flow("fork", "Call")
        + flow("fork", "Stop")
        + flow("Stop", "kill")
        + ends("Call"),
        CHILD_WITH_TASK,
    )
    parent = engine.instance_start("parent")
    child = ProcessInstance.objects.get(parent_id=parent).pk
    complete(parent, "Stop")
    assert_ended(parent, end_event="kill")
    assert_ended(child, state="terminated")
    assert Task.objects.get(instance_id=child).state == "cancelled"
