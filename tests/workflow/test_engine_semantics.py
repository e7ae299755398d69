"""The engine's BPMN semantics, one small process per behaviour: start and end events, tasks,
gateways, loops, the guards of task completion, and the history every run writes.

Asynchronous continuations and failing service jobs are in ``test_engine_jobs``; events in
``test_engine_events`` and ``test_engine_boundary``; sub-processes, call activities and
multi-instance in ``test_engine_scopes``. Helpers: ``tests/workflow/engine_helpers.py``.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from tests.workflow.conftest import RecordingApps
from tests.workflow.engine_helpers import (
    assert_ended,
    chain,
    complete,
    deploy,
    ends,
    flow,
    history,
    instance,
    jobs,
    message,
    open_tasks,
    path,
    runtime_rows,
    start,
    subscriptions,
    task,
    variables,
)
from workflow.bpmn.model import BpmnError
from workflow.engine.runtime import AlreadyHandled, EngineError, ProcessError
from workflow.models import (
    Execution,
    HistoryEvent,
    ProcessInstance,
    Task,
)
from workflow.services import engine
from workflow.services import jobs as job_services

pytestmark = pytest.mark.django_db

ONE_TASK = (
    '<startEvent id="start"/><userTask id="A" camunda:assignee="${initiator}"/>'
    '<endEvent id="end"/>' + chain("start", "A", "end")
)


# --- start and end events ---------------------------------------------------------------------


def test_none_start_runs_to_the_first_wait_state_and_the_end_event_completes() -> None:
    deploy(ONE_TASK)
    iid = start()
    assert path(iid) == ["start"]
    assert open_tasks(iid) == ["A"]
    assert task(iid, "A").assignee == "alice"
    assert instance(iid).state == "active"
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}

    complete(iid, "A")

    assert path(iid) == ["start", "A", "end"]
    assert_ended(iid, end_event="end")


def test_start_variables_and_the_initiator_variable_of_the_start_event() -> None:
    deploy(
        '<startEvent id="start" camunda:initiator="starter"/><userTask id="A"/>'
        '<endEvent id="end"/>' + chain("start", "A", "end")
    )
    iid = start(amount=5)
    assert variables(iid) == {"amount": 5, "starter": "alice"}
    assert instance(iid).initiator == "alice"


def test_a_process_without_wait_state_completes_while_it_starts() -> None:
    deploy('<startEvent id="start"/><endEvent id="end"/>' + chain("start", "end"))
    iid = start()
    assert path(iid) == ["start", "end"]
    assert_ended(iid, end_event="end")


def test_terminate_end_event_ends_every_path_and_cancels_open_tasks() -> None:
    deploy(
        '<startEvent id="start"/><parallelGateway id="fork"/>'
        '<userTask id="A"/><userTask id="B"/><endEvent id="endA"/>'
        '<endEvent id="kill"><terminateEventDefinition/></endEvent>'
        + chain("start", "fork")
        + flow("fork", "A")
        + flow("fork", "B")
        + flow("A", "endA")
        + flow("B", "kill")
    )
    iid = start()
    assert open_tasks(iid) == ["A", "B"]

    complete(iid, "B")

    assert_ended(iid, end_event="kill")
    assert Task.objects.get(instance_id=iid, element_id="A").state == "cancelled"
    assert [e.element_id for e in history(iid, "task-cancelled")] == ["A"]
    assert path(iid) == ["start", "fork", "B", "kill", "A"]  # the end event once, A cancelled
    cancelled = HistoryEvent.objects.get(instance_id=iid, kind="activity", element_id="A")
    assert cancelled.outcome == "cancelled"


def test_none_end_event_of_one_branch_leaves_the_other_running() -> None:
    deploy(
        '<startEvent id="start"/><parallelGateway id="fork"/>'
        '<userTask id="A"/><userTask id="B"/><endEvent id="endA"/><endEvent id="endB"/>'
        + chain("start", "fork")
        + flow("fork", "A")
        + flow("fork", "B")
        + flow("A", "endA")
        + flow("B", "endB")
    )
    iid = start()
    complete(iid, "B")
    assert instance(iid).state == "active"
    assert open_tasks(iid) == ["A"]
    assert runtime_rows(iid)["executions"] == 1

    complete(iid, "A")

    assert_ended(iid, end_event="endA")


def test_uncaught_error_end_event_is_a_process_error_and_changes_nothing() -> None:
    """This engine refuses an error nobody catches (Camunda would end the path as with a none
    end event): the completion is rolled back and the task stays open."""
    deploy(
        '<startEvent id="start"/><userTask id="A"/>'
        '<endEvent id="fail"><errorEventDefinition errorRef="Err_E1"/></endEvent>'
        + chain("start", "A", "fail"),
        extra='<error id="Err_E1" errorCode="E1"/>',
    )
    iid = start()
    with pytest.raises(ProcessError, match="E1"):
        complete(iid, "A")
    assert open_tasks(iid) == ["A"]
    assert path(iid) == ["start"]
    assert instance(iid).state == "active"


def test_message_end_event_sends_its_message_after_commit(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    deploy(
        '<startEvent id="start"/><intermediateCatchEvent id="wait">'
        '<messageEventDefinition messageRef="Msg_done"/></intermediateCatchEvent>'
        '<endEvent id="end"/>' + chain("start", "wait", "end"),
        key="receiver",
        extra=message("done"),
    )
    deploy(
        '<startEvent id="s"/><endEvent id="send">'
        '<messageEventDefinition messageRef="Msg_done"/></endEvent>' + chain("s", "send"),
        key="sender",
        extra=message("done"),
    )
    other = engine.instance_start("receiver", business_key="BK-2")
    receiver = engine.instance_start("receiver", business_key="BK-1")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sender = engine.instance_start("sender", business_key="BK-1")
    assert_ended(sender, end_event="send")
    assert instance(receiver).state == "active"  # nothing is delivered before the commit

    for callback in callbacks:
        callback()

    assert_ended(receiver, end_event="end")
    assert path(receiver) == ["start", "wait", "end"]
    assert instance(other).state == "active"  # another business key: not this message


# --- message start events -----------------------------------------------------------------------


def test_message_start_event_starts_an_instance_with_the_message_variables() -> None:
    deploy(
        '<startEvent id="start"><messageEventDefinition messageRef="Msg_order"/></startEvent>'
        '<userTask id="A"/><endEvent id="end"/>' + chain("start", "A", "end"),
        extra=message("order"),
    )
    iid = engine.message_correlate("order", business_key="PO-1", variables={"qty": 3})
    started = instance(iid)
    assert started.business_key == "PO-1"
    assert started.variables == {"qty": 3}
    assert path(iid) == ["start"]
    assert open_tasks(iid) == ["A"]
    assert [e.element_id for e in history(iid, "instance-start")] == ["start"]


def test_process_with_a_none_and_a_message_start_starts_at_the_none_one_by_default() -> None:
    deploy(
        '<startEvent id="plain"/>'
        '<startEvent id="byMessage"><messageEventDefinition messageRef="Msg_go"/></startEvent>'
        '<userTask id="A"/><userTask id="B"/><endEvent id="end"/>'
        + chain("plain", "A", "end")
        + chain("byMessage", "B", "end"),
        extra=message("go"),
    )
    assert open_tasks(start()) == ["A"]
    assert open_tasks(engine.message_correlate("go")) == ["B"]


def test_a_message_nobody_waits_for_is_refused() -> None:
    deploy(ONE_TASK)
    with pytest.raises(EngineError, match="No process is waiting"):
        engine.message_correlate("nothing")
    assert not ProcessInstance.objects.exists()


# --- tasks --------------------------------------------------------------------------------------


def test_user_task_fields_from_expressions() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<userTask id="A" name="Approve" camunda:assignee="${boss}" '
        'camunda:candidateUsers="bob, carol" camunda:candidateGroups="${groups}" '
        'camunda:priority="${urgent ? 90 : 10}" camunda:dueDate="${dateTime().plusDays(2)}" '
        'camunda:formKey="approve"/>'
        '<endEvent id="end"/>' + chain("start", "A", "end")
    )
    iid = start(boss="dave", groups=["finance", "hr"], urgent=True)
    opened = task(iid, "A")
    assert (opened.name, opened.assignee, opened.priority, opened.form_key) == (
        "Approve",
        "dave",
        90,
        "approve",
    )
    assert sorted(opened.candidates.values_list("kind", "value")) == [
        ("group", "finance"),
        ("group", "hr"),
        ("user", "bob"),
        ("user", "carol"),
    ]
    assert opened.due_at is not None
    expected = opened.created_at + datetime.timedelta(days=2)
    assert abs((opened.due_at - expected).total_seconds()) < 5


def test_task_data_become_process_variables() -> None:
    deploy(ONE_TASK)
    iid = start(amount=1)
    complete(iid, "A", amount=2, approved=True)
    assert variables(iid) == {"amount": 2, "approved": True}


@pytest.mark.parametrize("kind", ["task", "manualTask"])
def test_plain_and_manual_tasks_pass_through(kind: str) -> None:
    deploy(
        f'<startEvent id="start"/><{kind} id="T"/><userTask id="A"/><endEvent id="end"/>'
        + chain("start", "T", "A", "end")
    )
    iid = start()
    assert path(iid) == ["start", "T"]
    assert open_tasks(iid) == ["A"]
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}


def test_a_process_without_is_executable_counts_as_executable() -> None:
    deploy(ONE_TASK, executable=None)
    iid = start()
    assert open_tasks(iid) == ["A"]
    complete(iid, "A")
    assert_ended(iid)


def test_a_process_marked_not_executable_is_not_deployed() -> None:
    with pytest.raises(BpmnError, match="no executable process"):
        deploy(ONE_TASK, executable="false")


@pytest.mark.parametrize(
    "implementation",
    [
        'camunda:type="test.inline"',
        'camunda:class="test.inline"',
        'camunda:expression="${test.inline}"',
        'camunda:delegateExpression="${test.inline}"',
    ],
)
def test_inline_service_task_sets_its_result_variables_in_the_same_transaction(
    apps: RecordingApps, implementation: str
) -> None:
    apps.behaviour["test.inline"] = lambda call: {"total": call.variables["amount"] * 2}
    deploy(
        f'<startEvent id="start"/><serviceTask id="S" {implementation}/>'
        '<userTask id="A"/><endEvent id="end"/>' + chain("start", "S", "A", "end")
    )
    iid = start(amount=21)
    assert variables(iid) == {"amount": 21, "total": 42}
    assert path(iid) == ["start", "S"]
    assert open_tasks(iid) == ["A"]
    assert jobs(iid) == []
    [call] = apps.called("test.inline")
    assert call.instance_id == iid


def test_inline_service_task_gets_its_parameters(apps: RecordingApps) -> None:
    apps.behaviour["test.inline"] = lambda call: dict(call.parameters)
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.inline" '
        'camunda:param.code="X1"/><endEvent id="end"/>' + chain("start", "S", "end")
    )
    iid = start()
    assert_ended(iid)
    assert variables(iid) == {"code": "X1"}


def test_job_service_task_waits_for_its_job_and_sets_its_result(apps: RecordingApps) -> None:
    apps.behaviour["test.job"] = lambda call: {"echo": call.variables["amount"] + 1}
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.job"/>'
        '<userTask id="A"/><endEvent id="end"/>' + chain("start", "S", "A", "end")
    )
    iid = start(amount=1)
    assert apps.calls == []  # never inside the starting transaction
    assert jobs(iid) == [("service", "S")]
    assert open_tasks(iid) == []
    assert path(iid) == ["start"]

    assert job_services.jobs_run_due() == 1

    [call] = apps.called("test.job")
    assert call.instance_id == iid
    assert call.idempotency_key.startswith("job:")
    assert variables(iid) == {"amount": 1, "echo": 2}
    assert path(iid) == ["start", "S"]
    assert open_tasks(iid) == ["A"]
    assert jobs(iid) == []


def test_send_task_calls_its_application_as_a_job(apps: RecordingApps) -> None:
    deploy(
        '<startEvent id="start"/><sendTask id="Send" camunda:type="test.send"/>'
        '<endEvent id="end"/>' + chain("start", "Send", "end")
    )
    iid = start()
    assert jobs(iid) == [("service", "Send")]
    job_services.jobs_run_due()
    assert len(apps.called("test.send")) == 1
    assert path(iid) == ["start", "Send", "end"]
    assert_ended(iid)


def test_receive_task_waits_for_its_message() -> None:
    deploy(
        '<startEvent id="start"/><receiveTask id="R" messageRef="Msg_paid"/>'
        '<userTask id="A"/><endEvent id="end"/>' + chain("start", "R", "A", "end"),
        extra=message("paid"),
    )
    first = engine.instance_start("p", business_key="INV-1")
    second = engine.instance_start("p", business_key="INV-2")
    assert subscriptions(first) == [("message", "paid", "R")]
    assert open_tasks(first) == []

    got = engine.message_correlate("paid", business_key="INV-2", variables={"sum": 7})

    assert got == second
    assert path(second) == ["start", "R"]
    assert open_tasks(second) == ["A"]
    assert variables(second) == {"sum": 7}
    assert subscriptions(second) == []
    assert subscriptions(first) == [("message", "paid", "R")]  # the other one still waits

    assert engine.message_correlate("paid", instance_id=first) == first
    assert open_tasks(first) == ["A"]
    with pytest.raises(EngineError):
        engine.message_correlate("paid", instance_id=first)


# --- exclusive gateways -------------------------------------------------------------------------

EXCLUSIVE = (
    '<startEvent id="start"/><exclusiveGateway id="gw" default="gw-Small"/>'
    '<userTask id="Big"/><userTask id="Medium"/><userTask id="Small"/>'
    + flow("start", "gw")
    + flow("gw", "Big", "${amount &gt; 1000}")
    + flow("gw", "Medium", "${amount &gt; 100}")
    + flow("gw", "Small")
    + ends("Big", "Medium", "Small")
)


@pytest.mark.parametrize(
    ("amount", "chosen"), [(5000, "Big"), (500, "Medium"), (50, "Small"), (100, "Small")]
)
def test_exclusive_gateway_takes_the_first_true_condition_else_the_default(
    amount: int, chosen: str
) -> None:
    deploy(EXCLUSIVE)
    iid = start(amount=amount)
    assert path(iid) == ["start", "gw"]
    assert open_tasks(iid) == [chosen]  # 5000 makes two conditions true; only the first runs
    assert runtime_rows(iid)["executions"] == 1


def test_exclusive_gateway_without_a_true_condition_nor_default_refuses_the_start() -> None:
    deploy(
        '<startEvent id="start"/><exclusiveGateway id="gw"/>'
        '<userTask id="Big"/><userTask id="Small"/>'
        + flow("start", "gw")
        + flow("gw", "Big", "${amount &gt; 1000}")
        + flow("gw", "Small", "${amount &lt; 10}")
        + ends("Big", "Small")
    )
    with pytest.raises(ProcessError, match="gw: no outgoing sequence flow"):
        start(amount=50)
    assert not ProcessInstance.objects.exists()
    assert not HistoryEvent.objects.exists()


def test_exclusive_gateway_without_a_true_condition_rolls_the_task_completion_back() -> None:
    deploy(
        '<startEvent id="start"/><userTask id="A"/><exclusiveGateway id="gw"/>'
        '<userTask id="Yes"/><userTask id="No"/>'
        + chain("start", "A", "gw")
        + flow("gw", "Yes", "${answer == 'yes'}")
        + flow("gw", "No", "${answer == 'no'}")
        + ends("Yes", "No")
    )
    iid = start(answer="")
    before = instance(iid)
    rows = HistoryEvent.objects.filter(instance_id=iid).count()

    with pytest.raises(ProcessError):
        complete(iid, "A", answer="maybe")

    opened = task(iid, "A")  # still open, not completed
    assert opened.completed_by == ""
    after = instance(iid)
    assert after.variables == {"answer": ""}
    assert after.revision == before.revision
    assert HistoryEvent.objects.filter(instance_id=iid).count() == rows
    assert Execution.objects.get(instance_id=iid).element_id == "A"

    complete(iid, "A", answer="no")
    assert open_tasks(iid) == ["No"]


def test_a_failing_condition_is_a_process_error_naming_the_flow() -> None:
    deploy(
        '<startEvent id="start"/><exclusiveGateway id="gw" default="gw-B"/>'
        '<userTask id="A"/><userTask id="B"/>'
        + flow("start", "gw")
        + flow("gw", "A", "${missing &gt; 1}")
        + flow("gw", "B")
        + ends("A", "B")
    )
    with pytest.raises(ProcessError, match="gw-A"):
        start()


def test_conditional_flows_out_of_an_activity_behave_as_an_inclusive_split() -> None:
    deploy(
        '<startEvent id="start"/><task id="T" default="T-C"/>'
        '<userTask id="A"/><userTask id="B"/><userTask id="C"/>'
        + flow("start", "T")
        + flow("T", "A", "${a}")
        + flow("T", "B", "${b}")
        + flow("T", "C")
        + ends("A", "B", "C")
    )
    assert open_tasks(start(a=True, b=True)) == ["A", "B"]
    assert open_tasks(start(a=False, b=True)) == ["B"]
    assert open_tasks(start(a=False, b=False)) == ["C"]


# --- parallel gateways --------------------------------------------------------------------------

PARALLEL = (
    '<startEvent id="start"/><parallelGateway id="fork"/><parallelGateway id="join"/>'
    '<userTask id="A"/><userTask id="B"/><userTask id="C"/><userTask id="D"/>'
    '<endEvent id="end"/>'
    + flow("start", "fork")
    + "".join(flow("fork", t) + flow(t, "join") for t in "ABC")
    + chain("join", "D", "end")
)


def test_parallel_gateway_forks_and_joins_once_after_every_branch() -> None:
    deploy(PARALLEL)
    iid = start()
    assert open_tasks(iid) == ["A", "B", "C"]
    assert runtime_rows(iid)["executions"] == 3

    complete(iid, "B")
    complete(iid, "A")
    assert open_tasks(iid) == ["C"]
    assert "D" not in path(iid)
    assert sorted(Execution.objects.filter(instance_id=iid).values_list("element_id", "state")) == [
        ("C", "waiting"),
        ("join", "joining"),
        ("join", "joining"),
    ]

    complete(iid, "C")

    assert open_tasks(iid) == ["D"]
    assert Task.objects.filter(instance_id=iid, element_id="D").count() == 1
    assert runtime_rows(iid)["executions"] == 1
    assert path(iid).count("join") == 3  # one activity row per arriving branch
    complete(iid, "D")
    assert_ended(iid)


def test_parallel_branches_without_wait_states_join_while_the_instance_starts() -> None:
    deploy(
        '<startEvent id="start"/><parallelGateway id="fork"/><parallelGateway id="join"/>'
        '<task id="X"/><task id="Y"/><userTask id="A"/>'
        + flow("start", "fork")
        + flow("fork", "X")
        + flow("fork", "Y")
        + flow("X", "join")
        + flow("Y", "join")
        + flow("join", "A")
        + ends("A")
    )
    iid = start()
    assert open_tasks(iid) == ["A"]
    assert runtime_rows(iid)["executions"] == 1
    assert path(iid)[:2] == ["start", "fork"]
    assert sorted(path(iid)[2:4]) == ["X", "Y"]


# --- inclusive gateways -------------------------------------------------------------------------

INCLUSIVE = (
    '<startEvent id="start"/><inclusiveGateway id="split" default="split-C"/>'
    '<inclusiveGateway id="merge"/>'
    '<userTask id="A"/><userTask id="B"/><userTask id="C"/><userTask id="D"/>'
    '<endEvent id="end"/>'
    + flow("start", "split")
    + flow("split", "A", "${a}")
    + flow("split", "B", "${b}")
    + flow("split", "C")
    + "".join(flow(t, "merge") for t in "ABC")
    + chain("merge", "D", "end")
)


def test_inclusive_gateway_takes_every_true_condition_and_joins_only_those() -> None:
    deploy(INCLUSIVE)
    iid = start(a=True, b=True)
    assert open_tasks(iid) == ["A", "B"]  # the default is not taken when a condition is true

    complete(iid, "A")
    assert open_tasks(iid) == ["B"]
    complete(iid, "B")

    assert open_tasks(iid) == ["D"]
    assert runtime_rows(iid)["executions"] == 1
    complete(iid, "D")
    assert_ended(iid)


def test_inclusive_gateway_with_one_branch_taken_does_not_wait_for_the_others() -> None:
    deploy(INCLUSIVE)
    iid = start(a=False, b=True)
    assert open_tasks(iid) == ["B"]
    complete(iid, "B")
    assert open_tasks(iid) == ["D"]


def test_inclusive_gateway_falls_back_to_its_default() -> None:
    deploy(INCLUSIVE)
    iid = start(a=False, b=False)
    assert open_tasks(iid) == ["C"]
    complete(iid, "C")
    assert open_tasks(iid) == ["D"]


def test_inclusive_join_waits_for_a_branch_that_is_still_upstream() -> None:
    """B's branch has a second task; the join must not fire while a token can still come."""
    deploy(
        '<startEvent id="start"/><inclusiveGateway id="split"/><inclusiveGateway id="merge"/>'
        '<userTask id="A"/><userTask id="B1"/><userTask id="B2"/><userTask id="D"/>'
        + flow("start", "split")
        + flow("split", "A", "${true}")
        + flow("split", "B1", "${true}")
        + flow("A", "merge")
        + chain("B1", "B2", "merge")
        + flow("merge", "D")
        + ends("D")
    )
    iid = start()
    complete(iid, "A")
    complete(iid, "B1")
    assert open_tasks(iid) == ["B2"]
    complete(iid, "B2")
    assert open_tasks(iid) == ["D"]
    assert Task.objects.filter(instance_id=iid, element_id="D").count() == 1


