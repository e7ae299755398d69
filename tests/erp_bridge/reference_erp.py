"""A small reference ERP gateway on loopback, in the shape of a Kingdee-style WebAPI: its
own field names (``FNumber``, ``FName``, ``FCustId.FNumber`` ...), answers wrapped as
``{"errcode": 0, "errmsg": "", "data": ...}``, an OAuth2 client-credentials token endpoint,
and writes deduplicated by ``Idempotency-Key`` (a second delivery with the same key gets the
first answer again and creates nothing).

The tests of the HTTP adapter (``tests/erp_bridge/test_http_adapter.py``) and the
benchmarks (``bench/``) start it; it imports nothing of pytest. Switches a test can flip:

- ``down()`` / ``up()``: stop listening (connection refused) and listen again on the port;
- ``slow_seconds``: sleep that long before answering; a write is committed *before* the
  sleep, so a client that times out does not know it arrived (the outbox's hard case);
- ``fail_next(n, status=503)``: the next ``n`` API calls answer ``status``;
- ``token_ttl``: the lifetime of new tokens (``advertised_ttl``: the ``expires_in`` it
  announces, when a test wants the two to differ); ``expire_tokens()`` revokes every token;
- ``echo_credentials``: a refused token request echoes the secret it got (a careless ERP),
  so a test can prove the adapter never repeats it;
- ``closed_through``: expense postings dated on or before it fall in a closed period.

What reached it is recorded: ``received`` (every write request, duplicates included),
``token_requests``, and the documents in ``orders``, ``expenses``, ``customers`` ...
"""

from __future__ import annotations

import contextlib
import datetime
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["Received", "ReferenceErp"]

BASE_PATH = "/k3cloud"


@dataclass
class Received:
    """One write request as the server got it."""

    path: str
    idempotency_key: str
    body: dict[str, Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], erp: ReferenceErp) -> None:
        self.erp = erp
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close the kept-alive connections too: "down" means nothing answers."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(value)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the adapter's session expects
    server: _Server
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the tests' output is the tests'

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body, default=_default, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up waiting (a time-out)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        erp = self.server.erp
        raw = self._body()
        parts = urlsplit(self.path)
        if parts.path == "/oauth2/token" and method == "POST":
            status, body = erp.token(parse_qs(raw.decode()))
            self._reply(status, body)
            return
        status_override = erp.take_failure()
        if status_override:
            self._reply(status_override, {"errcode": status_override, "errmsg": "服务暂不可用"})
            return
        if not erp.authorised(self.headers.get("Authorization", "")):
            self._reply(401, {"errcode": 401, "errmsg": "令牌无效或已过期"})
            return
        try:
            payload = json.loads(raw, parse_float=Decimal) if raw else {}
        except ValueError:
            self._reply(400, {"errcode": "BAD_JSON", "errmsg": "请求不是合法的 JSON"})
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "GET":
            status, body = erp.read(parts.path, query)
            erp.sleep()
        else:
            status, body = erp.write(parts.path, self.headers.get("Idempotency-Key", ""), payload)
            erp.sleep()  # after the commit: the client may time out, the write stands
        self._reply(status, body)


def _ok(data: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"errcode": 0, "errmsg": "", "data": data}


def _refuse(code: str, message: str, status: int = 200) -> tuple[int, dict[str, Any]]:
    return status, {"errcode": code, "errmsg": message, "data": None}


