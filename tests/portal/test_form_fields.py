"""The shared form partial (templates/portal/partials/_form_fields.html): a visible field with
its label, help and errors; a hidden field without a label (a label for nothing confused screen
readers and showed a stray word), its error still said at the top."""

from __future__ import annotations

from django import forms
from django.template.loader import render_to_string


class _Form(forms.Form):
    name = forms.CharField(label="客户名称", help_text="全称")
    token = forms.CharField(label="令牌", widget=forms.HiddenInput)


def test_a_hidden_field_has_no_label_and_a_visible_one_has_its_own() -> None:
    html = render_to_string("portal/partials/_form_fields.html", {"form": _Form()})
    assert '<label for="id_name">客户名称</label>' in html
    assert '<input type="hidden" name="token" id="id_token">' in html
    assert "令牌" not in html and 'for="id_token"' not in html


def test_a_hidden_fields_error_is_said_at_the_top() -> None:
    form = _Form(data={"name": "杭州远帆"})
    assert not form.is_valid()
    html = render_to_string("portal/partials/_form_fields.html", {"form": form})
    assert 'role="alert">令牌: ' in html
    assert html.index("令牌") < html.index("客户名称")
