"""The generic HTTP/REST adapter: an ERP that speaks JSON over HTTP (Kingdee 金蝶, Yonyou 用友,
an SAP gateway), configured by an administrator as an ``HttpConnection`` with one
``HttpOperation`` per gateway operation (``erp_bridge/models/connections.py`` explains the
mappings).

How a call goes:

- One ``requests.Session`` per gateway object (keep-alive); every request has the
  connection's time-out.
- OAuth2 client credentials: the client id and the secret (read from the environment
  variable the connection names, at call time) are POSTed to the token URL; the bearer
  token is kept until shortly before ``expires_in`` runs out. A 401 from the ERP fetches a
  new token once and repeats the call; a second 401 is a permanent ``auth`` error.
- Reads (every operation that is not a write, whatever its HTTP method: Kingdee queries
  with POST) are retried ``read_retries`` times after a network error, a time-out, a 408,
  429 or 5xx, with exponential backoff and jitter.
- Writes are sent once per call with an ``Idempotency-Key`` header: after a time-out we do
  not know whether the ERP got it, so the outbox calls again later with the same key and the
  ERP's gateway answers the first result again instead of creating a second document.
- A 4xx, or a 2xx whose error field (``errcode``) is not the success value, is a business
  refusal: ``ErpError(permanent=True)`` with the ERP's own message (``errmsg``) and, where
  recognised (``BUILTIN_ERROR_CODES``, the connection's ``error_codes``, a few words of the
  message), a stable code such as ``unknown_product``. A 5xx, a time-out or a refused
  connection is ``ErpError(permanent=False)``: the outbox retries.
- An answer's record is built through the response mapping; a field the answer does not
  carry falls back to the same-named field of what was sent (the order's ``reference``, the
  read's ``cost_centre``), then to the record's default. Amounts are read as ``Decimal``
  (JSON numbers are parsed as decimals, never as floats).

The client secret and the bearer token never appear in a log line, an error message or a
``repr``: every text that came from the other side is scrubbed of both before it is used.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import random
import time
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from string import Formatter
from types import NoneType, TracebackType
from typing import Any, TypeVar, cast
from urllib.parse import quote

import requests

from erp_bridge import gateway as g
from erp_bridge import transport
from erp_bridge.gateway import ErpError
from erp_bridge.models.connections import (
    OPERATIONS,
    HttpConnection,
    annotation_allows,
    line_type,
    record_types,
    required_fields,
    split_our_path,
)

__all__ = ["BUILTIN_ERROR_CODES", "HttpConfig", "HttpGateway", "OperationConfig"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The ERP's own error code -> the gateway's (ErpError.code). Typical of Kingdee- and
# Yonyou-style gateways; a connection's ``error_codes`` adds to and overrides this table.
BUILTIN_ERROR_CODES: dict[str, str] = {
    "MATERIAL_NOT_EXIST": "unknown_product",
    "MATERIAL_NOT_FOUND": "unknown_product",
    "PRODUCT_NOT_FOUND": "unknown_product",
    "CUSTOMER_NOT_EXIST": "unknown_customer",
    "CUSTOMER_NOT_FOUND": "unknown_customer",
    "PERIOD_CLOSED": "closed_period",
    "ACCOUNTING_PERIOD_CLOSED": "closed_period",
    "DUPLICATE": "duplicate",
    "BILL_NO_DUPLICATE": "duplicate",
}
# when the ERP gives no code we know: words of its message (all must occur) -> our code
_MESSAGE_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("物料", "不存在"), "unknown_product"),
    (("产品", "不存在"), "unknown_product"),
    (("客户", "不存在"), "unknown_customer"),
    (("已结账",), "closed_period"),
    (("期间", "关闭"), "closed_period"),
    (("period", "closed"), "closed_period"),
    (("unknown", "product"), "unknown_product"),
    (("unknown", "customer"), "unknown_customer"),
)
_TEMPORARY_STATUS = {408, 425, 429}
_REDACTED = "[redacted]"


@dataclass(frozen=True)
class OperationConfig:
    """One ``HttpOperation`` as plain data (no database needed to call the ERP)."""

    operation: str
    method: str
    path: str
    request_mapping: Mapping[str, str] = field(default_factory=dict)
    response_mapping: Mapping[str, str] = field(default_factory=dict)
    request_constants: Mapping[str, Any] = field(default_factory=dict)
    value_map: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    result_path: str = ""
    error_field: str = "errcode"
    error_ok_value: str = "0"
    error_message_field: str = "errmsg"
    decimal_format: str = "string"


@dataclass(frozen=True)
class HttpConfig:
    """One ``HttpConnection`` and its operations as plain data. It holds the NAME of the
    secret's environment variable, never the secret, so its ``repr`` is safe to log."""

    name: str
    base_url: str
    token_url: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    scope: str = ""
    timeout: float = 10.0
    read_retries: int = 2
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    error_codes: Mapping[str, str] = field(default_factory=dict)
    operations: Mapping[str, OperationConfig] = field(default_factory=dict)

    @classmethod
    def from_connection(cls, connection: HttpConnection) -> HttpConfig:
        return cls(
            name=connection.name,
            base_url=connection.base_url,
            token_url=connection.token_url,
            client_id=connection.client_id,
            client_secret_env=connection.client_secret_env,
            scope=connection.scope,
            timeout=float(connection.timeout_seconds),
            read_retries=int(connection.read_retries),
            extra_headers=dict(connection.extra_headers or {}),
            error_codes=dict(connection.error_codes or {}),
            operations={
                op.operation: OperationConfig(
                    operation=op.operation,
                    method=op.method,
                    path=op.path,
                    request_mapping=dict(op.request_mapping or {}),
                    response_mapping=dict(op.response_mapping or {}),
                    request_constants=dict(op.request_constants or {}),
                    value_map=dict(op.value_map or {}),
                    result_path=op.result_path,
                    error_field=op.error_field,
                    error_ok_value=op.error_ok_value,
                    error_message_field=op.error_message_field,
                    decimal_format=op.decimal_format,
                )
                for op in connection.operations.all()
            },
        )