@dataclass
class ReferenceErp:
    """The server and its data. ``start()`` listens on ``127.0.0.1`` at a free port."""

    client_id: str = "portal"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    token_ttl: float = 3600.0
    advertised_ttl: float | None = None  # the expires_in it announces; None: token_ttl
    slow_seconds: float = 0.0
    echo_credentials: bool = False
    closed_through: datetime.date = datetime.date(2000, 12, 31)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.tokens: dict[str, float] = {}  # token -> monotonic end of life
        self.token_requests = 0
        self.received: list[Received] = []
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}  # idempotency key -> answer
        self._failures: list[int] = []
        self._sequence = 0
        self.materials: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.employees: dict[str, dict[str, Any]] = {}
        self.departments: dict[str, dict[str, Any]] = {}
        self.price_lists: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}  # by the portal's reference
        self.expenses: dict[str, dict[str, Any]] = {}  # by the portal's reference
        self.invoices: list[dict[str, Any]] = []
        self.budgets: dict[tuple[str, int], dict[str, Any]] = {}
        self.seed()

    # --- life cycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/token"

    def start(self) -> ReferenceErp:
        self._server = _Server(("127.0.0.1", self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="reference-erp",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.drop_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def down(self) -> None:
        """Stop listening: a call now meets a refused connection."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self.start()

    def __enter__(self) -> ReferenceErp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- switches -------------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def take_failure(self) -> int:
        with self._lock:
            return self._failures.pop(0) if self._failures else 0

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def sleep(self) -> None:
        if self.slow_seconds:
            time.sleep(self.slow_seconds)

    # --- the data -------------------------------------------------------------------------------

    def seed(self) -> None:
        """A small company: three materials, two customers, a department tree, employees, a
        price list, a budget and an invoice source."""
        for number, name, unit, price in (
            ("P-1001", "不锈钢螺栓 M8", "Pcs", "0.85"),
            ("P-1002", "工业润滑油 5L", "Btl", "128.00"),
            ("P-1003", "安全帽", "Pcs", "45.50"),
        ):
            self.materials[number] = {
                "FMaterialId": 100000 + len(self.materials) + 1,
                "FNumber": number,
                "FName": name,
                "FBaseUnitId": {"FNumber": unit},
                "FPrice": Decimal(price),
                "FCurrencyId": {"FNumber": "CNY"},
                "FForbidStatus": "A",
            }
        self.materials["P-1003"]["FForbidStatus"] = "B"  # 禁用
        for number, name, tax in (
            ("C-001", "上海华东机电有限公司", "91310000MA1FL4XQ2B"),
            ("C-002", "杭州西湖贸易有限公司", ""),
        ):
            self.customers[number] = {
                "FCUSTID": 200000 + len(self.customers) + 1,
                "FNumber": number,
                "FName": name,
                "FSocialCRCode": tax,
                "FTel": "021-5555-0100",
                "FEmail": "",
                "FAddress": "",
                "FForbidStatus": "A",
            }
        for number, name, parent in (("D01", "总部", ""), ("D0101", "销售部", "D01")):
            self.departments[number] = {
                "FDEPTID": 300000 + len(self.departments) + 1,
                "FNumber": number,
                "FName": name,
                "FParentId": {"FNumber": parent},
            }
        self.employees["E0001"] = {
            "FID": 400001,
            "FStaffNumber": "E0001",
            "FName": "张伟",
            "FDeptId": {"FNumber": "D0101"},
            "FEmail": "zhangwei@example.com",
            "FJoinDate": "2024-03-01T00:00:00",
            "FForbidStatus": "A",
        }
        self.price_lists["PL-STD"] = {
            "FID": 500001,
            "FNumber": "PL-STD",
            "FName": "标准销售价目表",
            "FCurrencyId": {"FNumber": "CNY"},
            "FEntity": [
                {"FMaterialId": {"FNumber": "P-1001"}, "FPrice": Decimal("0.80"), "FFromQty": 0},
                {"FMaterialId": {"FNumber": "P-1001"}, "FPrice": Decimal("0.72"), "FFromQty": 1000},
                {"FMaterialId": {"FNumber": "P-1002"}, "FPrice": Decimal("120.00"), "FFromQty": 0},
            ],
        }
        self.budgets[("CC-SALES", 2026)] = {
            "FCostCenter": {"FNumber": "CC-SALES"},
            "FYear": 2026,
            "FAmount": Decimal("500000.00"),
            "FSpent": Decimal("123456.78"),
            "FCurrencyId": {"FNumber": "CNY"},
        }

    def _next(self, prefix: str) -> str:
        self._sequence += 1
        return f"{prefix}{self._sequence:06d}"

    def invoice_order(self, reference: str, *, paid: bool = False) -> dict[str, Any]:
        """Invoice an order (what the ERP's accountants would do), for the status reads."""
        with self._lock:
            order = self.orders[reference]
            order["FInvoiced"] = True
            invoice = {
                "FBillNo": self._next("AR"),
                "FSrcBillNo": reference,
                "FAllAmount": order["FBillAllAmount"],
                "FCurrencyId": {"FNumber": order["FSettleCurrId"]},
                "FPayStatus": "C" if paid else "A",
                "FEndDate": "2026-12-31T00:00:00",
            }
            self.invoices.append(invoice)
            return invoice

    # --- the protocol ---------------------------------------------------------------------------

    def token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests += 1
            client_id = (form.get("client_id") or [""])[0]
            secret = (form.get("client_secret") or [""])[0]
            grant = (form.get("grant_type") or [""])[0]
            if grant != "client_credentials":
                return 400, {"error": "unsupported_grant_type"}
            if client_id != self.client_id or not secrets.compare_digest(
                secret, self.client_secret
            ):
                description = "客户端认证失败"
                if self.echo_credentials:
                    description += f" (client_secret={secret})"
                return 401, {"error": "invalid_client", "error_description": description}
            token = secrets.token_urlsafe(24)
            self.tokens[token] = time.monotonic() + self.token_ttl
            return 200, {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_ttl
                if self.advertised_ttl is None
                else self.advertised_ttl,
            }

    def authorised(self, header: str) -> bool:
        scheme, _sep, token = header.partition(" ")
        with self._lock:
            end = self.tokens.get(token)
            return scheme == "Bearer" and end is not None and time.monotonic() < end

    def read(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = [unquote(p) for p in path.removeprefix(BASE_PATH).strip("/").split("/")]
        with self._lock:
            tables = {
                "materials": self.materials,
                "customers": self.customers,
                "employees": self.employees,
                "departments": self.departments,
                "price-lists": self.price_lists,
            }
            if len(parts) == 1 and parts[0] in tables:
                return _ok({"rows": list(tables[parts[0]].values())})
            if len(parts) == 2 and parts[0] == "sales-orders":
                order = self.orders.get(parts[1])
                if order is None:
                    return _refuse("BILL_NOT_EXIST", f"单据“{parts[1]}”不存在", 404)
                return _ok(order)
            if parts == ["invoices"]:
                rows = [i for i in self.invoices if i["FSrcBillNo"] == query.get("FSrcBillNo")]
                return _ok({"rows": rows})
            if len(parts) == 3 and parts[0] == "budgets":
                budget = self.budgets.get((parts[1], int(parts[2])))
                if budget is None:
                    return _refuse("BUDGET_NOT_EXIST", "预算不存在", 404)
                return _ok(budget)
        return _refuse("NOT_FOUND", "接口不存在", 404)

    def write(self, path: str, key: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.received.append(Received(path, key, payload))
            if not key:
                return _refuse("IDEMPOTENCY_KEY_REQUIRED", "缺少幂等键 Idempotency-Key", 400)
            if key in self.answers:
                return self.answers[key]
            answer = self._apply(path.removeprefix(BASE_PATH).strip("/"), payload.get("Model"))
            if answer[0] < 500:
                self.answers[key] = answer
            return answer

    def _apply(self, resource: str, model: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(model, dict):
            return _refuse("BAD_REQUEST", "缺少 Model", 400)
        handlers = {
            "customers": self._save_customer,
            "sales-orders": self._save_order,
            "expenses": self._save_expense,
            "employees": self._save_employee,
            "departments": self._save_department,
        }
        handler = handlers.get(resource)
        if handler is None:
            return _refuse("NOT_FOUND", "接口不存在", 404)
        return handler(model)

    def _save_customer(self, model: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = model.get("FNumber")
        if not number or not model.get("FName"):
            return _refuse("FIELD_REQUIRED", "客户编码和名称必填", 400)
        row = self.customers.setdefault(
            number, {"FCUSTID": 200000 + len(self.customers) + 1, "FForbidStatus": "A"}
        )
        row.update(model)
        return _ok(dict(row))

    def _save_order(self, model: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer = (model.get("FCustId") or {}).get("FNumber")
        if customer not in self.customers:
            return _refuse("CUSTOMER_NOT_EXIST", f"编码为“{customer}”的客户不存在")
        total = Decimal("0")
        for line in model.get("FSaleOrderEntry") or []:
            material = (line.get("FMaterialId") or {}).get("FNumber")
            if material not in self.materials:
                return _refuse("MATERIAL_NOT_EXIST", f"编码为“{material}”的物料不存在")
            price = line.get("FTaxPrice")
            if price is None:
                price = self.materials[material]["FPrice"]
            total += Decimal(str(line.get("FQty"))) * Decimal(str(price))
        reference = model.get("F_PORTAL_REF") or ""
        if reference in self.orders:
            return _refuse("BILL_NO_DUPLICATE", f"单据“{reference}”已存在", 409)
        order = {
            "FID": 600000 + len(self.orders) + 1,
            "FBillNo": self._next("XSDD"),
            "F_PORTAL_REF": reference,
            "FDocumentStatus": "C",
            "FBillAllAmount": total,
            "FSettleCurrId": (model.get("FSettleCurrId") or {}).get("FNumber", "CNY"),
            "FShipped": False,
            "FInvoiced": False,
            "FNote": model.get("FNote", ""),
            "FSaleOrderEntry": model.get("FSaleOrderEntry") or [],
        }
        self.orders[reference] = order
        return _ok(order)

    def _save_expense(self, model: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        staff = (model.get("FProposerId") or {}).get("FNumber")
        if staff not in self.employees:
            return _refuse("STAFF_NOT_EXIST", f"编码为“{staff}”的员工不存在")
        date_text = model.get("FDate") or datetime.date.today().isoformat()
        if datetime.date.fromisoformat(date_text[:10]) <= self.closed_through:
            return _refuse("PERIOD_CLOSED", f"会计期间已结账，不能在 {date_text[:10]} 记账", 422)
        reference = model.get("F_PORTAL_REF") or ""
        expense = {
            "FID": 700000 + len(self.expenses) + 1,
            "FBillNo": self._next("FYBX"),
            "F_PORTAL_REF": reference,
            "FDocumentStatus": "C",
            **model,
        }
        self.expenses[reference] = expense
        return _ok(expense)

    def _save_employee(self, model: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = model.get("FStaffNumber")
        if not number:
            return _refuse("FIELD_REQUIRED", "员工编号必填", 400)
        row = self.employees.setdefault(number, {"FID": 400000 + len(self.employees) + 1})
        row.update(model)
        row.setdefault("FForbidStatus", "A")
        return _ok(dict(row))

    def _save_department(self, model: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = model.get("FNumber")
        if not number:
            return _refuse("FIELD_REQUIRED", "部门编码必填", 400)
        row = self.departments.setdefault(number, {"FDEPTID": 300000 + len(self.departments) + 1})
        row.update(model)
        return _ok(dict(row))
