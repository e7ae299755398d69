"""The Tryton adapter: the gateway (``erp_bridge/gateway.py``) over Tryton's JSON-RPC.

Transport. One :class:`requests.Session` (keep-alive) posts ``{"method", "params", "id"}`` to
``ERP_URL/<ERP_DATABASE>/rpc/``. ``common.db.login`` answers ``[user id, token, …]``; later
calls carry ``Authorization: Session base64(user:user_id:token)`` (trytond's
``protocols/wrappers.py``, as proteus' ``set_xmlrpc_session`` sends it) and the user's
preferences as the context (company, language ``en``, so that Tryton's messages are the
English texts the classifier below knows). Decimals and dates travel as Tryton's
``{"__class__": …}`` objects. A 401/403 (the session expired or was revoked) logs in again
once and repeats the call: Tryton refuses those before running anything, so even a write is
safe to repeat. Reads are retried ``retries`` times with a short backoff on a connection
error, a time-out, a 429 or a 5xx; a write is sent once — after a time-out nobody knows
whether it arrived, so the outbox retries it later and the write looks its reference up first.

Errors. A ``UserError``/``UserWarning`` answer (Tryton's ``ValidationError`` and its business
refusals are UserErrors on the wire) is ``ErpError(permanent=True)`` with Tryton's own message
and a ``code`` where the text is recognised: ``closed_period`` (no period or fiscal year for
the date, or a closed one), ``auth`` (access rules, a refused login), ``duplicate`` (a
uniqueness rule). ``unknown_product``, ``unknown_customer``, ``unknown_employee``,
``unknown_department``, ``unknown_cost_centre``, ``unknown_order``, ``no_budget`` and
``invalid`` come from this adapter's own look-ups. A refused connection, a time-out, a 5xx
or a ``ConcurrencyException`` is ``ErpError(permanent=False)``.

Mapping (Tryton 8.2 with the modules of the ``erp`` extra; ``erp_bridge/tryton_demo.py``
builds a database shaped so):

- products: ``product.product`` by ``code`` (``list_price``, the default unit's name);
  inactive ones are read too, as ``active=False``.
- price lists: ``product.price_list`` (module ``product_price_list``); it has no code, so the
  name carries it as ``[PL01] 经销商价格``. A line's price is its formula when the formula is a
  number, or ``unit_price * factor``; lines with other formulas are left out.
- customers: ``party.party`` by ``code``, except the parties of employees and companies; the
  unified social credit code is the party's tax identifier (Tryton's type ``cn_vat``, its
  ``cn_uscc`` renamed); phone and e-mail are contact mechanisms; the address is the first
  address (city followed by the street).
- departments: Tryton has no department model, so they are ``party.category`` records under
  the root category ``Departments``, named ``[CODE] 名称``; a sub-department is a child
  category. An employee's department is the department category on the employee's party.
- employees: ``company.employee``; the employee number is the code of the employee's party;
  ``start_date`` as is; active while ``end_date`` is empty or in the future.
- sales orders: ``sale.sale`` whose ``reference`` is the portal's reference; lines by product
  code; the header as Tryton's client fills it from the customer (``on_change_party``:
  addresses, payment term, price list, warehouse); a line without a unit price is priced by
  Tryton's ``on_change_product`` (the customer's price list, module ``sale_price_list``, else
  the list price); then ``quote`` (gives the number) and ``confirm`` (processes it: shipment and
  invoice). States map one to one (``draft`` … ``cancelled``); ``shipped`` = shipment state
  ``sent``; ``invoiced`` = invoice state awaiting payment, partially paid or paid.
- invoices: the sale's ``account.invoice`` records that have a number (posted, paid, or
  cancelled after posting); ``paid`` -> paid, ``cancelled`` -> cancelled, posted with less to
  pay than the total -> partially paid, else unpaid; due date = the earliest maturity date.
- expense postings: an ``account.move`` in the ``expense`` journal, posted: debit the
  cost-centre expense account ``6602.<cost centre>`` (``6602`` 管理费用 when no cost centre),
  credit the payable account of the employee's party. Its ``description`` starts with
  ``[<reference>]``, which is how the write finds itself again; the number is the move's.
- budgets: ``account.budget.line`` (module ``account_budget``) of the cost centre's account in
  the budget of the fiscal year; Tryton signs balances credit minus debit, so an expense
  budget and its actual amount are negative there and positive here. Without the module the
  answer is ``ErpError(permanent=True, code="unsupported")``.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from django.conf import settings

from erp_bridge import transport
from erp_bridge.gateway import (
    Budget,
    Customer,
    Department,
    Employee,
    ErpError,
    ExpensePosting,
    Invoice,
    OrderState,
    PaymentState,
    Posting,
    PriceList,
    PriceListLine,
    Product,
    SalesOrder,
    SalesOrderStatus,
)

__all__ = ["TrytonGateway", "classify_message"]

DEPARTMENT_ROOT = "Departments"
EXPENSE_ACCOUNT_CODE = "6602"
USCC_TYPE = "cn_vat"  # Tryton's type for the unified social credit code
BOTH_ACTIVE: list[Any] = ["active", "in", [True, False]]
_BRACKET_CODE = re.compile(r"^\[(?P<code>[^\]]+)\]\s*(?P<name>.*)$", re.DOTALL)
_FACTOR = re.compile(r"^\s*unit_price\s*\*\s*(?P<factor>[0-9]+(?:\.[0-9]+)?)\s*$")
_ORDER_STATES: dict[str, OrderState] = {
    "draft": "draft",
    "quotation": "quotation",
    "confirmed": "confirmed",
    "processing": "processing",
    "done": "done",
    "cancelled": "cancelled",
}
_SALE_HEADER_FIELDS = (
    "invoice_address",
    "shipment_address",
    "payment_term",
    "price_list",
    "warehouse",
    "invoice_method",
    "shipment_method",
)
_INVOICED = {"awaiting payment", "partially paid", "paid"}

# Tryton's own texts (English, the session's language) that name a refusal we recognise.
_MESSAGE_CODES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"create a (period|fiscal year) for the date", re.I), "closed_period"),
    (re.compile(r"reopen the (period|fiscal year)", re.I), "closed_period"),
    (re.compile(r"closed (journal-)?period|period of move .* is closed", re.I), "closed_period"),
    (re.compile(r"fiscal year .* is closed", re.I), "closed_period"),
    (re.compile(r"not allowed to|access rule|wrong password|bad login", re.I), "auth"),
    (re.compile(r"must be unique|already (exists|used)", re.I), "duplicate"),
)


def classify_message(message: str) -> str:
    """The stable code for a Tryton refusal's text, or ``""`` when it is not one we know."""
    for pattern, code in _MESSAGE_CODES:
        if pattern.search(message):
            return code
    return ""


