"""The integration console (集成控制台) for integration administrators: the overview (which
ERP is connected; per interface calls, error rate and response times over a window, as
charts with their tables; the outbox queue; recent failures), the outbox with replay and
discard, the master-data copies with "Sync now", webhook subscriptions, and the sales orders
sent to the ERP.

Who: integration administrators (``erp_bridge.monitoring.is_integration_admin``): anyone
else signed in gets a 403 (a page that needs a permission, as the workflow's console), an
anonymous visitor the login page. Each action needs its own permission as well (replay and
discard: ``change_outboxmessage``, checked by the outbox's services; "Sync now":
``add_syncrun``; subscriptions: checked by the webhook services). Views are thin: reads come
from ``erp_bridge.selectors``, every change from a service; a refusal is a message in the
reader's language and changes nothing. htmx asks for the part of a page that refreshes
(the overview's figures, a list's rows) and gets the partial alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from erp_bridge import monitoring, selectors, sync, webhooks
from erp_bridge.adapters import gateway
from erp_bridge.forms import (
    KIND_LABELS,
    WINDOWS,
    MasterDataForm,
    OrderFilterForm,
    OutboxFilterForm,
    SubscriptionForm,
    SyncForm,
    WindowForm,
)
from erp_bridge.gateway import ErpError
from erp_bridge.models import OutboxState, SyncRun, WebhookSubscription
from erp_bridge.models.calls import BUCKETS_MS
from erp_bridge.models.webhooks import EVENTS
from erp_bridge.outbox import operations, outbox_discard, outbox_replay
from portal.charts import ChartSpec, Series, count_chart, human_duration
from portal.errors import PortalError
from portal.http import only_for, refusal_text, safe_next, signed_in, wants_partial
from portal.keyset import Cursor, Source, keyset_page

PAGE_SIZE = 25
ADAPTER_LABELS = {
    "embedded": "embedded",
    "tryton": "Tryton",
    "http": "HTTP / REST",
}


console_required = only_for(monitoring.is_integration_admin)


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = safe_next(request, request.POST.get("next"), default)
    return HttpResponseRedirect(target, status=303)


def _ms(value: float | None) -> str:
    """A response time in words: "38 ms", "1.2 s", "—" without calls; the open-ended last
    bucket reads "≥ 10 s"."""
    if value is None:
        return "—"
    if value >= 1000:
        text = _("%(seconds)s s") % {"seconds": f"{value / 1000:.1f}".rstrip("0").rstrip(".")}
    else:
        text = _("%(ms)d ms") % {"ms": round(value)}
    return f"≥ {text}" if value >= BUCKETS_MS[-1] else text


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def interface_label(interface: str) -> str:
    """An interface's name for people: "ERP (Tryton)", "Webhook: CRM", "Portal API"."""
    kind, _sep, rest = interface.partition(":")
    if kind == "erp":
        return _("ERP (%(adapter)s)") % {"adapter": ADAPTER_LABELS.get(rest, rest)}
    if kind == "webhook":
        return _("Webhook: %(name)s") % {"name": rest}
    if kind == "api":
        return _("Portal API (calls in)")
    return interface


def _adapter() -> dict[str, Any]:
    """Which ERP serves (the adapter's name), whether one is connected, and what is wrong
    when the configured one cannot be made (an HTTP connection not set up)."""
    name = str(settings.ERP_ADAPTER)
    try:
        gw = gateway()
    except ErpError as error:
        return {
            "name": name,
            "label": ADAPTER_LABELS.get(name, name),
            "connected": False,
            "problem": error.message,
        }
    return {
        "name": gw.name,
        "label": ADAPTER_LABELS.get(gw.name, gw.name),
        "connected": bool(gw.connected),
        "problem": "",
        "url": settings.ERP_URL if gw.name == "tryton" else "",
    }


# --- the overview ------------------------------------------------------------------------------


def _series_charts(
    interface: str, points: Sequence[selectors.Point], step: datetime.timedelta
) -> dict[str, Any]:
    pattern = "H:i" if step < datetime.timedelta(days=1) else "m-d"
    labels = [
        date_format(
            timezone.localtime(p.start),
            "m-d H:i" if step >= datetime.timedelta(hours=6) else pattern,
        )
        for p in points
    ]
    calls_chart = count_chart(
        _("Calls of %(interface)s") % {"interface": interface},
        labels,
        [(_("calls"), [p.calls for p in points]), (_("failed"), [p.errors for p in points])],
    )
    times_chart = ChartSpec(
        kind="bar",
        title=_("Response time of %(interface)s") % {"interface": interface},
        categories=labels,
        series=[
            Series(
                _("p50"), [round(p.p50_ms or 0) for p in points], [_ms(p.p50_ms) for p in points]
            ),
            Series(
                _("p95"), [round(p.p95_ms or 0) for p in points], [_ms(p.p95_ms) for p in points]
            ),
        ],
        axis=_("{n} ms"),
    )
    rows = [
        {
            "label": label,
            "calls": p.calls,
            "errors": p.errors,
            "error_rate": _percent(p.error_rate) if p.calls else "—",
            "p50": _ms(p.p50_ms),
            "p95": _ms(p.p95_ms),
        }
        for label, p in zip(labels, points, strict=True)
    ]
    return {"calls_chart": calls_chart, "times_chart": times_chart, "rows": rows}


