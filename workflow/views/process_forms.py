"""The form of a process's settings page in the console (``console_process``): the model's
fields and its own ``clean()`` (as in Django admin), with who may start it and who gets the
copy at the end as people read them — names, roles and departments to choose, never
``role:code`` to type."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from portal.models import Department, Role
from workflow.icons import ICON_NAMES
from workflow.models import ProcessSettings
from workflow.recipients import Recipients, names_to_people, people_names, recipients_of
from workflow.services import process_settings


class RoleChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]  # django-stubs generic
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class DepartmentChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]  # django-stubs generic
    """Departments in tree order, each indented under its parent."""

    def label_from_instance(self, obj: Any) -> str:
        return "\u3000" * (int(obj.depth) - 1) + str(obj.display_name)


def _roles() -> Any:
    return Role.objects.order_by("name")


def _departments() -> Any:
    return Department.objects.filter(is_active=True).order_by("path")


class ProcessSettingsForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic
    """Every setting a process administrator edits. ``cc_at_end`` is typed as names (the
    person picker fills it in) and stored as user names; the roles and departments that
    get the copy are chosen from lists; an expression already stored (``${...}``) stays."""

    starter_roles = RoleChoices(
        label=gettext_lazy("Roles that may start it"),
        queryset=Role.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    starter_departments = DepartmentChoices(
        label=gettext_lazy("Departments that may start it"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "With their sub-departments. No roles and no departments: every employee."
        ),
    )
    cc_at_end = forms.CharField(
        label=gettext_lazy("Copy to these people when it ends"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Names, separated by commas; type a name to choose from a list."),
        widget=forms.TextInput(attrs={"data-picker": "many", "autocomplete": "off"}),
    )
    cc_roles = RoleChoices(
        label=gettext_lazy("Copy to these roles"),
        queryset=Role.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    cc_departments = DepartmentChoices(
        label=gettext_lazy("Copy to these departments"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Everyone in them and in their sub-departments."),
    )

    class Meta:
        model = ProcessSettings
        fields = [*process_settings.EDITABLE, *process_settings.RELATED]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("starter_roles", "cc_roles"):
            self._choices(name).queryset = _roles()
        for name in ("starter_departments", "cc_departments"):
            self._choices(name).queryset = _departments()
        escalation = self.fields["escalation_role"]
        assert isinstance(escalation, forms.ModelChoiceField)  # noqa: S101  # typed for mypy
        escalation.queryset = _roles()
        escalation.label_from_instance = lambda role: str(role.display_name)  # type: ignore[method-assign, assignment]
        self.fields["icon"].help_text = gettext_lazy(
            "One of %(names)s, or an emoji; empty: chosen from the name and category."
        ) % {"names": ", ".join(ICON_NAMES)}
        self.fields["icon"].widget.attrs["list"] = "icon-names"
        self.fields["default_due"].widget.attrs["placeholder"] = "P2D"
        self.fields["remind_before"].widget.attrs["placeholder"] = "PT4H"
        self.fields["default_due"].help_text = gettext_lazy(
            "An ISO 8601 duration: P2D (2 days), PT8H (8 hours), PT30M, PT45S; empty: no due date."
        )
        self.fields["remind_before"].help_text = gettext_lazy(
            "How long before the due time the handler is reminded, e.g. PT4H."
        )
        self._stored = recipients_of(self.instance.cc_at_end if self.instance.pk else "")
        if not self.is_bound:
            self.initial["cc_at_end"] = ", ".join(
                part
                for part in (people_names(self._stored.users), *self._stored.expressions)
                if part
            )
            self.initial["cc_roles"] = list(_roles().filter(code__in=self._stored.roles))
            self.initial["cc_departments"] = list(
                Department.objects.filter(code__in=self._stored.departments)
            )

    def _choices(self, name: str) -> forms.ModelMultipleChoiceField[Any]:
        field = self.fields[name]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101  # typed for mypy
        return field

    def clean_cc_at_end(self) -> str:
        users, problems = names_to_people(self.cleaned_data.get("cc_at_end") or "")
        if problems:
            raise forms.ValidationError(problems)
        return ", ".join(users)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "cc_at_end" in data:
            typed = recipients_of(data["cc_at_end"])
            chosen = Recipients(
                users=typed.users,
                expressions=typed.expressions,
                roles=[r.code for r in data.get("cc_roles") or []],
                departments=[d.code for d in data.get("cc_departments") or []],
            )
            data["cc_at_end"] = chosen.text()
            if len(data["cc_at_end"]) > 500:
                self.add_error(
                    "cc_at_end", gettext_lazy("Too many people to copy; name fewer, or a role.")
                )
        return data

    def changes(self) -> dict[str, Any]:
        """The cleaned values as ``process_settings_update`` takes them."""
        names = [n for n in self._meta.fields or [] if n in self.cleaned_data]
        return {name: self.cleaned_data[name] for name in names}
