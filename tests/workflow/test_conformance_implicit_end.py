"""Implicit ends (issue 16, item 5.3): BPMN 2.0 lets a token end at a node without an outgoing
flow, and Camunda deploys such files. They deploy here too, the token ends there, a scope
completes when no token of it is left, and the instance when none is left at all. The files
are in ``tests/workflow/conformance/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflow.engine_helpers import assert_ended, complete, instance, open_tasks, path
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


def test_a_last_task_without_outgoing_flow_completes_the_instance() -> None:
    instance_id = start_file("implicit_end_last_task.bpmn")
    assert open_tasks(instance_id) == ["Activity_review"]
    complete(instance_id, "Activity_review")
    assert_ended(instance_id, end_event="Activity_review")
    assert "Event_unreached" not in path(instance_id)


def test_a_branch_that_ends_implicitly_does_not_block_a_join() -> None:
    instance_id = start_file("implicit_end_parallel.bpmn")
    assert open_tasks(instance_id) == ["Activity_check", "Activity_notify", "Activity_sign"]
    complete(instance_id, "Activity_check")
    complete(instance_id, "Activity_sign")
    assert open_tasks(instance_id) == ["Activity_file", "Activity_notify"]
    complete(instance_id, "Activity_notify")  # ends at the gateway without outgoing flow
    assert instance(instance_id).state == "active"
    assert open_tasks(instance_id) == ["Activity_file"]
    complete(instance_id, "Activity_file")
    assert_ended(instance_id)
    assert "Gateway_dead_end" in path(instance_id)


def test_the_branch_that_ends_implicitly_may_end_last() -> None:
    instance_id = start_file("implicit_end_parallel.bpmn")
    complete(instance_id, "Activity_notify")
    complete(instance_id, "Activity_sign")
    complete(instance_id, "Activity_check")
    complete(instance_id, "Activity_file")
    assert_ended(instance_id, end_event="Activity_file")


def test_a_sub_process_completes_when_its_implicit_ends_leave_no_token() -> None:
    instance_id = start_file("implicit_end_subprocess.bpmn")
    # the event-based gateway without outgoing flows waits for nothing: its token ends
    assert "Gateway_nothing" in path(instance_id)
    assert open_tasks(instance_id) == ["Activity_quote_a", "Activity_quote_b"]
    complete(instance_id, "Activity_quote_b")
    assert open_tasks(instance_id) == ["Activity_quote_a"]
    complete(instance_id, "Activity_quote_a")
    assert open_tasks(instance_id) == ["Activity_close"]
    complete(instance_id, "Activity_close")
    assert_ended(instance_id, end_event="Gateway_last")
    assert path(instance_id)[-3:] == ["Activity_collect", "Activity_close", "Gateway_last"]
