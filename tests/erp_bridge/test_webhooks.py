"""Webhooks. Inbound: the ERP's status events, signed with HMAC-SHA256 over the timestamp and
the body; every refusal (unsigned, badly signed, stale, malformed, unknown event or order,
replayed, no secret set) answers 4xx/503 with a JSON error and changes nothing; an accepted
event updates the order, a stale one is kept as received and changes nothing. Outbound: a
subscriber on loopback receives the portal's events signed with the secret it was shown
once; a 500 is retried, a 410 is a dead letter; the secret is stored only encrypted."""

from __future__ import annotations

import datetime
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks

from erp_bridge import webhooks
from erp_bridge.models import (
    InterfaceCall,
    OrderRecord,
    OutboxMessage,
    OutboxState,
    WebhookReceipt,
    WebhookSubscription,
)
from erp_bridge.outbox import outbox_deliver_due
from erp_bridge.webhooks import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    event_publish,
    instance_finished,
    order_status_update,
    sign,
    subscription_create,
    subscription_delete,
)
from portal.errors import NotFound, Refused
from portal.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REFERENCE = "SO-2026-0001"


@pytest.fixture(autouse=True)
def _connected() -> None:
    webhooks.connect()  # what ErpBridgeConfig.ready does; a second call is a no-op


@pytest.fixture
def secret(settings: Any) -> str:
    value = secrets.token_urlsafe(24)
    settings.ERP_WEBHOOK_SECRET = value
    return value


@pytest.fixture
def order(db: None) -> OrderRecord:
    now = timezone.now()
    return OrderRecord.objects.create(
        reference=REFERENCE,
        customer_code="C-001",
        number="SO000017",
        state="confirmed",
        created_at=now - datetime.timedelta(hours=2),
        updated_at=now - datetime.timedelta(hours=1),
        source_updated_at=now - datetime.timedelta(hours=1),
    )


@pytest.fixture
def integrator(db: None) -> User:
    """An integration administrator: may add and delete subscriptions."""
    user = UserFactory.create(username="sunli", first_name="丽", last_name="孙")
    for codename in ("add_webhooksubscription", "delete_webhooksubscription"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="erp_bridge", codename=codename)
        )
    return User.objects.get(pk=user.pk)  # a fresh object: no stale permission cache


def event(kind: str = "order.shipped", **fields: Any) -> dict[str, Any]:
    occurred = timezone.now() - datetime.timedelta(minutes=10)
    return {"event": kind, "reference": REFERENCE, "occurred_at": occurred.isoformat(), **fields}


def send(
    client: Client,
    body: dict[str, Any] | bytes,
    secret: str,
    *,
    source: str = "tryton",
    delivery_id: str | None = None,
    timestamp: str | None = None,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    signed = {
        HEADER_TIMESTAMP: stamp,
        HEADER_ID: delivery_id or secrets.token_hex(8),
        HEADER_SIGNATURE: signature or f"sha256={sign(secret.encode(), stamp, raw)}",
    }
    return client.post(
        reverse("erp_bridge:webhook", kwargs={"source": source}),
        data=raw,
        content_type="application/json",
        headers=signed if headers is None else headers,
    )


def state_of_the_database() -> list[Any]:
    """Everything an inbound webhook could change (the call log aside: refusals are logged)."""
    return [
        list(OrderRecord.objects.order_by("pk").values()),
        list(WebhookReceipt.objects.order_by("pk").values()),
        list(OutboxMessage.objects.order_by("pk").values()),
    ]


# --- inbound ------------------------------------------------------------------------------------


def test_a_signed_shipment_updates_the_order(
    client: Client, secret: str, order: OrderRecord
) -> None:
    response = send(client, event("order.shipped"), secret, delivery_id="d-1")
    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "changed", "id": "d-1"}
    order.refresh_from_db()
    assert order.shipped is True and order.state == "confirmed"
    receipt = WebhookReceipt.objects.get()
    assert (receipt.source, receipt.delivery_id, receipt.event, receipt.outcome) == (
        "tryton",
        "d-1",
        "order.shipped",
        "changed",
    )
    call = InterfaceCall.objects.get(interface="webhook-in:tryton")
    assert (call.direction, call.operation, call.status_code, call.outcome) == (
        "in",
        "order.shipped",
        200,
        "ok",
    )


