"""Master-data sync: the ERP's products, price lists, customers and employees pulled into the
portal's local read copies (``erp_bridge/models/masterdata.py``), on a schedule (the Celery
beat entry ``erp-bridge-sync-masterdata``, every ``ERP_SYNC_INTERVAL`` seconds) and on demand
from the integration console.

The ERP is read *outside* any transaction (no row lock is held while the network call runs);
the copies are then written in one short transaction: rows matched by their shared ``code``,
new ones inserted and changed ones updated in bulk (a few queries per run, not one per row),
copies the ERP no longer has marked inactive (never deleted: quotes and forms point at them).
Each run leaves a :class:`~erp_bridge.models.SyncRun` with its counts and result; a failed
read (:class:`~erp_bridge.gateway.ErpError`) leaves a failed run and changes no copy.

With the embedded adapter no ERP is connected: the tables *are* the master data, kept in the
admin or by import, and a sync has nothing to pull; its run says so and changes nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from erp_bridge import gateway as g
from erp_bridge.adapters import gateway
from erp_bridge.errors import REFUSALS, refusal_text
from erp_bridge.gateway import ErpError
from erp_bridge.models import (
    Customer,
    EmployeeRecord,
    OrderRecord,
    PriceList,
    PriceListLine,
    Product,
    SyncRun,
)
from erp_bridge.webhooks import FINAL_STATES, order_status_update
from portal.errors import Invalid, NotFound

__all__ = ["last_syncs", "masterdata_sync", "masterdata_sync_all", "orders_poll"]

log = logging.getLogger(__name__)

# ``SyncRun.message`` of a run with the embedded adapter, in the language of the run
NOT_CONNECTED = gettext_noop("no ERP connected: the portal's own master data are used")

_CENT = Decimal("0.01")
_BATCH = 500


def _money(value: Decimal) -> Decimal:
    """Prices as the copies store them (two places), so an ERP's ``10`` equals our ``10.00``
    and an unchanged price is not counted as a change on every run."""
    return Decimal(value).quantize(_CENT)


@dataclass(slots=True)
class _Counts:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    skipped: list[str] = field(default_factory=list)


# What each kind copies: the model, and a record's values for the copy's fields.
_Values = Callable[[Any], dict[str, Any]]


def _product_values(p: g.Product) -> dict[str, Any]:
    return {
        "name": p.name,
        "unit": p.unit,
        "list_price": _money(p.list_price),
        "currency": p.currency,
        "erp_id": p.erp_id,
        "active": p.active,
    }


def _price_list_values(p: g.PriceList) -> dict[str, Any]:
    return {"name": p.name, "currency": p.currency, "erp_id": p.erp_id, "active": True}


def _customer_values(c: g.Customer) -> dict[str, Any]:
    return {
        "name": c.name,
        "tax_code": c.tax_code,
        "phone": c.phone,
        "email": c.email,
        "address": c.address,
        "erp_id": c.erp_id,
        "active": c.active,
    }


def _employee_values(e: g.Employee) -> dict[str, Any]:
    return {
        "name": e.name,
        "department_code": e.department_code,
        "email": e.email,
        "erp_id": e.erp_id,
        "active": e.active,
    }


_KINDS: dict[str, tuple[type[models.Model], _Values]] = {
    SyncRun.Kind.PRODUCTS: (Product, _product_values),
    SyncRun.Kind.PRICE_LISTS: (PriceList, _price_list_values),
    SyncRun.Kind.CUSTOMERS: (Customer, _customer_values),
    SyncRun.Kind.EMPLOYEES: (EmployeeRecord, _employee_values),
}


def _read(gw: g.Gateway, kind: str) -> Sequence[Any]:
    readers: dict[str, Callable[[], Sequence[Any]]] = {
        SyncRun.Kind.PRODUCTS: gw.products,
        SyncRun.Kind.PRICE_LISTS: gw.price_lists,
        SyncRun.Kind.CUSTOMERS: gw.customers,
        SyncRun.Kind.EMPLOYEES: gw.employees,
    }
    return readers[kind]()


def _too_long(model: type[models.Model], values: dict[str, Any]) -> str:
    """The first field whose value does not fit its column ('' when all fit): such a record
    is skipped and named in the run's message, rather than failing the whole run on
    PostgreSQL or being cut short silently."""
    for name, value in values.items():
        column = model._meta.get_field(name)
        limit = getattr(column, "max_length", None)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            return str(getattr(column, "verbose_name", name))
    return ""


def _accepted(
    model: type[models.Model], records: Iterable[Any], values: _Values, counts: _Counts
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The ERP's records worth copying, by code, and every code the ERP has (a record
    skipped for a bad field is still in the ERP: its copy is not deactivated)."""
    wanted: dict[str, dict[str, Any]] = {}
    present: set[str] = set()
    code_limit = int(getattr(model._meta.get_field("code"), "max_length", 0) or 0)
    for record in records:
        code = str(record.code or "").strip()
        if not code or len(code) > code_limit:
            counts.skipped.append(
                _('a record with the code "%(code)s" (empty or longer than %(limit)d characters)')
                % {"code": code[:60], "limit": code_limit}
            )
            continue
        present.add(code)
        if code in wanted:
            counts.skipped.append(_("%(code)s: the code appears twice") % {"code": code})
            continue
        row = values(record)
        bad = _too_long(model, row)
        if bad:
            counts.skipped.append(
                _("%(code)s: %(field)s is too long") % {"code": code, "field": bad}
            )
            continue
        wanted[code] = row
    return wanted, present


