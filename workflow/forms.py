"""Forms of the workflow app: deploying a file, the form of a user task, uploads, comments.

**Step forms.** A user task's form comes from its BPMN definition:

- ``camunda:formKey="expense.finance"`` naming a Django form class registered with
  :func:`register_form` is the step's form;
- otherwise its ``camunda:formData`` fields make one (:func:`task_form_class`), cached per
  parsed element (a deployed definition never changes);
- an unregistered form key (Camunda's ``embedded:app:forms/x.html``) and no ``formData``:
  the step has no form (:func:`has_step_form` is False).

========== ===================== ===================================================
BPMN type  Django field          stored as (:func:`validate_step_data`)
========== ===================== ===================================================
string     CharField             text ("" when left empty)
long       IntegerField          int (64-bit range), None when left empty
double,    DecimalField          float (so that conditions can compare it:
decimal                          ``amount > 5000``), None when left empty
boolean    BooleanField          True/False; ``required`` means it must be ticked
date       DateField             ISO text ``2024-05-31`` (input: ISO or ``31/05/2024``,
                                 Camunda's format), None when left empty
enum       TypedChoiceField      the value's id, None when left empty
money      MoneyField            text with two decimals, ``"12345.60"`` (exact, never a
                                 float; conditions still compare it: ``amount >= 5000``)
person     PersonField           the chosen person's user name (a picker, never typed)
people     PeopleField           a list of user names
department DepartmentField       the chosen department's code
leave_days LeaveDaysField        the workdays of a leave (2, 2.5), always counted by the
                                 server from the form's dates (``portal.calendar``)
other      CharField             text
========== ===================== ===================================================

The types below ``enum`` are this portal's own (Camunda allows custom form field types);
docs/forms.md describes them for people who draw processes. :func:`display_value` shows a
stored value as people read it (12,345.60; 张伟; 销售部) wherever values are displayed.

Constraints (``camunda:validation``): ``required``; ``minlength``/``maxlength`` (text);
``min``/``max`` (numbers, and ISO dates for a date); ``pattern`` (text, the whole value must
match); ``readonly`` (shown with its current value, never taken from input, never stored).
Other constraint names (Camunda's ``validator`` naming a Java class) are ignored. A constraint
whose configuration cannot be read (``min="abc"``, a broken pattern) refuses every input of
that field with the code ``invalid_definition``: a check that cannot run must not pass.

Input from JSON is read strictly: a check box takes true/false, 1/0 or their texts (``"no"``
is refused, not read as ticked); a list or an object for a one-value field is refused.

:func:`validate_step_data` is the one place that decides which submitted values become
process variables: the step form's editable fields, cleaned, and nothing else.

**Uploads.** :func:`validate_upload` checks an attachment against
``WORKFLOW_ATTACHMENT_MAX_BYTES`` (default 20 MB) and ``WORKFLOW_ATTACHMENT_TYPES`` (file name
extensions, default :data:`DEFAULT_ATTACHMENT_TYPES`), and that its first bytes are what its
extension claims.
"""

from __future__ import annotations

import codecs
import datetime
import re
import unicodedata
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from threading import Lock
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.forms.utils import flatatt
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.datastructures import MultiValueDict
from django.utils.formats import number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from portal import calendar
from portal.models import Department, User
from portal.registry import Registry
from workflow import translation
from workflow.bpmn.expressions import ExpressionError, compile_expression, is_expression
from workflow.bpmn.model import Element, FormField
from workflow.engine.graph import FUNCTIONS
from workflow.money import MAX_AMOUNT, capital, format_amount
from workflow.selectors import people_reads

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


# --- custom step forms, by form key ----------------------------------------------------------


@dataclass(frozen=True)
class RegisteredForm:
    """A Django form class that a user task names with ``camunda:formKey="<key>"``."""

    key: str
    form_class: type[forms.Form]


step_forms: Registry[RegisteredForm] = Registry("step forms")


def register_form(key: str, form_class: type[forms.Form]) -> type[forms.Form]:
    """Make ``form_class`` the form of every user task with ``camunda:formKey="<key>"`` (it
    wins over the task's ``formData``). Call it in ``AppConfig.ready()``. The class takes the
    usual ``data``/``files``/``initial`` arguments; its initial values are the process
    variables named like its fields; its disabled fields are never stored; its cleaned values
    must be JSON-safe or dates, decimals, UUIDs or model instances (stored as their pk).
    Registering a taken key is a programming error (ValueError)."""
    if not (isinstance(form_class, type) and issubclass(form_class, forms.BaseForm)):
        raise TypeError(f"step form {key!r}: {form_class!r} is not a Django form class")
    step_forms.register(RegisteredForm(key, form_class))
    return form_class


def unregister_form(key: str) -> None:
    step_forms.unregister(key)


