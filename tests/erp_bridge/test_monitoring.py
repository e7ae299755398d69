"""Threshold notices: an interface failing often, or the outbox queue waiting too long,
notifies the integration administrators once an hour, and nobody else."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from pytest_django import Settings

from erp_bridge import monitoring, tasks
from erp_bridge.models import OutboxState
from portal.models import Notification, User
from tests.erp_bridge.console_helpers import (
    calls,
    connected,
    integration_admin,
    integration_viewer,
    message,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _thresholds(settings: Settings) -> None:
    connected()
    settings.ERP_ALERT_ERROR_RATE = 0.2
    settings.ERP_ALERT_MIN_CALLS = 10
    settings.ERP_ALERT_QUEUE_AGE = 900


@pytest.fixture
def admins(superuser: User) -> list[User]:
    return [integration_admin(), integration_viewer(), superuser]


def notices() -> list[tuple[str, str | None]]:
    return sorted(
        Notification.objects.filter(kind=monitoring.KIND).values_list(
            "recipient__username", "dedup_key"
        )
    )


def test_an_error_rate_over_the_threshold_notifies_every_admin_once(
    admins: list[User], employee: User
) -> None:
    now = timezone.now()
    calls("erp:tryton", [30] * 10, at=now - datetime.timedelta(minutes=3), failed=3)

    found = monitoring.thresholds_check(now=now)
    again = monitoring.thresholds_check(now=now + datetime.timedelta(minutes=1))

    assert len(found) == 1 and found == again
    assert "erp:tryton" in found[0]
    assert {name for name, _key in notices()} == {u.username for u in admins}
    assert len(notices()) == 3  # not again a minute later
    notice = Notification.objects.filter(recipient=admins[0]).get()
    assert notice.url == "/erp/console/"
    assert not Notification.objects.filter(recipient=employee).exists()


def test_a_lasting_problem_is_told_again_the_next_hour(admins: list[User]) -> None:
    now = timezone.now().replace(minute=50)
    calls("erp:tryton", [30] * 10, at=now - datetime.timedelta(minutes=3), failed=5)
    monitoring.thresholds_check(now=now)
    calls("erp:tryton", [30] * 10, at=now + datetime.timedelta(minutes=12), failed=5)
    monitoring.thresholds_check(now=now + datetime.timedelta(minutes=15))
    assert len(notices()) == 2 * len(admins)


def test_below_the_rate_or_too_few_calls_is_no_alarm(admins: list[User]) -> None:
    now = timezone.now()
    calls("erp:tryton", [30] * 20, at=now - datetime.timedelta(minutes=3), failed=3)  # 15 %
    calls("webhook:crm", [30] * 4, at=now - datetime.timedelta(minutes=3), failed=4)  # 4 calls
    calls("erp:old", [30] * 10, at=now - datetime.timedelta(minutes=40), failed=10)  # too old
    assert monitoring.thresholds_check(now=now) == []
    assert notices() == []


def test_a_message_waiting_too_long_notifies(admins: list[User]) -> None:
    now = timezone.now()
    message(state=OutboxState.PENDING, created=now - datetime.timedelta(minutes=14))
    assert monitoring.thresholds_check(now=now) == []
    message(state=OutboxState.PENDING, created=now - datetime.timedelta(minutes=16))
    found = monitoring.thresholds_check(now=now)
    assert len(found) == 1 and found[0].startswith("erp_bridge.queue_age:")
    monitoring.thresholds_check(now=now + datetime.timedelta(seconds=30))
    assert len(notices()) == len(admins)
    notice = Notification.objects.filter(recipient=admins[0]).get()
    assert "16 min" in notice.body or "16分钟" in notice.body


def test_a_dead_letter_is_not_a_waiting_message(admins: list[User]) -> None:
    message(state=OutboxState.DEAD, created=timezone.now() - datetime.timedelta(days=2))
    assert monitoring.thresholds_check() == []


def test_inactive_admins_are_not_told(admins: list[User]) -> None:
    admins[0].is_active = False
    admins[0].save()
    now = timezone.now()
    calls("erp:tryton", [30] * 10, at=now - datetime.timedelta(minutes=3), failed=10)
    monitoring.thresholds_check(now=now)
    assert admins[0].username not in {name for name, _key in notices()}
    assert monitoring.integration_admins().filter(pk=admins[0].pk).count() == 0


def test_the_beat_task_runs_the_check(admins: list[User]) -> None:
    message(state=OutboxState.PENDING, created=timezone.now() - datetime.timedelta(hours=1))
    assert tasks.check_thresholds.delay().get() == 1
    assert len(notices()) == len(admins)