def _upsert(
    model: type[models.Model],
    wanted: dict[str, dict[str, Any]],
    present: set[str],
    now: datetime.datetime,
    counts: _Counts,
) -> tuple[dict[str, Any], set[str]]:
    """Insert, update and deactivate the copies of ``model``; the copies by code after it,
    and the codes whose copy was inserted or changed."""
    manager = model._default_manager
    existing: dict[str, Any] = {row.code: row for row in manager.all()}  # type: ignore[attr-defined]
    new, changed, unchanged, touched = [], [], [], set()
    fields: set[str] = set()
    for code, row in wanted.items():
        copy = existing.get(code)
        if copy is None:
            new.append(model(code=code, synced_at=now, **row))
            touched.add(code)
            continue
        differing = [name for name, value in row.items() if getattr(copy, name) != value]
        if differing:
            for name in differing:
                setattr(copy, name, row[name])
            copy.synced_at = now
            changed.append(copy)
            fields.update(differing)
            touched.add(code)
        else:
            unchanged.append(copy.pk)
    gone = [copy.pk for code, copy in existing.items() if code not in present and copy.active]
    if new:
        manager.bulk_create(new, batch_size=_BATCH)
    if changed:
        manager.bulk_update(changed, sorted({*fields, "synced_at"}), batch_size=_BATCH)
    for start in range(0, len(unchanged), _BATCH):
        manager.filter(pk__in=unchanged[start : start + _BATCH]).update(synced_at=now)
    for start in range(0, len(gone), _BATCH):
        manager.filter(pk__in=gone[start : start + _BATCH]).update(active=False, synced_at=now)
    counts.created += len(new)
    counts.updated += len(changed)
    counts.deactivated += len(gone)
    copies = {row.code: row for row in manager.filter(code__in=list(wanted))}  # type: ignore[attr-defined]
    return copies, touched


def _sync_lines(
    price_lists: Sequence[g.PriceList],
    copies: dict[str, Any],
    touched: set[str],
    counts: _Counts,
) -> None:
    """A price list's lines are replaced when they differ from the ERP's (a list whose only
    change is a line counts as updated). A line of a product the portal has no copy of is
    left out and named in the run's message (sync products first)."""
    products: dict[str, int] = {
        code: pk for code, pk in Product.objects.values_list("code", "id") if pk is not None
    }
    held: dict[int, set[tuple[int, Decimal, Decimal]]] = {}
    for price_list_id, product_id, price, minimum in PriceListLine.objects.filter(
        price_list_id__in=[c.pk for c in copies.values()]
    ).values_list("price_list_id", "product_id", "price", "min_quantity"):
        held.setdefault(price_list_id, set()).add((product_id, _money(price), _money(minimum)))
    replace: list[int] = []
    lines: list[PriceListLine] = []
    seen: set[str] = set()
    for record in price_lists:
        copy = copies.get(str(record.code).strip())
        if copy is None or copy.code in seen:
            continue
        seen.add(copy.code)
        # one line per (list, product, minimum quantity): the constraint's key
        unique: dict[tuple[int, Decimal], Decimal] = {}
        for line in record.lines:
            product = products.get(line.product_code)
            if product is None:
                counts.skipped.append(
                    _("%(list)s: a line of the unknown product %(product)s")
                    % {"list": copy.code, "product": line.product_code}
                )
                continue
            unique.setdefault((product, _money(line.min_quantity)), _money(line.price))
        wanted = {(p, price, m) for (p, m), price in unique.items()}
        if wanted == held.get(copy.pk, set()):
            continue
        replace.append(copy.pk)
        if copy.code not in touched:
            counts.updated += 1
        lines.extend(
            PriceListLine(price_list_id=copy.pk, product_id=p, price=price, min_quantity=m)
            for (p, m), price in unique.items()
        )
    if replace:
        PriceListLine.objects.filter(price_list_id__in=replace).delete()
        PriceListLine.objects.bulk_create(lines, batch_size=_BATCH)


@transaction.atomic(durable=True)
def _write(kind: str, records: Sequence[Any], now: datetime.datetime) -> _Counts:
    model, values = _KINDS[kind]
    counts = _Counts()
    wanted, present = _accepted(model, records, values, counts)
    copies, touched = _upsert(model, wanted, present, now, counts)
    if kind == SyncRun.Kind.PRICE_LISTS:
        _sync_lines(records, copies, touched, counts)
    return counts


