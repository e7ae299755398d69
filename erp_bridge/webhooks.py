"""Webhooks, in and out, signed the same way; and the one place a sales order's status
changes (:func:`order_status_update`), whether the ERP pushed it or we polled it.

Signing (both directions): ``X-Webhook-Signature: sha256=<hex>``, the HMAC-SHA256 with the
shared secret over ``"<X-Webhook-Timestamp>." + body``; ``X-Webhook-Timestamp`` is the
Unix time in seconds, ``X-Webhook-Id`` the delivery's id (the outbox message's idempotency
key when we send). A receiver checks the signature with a constant-time comparison, refuses a
timestamp more than ``WEBHOOK_TOLERANCE`` seconds from its clock, and refuses an id it has
seen (a replay): we keep one :class:`~erp_bridge.models.WebhookReceipt` per source and id.

Inbound (the ERP tells us an order shipped, an invoice was paid): :func:`webhook_receive`
checks all that, then applies the event in one transaction with its receipt, so a refused
or failed delivery changes nothing and may be sent again. Reports may arrive late or out of
order: each carries when it happened in the ERP (``occurred_at``); one older than the report
we hold is stale and changes nothing (the next poll reconciles the full status).

Outbound (other systems subscribe to the portal's events): :func:`event_publish` writes one
outbox message per subscriber in the caller's transaction; the outbox delivers it (operation
``webhook.deliver``, registered by :func:`connect`) with retries and a dead-letter state.
A subscriber's signing secret is shown once, when the subscription is made, and stored
encrypted with a key derived from ``SECRET_KEY``: rotating ``SECRET_KEY`` makes the stored
secrets unreadable, so every subscription must then be made again (a new secret issued).
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from erp_bridge import transport
from erp_bridge.calls import CallFact, digest, record
from erp_bridge.gateway import ErpError, OrderState
from erp_bridge.models import (
    InterfaceCall,
    OrderRecord,
    OutboxMessage,
    OutboxState,
    WebhookReceipt,
    WebhookSubscription,
)
from erp_bridge.models.webhooks import EVENTS
from erp_bridge.outbox import Operation, operations, outbox_put, register_operation
from portal.errors import Invalid, NotFound, PortalError, Refused
from portal.models import User

__all__ = [
    "DELIVER",
    "HEADER_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "INBOUND_EVENTS",
    "WebhookRefused",
    "connect",
    "event_publish",
    "instance_finished",
    "order_status_update",
    "sign",
    "subscription_create",
    "subscription_delete",
    "webhook_receive",
]

HEADER_TIMESTAMP = "X-Webhook-Timestamp"
HEADER_ID = "X-Webhook-Id"
HEADER_SIGNATURE = "X-Webhook-Signature"
DELIVER = "webhook.deliver"  # the outbox operation
INBOUND_EVENTS = ("order.status", "order.shipped", "invoice.paid")
ORDER_STATES: tuple[str, ...] = get_args(OrderState)
FINAL_STATES = ("done", "cancelled")
MAX_BODY = 64 * 1024  # an inbound event is a few hundred bytes

# --- signing -----------------------------------------------------------------------------------


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` with ``secret``."""
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, body: bytes, delivery_id: str) -> dict[str, str]:
    """The headers that sign ``body`` now (for a sender: the outbox, a test, a bench)."""
    timestamp = str(int(time.time()))
    return {
        HEADER_TIMESTAMP: timestamp,
        HEADER_ID: delivery_id,
        HEADER_SIGNATURE: f"sha256={sign(secret, timestamp, body)}",
    }


