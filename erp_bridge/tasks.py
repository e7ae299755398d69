"""Celery entry points of the ERP bridge: thin wrappers over its services, given ids only."""

from __future__ import annotations

from celery import shared_task

from erp_bridge.monitoring import thresholds_check
from erp_bridge.outbox import outbox_deliver_due
from erp_bridge.sync import masterdata_sync_all, orders_poll


@shared_task(ignore_result=True)
def deliver_outbox() -> int:
    """Deliver what is due (woken after a commit that wrote messages, and by beat)."""
    return outbox_deliver_due()


@shared_task(ignore_result=True)
def check_thresholds() -> int:
    """Notify the integration administrators of error rates and queue ages over their
    thresholds (beat, every minute); returns how many problems were found."""
    return len(thresholds_check())


@shared_task(ignore_result=True)
def sync_masterdata() -> int:
    """Pull every kind of master data from the ERP (beat, every ERP_SYNC_INTERVAL seconds);
    returns how many kinds succeeded."""
    return sum(run.ok for run in masterdata_sync_all())


@shared_task(ignore_result=True)
def poll_orders() -> int:
    """Read the open sales orders' status from the ERP (beat; for ERPs without webhooks)."""
    return orders_poll()