def _encode(value: Any) -> Any:
    """Tryton's JSON for the types plain JSON lacks (trytond ``protocols/jsonrpc.py``)."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, datetime.datetime):
        raise TypeError("datetimes are not sent to Tryton by this adapter")
    if isinstance(value, datetime.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return datetime.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return datetime.datetime(  # Tryton sends naive UTC datetimes
            obj["year"], obj["month"], obj["day"], obj["hour"], obj["minute"], obj["second"]
        )
    return obj


def _split_code(name: str) -> tuple[str, str]:
    """``[CODE] name`` -> (``CODE``, ``name``); a name without a code -> (``""``, name)."""
    match = _BRACKET_CODE.match(name or "")
    if not match:
        return "", name or ""
    return match["code"].strip(), match["name"].strip()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _related(row: dict[str, Any], name: str, field: str) -> Any:
    """A dotted field of ``search_read``: ``{"party.": {"code": …}}``."""
    related = row.get(f"{name}.")
    return related.get(field) if isinstance(related, dict) else None


class TrytonGateway:
    """The ERP is a Tryton server (see the module docstring for the mapping)."""

    name = "tryton"
    connected = True

    def __init__(
        self,
        *,
        url: str,
        database: str,
        user: str,
        password: str,
        timeout: float = 10,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.user = user
        self._password = password
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self._http = transport.session(url)
        self._http.headers["Content-Type"] = "application/json"
        self._authorization = ""
        self._context: dict[str, Any] = {}
        self._ids = 0

    @classmethod
    def from_settings(cls) -> TrytonGateway:
        """The gateway the settings describe (``ERP_URL``, ``ERP_DATABASE``, ``ERP_USER``,
        ``ERP_PASSWORD``, ``ERP_TIMEOUT``); a missing one is a permanent ``not_configured``."""
        values = {
            name: getattr(settings, name, "")
            for name in ("ERP_URL", "ERP_DATABASE", "ERP_USER", "ERP_PASSWORD")
        }
        for name, value in values.items():
            if not value:
                raise ErpError(
                    f"The Tryton adapter needs the setting {name}.",
                    permanent=True,
                    code="not_configured",
                )
        return cls(
            url=values["ERP_URL"],
            database=values["ERP_DATABASE"],
            user=values["ERP_USER"],
            password=values["ERP_PASSWORD"],
            timeout=float(getattr(settings, "ERP_TIMEOUT", 10)),
        )

    def __repr__(self) -> str:  # never the password
        return f"TrytonGateway(url={self.url!r}, database={self.database!r}, user={self.user!r})"

    def close(self) -> None:
        """Close the keep-alive connections (the session on the server just expires)."""
        self._http.close()

    # --- transport ----------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.url}/{self.database}/rpc/"

    def _post(self, method: str, params: Sequence[Any], *, authorized: bool) -> Any:
        """One exchange. Raises ``_Unauthorized`` on 401/403 (the caller logs in again) and
        ErpError for everything else that is not a result."""
        self._ids += 1
        body = json.dumps(
            {"method": method, "params": list(params), "id": self._ids},
            default=_encode,
            ensure_ascii=False,
        ).encode("utf-8")
        headers = {"Authorization": self._authorization} if authorized else {}
        try:
            response = self._http.post(
                self.endpoint, data=body, headers=headers, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise ErpError(f"Tryton did not answer {method} within {self.timeout} s") from exc
        except requests.RequestException as exc:
            raise ErpError(f"Tryton cannot be reached at {self.url}: {exc}") from exc
        status = response.status_code
        if status in (401, 403):
            raise _Unauthorized(f"Tryton refused {method} ({status})")
        if status == 429 or status >= 500:
            raise ErpError(f"Tryton answered {method} with HTTP {status}")
        if status == 404:
            raise ErpError(
                f"Tryton has no database {self.database!r} at {self.url} (HTTP 404)",
                permanent=True,
                code="not_configured",
            )
        if status >= 400:
            raise ErpError(
                f"Tryton refused {method} with HTTP {status}: {response.text[:200]}",
                permanent=True,
                code="invalid",
            )
        try:
            payload = json.loads(response.content, object_hook=_decode)
        except ValueError as exc:
            raise ErpError(f"Tryton's answer to {method} is not JSON") from exc
        if isinstance(payload, dict) and "error" in payload:
            raise _error_from(payload["error"])
        if not isinstance(payload, dict) or "result" not in payload:
            raise ErpError(f"Tryton's answer to {method} has no result")
        return payload["result"]

    def _login(self) -> None:
        try:
            result = self._post(
                "common.db.login",
                [self.user, {"password": self._password}, "en"],
                authorized=False,
            )
        except _Unauthorized as exc:
            raise ErpError(
                f"Tryton refused the login of {self.user!r} to database {self.database!r}",
                permanent=True,
                code="auth",
            ) from exc
        if not isinstance(result, list) or len(result) < 2:
            raise ErpError(
                f"Tryton refused the login of {self.user!r}", permanent=True, code="auth"
            )
        user_id, token = result[0], result[1]
        credentials = f"{self.user}:{user_id}:{token}".encode()
        self._authorization = "Session " + base64.b64encode(credentials).decode("ascii")
        preferences = self._post("model.res.user.get_preferences", [True, {}], authorized=True)
        self._context = {
            key: value
            for key, value in dict(preferences).items()
            if key != "locale" and "." not in key
        }
        self._context["language"] = "en"

    def _call(self, method: str, *params: Any, read: bool) -> Any:
        """``method(*params, context)``; logs in first and once more on an expired session;
        a read is retried on temporary failures, a write is not."""
        attempts = 1 + (self.retries if read else 0)
        for attempt in range(attempts):
            try:
                return self._authorized_call(method, params)
            except ErpError as exc:
                if exc.permanent or attempt == attempts - 1:
                    raise
                time.sleep(self.backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _authorized_call(self, method: str, params: Sequence[Any]) -> Any:
        if not self._authorization:
            self._login()
        try:
            return self._post(method, [*params, self._context], authorized=True)
        except _Unauthorized:
            self._login()
        try:
            return self._post(method, [*params, self._context], authorized=True)
        except _Unauthorized as exc:
            raise ErpError(
                f"Tryton refuses {method} to {self.user!r}: {exc}", permanent=True, code="auth"
            ) from exc

    def _search_read(
        self,
        model: str,
        domain: list[Any],
        fields: list[str],
        *,
        order: list[Any] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        rows = self._call(f"model.{model}.search_read", domain, 0, limit, order, fields, read=True)
        return list(rows)

    def _create(self, model: str, values: list[dict[str, Any]]) -> list[int]:
        return list(self._call(f"model.{model}.create", values, read=False))

    def _write(self, model: str, ids: list[int], values: dict[str, Any]) -> None:
        self._call(f"model.{model}.write", ids, values, read=False)

    def _button(self, model: str, button: str, ids: list[int]) -> None:
        self._call(f"model.{model}.{button}", ids, read=False)

    # --- shared look-ups ----------------------------------------------------------------------

    def _company(self) -> tuple[int, str]:
        """(company id, its currency code)."""
        if not self._authorization:
            self._login()
        company = self._context.get("company")
        if not company:
            raise ErpError(
                f"Tryton's user {self.user!r} has no company", permanent=True, code="auth"
            )
        rows = self._search_read("company.company", [["id", "=", company]], ["currency.code"])
        return int(company), str(_related(rows[0], "currency", "code") or "")

    def _party_by_code(self, code: str) -> dict[str, Any] | None:
        rows = self._search_read(
            "party.party",
            [["code", "=", code], BOTH_ACTIVE],
            [
                "code",
                "name",
                "active",
                "categories",
                "contact_mechanisms",
                "identifiers",
                "addresses",
            ],
            limit=1,
        )
        return rows[0] if rows else None

    def _department_categories(self, *, create_root: bool = False) -> tuple[int, dict[int, Any]]:
        """(root id, {category id: (code, name, parent id)}) of the department tree."""
        roots = self._search_read(
            "party.category", [["name", "=", DEPARTMENT_ROOT], ["parent", "=", None]], ["id"]
        )
        if not roots:
            if not create_root:
                return 0, {}
            root_id = self._create("party.category", [{"name": DEPARTMENT_ROOT}])[0]
        else:
            root_id = int(roots[0]["id"])
        rows = self._search_read("party.category", [BOTH_ACTIVE], ["name", "parent"])
        parents = {int(row["id"]): row["parent"] for row in rows}
        found: dict[int, Any] = {}
        for row in rows:
            ancestor, seen = row["parent"], 0
            while ancestor and ancestor != root_id and seen < 50:
                ancestor, seen = parents.get(ancestor), seen + 1
            if ancestor == root_id:
                code, name = _split_code(_text(row["name"]))
                if code:
                    found[int(row["id"])] = (code, name, row["parent"])
        return root_id, found

    def _department_id(self, code: str, departments: dict[int, Any]) -> int:
        for category_id, (department_code, _name, _parent) in departments.items():
            if department_code == code:
                return category_id
        raise ErpError(
            f"Tryton has no department {code!r} (party category '[{code}] …' under "
            f"{DEPARTMENT_ROOT!r})",
            permanent=True,
            code="unknown_department",
        )

    def _sale(self, reference: str) -> dict[str, Any] | None:
        rows = self._search_read(
            "sale.sale",
            [["reference", "=", reference]],
            [
                "number",
                "reference",
                "state",
                "shipment_state",
                "invoice_state",
                "total_amount",
                "currency.code",
                "invoices",
            ],
            order=[["id", "ASC"]],
            limit=1,
        )
        return rows[0] if rows else None

    # --- master data ----------------------------------------------------------------------------

    def products(self) -> list[Product]:
        """Every product with a code, active or not."""
        _company, currency = self._company()
        rows = self._search_read(
            "product.product",
            [["code", "!=", None], BOTH_ACTIVE],
            ["code", "name", "list_price_used", "default_uom.name", "active"],
            order=[["code", "ASC"]],
        )
        return [
            Product(
                code=str(row["code"]),
                name=_text(row["name"]),
                unit=str(_related(row, "default_uom", "name") or "unit"),
                list_price=Decimal(row["list_price_used"] or 0),
                currency=currency,
                active=bool(row["active"]),
                erp_id=str(row["id"]),
            )
            for row in rows
        ]

    def price_lists(self) -> list[PriceList]:
        _company, currency = self._company()
        lists = self._search_read("product.price_list", [], ["name"], order=[["id", "ASC"]])
        if not lists:
            return []
        lines = self._search_read(
            "product.price_list.line",
            [["price_list", "in", [row["id"] for row in lists]], ["product", "!=", None]],
            ["price_list", "product.code", "product.list_price_used", "quantity", "formula"],
            order=[["price_list", "ASC"], ["sequence", "ASC"], ["id", "ASC"]],
        )
        by_list: dict[int, list[PriceListLine]] = {}
        for line in lines:
            price = _formula_price(
                _text(line["formula"]), _related(line, "product", "list_price_used")
            )
            code = _related(line, "product", "code")
            if price is None or not code:
                continue
            by_list.setdefault(int(line["price_list"]), []).append(
                PriceListLine(
                    product_code=str(code),
                    price=price,
                    min_quantity=Decimal(str(line["quantity"] or 0)),
                )
            )
        result = []
        for row in lists:
            code, name = _split_code(_text(row["name"]))
            result.append(
                PriceList(
                    code=code or f"tryton-{row['id']}",
                    name=name,
                    currency=currency,
                    lines=tuple(by_list.get(int(row["id"]), ())),
                    erp_id=str(row["id"]),
                )
            )
        return result

    def customers(self) -> list[Customer]:
        """Parties with a code that are neither an employee nor a company."""
        excluded = [
            _related(row, "party", "id")
            for model in ("company.employee", "company.company")
            for row in self._search_read(model, [], ["party.id"])
        ]
        rows = self._search_read(
            "party.party",
            [["code", "!=", None], ["id", "not in", [i for i in excluded if i]], BOTH_ACTIVE],
            ["code", "name", "active", "tax_identifier.code", "phone", "email", "addresses"],
            order=[["code", "ASC"]],
        )
        address_ids = [row["addresses"][0] for row in rows if row["addresses"]]
        addresses = {
            int(row["id"]): row
            for row in self._search_read(
                "party.address",
                [["id", "in", address_ids], BOTH_ACTIVE],
                ["street_unstructured", "city"],
            )
        }
        return [
            Customer(
                code=str(row["code"]),
                name=_text(row["name"]),
                tax_code=str(_related(row, "tax_identifier", "code") or ""),
                phone=_text(row["phone"]),
                email=_text(row["email"]),
                address=_address_text(addresses.get(row["addresses"][0]))
                if row["addresses"]
                else "",
                active=bool(row["active"]),
                erp_id=str(row["id"]),
            )
            for row in rows
        ]

    def employees(self) -> list[Employee]:
        _root, departments = self._department_categories()
        rows = self._search_read(
            "company.employee",
            [BOTH_ACTIVE],
            ["party.code", "party.name", "party.email", "party.categories", "start_date", "active"],
            order=[["id", "ASC"]],
        )
        result = []
        for row in rows:
            code = _related(row, "party", "code")
            if not code:
                continue
            categories = _related(row, "party", "categories") or []
            department = next((departments[c][0] for c in categories if c in departments), "")
            result.append(
                Employee(
                    code=str(code),
                    name=_text(_related(row, "party", "name")),
                    department_code=department,
                    email=_text(_related(row, "party", "email")),
                    start_date=row["start_date"],
                    active=bool(row["active"]),
                    erp_id=str(row["id"]),
                )
            )
        return result

    def departments(self) -> list[Department]:
        _root, departments = self._department_categories()
        return [
            Department(
                code=code,
                name=name,
                parent_code=departments[parent][0] if parent in departments else "",
                erp_id=str(category_id),
            )
            for category_id, (code, name, parent) in sorted(departments.items())
        ]

    # --- writes ---------------------------------------------------------------------------------

    def customer_upsert(self, customer: Customer, *, idempotency_key: str) -> Customer:
        """Create the party with this code, or bring the existing one up to date (name, tax
        identifier, phone, e-mail, address, active): the same call twice changes nothing."""
        _require(customer.code, "customer code")
        _require(customer.name, "customer name")
        party = self._party_by_code(customer.code)
        if party is None:
            values: dict[str, Any] = {
                "code": customer.code,
                "name": customer.name,
                "active": customer.active,
            }
            if customer.tax_code:
                values["identifiers"] = [
                    ["create", [{"type": USCC_TYPE, "code": customer.tax_code}]]
                ]
            mechanisms = [
                {"type": kind, "value": value}
                for kind, value in (("phone", customer.phone), ("email", customer.email))
                if value
            ]
            if mechanisms:
                values["contact_mechanisms"] = [["create", mechanisms]]
            if customer.address:
                values["addresses"] = [["create", [{"street_unstructured": customer.address}]]]
            party_id = self._create("party.party", [values])[0]
        else:
            party_id = int(party["id"])
            self._write(
                "party.party", [party_id], {"name": customer.name, "active": customer.active}
            )
            self._sync_identifier(party, customer.tax_code)
            self._sync_mechanism(party_id, "phone", customer.phone)
            self._sync_mechanism(party_id, "email", customer.email)
            self._sync_address(party, customer.address)
        return Customer(
            code=customer.code,
            name=customer.name,
            tax_code=customer.tax_code,
            phone=customer.phone,
            email=customer.email,
            address=customer.address,
            active=customer.active,
            erp_id=str(party_id),
        )

    def _sync_identifier(self, party: dict[str, Any], tax_code: str) -> None:
        rows = self._search_read(
            "party.identifier",
            [["party", "=", party["id"]], ["type", "=", USCC_TYPE]],
            ["code"],
        )
        if not tax_code:
            return
        if rows:
            if rows[0]["code"] != tax_code:
                self._write("party.identifier", [rows[0]["id"]], {"code": tax_code})
        else:
            self._create(
                "party.identifier",
                [{"party": party["id"], "type": USCC_TYPE, "code": tax_code}],
            )

    def _sync_mechanism(self, party_id: int, kind: str, value: str) -> None:
        rows = self._search_read(
            "party.contact_mechanism",
            [["party", "=", party_id], ["type", "=", kind]],
            ["value"],
            order=[["sequence", "ASC"], ["id", "ASC"]],
            limit=1,
        )
        if not value:
            return
        if rows:
            if rows[0]["value"] != value:
                self._write("party.contact_mechanism", [rows[0]["id"]], {"value": value})
        else:
            self._create(
                "party.contact_mechanism", [{"party": party_id, "type": kind, "value": value}]
            )

    def _sync_address(self, party: dict[str, Any], address: str) -> None:
        if not address:
            return
        if party["addresses"]:
            rows = self._search_read(
                "party.address",
                [["id", "=", party["addresses"][0]]],
                ["street_unstructured", "city"],
            )
            if rows and _address_text(rows[0]) != address:
                self._write(
                    "party.address",
                    [rows[0]["id"]],
                    {"street_unstructured": address, "city": None},
                )
        else:
            self._create("party.address", [{"party": party["id"], "street_unstructured": address}])

    def sales_order_create(self, order: SalesOrder, *, idempotency_key: str) -> SalesOrderStatus:
        """A confirmed ``sale.sale`` with ``reference`` = the portal's reference. The sale is
        looked up by reference first: one that exists is returned (and carried on to quoted
        and confirmed if an earlier call stopped half-way), never made twice."""
        _require(order.reference, "order reference")
        if not order.lines:
            raise ErpError(
                f"Sales order {order.reference} has no lines", permanent=True, code="invalid"
            )
        sale = self._sale(order.reference)
        if sale is None:
            sale_id = self._create_sale(order)
            state = "draft"
        else:
            sale_id, state = int(sale["id"]), str(sale["state"])
        if state == "draft":
            self._button("sale.sale", "quote", [sale_id])
            state = "quotation"
        if state == "quotation":
            self._button("sale.sale", "confirm", [sale_id])
        return self.sales_order_status(order.reference)

    def _create_sale(self, order: SalesOrder) -> int:
        company, company_currency = self._company()
        party = self._party_by_code(order.customer_code)
        if party is None or not order.customer_code:
            raise ErpError(
                f"Tryton has no customer with code {order.customer_code!r}",
                permanent=True,
                code="unknown_customer",
            )
        currency_code = order.currency or company_currency
        currencies = self._search_read("currency.currency", [["code", "=", currency_code]], [])
        if not currencies:
            raise ErpError(
                f"Tryton has no currency {currency_code!r}", permanent=True, code="invalid"
            )
        codes = sorted({line.product_code for line in order.lines})
        products = {
            row["code"]: row
            for row in self._search_read(
                "product.product",
                [["code", "in", codes]],
                ["code", "default_uom", "salable"],
            )
        }
        missing = [code for code in codes if code not in products]
        if missing:
            raise ErpError(
                f"Tryton has no active product with code {', '.join(missing)}",
                permanent=True,
                code="unknown_product",
            )
        header = self._sale_header(party, company)
        header["currency"] = int(currencies[0]["id"])
        lines = []
        for line in order.lines:
            if line.quantity <= 0:
                raise ErpError(
                    f"Quantity of {line.product_code} must be positive",
                    permanent=True,
                    code="invalid",
                )
            product = products[line.product_code]
            values: dict[str, Any] = {
                "type": "line",
                "product": int(product["id"]),
                "quantity": float(line.quantity),
                "unit": int(product["default_uom"]),
            }
            if line.unit_price is None:
                values["unit_price"] = self._list_unit_price(values, header)
            else:
                values["unit_price"] = line.unit_price
            lines.append(values)
        sale = {
            **header,
            "reference": order.reference,
            "description": order.description or None,
            "lines": [["create", lines]],
        }
        return self._create("sale.sale", [sale])[0]

    def _sale_header(self, party: dict[str, Any], company: int) -> dict[str, Any]:
        """What Tryton's client fills in when the customer is chosen (``on_change_party``:
        addresses, payment term, price list, warehouse, methods)."""
        changes = self._call(
            "model.sale.sale.on_change_party",
            {"party": int(party["id"]), "company": company},
            read=True,
        )
        header: dict[str, Any] = {"party": int(party["id"]), "company": company}
        if isinstance(changes, dict):
            header.update(
                {key: changes[key] for key in _SALE_HEADER_FIELDS if changes.get(key) is not None}
            )
        if not header.get("invoice_address") or not header.get("shipment_address"):
            address = self._party_address(party)
            header.setdefault("invoice_address", address)
            header.setdefault("shipment_address", address)
        return header

    def _party_address(self, party: dict[str, Any]) -> int:
        """The customer's first address (a sale needs one; a party made over RPC without an
        address gets an empty one, as Tryton's own client gives every new party)."""
        if party["addresses"]:
            return int(party["addresses"][0])
        return self._create("party.address", [{"party": int(party["id"])}])[0]

    def _list_unit_price(self, line: dict[str, Any], header: dict[str, Any]) -> Decimal:
        """The price Tryton's client would fill in (``on_change_product``: the customer's
        price list, else the list price)."""
        values = {**line, **{f"_parent_sale.{key}": value for key, value in header.items()}}
        changes = self._call("model.sale.line.on_change_product", values, read=True)
        price = changes.get("unit_price") if isinstance(changes, dict) else None
        if price is None:
            raise ErpError("Tryton gives no price for the product", permanent=True, code="invalid")
        return Decimal(price)

    def sales_order_status(self, reference: str) -> SalesOrderStatus:
        sale = self._sale(reference)
        if sale is None:
            raise ErpError(
                f"Tryton has no sales order with reference {reference!r}",
                permanent=True,
                code="unknown_order",
            )
        return SalesOrderStatus(
            reference=reference,
            number=_text(sale["number"]),
            state=_ORDER_STATES.get(str(sale["state"]), "processing"),
            shipped=sale["shipment_state"] == "sent",
            invoiced=sale["invoice_state"] in _INVOICED,
            total=Decimal(sale["total_amount"] or 0),
            currency=str(_related(sale, "currency", "code") or ""),
            erp_id=str(sale["id"]),
        )

    def invoices(self, order_reference: str) -> list[Invoice]:
        sale = self._sale(order_reference)
        if sale is None:
            raise ErpError(
                f"Tryton has no sales order with reference {order_reference!r}",
                permanent=True,
                code="unknown_order",
            )
        if not sale["invoices"]:
            return []
        rows = self._search_read(
            "account.invoice",
            [["id", "in", sale["invoices"]], ["number", "!=", None]],
            ["number", "state", "total_amount", "amount_to_pay", "currency.code", "lines_to_pay"],
            order=[["id", "ASC"]],
        )
        maturities: dict[int, datetime.date] = {}
        line_ids = [line for row in rows for line in row["lines_to_pay"]]
        if line_ids:
            for line in self._search_read(
                "account.move.line", [["id", "in", line_ids]], ["maturity_date", "move_origin"]
            ):
                if line["maturity_date"]:
                    for row in rows:
                        if line["id"] in row["lines_to_pay"]:
                            current = maturities.get(row["id"])
                            if current is None or line["maturity_date"] < current:
                                maturities[row["id"]] = line["maturity_date"]
        return [
            Invoice(
                number=str(row["number"]),
                order_reference=order_reference,
                amount=Decimal(row["total_amount"] or 0),
                currency=str(_related(row, "currency", "code") or ""),
                payment_state=_payment_state(row),
                due_date=maturities.get(row["id"]),
                erp_id=str(row["id"]),
            )
            for row in rows
        ]

    def expense_post(self, posting: ExpensePosting, *, idempotency_key: str) -> Posting:
        """A posted ``account.move`` in the expense journal (see the module docstring). The
        move is looked up by its ``[reference]`` description first: one that exists is
        returned (posted first if an earlier call stopped half-way), never made twice."""
        _require(posting.reference, "expense reference")
        existing = self._move(posting.reference)
        if existing is None:
            move_id = self._create_move(posting)
            state = "draft"
        else:
            move_id, state = int(existing["id"]), str(existing["state"])
        if state == "draft":
            self._button("account.move", "post", [move_id])
        move = self._move(posting.reference)
        if move is None:  # pragma: no cover - Tryton deleted it between two calls
            raise ErpError(f"Tryton lost the move of {posting.reference}")
        return Posting(
            reference=posting.reference,
            number=_text(move["number"]),
            state="posted" if move["state"] == "posted" else "draft",
            erp_id=str(move["id"]),
        )

    def _move(self, reference: str) -> dict[str, Any] | None:
        prefix = f"[{reference}]"
        rows = self._search_read(
            "account.move",
            [["description", "ilike", f"{prefix}%"]],
            ["description", "number", "state"],
            order=[["id", "ASC"]],
        )
        return next((row for row in rows if _text(row["description"]).startswith(prefix)), None)

    def _create_move(self, posting: ExpensePosting) -> int:
        company, company_currency = self._company()
        if posting.amount <= 0:
            raise ErpError(
                f"Expense {posting.reference}: the amount must be positive",
                permanent=True,
                code="invalid",
            )
        if posting.currency and posting.currency != company_currency:
            raise ErpError(
                f"Expense {posting.reference}: Tryton's company books in {company_currency}, "
                f"not {posting.currency}",
                permanent=True,
                code="invalid",
            )
        employees = self._search_read(
            "company.employee",
            [["party.code", "=", posting.employee_code], BOTH_ACTIVE],
            ["party", "party.account_payable"],
            limit=1,
        )
        if not employees or not posting.employee_code:
            raise ErpError(
                f"Tryton has no employee with number {posting.employee_code!r}",
                permanent=True,
                code="unknown_employee",
            )
        party = int(employees[0]["party"])
        payable = _related(employees[0], "party", "account_payable")
        if not payable:  # the party has none of its own: the company's default
            configuration = self._search_read(
                "account.configuration", [], ["default_account_payable"], limit=1
            )
            payable = configuration[0]["default_account_payable"] if configuration else None
        expense = self._expense_account(posting.cost_centre)
        journals = self._search_read("account.journal", [["type", "=", "expense"]], [], limit=1)
        if not journals or not payable:
            raise ErpError(
                "Tryton has no expense journal or payable account",
                permanent=True,
                code="invalid",
            )
        date = posting.date or datetime.date.today()
        period = self._period(company, date)
        description = posting.description or posting.reference
        move = {
            "company": company,
            "journal": int(journals[0]["id"]),
            "period": period,
            "date": date,
            "description": f"[{posting.reference}] {posting.description}".strip(),
            "lines": [
                [
                    "create",
                    [
                        {
                            "account": expense,
                            "debit": posting.amount,
                            "credit": Decimal(0),
                            "description": description,
                        },
                        {
                            "account": int(payable),
                            "party": party,
                            "debit": Decimal(0),
                            "credit": posting.amount,
                            "maturity_date": date,
                            "description": description,
                        },
                    ],
                ]
            ],
        }
        return self._create("account.move", [move])[0]

    def _expense_account(self, cost_centre: str) -> int:
        code = f"{EXPENSE_ACCOUNT_CODE}.{cost_centre}" if cost_centre else EXPENSE_ACCOUNT_CODE
        rows = self._search_read("account.account", [["code", "=", code]], [], limit=1)
        if not rows:
            raise ErpError(
                f"Tryton has no expense account {code} for cost centre {cost_centre!r}",
                permanent=True,
                code="unknown_cost_centre",
            )
        return int(rows[0]["id"])

    def _period(self, company: int, date: datetime.date) -> int:
        """The standard period holding ``date``; none is a permanent ``closed_period``. A
        closed one is given to Tryton, which refuses the move in its own words."""
        rows = self._search_read(
            "account.period",
            [
                ["start_date", "<=", date],
                ["end_date", ">=", date],
                ["fiscalyear.company", "=", company],
                ["type", "=", "standard"],
            ],
            ["state", "name"],
            order=[["start_date", "DESC"]],
            limit=1,
        )
        if not rows:
            raise ErpError(
                f"To continue, you must create a period for the date {date.isoformat()} "
                "(Tryton has no accounting period or fiscal year for it)",
                permanent=True,
                code="closed_period",
            )
        if rows[0]["state"] != "open":
            raise ErpError(
                f"To continue, you must reopen the period {rows[0]['name']!r} for the date "
                f"{date.isoformat()} (Tryton's period is {rows[0]['state']})",
                permanent=True,
                code="closed_period",
            )
        return int(rows[0]["id"])

    def employee_create(self, employee: Employee, *, idempotency_key: str) -> Employee:
        """A ``company.employee`` whose party's code is the employee number; an employee with
        this number is returned as it is (a repeated call creates nothing)."""
        _require(employee.code, "employee number")
        _require(employee.name, "employee name")
        existing = self._search_read(
            "company.employee", [["party.code", "=", employee.code], BOTH_ACTIVE], [], limit=1
        )
        if existing:
            return self._employee(int(existing[0]["id"]))
        company, _currency = self._company()
        category: int | None = None
        if employee.department_code:
            _root, departments = self._department_categories()
            category = self._department_id(employee.department_code, departments)
        party = self._party_by_code(employee.code)
        if party is None:
            values: dict[str, Any] = {"code": employee.code, "name": employee.name}
            if employee.email:
                values["contact_mechanisms"] = [
                    ["create", [{"type": "email", "value": employee.email}]]
                ]
            if category:
                values["categories"] = [["add", [category]]]
            party_id = self._create("party.party", [values])[0]
        else:
            party_id = int(party["id"])
            if category and category not in party["categories"]:
                self._write("party.party", [party_id], {"categories": [["add", [category]]]})
        employee_id = self._create(
            "company.employee",
            [{"party": party_id, "company": company, "start_date": employee.start_date}],
        )[0]
        return self._employee(employee_id)

    def _employee(self, employee_id: int) -> Employee:
        for found in self.employees():
            if found.erp_id == str(employee_id):
                return found
        raise ErpError(f"Tryton lost employee {employee_id}")  # pragma: no cover

    def department_upsert(self, department: Department, *, idempotency_key: str) -> Department:
        """The party category ``[CODE] name`` under ``Departments`` (or under its parent
        department): created once, renamed or moved when the portal changes it."""
        _require(department.code, "department code")
        _require(department.name, "department name")
        if "[" in department.code or "]" in department.code:
            raise ErpError(
                f"Department code {department.code!r} may not contain brackets",
                permanent=True,
                code="invalid",
            )
        root, departments = self._department_categories(create_root=True)
        parent = (
            self._department_id(department.parent_code, departments)
            if department.parent_code
            else root
        )
        name = f"[{department.code}] {department.name}"
        current = next(
            (cid for cid, (code, _n, _p) in departments.items() if code == department.code),
            None,
        )
        if current is None:
            category_id = self._create("party.category", [{"name": name, "parent": parent}])[0]
        else:
            category_id = current
            _code, old_name, old_parent = departments[current]
            if old_name != department.name or old_parent != parent:
                self._write("party.category", [current], {"name": name, "parent": parent})
        return Department(
            code=department.code,
            name=department.name,
            parent_code=department.parent_code,
            erp_id=str(category_id),
        )

    def budget(self, cost_centre: str, year: int) -> Budget:
        installed = self._search_read(
            "ir.module", [["name", "=", "account_budget"], ["state", "=", "activated"]], []
        )
        if not installed:
            raise ErpError(
                "Tryton's account_budget module is not activated",
                permanent=True,
                code="unsupported",
            )
        _company, currency = self._company()
        account = self._expense_account(cost_centre)
        lines = self._search_read(
            "account.budget.line",
            [
                ["account", "=", account],
                ["budget.fiscalyear.start_date", "<=", datetime.date(year, 12, 31)],
                ["budget.fiscalyear.end_date", ">=", datetime.date(year, 1, 1)],
            ],
            ["amount", "actual_amount"],
            order=[["id", "ASC"]],
        )
        if not lines:
            raise ErpError(
                f"Tryton has no budget for cost centre {cost_centre!r} in {year}",
                permanent=True,
                code="no_budget",
            )
        amount = sum((Decimal(line["amount"] or 0) for line in lines), Decimal(0))
        actual = sum((Decimal(line["actual_amount"] or 0) for line in lines), Decimal(0))
        return Budget(
            cost_centre=cost_centre, year=year, amount=-amount, spent=-actual, currency=currency
        )