# --- loops --------------------------------------------------------------------------------------

REWORK = (
    '<startEvent id="start"/><userTask id="Draft"/><userTask id="Review"/>'
    '<exclusiveGateway id="ok" default="ok-Draft"/><endEvent id="end"/>'
    + chain("start", "Draft", "Review", "ok")
    + flow("ok", "end", "${approved}")
    + flow("ok", "Draft")
)


def test_a_rejected_step_goes_back_to_an_earlier_task_for_several_rounds() -> None:
    deploy(REWORK)
    iid = start()
    for _round in range(3):
        complete(iid, "Draft")
        complete(iid, "Review", approved=False)
        assert open_tasks(iid) == ["Draft"]
        assert runtime_rows(iid)["executions"] == 1
    complete(iid, "Draft")
    complete(iid, "Review", approved=True)

    assert path(iid) == ["start", *["Draft", "Review", "ok"] * 4, "end"]
    assert Task.objects.filter(instance_id=iid, element_id="Draft", state="completed").count() == 4
    assert_ended(iid, end_event="end")


def test_an_endless_loop_without_wait_state_is_refused_and_writes_nothing() -> None:
    deploy(
        '<startEvent id="start"/><task id="T"/><exclusiveGateway id="gw" default="gw-end"/>'
        '<endEvent id="end"/>'
        + chain("start", "T", "gw")
        + flow("gw", "T", "${again}")
        + flow("gw", "end")
    )
    with pytest.raises(ProcessError, match="loops"):
        start(again=True)
    assert not ProcessInstance.objects.exists()
    assert not HistoryEvent.objects.exists()
    assert_ended(start(again=False))