def _invalid(message: str) -> ErpError:
    """An answer the mapping cannot read: a configuration matter, so retrying cannot help."""
    return ErpError(message, permanent=True, code="invalid")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _get(obj: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path in a JSON object, and whether it is there."""
    if not path:
        return True, obj
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return False, None
        obj = obj[key]
    return True, obj


def _put(obj: dict[str, Any], path: str, value: Any) -> None:
    *heads, last = path.split(".")
    for key in heads:
        child = obj.setdefault(key, {})
        if not isinstance(child, dict):
            raise _invalid(f"The request mapping writes both a value and fields at {key!r}.")
        obj = child
    obj[last] = value


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _convert(raw: Any, annotation: Any, where: str) -> Any:  # noqa: C901 - one branch per field type
    """The ERP's JSON value as the type of the record's field (``where`` names it)."""
    if raw is None:
        if annotation_allows(annotation, NoneType):
            return None
        if annotation is str:
            return ""
        raise _invalid(f"The ERP's answer has no value for {where}.")
    if typing.get_origin(annotation) is typing.Literal:
        text = _text(raw)
        if text not in typing.get_args(annotation):
            allowed = ", ".join(typing.get_args(annotation))
            raise _invalid(f"{where}: {text!r} is not one of {allowed} (see the value table).")
        return text
    try:
        if annotation_allows(annotation, Decimal):
            if isinstance(raw, bool | dict | list):
                raise ValueError(raw)
            return Decimal(str(raw))
        if annotation_allows(annotation, datetime.date):
            return datetime.date.fromisoformat(str(raw)[:10])
        if annotation is bool:
            if isinstance(raw, bool):
                return raw
            text = _text(raw).strip().lower()
            if text in ("true", "1", "yes", "y"):
                return True
            if text in ("false", "0", "no", "n", ""):
                return False
            raise ValueError(raw)
        if annotation is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            number = Decimal(str(raw))
            if number != number.to_integral_value():
                raise ValueError(raw)
            return int(number)
        if isinstance(raw, dict | list):
            raise ValueError(raw)
        return _text(raw)
    except (ValueError, InvalidOperation, TypeError):
        raise _invalid(f"{where}: the ERP's value {_text(raw)[:50]!r} cannot be read.") from None


def _fill(path: str, values: Mapping[str, Any]) -> str:
    """The path with its placeholders replaced by the URL-quoted values."""
    parts: list[str] = []
    for literal, name, _spec, _conversion in Formatter().parse(path):
        parts.append(literal)
        if name is not None:
            if name not in values:
                raise _invalid(f"The path {path!r} names {{{name}}}, which this call lacks.")
            parts.append(quote(_text(values[name]), safe=""))
    return "".join(parts)


class _Mapper:
    """Translates between a gateway record and the ERP's JSON by one operation's mappings."""

    def __init__(self, op: OperationConfig) -> None:
        self.op = op

    def _translate_in(self, value: Any, ours: str) -> Any:
        table = self.op.value_map.get(ours)
        if table is not None:
            return table.get(_text(value), value)
        return value

    def _out(self, value: Any, ours: str) -> Any:
        table = self.op.value_map.get(ours)
        if table is not None:
            reverse = {our: their for their, our in table.items()}
            if _text(value) in reverse:
                return reverse[_text(value)]
        if isinstance(value, Decimal):
            if self.op.decimal_format == "number":
                number = float(value)
                if Decimal(repr(number)) != value:
                    raise _invalid(f"{ours}: {value} cannot be sent as a JSON number exactly.")
                return number
            return str(value)
        if isinstance(value, datetime.date):
            return value.isoformat()
        return value

    def request(self, source: Mapping[str, Any]) -> dict[str, Any]:
        """The request's JSON: the fixed fields, then every mapped field of ``source`` (the
        record's fields, or the read's parameters)."""
        payload: dict[str, Any] = json.loads(json.dumps(dict(self.op.request_constants)))
        for their, ours in self.op.request_mapping.items():
            head, sub = split_our_path(ours)
            if head not in source:
                raise _invalid(f"The request mapping names {ours!r}, which this call lacks.")
            value = source[head]
            if not sub:
                _put(payload, their, self._out(value, ours))
                continue
            container, _sep, rest = their.partition("[]")
            found, items = _get(payload, container)
            if not found:
                items = []
                _put(payload, container, items)
            for index, line in enumerate(value):
                while len(items) <= index:
                    items.append({})
                converted = self._out(getattr(line, sub), ours)
                if rest:
                    _put(items[index], rest.lstrip("."), converted)
                else:
                    items[index] = converted
        return payload

    def _pick(self, answer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
        """The mapped values of an answer: our field -> their value, and for lists of lines
        our field -> one ``{line field: their value}`` per element."""
        raw: dict[str, Any] = {}
        lines: dict[str, list[dict[str, Any]]] = {}
        for their, ours in self.op.response_mapping.items():
            head, sub = split_our_path(ours)
            if not sub:
                found, value = _get(answer, their)
                if found:
                    raw[head] = value
                continue
            container, _sep, rest = their.partition("[]")
            found, items = _get(answer, container)
            if not found or items is None:
                continue
            if not isinstance(items, list):
                raise _invalid(f"The ERP's {container!r} is not a list.")
            rows = lines.setdefault(head, [{} for _item in items])
            for index, item in enumerate(items):
                found, value = _get(item, rest.lstrip("."))
                if found:
                    rows[index][sub] = value
        return raw, lines

    def record(self, answer: Any, kind: type[T], defaults: Mapping[str, Any]) -> T:
        """The record of type ``kind`` the answer holds; a field the answer lacks is taken
        from ``defaults`` (what was sent), then the record's own default."""
        if not isinstance(answer, dict):
            raise _invalid(f"The ERP's answer to {self.op.operation} is not a JSON object.")
        raw, lines = self._pick(answer)
        values: dict[str, Any] = {}
        for name, annotation in record_types(kind).items():
            if name in lines:
                kind_of_line = cast(type, line_type(annotation))
                values[name] = tuple(
                    self._line(row, kind_of_line, f"{name}[]") for row in lines[name]
                )
            elif name in raw:
                values[name] = _convert(self._translate_in(raw[name], name), annotation, name)
            elif name in defaults:
                values[name] = defaults[name]
        missing = required_fields(kind) - values.keys()
        if missing:
            raise _invalid(
                f"The ERP's answer to {self.op.operation} lacks {', '.join(sorted(missing))}."
            )
        return kind(**values)

    def _line(self, row: Mapping[str, Any], kind: type, prefix: str) -> Any:
        fields = record_types(kind)
        values = {
            name: _convert(
                self._translate_in(row[name], f"{prefix}.{name}"),
                fields[name],
                f"{prefix}.{name}",
            )
            for name in row
        }
        missing = required_fields(kind) - values.keys()
        if missing:
            raise _invalid(f"A line of the ERP's answer lacks {', '.join(sorted(missing))}.")
        return kind(**values)


