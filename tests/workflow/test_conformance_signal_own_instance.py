"""A signal caught by the instance that throws it (issue 16, item 5.4). In Camunda 7 a signal
throw event (intermediate or end) delivers the signal at once, in the same transaction, to
every wait for it, the throwing instance's own included (its event sub-processes, interrupting
or not, and its catch events), before the throwing token goes on or ends. The thrower's
instance receives it once, in its own run; the other instances after the commit. The files
are in ``tests/workflow/conformance/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from tests.workflow.engine_helpers import (
    assert_ended,
    chain,
    complete,
    deploy,
    ends,
    history,
    jobs,
    open_tasks,
    path,
    signal,
    subscriptions,
)
from workflow.bpmn.validate import parse_and_validate
from workflow.services import definitions as deploys
from workflow.services import engine
from workflow.simulation import simulate

pytestmark = pytest.mark.django_db

CONFORMANCE = Path(__file__).parent / "conformance"
INTERRUPTING = "signal_own_event_subprocess_interrupting.bpmn"
NON_INTERRUPTING = "signal_own_event_subprocess_non_interrupting.bpmn"
END_EVENT = "signal_own_event_subprocess_end_event.bpmn"
END_EVENT_INTERRUPTING = "signal_own_event_subprocess_end_event_interrupting.bpmn"


def deploy_file(name: str) -> str:
    data = (CONFORMANCE / name).read_bytes()
    [key] = [p.id for p in parse_and_validate(data).executable_processes]
    deploys.definition_deploy(xml=data, source_name=name)
    return key


def start_file(name: str) -> int:
    return engine.instance_start(deploy_file(name), variables={}, initiator="alice")


def deploy_catcher(name: str) -> int:
    """Another process whose instance waits for signal ``name``; a started instance."""
    deploy(
        '<startEvent id="start"/><intermediateCatchEvent id="wait">'
        f'<signalEventDefinition signalRef="Sig_{name}"/></intermediateCatchEvent>'
        '<userTask id="A"/>' + chain("start", "wait", "A") + ends("A"),
        key=f"catcher_{name}",
        extra=signal(name),
    )
    return engine.instance_start(f"catcher_{name}")


def outcomes(instance_id: int, element_id: str) -> list[str]:
    return [e.outcome for e in history(instance_id, "activity") if e.element_id == element_id]


def test_an_interrupting_event_sub_process_catches_its_own_instance_s_signal(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    instance_id = start_file(INTERRUPTING)
    catcher = deploy_catcher("withdrawn")
    assert open_tasks(instance_id) == ["Activity_check", "Activity_request"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        complete(instance_id, "Activity_request")
    # caught in the same transaction: the thrower never went on, "Check" was taken away
    assert open_tasks(instance_id) == ["Activity_handle"]
    steps = path(instance_id)
    assert "Activity_after" not in steps
    assert outcomes(instance_id, "Event_withdraw") == [""]  # thrown once, not cancelled
    assert outcomes(instance_id, "Activity_check") == ["cancelled"]
    assert steps.count("Event_withdrawn") == 1
    assert steps.index("Event_withdraw") < steps.index("Event_withdrawn")
    assert open_tasks(catcher) == []  # the other instance: after the commit

    for callback in callbacks:
        callback()

    assert open_tasks(catcher) == ["A"]
    assert open_tasks(instance_id) == ["Activity_handle"]
    assert path(instance_id).count("Event_withdrawn") == 1
    complete(instance_id, "Activity_handle")
    assert_ended(instance_id, end_event="Activity_on_withdrawal")
    assert "Activity_after" not in path(instance_id)


def test_a_non_interrupting_event_sub_process_and_a_catch_event_receive_it_once(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    instance_id = start_file(NON_INTERRUPTING)
    other = engine.instance_start("signal_own_non_interrupting")
    assert open_tasks(instance_id) == ["Activity_request"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        complete(instance_id, "Activity_request")
    assert open_tasks(instance_id) == ["Activity_after", "Activity_follow_up", "Activity_notify"]
    # the start of the non-interrupting event sub-process stays armed; the catch event is done
    assert subscriptions(instance_id) == [("signal", "remind", "Event_remind_start")]
    assert open_tasks(other) == ["Activity_request"]  # the other instance: after the commit

    for callback in callbacks:
        callback()

    # nothing twice in the thrower's instance
    assert open_tasks(instance_id) == ["Activity_after", "Activity_follow_up", "Activity_notify"]
    steps = path(instance_id)
    assert steps.count("Event_remind_start") == 1
    assert steps.count("Event_reminded") == 1
    # the other instance of the same process received it after the commit, once
    assert open_tasks(other) == ["Activity_follow_up", "Activity_notify", "Activity_request"]
    assert path(other).count("Event_remind_start") == 1

    for element_id in ("Activity_after", "Activity_follow_up", "Activity_notify"):
        complete(instance_id, element_id)
    assert_ended(instance_id)


def test_a_signal_end_event_reaches_its_event_sub_process_before_the_instance_ends(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    instance_id = start_file(END_EVENT)
    catcher = deploy_catcher("closed")

    with django_capture_on_commit_callbacks(execute=True):
        complete(instance_id, "Activity_request")

    # the throwing token ended, the instance did not: its event sub-process runs
    assert open_tasks(instance_id) == ["Activity_archive"]
    steps = path(instance_id)
    assert steps.index("Event_close") < steps.index("Event_closed")
    assert steps.count("Event_closed") == 1
    assert history(instance_id, "instance-end") == []
    assert open_tasks(catcher) == ["A"]

    complete(instance_id, "Activity_archive")
    assert_ended(instance_id, end_event="Activity_on_close")
    assert path(instance_id).count("Event_closed") == 1


def test_a_signal_end_event_in_a_sub_process_is_caught_by_an_interrupting_event_sub_process(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    instance_id = start_file(END_EVENT_INTERRUPTING)
    assert open_tasks(instance_id) == ["Activity_request", "Activity_wait"]

    with django_capture_on_commit_callbacks(execute=True):
        complete(instance_id, "Activity_request")

    assert open_tasks(instance_id) == ["Activity_escalate"]
    assert outcomes(instance_id, "Event_escalate") == [""]
    assert outcomes(instance_id, "Activity_wait") == ["cancelled"]
    assert outcomes(instance_id, "Activity_review") == ["cancelled"]
    assert "Activity_after" not in path(instance_id)

    complete(instance_id, "Activity_escalate")
    assert_ended(instance_id, end_event="Activity_on_escalation")
    assert "Activity_after" not in path(instance_id)


def test_other_instances_of_the_same_process_receive_it_after_the_commit(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The thrower's instance is passed over after the commit, the others are not: a second
    instance of the interrupting process, waiting at "Request", is interrupted there."""
    first = start_file(INTERRUPTING)
    second = engine.instance_start("signal_own_interrupting")
    with django_capture_on_commit_callbacks(execute=True):
        complete(first, "Activity_request")
    assert open_tasks(first) == ["Activity_handle"]
    assert open_tasks(second) == ["Activity_handle"]
    assert outcomes(second, "Activity_request") == ["cancelled"]
    assert path(first).count("Event_withdrawn") == 1
    assert path(second).count("Event_withdrawn") == 1


