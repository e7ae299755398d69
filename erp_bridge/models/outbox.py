"""The transactional outbox (erp_bridge/outbox.py) and the embedded adapter's order book."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxState(models.TextChoices):
    PENDING = "pending", _("waiting")
    DELIVERED = "delivered", _("delivered")
    DEAD = "dead", _("dead letter")
    DISCARDED = "discarded", _("discarded")


class OutboxMessage(models.Model):
    """One outbound change for another system, written in the same transaction as the
    business change that caused it, so either both commit or neither does.

    A worker delivers it after the commit with its ``idempotency_key`` (the receiver
    recognises a second delivery). Messages of one ``aggregate`` (one customer, one
    employee, one expense claim) are delivered in the order they were written: a message
    waits while an earlier one of its aggregate is not delivered or discarded (a dead one
    holds the line until an administrator replays or discards it). A temporary failure is
    retried at ``next_attempt_at`` (exponential backoff with jitter); a business refusal or
    the last allowed try makes it a dead letter with the receiver's message.
    """

    operation = models.CharField(_("operation"), max_length=64)
    aggregate = models.CharField(_("aggregate"), max_length=128)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    state = models.CharField(
        _("state"), max_length=12, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    # a worker's claim: nobody else delivers the message until the lease runs out
    leased_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    # the request (process instance) the change belongs to: its history shows the delivery
    instance_id = models.BigIntegerField(_("request"), null=True, blank=True)
    subscription = models.ForeignKey(
        "erp_bridge.WebhookSubscription",
        verbose_name=_("subscription"),
        null=True,
        blank=True,
        # a subscription's history outlives it: deleting it discards what was still waiting
        on_delete=models.SET_NULL,
    )
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created"))
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    settled_by = models.CharField(_("replayed or discarded by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        indexes = [
            # the dispatcher's claim: due messages in order
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(state="pending"),
                name="outbox_due",
            ),
            # "an earlier message of the aggregate is still open"
            models.Index(
                fields=["aggregate", "id"],
                condition=models.Q(state__in=["pending", "dead"]),
                name="outbox_open_by_aggregate",
            ),
            models.Index(fields=["state", "created_at"]),
            models.Index(fields=["instance_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.aggregate} ({self.state})"


class EmbeddedDocument(models.Model):
    """The embedded adapter's order book (no ERP connected): the sales orders, expense
    postings, employees and departments the portal would have sent to an ERP, numbered
    here. One row per (``kind``, ``key``); ``idempotency_key`` makes a second delivery of
    the same message return the first document."""

    kind = models.CharField(max_length=24)  # sales_order, expense_posting, employee, department
    key = models.CharField(max_length=128)  # the business key: reference or code
    number = models.CharField(max_length=32)
    state = models.CharField(max_length=24)
    data = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("document in the embedded ERP")
        verbose_name_plural = _("documents in the embedded ERP")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="embedded_document_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"
