"""The integration console's forms: filters (a field in error filters nothing) and the
webhook subscription form (its fields are checked again by the service's ``full_clean``)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from erp_bridge import selectors
from erp_bridge.models import OutboxState, SyncRun
from erp_bridge.models.webhooks import EVENTS

__all__ = [
    "WINDOWS",
    "MasterDataForm",
    "OrderFilterForm",
    "OutboxFilterForm",
    "SubscriptionForm",
    "SyncForm",
    "WindowForm",
]

# the overview's windows: (length, the step of its charts)
WINDOWS: dict[str, tuple[datetime.timedelta, datetime.timedelta]] = {
    "1h": (datetime.timedelta(hours=1), datetime.timedelta(minutes=5)),
    "24h": (datetime.timedelta(hours=24), datetime.timedelta(hours=1)),
    "7d": (datetime.timedelta(days=7), datetime.timedelta(hours=6)),
}


class WindowForm(forms.Form):
    window = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[("1h", _("last hour")), ("24h", _("last 24 hours")), ("7d", _("last 7 days"))],
    )

    def window_key(self) -> str:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("window") or "24h"


class OutboxFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("any")), *OutboxState.choices]
    )
    operation = forms.ChoiceField(label=_("Operation"), required=False)
    aggregate = forms.CharField(label=_("Business object"), required=False, max_length=128)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["operation"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101  # typed for mypy
        field.choices = [("", _("any")), *((o, o) for o in selectors.outbox_operations())]

    def filters(self) -> dict[str, str]:
        """The valid fields as the selector's keyword arguments."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            "state": data.get("state") or "",
            "operation": data.get("operation") or "",
            "aggregate": (data.get("aggregate") or "").strip(),
        }


KIND_LABELS = dict(SyncRun.Kind.choices)


class MasterDataForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=SyncRun.Kind.choices)
    q = forms.CharField(label=_("Code or name"), required=False, max_length=100)


class SyncForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=SyncRun.Kind.choices)


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Reference, ERP number or customer code"), required=False, max_length=64
    )
    state = forms.ChoiceField(label=_("State"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["state"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101  # typed for mypy
        field.choices = [("", _("any")), *((s, s) for s in selectors.order_states())]


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    url = forms.URLField(
        label=_("Address (URL)"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Where the portal POSTs the events, e.g. https://crm.example.com/hooks/portal"),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=list(EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
