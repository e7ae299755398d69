"""Celery entry points of the shell: thin wrappers over services, given ids only."""

from __future__ import annotations

from celery import shared_task

from portal.services import notification_deliver
from portal.sms import SmsError


@shared_task(
    autoretry_for=(OSError, SmsError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
    acks_late=True,
)
def deliver_notification(notification_id: int, channel: str) -> bool:
    return notification_deliver(notification_id=notification_id, channel=channel)
