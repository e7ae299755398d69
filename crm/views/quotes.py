"""The CRM's quote pages: the list, a quote with its lines, approval and ERP order, the line
editor, submit / accept / retry, the printout (HTML and PDF), and the approval matrix.

Every page starts from ``crm.selectors.quotes.quotes_for`` (a quote of an account one may not
see answers 404); every change goes through ``crm.services.quotes``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from weasyprint import HTML, default_url_fetcher
from weasyprint.urls import URLFetchingError

from crm.forms_quotes import AcceptForm, LineFormSet, QuoteHeaderForm, RuleFormSet
from crm.models import ApprovalRule, Quote, QuoteStatus
from crm.selectors import quotes as selectors
from crm.selectors.visibility import account_for, is_sales_admin
from crm.services import quotes as services
from crm.views.common import add_errors, found
from erp_bridge.selectors import products_matching
from portal.errors import Refused
from portal.exports import EXPORT_CAP, Column, Sheet, sheet_response
from portal.http import signed_in


def _lines_of(formset: Any) -> list[services.LineInput]:
    lines = []
    for form in formset.forms:
        data = form.cleaned_data if form.is_valid() else {}
        if form.is_blank():
            continue
        lines.append(
            services.LineInput(
                product_code=data.get("product_code") or "",
                quantity=data.get("quantity"),
                discount=data.get("discount"),
                unit_price=data.get("unit_price"),
            )
        )
    return lines


def _products() -> list[Any]:
    return list(products_matching("", per_page=300, active_only=True).object_list)


@login_required
@require_http_methods(["GET"])
def quote_list(request: HttpRequest) -> HttpResponse:
    """报价: the quotes one may see, newest first; ``?status=`` filters."""
    user = signed_in(request)
    rows, status = _quotes_filtered(request)
    quotes = list(rows[:200])
    orders = selectors.orders_of(quotes)
    shown = [(q, selectors.shown_status(q, orders.get(q.order_reference))) for q in quotes]
    return render(
        request,
        "crm/quotes/list.html",
        {
            "rows": shown,
            "status": status,
            "statuses": QuoteStatus.choices,
            "is_sales_admin": is_sales_admin(user),
            "query": urlencode({"status": status}) if status in QuoteStatus.values else "",
        },
    )


def _quotes_filtered(request: HttpRequest) -> tuple[Any, str]:
    """The quotes of the list (those the person sees, newest first) with its ``?status=``."""
    rows = selectors.quotes_for(signed_in(request)).order_by("-created_at", "-id")
    status = request.GET.get("status", "")
    if status in QuoteStatus.values:
        rows = rows.filter(status=status)
    return rows, status


@login_required
@require_http_methods(["GET"])
def quote_export(request: HttpRequest) -> HttpResponseBase:
    """The quote list as it is filtered, as Excel or CSV (``?format=csv``): only the quotes
    the person sees, at most ``portal.exports.EXPORT_CAP``; amounts as money, dates as
    dates."""
    found, _status = _quotes_filtered(request)
    quotes = list(found.select_related("account", "created_by")[: EXPORT_CAP + 1])
    capped = len(quotes) > EXPORT_CAP
    quotes = quotes[:EXPORT_CAP]
    orders = selectors.orders_of(quotes)
    columns = [
        Column(_("Number")),
        Column(_("Account"), width=32),
        Column(_("Status")),
        Column(_("Currency"), width=8),
        Column(_("List total"), "money"),
        Column(_("Total"), "money"),
        Column(_("Discount (%)"), "number"),
        Column(_("Valid until"), "date"),
        Column(_("ERP order")),
        Column(_("Created by")),
        Column(_("Created"), "datetime", width=18),
    ]
    rows: list[Sequence[Any]] = [
        [
            q.number,
            q.account.name,
            selectors.shown_status(q, orders.get(q.order_reference))[1],
            q.currency,
            q.list_total,
            q.total,
            q.discount,
            q.valid_until,
            q.order_reference,
            q.created_by.display_name,
            q.created_at,
        ]
        for q in quotes
    ]
    return sheet_response(Sheet(_("Quotes"), columns, rows, capped), request)


def _initial_lines(quote: Quote | None) -> list[dict[str, Any]]:
    if quote is None:
        return []
    return [
        {
            "product_code": line.product_code,
            "quantity": line.quantity,
            "discount": line.discount,
        }
        for line in quote.lines.all()
    ]


def _editor(
    request: HttpRequest, quote: Quote | None, header: QuoteHeaderForm, formset: Any, account: Any
) -> HttpResponse:
    return render(
        request,
        "crm/quotes/form.html",
        {
            "quote": quote,
            "account": account,
            "header": header,
            "formset": formset,
            "products": _products(),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@found
def quote_create(request: HttpRequest) -> HttpResponse:
    """A new quote for an account one sees (``?account=``; ``?opportunity=`` links it)."""
    user = signed_in(request)
    source = request.POST if request.method == "POST" else request.GET
    try:
        account_id = int(source.get("account", ""))
    except ValueError:
        raise Http404(_("Choose the account the quote is for.")) from None
    account = account_for(user, account_id)
    if request.method == "GET":
        header = QuoteHeaderForm(
            initial={"account": account.pk, "opportunity": request.GET.get("opportunity")}
        )
        return _editor(request, None, header, LineFormSet(prefix="lines"), account)
    header = QuoteHeaderForm(request.POST)
    formset = LineFormSet(request.POST, prefix="lines")
    if header.is_valid() and formset.is_valid():
        data = header.cleaned_data
        try:
            quote = services.quote_create(
                by=user,
                account_id=account.pk,
                opportunity_id=data.get("opportunity"),
                price_list_code=data.get("price_list_code") or "",
                valid_until=data.get("valid_until"),
                notes=data.get("notes") or "",
                lines=_lines_of(formset),
            )
        except ValidationError as error:
            add_errors(header, error)
        else:
            messages.success(
                request, _("The quote %(number)s has been saved.") % {"number": quote.number}
            )
            return redirect("crm:quote_detail", quote.pk)
    return _editor(request, None, header, formset, account)


@login_required
@require_http_methods(["GET", "POST"])
@found
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft's (or a returned quote's) lines: its owner or a sales admin."""
    user = signed_in(request)
    quote = selectors.quote_for(user, pk)
    if request.method == "GET":
        header = QuoteHeaderForm(
            initial={
                "account": quote.account_id,
                "price_list_code": quote.price_list_code,
                "valid_until": quote.valid_until,
                "notes": quote.notes,
            }
        )
        formset = LineFormSet(prefix="lines", initial=_initial_lines(quote))
        return _editor(request, quote, header, formset, quote.account)
    header = QuoteHeaderForm(request.POST)
    formset = LineFormSet(request.POST, prefix="lines")
    if header.is_valid() and formset.is_valid():
        data = header.cleaned_data
        try:
            services.quote_update(
                by=user,
                quote_id=quote.pk,
                price_list_code=data.get("price_list_code") or "",
                valid_until=data.get("valid_until"),
                notes=data.get("notes") or "",
                lines=_lines_of(formset),
            )
        except ValidationError as error:
            add_errors(header, error)
        except Refused as error:
            header.add_error(None, str(error))
        else:
            messages.success(request, _("The quote has been saved."))
            return redirect("crm:quote_detail", quote.pk)
    return _editor(request, quote, header, formset, quote.account)