class HttpGateway:
    """The gateway over one configured HTTP connection (see the module's docstring)."""

    name = "http"
    connected = True
    backoff_base = 0.2  # seconds before the first retry of a read, doubled each time
    backoff_cap = 5.0
    token_margin = 30.0  # a token is renewed this long (at most 10 % of its life) before it ends

    def __init__(self, config: HttpConfig) -> None:
        self.config = config
        self._session = transport.session(config.base_url)
        self._session.headers.update({"Accept": "application/json", **config.extra_headers})
        self._token: str | None = None
        self._token_until = 0.0
        self._random = random.SystemRandom()

    def __repr__(self) -> str:
        return f"<HttpGateway {self.config.name!r} {self.config.base_url}>"

    @classmethod
    def from_connection(cls, connection: HttpConnection) -> HttpGateway:
        return cls(HttpConfig.from_connection(connection))

    @classmethod
    def from_settings(cls) -> HttpGateway:
        """The gateway over the one active HTTP connection; ``not_configured`` if none."""
        connection = (
            HttpConnection.objects.filter(active=True).prefetch_related("operations").first()
        )
        if connection is None:
            raise ErpError(
                "No HTTP ERP connection is active: add one in the admin and mark it active.",
                permanent=True,
                code="not_configured",
            )
        return cls.from_connection(connection)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpGateway:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- credentials --------------------------------------------------------------------------

    def _secret(self) -> str:
        name = self.config.client_secret_env
        secret = os.environ.get(name, "") if name else ""
        if not secret:
            raise ErpError(
                f"The environment variable {name or '(none)'} that should hold the HTTP "
                f"connection {self.config.name!r}'s client secret is not set.",
                permanent=True,
                code="not_configured",
            )
        return secret

    def _scrub(self, text: str) -> str:
        """``text`` without the client secret and the bearer token, whatever echoed them."""
        name = self.config.client_secret_env
        for secret in (os.environ.get(name, "") if name else "", self._token or ""):
            if len(secret) >= 4:
                text = text.replace(secret, _REDACTED)
        return text

    def _bearer(self) -> str | None:
        """The bearer token, fetched when there is none or it is about to end."""
        if not self.config.token_url:
            return None
        if self._token is not None and time.monotonic() < self._token_until:
            return self._token
        self._token = None
        data = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self._secret(),
        }
        if self.config.scope:
            data["scope"] = self.config.scope
        failure = ""
        try:
            response = self._session.post(
                self.config.token_url, data=data, timeout=self.config.timeout
            )
        except requests.RequestException as error:
            # raised outside this block: the exception's request holds the secret in its body
            failure = f"The token endpoint cannot be reached: {error}"
        if failure:
            raise ErpError(self._scrub(failure), permanent=False)
        body = _json_or_none(response)
        if response.status_code in (400, 401, 403):
            words = [str(response.status_code)]
            if isinstance(body, dict):
                words += [_text(body[k]) for k in ("error", "error_description") if body.get(k)]
            raise ErpError(
                self._scrub(
                    f"The token endpoint refused the client credentials of "
                    f"{self.config.client_id!r} ({' '.join(words)})."
                ),
                permanent=True,
                code="auth",
            )
        if response.status_code >= 300:
            raise ErpError(
                f"The token endpoint answered {response.status_code}.",
                permanent=response.status_code < 500
                and response.status_code not in _TEMPORARY_STATUS,
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ErpError("The token endpoint's answer has no access_token.", permanent=False)
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0  # no usable lifetime: an hour, renewed at once on a 401
        self._token = token
        self._token_until = time.monotonic() + lifetime - min(self.token_margin, lifetime / 10)
        return token

    # --- one call ------------------------------------------------------------------------------

    def _operation(self, operation: str) -> OperationConfig:
        op = self.config.operations.get(operation)
        if op is None:
            raise ErpError(
                f"The HTTP connection {self.config.name!r} has no {operation!r} operation.",
                permanent=True,
                code="not_configured",
            )
        return op

    def _call(self, op: OperationConfig, source: Mapping[str, Any], idempotency_key: str) -> Any:
        """Send one operation and return the result part of the ERP's answer. A read is
        tried again after a temporary failure; a write is sent exactly once."""
        write = OPERATIONS[op.operation].write
        if write and not idempotency_key:
            raise _invalid(f"{op.operation} needs an idempotency key.")
        url = self.config.base_url.rstrip("/") + _fill(
            op.path, {**source, "idempotency_key": idempotency_key}
        )
        payload = _Mapper(op).request(source)
        headers = {"Idempotency-Key": idempotency_key} if write else {}
        tries = 1 if write else 1 + self.config.read_retries
        for attempt in range(tries):
            try:
                return self._send(op, url, payload, headers)
            except ErpError as error:
                if error.permanent or attempt + 1 >= tries:
                    raise
                logger.warning(
                    "ERP %s %s: %s (try %d of %d follows)",
                    self.config.name,
                    op.operation,
                    error.message,
                    attempt + 2,
                    tries,
                )
                delay = min(self.backoff_cap, self.backoff_base * 2**attempt)
                time.sleep(delay / 2 + self._random.uniform(0, delay / 2))
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, op: OperationConfig, url: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> Any:
        response = self._request(op, url, payload, headers)
        if response.status_code == 401 and self.config.token_url:
            self._token = None  # revoked or expired early: one new token, one more try
            response = self._request(op, url, payload, headers)
        if response.status_code == 401:
            raise ErpError(
                f"The ERP refused the credentials of the HTTP connection {self.config.name!r} "
                "(401).",
                permanent=True,
                code="auth",
            )
        return self._answer(op, response)

    def _request(
        self, op: OperationConfig, url: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> requests.Response:
        token = self._bearer()
        if token is not None:
            headers = {**headers, "Authorization": f"Bearer {token}"}
        body: dict[str, Any] = (
            {"params": {k: _text(v) for k, v in payload.items()}}
            if op.method == "GET"
            else {"json": payload}
        )
        failure = ""
        try:
            return self._session.request(
                op.method, url, headers=headers, timeout=self.config.timeout, **body
            )
        except requests.Timeout:
            failure = f"The ERP did not answer {op.operation} within {self.config.timeout:g} s."
        except requests.RequestException as error:
            failure = f"The ERP cannot be reached for {op.operation}: {error}"
        # raised outside the except block: the exception's request holds the Authorization
        raise ErpError(self._scrub(failure), permanent=False)

    def _answer(self, op: OperationConfig, response: requests.Response) -> Any:
        status = response.status_code
        body = _json_or_none(response)
        their_code, their_message = self._their_error(op, body)
        if status >= 500 or status in _TEMPORARY_STATUS:
            detail = f": {their_message}" if their_message else ""
            raise ErpError(
                self._scrub(f"The ERP answered {status} to {op.operation}{detail}"),
                permanent=False,
            )
        if status >= 400:
            raise ErpError(
                self._scrub(their_message or f"The ERP refused {op.operation} ({status})."),
                permanent=True,
                code=self._recognise(their_code, their_message)
                or ("auth" if status == 403 else ""),
            )
        if body is None:
            raise ErpError(f"The ERP's answer to {op.operation} is not JSON.", permanent=False)
        if op.error_field:
            found, value = _get(body, op.error_field)
            if found and _text(value) != op.error_ok_value:
                raise ErpError(
                    self._scrub(their_message or f"The ERP refused {op.operation} ({value})."),
                    permanent=True,
                    code=self._recognise(their_code, their_message),
                )
        found, result = _get(body, op.result_path)
        if not found:
            raise _invalid(f"The ERP's answer to {op.operation} has no {op.result_path!r}.")
        return result

    @staticmethod
    def _their_error(op: OperationConfig, body: Any) -> tuple[str, str]:
        code = message = ""
        if op.error_field:
            found, value = _get(body, op.error_field)
            code = _text(value) if found else ""
        if op.error_message_field:
            found, value = _get(body, op.error_message_field)
            message = _text(value) if found else ""
        return code, message

    def _recognise(self, their_code: str, message: str) -> str:
        """The gateway's code for the ERP's refusal: the connection's table, the built-in
        one, then a few words of the message; empty when none fits."""
        table = {**BUILTIN_ERROR_CODES, **self.config.error_codes}
        if their_code in table:
            return table[their_code]
        lowered = message.lower()
        for words, code in _MESSAGE_HINTS:
            if all(word in lowered for word in words):
                return code
        return ""

    # --- the gateway's operations ---------------------------------------------------------------

    def _many(self, operation: str, kind: type[T], **params: Any) -> list[T]:
        op = self._operation(operation)
        result = self._call(op, params, "")
        if result is None:
            return []
        if not isinstance(result, list):
            raise _invalid(f"The ERP's answer to {operation} is not a list.")
        mapper = _Mapper(op)
        return [mapper.record(item, kind, params) for item in result]

    def _one(
        self, operation: str, kind: type[T], source: Mapping[str, Any], idempotency_key: str = ""
    ) -> T:
        op = self._operation(operation)
        result = self._call(op, source, idempotency_key)
        return _Mapper(op).record(result, kind, source)

    def products(self) -> list[g.Product]:
        return self._many("products", g.Product)

    def price_lists(self) -> list[g.PriceList]:
        return self._many("price_lists", g.PriceList)

    def customers(self) -> list[g.Customer]:
        return self._many("customers", g.Customer)

    def employees(self) -> list[g.Employee]:
        return self._many("employees", g.Employee)

    def departments(self) -> list[g.Department]:
        return self._many("departments", g.Department)

    def customer_upsert(self, customer: g.Customer, *, idempotency_key: str) -> g.Customer:
        return self._one("customer_upsert", g.Customer, _fields(customer), idempotency_key)

    def sales_order_create(
        self, order: g.SalesOrder, *, idempotency_key: str
    ) -> g.SalesOrderStatus:
        return self._one("sales_order_create", g.SalesOrderStatus, _fields(order), idempotency_key)

    def expense_post(self, posting: g.ExpensePosting, *, idempotency_key: str) -> g.Posting:
        return self._one("expense_post", g.Posting, _fields(posting), idempotency_key)

    def employee_create(self, employee: g.Employee, *, idempotency_key: str) -> g.Employee:
        return self._one("employee_create", g.Employee, _fields(employee), idempotency_key)

    def department_upsert(self, department: g.Department, *, idempotency_key: str) -> g.Department:
        return self._one("department_upsert", g.Department, _fields(department), idempotency_key)

    def sales_order_status(self, reference: str) -> g.SalesOrderStatus:
        return self._one("sales_order_status", g.SalesOrderStatus, {"reference": reference})

    def invoices(self, order_reference: str) -> list[g.Invoice]:
        return self._many("invoices", g.Invoice, order_reference=order_reference)

    def budget(self, cost_centre: str, year: int) -> g.Budget:
        return self._one("budget", g.Budget, {"cost_centre": cost_centre, "year": year})


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return None
