"""Webhooks: the systems that subscribe to the portal's events (outbound, signed) and the
deliveries the portal accepted from the ERP (inbound, kept for replay protection)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# the events other systems may subscribe to
EVENTS = {
    "instance.finished": _("a request finished"),
    "order.created": _("a sales order was sent to the ERP"),
    "order.updated": _("a sales order's status changed"),
    "invoice.paid": _("an invoice was paid"),
}


class WebhookSubscription(models.Model):
    """A system that wants the portal's events POSTed to ``url``, signed with HMAC-SHA256.
    The signing secret is stored encrypted (erp_bridge/webhooks.py); it is shown once, when
    it is made."""

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret_encrypted = models.TextField(editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            URLValidator(schemes=["http", "https"])(self.url)
        except ValidationError:
            errors["url"] = str(_("Enter an http:// or https:// address with a host name."))
        events = self.events if isinstance(self.events, list) else None
        if not events or any(not isinstance(e, str) or e not in EVENTS for e in events):
            errors["events"] = str(
                _("Choose one or more of these events: %(events)s") % {"events": ", ".join(EVENTS)}
            )
        if errors:
            raise ValidationError(errors)


class WebhookReceipt(models.Model):
    """An inbound webhook the portal accepted: its delivery id is unique per source, so the
    same delivery sent again is refused as a replay."""

    source = models.CharField(max_length=64)
    delivery_id = models.CharField(max_length=128)
    event = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=24)

    class Meta:
        verbose_name = _("received webhook")
        verbose_name_plural = _("received webhooks")
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="webhook_receipt_once"),
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.event} {self.delivery_id}"
