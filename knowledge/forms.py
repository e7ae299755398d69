"""The knowledge base's page forms: they read and check what a person typed; the services
decide whether it may be done and do it (docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from knowledge.models import Language, Space, SpaceRole, Visibility
from portal.forms import ReadAtOnceChoiceField
from portal.models import Department, Role, User

MAX_QUERY_CHARS = 200


def tag_list(text: str) -> list[str]:
    """Tags typed as one line, separated by commas (either width), semicolons or 、."""
    for separator in ("，", "；", ";", "、"):
        text = text.replace(separator, ",")
    seen: dict[str, None] = {}
    for part in text.split(","):
        tag = part.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


class SpaceForm(forms.Form):
    """A space's settings; ``key`` only when it is created (addresses keep working)."""

    key = forms.SlugField(
        label=_("Key"),
        max_length=40,
        help_text=_("Letters, digits and hyphens; part of the space's address."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    visibility = forms.ChoiceField(label=_("Who may read"), choices=Visibility.choices)
    department: forms.ModelChoiceField[Department] = ReadAtOnceChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("path"),
        required=False,
        help_text=_("For a department space: its people and those of its sub-departments read it."),
    )
    requires_review = forms.BooleanField(
        label=_("Articles are reviewed before publishing"), required=False
    )
    review_months = forms.IntegerField(
        label=_("Months until an article is reviewed again"), min_value=1, max_value=120, initial=12
    )

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["key"]

    @classmethod
    def of(cls, space: Space, data: Any = None) -> SpaceForm:
        """The settings form of an existing space, filled in from it."""
        initial = {
            "name": space.name,
            "name_en": space.name_en,
            "description": space.description,
            "visibility": space.visibility,
            "department": space.department_id,
            "requires_review": space.requires_review,
            "review_months": space.review_months,
        }
        return cls(data, initial=initial, creating=False)


class MemberForm(forms.Form):
    """Give a person or a role a role in a space (one of the two)."""

    person = forms.CharField(
        label=_("Person"),
        max_length=150,
        required=False,
        help_text=_("User name or employee number."),
    )
    group = ReadAtOnceChoiceField(label=_("Or a role"), queryset=Role.objects.all(), required=False)
    role = forms.ChoiceField(label=_("Role in the space"), choices=SpaceRole.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        person = (data.get("person") or "").strip()
        group = data.get("group")
        if bool(person) == bool(group):
            raise ValidationError(_("Name a person or choose a role (one of the two)."))
        if person:
            user = (
                User.objects.filter(is_active=True).filter(username=person).first()
                or User.objects.filter(is_active=True, employee_no=person).first()
            )
            if user is None:
                self.add_error("person", _("Nobody active has this user name or employee number."))
            data["user"] = user
        return data


class ArticleForm(forms.Form):
    """What the editor sends: the text, its tags and language, the version it was opened at
    (``base_number``, the conflict check) and the process steps it explains."""

    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    tags = forms.CharField(
        label=_("Tags"),
        max_length=500,
        required=False,
        help_text=_("Separated by commas, e.g. VPN, 报销"),
    )
    lang = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    body = forms.CharField(
        label=_("Body (Markdown)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
    )
    note = forms.CharField(
        label=_("What changed"),
        max_length=200,
        required=False,
        help_text=_("A short note for the version history (optional)."),
    )
    base_number = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    guides = forms.MultipleChoiceField(
        label=_("Process guides"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The processes and steps this article explains: their pages link to it."),
    )

    def __init__(self, *args: Any, guide_choices: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["guides"].choices = guide_choices or []  # type: ignore[attr-defined]

    def clean_tags(self) -> list[str]:
        # how many and how long: the service's rule (knowledge.services.clean_content)
        return tag_list(self.cleaned_data.get("tags") or "")

    def clean_guides(self) -> list[tuple[str, str]]:
        pairs = []
        for value in self.cleaned_data.get("guides") or []:
            process_key, _sep, step_id = value.partition(":")
            pairs.append((process_key, step_id))
        return pairs


def guide_value(process_key: str, step_id: str) -> str:
    """How a (process, step) pair travels in the editor's checkboxes."""
    return f"{process_key}:{step_id}"


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("1", _("Helpful")), ("0", _("Not helpful"))],
        coerce=lambda value: value == "1",
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class SearchForm(forms.Form):
    """The search page's query and filters; anything unreadable is left out, never an
    error page (a search of any text answers results or nothing)."""

    q = forms.CharField(label=_("Search"), required=False)
    space = forms.CharField(label=_("Space"), required=False, max_length=40)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=40)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=150)
    since = forms.DateField(
        label=_("Updated from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Updated until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filters(self) -> dict[str, Any]:
        """The valid values (a bad date is dropped; a long query cut)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        found: dict[str, Any] = {}
        for name in ("q", "space", "tag", "owner", "since", "until"):
            value = data.get(name)
            if name not in self.errors and value not in (None, ""):
                found[name] = value
        if "q" in found:
            found["q"] = str(found["q"])[:MAX_QUERY_CHARS]
        return found
