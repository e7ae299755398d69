"""``simulate_process --signal NAME`` and ``simulate(signals=...)`` (issue 16, item 5.2): a
process that waits for a signal can be simulated. Signals are thrown in the order given, when
nothing else can move, before a lazy timer fires; those nobody waits for are reported."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from workflow.models import ProcessDefinition, ProcessInstance
from workflow.simulation import simulate

pytestmark = pytest.mark.django_db

FILE = Path(__file__).parent / "conformance" / "signal_wait.bpmn"


def test_signals_are_thrown_in_order_before_a_lazy_timer() -> None:
    result = simulate(FILE.read_bytes(), signals=["unknown", "approved", "archived"])
    assert result.error is None
    assert result.state == "completed"
    assert result.end_events == ["Event_done"]
    assert result.timers_fired == 0
    assert result.signals_not_delivered == ["unknown"]
    assert result.as_dict()["signals_not_delivered"] == ["unknown"]
    assert not ProcessInstance.objects.exists()


def test_a_signal_waits_its_turn() -> None:
    # "archived" is given first, but nobody waits for it until "approved" has come
    result = simulate(FILE.read_bytes(), signals=["archived", "approved"])
    assert result.state == "completed"
    assert result.end_events == ["Event_done"]
    assert result.signals_not_delivered == []


def test_without_the_signal_the_lazy_timer_fires() -> None:
    result = simulate(FILE.read_bytes())
    assert result.state == "completed"
    assert result.end_events == ["Event_expired"]
    assert result.timers_fired == 1


def test_the_command_takes_repeated_signals() -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "simulate_process",
        str(FILE),
        "--signal",
        "approved",
        "--signal",
        "archived",
        "--json",
        stdout=out,
        stderr=err,
    )
    result = json.loads(out.getvalue())
    assert result["state"] == "completed"
    assert result["end_events"] == ["Event_done"]
    assert result["signals_not_delivered"] == []
    assert not ProcessDefinition.objects.exists()


def test_the_command_reports_signals_nobody_waited_for() -> None:
    out = StringIO()
    call_command(
        "simulate_process", str(FILE), "--signal", "approved", "--signal", "nobody", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert "signals not delivered: nobody" in lines
    assert 'state: waiting at: Event_archived (signal "archived")' in lines


def test_an_empty_signal_name_is_refused() -> None:
    with pytest.raises(CommandError, match="the signal name is missing"):
        call_command("simulate_process", str(FILE), "--signal", " ", stdout=StringIO())
