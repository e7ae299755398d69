"""The service cases' forms: a new case (phone-friendly), the e-mail-like intake, a step of
the status flow with its note, and the satisfaction rating. They parse and check input; the
services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.models import Account, AccountLevel, Contact

PRIORITY_CHOICES = [(1, _("high")), (2, _("normal")), (3, _("low"))]
SATISFACTION_CHOICES = [
    (5, _("5 · very satisfied")),
    (4, _("4 · satisfied")),
    (3, _("3 · neutral")),
    (2, _("2 · dissatisfied")),
    (1, _("1 · very dissatisfied")),
]


class AccountCodeField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """An account by its customer code, among the accounts the person sees (typed, not a
    list of thousands: a salesperson on a phone types the code)."""

    def __init__(self, queryset: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(
            queryset=queryset,
            to_field_name="code",
            widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
            error_messages={
                "invalid_choice": _("Account: no account you can see has this customer code.")
            },
            **kwargs,
        )


class CaseForm(forms.Form):
    account = AccountCodeField(
        Account.objects.none(), label=_("Account"), help_text=_("The customer code.")
    )
    contact = forms.ModelChoiceField(Contact.objects.none(), label=_("Contact"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=PRIORITY_CHOICES, coerce=int, initial=2
    )

    def __init__(
        self, *args: Any, accounts: QuerySet[Account], account: Account | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Account]", self.fields["account"])
        field.queryset = accounts.filter(merged_into__isnull=True)
        contact = cast("forms.ModelChoiceField[Contact]", self.fields["contact"])
        if account is not None:
            self.initial.setdefault("account", account.code)
            contact.queryset = account.contacts.order_by("name")
        else:
            contact.queryset = Contact.objects.filter(account__in=field.queryset.values("pk"))
            contact.widget = forms.HiddenInput()


class IntakeForm(forms.Form):
    sender = forms.CharField(
        label=_("From"),
        max_length=254,
        help_text=_("The sender's e-mail address: it finds the contact and the account."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea)
    account = AccountCodeField(
        Account.objects.none(),
        label=_("Account"),
        required=False,
        help_text=_("Only when the sender matches no account, or several: the customer code."),
    )

    def __init__(self, *args: Any, accounts: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Account]", self.fields["account"])
        field.queryset = accounts.filter(merged_into__isnull=True)


class StepForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 2})
    )


class FeedbackForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"),
        choices=SATISFACTION_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SlaPoliciesForm(forms.Form):
    """The SLA of each customer level: two whole numbers of business hours, or both empty
    (no SLA for that level). ``save`` marks a real submission: an empty POST is refused."""

    save = forms.CharField(widget=forms.HiddenInput, initial="1")

    def __init__(self, *args: Any, policies: dict[str, tuple[int, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for level, label in AccountLevel.choices:
            first, resolution = policies.get(level, (None, None))
            self.fields[f"first_{level}"] = forms.IntegerField(
                label=_("%(level)s: first response (hours)") % {"level": label},
                required=False,
                min_value=1,
                max_value=2000,
                initial=first,
            )
            self.fields[f"resolution_{level}"] = forms.IntegerField(
                label=_("%(level)s: resolution (hours)") % {"level": label},
                required=False,
                min_value=1,
                max_value=2000,
                initial=resolution,
            )

    def hours(self) -> dict[str, tuple[int | None, int | None]]:
        data = self.cleaned_data
        return {
            level: (data.get(f"first_{level}"), data.get(f"resolution_{level}"))
            for level in AccountLevel.values
        }
