"""The console's statistics and reads (workflow/statistics.py), checked against numbers
computed by hand: per-day counts in the portal's time zone, average and p90 durations (the
continuous percentile, the same on SQLite and PostgreSQL), overdue tasks by department, the
heat normalisation, the job queue's counts and the keyset cursor."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from portal.keyset import Cursor
from portal.models import Department, User
from tests.workflow.approval_helpers import deploy_steps, user_task
from workflow.models import (
    HistoryEvent,
    Job,
    JobKind,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from workflow.selectors import statistics

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
PERIOD = statistics.DateRange(datetime.date(2025, 3, 1), datetime.date(2025, 3, 31))


def local(day: int, hour: int = 10, month: int = 3) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2025, month, day, hour))


@pytest.fixture
def versions() -> dict[str, ProcessDefinition]:
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="lina"), key="leave")
    deploy_steps(user_task("A", assignee="lina"), key="leave")  # version 2
    deploy_steps(user_task("X", assignee="lina"), key="expense")
    found = {f"{d.key}{d.version}": d for d in ProcessDefinition.objects.all()}
    return found


def instance(
    definition: ProcessDefinition,
    started: datetime.datetime,
    ended: datetime.datetime | None = None,
    state: str = "completed",
) -> ProcessInstance:
    return ProcessInstance.objects.create(
        definition=definition,
        definition_key=definition.key,
        started_at=started,
        ended_at=ended,
        state=state if ended else "active",
    )


def test_instances_per_day_in_local_days(versions: dict[str, ProcessDefinition]) -> None:
    leave = versions["leave1"]
    instance(leave, local(2), local(3))
    instance(leave, local(2, 23))  # 23:00 Shanghai is still the 2nd
    # 2025-03-02 17:00 UTC is 03-03 01:00 in Shanghai
    instance(leave, datetime.datetime(2025, 3, 2, 17, tzinfo=datetime.UTC), local(3, 12))
    instance(leave, local(3), local(5), state="terminated")  # ended, not completed
    instance(leave, local(1, 0, month=4))  # outside the period
    days = statistics.instances_per_day(PERIOD)
    assert len(days) == 31
    by_day = {d.day.day: (d.started, d.completed) for d in days}
    assert by_day[1] == (0, 0)
    assert by_day[2] == (2, 0)
    assert by_day[3] == (2, 2)
    assert by_day[5] == (0, 0)
    assert sum(d.started for d in days) == 4


def test_duration_by_process_average_and_p90(versions: dict[str, ProcessDefinition]) -> None:
    leave, expense = versions["leave1"], versions["expense1"]
    for hours in (1, 2, 3, 4, 10):
        instance(leave, local(10), local(10) + hours * HOUR)
    instance(expense, local(11), local(11) + datetime.timedelta(minutes=30))
    instance(leave, local(12), local(12) + 100 * HOUR, state="rejected")  # not completed
    instance(leave, local(1, 0, month=2), local(1, 1, month=2))  # ended before the period
    instance(leave, local(12))  # still running
    stats = {s.group: s for s in statistics.duration_by_process(PERIOD)}
    assert set(stats) == {"leave", "expense"}
    assert stats["leave"].count == 5
    assert stats["leave"].average == pytest.approx(4 * 3600)
    # sorted 1 2 3 4 10: position 0.9 * 4 = 3.6 → 4 + 0.6 * (10 - 4) = 7.6 h
    assert stats["leave"].p90 == pytest.approx(7.6 * 3600)
    assert stats["expense"].count == 1
    assert stats["expense"].average == pytest.approx(1800)
    assert stats["expense"].p90 == pytest.approx(1800)
    assert [s.group for s in statistics.duration_by_process(PERIOD)] == ["leave", "expense"]


def step_row(
    inst: ProcessInstance,
    element: str,
    minutes: float,
    *,
    at: datetime.datetime | None = None,
    kind: str = "userTask",
    outcome: str = "",
) -> None:
    HistoryEvent.objects.create(
        instance_id=inst.pk,
        definition_key=inst.definition_key,
        kind="activity",
        element_id=element,
        element_kind=kind,
        outcome=outcome,
        at=at or local(15),
        duration_ms=int(minutes * 60_000),
    )


def test_duration_by_step(versions: dict[str, ProcessDefinition]) -> None:
    one = instance(versions["leave1"], local(14))
    two = instance(versions["leave2"], local(14))
    for minutes in (10, 20, 30, 40):
        step_row(one, "A", minutes)
    step_row(two, "B", 60)
    step_row(two, "A", 999, outcome="cancelled")  # taken away: not a duration
    step_row(two, "gw", 999, kind="exclusiveGateway")  # passes at once: not a wait
    step_row(two, "A", 999, at=local(1, 0, month=4))  # outside the period
    other = instance(versions["expense1"], local(14))
    step_row(other, "A", 999)  # another process
    stats = {s.group: s for s in statistics.duration_by_step("leave", PERIOD)}
    assert set(stats) == {"A", "B"}
    assert stats["A"].count == 4
    assert stats["A"].average == pytest.approx(25 * 60)
    # sorted 10 20 30 40: position 0.9 * 3 = 2.7 → 30 + 0.7 * 10 = 37 min
    assert stats["A"].p90 == pytest.approx(37 * 60)
    assert stats["B"].p90 == pytest.approx(3600)
    assert stats["A"].label == "A step"  # the name in the latest version
    assert [s.group for s in statistics.duration_by_step("leave", PERIOD)] == ["B", "A"]


def test_wait_heat_is_normalised_per_version(versions: dict[str, ProcessDefinition]) -> None:
    one = instance(versions["leave1"], local(14))
    two = instance(versions["leave2"], local(14))
    step_row(one, "A", 60)
    step_row(one, "A", 180)  # A: 2 h on average
    step_row(one, "B", 60)  # B: 1 h
    step_row(two, "A", 6000)  # version 2: not in version 1's heat
    heat = statistics.wait_heat(versions["leave1"].pk, PERIOD)
    assert heat.average == {"A": pytest.approx(7200), "B": pytest.approx(3600)}
    assert heat.heat == {"A": pytest.approx(1.0), "B": pytest.approx(0.5)}
    assert heat.count == {"A": 2, "B": 1}
    highlight = heat.highlight(lambda s: f"{s / 3600:.1f} h")
    assert highlight.badges == {"A": "2.0 h", "B": "1.0 h"}
    assert statistics.normalise({"x": 0.0}) == {"x": 0.0}
    assert statistics.wait_heat(versions["expense1"].pk, PERIOD).heat == {}


def test_overdue_by_department(
    versions: dict[str, ProcessDefinition],
    org: dict[str, Department],
    employee: User,
    colleague: User,
    outsider: User,
    superuser: User,
) -> None:
    now = timezone.now()
    inst = instance(versions["leave1"], now - 10 * HOUR)

    def task(assignee: str, due: datetime.datetime | None, state: str = "open") -> None:
        Task.objects.create(
            instance=inst,
            execution=1,
            definition_key="leave",
            element_id="A",
            assignee=assignee,
            state=state,
            created_at=now - 5 * HOUR,
            due_at=due,
        )

    task("zhangwei", now - HOUR)
    task("wangfang", now - HOUR)
    task("liuyang", now - HOUR)
    task("", now - HOUR)  # unclaimed
    task("admin", now - HOUR)  # no department
    task("zhangwei", now + HOUR)  # not yet due
    task("zhangwei", None)  # no due date
    task("zhangwei", now - HOUR, state="completed")
    rows = statistics.overdue_by_department(now=now)
    assert [(r.label, r.count) for r in rows] == [
        ("No department", 2),
        ("华东区", 2),
        ("财务部", 1),
    ]
    assert rows[1].department_id == org["east"].pk


def test_job_health(versions: dict[str, ProcessDefinition]) -> None:
    now = timezone.now()
    held = instance(versions["leave1"], now - HOUR)
    ProcessInstance.objects.filter(pk=held.pk).update(state="suspended")

    def job(kind: str, **fields: Any) -> None:
        Job.objects.create(
            kind=kind, element_id="X", created_at=now, **{"due_at": now - HOUR, **fields}
        )

    job(JobKind.TIMER, due_at=now - 3 * HOUR)  # due, the oldest
    job(JobKind.SERVICE)  # due
    job(JobKind.SERVICE, locked_by="w", locked_until=now - HOUR)  # lease ran out: due
    job(JobKind.TIMER, due_at=now + HOUR)  # scheduled
    job(JobKind.SERVICE, locked_by="w", locked_until=now + HOUR)  # running
    job(JobKind.SERVICE, retries=0)  # failed
    job(JobKind.TIMER, instance=held)  # held: its instance is suspended
    health = statistics.job_health(now=now)
    total = health.total
    assert (total.due, total.scheduled, total.running, total.failed, total.held) == (3, 1, 1, 1, 1)
    assert total.total == 7
    kinds = {kind: counts for kind, _label, counts in health.by_kind}
    assert (kinds["timer"].due, kinds["timer"].scheduled, kinds["timer"].held) == (1, 1, 1)
    assert (kinds["service"].due, kinds["service"].running, kinds["service"].failed) == (2, 1, 1)
    assert health.oldest_due_age == 3 * HOUR


def test_cursor_round_trip_and_bad_input() -> None:
    at = timezone.make_aware(datetime.datetime(2025, 3, 1, 8, 30, 15, 123456))
    cursor = Cursor(at, 0, 42)
    assert Cursor.decode_or_none(cursor.encode()) == cursor
    for bad in ("", "x", "12_", "_3", "1.5_3", "99999999999999999999999_1", "WzAsMCwxXQ"):
        assert Cursor.decode_or_none(bad) is None


def test_date_range() -> None:
    period = statistics.DateRange.last_days(30, today=datetime.date(2025, 3, 31))
    assert period.first == datetime.date(2025, 3, 2)
    assert len(period.days()) == 30
    assert period.end - period.start == datetime.timedelta(days=30)
