"""Process-given texts in the reader's language.

A BPMN file names its process, steps, form fields and options in one language, usually
Chinese. Each process may carry a table of names in other languages
(``ProcessSettings.translations``, edited in the designer's translations panel):

    {"en": {"process": "Leave request", "description": "...",
            "Task_ManagerApproval": "Manager approval",      # a step, by element id
            "field:days": "Days",                            # a form field, by field id
            "enum:leave_type:annual": "Annual leave"}}       # an option, by field and value

:func:`translated` is the one function every page, list, notification and API text goes
through to show such a text: the reader's language's entry where there is one, else the
name the BPMN file gives (a Chinese name in English mode is the exception, for an entry
nobody wrote yet). The helpers below only name the entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.utils import translation as django_translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from portal.models import User
from workflow import participants
from workflow.bpmn.model import Element, ElementKind, Process
from workflow.engine.cache import definition_name
from workflow.models import ProcessDefinition, ProcessInstance

PROCESS = "process"
DESCRIPTION = "description"
CATEGORY = "category"  # the catalogue's heading (ProcessSettings.category), not in the BPMN
MAX_NAME = 255
MAX_DESCRIPTION = 2000


def language_code(language: str | None = None) -> str:
    """``language`` (default: the active one) as the table's key: ``en``, ``zh-hans``."""
    code = (language or django_translation.get_language() or django_settings.LANGUAGE_CODE).lower()
    return code.replace("_", "-")


def _table(key: str, language: str | None) -> Mapping[str, Any]:
    tables = participants.settings_for(key).translations or {}
    if not isinstance(tables, Mapping):
        return {}
    code = language_code(language)
    for candidate in (code, code.split("-")[0]):
        table = tables.get(candidate)
        if isinstance(table, Mapping):
            return table
    return {}


def translated(key: str, entry: str, default: str, *, language: str | None = None) -> str:
    """The text of ``entry`` (``process``, ``description``, an element id, ``field:<id>``,
    ``enum:<field id>:<value>``) of process ``key`` in ``language`` (default: the active
    one); ``default`` (the BPMN file's name) where the table has none."""
    value = _table(key, language).get(entry) if key else None
    return value if isinstance(value, str) and value.strip() else default


def process_name(key: str, default: str, *, language: str | None = None) -> str:
    return translated(key, PROCESS, default or key, language=language)


def process_description(key: str, default: str, *, language: str | None = None) -> str:
    return translated(key, DESCRIPTION, default, language=language)


def category_name(key: str, default: str, *, language: str | None = None) -> str:
    return translated(key, CATEGORY, default, language=language) if default else default


def step_name(key: str, element_id: str, default: str, *, language: str | None = None) -> str:
    return translated(key, element_id, default or element_id, language=language)


def field_label(key: str, field_id: str, default: str, *, language: str | None = None) -> str:
    return translated(key, f"field:{field_id}", default or field_id, language=language)


def option_label(
    key: str, field_id: str, value: str, default: str, *, language: str | None = None
) -> str:
    return translated(key, f"enum:{field_id}:{value}", default or value, language=language)


def process_names(names: Mapping[str, str], *, language: str | None = None) -> dict[str, str]:
    """``{key: BPMN name}`` -> ``{key: name in the language}`` (a list's processes)."""
    return {key: process_name(key, name, language=language) for key, name in names.items()}


def localize_form(form: forms.Form, key: str, *, language: str | None = None) -> forms.Form:
    """A step's form (``workflow.forms.form_for``) with its labels and options in the
    reader's language. The form's own fields are per instance: the class is not changed."""
    for name, form_field in form.fields.items():
        if form_field.label:
            form_field.label = field_label(key, name, str(form_field.label), language=language)
        choices = getattr(form_field, "choices", None)
        if choices is not None and isinstance(form_field, forms.ChoiceField):
            form_field.choices = [
                (value, option_label(key, name, str(value), str(label), language=language))
                if value
                else (value, label)
                for value, label in choices
            ]
    return form


# --- the default title ---------------------------------------------------------------------


def default_title(person: str, process: str, *, language: str | None = None) -> str:
    """The title of a request started without one, e.g. "张伟的费用报销", "张伟's expense
    claim", in ``language`` (default: the active one)."""
    with django_translation.override(language or django_translation.get_language()):
        return _("%(person)s's %(process)s") % {"person": person, "process": process}


def request_title(
    title: str,
    *,
    key: str,
    process: str,
    person: str,
    language: str | None = None,
) -> str:
    """The title to show for a request titled ``title``: a default title (built when it was
    started, in its initiator's language, from the BPMN name) is built again in the
    reader's language with the process's name in it; a title the initiator typed (or none)
    is shown as it is. ``process``: the BPMN name; ``person``: the initiator's display
    name."""
    if not title or not _is_default(title, key=key, process=process, person=person):
        return title
    return default_title(person, process_name(key, process, language=language), language=language)