def test_an_endless_loop_reached_by_completing_a_task_rolls_the_completion_back() -> None:
    deploy(
        '<startEvent id="start"/><userTask id="A"/><task id="T"/>'
        '<exclusiveGateway id="gw" default="gw-end"/><endEvent id="end"/>'
        + chain("start", "A", "T", "gw")
        + flow("gw", "T", "${again}")
        + flow("gw", "end")
    )
    iid = start(again=False)
    with pytest.raises(ProcessError, match="loops"):
        complete(iid, "A", again=True)
    assert open_tasks(iid) == ["A"]
    assert path(iid) == ["start"]
    assert variables(iid) == {"again": False}


# --- completing tasks ---------------------------------------------------------------------------


def test_completing_a_task_twice_is_already_handled() -> None:
    deploy(
        '<startEvent id="start"/><userTask id="A"/><userTask id="B"/>'
        + chain("start", "A", "B")
        + ends("B")
    )
    iid = start()
    task_id = task(iid, "A").pk
    engine.task_complete(task_id, actor="alice")
    with pytest.raises(AlreadyHandled):
        engine.task_complete(task_id, actor="bob", data={"x": 1})
    completed = Task.objects.get(pk=task_id)
    assert (completed.state, completed.completed_by) == ("completed", "alice")
    assert "x" not in variables(iid)
    assert open_tasks(iid) == ["B"]


