"""The forms of the approval actions: a person or people (typed by user name or employee
number, or chosen in the picker), a comment or a reason, a step to return to or move to.

Each action has exactly one opinion box (:class:`OpinionTextarea`; the pages put the
person's 常用语 under it), and approve, reject and return a signature pad where the step asks
for one (:func:`add_signature`, ``workflow.signatures``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.selectors import person_find
from workflow.models import (
    Signer,
)
from workflow.services.approvals import return_refusal
from workflow.signatures import SignatureMode

# --- people ------------------------------------------------------------------------------------


_SEPARATORS = re.compile(r"[\s,;，、；]+")


class PersonField(forms.CharField):
    """One person, typed as a user name or employee number (the picker fills it in); cleaned
    to the user name."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 150)
        super().__init__(**kwargs)
        self.widget.attrs.update({"data-picker": "one", "autocomplete": "off"})

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if not text:
            return ""
        person = person_find(text)
        if person is None:
            raise ValidationError(_("Nobody active is called %(name)s.") % {"name": text})
        return person.username


class PeopleField(forms.CharField):
    """Several people, separated by commas or spaces; with ``groups`` also ``role:code`` and
    ``dept:code``. Cleaned to a list of user names (and the group items as given)."""

    def __init__(self, *, groups: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)
        self.groups = groups
        self.widget.attrs.update({"data-picker": "many", "autocomplete": "off"})

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        names: list[str] = []
        unknown: list[str] = []
        for item in _SEPARATORS.split(text or ""):
            if not item:
                continue
            if self.groups and item.startswith(("role:", "dept:")):
                names.append(item)
                continue
            person = person_find(item)
            if person is None:
                unknown.append(item)
            else:
                names.append(person.username)
        if unknown:
            raise ValidationError(
                _("Nobody active is called %(name)s.") % {"name": ", ".join(unknown)}
            )
        if not names and self.required:
            raise ValidationError(_("Choose at least one person."))
        return list(dict.fromkeys(names))


class OpinionTextarea(forms.Textarea):
    """The one opinion box of an action: the pages show the person's 常用语 under it (one
    tap inserts a phrase) and a link to manage them (``_opinion_fields.html``)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {
                "rows": 3,
                "data-opinion": "",
                "placeholder": gettext_lazy("Write your opinion, or tap a saved phrase below"),
                **(attrs or {}),
            }
        )


class SignatureInput(forms.HiddenInput):
    """The drawn signature as a PNG data URL; the page draws the pad around it."""


def _comment_field(
    *, required: bool = False, label: Any = None, opinion: bool = True
) -> forms.CharField:
    """An action's text box: an opinion box with the 常用语 (the handlers' actions), or a
    plain one (``opinion=False``: the reason of a cancel or of an administrator's action)."""
    return forms.CharField(
        label=label or gettext_lazy("Comment"),
        required=required,
        max_length=4000,
        widget=OpinionTextarea() if opinion else forms.Textarea(attrs={"rows": 3}),
    )


def add_signature(form: forms.Form, mode: SignatureMode) -> None:
    """Give a decision's form the signature field its step asks for (``required`` or
    ``optional``; nothing otherwise). The drawing is checked by the approvals service, which
    keeps it in the decision's transaction; a missing required one is the field's error."""
    if not mode:
        return
    attrs: dict[str, Any] = {"data-signature": mode}
    owner = next((f.widget.attrs.get("form") for f in form.fields.values()), None)
    if owner:
        attrs["form"] = owner  # the step dialogs' fields belong to the step form
    form.fields["signature"] = forms.CharField(
        label=gettext_lazy("Signature"),
        required=mode == "required",
        widget=SignatureInput(attrs),
        error_messages={"required": gettext_lazy("Please sign before you confirm.")},
    )


# --- the actions' forms --------------------------------------------------------------------------


class StepCommentForm(forms.Form):
    """Approve / hand back: an optional opinion (审批意见), sent with the step form
    (``stepform``)."""

    comment = _comment_field(label=gettext_lazy("Opinion"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            bound.widget.attrs["form"] = "stepform"


class ResubmitForm(StepCommentForm):
    """The initiator submitting a returned request again: a comment, not an opinion."""

    comment = _comment_field()


class RejectForm(StepCommentForm):
    comment = _comment_field(required=True, label=gettext_lazy("Reason"))


class ReturnForm(forms.Form):
    target = forms.ChoiceField(label=gettext_lazy("Return to"))
    comment = _comment_field(required=True, label=gettext_lazy("Reason"))

    def __init__(self, *args: Any, targets: Iterable[tuple[str, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        targets = list(targets)
        self.fields["target"].choices = targets  # type: ignore[attr-defined]
        # a step it cannot go back to is refused by naming those it can, never by element id
        refusal = return_refusal(name for _value, name in targets).replace("%", "%%")
        self.fields["target"].error_messages["invalid_choice"] = refusal


class HandOverForm(forms.Form):
    to = PersonField(label=gettext_lazy("To"))
    comment = _comment_field()


class AddSignersForm(forms.Form):
    signers = PeopleField(label=gettext_lazy("Signers"))
    position = forms.ChoiceField(
        label=gettext_lazy("Where"), choices=Signer.choices, widget=forms.RadioSelect
    )
    comment = _comment_field()


class RemoveSignerForm(forms.Form):
    signer = forms.TypedChoiceField(label=gettext_lazy("Signer"), coerce=int)

    def __init__(self, *args: Any, signers: Iterable[tuple[int, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["signer"].choices = list(signers)  # type: ignore[attr-defined]


class CopyForm(forms.Form):
    recipients = PeopleField(
        label=gettext_lazy("Copy to"),
        groups=True,
        help_text=gettext_lazy(
            "User names or employee numbers; role:code or dept:code for a whole role or department."
        ),
    )
    comment = _comment_field()


class UrgeForm(forms.Form):
    comment = _comment_field()


class RequiredReasonForm(forms.Form):
    reason = _comment_field(required=True, label=gettext_lazy("Reason"), opinion=False)


class OptionalReasonForm(forms.Form):
    reason = _comment_field(label=gettext_lazy("Reason"), opinion=False)


class MoveForm(forms.Form):
    target = forms.ChoiceField(label=gettext_lazy("Move to"))
    reason = _comment_field(required=True, label=gettext_lazy("Reason"), opinion=False)

    def __init__(self, *args: Any, targets: Iterable[tuple[str, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = list(targets)  # type: ignore[attr-defined]


class ReassignForm(forms.Form):
    task = forms.TypedChoiceField(label=gettext_lazy("Task"), coerce=int)
    to = PersonField(label=gettext_lazy("To"))
    reason = _comment_field(label=gettext_lazy("Reason"), opinion=False)

    def __init__(self, *args: Any, tasks: Iterable[tuple[int, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = list(tasks)  # type: ignore[attr-defined]


class EmptyForm(forms.Form):
    """An action that needs no input (claim, withdraw): only its confirmation."""


class ReassignTaskForm(forms.Form):
    to = PersonField(label=gettext_lazy("To"))
    reason = _comment_field(label=gettext_lazy("Reason"), opinion=False)
