"""The generic HTTP adapter's configuration (``erp_bridge/adapters/http.py``): how the
portal reaches an ERP that speaks JSON over HTTP (Kingdee 金蝶, Yonyou 用友, an SAP
gateway), kept by an administrator in the admin.

An ``HttpConnection`` is one ERP: its base URL, its OAuth2 client-credentials token endpoint
and client id, the NAME of the environment variable that holds the client secret (the secret
itself is never stored), the time-out and how often a read is retried. At most one
connection is active; ``HttpGateway.from_settings()`` serves through it.

An ``HttpOperation`` says how one gateway operation (``products``, ``sales_order_create``
...) is called: the HTTP method and path (``/k3cloud/orders/{reference}``), the request and
response **mappings** ``{"their field": "our field"}`` between the ERP's JSON and the
gateway's records (``erp_bridge/gateway.py``), where the record or list sits in the answer,
and how the ERP says "refused" (a field such as ``errcode`` that is not ``0``, with its
text at ``errmsg``).

Paths in a mapping (the grammar both sides share, checked at save):

- their side: JSON keys joined by dots, ``Model.FCustId.FNumber``; one key may end in
  ``[]`` to stand for every element of a list, ``Model.FSaleOrderEntry[].FQty``;
- our side: a field of the operation's record, ``customer_code``, or for a record's list
  of lines ``lines[].quantity``; a ``[]`` on one side needs one on the other.

A read operation's request mapping names its parameters (``reference``,
``order_reference``, ``cost_centre``, ``year``): a GET sends them (and the fixed request
fields) as flat query parameters, a POST as its JSON body. Amounts (``Decimal``) are sent
as JSON strings (``"12.50"``, no precision lost; the default) or, where the ERP insists,
as JSON numbers (``decimal_format = "number"``), refused if the amount would not survive as a float.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from erp_bridge import gateway as g

__all__ = ["HttpConnection", "HttpOperation"]

MIN_TIMEOUT = 0.1  # seconds
MAX_TIMEOUT = 120.0
MAX_READ_RETRIES = 10

# the codes ErpError carries (erp_bridge/gateway.py) that an ERP's own code may be mapped to
ERROR_CODES = ("unknown_product", "closed_period", "unknown_customer", "duplicate", "invalid")

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY = r"[^.\[\]{}]+"
_THEIR_PATH = re.compile(rf"^{_KEY}(\[\])?(\.{_KEY}(\[\])?)*$")
_RESULT_PATH = re.compile(rf"^({_KEY}(\.{_KEY})*)?$")
# headers that carry credentials: the adapter sets Authorization itself, from the token
_SECRET_HEADER = re.compile(r"authorization|cookie|secret|token|password|api[-_]?key", re.I)


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One gateway operation as the HTTP adapter sees it: a write sends ``request`` (a
    record) once with an idempotency key; a read sends ``params`` and may be retried; the
    answer is one ``response`` record, or a list of them when ``many``."""

    name: str
    label: Promise
    write: bool
    response: type
    many: bool = False
    request: type | None = None
    params: Mapping[str, type] = dataclasses.field(default_factory=dict)


OPERATIONS: dict[str, OperationSpec] = {
    spec.name: spec
    for spec in (
        OperationSpec("products", _("Products"), False, g.Product, many=True),
        OperationSpec("price_lists", _("Price lists"), False, g.PriceList, many=True),
        OperationSpec("customers", _("Customers"), False, g.Customer, many=True),
        OperationSpec("employees", _("Employees"), False, g.Employee, many=True),
        OperationSpec("departments", _("Departments"), False, g.Department, many=True),
        OperationSpec(
            "customer_upsert",
            _("Create or update a customer"),
            True,
            g.Customer,
            request=g.Customer,
        ),
        OperationSpec(
            "sales_order_create",
            _("Create a sales order"),
            True,
            g.SalesOrderStatus,
            request=g.SalesOrder,
        ),
        OperationSpec(
            "expense_post", _("Post an expense"), True, g.Posting, request=g.ExpensePosting
        ),
        OperationSpec(
            "employee_create", _("Create an employee"), True, g.Employee, request=g.Employee
        ),
        OperationSpec(
            "department_upsert",
            _("Create or update a department"),
            True,
            g.Department,
            request=g.Department,
        ),
        OperationSpec(
            "sales_order_status",
            _("A sales order's status"),
            False,
            g.SalesOrderStatus,
            params={"reference": str},
        ),
        OperationSpec(
            "invoices",
            _("A sales order's invoices"),
            False,
            g.Invoice,
            many=True,
            params={"order_reference": str},
        ),
        OperationSpec(
            "budget",
            _("A cost centre's budget"),
            False,
            g.Budget,
            params={"cost_centre": str, "year": int},
        ),
    )
}