def test_completing_a_missing_task_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="does not exist"):
        engine.task_complete(999_999, actor="alice")


def test_a_task_of_a_suspended_instance_cannot_be_completed() -> None:
    deploy(ONE_TASK)
    iid = start()
    ProcessInstance.objects.filter(pk=iid).update(state="suspended")
    with pytest.raises(EngineError, match="suspended"):
        complete(iid, "A")
    assert open_tasks(iid) == ["A"]
    assert path(iid) == ["start"]

    ProcessInstance.objects.filter(pk=iid).update(state="active")
    complete(iid, "A")
    assert_ended(iid)


def test_a_cancelled_task_cannot_be_completed() -> None:
    deploy(
        '<startEvent id="start"/><parallelGateway id="fork"/><userTask id="A"/>'
        '<userTask id="B"/><endEvent id="endA"/>'
        '<endEvent id="kill"><terminateEventDefinition/></endEvent>'
        + flow("start", "fork")
        + flow("fork", "A")
        + flow("fork", "B")
        + flow("A", "endA")
        + flow("B", "kill")
    )
    iid = start()
    a_id = task(iid, "A").pk
    complete(iid, "B")
    with pytest.raises(AlreadyHandled):
        engine.task_complete(a_id, actor="alice")


# --- history ------------------------------------------------------------------------------------