def request_titles(
    instances: Iterable[ProcessInstance],
    *,
    people: Mapping[str, str] | None = None,
    definitions: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """:func:`request_title` of each of ``instances`` (a page of a list), by id: two
    queries for any number of them, none when the caller gives what it read already for
    the same page: ``people`` (the display name of each initiator, as
    ``visibility.display_names`` reads them) and ``definitions`` (the BPMN name of each
    instance's definition, by id: ``visibility.definition_names``)."""
    rows = list(instances)
    if definitions is None:
        definitions = dict(
            ProcessDefinition.objects.filter(pk__in={i.definition_id for i in rows}).values_list(
                "pk", "name"
            )
        )
    names = definitions
    if people is None:
        people = {
            user.username: user.display_name
            for user in User.objects.filter(username__in={i.initiator for i in rows if i.title})
        }
    return {
        i.pk: request_title(
            i.title,
            key=i.definition_key,
            process=names.get(i.definition_id) or i.definition_key,
            person=people.get(i.initiator, i.initiator),
        )
        for i in rows
    }


def _is_default(title: str, *, key: str, process: str, person: str) -> bool:
    for code, _name in django_settings.LANGUAGES:
        for name in {process, process_name(key, process, language=code)}:
            if title == default_title(person, name, language=code):
                return True
    return False


# --- texts rendered later, in each recipient's language --------------------------------------


def step_text(key: str, element_id: str, default: str) -> Any:
    """A step's name that becomes text in the language active when it is formatted: a
    notification is rendered once per recipient's language (``notifications.notify``)."""
    return lazy(step_name, str)(key, element_id, default)


def title_text(*, title: str, key: str, definition_id: int, initiator: str) -> Any:
    """A request's title (:func:`request_title`) that becomes text in the language active
    when it is formatted; reads the process's name and the initiator's name now."""
    if not title:
        return title
    process = definition_name(definition_id)  # a deployed version's name never changes
    found = (
        User.objects.only("username", "first_name", "last_name").filter(username=initiator).first()
        if initiator
        else None
    )
    person = found.display_name if found is not None else initiator
    return lazy(_title_now, str)(title, key, process or key, person)


def _title_now(title: str, key: str, process: str, person: str) -> str:
    return request_title(title, key=key, process=process, person=person)


# --- the translation table, as the designer edits it ------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One text of a process a translation may replace, as the designer lists it."""

    entry: str  # the table's key
    kind: str  # process | description | category | step | field | option
    source: str  # what the BPMN file says
    context: str = ""  # where it is: the step of a field, the field of an option


_NAMED_KINDS = (
    ElementKind.USER_TASK,
    ElementKind.START_EVENT,
    ElementKind.END_EVENT,
)


def entries_of(process: Process) -> list[Entry]:
    """Every text of ``process`` a person reads: its name and description, the names of
    its steps (user tasks, start and end events, and any other named element), its form
    fields' labels and their options, in the diagram's order."""
    found: dict[str, Entry] = {}
    found[PROCESS] = Entry(PROCESS, "process", process.name or process.id)
    found[DESCRIPTION] = Entry(DESCRIPTION, "description", process.documentation)
    elements: Iterable[Element] = process.elements.values()
    for element in elements:
        if element.name or element.kind in _NAMED_KINDS:
            found.setdefault(element.id, Entry(element.id, "step", element.name or element.id))
        step = element.name or element.id
        for form_field in element.form_fields:
            field_key = f"field:{form_field.id}"
            if field_key not in found:
                found[field_key] = Entry(
                    field_key, "field", form_field.label or form_field.id, context=step
                )
            for value, name in form_field.enum_values:
                option_key = f"enum:{form_field.id}:{value}"
                found.setdefault(
                    option_key,
                    Entry(option_key, "option", name or value, context=form_field.label),
                )
    return list(found.values())


def other_languages() -> list[tuple[str, str]]:
    """The languages a translation is written for: every UI language but the default (the
    language the BPMN files are written in)."""
    default = language_code(django_settings.LANGUAGE_CODE)
    return [(code, name) for code, name in django_settings.LANGUAGES if code != default]


def clean_translations(raw: Any, entries: Iterable[Entry]) -> dict[str, dict[str, str]]:
    """A translation table as submitted, checked against ``entries`` (what the process's
    versions name): only known languages and entries, texts only, not too long; empty
    texts are dropped (the BPMN name shows). Raises ``ValidationError`` with every problem
    (field ``translations``); nothing is saved then."""
    known = {e.entry: e for e in entries}
    languages = {code for code, _name in django_settings.LANGUAGES}
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ValidationError({"translations": [_("Give an object of languages.")]})
    cleaned: dict[str, dict[str, str]] = {}
    for language, table in raw.items():
        if language not in languages:
            problems.append(_("Unknown language: %(language)s.") % {"language": language})
            continue
        if not isinstance(table, Mapping):
            problems.append(
                _("The translations into %(language)s must be an object of texts.")
                % {"language": language}
            )
            continue
        texts: dict[str, str] = {}
        for entry, text in table.items():
            if entry not in known:
                problems.append(
                    _("%(entry)s is not a step, field or option of this process.")
                    % {"entry": entry}
                )
                continue
            if not isinstance(text, str):
                problems.append(_("%(entry)s: give a text.") % {"entry": known[entry].source})
                continue
            text = text.strip()
            limit = MAX_DESCRIPTION if entry == DESCRIPTION else MAX_NAME
            if len(text) > limit:
                problems.append(
                    _("%(entry)s: at most %(limit)s characters.")
                    % {"entry": known[entry].source, "limit": limit}
                )
                continue
            if text:
                texts[entry] = text
        if texts:
            cleaned[language] = texts
    if problems:
        raise ValidationError({"translations": problems})
    return cleaned


__all__ = [
    "CATEGORY",
    "Entry",
    "category_name",
    "clean_translations",
    "default_title",
    "entries_of",
    "field_label",
    "language_code",
    "localize_form",
    "option_label",
    "other_languages",
    "process_description",
    "process_name",
    "process_names",
    "request_title",
    "request_titles",
    "step_name",
    "step_text",
    "title_text",
    "translated",
]
