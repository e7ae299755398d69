"""The Celery path end to end: a real broker (CELERY_BROKER_URL) and a real worker.

Skipped when no broker is configured (the embedded default runs tasks eagerly); CI sets
CELERY_BROKER_URL to the local Redis so this always runs there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from portal.celery import app as celery_app
from portal.models import Notification
from portal.services import notification_send

pytestmark = [
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="CELERY_BROKER_URL is not set: no real broker to test against",
    ),
]


def _wait_for(condition: Callable[[], object], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_notification_email_goes_through_broker_and_worker(employee):
    assert celery_app.conf.task_always_eager is False
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        notification = notification_send(
            recipient=employee, kind="system", title="报销单已审批", url="/"
        )
        assert notification is not None
        delivered = _wait_for(
            lambda: (
                Notification.objects.filter(pk=notification.pk, emailed_at__isnull=False).exists()
                and len(mail.outbox) == 1
            )
        )
    assert delivered, "the worker did not deliver the e-mail through the broker"
    assert mail.outbox[0].to == [employee.email]
    assert "报销单已审批" in mail.outbox[0].subject
    # The SMS channel went through the same worker (the employee has a phone, SMS off).
    assert Notification.objects.get(pk=notification.pk).texted_at is None
