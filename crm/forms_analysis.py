"""The analysis pages' filter: the period (from, to; default the last twelve months), a
department and an owner, each offered only among what the person may see."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.selectors.analysis import default_period, month_start

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
LONGEST_MONTHS = 36


class AnalysisFilterForm(forms.Form):
    """From and to (both days included), department (with those below it), owner."""

    start = forms.DateField(label=_("from"), required=False, widget=DATE)
    end = forms.DateField(label=_("to"), required=False, widget=DATE)
    department = forms.TypedChoiceField(
        label=_("department"), required=False, coerce=int, empty_value=None
    )
    owner = forms.TypedChoiceField(
        label=pgettext_lazy("crm", "owner"), required=False, coerce=int, empty_value=None
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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "start" not in data or "end" not in data:
            return data  # a date the field refused: its error says so
        end: datetime.date = data["end"] or timezone.localdate()
        start: datetime.date = data["start"] or default_period(end)[0]
        data["start"], data["end"] = start, end
        if start > end:
            self.add_error("end", _("The end of the period is before its start."))
        elif month_start(end, LONGEST_MONTHS - 1) > start:
            self.add_error(
                "start",
                _("The period may span at most %(months)d months.") % {"months": LONGEST_MONTHS},
            )
        return data