class WebhookRefused(PortalError):
    """An inbound webhook refused before anything changed: the HTTP status and a stable
    ``code`` for the sender, the message for the people who read its log."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _verify(secret: bytes, headers: Mapping[str, str], body: bytes) -> str:
    """The delivery id of a correctly signed, fresh delivery; else :class:`WebhookRefused`."""
    timestamp = headers.get(HEADER_TIMESTAMP, "").strip()
    delivery_id = headers.get(HEADER_ID, "").strip()
    signature = headers.get(HEADER_SIGNATURE, "").strip()
    if not (timestamp and delivery_id and signature):
        raise WebhookRefused(
            _("The request is not signed: send the headers %(headers)s.")
            % {"headers": ", ".join((HEADER_TIMESTAMP, HEADER_ID, HEADER_SIGNATURE))},
            status=401,
            code="unsigned",
        )
    expected = sign(secret, timestamp, body)
    offered = [s.strip().removeprefix("sha256=") for s in signature.split(",")]
    # every offered signature is compared (constant time each), none short-circuits
    matches = [hmac.compare_digest(expected.encode(), s.encode()) for s in offered]
    if not any(matches):
        raise WebhookRefused(
            _("The signature in %(header)s does not match the body.")
            % {"header": HEADER_SIGNATURE},
            status=401,
            code="bad_signature",
        )
    try:
        sent = int(timestamp)
    except ValueError:
        sent = None
    tolerance = int(settings.WEBHOOK_TOLERANCE)
    if sent is None or abs(time.time() - sent) > tolerance:
        raise WebhookRefused(
            _(
                "%(header)s must be the Unix time in seconds, within %(seconds)d seconds of "
                "the portal's clock."
            )
            % {"header": HEADER_TIMESTAMP, "seconds": tolerance},
            status=401,
            code="stale_timestamp",
        )
    if len(delivery_id) > WebhookReceipt._meta.get_field("delivery_id").max_length:  # type: ignore[operator]
        raise WebhookRefused(
            _("%(header)s is longer than 128 characters.") % {"header": HEADER_ID},
            status=400,
            code="invalid",
        )
    return delivery_id


# --- the order's status: one function for webhooks and polling ---------------------------------

StatusOutcome = Literal["changed", "unchanged", "stale"]


def _order_data(order: OrderRecord, source: str) -> dict[str, Any]:
    return {
        "reference": order.reference,
        "number": order.number,
        "customer_code": order.customer_code,
        "state": order.state,
        "shipped": order.shipped,
        "invoiced": order.invoiced,
        "paid": order.paid,
        "total": str(order.total),
        "currency": order.currency,
        "source": source,
    }


def _status_apply(
    *,
    reference: str,
    state: str | None,
    shipped: bool | None,
    invoiced: bool | None,
    paid: bool | None,
    source_updated_at: datetime.datetime,
    source: str,
) -> StatusOutcome:
    """The body of :func:`order_status_update`, joining the caller's transaction."""
    if state is not None and state not in ORDER_STATES:
        raise Invalid(
            _("%(field)s must be one of: %(values)s")
            % {"field": "state", "values": ", ".join(ORDER_STATES)}
        )
    order = OrderRecord.objects.select_for_update().filter(reference=reference).first()
    if order is None:
        raise NotFound(_("There is no sales order %(reference)s.") % {"reference": reference})
    if order.source_updated_at is not None and source_updated_at < order.source_updated_at:
        return "stale"
    reported = {"state": state, "shipped": shipped, "invoiced": invoiced, "paid": paid}
    changes = {
        name: value
        for name, value in reported.items()
        if value is not None and getattr(order, name) != value
    }
    was_paid = order.paid
    for name, value in changes.items():
        setattr(order, name, value)
    order.source_updated_at = source_updated_at
    fields = [*changes, "source_updated_at"]
    if changes:
        order.updated_at = timezone.now()
        fields.append("updated_at")
    order.save(update_fields=fields)
    if not changes:
        return "unchanged"
    data = _order_data(order, source)
    event_publish(event="order.updated", data=data, aggregate=f"order:{order.reference}")
    if order.paid and not was_paid:
        event_publish(event="invoice.paid", data=data, aggregate=f"order:{order.reference}")
    return "changed"


@transaction.atomic(durable=True)
def order_status_update(
    *,
    reference: str,
    state: str | None,
    shipped: bool | None,
    invoiced: bool | None,
    paid: bool | None,
    source_updated_at: datetime.datetime,
    source: str,
) -> bool:
    """Record what the ERP reported about the sales order ``reference`` (None: not reported,
    left as it is), under the order's row lock. A report older than the one we hold
    (``source_updated_at``) is stale: nothing changes and the answer is False. A change of
    state publishes ``order.updated`` (and ``invoice.paid`` when it became paid) to the
    subscribers in the same transaction. An unknown reference raises ``NotFound``, a state
    that is not an order state ``Invalid``."""
    outcome = _status_apply(
        reference=reference,
        state=state,
        shipped=shipped,
        invoiced=invoiced,
        paid=paid,
        source_updated_at=source_updated_at,
        source=source,
    )
    return outcome != "stale"


