"""Builders for the integration console's tests: interface calls (through the real call log,
``erp_bridge.calls.calls_record``), outbox messages in each state, and the people who may
or may not run the console."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.utils import timezone

from erp_bridge import monitoring
from erp_bridge.calls import CallFact, calls_record
from erp_bridge.models import OutboxMessage, OutboxState
from portal import registry
from portal.models import User
from tests.factories import UserFactory, role

ADMIN_PERMISSIONS = (
    "erp_bridge.view_interfacecall",
    "erp_bridge.change_outboxmessage",
    "erp_bridge.add_syncrun",
    "erp_bridge.add_webhooksubscription",
    "erp_bridge.delete_webhooksubscription",
)


def connected() -> None:
    """What ``ErpBridgeConfig.ready`` does once the lead wires ``monitoring.connect()``:
    the notification kind and the menu entry (registered once per test process)."""
    if monitoring.KIND not in registry.notification_kinds:
        monitoring.connect()


def integration_admin(username: str = "sunli", **extra: object) -> User:
    """孙丽, IT: holds the integration administrators' role."""
    user = UserFactory.create(username=username, first_name="丽", last_name="孙", **extra)
    user.groups.add(role("integration_admin", "集成管理员", permissions=ADMIN_PERMISSIONS))
    return user


def integration_viewer(username: str = "zhoujie") -> User:
    """周杰, IT help desk: may look at the console, not act on it."""
    user = UserFactory.create(username=username, first_name="杰", last_name="周")
    user.groups.add(
        role("integration_viewer", "集成查看", permissions=["erp_bridge.view_interfacecall"])
    )
    return user


def calls(
    interface: str,
    durations_ms: Sequence[int],
    *,
    at: datetime.datetime,
    operation: str = "sales_order_create",
    failed: int = 0,
    error: str = "",
) -> None:
    """Log one call per duration at ``at``; the first ``failed`` of them failed."""
    calls_record(
        [
            CallFact(
                interface=interface,
                direction="out",
                operation=operation,
                duration_ms=ms,
                outcome="error" if n < failed else "ok",
                at=at,
                error=(error or "connection refused") if n < failed else "",
            )
            for n, ms in enumerate(durations_ms)
        ]
    )


def message(
    *,
    state: str = OutboxState.DEAD,
    operation: str = "sales_order_create",
    aggregate: str = "customer:C001",
    created: datetime.datetime | None = None,
    error: str = "",
    attempts: int = 0,
    instance_id: int | None = None,
) -> OutboxMessage:
    now = created or timezone.now()
    return OutboxMessage.objects.create(
        operation=operation,
        aggregate=aggregate,
        idempotency_key=f"k-{OutboxMessage.objects.count() + 1}-{now.timestamp()}",
        payload={"reference": "SO-1"},
        state=state,
        attempts=attempts,
        next_attempt_at=now,
        created_at=now,
        last_error=error,
        instance_id=instance_id,
    )
