"""Forms of the CRM's quote pages. They read input; the prices, totals, discount and every
rule are the service's (``crm.services.quotes``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import ApproverLevel

__all__ = [
    "AcceptForm",
    "LineForm",
    "LineFormSet",
    "QuoteHeaderForm",
    "RuleForm",
    "RuleFormSet",
]


class QuoteHeaderForm(forms.Form):
    account = forms.IntegerField(label=_("Account"), widget=forms.HiddenInput)
    opportunity = forms.IntegerField(
        label=_("Opportunity"), required=False, widget=forms.HiddenInput
    )
    price_list_code = forms.CharField(
        label=_("Price list"),
        max_length=40,
        required=False,
        help_text=_("The ERP's price list code; empty: the products' list prices."),
    )
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class LineForm(forms.Form):
    """One line: the ERP product's code, the quantity, and a discount % or a unit price."""

    product_code = forms.CharField(
        label=_("Product code"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"list": "erp-products", "autocomplete": "off"}),
    )
    quantity = forms.DecimalField(
        label=_("Quantity"), required=False, max_digits=14, decimal_places=2
    )
    discount = forms.DecimalField(
        label=_("Discount (%)"), required=False, max_digits=5, decimal_places=2
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("Leave empty to take the price from the discount."),
    )

    def is_blank(self) -> bool:
        data: dict[str, Any] = getattr(self, "cleaned_data", {}) or {}
        return not data.get("product_code") and data.get("quantity") is None


LineFormSet = forms.formset_factory(LineForm, extra=3, max_num=200, absolute_max=200)


class AcceptForm(forms.Form):
    confirmed = forms.BooleanField(
        label=_("The customer has accepted this quote"),
        required=True,
        error_messages={"required": _("Confirm that the customer accepted this quote.")},
    )


class RuleForm(forms.Form):
    """One cell of the approval matrix."""

    min_discount = forms.DecimalField(label=_("Discount from (%)"), max_digits=5, decimal_places=2)
    min_total = forms.DecimalField(label=_("Total from"), max_digits=14, decimal_places=2)
    level = forms.ChoiceField(label=_("Approver"), choices=ApproverLevel.choices)


RuleFormSet = forms.formset_factory(RuleForm, extra=2, can_delete=True, max_num=50, absolute_max=50)