class _Unauthorized(Exception):
    """401/403 from Tryton: the session is missing, expired or revoked."""


def _error_from(error: Any) -> ErpError:
    """Tryton's ``error`` member -> ErpError (see the module docstring)."""
    kind, args = (error[0], error[1]) if isinstance(error, list) and len(error) > 1 else ("", error)
    if kind == "UserError" and isinstance(args, list) and args:
        message = " ".join(str(part) for part in args[:2] if part).strip()
        return ErpError(message, permanent=True, code=classify_message(message))
    if kind == "UserWarning" and isinstance(args, list) and len(args) > 1:
        message = " ".join(str(part) for part in args[1:3] if part).strip()
        return ErpError(message, permanent=True, code=classify_message(message))
    if kind == "LoginException":
        return ErpError(f"Tryton asks for more to log in: {args}", permanent=True, code="auth")
    if kind == "ConcurrencyException":
        return ErpError(f"Tryton: {args}")
    # Any other exception on the server (a bug, a locked database): its transaction was
    # rolled back, so the outbox may try again; only its first line, never the traceback.
    message = str(kind or error).splitlines()[0][:500]
    return ErpError(f"Tryton failed: {message}")


def _require(value: str, label: str) -> None:
    if not (value or "").strip():
        raise ErpError(f"The {label} is empty", permanent=True, code="invalid")


def _formula_price(formula: str, list_price: Any) -> Decimal | None:
    """A price list line's price: a number, or ``unit_price * factor``; else None."""
    try:
        return Decimal(formula.strip())
    except (InvalidOperation, ValueError):
        pass
    match = _FACTOR.match(formula)
    if match and list_price is not None:
        return (Decimal(list_price) * Decimal(match["factor"])).quantize(Decimal("0.01"))
    return None


def _address_text(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    return f"{_text(row.get('city'))}{_text(row.get('street_unstructured'))}".strip()


def _payment_state(row: dict[str, Any]) -> PaymentState:
    state = row["state"]
    if state == "paid":
        return "paid"
    if state == "cancelled":
        return "cancelled"
    to_pay = Decimal(row["amount_to_pay"] or 0)
    total = Decimal(row["total_amount"] or 0)
    if state == "posted" and 0 < to_pay < total:
        return "partially_paid"
    return "unpaid"
