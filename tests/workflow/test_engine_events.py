"""The engine's events: timer, message and signal start events, intermediate catch and throw
events and event-based gateways. One small process per behaviour (boundary events and event
sub-processes are in ``test_engine_boundary``).
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from tests.workflow.engine_helpers import (
    assert_ended,
    chain,
    deploy,
    ends,
    fire_timers,
    flow,
    history,
    jobs,
    make_due,
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
from workflow.engine.runtime import EngineError
from workflow.models import Job, ProcessDefinition, ProcessInstance
from workflow.services import engine
from workflow.services import jobs as job_services

pytestmark = pytest.mark.django_db


def seconds_until(when: datetime.datetime) -> float:
    return (when - timezone.now()).total_seconds()


# --- timer start events -------------------------------------------------------------------------


def timer_started(kind: str, value: str, task_id: str = "A") -> str:
    return (
        f'<startEvent id="tick">{timer(kind, value)}</startEvent>'
        f'<userTask id="{task_id}"/><endEvent id="end"/>' + chain("tick", task_id, "end")
    )


def test_deploying_a_timer_start_event_arms_a_start_timer_job() -> None:
    deploy(timer_started("timeDuration", "PT1H"))
    job = Job.objects.get(kind="start-timer")
    assert job.instance_id is None
    assert job.definition == ProcessDefinition.objects.get(key="p")
    assert job.element_id == "tick"
    assert 3500 < seconds_until(job.due_at) <= 3600
    assert not ProcessInstance.objects.exists()


def test_a_start_timer_job_starts_an_instance_once() -> None:
    deploy(timer_started("timeDuration", "PT1H"))
    make_due(kind="start-timer")
    assert job_services.jobs_run_due() == 1

    started = ProcessInstance.objects.get()
    assert started.definition_key == "p"
    assert path(started.pk) == ["tick"]
    assert open_tasks(started.pk) == ["A"]
    assert [e.element_id for e in history(started.pk, "instance-start")] == ["tick"]
    assert not Job.objects.filter(kind="start-timer").exists()  # a duration fires once


def test_a_start_timer_cycle_re_arms_until_its_repetitions_are_spent() -> None:
    deploy(timer_started("timeCycle", "R2/PT1H"))
    for fired in (1, 2):
        make_due(kind="start-timer")
        assert job_services.jobs_run_due() == 1
        assert ProcessInstance.objects.count() == fired
        if fired == 1:
            job = Job.objects.get(kind="start-timer")
            assert job.payload == {"fired": 1}
            assert 3500 < seconds_until(job.due_at) <= 3600
    assert not Job.objects.filter(kind="start-timer").exists()


def test_redeploying_replaces_the_previous_versions_start_timer() -> None:
    deploy(timer_started("timeCycle", "R/PT1H"))
    deploy(timer_started("timeCycle", "R/PT1H"))  # the same XML: nothing changes
    first = Job.objects.get(kind="start-timer")
    deploy(timer_started("timeCycle", "R/PT2H", task_id="B"))

    job = Job.objects.get(kind="start-timer")
    assert job.pk != first.pk
    assert job.definition == ProcessDefinition.objects.get(key="p", version=2)
    assert 7100 < seconds_until(job.due_at) <= 7200

    make_due(kind="start-timer")
    job_services.jobs_run_due()
    assert open_tasks(ProcessInstance.objects.get().pk) == ["B"]


def test_a_new_version_without_timer_start_stops_the_old_timer() -> None:
    deploy(timer_started("timeCycle", "R/PT1H"))
    deploy('<startEvent id="s"/><userTask id="A"/>' + chain("s", "A") + ends("A"))
    assert not Job.objects.filter(kind="start-timer").exists()


def test_a_signal_start_event_starts_an_instance_per_signal() -> None:
    deploy(
        '<startEvent id="go"><signalEventDefinition signalRef="Sig_go"/></startEvent>'
        '<userTask id="A"/>' + chain("go", "A") + ends("A"),
        extra=signal("go"),
    )
    assert engine.signal_throw("go", variables={"n": 1}) == 1
    assert engine.signal_throw("go", variables={"n": 2}) == 1
    started = list(ProcessInstance.objects.order_by("id"))
    assert [i.variables for i in started] == [{"n": 1}, {"n": 2}]
    assert [path(i.pk) for i in started] == [["go"], ["go"]]
    assert engine.signal_throw("other") == 0


# --- intermediate catch events ------------------------------------------------------------------


def catching(definition: str, extra_elements: str = "") -> str:
    return (
        f'<startEvent id="start"/><intermediateCatchEvent id="wait">{definition}'
        f'</intermediateCatchEvent><userTask id="A"/><endEvent id="end"/>{extra_elements}'
        + chain("start", "wait", "A", "end")
    )


def test_intermediate_timer_waits_for_its_duration() -> None:
    deploy(catching(timer("timeDuration", "PT1H")))
    iid = start()
    assert path(iid) == ["start"]
    job = Job.objects.get(instance_id=iid)
    assert (job.kind, job.element_id) == ("timer", "wait")
    assert 3500 < seconds_until(job.due_at) <= 3600
    assert job_services.jobs_run_due() == 0  # not due yet

    assert fire_timers(iid) == 1

    assert path(iid) == ["start", "wait"]
    assert open_tasks(iid) == ["A"]
    assert jobs(iid) == []


def test_intermediate_timer_takes_its_duration_from_a_variable() -> None:
    deploy(catching(timer("timeDuration", "${delay}")))
    iid = start(delay="P2D")
    assert 2 * 86400 - 100 < seconds_until(Job.objects.get(instance_id=iid).due_at) <= 2 * 86400


def test_intermediate_timer_with_a_date() -> None:
    deploy(catching(timer("timeDate", "2030-01-02T03:04:05Z")))
    iid = start()
    assert Job.objects.get(instance_id=iid).due_at == datetime.datetime(
        2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC
    )


def test_intermediate_message_catch_event_waits_for_its_message() -> None:
    deploy(catching('<messageEventDefinition messageRef="Msg_go"/>'), extra=message("go"))
    iid = start()
    assert subscriptions(iid) == [("message", "go", "wait")]
    assert open_tasks(iid) == []

    assert engine.message_correlate("go", variables={"ok": 1}) == iid

    assert path(iid) == ["start", "wait"]
    assert open_tasks(iid) == ["A"]
    assert variables(iid) == {"ok": 1}
    assert subscriptions(iid) == []


def test_intermediate_signal_catch_events_of_every_instance_receive_the_signal() -> None:
    deploy(catching('<signalEventDefinition signalRef="Sig_alarm"/>'), extra=signal("alarm"))
    first, second = start(), start()
    assert subscriptions(first) == [("signal", "alarm", "wait")]

    assert engine.signal_throw("alarm", variables={"level": 2}) == 2

    for iid in (first, second):
        assert path(iid) == ["start", "wait"]
        assert open_tasks(iid) == ["A"]
        assert variables(iid) == {"level": 2}
        assert subscriptions(iid) == []
    assert engine.signal_throw("alarm") == 0


def test_a_none_intermediate_event_passes_through() -> None:
    deploy(
        '<startEvent id="start"/><intermediateThrowEvent id="mark"/><userTask id="A"/>'
        + chain("start", "mark", "A")
        + ends("A")
    )
    iid = start()
    assert path(iid) == ["start", "mark"]
    assert open_tasks(iid) == ["A"]


def test_a_suspended_instance_takes_no_message_nor_signal() -> None:
    deploy(
        '<startEvent id="start"/><parallelGateway id="fork"/>'
        '<intermediateCatchEvent id="msg"><messageEventDefinition messageRef="Msg_go"/>'
        "</intermediateCatchEvent>"
        '<intermediateCatchEvent id="sig"><signalEventDefinition signalRef="Sig_go"/>'
        "</intermediateCatchEvent>"
        + flow("start", "fork")
        + flow("fork", "msg")
        + flow("fork", "sig")
        + ends("msg", "sig"),
        extra=message("go") + signal("go"),
    )
    iid = start()
    ProcessInstance.objects.filter(pk=iid).update(state="suspended")
    with pytest.raises(EngineError):
        engine.message_correlate("go", instance_id=iid)
    assert engine.signal_throw("go") == 0
    assert path(iid) == ["start", "fork"]

    ProcessInstance.objects.filter(pk=iid).update(state="active")
    engine.message_correlate("go", instance_id=iid)
    assert engine.signal_throw("go") == 1
    assert_ended(iid)


# --- intermediate throw events ------------------------------------------------------------------


def test_intermediate_signal_throw_reaches_the_catchers_after_commit(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    deploy(
        catching('<signalEventDefinition signalRef="Sig_alarm"/>'),
        key="catcher",
        extra=signal("alarm"),
    )
    deploy(
        '<startEvent id="s"/><intermediateThrowEvent id="raise">'
        '<signalEventDefinition signalRef="Sig_alarm"/></intermediateThrowEvent>'
        '<userTask id="T"/>' + chain("s", "raise", "T") + ends("T"),
        key="thrower",
        extra=signal("alarm"),
    )
    catchers = [engine.instance_start("catcher") for _ in range(2)]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        thrower = engine.instance_start("thrower")
    assert path(thrower) == ["s", "raise"]
    assert open_tasks(thrower) == ["T"]  # the thrower goes on at once
    assert all(open_tasks(c) == [] for c in catchers)  # nothing delivered before the commit

    for callback in callbacks:
        callback()

    for c in catchers:
        assert path(c) == ["start", "wait"]
        assert open_tasks(c) == ["A"]


def test_intermediate_message_throw_reaches_the_instance_of_the_same_business_key(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    deploy(
        catching('<messageEventDefinition messageRef="Msg_go"/>'),
        key="catcher",
        extra=message("go"),
    )
    deploy(
        '<startEvent id="s"/><intermediateThrowEvent id="send">'
        '<messageEventDefinition messageRef="Msg_go"/></intermediateThrowEvent>'
        '<userTask id="T"/>' + chain("s", "send", "T") + ends("T"),
        key="thrower",
        extra=message("go"),
    )
    other = engine.instance_start("catcher", business_key="K2")
    mine = engine.instance_start("catcher", business_key="K1")
    with django_capture_on_commit_callbacks(execute=True):
        thrower = engine.instance_start("thrower", business_key="K1")
    assert open_tasks(thrower) == ["T"]
    assert open_tasks(mine) == ["A"]
    assert open_tasks(other) == []


def test_a_thrown_message_nobody_waits_for_is_dropped(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    deploy(
        '<startEvent id="s"/><intermediateThrowEvent id="send">'
        '<messageEventDefinition messageRef="Msg_go"/></intermediateThrowEvent>'
        '<endEvent id="end"/>' + chain("s", "send", "end"),
        extra=message("go"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        iid = start()
    assert_ended(iid)


# --- event-based gateways -----------------------------------------------------------------------

RACE = (
    '<startEvent id="start"/><eventBasedGateway id="gw"/>'
    f'<intermediateCatchEvent id="late">{timer("timeDuration", "PT1H")}</intermediateCatchEvent>'
    '<intermediateCatchEvent id="reply"><messageEventDefinition messageRef="Msg_reply"/>'
    "</intermediateCatchEvent>"
    '<intermediateCatchEvent id="stop"><signalEventDefinition signalRef="Sig_stop"/>'
    "</intermediateCatchEvent>"
    '<userTask id="Chase"/><userTask id="Read"/><endEvent id="stopped"/>'
    + flow("start", "gw")
    + chain("gw", "late", "Chase")
    + chain("gw", "reply", "Read")
    + chain("gw", "stop", "stopped")
    + ends("Chase", "Read")
)
RACE_EXTRA = message("reply") + signal("stop")


def test_event_based_gateway_waits_for_all_its_events() -> None:
    deploy(RACE, extra=RACE_EXTRA)
    iid = start()
    assert path(iid) == ["start"]
    assert jobs(iid) == [("timer", "late")]
    assert subscriptions(iid) == [("message", "reply", "reply"), ("signal", "stop", "stop")]
    assert runtime_rows(iid)["executions"] == 1


def test_event_based_gateway_message_first_removes_the_timer() -> None:
    deploy(RACE, extra=RACE_EXTRA)
    iid = start()
    engine.message_correlate("reply", instance_id=iid)
    assert path(iid) == ["start", "gw", "reply"]
    assert open_tasks(iid) == ["Read"]
    assert jobs(iid) == []
    assert subscriptions(iid) == []


def test_event_based_gateway_timer_first_removes_the_subscriptions() -> None:
    deploy(RACE, extra=RACE_EXTRA)
    iid = start()
    fire_timers(iid)
    assert path(iid) == ["start", "gw", "late"]
    assert open_tasks(iid) == ["Chase"]
    assert subscriptions(iid) == []
    with pytest.raises(EngineError):
        engine.message_correlate("reply", instance_id=iid)


def test_event_based_gateway_signal_first() -> None:
    deploy(RACE, extra=RACE_EXTRA)
    iid = start()
    assert engine.signal_throw("stop") == 1
    assert path(iid) == ["start", "gw", "stop", "stopped"]
    assert_ended(iid, end_event="stopped")


def test_event_based_gateway_with_a_receive_task() -> None:
    deploy(
        '<startEvent id="start"/><eventBasedGateway id="gw"/>'
        '<receiveTask id="R" messageRef="Msg_reply"/>'
        f'<intermediateCatchEvent id="late">{timer("timeDuration", "PT1H")}'
        "</intermediateCatchEvent>"
        '<userTask id="Read"/><userTask id="Chase"/>'
        + flow("start", "gw")
        + chain("gw", "R", "Read")
        + chain("gw", "late", "Chase")
        + ends("Read", "Chase"),
        extra=message("reply"),
    )
    iid = start()
    assert subscriptions(iid) == [("message", "reply", "R")]
    engine.message_correlate("reply", instance_id=iid)
    assert path(iid) == ["start", "gw", "R"]
    assert open_tasks(iid) == ["Read"]
    assert jobs(iid) == []