def registered_form(key: str | None) -> type[forms.Form] | None:
    """The form class registered under ``key``, if any."""
    entry = step_forms.get(key) if key else None
    return entry.form_class if entry is not None else None


# --- forms built from camunda:formData -------------------------------------------------------

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1  # Camunda's ``long`` is a Java long
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]  # ISO (the date widget) and Camunda's own
NUMBER_TYPES = frozenset({"double", "decimal"})


class StepForm(forms.Form):
    """The base of the forms built from ``camunda:formData``. ``applicant``: the user name
    of the person a leave is for (whose balance is checked), when known."""

    applicant: str | None = None

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        # A read-only (disabled) field is cleaned from its current value, which the user cannot
        # change: an odd stored value must not block the step.
        for name, field in self.fields.items():
            if field.disabled:
                self.errors.pop(name, None)
            elif isinstance(field, LeaveDaysField):
                self._count_leave(name, field.leave_fields)
        return cleaned

    def _count_leave(self, name: str, of: LeaveFields) -> None:
        """The days of a leave, counted from the dates whatever was posted; refused when
        the end comes before the start, when no workday is taken, or over the balance."""
        cleaned = self.cleaned_data
        cleaned[name] = None
        start, end = cleaned.get(of.start), cleaned.get(of.end)
        if not isinstance(start, datetime.date) or not isinstance(end, datetime.date):
            return  # the dates' own errors say what is missing
        start_half = cleaned.get(of.start_half) or calendar.AM
        end_half = cleaned.get(of.end_half) or calendar.PM
        try:
            days = calendar.leave_days(start, str(start_half), end, str(end_half))
        except ValidationError as error:
            self.add_error(of.end if of.end in self.fields else name, error)
            return
        if days == 0:
            self.add_error(
                name,
                ValidationError(
                    _("These days are all weekends or public holidays: no leave is needed."),
                    code="no_workday",
                ),
            )
            return
        kind = cleaned.get(of.leave_type)
        if self.applicant and kind:
            balance = calendar.leave_balance(self.applicant, str(kind))
            if balance is not None and days > balance:
                field = self.fields.get(of.leave_type)
                label = dict(getattr(field, "choices", [])).get(kind, kind)
                self.add_error(name, _leave_error(str(label), days, balance))
                return
        cleaned[name] = int(days) if days == days.to_integral() else days


