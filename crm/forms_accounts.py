"""The forms of the customer-base pages: they parse and check the shape of the input; the
rules (the data dictionary's codes, duplicates, who may) are the services'
(``crm.services.accounts``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Exists, OuterRef
from django.forms.renderers import BaseRenderer
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from crm.models import Account, AccountLevel, Contact, Industry
from crm.selectors.accounts import SCOPES
from portal.forms import ReadAtOnceChoiceField
from portal.models import User

SCOPE_LABELS = {
    "all": _("All I may see"),
    "mine": _("Mine"),
    "team": _("My teams"),
    "department": _("My departments"),
}


class PlainSelect(forms.Select):
    """A select written in Python rather than through Django's widget templates (a template
    and an attributes template per option) and its option dictionaries: the owner filter
    lists every salesperson, about a hundred options, on every page of the account list.
    The same markup as ``forms.Select`` for flat choices (``tests/crm``)."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: BaseRenderer | None = None,
    ) -> SafeString:
        chosen = set(self.format_value(value))
        options = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            (
                (choice, " selected" if str(choice) in chosen else "", label)
                for choice, label in self.choices
            ),
        )
        return format_html(
            '<select name="{}"{}>\n{}\n</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            options,
        )


class AccountFilterForm(forms.Form):
    """The account list's filters (every one optional)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    scope = forms.ChoiceField(
        label=_("Scope"),
        required=False,
        choices=[(s, SCOPE_LABELS[s]) for s in SCOPES],
        widget=PlainSelect,
    )
    owner = ReadAtOnceChoiceField(
        label=_("Owner"),
        required=False,
        empty_label="—",  # as the other filters
        # people who own an account: EXISTS per person, not a join over every account
        queryset=User.objects.filter(
            Exists(Account.objects.filter(owner=OuterRef("pk"))), is_active=True
        )
        .only("id", "username", "first_name", "last_name")
        .order_by("username"),
        widget=PlainSelect,
    )
    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=[("", "—"), *AccountLevel.choices],
        widget=PlainSelect,
    )
    industry = forms.ChoiceField(
        label=_("Industry"),
        required=False,
        choices=[("", "—"), *Industry.choices],
        widget=PlainSelect,
    )
    province = forms.CharField(label=_("Province"), required=False, max_length=20)
    city = forms.CharField(label=_("City"), required=False, max_length=30)


class AccountForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic
    """An account's editable fields (the duplicate warning's "save anyway" is a button of
    the page, ``force=on``)."""

    website = forms.URLField(label=_("website"), required=False, assume_scheme="https")

    class Meta:
        model = Account
        fields = [
            "name",
            "code",
            "credit_code",
            "industry",
            "level",
            "province",
            "city",
            "phone",
            "email",
            "address",
            "website",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        self.fields["code"].help_text = _("Leave it empty to get the next free code.")
        # the rules are the services': the form only reads the values
        for field in self.fields.values():
            field.validators = []
        self.fields["phone"].widget.input_type = "tel"

    def validate_unique(self) -> None:
        """Uniqueness is the service's check (with the duplicate check)."""

    def _post_clean(self) -> None:
        """No model validation here: ``account_create``/``account_update`` run it."""


class ContactForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic
    class Meta:
        model = Contact
        fields = ["name", "title", "mobile", "phone", "email", "wechat", "is_primary"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("mobile", "phone"):
            self.fields[name].validators = []
            self.fields[name].widget.input_type = "tel"

    def _post_clean(self) -> None:
        """No model validation here: the contact services run it."""


def person_named(text: str) -> User:
    """The active person with this user name or employee number (a field error else)."""
    text = text.strip()
    found = (
        User.objects.filter(is_active=True, username=text).first()
        or User.objects.filter(is_active=True, employee_no=text).first()
    )
    if found is None:
        raise forms.ValidationError(_("There is no active person with this name or number."))
    return found


class TeamForm(forms.Form):
    """Someone to put on the account's team, by user name or employee number."""

    person = forms.CharField(
        label=_("Person"), max_length=150, help_text=_("User name or employee number")
    )
    may_change = forms.BooleanField(label=_("May change the account"), required=False)

    def clean_person(self) -> User:
        return person_named(self.cleaned_data["person"])


class AssignForm(forms.Form):
    owner = forms.CharField(
        label=_("New owner"), max_length=150, help_text=_("User name or employee number")
    )

    def clean_owner(self) -> User:
        return person_named(self.cleaned_data["owner"])


class MergeForm(forms.Form):
    """Which of the two accounts survives; ``confirm`` after the preview."""

    other = forms.IntegerField(label=_("The other account's number (ID)"), min_value=1)
    survivor = forms.ChoiceField(
        label=_("Keep"),
        choices=[("this", _("this account")), ("other", _("the other account"))],
        initial="this",
        widget=forms.RadioSelect,
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ImportUploadForm(forms.Form):
    """The customer import's file (``crm.imports`` reads and checks it)."""

    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "An Excel workbook (.xlsx) or a CSV file (UTF-8 or GBK), its first row the headers."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