def _message(counts: _Counts) -> str:
    if not counts.skipped:
        return ""
    shown = "; ".join(counts.skipped[:20])
    more = len(counts.skipped) - 20
    if more > 0:
        shown += " " + _("(and %(count)d more)") % {"count": more}
    return _("Left out: %(records)s") % {"records": shown}


def _erp_message(exc: ErpError) -> str:
    """The ERP's refusal in the user's language where its code is known
    (erp_bridge/errors.py), followed by the ERP's own words, which are all we have for the
    rest (a network error, a refusal the adapter did not recognise)."""
    if exc.code in REFUSALS:
        return f"{refusal_text(exc)} ({exc.message})"
    return exc.message


def masterdata_sync(kind: str, *, by: str = "") -> SyncRun:
    """Pull one kind of master data (a ``SyncRun.Kind`` value) from the ERP into its local
    copies and record the run. ``by``: the user name of who asked ('' for the schedule).

    The ERP is read before any transaction opens; the copies change in one transaction or
    not at all: a failed read gives a run with ``ok=False`` and the ERP's message, and no copy
    changes. With the embedded adapter (no ERP connected) the run says so and changes
    nothing."""
    if kind not in _KINDS:
        raise ValueError(f"unknown master data kind {kind!r}; one of {sorted(_KINDS)}")
    run = SyncRun(
        kind=kind,
        adapter=str(settings.ERP_ADAPTER)[:16],
        started_at=timezone.now(),
        triggered_by=by[:150],
    )
    try:
        gw = gateway()  # the HTTP adapter reads its connection here: it may be missing
    except ErpError as exc:
        run.ok, run.message = False, _erp_message(exc)
        run.finished_at = timezone.now()
        run.save()
        return run
    run.adapter = gw.name
    if not gw.connected:
        run.ok, run.message = True, _(NOT_CONNECTED)
    else:
        try:
            records = _read(gw, kind)
        except ErpError as exc:
            run.ok, run.message = False, _erp_message(exc)
        else:
            counts = _write(kind, records, timezone.now())
            run.ok = True
            run.created, run.updated, run.deactivated = (
                counts.created,
                counts.updated,
                counts.deactivated,
            )
            run.message = _message(counts)
    run.finished_at = timezone.now()
    run.save()
    return run


def masterdata_sync_all(*, by: str = "") -> list[SyncRun]:
    """Every kind, products first (a price list's lines need the products' copies)."""
    return [masterdata_sync(kind, by=by) for kind in SyncRun.Kind.values]


def last_syncs() -> dict[str, SyncRun | None]:
    """The latest run of each kind (None: never synced), for the pages that show when the
    master data were last pulled and how that went."""
    return {
        kind: SyncRun.objects.filter(kind=kind).order_by("-started_at", "-pk").first()
        for kind in SyncRun.Kind.values
    }


# --- polling the sales orders' status (for ERPs without webhooks) ------------------------------


def _open_orders(limit: int) -> list[str]:
    """Orders whose story is not over: not done or cancelled, or done and not yet paid;
    the ones heard of longest ago first, so a long list is polled round by round."""
    return list(
        OrderRecord.objects.exclude(state="cancelled")
        .filter(~Q(state__in=FINAL_STATES) | Q(paid=False))
        .order_by(F("source_updated_at").asc(nulls_first=True), "pk")
        .values_list("reference", flat=True)[:limit]
    )


def orders_poll(*, limit: int = 200) -> int:
    """Ask the ERP for the status and invoices of up to ``limit`` open sales orders and
    record them through :func:`~erp_bridge.webhooks.order_status_update` (source ``poll``);
    returns how many reports were recorded (a stale one, older than a webhook's, is not).
    Each order is read outside any transaction; the report is stamped with the moment the
    read began, so a webhook about something that happened after it still wins. An order
    the ERP refuses to answer for (not delivered yet) is skipped; a network error or a
    time-out ends the round (the ERP is down: asking about every other order would only
    wait out as many time-outs)."""
    try:
        gw = gateway()
    except ErpError as exc:
        log.warning("poll: no ERP to ask: %s", exc.message)
        return 0
    polled = 0
    for reference in _open_orders(limit):
        stamp = timezone.now()
        try:
            status = gw.sales_order_status(reference)
            invoices = [i for i in gw.invoices(reference) if i.payment_state != "cancelled"]
        except ErpError as exc:
            if not exc.permanent:  # the ERP is down or slow: the next round tries again
                log.warning("poll: stopped at order %s: %s", reference, exc.message)
                break
            log.info("poll: order %s not read: %s", reference, exc.message)
            continue
        invoiced = status.invoiced or bool(invoices)
        paid = all(i.payment_state == "paid" for i in invoices) if invoices else None
        try:
            recorded = order_status_update(
                reference=reference,
                state=status.state,
                shipped=status.shipped,
                invoiced=invoiced,
                paid=paid,
                source_updated_at=stamp,
                source="poll",
            )
        except (NotFound, Invalid) as exc:  # deleted meanwhile; a state we do not know
            log.warning("poll: order %s not recorded: %s", reference, exc)
            continue
        polled += recorded
    return polled
