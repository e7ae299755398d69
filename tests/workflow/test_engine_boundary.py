"""Boundary events (timer, message, signal, error; interrupting or not) and event
sub-processes (message, error and timer starts; interrupting or not). One small process per
behaviour.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.workflow.conftest import RecordingApps
from tests.workflow.engine_helpers import (
    assert_ended,
    chain,
    complete,
    deploy,
    ends,
    error,
    fire_timers,
    flow,
    history,
    instance,
    jobs,
    message,
    open_tasks,
    path,
    runtime_rows,
    signal,
    start,
    subscriptions,
    timer,
    variables,
)
from workflow.engine.runtime import AlreadyHandled, BpmnErrorThrown, ProcessError
from workflow.models import HistoryEvent, Incident, Job, ProcessInstance, Task
from workflow.services import engine
from workflow.services import jobs as job_services

pytestmark = pytest.mark.django_db


def seconds_until(when: datetime.datetime) -> float:
    return (when - timezone.now()).total_seconds()


# --- boundary events ----------------------------------------------------------------------------


def guarded(boundary: str, *, attached_to: str = "A", after: str = "Late") -> str:
    """start -> A -> B -> end, with ``boundary`` (id "B1") on ``attached_to`` leading to the
    user task ``after``."""
    return (
        '<startEvent id="start"/><userTask id="A"/><userTask id="B"/><endEvent id="end"/>'
        f'<userTask id="{after}"/>{boundary.format(on=attached_to)}'
        + chain("start", "A", "B", "end")
        + flow("B1", after)
        + ends(after)
    )


def boundary(definition: str, *, interrupting: bool = True) -> str:
    cancel = "" if interrupting else ' cancelActivity="false"'
    return f'<boundaryEvent id="B1" attachedToRef="{{on}}"{cancel}>{definition}</boundaryEvent>'


def test_interrupting_timer_boundary_cancels_the_task_and_takes_its_path() -> None:
    deploy(guarded(boundary(timer("timeDuration", "PT2H"))))
    iid = start()
    assert jobs(iid) == [("timer", "B1")]
    a_id = Task.objects.get(instance_id=iid, element_id="A").pk

    fire_timers(iid)

    assert Task.objects.get(pk=a_id).state == "cancelled"
    [cancelled] = history(iid, "task-cancelled")
    assert (cancelled.task_id, cancelled.element_id) == (a_id, "A")
    assert path(iid) == ["start", "A", "B1"]
    activity = HistoryEvent.objects.get(instance_id=iid, kind="activity", element_id="A")
    assert activity.outcome == "cancelled"
    assert open_tasks(iid) == ["Late"]
    assert jobs(iid) == []
    assert runtime_rows(iid)["executions"] == 1
    with pytest.raises(AlreadyHandled):
        engine.task_complete(a_id, actor="alice")


def test_completing_the_task_removes_its_boundary_timer() -> None:
    deploy(guarded(boundary(timer("timeDuration", "PT2H"))))
    iid = start()
    complete(iid, "A")
    assert jobs(iid) == []
    assert open_tasks(iid) == ["B"]


def test_non_interrupting_timer_boundary_keeps_the_task_and_starts_a_path() -> None:
    deploy(guarded(boundary(timer("timeDuration", "PT2H"), interrupting=False)))
    iid = start()
    fire_timers(iid)
    assert open_tasks(iid) == ["A", "Late"]
    assert path(iid) == ["start", "B1"]
    assert jobs(iid) == []  # a duration fires once
    assert history(iid, "task-cancelled") == []

    complete(iid, "Late")
    complete(iid, "A")
    complete(iid, "B")
    assert_ended(iid, end_event="end")


def test_non_interrupting_timer_cycle_boundary_fires_repeatedly() -> None:
    deploy(guarded(boundary(timer("timeCycle", "R2/PT1H"), interrupting=False)))
    iid = start()
    fire_timers(iid)
    job = Job.objects.get(instance_id=iid)
    assert (job.kind, job.element_id, job.payload) == ("timer", "B1", {"fired": 1})
    assert 3500 < seconds_until(job.due_at) <= 3600
    fire_timers(iid)
    assert jobs(iid) == []
    assert sorted(
        Task.objects.filter(instance_id=iid, state="open").values_list("element_id", flat=True)
    ) == ["A", "Late", "Late"]


def test_non_interrupting_cycle_stops_when_the_task_completes() -> None:
    deploy(guarded(boundary(timer("timeCycle", "R/PT1H"), interrupting=False)))
    iid = start()
    fire_timers(iid)
    assert jobs(iid) == [("timer", "B1")]
    complete(iid, "A")
    assert jobs(iid) == []
    assert open_tasks(iid) == ["B", "Late"]


def test_interrupting_message_boundary() -> None:
    deploy(
        guarded(boundary('<messageEventDefinition messageRef="Msg_cancel"/>')),
        extra=message("cancel"),
    )
    iid = start()
    assert subscriptions(iid) == [("message", "cancel", "B1")]
    engine.message_correlate("cancel", instance_id=iid, variables={"why": "late"})
    assert path(iid) == ["start", "A", "B1"]
    assert open_tasks(iid) == ["Late"]
    assert variables(iid) == {"why": "late"}
    assert subscriptions(iid) == []
    assert Task.objects.get(instance_id=iid, element_id="A").state == "cancelled"


def test_non_interrupting_message_boundary_can_fire_again_while_the_task_is_open() -> None:
    deploy(
        guarded(boundary('<messageEventDefinition messageRef="Msg_ping"/>', interrupting=False)),
        extra=message("ping"),
    )
    iid = start()
    engine.message_correlate("ping", instance_id=iid)
    engine.message_correlate("ping", instance_id=iid)
    assert Task.objects.filter(instance_id=iid, element_id="Late", state="open").count() == 2
    assert open_tasks(iid)[0] == "A"
    complete(iid, "A")
    assert subscriptions(iid) == []


def test_the_first_of_two_boundary_events_removes_the_other() -> None:
    deploy(
        '<startEvent id="start"/><userTask id="A"/><userTask id="Late"/><userTask id="Gone"/>'
        f'<boundaryEvent id="B1" attachedToRef="A">{timer("timeDuration", "PT1H")}'
        "</boundaryEvent>"
        '<boundaryEvent id="B2" attachedToRef="A"><messageEventDefinition messageRef="Msg_x"/>'
        "</boundaryEvent>"
        + flow("start", "A")
        + flow("B1", "Late")
        + flow("B2", "Gone")
        + ends("A", "Late", "Gone"),
        extra=message("x"),
    )
    iid = start()
    assert jobs(iid) == [("timer", "B1")]
    assert subscriptions(iid) == [("message", "x", "B2")]
    engine.message_correlate("x", instance_id=iid)
    assert open_tasks(iid) == ["Gone"]
    assert jobs(iid) == []
    assert subscriptions(iid) == []


def test_interrupting_timer_on_a_service_job_removes_the_pending_call(
    apps: RecordingApps,
) -> None:
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.job"/>'
        f'<boundaryEvent id="B1" attachedToRef="S">{timer("timeDuration", "PT1H")}'
        "</boundaryEvent>"
        '<userTask id="Late"/>' + flow("start", "S") + flow("B1", "Late") + ends("S", "Late")
    )
    iid = start()
    assert jobs(iid) == [("service", "S"), ("timer", "B1")]
    Job.objects.filter(instance_id=iid, kind="service").update(
        due_at=timezone.now() + datetime.timedelta(days=1)
    )
    fire_timers(iid)
    assert open_tasks(iid) == ["Late"]
    assert jobs(iid) == []
    assert apps.calls == []


def test_signal_boundary_on_a_task() -> None:
    deploy(guarded(boundary('<signalEventDefinition signalRef="Sig_halt"/>')), extra=signal("halt"))
    iid = start()
    assert engine.signal_throw("halt") == 1
    assert open_tasks(iid) == ["Late"]
    assert subscriptions(iid) == []


@pytest.mark.parametrize("caught", ['errorRef="Err_E1"', ""])
def test_error_boundary_catches_an_inline_application_error(
    apps: RecordingApps, caught: str
) -> None:
    apps.behaviour["test.inline"] = BpmnErrorThrown("E1", "budget exceeded")
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.inline"/>'
        '<userTask id="A"/><userTask id="Fix"/>'
        f'<boundaryEvent id="B1" attachedToRef="S"><errorEventDefinition {caught}/>'
        "</boundaryEvent>" + chain("start", "S", "A") + flow("B1", "Fix") + ends("A", "Fix"),
        extra=error("E1"),
    )
    iid = start()
    assert open_tasks(iid) == ["Fix"]
    assert path(iid) == ["start", "S", "B1"]
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}


def test_error_boundary_catches_a_job_application_error(apps: RecordingApps) -> None:
    apps.behaviour["test.job"] = BpmnErrorThrown("E1")
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.job"/>'
        '<userTask id="A"/><userTask id="Fix"/>'
        '<boundaryEvent id="B1" attachedToRef="S"><errorEventDefinition errorRef="Err_E1"/>'
        "</boundaryEvent>" + chain("start", "S", "A") + flow("B1", "Fix") + ends("A", "Fix"),
        extra=error("E1"),
    )
    iid = start()
    assert job_services.jobs_run_due() == 1
    assert open_tasks(iid) == ["Fix"]
    assert jobs(iid) == []
    # the job did not fail (the unassigned "Fix" task has an incident of its own: nobody
    # can handle it)
    assert not Incident.objects.filter(job_id__isnull=False).exists()


def test_error_boundary_for_another_code_does_not_catch(apps: RecordingApps) -> None:
    apps.behaviour["test.inline"] = BpmnErrorThrown("E2")
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.inline"/>'
        '<userTask id="Fix"/>'
        '<boundaryEvent id="B1" attachedToRef="S"><errorEventDefinition errorRef="Err_E1"/>'
        "</boundaryEvent>"
        '<endEvent id="end"/>' + chain("start", "S", "end") + flow("B1", "Fix") + ends("Fix"),
        extra=error("E1"),
    )
    with pytest.raises(ProcessError, match="E2"):
        start()
    assert not ProcessInstance.objects.exists()


SUB_WITH_ERROR_END = (
    '<startEvent id="start"/>'
    '<subProcess id="Sub"><startEvent id="ss"/><userTask id="X"/>'
    '<userTask id="Y"/><parallelGateway id="fork"/>'
    '<exclusiveGateway id="ok" default="ok-se"/><endEvent id="se"/><endEvent id="sy"/>'
    '<endEvent id="fail"><errorEventDefinition errorRef="Err_E1"/></endEvent>'
    + chain("ss", "fork")
    + flow("fork", "X")
    + flow("fork", "Y")
    + chain("Y", "sy")
    + chain("X", "ok")
    + flow("ok", "fail", "${broken}")
    + flow("ok", "se")
    + "</subProcess>"
    '<boundaryEvent id="caught" attachedToRef="Sub"><errorEventDefinition errorRef="Err_E1"/>'
    "</boundaryEvent>"
    '<userTask id="Repair"/><userTask id="After"/>'
    + chain("start", "Sub", "After")
    + flow("caught", "Repair")
    + ends("Repair", "After")
)


def test_error_end_event_in_a_sub_process_is_caught_by_its_boundary() -> None:
    deploy(SUB_WITH_ERROR_END, extra=error("E1"))
    iid = start()
    assert open_tasks(iid) == ["X", "Y"]
    y_id = Task.objects.get(instance_id=iid, element_id="Y").pk

    complete(iid, "X", broken=True)

    assert open_tasks(iid) == ["Repair"]
    assert Task.objects.get(pk=y_id).state == "cancelled"
    assert path(iid) == ["start", "ss", "fork", "X", "ok", "fail", "Y", "Sub", "caught"]
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}
    complete(iid, "Repair")
    assert_ended(iid, end_event="Repair_end")


def test_sub_process_without_the_error_ends_normally() -> None:
    deploy(SUB_WITH_ERROR_END, extra=error("E1"))
    iid = start()
    complete(iid, "X", broken=False)
    complete(iid, "Y")
    assert open_tasks(iid) == ["After"]
    assert path(iid)[-1] == "Sub"


def test_interrupting_timer_on_a_sub_process_cancels_everything_inside() -> None:
    deploy(
        '<startEvent id="start"/>'
        '<subProcess id="Sub"><startEvent id="ss"/><parallelGateway id="fork"/>'
        '<userTask id="X"/><userTask id="Y"/>'
        + chain("ss", "fork")
        + flow("fork", "X")
        + flow("fork", "Y")
        + ends("X", "Y")
        + "</subProcess>"
        f'<boundaryEvent id="late" attachedToRef="Sub">{timer("timeDuration", "P1D")}'
        "</boundaryEvent>"
        '<userTask id="Escalate"/><endEvent id="end"/>'
        + chain("start", "Sub", "end")
        + flow("late", "Escalate")
        + ends("Escalate")
    )
    iid = start()
    assert jobs(iid) == [("timer", "late")]
    fire_timers(iid)
    assert open_tasks(iid) == ["Escalate"]
    assert sorted(e.element_id for e in history(iid, "task-cancelled")) == ["X", "Y"]
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}


# --- event sub-processes ------------------------------------------------------------------------


def with_event_subprocess(start_definition: str, *, interrupting: bool = True) -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    return (
        '<startEvent id="start"/><userTask id="A"/><endEvent id="end"/>'
        + chain("start", "A", "end")
        + '<subProcess id="Ev" triggeredByEvent="true">'
        f'<startEvent id="es"{flag}>{start_definition}</startEvent>'
        '<userTask id="Handle"/><endEvent id="ee"/>' + chain("es", "Handle", "ee") + "</subProcess>"
    )


def test_interrupting_message_event_sub_process_replaces_the_main_flow() -> None:
    deploy(
        with_event_subprocess('<messageEventDefinition messageRef="Msg_abort"/>'),
        extra=message("abort"),
    )
    iid = start()
    assert subscriptions(iid) == [("message", "abort", "es")]

    engine.message_correlate("abort", instance_id=iid)

    assert open_tasks(iid) == ["Handle"]
    assert Task.objects.get(instance_id=iid, element_id="A").state == "cancelled"
    assert subscriptions(iid) == []
    complete(iid, "Handle")
    assert path(iid) == ["start", "A", "es", "Handle", "ee", "Ev"]
    assert_ended(iid, end_event="Ev")


def test_non_interrupting_message_event_sub_process_runs_beside_the_main_flow() -> None:
    deploy(
        with_event_subprocess(
            '<messageEventDefinition messageRef="Msg_note"/>', interrupting=False
        ),
        extra=message("note"),
    )
    iid = start()
    engine.message_correlate("note", instance_id=iid)
    engine.message_correlate("note", instance_id=iid)
    assert open_tasks(iid) == ["A", "Handle", "Handle"]

    for handle in Task.objects.filter(instance_id=iid, element_id="Handle"):
        engine.task_complete(handle.pk, actor="alice")
    assert instance(iid).state == "active"
    assert subscriptions(iid) == [("message", "note", "es")]

    complete(iid, "A")
    assert_ended(iid, end_event="end")


def test_main_flow_ending_while_a_non_interrupting_event_sub_process_runs() -> None:
    deploy(
        with_event_subprocess(
            '<messageEventDefinition messageRef="Msg_note"/>', interrupting=False
        ),
        extra=message("note"),
    )
    iid = start()
    engine.message_correlate("note", instance_id=iid)
    complete(iid, "A")
    assert instance(iid).state == "active"  # the event sub-process still runs
    assert open_tasks(iid) == ["Handle"]
    complete(iid, "Handle")
    assert_ended(iid)


def test_error_event_sub_process_catches_an_error_of_the_main_flow(apps: RecordingApps) -> None:
    apps.behaviour["test.inline"] = BpmnErrorThrown("E1")
    deploy(
        '<startEvent id="start"/><userTask id="A"/><serviceTask id="S" camunda:type="test.inline"/>'
        '<endEvent id="end"/>'
        + chain("start", "A", "S", "end")
        + '<subProcess id="Ev" triggeredByEvent="true">'
        '<startEvent id="es"><errorEventDefinition errorRef="Err_E1"/></startEvent>'
        '<userTask id="Handle"/><endEvent id="ee"/>'
        + chain("es", "Handle", "ee")
        + "</subProcess>",
        extra=error("E1"),
    )
    iid = start()
    assert subscriptions(iid) == []  # an error start waits for nothing
    complete(iid, "A")
    assert open_tasks(iid) == ["Handle"]
    complete(iid, "Handle")
    assert_ended(iid, end_event="Ev")


def test_timer_event_sub_process_interrupts_the_main_flow() -> None:
    deploy(with_event_subprocess(timer("timeDuration", "P3D")))
    iid = start()
    job = Job.objects.get(instance_id=iid)
    assert (job.kind, job.element_id) == ("timer", "es")
    fire_timers(iid)
    assert open_tasks(iid) == ["Handle"]
    assert Task.objects.get(instance_id=iid, element_id="A").state == "cancelled"
    assert jobs(iid) == []
    complete(iid, "Handle")
    assert_ended(iid)


def test_non_interrupting_timer_cycle_event_sub_process_fires_repeatedly() -> None:
    deploy(with_event_subprocess(timer("timeCycle", "R3/PT1H"), interrupting=False))
    iid = start()
    fire_timers(iid)
    fire_timers(iid)
    assert open_tasks(iid) == ["A", "Handle", "Handle"]
    assert jobs(iid) == [("timer", "es")]
    complete(iid, "A")
    # the process scope lives on while its event sub-processes run: the timer may fire again
    assert jobs(iid) == [("timer", "es")]
    for handle in Task.objects.filter(instance_id=iid, element_id="Handle"):
        engine.task_complete(handle.pk, actor="alice")
    assert_ended(iid)


def test_ending_the_instance_removes_the_event_sub_process_waits() -> None:
    deploy(
        with_event_subprocess('<messageEventDefinition messageRef="Msg_abort"/>'),
        extra=message("abort"),
    )
    iid = start()
    complete(iid, "A")
    assert_ended(iid, end_event="end")


def test_event_sub_process_inside_a_sub_process_is_scoped_to_it() -> None:
    deploy(
        '<startEvent id="start"/><parallelGateway id="fork"/><userTask id="Outer"/>'
        '<subProcess id="Sub"><startEvent id="ss"/><userTask id="X"/><endEvent id="se"/>'
        + chain("ss", "X", "se")
        + '<subProcess id="Ev" triggeredByEvent="true">'
        '<startEvent id="es"><messageEventDefinition messageRef="Msg_stop"/></startEvent>'
        '<userTask id="Handle"/><endEvent id="ee"/>' + chain("es", "Handle", "ee") + "</subProcess>"
        "</subProcess>"
        '<userTask id="After"/>'
        + flow("start", "fork")
        + flow("fork", "Outer")
        + flow("fork", "Sub")
        + chain("Sub", "After")
        + ends("After", "Outer"),
        extra=message("stop"),
    )
    iid = start()
    assert open_tasks(iid) == ["Outer", "X"]
    engine.message_correlate("stop", instance_id=iid)
    assert open_tasks(iid) == ["Handle", "Outer"]  # only the sub-process was interrupted
    complete(iid, "Handle")
    assert open_tasks(iid) == ["After", "Outer"]
    assert subscriptions(iid) == []

    again = start()
    complete(again, "X")
    assert open_tasks(again) == ["After", "Outer"]
    assert subscriptions(again) == []  # the sub-process ended: its event sub-process too


SUB_WITH_EVENT_SUB_AND_DEADLINE = (
    '<startEvent id="start"/>'
    '<subProcess id="Sub"><startEvent id="ss"/><userTask id="X"/><endEvent id="se"/>'
    + chain("ss", "X", "se")
    + '<subProcess id="Ev" triggeredByEvent="true">'
    '<startEvent id="es"><messageEventDefinition messageRef="Msg_stop"/></startEvent>'
    '<userTask id="Handle"/><endEvent id="ee"/>' + chain("es", "Handle", "ee") + "</subProcess>"
    "</subProcess>"
    f'<boundaryEvent id="late" attachedToRef="Sub">{timer("timeDuration", "P1D")}'
    "</boundaryEvent>"
    '<userTask id="After"/><userTask id="Chase"/>'
    + chain("start", "Sub", "After")
    + flow("late", "Chase")
    + ends("After", "Chase")
)


def test_an_interrupting_event_sub_process_keeps_the_sub_process_deadline() -> None:
    deploy(SUB_WITH_EVENT_SUB_AND_DEADLINE, extra=message("stop"))
    iid = start()
    engine.message_correlate("stop", instance_id=iid)
    assert open_tasks(iid) == ["Handle"]
    assert jobs(iid) == [("timer", "late")]  # the sub-process still runs, with its deadline
    assert subscriptions(iid) == []

    fire_timers(iid)

    assert open_tasks(iid) == ["Chase"]
    assert Task.objects.get(instance_id=iid, element_id="Handle").state == "cancelled"
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}


def test_the_deadline_goes_when_the_interrupted_sub_process_completes() -> None:
    deploy(SUB_WITH_EVENT_SUB_AND_DEADLINE, extra=message("stop"))
    iid = start()
    engine.message_correlate("stop", instance_id=iid)
    complete(iid, "Handle")
    assert open_tasks(iid) == ["After"]
    assert path(iid) == ["start", "ss", "X", "es", "Handle", "ee", "Ev", "Sub"]
    assert runtime_rows(iid) == {"executions": 1, "jobs": 0, "subscriptions": 0}