def test_a_status_and_a_payment_update_the_order(
    client: Client, secret: str, order: OrderRecord
) -> None:
    assert send(client, event("order.status", state="processing"), secret).status_code == 200
    assert send(client, event("invoice.paid"), secret).status_code == 200
    order.refresh_from_db()
    assert (order.state, order.invoiced, order.paid, order.shipped) == (
        "processing",
        True,
        True,
        False,
    )


def test_the_endpoint_needs_no_login_and_no_csrf_token(secret: str, order: OrderRecord) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert send(strict, event(), secret).status_code == 200


def _stale_stamp() -> str:
    return str(int(time.time()) - 400)  # WEBHOOK_TOLERANCE is 300 s


REFUSALS: dict[str, tuple[dict[str, Any], int, str]] = {
    # name: (how the request is made, status, error code)
    "malformed-json": ({"raw": b'{"event": "order.shipped",'}, 400, "malformed"),
    "not-an-object": ({"raw": b"[1, 2]"}, 400, "malformed"),
    "unknown-event": ({"body": {"event": "order.exploded"}}, 400, "unknown_event"),
    "no-reference": ({"body": {"reference": ""}}, 400, "invalid"),
    "bad-occurred-at": ({"body": {"occurred_at": "yesterday"}}, 400, "invalid"),
    "bad-state": ({"body": {"event": "order.status", "state": "shipped"}}, 400, "invalid"),
    "flag-not-boolean": ({"body": {"shipped": "yes"}}, 400, "invalid"),
    "unknown-order": ({"body": {"reference": "SO-NOPE"}}, 404, "not_found"),
    "unsigned": ({"headers": {}}, 401, "unsigned"),
    "wrong-secret": ({"other_secret": True}, 401, "bad_signature"),
    "tampered-body": ({"tamper": True}, 401, "bad_signature"),
    "stale-timestamp": ({"timestamp": "stale"}, 401, "stale_timestamp"),
    "future-timestamp": ({"timestamp": "future"}, 401, "stale_timestamp"),
    "timestamp-not-a-number": ({"timestamp": "soon"}, 401, "stale_timestamp"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_answers_json_and_changes_nothing(
    client: Client, secret: str, order: OrderRecord, case: str
) -> None:
    how, status, code = REFUSALS[case]
    body: dict[str, Any] | bytes = how.get("raw") or {**event(), **how.get("body", {})}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    options: dict[str, Any] = {}
    if "headers" in how:
        options["headers"] = how["headers"]
    if how.get("other_secret"):
        options["signature"] = f"sha256={sign(b'another-secret', str(int(time.time())), raw)}"
    if how.get("tamper"):
        now = str(int(time.time()))
        options["timestamp"] = now
        options["signature"] = f"sha256={sign(secret.encode(), now, raw)}"
        body = raw.replace(b"order.shipped", b"invoice.paid")
    odd_stamp = {
        "stale": _stale_stamp(),
        "future": str(int(time.time()) + 400),
        "soon": "soon",
    }.get(how.get("timestamp", ""))
    if odd_stamp is not None:
        options["timestamp"] = odd_stamp
    before = state_of_the_database()
    response = send(client, body, secret, **options)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert state_of_the_database() == before
    call = InterfaceCall.objects.get(interface="webhook-in:tryton")
    assert (call.direction, call.status_code, call.outcome) == ("in", status, "refused")


def test_a_replayed_delivery_is_refused_and_changes_nothing(
    client: Client, secret: str, order: OrderRecord
) -> None:
    assert send(client, event("order.shipped"), secret, delivery_id="d-7").status_code == 200
    before = state_of_the_database()
    # the same id again, freshly signed and with another event: still a replay
    response = send(client, event("invoice.paid"), secret, delivery_id="d-7")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "replayed"
    assert state_of_the_database() == before
    # the same id from another source is another delivery
    assert (
        send(client, event("invoice.paid"), secret, source="sap", delivery_id="d-7").status_code
        == 200
    )


def test_a_refused_delivery_can_be_sent_again_once_fixed(
    client: Client, secret: str, order: OrderRecord
) -> None:
    bad = {**event(), "reference": "SO-NOPE"}
    assert send(client, bad, secret, delivery_id="d-9").status_code == 404
    OrderRecord.objects.filter(pk=order.pk).update(reference="SO-NOPE")
    assert send(client, bad, secret, delivery_id="d-9").status_code == 200


def test_without_a_secret_webhooks_are_switched_off(
    client: Client, settings: Any, order: OrderRecord
) -> None:
    settings.ERP_WEBHOOK_SECRET = ""
    before = state_of_the_database()
    response = send(client, event(), "")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert "ERP_WEBHOOK_SECRET" in response.json()["error"]["message"]
    assert state_of_the_database() == before


def test_only_post_is_allowed(client: Client, secret: str) -> None:
    url = reverse("erp_bridge:webhook", kwargs={"source": "tryton"})
    assert client.get(url).status_code == 405


def test_a_stale_report_is_received_and_changes_nothing(
    client: Client, secret: str, order: OrderRecord
) -> None:
    assert order.source_updated_at is not None
    older = (order.source_updated_at - datetime.timedelta(minutes=5)).isoformat()
    before = list(OrderRecord.objects.values())
    response = send(client, {**event("order.shipped"), "occurred_at": older}, secret)
    assert response.status_code == 200
    assert response.json()["outcome"] == "stale"
    assert list(OrderRecord.objects.values()) == before
    assert WebhookReceipt.objects.get().outcome == "stale"


def test_order_status_update_refuses_stale_and_unknown(order: OrderRecord) -> None:
    held = order.source_updated_at
    assert held is not None
    common: dict[str, Any] = {"invoiced": None, "paid": None, "source": "poll"}
    stale = held - datetime.timedelta(seconds=1)
    assert not order_status_update(
        reference=REFERENCE, state="done", shipped=True, source_updated_at=stale, **common
    )
    order.refresh_from_db()
    assert (order.state, order.shipped) == ("confirmed", False)
    newer = held + datetime.timedelta(seconds=1)
    assert order_status_update(
        reference=REFERENCE, state="done", shipped=None, source_updated_at=newer, **common
    )
    order.refresh_from_db()
    assert (order.state, order.shipped, order.source_updated_at) == ("done", False, newer)
    with pytest.raises(NotFound):
        order_status_update(
            reference="SO-NOPE", state="done", shipped=None, source_updated_at=newer, **common
        )


# --- outbound -----------------------------------------------------------------------------------


@dataclass
class Subscriber:
    """Another system's webhook endpoint on loopback: it records each request and answers
    the next status of ``statuses`` (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    far = Subscriber()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            far.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(far.answer())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    far.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/portal"
    yield far
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def verified(subscriber: Subscriber, secret: str) -> list[dict[str, Any]]:
    """The events the subscriber received, each checked as a subscriber would: the signature
    over the timestamp and the body, with the secret it was shown once."""
    events = []
    for headers, body in subscriber.received:
        stamp = headers["x-webhook-timestamp"]
        assert headers["x-webhook-signature"] == f"sha256={sign(secret.encode(), stamp, body)}"
        assert abs(time.time() - int(stamp)) < 300
        payload = json.loads(body)
        assert payload["id"] == headers["x-webhook-id"]
        events.append(payload)
    return events


def publish_order_update(reference: str = REFERENCE) -> int:
    with transaction.atomic():
        return event_publish(
            event="order.updated", data={"reference": reference}, aggregate=f"order:{reference}"
        )


def test_a_subscriber_receives_signed_events_it_can_verify(
    subscriber: Subscriber, integrator: User
) -> None:
    subscription, secret = subscription_create(
        name="数据仓库", url=subscriber.url, events=["order.updated"], by=integrator
    )
    assert publish_order_update() == 1
    message = OutboxMessage.objects.get()
    assert message.subscription_id == subscription.pk
    assert message.aggregate == f"webhook:{subscription.pk}:order:{REFERENCE}"
    assert outbox_deliver_due() == 1
    message.refresh_from_db()
    assert message.state == OutboxState.DELIVERED
    [payload] = verified(subscriber, secret)
    assert payload["id"] == message.idempotency_key
    assert (payload["event"], payload["data"]) == ("order.updated", {"reference": REFERENCE})
    assert payload["occurred_at"]
    call = InterfaceCall.objects.get(interface="webhook:数据仓库")
    assert (call.direction, call.operation, call.status_code, call.outcome) == (
        "out",
        "order.updated",
        200,
        "ok",
    )


def test_a_subscriber_gets_only_the_events_it_chose(
    subscriber: Subscriber, integrator: User
) -> None:
    subscription_create(name="BI", url=subscriber.url, events=["invoice.paid"], by=integrator)
    assert publish_order_update() == 0
    assert not OutboxMessage.objects.exists()
    with pytest.raises(ValueError, match="unknown webhook event"):
        event_publish(event="order.exploded", data={}, aggregate="x")


def test_a_500_is_retried_with_the_same_delivery_id(
    subscriber: Subscriber, integrator: User
) -> None:
    _subscription, secret = subscription_create(
        name="BI", url=subscriber.url, events=["order.updated"], by=integrator
    )
    subscriber.statuses = [500]
    publish_order_update()
    outbox_deliver_due()
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxState.PENDING, 1)
    assert "500" in message.last_error
    assert message.next_attempt_at > timezone.now()
    assert outbox_deliver_due() == 0  # not due yet
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver_due() == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxState.DELIVERED, 2)
    first, second = verified(subscriber, secret)
    assert first["id"] == second["id"] == message.idempotency_key


def test_a_410_is_a_dead_letter(subscriber: Subscriber, integrator: User) -> None:
    subscription_create(name="BI", url=subscriber.url, events=["order.updated"], by=integrator)
    subscriber.statuses = [410]
    publish_order_update()
    outbox_deliver_due()
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxState.DEAD, 1)
    assert "410" in message.last_error
    assert InterfaceCall.objects.get(interface="webhook:BI").outcome == "refused"


def test_an_unreachable_subscriber_is_retried(integrator: User) -> None:
    subscription_create(
        name="BI", url="http://127.0.0.1:9/hooks", events=["order.updated"], by=integrator
    )
    publish_order_update()
    outbox_deliver_due()
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxState.PENDING, 1)
    assert "127.0.0.1" not in message.last_error  # the address (and a token in it) is not kept


def test_the_secret_is_not_stored_in_clear(integrator: User) -> None:
    subscription, secret = subscription_create(
        name="BI", url="https://bi.example.com/hooks", events=["order.updated"], by=integrator
    )
    row = WebhookSubscription.objects.filter(pk=subscription.pk).values().get()
    assert secret not in json.dumps(row, default=str)
    assert secret not in subscription.secret_encrypted


def test_after_secret_key_rotation_a_delivery_is_a_dead_letter_saying_why(
    subscriber: Subscriber, integrator: User, settings: Any
) -> None:
    subscription_create(name="BI", url=subscriber.url, events=["order.updated"], by=integrator)
    publish_order_update()
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    outbox_deliver_due()
    message = OutboxMessage.objects.get()
    assert message.state == OutboxState.DEAD
    assert "SECRET_KEY" in message.last_error
    assert subscriber.received == []


def test_only_integration_administrators_subscribe_and_unsubscribe(
    integrator: User, employee: User
) -> None:
    with pytest.raises(Refused):
        subscription_create(
            name="BI", url="https://bi.example.com/h", events=["order.updated"], by=employee
        )
    assert not WebhookSubscription.objects.exists()
    subscription, _secret = subscription_create(
        name="BI", url="https://bi.example.com/h", events=["order.updated"], by=integrator
    )
    with pytest.raises(Refused):
        subscription_delete(subscription.pk, by=employee)
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    subscription_delete(subscription.pk, by=integrator)
    assert not WebhookSubscription.objects.exists()
    with pytest.raises(NotFound):
        subscription_delete(subscription.pk, by=integrator)


def test_deleting_a_subscription_discards_its_waiting_messages_and_keeps_them(
    integrator: User,
) -> None:
    subscription, _secret = subscription_create(
        name="BI", url="https://bi.example.com/h", events=["order.updated"], by=integrator
    )
    with transaction.atomic():
        assert event_publish(event="order.updated", data={"n": 1}, aggregate="order:SO-1") == 1
    subscription_delete(subscription.pk, by=integrator)
    message = OutboxMessage.objects.get()
    assert (message.state, message.subscription_id, message.settled_by) == (
        "discarded",
        None,
        integrator.username,
    )


@pytest.mark.parametrize(
    ("url", "events", "wrong"),
    [
        ("ftp://bi.example.com/h", ["order.updated"], "url"),
        ("not a url", ["order.updated"], "url"),
        ("https://bi.example.com/h", [], "events"),
        ("https://bi.example.com/h", ["order.exploded"], "events"),
    ],
)
def test_a_bad_subscription_names_the_field_and_is_not_saved(
    integrator: User, url: str, events: list[str], wrong: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        subscription_create(name="BI", url=url, events=events, by=integrator)
    assert wrong in refused.value.message_dict
    assert not WebhookSubscription.objects.exists()


def test_an_inbound_status_change_reaches_the_subscribers(
    client: Client,
    secret: str,
    order: OrderRecord,
    subscriber: Subscriber,
    integrator: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    _subscription, subscriber_secret = subscription_create(
        name="BI", url=subscriber.url, events=["order.updated", "invoice.paid"], by=integrator
    )
    with django_capture_on_commit_callbacks(execute=True):  # the commit wakes the worker
        assert send(client, event("invoice.paid"), secret).status_code == 200
    events = verified(subscriber, subscriber_secret)
    assert [e["event"] for e in events] == ["order.updated", "invoice.paid"]
    assert events[0]["data"]["reference"] == REFERENCE
    assert events[0]["data"]["paid"] is True
    # the same report again (a new delivery id) changes nothing, so nothing is published
    assert send(client, event("invoice.paid"), secret).json()["outcome"] == "unchanged"
    assert OutboxMessage.objects.count() == 2


def test_a_finished_instance_is_published(subscriber: Subscriber, integrator: User) -> None:
    _subscription, secret = subscription_create(
        name="OA", url=subscriber.url, events=["instance.finished"], by=integrator
    )
    instance_finished(42, "expense_claim", "approved")
    outbox_deliver_due()
    [payload] = verified(subscriber, secret)
    assert payload["event"] == "instance.finished"
    assert payload["data"] == {
        "instance_id": 42,
        "definition_key": "expense_claim",
        "outcome": "approved",
    }


def test_the_end_of_a_request_asks_for_subscribers_in_one_read_without_a_savepoint(
    subscriber: Subscriber, integrator: User, django_assert_num_queries: Any
) -> None:
    # in the ending action's transaction as it is (no savepoint); nobody subscribed: one read
    with transaction.atomic(), django_assert_num_queries(1):
        instance_finished(41, "expense_claim", "completed")
    subscription_create(name="B", url=subscriber.url, events=["instance.finished"], by=integrator)
    off, _secret = subscription_create(
        name="A", url=subscriber.url, events=["instance.finished"], by=integrator
    )
    WebhookSubscription.objects.filter(pk=off.pk).update(active=False)
    subscription_create(name="C", url=subscriber.url, events=["order.updated"], by=integrator)
    subscription_create(
        name="D", url=subscriber.url, events=["order.updated", "instance.finished"], by=integrator
    )
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        instance_finished(42, "expense_claim", "completed")
    sql = [query["sql"] for query in captured.captured_queries]
    assert len([s for s in sql if "webhooksubscription" in s]) == 1
    assert list(
        OutboxMessage.objects.order_by("pk").values_list("subscription__name", flat=True)
    ) == ["B", "D"], "the active subscribers to the event, by name"