# the operations whose answer lists records with no parameters: what "test connection" reads
PLAIN_READS = ("products", "customers", "departments", "employees", "price_lists")


def record_types(record: type) -> dict[str, Any]:
    """The fields of a gateway record and their (resolved) types, in declaration order."""
    hints = typing.get_type_hints(record)
    return {f.name: hints[f.name] for f in dataclasses.fields(record)}


def line_type(annotation: Any) -> type | None:
    """The record type of a list of lines (``tuple[SalesOrderLine, ...]``), else None."""
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if args and dataclasses.is_dataclass(args[0]):
            return args[0]  # type: ignore[return-value]
    return None


def required_fields(record: type) -> set[str]:
    """The fields a record cannot be built without (no default)."""
    return {
        f.name
        for f in dataclasses.fields(record)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }


def split_our_path(path: str) -> tuple[str, str]:
    """``"lines[].quantity"`` -> ``("lines", "quantity")``; ``"code"`` -> ``("code", "")``."""
    if "[]." in path:
        head, _sep, sub = path.partition("[].")
        return head, sub
    return path, ""


def our_path_error(path: Any, fields: Mapping[str, Any], record_name: str) -> str:
    """Why ``path`` names no field of the record (an empty string when it does)."""
    if not isinstance(path, str) or not path:
        return str(_("%(path)r is not a field name.") % {"path": path})
    head, sub = split_our_path(path)
    if head not in fields:
        return str(_("%(record)s has no field %(field)r.") % {"record": record_name, "field": head})
    lines = line_type(fields[head])
    if lines is None and (sub or path.endswith("[]")):
        return str(_("%(field)r is not a list of lines.") % {"field": head})
    if lines is not None:
        line_fields = record_types(lines)
        if not sub:
            return str(
                _("Map the lines' fields one by one, as %(example)r.")
                % {"example": f"{head}[].{next(iter(line_fields))}"}
            )
        if sub not in line_fields:
            return str(
                _("%(record)s has no field %(field)r.") % {"record": lines.__name__, "field": sub}
            )
    return ""


