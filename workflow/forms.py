"""Forms of the workflow app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_BPMN_BYTES = 5_000_000


class DeployForm(forms.Form):
    file = forms.FileField(
        label=_("BPMN file"), help_text=_("A .bpmn file drawn in bpmn.io or Camunda Modeler.")
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BPMN_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        data: bytes = upload.read()
        return data
