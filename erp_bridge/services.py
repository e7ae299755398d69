"""The ERP bridge's writes that other apps call (apps reach each other only through
services and selectors): the outbox's ``outbox_put``, inside the caller's transaction (the
CRM's accepted quote becomes a ``sales_order.create`` message), and the master-data pull.
The writes themselves live in their modules (``outbox``, ``sync``, ``webhooks``)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from erp_bridge.models import OutboxMessage, OutboxState
from erp_bridge.outbox import WAKE, outbox_put, outbox_replay
from erp_bridge.sync import masterdata_sync
from portal.errors import NotFound, Refused
from portal.models import User

__all__ = ["masterdata_sync", "outbox_put", "outbox_replay", "outbox_retry"]

log = logging.getLogger(__name__)


def _wake_worker() -> None:
    try:
        WAKE.deliver()
    except Exception:  # the broker is down: the beat sweep delivers it later
        log.warning("outbox: could not wake a worker; the sweep will deliver", exc_info=True)


@transaction.atomic
def outbox_retry(*, idempotency_key: str, by: User) -> OutboxMessage:
    """A dead letter goes back in line, due now, its tries counted afresh: the console's
    ``outbox_replay`` for the business app that wrote the message, on behalf of a person
    *that app* allowed (the CRM lets a quote's owner retry its refused sales order, after
    fixing the cause). The caller checks who may; this checks only that the message is
    dead. Joins the caller's transaction."""
    message = (
        OutboxMessage.objects.select_for_update()
        .filter(idempotency_key=idempotency_key[:64])
        .first()
    )
    if message is None:
        raise NotFound(_("There is no such message."))
    if message.state != OutboxState.DEAD:
        raise Refused(
            _("Only a dead letter can be replayed; this message is %(state)s.")
            % {"state": message.get_state_display()}
        )
    message.state = OutboxState.PENDING
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.settled_by = by.get_username()
    message.save(update_fields=["state", "attempts", "next_attempt_at", "settled_by"])
    transaction.on_commit(_wake_worker)
    return message