def _is_string_object(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _url_error(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return str(_("Enter an http:// or https:// address with a host name."))
    if parts.username or parts.password:
        return str(_("Credentials do not belong in the address: use the client secret's variable."))
    return ""


class HttpConnection(models.Model):
    """One ERP reached over HTTP. At most one is active (a partial unique constraint): the
    one ``HttpGateway.from_settings()`` serves through. The client secret is read at call
    time from the environment variable ``client_secret_env`` names; it is never stored."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    base_url = models.CharField(
        _("base URL"),
        max_length=500,
        help_text=_("The ERP gateway's address, e.g. https://erp.example.com/api"),
    )
    token_url = models.CharField(
        _("token URL"),
        max_length=500,
        blank=True,
        help_text=_(
            "The OAuth2 client-credentials token endpoint; empty when the ERP needs no token."
        ),
    )
    client_id = models.CharField(_("client id"), max_length=200, blank=True)
    client_secret_env = models.CharField(
        _("client secret's environment variable"),
        max_length=100,
        blank=True,
        help_text=_(
            "The NAME of the environment variable that holds the client secret (e.g. "
            "ERP_CLIENT_SECRET), never the secret itself."
        ),
    )
    scope = models.CharField(_("scope"), max_length=200, blank=True)
    timeout_seconds = models.FloatField(
        _("time-out (seconds)"),
        default=10.0,
        validators=[MinValueValidator(MIN_TIMEOUT), MaxValueValidator(MAX_TIMEOUT)],
    )
    read_retries = models.PositiveSmallIntegerField(
        _("retries of a read"),
        default=2,
        validators=[MaxValueValidator(MAX_READ_RETRIES)],
        help_text=_(
            "How often a read is tried again after a network error or a 5xx answer. Writes "
            "are sent once per delivery; the outbox retries them with the same idempotency key."
        ),
    )
    extra_headers = models.JSONField(
        _("extra headers"),
        default=dict,
        blank=True,
        help_text=_('Sent with every call, e.g. {"X-Acct-Id": "1001"}; no credentials here.'),
    )
    error_codes = models.JSONField(
        _("error codes"),
        default=dict,
        blank=True,
        help_text=_(
            'The ERP\'s own error codes and what they mean, e.g. {"MATERIAL_NOT_EXIST": '
            '"unknown_product"}, on top of the built-in table.'
        ),
    )
    active = models.BooleanField(_("active"), default=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("HTTP ERP connection")
        verbose_name_plural = _("HTTP ERP connections")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"],
                condition=Q(active=True),
                name="erp_bridge_one_active_http_connection",
                violation_error_message=_("Another HTTP connection is already active."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse an address without http(s) and a host, a secret variable that is not a
        valid name or not set, a time-out out of range, headers that are not text or carry
        credentials, an error table naming an unknown code, a second active connection;
        each naming its field."""
        errors = {**self._address_errors(), **self._credential_errors(), **self._json_errors()}
        if not isinstance(self.timeout_seconds, (int, float)) or not (
            MIN_TIMEOUT <= self.timeout_seconds <= MAX_TIMEOUT
        ):
            errors["timeout_seconds"] = str(
                _("Between %(low)s and %(high)s seconds.")
                % {"low": MIN_TIMEOUT, "high": MAX_TIMEOUT}
            )
        if self.active and HttpConnection.objects.filter(active=True).exclude(pk=self.pk).exists():
            errors["active"] = str(_("Another HTTP connection is already active."))
        if errors:
            raise ValidationError(errors)

    def _address_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if message := _url_error(self.base_url):
            errors["base_url"] = message
        if self.token_url and (message := _url_error(self.token_url)):
            errors["token_url"] = message
        return errors

    def _credential_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.token_url and not self.client_id:
            errors["client_id"] = str(_("A token URL needs the client id."))
        if self.token_url and not self.client_secret_env:
            errors["client_secret_env"] = str(
                _("A token URL needs the client secret's environment variable.")
            )
        elif self.client_secret_env and not _ENV_NAME.match(self.client_secret_env):
            errors["client_secret_env"] = str(
                _("%(name)r is not an environment variable name (letters, digits, _).")
                % {"name": self.client_secret_env}
            )
        elif self.client_secret_env and not os.environ.get(self.client_secret_env):
            errors["client_secret_env"] = str(
                _("The environment variable %(name)s is not set on this server.")
                % {"name": self.client_secret_env}
            )
        return errors

    def _json_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not _is_string_object(self.extra_headers):
            errors["extra_headers"] = str(_('A JSON object of texts, e.g. {"X-Acct-Id": "1001"}.'))
        elif secret := next((h for h in self.extra_headers if _SECRET_HEADER.search(h)), None):
            errors["extra_headers"] = str(
                _("%(header)r would carry a credential: credentials come from the environment.")
                % {"header": secret}
            )
        if not _is_string_object(self.error_codes):
            errors["error_codes"] = str(_("A JSON object of texts."))
        elif bad := next((v for v in self.error_codes.values() if v not in ERROR_CODES), None):
            errors["error_codes"] = str(
                _("%(code)r is not one of %(codes)s.")
                % {"code": bad, "codes": ", ".join(ERROR_CODES)}
            )
        return errors


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"
    PUT = "PUT", "PUT"
    PATCH = "PATCH", "PATCH"


class DecimalFormat(models.TextChoices):
    STRING = "string", _('as text ("12.50")')
    NUMBER = "number", _("as a JSON number (12.5)")


class HttpOperation(models.Model):
    """How one gateway operation is called on the connection's ERP (one row per operation
    and connection). Everything is checked against the gateway's record types at save, so a
    typo in a field name is refused here, not found by the outbox at night."""

    connection = models.ForeignKey(
        HttpConnection,
        verbose_name=_("connection"),
        on_delete=models.CASCADE,
        related_name="operations",
    )
    operation = models.CharField(
        _("operation"),
        max_length=32,
        choices=[(name, spec.label) for name, spec in OPERATIONS.items()],
    )
    method = models.CharField(
        _("HTTP method"), max_length=6, choices=HttpMethod.choices, default=HttpMethod.GET
    )
    path = models.CharField(
        _("path"),
        max_length=300,
        help_text=_(
            "Appended to the base URL; {placeholders} name the record's fields or the read's "
            "parameters, e.g. /k3cloud/orders/{reference}"
        ),
    )
    request_mapping = models.JSONField(
        _("request mapping"),
        default=dict,
        blank=True,
        help_text=_(
            '{"their field": "our field"}, e.g. {"Model.FCustId.FNumber": "customer_code"}'
        ),
    )
    response_mapping = models.JSONField(
        _("response mapping"),
        default=dict,
        blank=True,
        help_text=_('{"their field": "our field"}, e.g. {"FNumber": "code", "FName": "name"}'),
    )
    request_constants = models.JSONField(
        _("fixed request fields"),
        default=dict,
        blank=True,
        help_text=_('Sent with every request of this operation, e.g. {"FormId": "SAL_SaleOrder"}'),
    )
    value_map = models.JSONField(
        _("value translations"),
        default=dict,
        blank=True,
        help_text=_(
            'Their values for our field\'s values, e.g. {"state": {"A": "draft", "C": '
            '"confirmed"}}; the same table translates what we send.'
        ),
    )
    result_path = models.CharField(
        _("where the result is"),
        max_length=200,
        blank=True,
        help_text=_(
            "Dotted path to the record (or list) in the answer, e.g. data.rows; empty: the "
            "answer itself."
        ),
    )
    error_field = models.CharField(
        _("error code field"),
        max_length=100,
        blank=True,
        default="errcode",
        help_text=_("Dotted path to the ERP's error code in the answer; empty: HTTP status only."),
    )
    error_ok_value = models.CharField(
        _("error code of success"), max_length=50, blank=True, default="0"
    )
    error_message_field = models.CharField(
        _("error message field"), max_length=100, blank=True, default="errmsg"
    )
    decimal_format = models.CharField(
        _("amounts are sent"),
        max_length=6,
        choices=DecimalFormat.choices,
        default=DecimalFormat.STRING,
    )

    class Meta:
        verbose_name = _("HTTP ERP operation")
        verbose_name_plural = _("HTTP ERP operations")
        ordering = ["connection", "operation"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "operation"],
                name="erp_bridge_one_http_operation_per_connection",
                violation_error_message=_("This operation is already configured."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.operation}"

    @property
    def spec(self) -> OperationSpec | None:
        return OPERATIONS.get(self.operation)

    def clean(self) -> None:
        """Refuse a method a write cannot use, a path with an unknown placeholder, a mapping
        that is not an object of texts or names a field the operation's record lacks (or
        leaves out one the record cannot do without), a value table or result path that does
        not parse; each naming its field."""
        spec = self.spec
        if spec is None:
            raise ValidationError({"operation": _("Choose one of the gateway's operations.")})
        errors: dict[str, str] = {}
        if spec.write and self.method == HttpMethod.GET:
            errors["method"] = str(_("A write is sent with POST, PUT or PATCH."))
        request_fields = self._request_fields(spec)
        if message := self._path_error(spec, request_fields):
            errors["path"] = message
        request_name = spec.request.__name__ if spec.request else str(_("this read's parameters"))
        if message := _mapping_error(self.request_mapping, request_fields, request_name):
            errors["request_mapping"] = message
        response_fields = record_types(spec.response)
        if message := _mapping_error(
            self.response_mapping, response_fields, spec.response.__name__
        ) or self._missing_error(spec, response_fields):
            errors["response_mapping"] = message
        if not isinstance(self.request_constants, dict):
            errors["request_constants"] = str(_('A JSON object, e.g. {"FormId": "BD_MATERIAL"}.'))
        if message := _value_map_error(self.value_map, request_fields, response_fields):
            errors["value_map"] = message
        for name in ("result_path", "error_field", "error_message_field"):
            if not _RESULT_PATH.match(getattr(self, name) or ""):
                errors[name] = str(_("Dotted JSON keys, e.g. data.rows."))
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _request_fields(spec: OperationSpec) -> dict[str, Any]:
        if spec.request is not None:
            return record_types(spec.request)
        return dict(spec.params)

    def _path_error(self, spec: OperationSpec, fields: Mapping[str, Any]) -> str:
        if not self.path.startswith("/") or "://" in self.path:
            return str(_("A path starts with / and is appended to the base URL."))
        allowed = {name for name, kind in fields.items() if line_type(kind) is None}
        if spec.write:
            allowed.add("idempotency_key")
        try:
            names = [
                name
                for _text, name, _fmt, _conv in Formatter().parse(self.path)
                if name is not None
            ]
        except ValueError:
            return str(_("A { without its } in the path."))
        for name in names:
            if name not in allowed:
                return str(
                    _("Unknown placeholder {%(name)s}; this operation knows: %(known)s.")
                    % {"name": name, "known": ", ".join(sorted(allowed)) or "-"}
                )
        return ""

    def _missing_error(self, spec: OperationSpec, fields: Mapping[str, Any]) -> str:
        """A field the answer's record needs that neither the mapping nor what we sent gives
        (an answer's field falls back to the same-named field of the request)."""
        if not isinstance(self.response_mapping, dict):
            return ""
        given = {split_our_path(v)[0] for v in self.response_mapping.values()}
        given |= set(self._request_fields(spec))
        missing = sorted(required_fields(spec.response) - given)
        for name in (n for n in sorted(given) if n in fields):
            lines = line_type(fields[name])
            if lines is None:
                continue
            mapped = {
                split_our_path(v)[1]
                for v in self.response_mapping.values()
                if split_our_path(v)[0] == name
            }
            if mapped:
                missing += [f"{name}[].{f}" for f in sorted(required_fields(lines) - mapped)]
        if missing:
            return str(
                _("The answer's %(fields)s must be mapped.") % {"fields": ", ".join(missing)}
            )
        return ""


def _mapping_error(mapping: Any, fields: Mapping[str, Any], record_name: str) -> str:
    if not _is_string_object(mapping):
        return str(_('A JSON object of texts: {"their field": "our field"}.'))
    for their, ours in mapping.items():
        if not _THEIR_PATH.match(their) or their.count("[]") > 1:
            return str(
                _("%(path)r is not a path in their JSON (keys joined by dots).") % {"path": their}
            )
        if message := our_path_error(ours, fields, record_name):
            return message
        if ("[]" in their) != ("[]." in ours):
            return str(
                _("%(their)r and %(ours)r: a list ([]) on one side needs one on the other.")
                % {"their": their, "ours": ours}
            )
    return ""


def _value_map_error(
    value_map: Any, request_fields: Mapping[str, Any], response_fields: Mapping[str, Any]
) -> str:
    if not isinstance(value_map, dict) or not all(
        _is_string_object(table) for table in value_map.values()
    ):
        return str(_('An object of objects of texts, e.g. {"state": {"A": "draft"}}.'))
    for ours in value_map:
        if our_path_error(ours, request_fields, "") and our_path_error(ours, response_fields, ""):
            return str(
                _("%(field)r is a field of neither the request nor the answer.") % {"field": ours}
            )
    return ""


def annotation_allows(annotation: Any, kind: type) -> bool:
    """Whether a field's type is ``kind`` or ``kind | None``."""
    if annotation is kind:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return kind in typing.get_args(annotation)
    return False