def quote_context(user: Any, quote: Quote) -> dict[str, Any]:
    order = selectors.order_state(quote)
    status, label = selectors.shown_status(quote, order.order if order else None)
    note = selectors.approval_note(quote)
    editable = selectors.may_edit(user, quote)
    return {
        "quote": quote,
        "lines": list(quote.lines.all()),
        "status": status,
        "status_label": label,
        "note": note,
        "order": order,
        "may_edit": editable,
        "may_change_lines": editable
        and (quote.status == QuoteStatus.DRAFT or (note is not None and note.returned)),
        "may_submit": editable
        and (quote.status == QuoteStatus.DRAFT or (note is not None and note.returned)),
        "may_accept": editable and quote.status == QuoteStatus.APPROVED,
        "may_retry": editable and order is not None and bool(order.refusal),
        "may_print": quote.status in (QuoteStatus.APPROVED, QuoteStatus.ACCEPTED),
        "accept_form": AcceptForm(),
    }


@login_required
@require_http_methods(["GET"])
@found
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    quote = selectors.quote_for(user, pk)
    return render(request, "crm/quotes/detail.html", quote_context(user, quote))


def _act(request: HttpRequest, pk: int, action: Callable[[], Any], done: str) -> HttpResponse:
    try:
        action()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except Refused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect("crm:quote_detail", pk)


