"""The campaigns' forms: a campaign with its segment's filters, the list's filter, a status
step, adding one member by customer code, the "add the segment's accounts" confirmation and
a member's response (phone-friendly). They parse and check the shape of the input; the rules
(who may, the segment's values, the status flow) are the services'
(``crm.services.campaigns``)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.forms_cases import AccountCodeField
from crm.models import Account, AccountLevel, Campaign, CampaignMember, Contact, Industry
from crm.selectors.campaigns import NOT_WITHIN, WITHIN, Segment
from portal.forms import ReadAtOnceChoiceField
from portal.models import Department, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ACTIVITY_LABELS = [
    ("", _("any")),
    (WITHIN, _("some activity within the last N days")),
    (NOT_WITHIN, _("no activity within the last N days")),
]
FOLLOW_UP_CHOICES = [
    ("", _("none")),
    ("lead", _("a lead")),
    ("opportunity", _("an opportunity")),
]


def _names(text: str) -> list[str]:
    """ "上海市, 江苏省 浙江省" → the names, split at commas (either width) and spaces."""
    for mark in ("，", "、", ";", "；"):
        text = text.replace(mark, ",")
    return [part.strip() for chunk in text.split(",") for part in chunk.split() if part.strip()]


class SegmentFields(forms.Form):
    """The segment's filters (every one optional; field names are the segment's keys)."""

    provinces = forms.CharField(
        label=_("Provinces"),
        required=False,
        max_length=500,
        help_text=_("Separated by commas, e.g. 上海市, 江苏省, 浙江省."),
    )
    cities = forms.CharField(label=_("Cities"), required=False, max_length=500)
    industries = forms.MultipleChoiceField(
        label=_("Industries"),
        required=False,
        choices=Industry.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    levels = forms.MultipleChoiceField(
        label=_("Levels"),
        required=False,
        choices=AccountLevel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    department: forms.ModelChoiceField[Department] = ReadAtOnceChoiceField(
        label=_("Owner's department"),
        required=False,
        queryset=Department.objects.filter(is_active=True).order_by("path"),
        help_text=_("With the departments below it."),
    )
    owner = ReadAtOnceChoiceField(
        label=_("Owner"),
        required=False,
        # people who own an account: EXISTS per person, not a join over every account
        queryset=User.objects.filter(
            Exists(Account.objects.filter(owner=OuterRef("pk"))), is_active=True
        ).order_by("username"),
    )
    activity = forms.ChoiceField(label=_("Last activity"), required=False, choices=ACTIVITY_LABELS)
    activity_days = forms.IntegerField(label=_("Days"), required=False, min_value=1, max_value=3650)

    def __init__(self, *args: Any, segment: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if segment:
            self.initial.update(
                {
                    "provinces": ", ".join(segment.get("provinces", [])),
                    "cities": ", ".join(segment.get("cities", [])),
                    "industries": segment.get("industries", []),
                    "levels": segment.get("levels", []),
                    "department": segment.get("department"),
                    "owner": segment.get("owner"),
                    "activity": segment.get("activity", ""),
                    "activity_days": segment.get("activity_days"),
                }
            )

    def segment(self) -> dict[str, Any]:
        """The segment as the services take it (checked there: ``segment_clean``)."""
        data = self.cleaned_data
        department = data.get("department")
        owner = data.get("owner")
        return Segment(
            provinces=tuple(_names(data.get("provinces") or "")),
            cities=tuple(_names(data.get("cities") or "")),
            industries=tuple(data.get("industries") or ()),
            levels=tuple(data.get("levels") or ()),
            department=department.pk if department else None,
            owner=owner.pk if owner else None,
            activity=data.get("activity") or "",
            activity_days=data.get("activity_days") if data.get("activity") else None,
        ).as_json()


class CampaignForm(SegmentFields):
    """A campaign: its name, channel, dates and cost, then its segment."""

    name = forms.CharField(label=_("Name"), max_length=200)
    channel = forms.CharField(
        label=_("Channel"),
        required=False,
        max_length=60,
        help_text=_("E.g. 线下会议, 直播, 邮件, 展会."),
    )
    starts_on = forms.DateField(label=_("Starts"), required=False, widget=DATE)
    ends_on = forms.DateField(label=_("Ends"), required=False, widget=DATE)
    cost = forms.DecimalField(
        label=_("Cost (CNY)"), required=False, min_value=0, max_digits=14, decimal_places=2
    )

    field_order = ["name", "channel", "starts_on", "ends_on", "cost"]

    def __init__(self, *args: Any, campaign: Campaign | None = None, **kwargs: Any) -> None:
        super().__init__(*args, segment=campaign.segment if campaign else None, **kwargs)
        if campaign is not None:
            self.initial.update(
                {
                    "name": campaign.name,
                    "channel": campaign.channel,
                    "starts_on": campaign.starts_on,
                    "ends_on": campaign.ends_on,
                    "cost": campaign.cost,
                }
            )

    def values(self) -> dict[str, Any]:
        """The campaign's fields as the services take them."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "channel": data.get("channel") or "",
            "starts_on": data.get("starts_on"),
            "ends_on": data.get("ends_on"),
            "cost": data.get("cost") or 0,
            "segment": self.segment(),
        }


class CampaignFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("all")), *Campaign.Status.choices]
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Campaign.Status.choices)


class MemberAddForm(forms.Form):
    account = AccountCodeField(
        Account.objects.none(), label=_("Account"), help_text=_("The customer code.")
    )

    def __init__(self, *args: Any, accounts: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Account]", self.fields["account"])
        field.queryset = accounts.filter(merged_into__isnull=True)


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, add these accounts"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class ResponseForm(forms.Form):
    """A member's response, on a phone: the day, what they said, who, and a follow-up."""

    responded_on = forms.DateField(label=_("Responded on"), widget=DATE)
    response = forms.CharField(
        label=_("Response"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 200}),
    )
    contact = forms.ModelChoiceField(Contact.objects.none(), label=_("Contact"), required=False)
    follow_up = forms.ChoiceField(
        label=_("Follow up with"),
        required=False,
        choices=FOLLOW_UP_CHOICES,
        widget=forms.RadioSelect,
    )
    opportunity_name = forms.CharField(
        label=_("Opportunity name"),
        required=False,
        max_length=200,
        help_text=_("For an opportunity; empty: the campaign's and the customer's names."),
    )
    amount = forms.DecimalField(
        label=_("Amount (CNY)"), required=False, min_value=0, max_digits=14, decimal_places=2
    )

    def __init__(self, *args: Any, member: CampaignMember, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact = cast("forms.ModelChoiceField[Contact]", self.fields["contact"])
        contact.queryset = member.account.contacts.order_by("name")
        self.initial.setdefault("response", member.response)
        self.initial.setdefault("contact", member.contact_id)
