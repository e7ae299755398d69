"""The sales pages' forms: they parse and check the shape of the input; the rules are the
services' (``crm.services.sales``), whose field errors the views put back on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import ActivityKind, Industry, LeadSource, Stage

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class LeadForm(forms.Form):
    company = forms.CharField(label=_("company"), max_length=200)
    contact_name = forms.CharField(label=_("contact"), max_length=60, required=False)
    phone = forms.CharField(
        label=pgettext_lazy("crm", "phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(label=_("e-mail"), required=False)
    source = forms.ChoiceField(label=_("source"), choices=LeadSource.choices)
    industry = forms.ChoiceField(label=_("industry"), choices=Industry.choices)
    province = forms.CharField(label=_("province"), max_length=20, required=False)
    city = forms.CharField(label=_("city"), max_length=30, required=False)
    notes = forms.CharField(
        label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    assign_to_me = forms.BooleanField(
        label=_("I take it myself (no assignment rule)"), required=False
    )


class DisqualifyForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class ConvertForm(forms.Form):
    """Conversion: attach to an existing account (``account``: one of the likely duplicates
    offered) or create a new one."""

    NEW = "new"

    account = forms.ChoiceField(label=_("account"), required=False, widget=forms.RadioSelect)
    credit_code = forms.CharField(
        label=_("unified social credit code"), max_length=18, required=False
    )
    opportunity_name = forms.CharField(label=_("opportunity name"), max_length=200, required=False)
    amount = forms.DecimalField(label=_("amount"), required=False, max_digits=14, decimal_places=2)
    expected_close = forms.DateField(label=_("expected close"), required=False, widget=DATE)

    def __init__(self, *args: Any, duplicates: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        choices = [(str(account.pk), str(account)) for account in duplicates]
        self.fields["account"].choices = [*choices, (self.NEW, _("Create a new account"))]  # type: ignore[attr-defined]
        if not duplicates:
            self.fields["account"].widget = forms.HiddenInput()
            self.initial.setdefault("account", self.NEW)


class OpportunityForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    amount = forms.DecimalField(label=_("amount"), required=False, max_digits=14, decimal_places=2)
    expected_close = forms.DateField(label=_("expected close"), required=False, widget=DATE)
    competitors = forms.CharField(label=_("competitors"), max_length=200, required=False)
    committed = forms.BooleanField(label=_("committed in the forecast"), required=False)


class OpportunityEditForm(OpportunityForm):
    probability = forms.IntegerField(label=_("probability (%)"), min_value=0, max_value=100)
    lost_reason = forms.CharField(label=_("lost reason"), max_length=200, required=False)


class MoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("stage"), choices=Stage.choices)
    position = forms.IntegerField(label=_("position"), required=False)
    lost_reason = forms.CharField(label=_("lost reason"), max_length=200, required=False)


class ActivityForm(forms.Form):
    """A call, visit, meeting or e-mail logged (from the road too), or a follow-up."""

    kind = forms.ChoiceField(
        label=_("kind"), choices=ActivityKind.choices, widget=forms.RadioSelect
    )
    subject = forms.CharField(label=_("subject"), max_length=200)
    notes = forms.CharField(
        label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    contact = forms.TypedChoiceField(
        label=_("contact"), required=False, coerce=int, empty_value=None
    )
    opportunity = forms.TypedChoiceField(
        label=_("opportunity"), required=False, coerce=int, empty_value=None
    )
    due_at = forms.DateTimeField(
        label=_("follow up by"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    remind_at = forms.DateTimeField(
        label=_("remind me at"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS
    )

    def __init__(
        self,
        *args: Any,
        contacts: list[tuple[int, str]] = (),  # type: ignore[assignment]
        opportunities: list[tuple[int, str]] = (),  # type: ignore[assignment]
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [("", "—"), *contacts]  # type: ignore[attr-defined]
        self.fields["opportunity"].choices = [("", "—"), *opportunities]  # type: ignore[attr-defined]


class BoardFilterForm(forms.Form):
    owner = forms.TypedChoiceField(
        label=pgettext_lazy("crm", "owner"), required=False, coerce=int, empty_value=None
    )
    department = forms.TypedChoiceField(
        label=_("department"), required=False, coerce=int, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        owners: list[tuple[int, str]] = (),  # type: ignore[assignment]
        departments: list[tuple[int, str]] = (),  # type: ignore[assignment]
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("everyone")), *owners]  # type: ignore[attr-defined]
        self.fields["department"].choices = [("", _("every department")), *departments]  # type: ignore[attr-defined]


class ForecastFilterForm(BoardFilterForm):
    start = forms.DateField(
        label=_("from month"),
        required=False,
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )
    months = forms.IntegerField(label=_("months"), required=False, min_value=1, max_value=24)