def _overview_context(request: HttpRequest) -> dict[str, Any]:
    form = WindowForm(request.GET)
    window = form.window_key()
    length, step = WINDOWS[window]
    now = timezone.now()
    since = now - length
    interfaces = []
    overview = selectors.interface_overview(since=since, until=now, step=step)
    for n, (summary, points) in enumerate(overview):
        label = interface_label(summary.interface)
        interfaces.append(
            {
                "summary": summary,
                "label": label,
                "slug": f"i{n}",
                "error_rate": _percent(summary.error_rate),
                "bad": summary.error_rate >= float(settings.ERP_ALERT_ERROR_RATE),
                "p50": _ms(summary.p50_ms),
                "p95": _ms(summary.p95_ms),
                **_series_charts(label, points, step),
            }
        )
    health = selectors.outbox_health(now=now)
    age = health.oldest_pending_age
    return {
        "form": form,
        "window": window,
        "windows": [(key, label) for key, label in form.fields["window"].choices],  # type: ignore[attr-defined]
        "adapter": _adapter(),
        "interfaces": interfaces,
        "states": [
            (state, label, health.counts.get(state, 0)) for state, label in OutboxState.choices
        ],
        "oldest": human_duration(age.total_seconds()) if age is not None else "",
        "queue_slow": age is not None and age.total_seconds() > int(settings.ERP_ALERT_QUEUE_AGE),
        "failures": [
            (call, interface_label(call.interface)) for call in selectors.recent_failures(20)
        ],
        "now": now,
        "tab": "overview",
    }


@console_required
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    """The overview; htmx refreshes its figures every minute."""
    context = _overview_context(request)
    if wants_partial(request):
        return render(request, "erp_bridge/partials/_overview.html", context)
    return render(request, "erp_bridge/console.html", context)


# --- the outbox --------------------------------------------------------------------------------


def _query_without(query: QueryDict, *names: str) -> str:
    copy = query.copy()
    for name in names:
        copy.pop(name, None)
    return copy.urlencode()


@console_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """The outbox, newest first, filtered by state, operation and business object; keyset
    pages ("Load more")."""
    form = OutboxFilterForm(request.GET)
    form.is_valid()
    cursor = Cursor.decode_or_none(request.GET.get("after", ""))
    page = keyset_page(
        [Source(selectors.outbox_messages(**form.filters()), "created_at")],
        after=cursor,
        size=PAGE_SIZE,
    )
    base_query = _query_without(request.GET, "after")
    next_url = ""
    if page.next is not None:
        next_url = "?" + "&".join(p for p in (base_query, f"after={page.next.encode()}") if p)
    user = signed_in(request)
    for row in page.objects:  # the operation in words, where its module registered them
        registered = operations.get(row.operation)
        row.operation_label = str(registered.label) if registered else row.operation
    context = {
        "form": form,
        "messages_page": page.objects,
        "next_url": next_url,
        "may_settle": user.has_perm("erp_bridge.change_outboxmessage"),
        "here": request.get_full_path(),
        "now": timezone.now(),
        "tab": "outbox",
    }
    if wants_partial(request) and cursor is not None:
        return render(request, "erp_bridge/partials/_outbox_rows.html", context)
    return render(request, "erp_bridge/outbox.html", context)


def _settle(request: HttpRequest, pk: int, act: Callable[..., Any], done: str) -> HttpResponse:
    try:
        act(pk, by=signed_in(request))
    except PortalError as error:
        messages.error(request, refusal_text(error))
    else:
        messages.success(request, done % {"id": pk})
    return _back(request, reverse("erp_bridge:outbox"))


@console_required
@require_POST
def outbox_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a dead letter back in line (``outbox_replay``)."""
    return _settle(request, pk, outbox_replay, _("Message #%(id)d is waiting to be sent again."))


@console_required
@require_POST
def outbox_discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Give up a dead or waiting message (``outbox_discard``)."""
    return _settle(
        request, pk, outbox_discard, _("Message #%(id)d was discarded; it will not be sent.")
    )


# --- master data -------------------------------------------------------------------------------

_MATCHING = {
    SyncRun.Kind.PRODUCTS: selectors.products_matching,
    SyncRun.Kind.PRICE_LISTS: selectors.price_lists_matching,
    SyncRun.Kind.CUSTOMERS: selectors.customers_matching,
    SyncRun.Kind.EMPLOYEES: selectors.employees_matching,
}


