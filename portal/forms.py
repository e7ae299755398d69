"""Forms of the shell: they validate input; views hand the cleaned data to services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.choices import Language
from portal.models import DelegationRule, User, phone_validator
from portal.selectors import person_find


class _ReadAtOnce(forms.models.ModelChoiceIterator):  # type: ignore[type-arg]  # django-stubs generic
    """The choices read by one plain query. Django's iterator walks ``.iterator()``, which
    on PostgreSQL opens a server-side cursor (DECLARE, FETCH, CLOSE: four round trips and
    4-5 ms for a hundred people on every page showing the select)."""

    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class ReadAtOnceChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # django-stubs generic
    """A ``forms.ModelChoiceField`` whose choices are read at once (:class:`_ReadAtOnce`):
    for the selects of filters and forms, whose choices are few enough to hold (people,
    departments, roles)."""

    iterator = _ReadAtOnce


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "Wrong user name or password. After %(limit)s failed attempts the account is "
            "locked for a while."
        ),
        "inactive": _("This account is disabled. Ask your administrator."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["username"].label = _("User name or employee number")

    def get_invalid_login_error(self) -> forms.ValidationError:
        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"limit": settings.AXES_FAILURE_LIMIT},
        )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=Language.choices)
    next = forms.CharField(required=False)


class PreferencesForm(forms.Form):
    preferred_language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=20, required=False, validators=[phone_validator]
    )
    notify_by_email = forms.BooleanField(label=_("Notify me by e-mail"), required=False)
    notify_by_sms = forms.BooleanField(label=_("Notify me by SMS"), required=False)

    @classmethod
    def for_user(cls, user: User, data: Any = None) -> PreferencesForm:
        return cls(
            data=data,
            initial={
                "preferred_language": user.preferred_language,
                "phone": user.phone,
                "notify_by_email": user.notify_by_email,
                "notify_by_sms": user.notify_by_sms,
            },
        )


_LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


class MinuteInput(forms.DateTimeInput):
    """A date and time picker (``datetime-local``), to the minute."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=_LOCAL_MINUTE)


class DelegationForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic
    """代理: one's own out-of-office rule. The proxy is typed as a name, user name or
    employee number (the person picker fills it in); the model's ``clean()`` checks the
    rest (not oneself, an active account, the end after the start, no overlap)."""

    delegate = forms.CharField(
        label=_("Proxy"),
        max_length=150,
        help_text=_("Who handles your approvals while you are away: type a name to choose."),
        widget=forms.TextInput(attrs={"data-picker": "one", "autocomplete": "off"}),
    )
    starts_at = forms.DateTimeField(
        label=_("From"), widget=MinuteInput(), input_formats=[_LOCAL_MINUTE, "%Y-%m-%d %H:%M"]
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=MinuteInput(), input_formats=[_LOCAL_MINUTE, "%Y-%m-%d %H:%M"]
    )

    class Meta:
        model = DelegationRule
        fields = ["delegate", "starts_at", "ends_at", "reason"]
        labels = {"reason": _("Reason")}
        widgets = {"reason": forms.TextInput(attrs={"placeholder": _("e.g. annual leave")})}

    def clean_delegate(self) -> User:
        text = self.cleaned_data["delegate"].strip()
        found = person_find(text)
        if found is None:
            named = list(
                User.objects.filter(is_active=True)
                .annotate(_family_first=Concat("last_name", "first_name"))
                .filter(_family_first=text)[:2]
            )
            if len(named) > 1:
                raise forms.ValidationError(
                    _(
                        "More than one person is called “%(name)s”: choose them from the "
                        "list, or write their user name."
                    )
                    % {"name": text}
                )
            found = named[0] if named else None
        if found is None:
            raise forms.ValidationError(_("Nobody active is called “%(name)s”.") % {"name": text})
        return found

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("starts_at"), data.get("ends_at")
        if (
            end is not None
            and end <= timezone.now()
            and (start is None or end > start)  # else the model says the end is before it
        ):
            self.add_error("ends_at", _("The end must be in the future."))
        return data