def test_history_of_an_instance_start_tasks_and_end() -> None:
    deploy(
        '<startEvent id="start"/><userTask id="A" camunda:assignee="bob"/>'
        '<endEvent id="end"/>' + chain("start", "A", "end")
    )
    iid = engine.instance_start("p", initiator="alice", business_key="BK")
    created_id = task(iid, "A").pk
    # the task and the instance were opened 90 seconds ago
    earlier = timezone.now() - datetime.timedelta(seconds=90)
    Task.objects.filter(pk=created_id).update(created_at=earlier)
    ProcessInstance.objects.filter(pk=iid).update(started_at=earlier)
    engine.task_complete(created_id, actor="bob", outcome="approved", comment="fine")

    kinds = list(
        HistoryEvent.objects.filter(instance_id=iid).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == [
        "instance-start",
        "activity",
        "task-created",
        "task-completed",
        "activity",
        "activity",
        "instance-end",
    ]
    [started] = history(iid, "instance-start")
    assert (started.actor, started.element_id, started.data) == (
        "alice",
        "start",
        {"business_key": "BK"},
    )
    [created] = history(iid, "task-created")
    assert (created.task_id, created.element_id, created.actor) == (created_id, "A", "bob")
    [completed] = history(iid, "task-completed")
    assert (completed.task_id, completed.actor, completed.outcome, completed.data) == (
        created_id,
        "bob",
        "approved",
        {"comment": "fine"},
    )
    assert completed.started_at == earlier
    assert completed.duration_ms is not None
    assert 90_000 <= completed.duration_ms < 100_000
    [ended] = history(iid, "instance-end")
    assert (ended.element_id, ended.outcome) == ("end", "completed")
    assert ended.duration_ms is not None
    assert 90_000 <= ended.duration_ms < 100_000
    assert all(e.definition_key == "p" for e in HistoryEvent.objects.filter(instance_id=iid))
    user_task = HistoryEvent.objects.get(instance_id=iid, kind="activity", element_id="A")
    assert user_task.element_kind == "userTask"
    assert user_task.started_at is not None


def test_every_ended_instance_has_one_start_and_one_end_row() -> None:
    deploy(PARALLEL)
    iid = start()
    for element_id in "ABCD":
        complete(iid, element_id)
    assert len(history(iid, "instance-start")) == 1
    assert len(history(iid, "instance-end")) == 1
    assert len(history(iid, "task-created")) == 4
    assert len(history(iid, "task-completed")) == 4
    assert_ended(iid)
