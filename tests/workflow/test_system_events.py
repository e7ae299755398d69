"""What other systems report on a request (``instance_system_event``): a history row the
timeline shows in the reader's language, variables set while the request runs, all inside
the caller's transaction; and the end of a request told to other apps' listeners
(``workflow.events``) inside the ending transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import translation

from tests.workflow.engine_helpers import chain, complete, deploy, instance, start
from workflow.engine.cache import graph_for_definition
from workflow.events import InstanceEndListener, instance_end_listeners
from workflow.models import HistoryEvent, InstanceState, Task
from workflow.selectors.timeline import approval_timeline, system_event_text, timeline
from workflow.services.external import instance_system_event

pytestmark = pytest.mark.django_db

TWO_STEPS = (
    '<startEvent id="S"/><userTask id="A" name="Approve" camunda:assignee="bob"/>'
    '<userTask id="B" name="Check" camunda:assignee="bob"/><endEvent id="E"/>'
    + chain("S", "A", "B", "E")
)


def running() -> int:
    deploy(TWO_STEPS)
    return start()


def report(instance_id: int, **kwargs: object) -> None:
    values: dict[str, object] = {
        "system": "ERP",
        "event": "posted",
        "text": "posted, number %(number)s",
        "data": {"number": "JV202612000001"},
    }
    values.update(kwargs)
    with transaction.atomic():
        instance_system_event(instance_id, **values)  # type: ignore[arg-type]


def events(instance_id: int) -> list[HistoryEvent]:
    return list(HistoryEvent.objects.filter(instance_id=instance_id, kind="system-event"))


def test_a_running_request_records_the_event_and_takes_the_variables() -> None:
    instance_id = running()
    revision = instance(instance_id).revision
    report(instance_id, variables={"erp_posting": {"number": "JV202612000001"}})
    (row,) = events(instance_id)
    assert row.outcome == "posted"
    assert row.actor == ""
    assert row.data == {
        "number": "JV202612000001",
        "system": "ERP",
        "event": "posted",
        "text": "posted, number %(number)s",
    }
    record = instance(instance_id)
    assert record.variables["erp_posting"] == {"number": "JV202612000001"}
    assert record.revision == revision + 1
    assert record.state == InstanceState.ACTIVE
    # the request goes on as before
    complete(instance_id, "A", actor="bob")
    assert Task.objects.get(instance_id=instance_id, state="open").element_id == "B"


def test_an_ended_request_keeps_its_variables_and_end_but_shows_the_event() -> None:
    instance_id = running()
    complete(instance_id, "A", actor="bob")
    complete(instance_id, "B", actor="bob")
    before = instance(instance_id)
    report(instance_id, variables={"erp_posting": {"number": "JV1"}})
    after = instance(instance_id)
    assert after.state == InstanceState.COMPLETED
    assert "erp_posting" not in after.variables
    assert (after.ended_at, after.revision) == (before.ended_at, before.revision)
    assert len(events(instance_id)) == 1


def test_it_joins_the_callers_transaction() -> None:
    instance_id = running()
    with pytest.raises(RuntimeError), transaction.atomic():
        instance_system_event(
            instance_id,
            system="ERP",
            event="posted",
            text="posted",
            variables={"erp_posting": {"number": "JV1"}},
        )
        raise RuntimeError("the caller's work failed")
    assert events(instance_id) == []
    assert "erp_posting" not in instance(instance_id).variables


def test_a_request_that_is_gone_is_left_alone() -> None:
    report(987654)
    assert HistoryEvent.objects.filter(kind="system-event").count() == 0


@pytest.mark.parametrize("missing", ["system", "event", "text"])
def test_an_event_needs_a_system_an_event_and_a_text(missing: str) -> None:
    instance_id = running()
    with pytest.raises(ValueError, match="needs a system"):
        report(instance_id, **{missing: " "})
    assert events(instance_id) == []


def test_the_timeline_shows_the_system_and_what_it_did_in_the_readers_language() -> None:
    instance_id = running()
    # a message the catalogue holds, to see it in both languages
    report(instance_id, event="posted", text="Approved: %(title)s", data={"title": "差旅费"})
    report(instance_id, event="refused", text="closed period 2024-01", data={})
    record = instance(instance_id)
    graph = graph_for_definition(record.definition_id)
    with translation.override("en"):
        nodes = [n for n in approval_timeline(record, graph).nodes if n.title == "ERP"]
        assert [(n.marks[0].state, n.tone) for n in nodes] == [
            ("Approved: 差旅费", "ok"),
            ("closed period 2024-01", "bad"),
        ]
        html = render_to_string(
            "workflow/partials/_timeline.html", {"approval": approval_timeline(record, graph)}
        )
        assert "Approved: 差旅费" in html
        lines = [e for e in timeline(record, graph) if e.label == "ERP"]
        assert [(e.text, e.tone) for e in lines] == [
            ("Approved: 差旅费", "ok"),
            ("closed period 2024-01", "bad"),
        ]
    with translation.override("zh-hans"):
        nodes = [n for n in approval_timeline(record, graph).nodes if n.title == "ERP"]
        assert nodes[0].marks[0].state == "审批通过：差旅费"
        assert nodes[1].marks[0].state == "closed period 2024-01"  # the ERP's own words


def test_a_text_whose_placeholders_the_data_lack_reads_as_it_is() -> None:
    assert system_event_text({"text": "posted, number %(number)s"}) == ("posted, number %(number)s")
    assert system_event_text({}) == ""


# --- the end of a request, told to other apps -------------------------------------------------


@pytest.fixture
def heard() -> Iterator[list[tuple[int, str, str, bool]]]:
    calls: list[tuple[int, str, str, bool]] = []

    def ended(instance_id: int, key: str, outcome: str) -> None:
        calls.append((instance_id, key, outcome, connection.in_atomic_block))

    instance_end_listeners.register(InstanceEndListener("test", ended))
    yield calls
    instance_end_listeners.unregister("test")


def test_an_ended_request_is_told_to_the_listeners_inside_its_transaction(heard) -> None:
    instance_id = running()
    complete(instance_id, "A", actor="bob")
    assert heard == []
    complete(instance_id, "B", actor="bob")
    assert heard == [(instance_id, "p", "completed", True)]


def test_a_called_instance_is_part_of_its_request_and_not_announced(heard) -> None:
    deploy('<startEvent id="S"/><endEvent id="E"/>' + chain("S", "E"), key="child")
    deploy(
        '<startEvent id="S"/><callActivity id="C" calledElement="child"/>'
        '<userTask id="A" camunda:assignee="bob"/><endEvent id="E"/>' + chain("S", "C", "A", "E"),
        key="parent",
    )
    instance_id = start("parent")
    assert heard == []
    complete(instance_id, "A", actor="bob")
    assert heard == [(instance_id, "parent", "completed", True)]


def test_a_listener_that_fails_rolls_the_ending_action_back() -> None:
    def broken(instance_id: int, key: str, outcome: str) -> None:
        raise RuntimeError("the listener's write failed")

    instance_end_listeners.register(InstanceEndListener("broken", broken))
    try:
        instance_id = running()
        complete(instance_id, "A", actor="bob")
        with pytest.raises(RuntimeError):
            complete(instance_id, "B", actor="bob")
    finally:
        instance_end_listeners.unregister("broken")
    assert instance(instance_id).state == InstanceState.ACTIVE
    assert Task.objects.get(instance_id=instance_id, state="open").element_id == "B"


def test_a_request_that_ends_as_it_starts_is_announced(heard) -> None:
    deploy('<startEvent id="S"/><endEvent id="E"/>' + chain("S", "E"), key="straight")
    instance_id = start("straight")
    assert heard == [(instance_id, "straight", "completed", True)]