def test_a_boundary_event_of_the_enclosing_sub_process_catches_it(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """An interrupting signal boundary event on the embedded sub-process the thrower is in."""
    deploy(
        '<startEvent id="s"/><subProcess id="Sub"><startEvent id="ss"/><userTask id="T"/>'
        '<intermediateThrowEvent id="raise"><signalEventDefinition signalRef="Sig_stop"/>'
        '</intermediateThrowEvent><userTask id="Never"/>'
        + chain("ss", "T", "raise", "Never")
        + ends("Never")
        + '</subProcess><boundaryEvent id="stopped" attachedToRef="Sub">'
        '<signalEventDefinition signalRef="Sig_stop"/></boundaryEvent>'
        '<userTask id="Next"/><userTask id="Stopped"/>'
        + chain("s", "Sub", "Next")
        + chain("stopped", "Stopped")
        + ends("Next", "Stopped"),
        extra=signal("stop"),
    )
    instance_id = engine.instance_start("p")
    with django_capture_on_commit_callbacks(execute=True):
        complete(instance_id, "T")
    assert open_tasks(instance_id) == ["Stopped"]
    steps = path(instance_id)
    assert "Never" not in steps
    assert steps.count("stopped") == 1
    assert outcomes(instance_id, "Sub") == ["cancelled"]


def test_an_event_based_gateway_of_a_parallel_branch_catches_it() -> None:
    deploy(
        '<startEvent id="s"/><parallelGateway id="fork"/><userTask id="T"/>'
        '<intermediateThrowEvent id="raise"><signalEventDefinition signalRef="Sig_go"/>'
        '</intermediateThrowEvent><eventBasedGateway id="gw"/>'
        '<intermediateCatchEvent id="go"><signalEventDefinition signalRef="Sig_go"/>'
        "</intermediateCatchEvent>"
        '<intermediateCatchEvent id="late"><timerEventDefinition><timeDuration>P1D'
        "</timeDuration></timerEventDefinition></intermediateCatchEvent>"
        '<userTask id="Went"/><userTask id="Late"/><userTask id="After"/>'
        + chain("s", "fork", "T", "raise", "After")
        + chain("fork", "gw", "go", "Went")
        + chain("gw", "late", "Late")
        + ends("After", "Went", "Late"),
        extra=signal("go"),
    )
    instance_id = engine.instance_start("p")
    complete(instance_id, "T")
    assert open_tasks(instance_id) == ["After", "Went"]
    assert subscriptions(instance_id) == []
    assert jobs(instance_id) == []  # the timer of the gateway's other event went with it


@pytest.mark.parametrize(
    ("name", "reached", "not_reached", "end_events"),
    [
        (INTERRUPTING, "Activity_handle", "Activity_after", ["Event_handled"]),
        (NON_INTERRUPTING, "Activity_notify", None, None),
        (END_EVENT, "Activity_archive", None, ["Event_close", "Event_archived"]),
        (END_EVENT_INTERRUPTING, "Activity_escalate", "Activity_after", None),
    ],
)
def test_simulated_as_camunda_runs_them(
    name: str, reached: str, not_reached: str | None, end_events: list[str] | None
) -> None:
    result = simulate((CONFORMANCE / name).read_bytes(), source_name=name)
    assert result.error is None
    assert result.state == "completed"
    assert result.path.count(reached) == 1
    if not_reached is not None:
        assert not_reached not in result.path
    if end_events is not None:
        assert result.end_events == end_events