# --- inbound ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """What :func:`webhook_receive` did with an accepted delivery."""

    delivery_id: str
    event: str
    outcome: StatusOutcome


def _invalid(message: str) -> WebhookRefused:
    return WebhookRefused(message, status=400, code="invalid")


def _flag(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise _invalid(_("%(field)s must be true or false.") % {"field": name})


def _parse(raw: bytes) -> dict[str, Any]:
    """The event's fields from the body, each checked; :class:`WebhookRefused` naming the
    field that is wrong."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise WebhookRefused(_("The body must be a JSON object."), status=400, code="malformed")
    event = body.get("event")
    if event not in INBOUND_EVENTS:
        raise WebhookRefused(
            _("%(field)s must be one of: %(values)s")
            % {"field": "event", "values": ", ".join(INBOUND_EVENTS)},
            status=400,
            code="unknown_event",
        )
    reference = body.get("reference")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 64:
        raise _invalid(
            _("%(field)s must be the order's reference (1 to 64 characters).")
            % {"field": "reference"}
        )
    occurred = body.get("occurred_at")
    moment = parse_datetime(occurred) if isinstance(occurred, str) else None
    if moment is None:
        raise _invalid(
            _("%(field)s must be a date and time in ISO 8601 (2026-01-31T09:30:00+08:00).")
            % {"field": "occurred_at"}
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    fields: dict[str, Any] = {
        "reference": reference.strip(),
        "source_updated_at": moment,
        "state": None,
        "shipped": _flag(body, "shipped"),
        "invoiced": _flag(body, "invoiced"),
        "paid": _flag(body, "paid"),
    }
    state = body.get("state")
    if event == "order.status" or state is not None:
        if state not in ORDER_STATES:
            raise _invalid(
                _("%(field)s must be one of: %(values)s")
                % {"field": "state", "values": ", ".join(ORDER_STATES)}
            )
        fields["state"] = state
    if event == "order.shipped":
        fields["shipped"] = True
    elif event == "invoice.paid":
        fields["invoiced"], fields["paid"] = True, True
    return {"event": event, **fields}


@transaction.atomic(durable=True)
def _accept(source: str, delivery_id: str, fields: dict[str, Any]) -> Received:
    event = fields.pop("event")
    outcome = _status_apply(source=f"webhook:{source}", **fields)
    try:
        with transaction.atomic():  # two deliveries of one id at once: the second loses here
            WebhookReceipt.objects.create(
                source=source,
                delivery_id=delivery_id,
                event=event,
                received_at=timezone.now(),
                outcome=outcome,
            )
    except IntegrityError as exc:
        raise _replayed() from exc
    return Received(delivery_id=delivery_id, event=event, outcome=outcome)


def _replayed() -> WebhookRefused:
    return WebhookRefused(
        _("This delivery id was received before: a replay is refused."),
        status=409,
        code="replayed",
    )


def webhook_receive(*, source: str, headers: Mapping[str, str], body: bytes) -> Received:
    """Accept a status webhook from ``source`` (the ERP's name in the URL) signed with
    ``ERP_WEBHOOK_SECRET``, or refuse it with :class:`WebhookRefused` (or ``NotFound`` for an
    unknown order) and change nothing: no secret set (503), unsigned or badly signed or
    stale (401), a body that is not a known event with its fields (400), a delivery id seen
    before (409). An accepted stale report is kept as received and changes no order."""
    secret = str(settings.ERP_WEBHOOK_SECRET or "")
    if not secret:
        raise WebhookRefused(
            _("Inbound webhooks are switched off: set ERP_WEBHOOK_SECRET on the portal."),
            status=503,
            code="not_configured",
        )
    if len(source) > 48:
        raise WebhookRefused(_("There is no such webhook source."), status=404, code="not_found")
    if len(body) > MAX_BODY:
        raise WebhookRefused(
            _("The body is larger than %(size)d bytes.") % {"size": MAX_BODY},
            status=413,
            code="too_large",
        )
    delivery_id = _verify(secret.encode(), headers, body)
    fields = _parse(body)
    if WebhookReceipt.objects.filter(source=source, delivery_id=delivery_id).exists():
        raise _replayed()
    return _accept(source, delivery_id, fields)


# --- outbound: subscriptions and their secrets ------------------------------------------------


@functools.lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    """The key that encrypts the subscribers' signing secrets, derived from ``SECRET_KEY``
    with HKDF-SHA256 and a salt and purpose of its own (the same ``SECRET_KEY`` used
    elsewhere yields an unrelated key here)."""
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"enterprise-portal.erp_bridge.webhooks",
        info=b"webhook subscription signing secret v1",
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str) -> str:
    return _fernet(str(settings.SECRET_KEY)).encrypt(secret.encode()).decode()


def _decrypt(subscription: WebhookSubscription) -> bytes:
    try:
        return _fernet(str(settings.SECRET_KEY)).decrypt(subscription.secret_encrypted.encode())
    except InvalidToken as exc:
        raise ErpError(
            "the subscription's signing secret cannot be decrypted (was SECRET_KEY "
            "changed?): make the subscription again to issue a new secret",
            permanent=True,
            code="not_configured",
        ) from exc


def _may(user: User, permission: str) -> bool:
    return bool(user.is_active and user.has_perm(permission))


@transaction.atomic(durable=True)
def subscription_create(
    *, name: str, url: str, events: list[str], by: User
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to ``events``; returns the subscription and its signing secret in
    clear, which is shown once and never again (only its encryption is stored). Field errors
    raise ``ValidationError``; only integration administrators (``add_webhooksubscription``)
    may subscribe, others are ``Refused``."""
    if not _may(by, "erp_bridge.add_webhooksubscription"):
        raise Refused(_("Only integration administrators may add webhook subscriptions."))
    secret = secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        name=name.strip() if isinstance(name, str) else name,
        url=url.strip() if isinstance(url, str) else url,
        events=list(dict.fromkeys(events)) if isinstance(events, list | tuple) else events,
        secret_encrypted=_encrypt(secret),
        active=True,
        created_by=by.get_username(),
        created_at=timezone.now(),
    )
    subscription.full_clean()
    subscription.save()
    return subscription, secret


@transaction.atomic(durable=True)
def subscription_delete(subscription_id: int, *, by: User) -> None:
    """End a subscription: its messages not yet delivered are discarded (kept, with who
    ended it, like every message); those delivered stay in the outbox's history. Integration
    administrators only (``delete_webhooksubscription``)."""
    if not _may(by, "erp_bridge.delete_webhooksubscription"):
        raise Refused(_("Only integration administrators may delete webhook subscriptions."))
    subscription = (
        WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    )
    if subscription is None:
        raise NotFound(_("There is no such webhook subscription."))
    OutboxMessage.objects.filter(
        subscription=subscription, state__in=[OutboxState.PENDING, OutboxState.DEAD]
    ).update(
        state=OutboxState.DISCARDED, leased_until=None, leased_by="", settled_by=by.get_username()
    )
    subscription.delete()


def _plain_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as plain JSON values (decimals and dates as strings)."""
    result: dict[str, Any] = json.loads(json.dumps(dict(data), cls=DjangoJSONEncoder))
    return result


def event_publish(*, event: str, data: Mapping[str, Any], aggregate: str) -> int:
    """Queue ``event`` for every active subscriber to it, in the caller's transaction (the
    event leaves only if the change that caused it commits); returns how many messages were
    written. ``aggregate`` names the object (``order:SO-1``): one subscriber's events of one
    object are delivered in the order they were published."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}; one of {sorted(EVENTS)}")
    subscribers = _subscribers(event)
    if not subscribers:
        return 0
    payload = {
        "event": event,
        "occurred_at": timezone.now().isoformat(),
        "data": _plain_json(data),
    }
    for subscription_id in subscribers:
        outbox_put(
            operation=DELIVER,
            aggregate=f"webhook:{subscription_id}:{aggregate}",
            payload=payload,
            subscription_id=subscription_id,
        )
    return len(subscribers)


