"""A select written in Python (``portal.renderers.FormRenderer``) is the markup Django's
templates write, character for character: every kind of option, attribute and label."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from portal.models import Department
from portal.renderers import FormRenderer
from tests.factories import department

TEMPLATES = DjangoTemplates()
PYTHON = FormRenderer()


def _both(widget: forms.Widget, value: Any, attrs: dict[str, Any] | None = None) -> tuple[str, str]:
    return (
        widget.render("field", value, attrs=attrs, renderer=PYTHON),
        widget.render("field", value, attrs=attrs, renderer=TEMPLATES),
    )


CHOICES = [
    ("", "---------"),
    ("a", "Plain"),
    ("b&c", 'Quotes " and <tags> & ampersands'),
    (3, 1234567),
    (Decimal("2.50"), Decimal("1234.5")),
    ("lazy", gettext_lazy("any")),
    ("safe", mark_safe("<b>already safe</b>")),  # a safe label stays as it is
    (mark_safe("x&amp;y"), "a safe value"),
    ("中文", "华辰集团 · 财务部"),
]

GROUPED = [
    ("", "none"),
    ("Group <1>", [("g1", "One"), ("g2", "Two")]),
    ("第二组", [("g3", "三")]),
    ("z", "after the groups"),
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("widget", "value"),
    [
        (forms.Select(choices=CHOICES), "b&c"),
        (forms.Select(choices=CHOICES), None),
        (forms.Select(choices=CHOICES), 3),
        (forms.Select(choices=GROUPED), "g2"),
        (forms.SelectMultiple(choices=CHOICES), ["a", "中文", 3]),
        (forms.SelectMultiple(choices=GROUPED), []),
        (forms.NullBooleanSelect(), True),
        (forms.NullBooleanSelect(), None),
        (forms.Select(choices=[]), None),
        (
            forms.Select(
                choices=CHOICES,
                attrs={"class": 'x "y"', "required": True, "disabled": False, "data-n": 5},
            ),
            "lazy",
        ),
    ],
)
def test_a_select_is_written_as_the_templates_write_it(
    widget: forms.Widget, value: Any, language: str
) -> None:
    with translation.override(language):
        python, templates = _both(widget, value, attrs={"id": "id_field", "hx-get": "/a?b=1&c=2"})
    assert python == templates
    assert "<option" in python or not widget.choices  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_model_select_of_departments_is_the_same_and_is_the_default() -> None:
    for number, name in enumerate(("华辰集团", "R&D <lab>", "财务部")):
        department(f"D{number}", name)
    field: forms.ModelChoiceField[Department] = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name")
    )
    chosen = Department.objects.get(name="R&D <lab>")
    python, templates = _both(field.widget, chosen.pk)
    assert python == templates
    assert "R&amp;D &lt;lab&gt;" in python
    assert "selected>R&amp;D" in python
    assert isinstance(get_default_renderer(), FormRenderer)


class _OwnOption(forms.Select):
    option_template_name = "django/forms/widgets/attrs.html"  # any other option template


def test_options_with_their_own_template_are_left_to_the_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(_widget: Any) -> str:
        raise AssertionError("written in Python")

    monkeypatch.setattr("portal.renderers.select_html", refuse)
    widget = _OwnOption(choices=CHOICES)
    python, templates = _both(widget, "a")
    assert python == templates
    with pytest.raises(AssertionError, match="written in Python"):
        forms.Select(choices=CHOICES).render("field", "a", renderer=PYTHON)
