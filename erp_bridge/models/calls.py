"""The interface call log (every call in and out, erp_bridge/calls.py) and its per-minute
roll-up, from which the console reads calls, error rate and response-time percentiles."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# the upper bounds (ms) of the response-time histogram's buckets; the last is open-ended
BUCKETS_MS: tuple[int, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class InterfaceCall(models.Model):
    """One call across the portal's edge: out to the ERP or a webhook subscriber, in to the
    API or a webhook endpoint. Only a digest of the payload is kept (never the payload,
    never a secret)."""

    class Outcome(models.TextChoices):
        OK = "ok", _("succeeded")
        ERROR = "error", _("failed, can be retried")
        REFUSED = "refused", _("refused")

    interface = models.CharField(_("interface"), max_length=64)
    direction = models.CharField(_("direction"), max_length=3)  # "out" / "in"
    operation = models.CharField(_("operation"), max_length=96)
    at = models.DateTimeField(_("at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True)
    payload_digest = models.CharField(_("payload digest"), max_length=64, blank=True)
    caller = models.CharField(_("caller"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("interface call")
        verbose_name_plural = _("interface calls")
        indexes = [
            models.Index(fields=["interface", "-at"]),
            models.Index(
                fields=["-at"], condition=~models.Q(outcome="ok"), name="interface_call_failed"
            ),
            models.Index(fields=["-at"], name="interface_call_at"),
        ]

    def __str__(self) -> str:
        return f"{self.interface} {self.operation} {self.outcome}"


class CallStat(models.Model):
    """Calls of one interface and operation in one minute (``grain`` 1) or one hour
    (``grain`` 60, starting at ``minute``): counts, errors, the summed duration and a
    histogram of durations (``b0`` counts calls up to ``BUCKETS_MS[0]`` ms ... ``b11`` those
    above the last bound). Both grains are written by the same upsert, which adds to the
    rows, so the console's statistics over a million calls read a few thousand rows: a week
    in hours, the current hour and the window's ragged edges in minutes."""

    interface = models.CharField(max_length=64)
    operation = models.CharField(max_length=96)
    grain = models.PositiveSmallIntegerField(default=1)  # minutes per row: 1 or 60
    minute = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    total_ms = models.BigIntegerField(default=0)
    b0 = models.PositiveIntegerField(default=0)
    b1 = models.PositiveIntegerField(default=0)
    b2 = models.PositiveIntegerField(default=0)
    b3 = models.PositiveIntegerField(default=0)
    b4 = models.PositiveIntegerField(default=0)
    b5 = models.PositiveIntegerField(default=0)
    b6 = models.PositiveIntegerField(default=0)
    b7 = models.PositiveIntegerField(default=0)
    b8 = models.PositiveIntegerField(default=0)
    b9 = models.PositiveIntegerField(default=0)
    b10 = models.PositiveIntegerField(default=0)
    b11 = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("interface statistics")
        verbose_name_plural = _("interface statistics")
        constraints = [
            models.UniqueConstraint(
                fields=["interface", "operation", "grain", "minute"], name="call_stat_once"
            ),
        ]
        indexes = [models.Index(fields=["grain", "minute"])]

    def __str__(self) -> str:
        return f"{self.interface} {self.operation} {self.minute:%Y-%m-%d %H:%M}"