@login_required
@require_POST
@found
def quote_submit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    quote = selectors.quote_for(user, pk)
    return _act(
        request,
        quote.pk,
        lambda: services.quote_submit(by=user, quote_id=quote.pk),
        _("The quote has been submitted."),
    )


@login_required
@require_POST
@found
def quote_accept(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    quote = selectors.quote_for(user, pk)
    form = AcceptForm(request.POST)
    confirmed = form.is_valid() and bool(form.cleaned_data["confirmed"])
    return _act(
        request,
        quote.pk,
        lambda: services.quote_accept(by=user, quote_id=quote.pk, confirmed=confirmed),
        _("The quote is accepted; its sales order is on its way to the ERP."),
    )


@login_required
@require_POST
@found
def quote_retry(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    quote = selectors.quote_for(user, pk)
    return _act(
        request,
        quote.pk,
        lambda: services.quote_order_retry(by=user, quote_id=quote.pk),
        _("The sales order is being sent to the ERP again."),
    )


def _data_only_fetcher(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The printout embeds everything it shows; no URL (http, file) is fetched while printing.
    if not url.startswith("data:"):
        raise URLFetchingError(f"not fetched while printing: {url[:80]}")
    fetched: dict[str, Any] = default_url_fetcher(url, *args, **kwargs)
    return fetched


@login_required
@require_http_methods(["GET"])
@found
def quote_print(request: HttpRequest, pk: int) -> HttpResponse:
    """An approved (or accepted) quote as a printable A4 page; ``?format=pdf`` as a PDF
    (WeasyPrint, the system's CJK fonts, nothing fetched). A draft is not printed (404)."""
    user = signed_in(request)
    quote = selectors.quote_for(user, pk)
    if quote.status not in (QuoteStatus.APPROVED, QuoteStatus.ACCEPTED):
        raise Http404(_("Only an approved quote can be printed."))
    as_pdf = request.GET.get("format") == "pdf"
    context = {
        "quote": quote,
        "lines": list(quote.lines.all()),
        "pdf": as_pdf,
        "printed_at": timezone.now(),
    }
    html = render_to_string("crm/quotes/print.html", context, request=request)
    if not as_pdf:
        return HttpResponse(html)
    document = HTML(string=html, url_fetcher=_data_only_fetcher)
    response = HttpResponse(bytes(document.write_pdf()), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{quote.number}.pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def approval_matrix(request: HttpRequest) -> HttpResponse:
    """报价审批矩阵: everyone signed in reads it; sales administrators change it."""
    user = signed_in(request)
    admin = is_sales_admin(user)
    rules = list(ApprovalRule.objects.all())
    initial = [
        {"min_discount": r.min_discount, "min_total": r.min_total, "level": r.level} for r in rules
    ]
    problems: list[str] = []
    if request.method == "POST":
        if not admin:
            raise PermissionDenied(_("Only sales administrators may change the approval matrix."))
        formset = RuleFormSet(request.POST, prefix="rules")
        if formset.is_valid():
            kept = [
                services.RuleInput(
                    f.cleaned_data["min_discount"],
                    f.cleaned_data["min_total"],
                    f.cleaned_data["level"],
                )
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            try:
                services.approval_matrix_save(by=user, rules=kept)
            except ValidationError as error:
                problems = error.messages
            else:
                messages.success(request, _("The approval matrix has been saved."))
                return redirect("crm:approval_matrix")
        status = 400
    else:
        formset = RuleFormSet(prefix="rules", initial=initial)
        status = 200
    return render(
        request,
        "crm/quotes/matrix.html",
        {"formset": formset, "rules": rules, "is_sales_admin": admin, "problems": problems},
        status=status,
    )


urlpatterns: list[URLPattern | URLResolver] = [
    path("quotes/", quote_list, name="quote_list"),
    path("quotes/export/", quote_export, name="quote_export"),
    path("quotes/new/", quote_create, name="quote_create"),
    path("quotes/approval-matrix/", approval_matrix, name="approval_matrix"),
    path("quotes/<int:pk>/", quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/edit/", quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/submit/", quote_submit, name="quote_submit"),
    path("quotes/<int:pk>/accept/", quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/retry/", quote_retry, name="quote_retry"),
    path("quotes/<int:pk>/print/", quote_print, name="quote_print"),
]