@console_required
@require_GET
def masterdata(request: HttpRequest) -> HttpResponse:
    """The local copies of one kind of master data, searchable by code or name, with the
    last synchronization of every kind and "Sync now"."""
    form = MasterDataForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    kind = data.get("kind") or SyncRun.Kind.PRODUCTS
    q = data.get("q") or ""
    page = _MATCHING[SyncRun.Kind(kind)](q, page=request.GET.get("page"))
    query = QueryDict(mutable=True)
    query.update({"kind": kind, "q": q})
    context = {
        "form": form,
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "kinds": list(SyncRun.Kind.choices),
        "q": q,
        "page": page,
        "page_query": query.urlencode(),
        "syncs": [(key, KIND_LABELS[key], run) for key, run in selectors.last_syncs().items()],
        "may_sync": signed_in(request).has_perm("erp_bridge.add_syncrun"),
        "adapter": _adapter(),
        "tab": "masterdata",
    }
    if wants_partial(request):
        return render(request, "erp_bridge/partials/_masterdata_rows.html", context)
    return render(request, "erp_bridge/masterdata.html", context)


@console_required
@require_POST
def masterdata_sync_view(request: HttpRequest) -> HttpResponse:
    """Pull one kind of master data now (``masterdata_sync``) and say how it went."""
    back = reverse("erp_bridge:masterdata")
    if not signed_in(request).has_perm("erp_bridge.add_syncrun"):
        messages.error(request, _("Only integration administrators may start a synchronization."))
        return _back(request, back)
    form = SyncForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Choose what to synchronize: products, price lists, customers or employees.")
        )
        return _back(request, back)
    kind = form.cleaned_data["kind"]
    run = sync.masterdata_sync(kind, by=signed_in(request).get_username())
    label = capfirst(KIND_LABELS[kind])
    if run.ok:
        messages.success(
            request,
            _("%(kind)s synchronized: %(message)s") % {"kind": label, "message": run.message},
        )
    else:
        messages.error(
            request,
            _("%(kind)s could not be synchronized: %(message)s")
            % {"kind": label, "message": run.message},
        )
    return _back(request, f"{back}?kind={kind}")


# --- webhook subscriptions ----------------------------------------------------------------------


@console_required
@require_http_methods(["GET", "POST"])
def subscriptions(request: HttpRequest) -> HttpResponse:
    """The systems that receive the portal's events; add one (its signing secret is shown
    in this one answer, never again)."""
    user = signed_in(request)
    created: WebhookSubscription | None = None
    secret = ""
    status = 200
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                created, secret = webhooks.subscription_create(
                    name=form.cleaned_data["name"],
                    url=form.cleaned_data["url"],
                    events=list(form.cleaned_data["events"]),
                    by=user,
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for field, problems in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, problems)
                else:
                    form.add_error(None, error)
                status = 400
            except PortalError as error:
                messages.error(request, refusal_text(error))
                status = 403
            else:
                form = SubscriptionForm()
        else:
            status = 400
    else:
        form = SubscriptionForm()
    context = {
        "form": form,
        "subscriptions": list(WebhookSubscription.objects.order_by("name", "pk")),
        "events": EVENTS,
        "created": created,
        "secret": secret,
        "may_add": user.has_perm("erp_bridge.add_webhooksubscription"),
        "may_delete": user.has_perm("erp_bridge.delete_webhooksubscription"),
        "tab": "webhooks",
    }
    response = render(request, "erp_bridge/webhooks.html", context, status=status)
    if secret:
        response["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response


@console_required
@require_POST
def subscription_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """End a subscription (``subscription_delete``)."""
    try:
        webhooks.subscription_delete(pk, by=signed_in(request))
    except PortalError as error:
        messages.error(request, refusal_text(error))
    else:
        messages.success(request, _("The subscription was deleted; it receives no more events."))
    return _back(request, reverse("erp_bridge:webhooks"))


# --- sales orders ------------------------------------------------------------------------------


@console_required
@require_GET
def orders(request: HttpRequest) -> HttpResponse:
    """The sales orders the portal sent to the ERP, with the status the ERP reported."""
    form = OrderFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    page = selectors.orders_matching(
        data.get("q") or "", state=data.get("state") or "", page=request.GET.get("page")
    )
    context = {
        "form": form,
        "page": page,
        "page_query": _query_without(request.GET, "page"),
        "adapter": _adapter(),
        "tab": "orders",
    }
    if wants_partial(request):
        return render(request, "erp_bridge/partials/_order_rows.html", context)
    return render(request, "erp_bridge/orders.html", context)


urlpatterns: list[URLPattern | URLResolver] = [
    path("console/", console, name="console"),
    path("console/outbox/", outbox, name="outbox"),
    path("console/outbox/<int:pk>/replay/", outbox_replay_view, name="outbox_replay"),
    path("console/outbox/<int:pk>/discard/", outbox_discard_view, name="outbox_discard"),
    path("console/master-data/", masterdata, name="masterdata"),
    path("console/master-data/sync/", masterdata_sync_view, name="masterdata_sync"),
    path("console/webhooks/", subscriptions, name="webhooks"),
    path("console/webhooks/<int:pk>/delete/", subscription_delete_view, name="webhook_delete"),
    path("console/orders/", orders, name="orders"),
]
