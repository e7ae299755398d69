"""The transactional outbox: a message commits with its business change or not at all, is
delivered after the commit with its idempotency key, in order per aggregate, retried with
backoff on a temporary failure, dead-lettered at once on a refusal or after the last try,
and replayed or discarded by an integration administrator."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from erp_bridge import outbox
from erp_bridge.gateway import ErpError
from erp_bridge.models import InterfaceCall, OutboxMessage, OutboxState
from erp_bridge.outbox import (
    Operation,
    outbox_claim,
    outbox_deliver_due,
    outbox_discard,
    outbox_put,
    outbox_replay,
    register_operation,
)
from portal.celery import app as celery_app
from portal.errors import Refused
from portal.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """The far side of a test operation: what it received, in order, and what it should do
    with the next calls (raise a temporary or permanent error)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, Any]] = []  # (aggregate, key, payload["n"])
        self.failures: list[ErpError] = []
        self.delivered: list[int] = []
        self.dead: list[int] = []

    def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        if self.failures:
            raise self.failures.pop(0)
        self.received.append((message.aggregate, message.idempotency_key, message.payload["n"]))
        return {"number": f"N{message.payload['n']}"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    far = Receiver()
    register_operation(
        Operation(
            "test.send",
            "test",
            far.deliver,
            delivered=lambda m: far.delivered.append(m.pk),
            dead=lambda m: far.dead.append(m.pk),
        )
    )
    yield far
    del outbox.operations["test.send"]


def put(n: int, aggregate: str = "customer:C1", **kwargs: Any) -> OutboxMessage:
    with transaction.atomic():
        return outbox_put(operation="test.send", aggregate=aggregate, payload={"n": n}, **kwargs)


def admin() -> User:
    user = UserFactory.create()
    user.user_permissions.add(Permission.objects.get(codename="change_outboxmessage"))
    return User.objects.get(pk=user.pk)


def test_a_message_is_written_with_its_change_and_not_without_it(receiver: Receiver) -> None:
    try:
        with transaction.atomic():
            outbox_put(operation="test.send", aggregate="a", payload={"n": 1})
            raise ValueError("the business change failed")
    except ValueError:
        pass
    assert not OutboxMessage.objects.exists()
    with pytest.raises(ValueError, match="unknown outbox operation"):
        put_unknown()


def put_unknown() -> None:
    with transaction.atomic():
        outbox_put(operation="no.such", aggregate="a", payload={})


def test_the_commit_wakes_delivery_and_the_receiver_gets_the_key(
    receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = put(1, idempotency_key="order-1")
    message.refresh_from_db()
    assert message.state == OutboxState.DELIVERED
    assert message.result == {"number": "N1"}
    assert message.attempts == 1 and message.delivered_at is not None
    assert receiver.received == [("customer:C1", "order-1", 1)]
    assert receiver.delivered == [message.pk]


def test_the_same_key_twice_is_one_message(receiver: Receiver) -> None:
    first = put(1, idempotency_key="job-7")
    second = put(1, idempotency_key="job-7")
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1


def test_messages_of_one_aggregate_go_in_order_others_do_not_wait(receiver: Receiver) -> None:
    a1, a2, a3 = put(1, "customer:A"), put(2, "customer:A"), put(3, "customer:A")
    b1 = put(4, "customer:B")
    # only the first open message of each aggregate can be claimed
    assert sorted(outbox_claim(worker="w1")) == sorted([a1.pk, b1.pk])
    assert outbox_claim(worker="w2") == []  # leased to w1; a2 waits behind a1
    OutboxMessage.objects.update(leased_until=None, leased_by="")
    assert outbox_deliver_due(worker="w1") == 4
    assert [n for aggregate, _k, n in receiver.received if aggregate == "customer:A"] == [1, 2, 3]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.DELIVERED}
    assert a2.pk and a3.pk


def test_a_temporary_failure_is_retried_later_with_backoff(
    receiver: Receiver, settings: Any
) -> None:
    settings.OUTBOX_BASE_DELAY = 10
    settings.OUTBOX_MAX_ATTEMPTS = 5
    message = put(1)
    receiver.failures = [ErpError("connection refused")]
    before = timezone.now()
    assert outbox_deliver_due() == 1
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and message.attempts == 1
    assert message.last_error == "connection refused"
    # jitter: between half and all of the base delay
    assert before + timedelta(seconds=4) < message.next_attempt_at
    assert message.next_attempt_at < timezone.now() + timedelta(seconds=11)
    assert outbox_deliver_due() == 0  # not due yet
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox_deliver_due() == 1
    message.refresh_from_db()
    assert message.state == OutboxState.DELIVERED and message.attempts == 2
    assert message.last_error == ""


def test_the_backoff_doubles_and_is_capped(settings: Any) -> None:
    settings.OUTBOX_BASE_DELAY = 5
    settings.OUTBOX_MAX_DELAY = 60
    for attempts, ceiling in ((1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)):
        delay = outbox._delay(attempts).total_seconds()
        assert ceiling / 2 <= delay <= ceiling


def test_a_refusal_is_a_dead_letter_at_once_and_holds_its_aggregate(receiver: Receiver) -> None:
    first, second = put(1), put(2)
    other = put(3, "customer:OTHER")
    receiver.failures = [ErpError("产品 P9 不存在", permanent=True, code="unknown_product")]
    outbox_deliver_due()
    first.refresh_from_db()
    assert first.state == OutboxState.DEAD and first.attempts == 1
    assert (first.last_error, first.error_code) == ("产品 P9 不存在", "unknown_product")
    assert receiver.dead == [first.pk]
    # the dead letter holds its customer's later message; another customer's went through
    assert OutboxMessage.objects.get(pk=second.pk).state == OutboxState.PENDING
    assert OutboxMessage.objects.get(pk=other.pk).state == OutboxState.DELIVERED
    assert outbox_deliver_due() == 0


def test_the_last_try_makes_a_dead_letter(receiver: Receiver, settings: Any) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 2
    message = put(1)
    receiver.failures = [ErpError("timed out"), ErpError("timed out again")]
    outbox_deliver_due()
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    outbox_deliver_due()
    message.refresh_from_db()
    assert message.state == OutboxState.DEAD and message.attempts == 2
    assert message.last_error == "timed out again"


def test_an_administrator_replays_a_dead_letter_and_the_line_moves(receiver: Receiver) -> None:
    first, second = put(1), put(2)
    receiver.failures = [ErpError("closed period", permanent=True, code="closed_period")]
    outbox_deliver_due()
    by = admin()
    outbox_replay(first.pk, by=by)
    first.refresh_from_db()
    assert (first.state, first.attempts, first.settled_by) == (
        OutboxState.PENDING,
        0,
        by.username,
    )
    outbox_deliver_due()
    assert [n for _a, _k, n in receiver.received] == [1, 2]
    assert OutboxMessage.objects.get(pk=second.pk).state == OutboxState.DELIVERED


def test_an_administrator_discards_a_message_and_the_ones_behind_go_on(
    receiver: Receiver,
) -> None:
    first, second = put(1), put(2)
    receiver.failures = [ErpError("refused", permanent=True)]
    outbox_deliver_due()
    outbox_discard(first.pk, by=admin())
    outbox_deliver_due()
    assert OutboxMessage.objects.get(pk=first.pk).state == OutboxState.DISCARDED
    assert OutboxMessage.objects.get(pk=second.pk).state == OutboxState.DELIVERED
    assert [n for _a, _k, n in receiver.received] == [2]


def test_only_integration_administrators_replay_or_discard(receiver: Receiver) -> None:
    message = put(1)
    receiver.failures = [ErpError("refused", permanent=True)]
    outbox_deliver_due()
    someone = UserFactory.create()
    with pytest.raises(Refused):
        outbox_replay(message.pk, by=someone)
    with pytest.raises(Refused):
        outbox_discard(message.pk, by=someone)
    message.refresh_from_db()
    assert message.state == OutboxState.DEAD and message.settled_by == ""


def test_a_delivered_message_cannot_be_replayed_or_discarded(receiver: Receiver) -> None:
    message = put(1)
    outbox_deliver_due()
    by = admin()
    with pytest.raises(Refused):
        outbox_replay(message.pk, by=by)
    with pytest.raises(Refused):
        outbox_discard(message.pk, by=by)
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxState.DELIVERED


def test_a_lease_that_ran_out_is_taken_over_and_the_old_worker_settles_nothing(
    receiver: Receiver,
) -> None:
    message = put(1)
    assert outbox_claim(worker="dead-worker") == [message.pk]
    assert outbox_claim(worker="w2") == []  # leased
    OutboxMessage.objects.update(leased_until=timezone.now() - timedelta(seconds=1))
    assert outbox_claim(worker="w2") == [message.pk]
    # the first worker comes back and tries to settle: it no longer holds the lease
    outbox._settle([outbox._Outcome(message.pk, result={"late": True})], "dead-worker")
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and message.leased_by == "w2"


def test_an_unexpected_error_is_retried_not_lost(receiver: Receiver) -> None:
    message = put(1)
    receiver.failures = [KeyError("number")]  # type: ignore[list-item]
    outbox_deliver_due()
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING
    assert "KeyError" in message.last_error


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL"),
    reason="CELERY_BROKER_URL is not set: no real broker to test against",
)
def test_a_real_worker_woken_through_the_broker_delivers(receiver: Receiver) -> None:
    assert celery_app.conf.task_always_eager is False
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        message = put(1, idempotency_key="broker-1")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message.refresh_from_db()
            if message.state == OutboxState.DELIVERED:
                break
            time.sleep(0.1)
    assert message.state == OutboxState.DELIVERED
    assert receiver.received == [("customer:C1", "broker-1", 1)]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_message_is_refused(receiver: Receiver) -> None:
    with pytest.raises(RuntimeError):
        outbox_put(operation="test.send", aggregate="a", payload={"n": 1})
    assert not OutboxMessage.objects.exists()


def test_deliveries_are_logged_as_calls_only_by_the_gateway(receiver: Receiver) -> None:
    # a test operation calls no gateway: the outbox itself logs nothing
    put(1)
    outbox_deliver_due()
    assert not InterfaceCall.objects.exists()
