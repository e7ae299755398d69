"""Forms of the shell: they validate input; views hand the cleaned data to services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from portal.choices import Language
from portal.models import User, phone_validator


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
