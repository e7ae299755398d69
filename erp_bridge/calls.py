"""The interface call log: every call across the portal's edge, out (the ERP, webhook
subscribers) and in (the API, webhooks), with its duration and outcome, and the per-minute
roll-up the console reads (``CallStat``).

``logged(gateway)`` wraps an adapter so that every gateway operation is recorded, whoever
calls it. Inside ``collecting()`` (the outbox dispatcher's batch) the records wait in memory
and are written together when the block ends, one insert and one upsert per minute and
operation instead of two writes per call.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from erp_bridge.gateway import ErpError, Gateway
from erp_bridge.models import CallStat, InterfaceCall
from erp_bridge.models.calls import BUCKETS_MS

__all__ = [
    "CallFact",
    "api_call_recorded",
    "calls_record",
    "collecting",
    "digest",
    "logged",
    "record",
]

log = logging.getLogger(__name__)

# the gateway's operations (every public method of the Protocol)
GATEWAY_OPERATIONS = frozenset(
    {
        "products",
        "price_lists",
        "customers",
        "employees",
        "departments",
        "customer_upsert",
        "sales_order_create",
        "expense_post",
        "employee_create",
        "department_upsert",
        "sales_order_status",
        "invoices",
        "budget",
    }
)


@dataclass(frozen=True, slots=True)
class CallFact:
    interface: str
    direction: str  # "out" / "in"
    operation: str
    duration_ms: int
    outcome: str  # InterfaceCall.Outcome
    at: datetime.datetime
    status_code: int | None = None
    error: str = ""
    idempotency_key: str = ""
    payload_digest: str = ""
    caller: str = ""


@dataclass
class _Batch:
    facts: list[CallFact] = field(default_factory=list)


_BATCH: ContextVar[_Batch | None] = ContextVar("erp_bridge_call_batch", default=None)


def digest(payload: Any) -> str:
    """A SHA-256 of the payload's canonical JSON: enough to tell two calls' payloads apart or
    alike, nothing of their content."""
    if payload is None:
        return ""
    if isinstance(payload, bytes):
        raw = payload
    else:
        raw = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()


def _bucket(duration_ms: int) -> int:
    for index, bound in enumerate(BUCKETS_MS):
        if duration_ms <= bound:
            return index
    return len(BUCKETS_MS)


def _minute(at: datetime.datetime) -> datetime.datetime:
    return at.replace(second=0, microsecond=0)


_COLUMNS = ["calls", "errors", "total_ms", *(f"b{i}" for i in range(len(BUCKETS_MS) + 1))]


def _upsert_stats(facts: Sequence[CallFact]) -> None:
    """Add the facts to their minutes' and hours' rows: one ``INSERT ... ON CONFLICT DO
    UPDATE`` per (interface, operation, grain, start), the same statement on PostgreSQL and
    SQLite; rows are sorted so that two writers take their row locks in the same order."""
    rows: dict[tuple[str, str, int, datetime.datetime], list[int]] = {}
    for fact in facts:
        minute = _minute(fact.at)
        for grain, start in ((1, minute), (60, minute.replace(minute=0))):
            row = rows.setdefault(
                (fact.interface, fact.operation, grain, start), [0] * len(_COLUMNS)
            )
            row[0] += 1
            row[1] += fact.outcome != InterfaceCall.Outcome.OK
            row[2] += fact.duration_ms
            row[3 + _bucket(fact.duration_ms)] += 1
    table = connection.ops.quote_name(CallStat._meta.db_table)
    columns = ", ".join(["interface", "operation", "grain", "minute", *_COLUMNS])
    placeholders = ", ".join(["%s"] * (4 + len(_COLUMNS)))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _COLUMNS)
    # only our own column names are put into the text; every value is a parameter
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT (interface, operation, grain, minute) DO UPDATE SET {updates}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        [interface, operation, grain, adapt(start), *values]
        for (interface, operation, grain, start), values in sorted(rows.items())
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def calls_record(facts: Sequence[CallFact]) -> None:
    """Write the facts: their log rows and their minutes' statistics, in one transaction
    (joined when the caller has one). A transaction of their own (every API call's: the
    answer is made already) commits on PostgreSQL without waiting for the WAL to reach the
    disk (``synchronous_commit`` off for it alone, as PostgreSQL's manual suggests for
    less important transactions): a crash of the database server may lose the last fraction
    of a second of the log, never leave it inconsistent; the caller does not wait 1-3 ms
    for a flush on every API call."""
    if not facts:
        return
    own = not connection.in_atomic_block
    with transaction.atomic():
        if own and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        InterfaceCall.objects.bulk_create(
            [
                InterfaceCall(
                    interface=f.interface[:64],
                    direction=f.direction,
                    operation=f.operation[:96],
                    at=f.at,
                    duration_ms=max(0, f.duration_ms),
                    outcome=f.outcome,
                    status_code=f.status_code,
                    error=f.error[:2000],
                    idempotency_key=f.idempotency_key[:64],
                    payload_digest=f.payload_digest,
                    caller=f.caller[:150],
                )
                for f in facts
            ]
        )
        _upsert_stats(facts)


def record(fact: CallFact) -> None:
    """Record one call: now, or with the batch when inside :func:`collecting`."""
    batch = _BATCH.get()
    if batch is not None:
        batch.facts.append(fact)
        return
    calls_record([fact])


@contextmanager
def collecting() -> Iterator[list[CallFact]]:
    """Hold the calls recorded inside the block and write them together when it ends (even
    when it ends with an error: a failed delivery is a call too)."""
    batch = _Batch()
    token = _BATCH.set(batch)
    try:
        yield batch.facts
    finally:
        _BATCH.reset(token)
        calls_record(batch.facts)


class _Logged:
    """A gateway whose every operation is recorded (see the module docstring)."""

    def __init__(self, inner: Gateway, interface: str) -> None:
        self._inner = inner
        self._interface = interface
        self.name = inner.name
        self.connected = inner.connected

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in GATEWAY_OPERATIONS:
            return attribute
        return self._wrap(name, attribute)

    def _wrap(self, operation: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            key = str(kwargs.get("idempotency_key") or "")
            payload = args[0] if args else None
            started = time.monotonic()
            at = timezone.now()
            outcome, error = InterfaceCall.Outcome.OK, ""
            try:
                return method(*args, **kwargs)
            except ErpError as exc:
                outcome = (
                    InterfaceCall.Outcome.REFUSED if exc.permanent else InterfaceCall.Outcome.ERROR
                )
                error = exc.message
                raise
            except Exception as exc:  # a bug in an adapter: logged, then raised as it is
                outcome, error = InterfaceCall.Outcome.ERROR, f"{type(exc).__name__}: {exc}"
                raise
            finally:
                record(
                    CallFact(
                        interface=self._interface,
                        direction="out",
                        operation=operation,
                        duration_ms=round((time.monotonic() - started) * 1000),
                        outcome=str(outcome),
                        at=at,
                        error=error,
                        idempotency_key=key,
                        payload_digest=digest(_plain(payload)),
                    )
                )

        return call


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | Mapping | list):
        return value
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return {name: getattr(value, name) for name in fields}
    return repr(value)


def logged(inner: Gateway, interface: str | None = None) -> Gateway:
    """``inner`` with every operation recorded in the call log under ``interface`` (by
    default ``erp:<adapter name>``)."""
    return cast(Gateway, _Logged(inner, interface or f"erp:{inner.name}"))


def api_call_recorded(request: HttpRequest, status: int, duration_ms: int) -> None:
    """The inbound API's calls in the same log (``portal.registry.api_call_listeners``):
    interface ``api``, the operation as the endpoint's route name (not its path, so that
    ``/products/P0001/`` and ``/products/P0002/`` add up), the caller's user name."""
    if not request.path.startswith("/api/v1/"):
        return
    match = getattr(request, "resolver_match", None)
    endpoint = match.view_name if match is not None else "(no such endpoint)"
    user = getattr(request, "user", None)
    outcome = (
        InterfaceCall.Outcome.OK
        if status < 400
        else InterfaceCall.Outcome.REFUSED
        if status < 500
        else InterfaceCall.Outcome.ERROR
    )
    record(
        CallFact(
            interface="api",
            direction="in",
            operation=f"{request.method} {endpoint}",
            duration_ms=duration_ms,
            outcome=str(outcome),
            at=timezone.now(),
            status_code=status,
            caller=user.get_username() if user is not None and user.is_authenticated else "",
        )
    )