def _subscribers(event: str) -> list[int]:
    """The ids of the active subscriptions to ``event``, in the admin's order (by name).
    One lean read of our own, asked again every time (a subscription made or ended in
    another process counts at once): the end of every request asks it, so the ORM's query
    building and model rows would cost more than reading the few rows of this table."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, events FROM {WebhookSubscription._meta.db_table} "  # noqa: S608 - a table name
            "WHERE active ORDER BY name, id"
        )
        found = cursor.fetchall()
    return [
        pk
        for pk, events in found
        # a JSON column comes back as its text (Django decodes it in the ORM only)
        if event in ((json.loads(events) if isinstance(events, str) else events) or [])
    ]


def instance_finished(instance_id: int, definition_key: str, outcome: str) -> None:
    """Tell the subscribers that a request (process instance) ended: ``instance.finished``
    with the process's key and how it ended. Joins the caller's transaction (the engine's
    end of the instance) without a savepoint of its own (what raises here rolls the whole
    action back, as ``workflow.events`` says), or opens one."""
    with transaction.atomic(savepoint=False):
        event_publish(
            event="instance.finished",
            data={
                "instance_id": instance_id,
                "definition_key": definition_key,
                "outcome": outcome,
            },
            aggregate=f"instance:{instance_id}",
        )


# --- outbound: delivery (the outbox operation) ------------------------------------------------

_http = threading.local()


def _session(url: str) -> requests.Session:
    """One keep-alive session per worker thread and subscriber host."""
    sessions: dict[str, requests.Session] = _http.__dict__.setdefault("sessions", {})
    host = urlsplit(url).netloc
    if host not in sessions:
        sessions[host] = transport.session(url)
    return sessions[host]


def _classify(status: int, text: str) -> ErpError | None:
    """2xx: delivered; 408, 429, 5xx: try again later; any other answer: the subscriber
    refuses it for good (a dead letter with its answer)."""
    if 200 <= status < 300:
        return None
    message = f"the subscriber answered HTTP {status}: {text[:300]}".rstrip(": ")
    retry = status in (408, 429) or status >= 500
    return ErpError(message, permanent=not retry, code="" if retry else "refused")


def _deliver(message: OutboxMessage) -> Mapping[str, Any]:
    """POST the event to its subscriber, signed with the subscriber's secret; the message's
    idempotency key is the delivery id (a receiver that saw it already ignores it)."""
    subscription = message.subscription
    if subscription is None or not subscription.active:
        raise ErpError("the subscription is switched off", permanent=True, code="not_configured")
    payload = message.payload
    event = str(payload.get("event", ""))
    body = json.dumps(
        {
            "id": message.idempotency_key,
            "event": event,
            "occurred_at": payload.get("occurred_at"),
            "data": payload.get("data", {}),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "enterprise-portal-webhooks/1",
        "X-Webhook-Event": event,
        **signed_headers(_decrypt(subscription), body, message.idempotency_key),
    }
    started, at = time.monotonic(), timezone.now()
    status: int | None = None
    error: ErpError | None = None
    try:
        response = _session(subscription.url).post(
            subscription.url,
            data=body,
            headers=headers,
            timeout=int(settings.ERP_TIMEOUT),
            allow_redirects=False,
        )
        status = response.status_code
        error = _classify(status, response.text)
    except requests.Timeout:
        error = ErpError(f"no answer within {settings.ERP_TIMEOUT} s", permanent=False)
    except requests.RequestException as exc:
        # the exception's text may carry the URL (and a token in it): only its kind is kept
        error = ErpError(f"could not reach the subscriber ({type(exc).__name__})")
    record(
        CallFact(
            interface=f"webhook:{subscription.name}"[:64],
            direction="out",
            operation=event,
            duration_ms=round((time.monotonic() - started) * 1000),
            outcome=str(
                InterfaceCall.Outcome.OK
                if error is None
                else InterfaceCall.Outcome.REFUSED
                if error.permanent
                else InterfaceCall.Outcome.ERROR
            ),
            at=at,
            status_code=status,
            error="" if error is None else error.message,
            idempotency_key=message.idempotency_key,
            payload_digest=digest(body),
        )
    )
    if error is not None:
        raise error
    return {"status": status}


def connect() -> None:
    """Register the outbox operation that delivers webhooks (``ErpBridgeConfig.ready``);
    calling it again does nothing."""
    if DELIVER in operations:
        return
    register_operation(
        Operation(name=DELIVER, label=gettext_lazy("deliver a webhook"), deliver=_deliver)
    )
