"""A token dropped twice (issue 16, item 5.4): inside an embedded sub-process, a branch that
reaches a terminate end event takes away the other branches' tokens. A token created in the
same action (not yet written) was removed from the instance but stayed on the agenda, so it
ran on, reached its own end event and was dropped a second time (``KeyError`` in
``Run.drop``), or ended the sub-process twice. The files are in
``tests/workflow/conformance/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflow.engine_helpers import (
    assert_ended,
    complete,
    fire_timers,
    history,
    open_tasks,
    path,
    runtime_rows,
)
from workflow.bpmn.validate import parse_and_validate
from workflow.services import definitions as deploys
from workflow.services import engine

pytestmark = pytest.mark.django_db

CONFORMANCE = Path(__file__).parent / "conformance"


def start_file(name: str) -> int:
    data = (CONFORMANCE / name).read_bytes()
    [key] = [p.id for p in parse_and_validate(data).executable_processes]
    deploys.definition_deploy(xml=data, source_name=name)
    return engine.instance_start(key, variables={}, initiator="alice")


def test_a_terminate_end_takes_away_a_branch_created_in_the_same_action() -> None:
    instance_id = start_file("subprocess_terminate_first_wins.bpmn")
    complete(instance_id, "Activity_request")
    assert open_tasks(instance_id) == ["Activity_after"]
    steps = path(instance_id)
    assert "Event_decided" in steps
    # the other branch was cancelled before it moved: it never reached its end event
    assert "Event_logged" not in steps
    assert steps.count("Activity_decide") == 1
    assert runtime_rows(instance_id)["executions"] == 1
    complete(instance_id, "Activity_after")
    assert_ended(instance_id, end_event="Event_end")


def test_two_terminate_ends_in_one_action_end_the_sub_process_once() -> None:
    instance_id = start_file("subprocess_two_terminates.bpmn")
    steps = path(instance_id)
    assert steps.count("Activity_race") == 1
    # one terminate end event ended the sub-process; the other branch was cancelled there
    ended = {
        event.element_id: event.outcome
        for event in history(instance_id, "activity")
        if event.element_id in ("Event_a", "Event_b")
    }
    assert sorted(ended.values()) == ["", "cancelled"]
    assert open_tasks(instance_id) == ["Activity_approve"]
    # first wins: the timer's terminate end takes away the task of the other branch
    fire_timers(instance_id, "Event_timeout")
    steps = path(instance_id)
    assert steps.count("Activity_approval") == 1
    assert "Event_approval_timeout" in steps
    assert_ended(instance_id, end_event="Event_end")


def test_first_approval_wins_by_the_signal() -> None:
    instance_id = start_file("subprocess_two_terminates.bpmn")
    assert engine.signal_throw("approved") == 1
    steps = path(instance_id)
    assert "Event_approval_done" in steps
    assert "Event_approval_timeout" not in steps
    assert_ended(instance_id, end_event="Event_end")


def test_the_person_may_still_approve_first() -> None:
    instance_id = start_file("subprocess_two_terminates.bpmn")
    complete(instance_id, "Activity_approve")
    assert open_tasks(instance_id) == []
    fire_timers(instance_id, "Event_timeout")
    assert_ended(instance_id, end_event="Event_end")
