"""The form renderer (``FORM_RENDERER``): Django's, with a select written in Python.

Django renders a ``<select>`` by including a template per option, and each include pushes a
context and walks the option's attributes in the template language: about 0.13 ms an option,
15 ms for the console's select of 105 departments on every console page (issue 16). The
markup written here is the templates' own, character for character
(``tests/portal/test_renderers.py`` compares the two), so a page cannot tell them apart.

A widget whose options use another template (a custom ``option_template_name``) is rendered
by its templates as before; so is any other widget. A project template that overrides
``django/forms/widgets/select.html`` or ``select_option.html`` would be skipped: there is
none (``templates/`` overrides no form widget) — drop the shortcut if one is ever added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.html import escape
from django.utils.safestring import SafeData

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"

_CONTEXT = Context(autoescape=True)  # what a template's {{ value }} sees: localized, escaped


def _text(value: Any) -> str:
    """``{{ value }}``."""
    return str(render_value_in_context(value, _CONTEXT))


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: the filter keeps a safe value's safety."""
    return str(value) if isinstance(value, SafeData) else escape(f"{value}")


def _attrs(attrs: Mapping[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _options(options: Iterable[Mapping[str, Any]]) -> str:
    return "".join(
        f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_text(option['label'])}</option>\n"  # the option template's file ends in a newline
        for option in options
    )


def select_html(widget: Mapping[str, Any]) -> str:
    """``django/forms/widgets/select.html`` with its options, as the templates write it."""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        parts.append(_options(options))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _plain(widget: Mapping[str, Any]) -> bool:
    return all(
        option["template_name"] == OPTION
        for _name, options, _index in widget["optgroups"]
        for option in options
    )


class FormRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name == SELECT and _plain(context["widget"]):
            return select_html(context["widget"])
        return super().render(template_name, context, request)