class _SingleValue(forms.Field):
    """JSON input may hold anything: a list or an object is no value for one field (Django
    would turn it into its text, or fail on it)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list | tuple | dict | set):
            raise ValidationError(_("Enter a single value."), code="invalid")
        return super().to_python(value)


class _CharField(_SingleValue, forms.CharField):
    pass


class _IntegerField(_SingleValue, forms.IntegerField):
    pass


class _DecimalField(_SingleValue, forms.DecimalField):
    pass


class _DateField(_SingleValue, forms.DateField):
    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not isinstance(value, str | datetime.date):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


_TRUE = frozenset({"true", "on", "1"})
_FALSE = frozenset({"false", "off", "0", ""})


class _CheckboxInput(forms.CheckboxInput):
    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        # what was sent, for the field to read strictly: Django's box makes True of any
        # other text, so that "0" or "no" from an API client would tick it
        return data.get(name) if name in data else False


class _BooleanField(forms.BooleanField):
    """A check box; from JSON also true/false, 1/0 and their texts. Anything else is refused,
    never read as ticked."""

    widget = _CheckboxInput

    def to_python(self, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValidationError(_("Enter true or false."), code="invalid")


def _invalid_definition(constraint: str) -> Callable[[Any], None]:
    def refuse(value: Any) -> None:
        raise ValidationError(
            _(
                "This field cannot be checked: its rule %(constraint)s in the process "
                "definition is invalid. Ask a process administrator to correct it."
            ),
            code="invalid_definition",
            params={"constraint": constraint},
        )

    return refuse


def _config(field: FormField, name: str) -> str | None:
    """The configuration of constraint ``name`` ("" when given without one), None if absent."""
    if name not in field.validation:
        return None
    return (field.validation[name] or "").strip()


def _number(text: str) -> int | Decimal | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _limits(
    field: FormField, parse: Callable[[str], Any], kwargs: dict[str, Any], validators: list[Any]
) -> None:
    """Put ``min``/``max`` into ``kwargs`` (``min_value``/``max_value``), or a refusing
    validator when the configuration does not parse."""
    for constraint, keyword in (("min", "min_value"), ("max", "max_value")):
        text = _config(field, constraint)
        if text is None:
            continue
        value = parse(text)
        if value is None:
            validators.append(_invalid_definition(constraint))
        else:
            kwargs[keyword] = value


def _iso_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


# --- the portal's own field types: money, people, departments, leave days ----------------------

MONEY, PERSON, PEOPLE, DEPARTMENT, LEAVE_DAYS = (
    "money",
    "person",
    "people",
    "department",
    "leave_days",
)
MAX_PEOPLE = 50  # people one "people" field takes
_MONEY_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# what people paste with an amount: 1,280.00 / ¥1280 / 1280元 / 1 280
_MONEY_NOISE = re.compile(r"[,\s¥￥元]")


class _TemplateWidget(forms.Widget):
    """A widget drawn by a portal template (the form renderer only knows Django's own)."""

    template = ""

    def extra_context(self, name: str, value: Any, attrs: dict[str, Any]) -> dict[str, Any]:
        return {}

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        context = {
            "name": name,
            "value": value,
            "id": final.get("id", ""),
            "disabled": bool(final.get("disabled")),
            "attrs": flatatt({k: v for k, v in final.items() if k not in ("id", "disabled")}),
            **self.extra_context(name, value, final),
        }
        return SafeString(render_to_string(self.template, context))

    class Media:
        css = {"all": ["workflow/forms.css"]}
        js = ["workflow/forms.js"]


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # a project without the workflow's pages
        return ""


class MoneyInput(_TemplateWidget):
    """A text box for an amount in 元 (``inputmode=decimal`` brings up the digits on a
    phone), with the amount as read back under it: 12,345.60 · 壹万贰仟叁佰肆拾伍元陆角整."""

    template = "portal/widgets/_money.html"

    def format_value(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        return str(value)

    def extra_context(self, name: str, value: Any, attrs: dict[str, Any]) -> dict[str, Any]:
        text = self.format_value(value)
        amount = _amount_or_none(text)
        return {
            "text": text,
            "shown": format_amount(amount) if amount is not None else "",
            "words": capital(amount) if amount is not None else "",
        }


def _amount_or_none(value: Any) -> Decimal | None:
    try:
        return _parse_amount(value)
    except ValidationError:
        return None


def _parse_amount(value: Any) -> Decimal | None:
    """An amount typed or sent: 1280, "1,280.5", "¥1280.50", full-width digits; None when
    empty. More than two decimals, text that is no number and JSON's true/false are
    refused, never rounded or guessed."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValidationError(_("Enter an amount in yuan, such as 1280 or 1280.50."), "invalid")
    text = repr(value) if isinstance(value, float) else unicodedata.normalize("NFKC", str(value))
    text = _MONEY_NOISE.sub("", text)
    if not text:
        return None
    if not _MONEY_TEXT.fullmatch(text):
        raise ValidationError(_("Enter an amount in yuan, such as 1280 or 1280.50."), "invalid")
    amount = Decimal(text)
    if -amount.as_tuple().exponent > 2:  # type: ignore[operator]  # finite: an int exponent
        raise ValidationError(
            _("An amount has at most two decimals (jiao and fen)."), code="max_decimal_places"
        )
    return amount


class MoneyField(_SingleValue, forms.Field):
    """An amount in 元 with at most two decimals, from 0 (or the field's ``min``) to
    :data:`workflow.money.MAX_AMOUNT`. Cleaned to text with exactly two decimals
    (``"12345.60"``): exact in JSON, unlike a float."""

    widget = MoneyInput

    def __init__(
        self,
        *,
        min_value: Decimal | int | None = None,
        max_value: Decimal | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.min_value = Decimal(0) if min_value is None else Decimal(min_value)
        self.max_value = MAX_AMOUNT if max_value is None else min(Decimal(max_value), MAX_AMOUNT)

    def to_python(self, value: Any) -> Decimal | None:
        value = super().to_python(value)
        return _parse_amount(value)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        if value > self.max_value:
            raise ValidationError(
                _("The amount cannot be more than %(limit)s."),
                code="max_value",
                params={"limit": format_amount(self.max_value)},
            )
        if value < self.min_value:
            if self.min_value == 0:
                raise ValidationError(_("The amount cannot be negative."), code="min_value")
            raise ValidationError(
                _("The amount cannot be less than %(limit)s."),
                code="min_value",
                params={"limit": format_amount(self.min_value)},
            )

    def clean(self, value: Any) -> str | None:
        amount = super().clean(value)
        return None if amount is None else f"{amount:.2f}"


# --- people and departments: chosen in a picker, stored by user name / code ------------------


def _departments(codes: Iterable[str]) -> dict[str, Department]:
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return {d.code: d for d in Department.objects.filter(code__in=wanted)}


@dataclass(frozen=True)
class Chosen:
    """One chosen person or department as the picker shows it."""

    value: str
    label: str
    detail: str = ""


class PickerInput(_TemplateWidget):
    """A search box that finds people (by name, user name or employee number) or
    departments as one types, and the chosen ones as chips with ✕, each posting a hidden
    field with its user name or code. ``kind``: ``person``, ``people`` or ``department``."""

    template = "portal/widgets/_picker.html"

    def __init__(self, kind: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.kind = kind

    @property
    def multiple(self) -> bool:
        return self.kind == PEOPLE

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if not self.multiple:
            return data.get(name)
        if hasattr(data, "getlist"):
            values = data.getlist(name)
            return values if values else None
        return data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data

    def _values(self, value: Any) -> list[str]:
        if value is None or value == "":
            return []
        if isinstance(value, list | tuple):
            return [str(v) for v in value if v not in (None, "")]
        return [str(value)]

    def extra_context(self, name: str, value: Any, attrs: dict[str, Any]) -> dict[str, Any]:
        values = self._values(value)
        chosen: list[Chosen] = []
        if self.kind == DEPARTMENT:
            departments = _departments(values)
            for code in values:
                department = departments.get(code)
                chosen.append(Chosen(code, str(department) if department else code))
            search_url = _url("workflow:form_departments")
            placeholder = _("Type a department's name or code")
        else:
            people = people_reads.users_named(values)
            for username in values:
                person = people.get(username)
                if person is None:
                    chosen.append(Chosen(username, username))
                else:
                    unit = str(person.department) if person.department else ""
                    chosen.append(Chosen(username, person.display_name, unit))
            search_url = _url("workflow:people")
            placeholder = _("Type a name, user name or employee number")
        return {
            "kind": self.kind,
            "multiple": self.multiple,
            "chosen": chosen,
            "search_url": search_url,
            "placeholder": placeholder,
        }


class PersonField(_SingleValue, forms.Field):
    """One active person, chosen in the picker: cleaned to their user name. An API client
    may send the user name or the employee number; nobody else is taken."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", PickerInput(PERSON))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            raise ValidationError(_("Choose a person from the list."), code="invalid")
        return value.strip() or None

    def validate(self, value: Any) -> None:
        super().validate(value)

    def clean(self, value: Any) -> str | None:
        text = super().clean(value)
        if text is None:
            return None
        return _active_person(text)


def _active_person(text: str) -> str:
    found = (
        User.objects.filter(is_active=True)
        .filter(models.Q(username=text) | models.Q(employee_no__iexact=text))
        .order_by("pk")
        .values_list("username", flat=True)
        .first()
    )
    if found is None:
        raise ValidationError(
            _("Nobody active is called %(name)s."), code="unknown_person", params={"name": text}
        )
    return found


class PeopleField(forms.Field):
    """Several active people, chosen in the picker: cleaned to their user names (in the
    order chosen, each once). From JSON a list, or text separated by commas."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", PickerInput(PEOPLE))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        if value in self.empty_values:
            return []
        if isinstance(value, str):
            items: list[Any] = re.split(r"[\s,;，、；]+", value)
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise ValidationError(_("Choose people from the list."), code="invalid")
        if not all(isinstance(item, str) for item in items):
            raise ValidationError(_("Choose people from the list."), code="invalid")
        names = [item.strip() for item in items if item.strip()]
        if len(names) > MAX_PEOPLE:
            raise ValidationError(
                _("Choose at most %(count)s people."), code="too_many", params={"count": MAX_PEOPLE}
            )
        return names

    def clean(self, value: Any) -> list[str]:
        names: list[str] = super().clean(value)
        usernames: list[str] = []
        unknown: list[str] = []
        for name in names:
            try:
                usernames.append(_active_person(name))
            except ValidationError:
                unknown.append(name)
        if unknown:
            raise ValidationError(
                _("Nobody active is called %(name)s."),
                code="unknown_person",
                params={"name": "、".join(unknown)},
            )
        return list(dict.fromkeys(usernames))


class DepartmentField(_SingleValue, forms.Field):
    """One active department, chosen in the picker: cleaned to its code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", PickerInput(DEPARTMENT))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            raise ValidationError(_("Choose a department from the list."), code="invalid")
        return value.strip() or None

    def clean(self, value: Any) -> str | None:
        code = super().clean(value)
        if code is None:
            return None
        if not Department.objects.filter(code=code, is_active=True).exists():
            raise ValidationError(
                _("There is no active department %(code)s."),
                code="unknown_department",
                params={"code": code},
            )
        return str(code)


# --- leave days: counted by the server from the form's dates ---------------------------------


@dataclass(frozen=True)
class LeaveFields:
    """The fields of the form a ``leave_days`` field counts from (its ``camunda:properties``
    ``start``, ``start_half``, ``end``, ``end_half`` and ``leave_type`` name them; these are
    the defaults)."""

    start: str = "start_date"
    start_half: str = "start_half"
    end: str = "end_date"
    end_half: str = "end_half"
    leave_type: str = "leave_type"

    @classmethod
    def of(cls, field: FormField) -> LeaveFields:
        names = {k: v.strip() for k, v in field.properties.items() if v and v.strip()}
        return cls(**{k: names[k] for k in cls.__dataclass_fields__ if k in names})


class LeaveDaysInput(_TemplateWidget):
    """The days a leave takes, shown (read-only) and counted again as the dates change; the
    balance of the chosen kind of leave beside it."""

    template = "portal/widgets/_leave_days.html"

    def __init__(self, fields: LeaveFields, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.fields = fields

    def extra_context(self, name: str, value: Any, attrs: dict[str, Any]) -> dict[str, Any]:
        return {
            "text": "" if value in (None, "") else _days_text(value),
            "url": _url("workflow:form_leave_days"),
            "fields": self.fields,
        }


def _days_text(value: Any) -> str:
    try:
        days = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return number_format(days.normalize() if days == days.to_integral() else days)


class LeaveDaysField(forms.Field):
    """The workdays of a leave. Whatever is posted is ignored: :class:`StepForm` counts the
    days from the form's dates and halves (:func:`portal.calendar.leave_days`) and refuses a
    leave longer than the person's balance of that kind, where the HR data has one."""

    def __init__(self, *, leave_fields: LeaveFields, **kwargs: Any) -> None:
        kwargs["required"] = False  # counted, never typed: the dates are what is required
        kwargs.setdefault("widget", LeaveDaysInput(leave_fields))
        super().__init__(**kwargs)
        self.leave_fields = leave_fields

    def to_python(self, value: Any) -> None:
        return None


def _leave_error(kind: str, days: Decimal, balance: Decimal) -> ValidationError:
    return ValidationError(
        _(
            "This leave takes %(days)s days but only %(balance)s days of %(kind)s are left. "
            "Shorten it or choose another kind of leave."
        ),
        code="over_balance",
        params={"days": _days_text(days), "balance": _days_text(balance), "kind": kind},
    )


PORTAL_TYPES = frozenset({MONEY, PERSON, PEOPLE, DEPARTMENT, LEAVE_DAYS})


def _portal_field(
    kind: str, field: FormField, kwargs: dict[str, Any], validators: list[Any]
) -> forms.Field:
    """The field of one of the portal's own types (:data:`PORTAL_TYPES`)."""
    if kind == MONEY:
        _limits(field, _amount_or_none, kwargs, validators)
        return MoneyField(**kwargs)
    if kind == PERSON:
        return PersonField(**kwargs)
    if kind == PEOPLE:
        return PeopleField(**kwargs)
    if kind == DEPARTMENT:
        return DepartmentField(**kwargs)
    return LeaveDaysField(leave_fields=LeaveFields.of(field), **kwargs)


def _form_field(field: FormField) -> forms.Field:  # noqa: C901 - one branch per BPMN form type
    """The Django field for one ``camunda:formField``."""
    readonly = field.readonly
    kwargs: dict[str, Any] = {
        "label": field.label or field.id,
        "required": field.required and not readonly,
        "disabled": readonly,
    }
    validators: list[Any] = []
    kind = field.type.strip().lower()
    form_field: forms.Field
    if kind == "long":
        _limits(field, _number, kwargs, validators)
        validators += [MinValueValidator(LONG_MIN), MaxValueValidator(LONG_MAX)]
        form_field = _IntegerField(**kwargs)
    elif kind in NUMBER_TYPES:
        _limits(field, _number, kwargs, validators)
        form_field = _DecimalField(**kwargs)
    elif kind in PORTAL_TYPES:
        form_field = _portal_field(kind, field, kwargs, validators)
    elif kind == "boolean":
        form_field = _BooleanField(**kwargs)
    elif kind == "date":
        _limits(field, _iso_date, kwargs, validators)
        attrs = {"type": "date"}
        for keyword, attr in (("min_value", "min"), ("max_value", "max")):
            if keyword in kwargs:
                limit = kwargs.pop(keyword)
                attrs[attr] = limit.isoformat()
                validators.append(
                    (MinValueValidator if attr == "min" else MaxValueValidator)(limit)
                )
        form_field = _DateField(
            input_formats=DATE_INPUT_FORMATS,
            widget=forms.DateInput(attrs=attrs, format="%Y-%m-%d"),
            **kwargs,
        )
    elif kind == "enum":
        form_field = forms.TypedChoiceField(
            choices=[("", "---------"), *field.enum_values],
            coerce=str,
            empty_value=None,
            **kwargs,
        )
    else:  # string and custom types
        for constraint, keyword in (("minlength", "min_length"), ("maxlength", "max_length")):
            text = _config(field, constraint)
            if text is None:
                continue
            if re.fullmatch(r"[0-9]+", text):
                kwargs[keyword] = int(text)
            else:
                validators.append(_invalid_definition(constraint))
        pattern = _config(field, "pattern")
        if pattern:
            try:
                validators.append(RegexValidator(re.compile(rf"\A(?:{pattern})\Z")))
            except re.error:
                validators.append(_invalid_definition("pattern"))
        form_field = _CharField(**kwargs)
        if pattern:
            form_field.widget.attrs["pattern"] = pattern
    if not readonly:
        form_field.validators.extend(validators)
    return form_field


def _build_form_class(element: Element) -> type[forms.Form]:
    fields = {f.id: _form_field(f) for f in element.form_fields if f.id}
    return type(f"StepForm_{element.id}", (StepForm,), fields)


_CACHE_SIZE = 1024
# By element identity: a parsed Element is immutable but not hashable (it holds mappings).
# The entry keeps its element alive, so its id cannot be reused by another element meanwhile.
_form_classes: OrderedDict[int, tuple[Element, type[forms.Form]]] = OrderedDict()
_cache_lock = Lock()


def _form_data_class(element: Element) -> type[forms.Form]:
    key = id(element)
    with _cache_lock:
        cached = _form_classes.get(key)
        if cached is not None and cached[0] is element:
            _form_classes.move_to_end(key)
            return cached[1]
    form_class = _build_form_class(element)
    with _cache_lock:
        _form_classes[key] = (element, form_class)
        while len(_form_classes) > _CACHE_SIZE:
            _form_classes.popitem(last=False)
    return form_class


def task_form_class(element: Element) -> type[forms.Form]:
    """The form class of a user task (or start event): the class registered under its
    ``camunda:formKey``, else one made of its ``camunda:formData`` fields (with no fields when
    it has none)."""
    return registered_form(element.form_key) or _form_data_class(element)


def has_step_form(element: Element) -> bool:
    """Whether the step has a form: a registered form key or ``formData`` fields."""
    return registered_form(element.form_key) is not None or bool(element.form_fields)


@lru_cache(maxsize=512)
def _compiled(text: str) -> Any:
    return compile_expression(text)


_ABSENT = object()


def _typed(form_field: forms.Field, value: Any) -> Any:
    """``value`` as the field's Python type (``"true"`` -> True for a check box), or _ABSENT."""
    try:
        return form_field.to_python(value)
    except ValidationError:
        return _ABSENT


def _default(field: FormField, form_field: forms.Field, variables: Mapping[str, Any]) -> Any:
    text = field.default
    if text is None:
        return _ABSENT
    if is_expression(text):
        try:
            value = _compiled(text).evaluate(variables, FUNCTIONS)
        except ExpressionError:
            return _ABSENT
        if value is None:
            return _ABSENT
    else:
        value = text
    return _typed(form_field, value)


def _initial(
    element: Element, form_class: type[forms.Form], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """Each field's current value: the process variable of its name when it holds one, else
    its default, a literal or an expression. A default that cannot be evaluated or read gives
    no initial value."""
    initial: dict[str, Any] = {}
    for field in element.form_fields:
        form_field = form_class.base_fields.get(field.id)
        if form_field is None:
            continue
        if variables.get(field.id) is not None:
            raw = variables[field.id]
            value = _typed(form_field, raw)
            initial[field.id] = raw if value is _ABSENT else value
        else:
            value = _default(field, form_field, variables)
            if value is not _ABSENT and value is not None:
                initial[field.id] = value
    return initial


def form_for(
    element: Element,
    *,
    variables: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    files: MultiValueDict[str, UploadedFile[bytes]] | None = None,
    user: User | None = None,
) -> forms.Form:
    """The step's form (:func:`task_form_class`), bound when ``data`` is given. Initial
    values: the process variable named like the field when it holds a value, else (fields
    from ``formData``) the field's default. A field missing from ``data`` is empty, as in an
    HTML form (an unticked check box is not sent). Whose leave balance a ``leave_days``
    field checks: the process's ``initiator``, else ``user`` (the person starting it)."""
    custom = registered_form(element.form_key)
    if custom is not None:
        initial = {
            name: variables[name] for name in custom.base_fields if variables.get(name) is not None
        }
        return custom(data=data, files=files, initial=initial)
    form_class = _form_data_class(element)
    form = form_class(data=data, files=files, initial=_initial(element, form_class, variables))
    if isinstance(form, StepForm):
        initiator = variables.get("initiator")
        form.applicant = initiator if isinstance(initiator, str) and initiator else None
        if form.applicant is None and user is not None:
            form.applicant = user.username
    return form


def json_value(value: Any) -> Any:
    """A cleaned form value as a process variable (JSON): dates and times as ISO text,
    decimals as floats, UUIDs as text, model instances as their pk, collections as lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return json_value(value.pk)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, bytes | File):
        return [json_value(v) for v in value]
    raise TypeError(
        f"a form value of type {type(value).__name__} cannot be a process variable; "
        "convert it in the form's clean()"
    )


def _kind(field: FormField | None) -> str:
    return field.type.strip().lower() if field is not None else ""


def display_value(field: FormField | None, value: Any, *, process_key: str = "") -> str:
    """A stored value as people read it, for every place that shows one (the request's data,
    the printout): an amount with thousands separators (12,345.60), a person by name, several
    people as 张伟、李娜, a department by name, an option by its name (in the reader's
    language where the process ``process_key`` translates it), yes/no, whole numbers
    grouped; ``—`` for nothing. ``field`` is the form field that stored it, if known."""
    if value is None or value == "" or value == []:
        return "—"
    kind = _kind(field)
    if kind == MONEY:
        return format_amount(value)
    if kind in (PERSON, PEOPLE):
        names = [str(v) for v in (value if isinstance(value, list) else [value])]
        people = people_reads.users_named(names)
        return "、".join(people[n].display_name if n in people else n for n in names)
    if kind == DEPARTMENT and isinstance(value, str):
        department = _departments([value]).get(value)
        return str(department) if department is not None else value
    return _plain_display(field, value, process_key)


def _plain_display(field: FormField | None, value: Any, process_key: str) -> str:
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if field is not None and field.enum_values:
        names_by_id = dict(field.enum_values)
        if isinstance(value, str) and value in names_by_id:
            if process_key:
                return translation.option_label(process_key, field.id, value, names_by_id[value])
            return names_by_id[value]
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return "、".join(display_value(None, v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {display_value(None, v)}" for k, v in value.items())
    return str(value)


def step_fields(element: Element, posted: QueryDict) -> QueryDict:
    """The step form's fields of a posted page (a page posts more than its step form: the
    CSRF token, the title, the action's own fields); what :func:`validate_step_data` gets
    from a page."""
    kept = QueryDict(mutable=True)
    if not has_step_form(element):
        return kept
    for name in form_for(element, variables={}).fields:
        if name in posted:
            kept.setlist(name, posted.getlist(name))
    return kept


def validate_step_data(
    element: Element,
    *,
    variables: Mapping[str, Any],
    data: Mapping[str, Any] | None,
    user: User | None = None,
) -> dict[str, Any]:
    """The process variables that submitting ``data`` at this step sets: the one gate
    between what a caller sends (a page, the API, a draft, the demo) and the variables that
    conditions and participant rules read.

    Every key of ``data`` must be a field of the step's form; any other key (and any key at
    all at a step without a form) is a field error and nothing is set, so a caller cannot
    write a variable the process did not ask for (``amount`` at an approval step,
    ``initiator``). With a form, ``data`` is validated by it; on errors ``ValidationError``
    with a dict of field name -> errors (codes kept: ``required``, ``min_value``,
    ``invalid_choice`` ...). Only the form's editable fields are returned, cleaned and
    JSON-safe (:func:`json_value`): a read-only field's value is never taken. ``user``:
    the person submitting (see :func:`form_for`, for a leave's balance)."""
    data = data or {}
    fields = form_for(element, variables=variables).fields if has_step_form(element) else {}
    unknown = [str(name) for name in data if name not in fields]
    if unknown:
        raise ValidationError(
            {
                name: [ValidationError(_("Not a field of this step's form."), code="unknown")]
                for name in unknown[:20]
            }
        )
    if not fields:
        return {}
    form = form_for(element, variables=variables, data=data, user=user)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return {
        name: json_value(form.cleaned_data[name])
        for name, field in form.fields.items()
        if not field.disabled and name in form.cleaned_data
    }


# --- uploads ---------------------------------------------------------------------------------

DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_ATTACHMENT_TYPES = (
    "pdf",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "webp",
    "docx",
    "xlsx",
    "pptx",
    "doc",
    "xls",
    "txt",
    "csv",
    "zip",
)
MAX_FILENAME_LENGTH = 100  # characters; the extension is kept when a name is shortened
SNIFF_BYTES = 8192

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "txt": "text/plain",
    "csv": "text/csv",
    "zip": "application/zip",
}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive
# ASCII control characters that text does not contain (tab, line breaks, form feed and escape
# may appear); ^Z is among them, which refuses even the bare signature of a PNG
_CONTROL = bytes([*range(0, 9), *range(14, 27), *range(28, 32)])


def _zip_names(upload: Any) -> list[str] | None:
    try:
        with zipfile.ZipFile(upload) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        upload.seek(0)


def _office_open_xml(folder: str) -> Callable[[bytes, Any], bool]:
    def check(head: bytes, upload: Any) -> bool:
        if not head.startswith(_ZIP[0]):
            return False
        names = _zip_names(upload)
        return (
            names is not None
            and "[Content_Types].xml" in names
            and any(n.startswith(folder) for n in names)
        )

    return check


def _decodes(head: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _is_text(head: bytes, upload: Any) -> bool:
    """UTF-16 with a byte-order mark, or UTF-8 / GB18030 (what Excel writes on a Chinese
    Windows) without control characters."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decodes(head, "utf-16")
    if head.translate(None, _CONTROL) != head:
        return False
    return _decodes(head, "utf-8") or _decodes(head, "gb18030")


def _starts(*signatures: bytes) -> Callable[[bytes, Any], bool]:
    return lambda head, upload: head.startswith(signatures)


_SNIFFERS: dict[str, Callable[[bytes, Any], bool]] = {
    "pdf": _starts(b"%PDF-"),
    "png": _starts(b"\x89PNG\r\n\x1a\n"),
    "jpg": _starts(b"\xff\xd8\xff"),
    "jpeg": _starts(b"\xff\xd8\xff"),
    "gif": _starts(b"GIF87a", b"GIF89a"),
    "webp": lambda head, upload: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "docx": _office_open_xml("word/"),
    "xlsx": _office_open_xml("xl/"),
    "pptx": _office_open_xml("ppt/"),
    "doc": _starts(_OLE),
    "xls": _starts(_OLE),
    "txt": _is_text,
    "csv": _is_text,
    "zip": _starts(*_ZIP),
}

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
)
_UNSAFE_CHARACTERS = re.compile(r'[<>:"/\\|?*]')


def safe_filename(name: str) -> str:
    """A file name safe to store and to offer for download: the last part of any path
    (``/`` or ``\\``), without control characters and characters Windows refuses, no leading
    dots, at most :data:`MAX_FILENAME_LENGTH` characters (the extension kept); ``file`` when
    nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE_CHARACTERS.sub("_", name)
    name = " ".join(name.split())
    name = name.lstrip(". ").rstrip(". ")
    if not name:
        return "file"
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if stem.upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    if len(extension) > 16:  # not an extension worth keeping whole
        stem, extension = name, ""
        dot = ""
    room = MAX_FILENAME_LENGTH - len(dot) - len(extension)
    return f"{stem[:room].rstrip('. ')}{dot}{extension}"


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def attachment_types() -> list[str]:
    """The extensions an attachment may have (``WORKFLOW_ATTACHMENT_TYPES``), lower case."""
    configured = getattr(settings, "WORKFLOW_ATTACHMENT_TYPES", DEFAULT_ATTACHMENT_TYPES)
    return [t.strip().lower().lstrip(".") for t in configured if t.strip()]


def attachment_max_bytes() -> int:
    return int(getattr(settings, "WORKFLOW_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES))


def attachment_content_type(name: str) -> str:
    """The content type to store and serve for an attachment, from its (checked) extension,
    never from what the browser claimed."""
    return CONTENT_TYPES.get(_extension(name), "application/octet-stream")


def validate_upload(upload: File[bytes]) -> None:
    """Refuse (``ValidationError``) an attachment that is empty (code ``empty``), larger than
    ``WORKFLOW_ATTACHMENT_MAX_BYTES`` (``too_large``), of a type not in
    ``WORKFLOW_ATTACHMENT_TYPES`` (``file_type``), or whose first bytes are not what its
    extension claims (``content_mismatch``: an ``.exe`` renamed ``.pdf``). Extensions added to
    the setting that this module has no signature for are checked by name only."""
    name = safe_filename(upload.name or "")
    size = upload.size or 0
    if size <= 0:
        raise ValidationError(_("The file %(name)s is empty."), code="empty", params={"name": name})
    limit = attachment_max_bytes()
    if size > limit:
        raise ValidationError(
            _("The file %(name)s is %(size)s; the limit is %(limit)s."),
            code="too_large",
            params={"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)},
        )
    allowed = attachment_types()
    extension = _extension(name)
    if extension not in allowed:
        raise ValidationError(
            _("Files of this type (%(name)s) cannot be attached. Allowed: %(allowed)s."),
            code="file_type",
            params={"name": name, "allowed": ", ".join(allowed)},
        )
    sniff = _SNIFFERS.get(extension)
    if sniff is None:
        return
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not sniff(head, upload):
        raise ValidationError(
            _("The content of %(name)s is not a %(extension)s file."),
            code="content_mismatch",
            params={"name": name, "extension": extension.upper()},
        )


# --- forms for the views -----------------------------------------------------------------------

MAX_COMMENT_LENGTH = 4000


class AttachmentForm(forms.Form):
    """One attachment. The service (``attachment_add``) checks the upload again: the API
    reaches it without this form."""

    file = forms.FileField(label=_("File"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ",".join(f".{t}" for t in attachment_types())

    def clean_file(self) -> File[bytes]:
        upload: File[bytes] = self.cleaned_data["file"]
        validate_upload(upload)
        upload.name = safe_filename(upload.name or "")
        return upload


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Comment"),
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReasonForm(forms.Form):
    """The reason an instance is cancelled or terminated, or a step rejected."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
