"""The CRM's sales pages: parse the request, call one service or selector, render.

- ``leads/`` the leads one sees; ``leads/new/``; ``leads/<id>/`` a lead with its actions
  (qualify, disqualify with a reason, ``convert/``: account + contact + opportunity in one
  step, offering to attach to a likely duplicate account instead);
- ``pipeline/`` the kanban board (a column per stage; drag a card, or use its "move to"
  control, which works without a mouse and without JavaScript); ``opportunities/new/``,
  ``opportunities/<id>/`` with its timeline, ``edit/``, ``move/`` (POST; JSON for the board's
  script, a redirect otherwise);
- ``forecast/`` by month, owner and department (``?format=csv`` the same as CSV);
- ``accounts/<id>/activities/new/`` log a call, visit, meeting or e-mail, or schedule a
  follow-up (made for a phone); ``activities/<id>/done/``; ``followups/`` my open follow-ups;
- ``timeline/<account|contact|opportunity>/<id>/`` the timeline partial, for the account and
  contact pages to include or load.

Everything starts from ``crm.selectors`` (what one may not see answers 404); the services'
field errors go back on the form (400).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.forms_sales import (
    ActivityForm,
    BoardFilterForm,
    ConvertForm,
    DisqualifyForm,
    ForecastFilterForm,
    LeadForm,
    MoveForm,
    OpportunityEditForm,
    OpportunityForm,
)
from crm.models import Contact, Lead, LeadStatus, Opportunity, Stage
from crm.selectors import sales as selectors
from crm.selectors.visibility import Reach, account_for, accounts_for, is_sales_admin, reach_of
from crm.services import sales as services
from crm.views import board as board_html
from crm.views.common import add_errors, found
from portal.errors import NotFound
from portal.exports import Column, Sheet, sheet_response, take
from portal.http import signed_in
from portal.models import Department, User

LEAD_PAGE = 50
RECENT_ACCOUNTS = 100
COLUMN_MORE = 300


def _next(request: HttpRequest, default: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def _status(form: Any) -> int:
    return 400 if form.is_bound and form.errors else 200


# --- leads ---------------------------------------------------------------------------------------


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    """The leads the person sees, newest first; ``?status=`` one status."""
    user = signed_in(request)
    rows = leads_for_list(user, request.GET.get("status", ""))
    page = Paginator(rows, LEAD_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "crm/sales/leads.html",
        {
            "page": page,
            "statuses": LeadStatus.choices,
            "status": request.GET.get("status", ""),
            "query": urlencode({"status": request.GET["status"]})
            if request.GET.get("status")
            else "",
        },
    )


def leads_for_list(user: User, status: str) -> Any:
    rows = selectors.leads_for(user).select_related("owner").order_by("-created_at", "-id")
    if status in LeadStatus.values:
        rows = rows.filter(status=status)
    return rows


@login_required
@require_GET
def lead_export(request: HttpRequest) -> HttpResponseBase:
    """The lead list as it is filtered (``?status=``), as Excel or CSV (``?format=csv``):
    only the leads the person sees, at most ``portal.exports.EXPORT_CAP``."""
    user = signed_in(request)
    leads = leads_for_list(user, request.GET.get("status", "")).iterator(chunk_size=1000)
    rows, capped = take(
        [
            lead.company,
            lead.contact_name,
            lead.phone,
            lead.email,
            lead.get_source_display(),
            lead.get_industry_display(),
            lead.province,
            lead.city,
            lead.get_status_display(),
            lead.owner.display_name if lead.owner_id else "",
            lead.created_at,
        ]
        for lead in leads
    )
    columns = [
        Column(_("Company"), width=32),
        Column(_("Contact")),
        Column(_("Phone")),
        Column(_("E-mail"), width=24),
        Column(_("Source")),
        Column(_("Industry")),
        Column(_("Province")),
        Column(_("City")),
        Column(_("Status")),
        Column(_("Owner")),
        Column(_("Created"), "datetime", width=18),
    ]
    return sheet_response(Sheet(_("Leads"), columns, rows, capped), request)


@login_required
@require_http_methods(["GET", "POST"])
def lead_create(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    form = LeadForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(by=user, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("The lead has been saved."))
            if selectors.leads_for(user).filter(pk=lead.pk).exists():
                return redirect("crm:lead", lead_id=lead.pk)
            return redirect("crm:leads")
    return render(request, "crm/sales/lead_form.html", {"form": form}, status=_status(form))


def _lead_page(
    request: HttpRequest, lead: Lead, *, disqualify: DisqualifyForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "crm/sales/lead.html",
        {"lead": lead, "disqualify_form": disqualify or DisqualifyForm()},
        status=status,
    )


@login_required
@require_GET
@found
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _lead_page(request, selectors.lead_for(signed_in(request), lead_id))


@login_required
@require_POST
@found
def lead_qualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = signed_in(request)
    try:
        services.lead_qualify(lead_id, by=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The lead is qualified."))
    return redirect("crm:lead", lead_id=lead_id)


@login_required
@require_POST
@found
def lead_disqualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = signed_in(request)
    lead = selectors.lead_for(user, lead_id)
    form = DisqualifyForm(request.POST)
    if form.is_valid():
        try:
            services.lead_disqualify(lead_id, by=user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("The lead is disqualified."))
            return redirect("crm:lead", lead_id=lead_id)
    return _lead_page(request, lead, disqualify=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
@found
def lead_convert(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Convert a lead; when accounts the person sees look like its company, they choose one to
    attach to or ask for a new account."""
    user = signed_in(request)
    lead = selectors.lead_for(user, lead_id)
    credit = str(request.POST.get("credit_code", "")).strip().upper()
    duplicates = selectors.lead_duplicates(user, lead, credit_code=credit)
    data = request.POST if request.method == "POST" else None
    form = ConvertForm(data, duplicates=duplicates, initial={"opportunity_name": lead.company})
    if request.method == "POST" and form.is_valid():
        choice = form.cleaned_data["account"] or ConvertForm.NEW
        try:
            result = services.lead_convert(
                lead_id,
                by=user,
                account_id=None if choice == ConvertForm.NEW else int(choice),
                create_anyway=choice == ConvertForm.NEW and request.POST.get("offered") == "1",
                credit_code=form.cleaned_data["credit_code"],
                opportunity_name=form.cleaned_data["opportunity_name"],
                amount=form.cleaned_data["amount"],
                expected_close=form.cleaned_data["expected_close"],
            )
        except ValidationError as error:
            add_errors(form, error)
            if "status" in getattr(error, "error_dict", {}):
                form.add_error(None, error.message_dict["status"])
        else:
            messages.success(request, _("The lead has been converted."))
            return redirect("crm:opportunity", opportunity_id=result.opportunity.pk)
    return render(
        request,
        "crm/sales/lead_convert.html",
        {"lead": lead, "form": form, "duplicates": duplicates},
        status=_status(form),
    )


# --- the pipeline --------------------------------------------------------------------------------


def _filter_choices(
    user: User, reach: Reach | None
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The owners of the opportunities the person sees and the departments (two queries)."""
    owners = [
        (person.pk, person.display_name)
        for person in selectors.opportunity_owners(user, reach)
        .only("id", "username", "first_name", "last_name")
        .order_by("username")
    ]
    departments = [
        (d.pk, d.display_name)
        for d in Department.objects.filter(is_active=True)
        .only("id", "name", "name_en")
        .order_by("path")
    ]
    return owners, departments


def _reach(user: User) -> Reach | None:
    """The person's :class:`Reach`, read once for a page's several reads (none for a sales
    administrator, who sees everything)."""
    return None if is_sales_admin(user) else reach_of(user)


def _filters(form: BoardFilterForm) -> dict[str, Any]:
    if not form.is_valid():
        return {}
    department = None
    if form.cleaned_data.get("department"):
        department = Department.objects.filter(pk=form.cleaned_data["department"]).first()
    return {"owner_id": form.cleaned_data.get("owner"), "department": department}


@login_required
@require_GET
def pipeline(request: HttpRequest) -> HttpResponse:
    """The kanban board of the opportunities the person sees (filters: owner, department)."""
    user = signed_in(request)
    reach = _reach(user)
    owners, departments = _filter_choices(user, reach)
    form = BoardFilterForm(request.GET or None, owners=owners, departments=departments)
    stage = request.GET.get("stage")
    if stage in Stage.values:  # one column's "more": that column, longer
        board = selectors.board(user, reach=reach, stage=stage, limit=COLUMN_MORE, **_filters(form))
    else:
        board = selectors.board(user, reach=reach, **_filters(form))
    page = board_html.Page.of(request)
    return render(
        request,
        "crm/sales/pipeline.html",
        {
            "board": board,
            "lanes": [
                (column, board_html.cards(page, column.cards, column.stage))
                for column in board.columns
            ],
            "filter_form": form,
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_create(request: HttpRequest) -> HttpResponse:
    """A new opportunity on one of the accounts the person sees (``?account=`` chooses it)."""
    user = signed_in(request)
    recent = list(
        accounts_for(user)
        .filter(merged_into__isnull=True)
        .order_by("-updated_at", "-id")
        .values_list("id", "name")[:RECENT_ACCOUNTS]
    )
    wanted = request.GET.get("account") or request.POST.get("account")
    if wanted and wanted.isdigit() and all(str(pk) != wanted for pk, _name in recent):
        chosen = accounts_for(user).filter(pk=int(wanted)).values_list("id", "name").first()
        if chosen:
            recent.insert(0, chosen)
    form = OpportunityForm(request.POST if request.method == "POST" else None)
    form.fields["account"] = _account_field(recent)
    if request.method == "GET" and wanted:
        form.initial["account"] = wanted
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opportunity = services.opportunity_create(
                by=user,
                account_id=int(data["account"]),
                name=data["name"],
                amount=data["amount"],
                expected_close=data["expected_close"],
                competitors=data["competitors"],
                committed=data["committed"],
            )
        except NotFound:
            form.add_error("account", _("Choose one of the offered values."))
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("The opportunity has been saved."))
            return redirect("crm:opportunity", opportunity_id=opportunity.pk)
    return render(request, "crm/sales/opportunity_form.html", {"form": form}, status=_status(form))


def _account_field(recent: list[tuple[int, str]]) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("account"), choices=[("", "—"), *[(str(pk), name) for pk, name in recent]]
    )


# The templates the opportunity page includes before its timeline: other areas (quotes and
# their ERP orders) append theirs in their AppConfig.ready(), rendered with the page's context.
OPPORTUNITY_SECTIONS: list[str] = []


@login_required
@require_GET
@found
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = signed_in(request)
    opportunity = selectors.opportunity_for(user, opportunity_id)
    return render(
        request,
        "crm/sales/opportunity.html",
        {
            "opportunity": opportunity,
            "entries": selectors.timeline(opportunity=opportunity),
            "move": board_html.move_form(
                board_html.Page.of(request),
                opportunity.pk,
                board_html.stage_options(opportunity.stage),
            ),
            "sections": OPPORTUNITY_SECTIONS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@found
def opportunity_edit(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = signed_in(request)
    opportunity = selectors.opportunity_for(user, opportunity_id)
    initial = {
        name: getattr(opportunity, name)
        for name in (
            "name",
            "amount",
            "expected_close",
            "competitors",
            "committed",
            "probability",
            "lost_reason",
        )
    }
    form = OpportunityEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(opportunity_id, by=user, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("The opportunity has been saved."))
            return redirect("crm:opportunity", opportunity_id=opportunity_id)
    return render(
        request,
        "crm/sales/opportunity_form.html",
        {"form": form, "opportunity": opportunity},
        status=_status(form),
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
@found
def opportunity_move(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Move a card: the board's script (JSON answer: the card's new state, or the field
    errors with one message, 400) or the card's own "move to" form (a redirect back, the
    refusal as a message)."""
    user = signed_in(request)
    selectors.opportunity_for(user, opportunity_id)  # 404 before the form says anything
    form = MoveForm(request.POST)
    errors: dict[str, list[str]] = {}
    moved: Opportunity | None = None
    if form.is_valid():
        try:
            moved = services.opportunity_move(
                opportunity_id,
                by=user,
                stage=form.cleaned_data["stage"],
                position=form.cleaned_data["position"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    else:
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
    labels = {name: str(field.label) for name, field in MoveForm.base_fields.items()}
    labels |= {"amount": _("amount"), "expected_close": _("expected close")}
    message = " ".join(
        f"{labels.get(name, '')}: {text}" if labels.get(name) else text
        for name, texts in errors.items()
        for text in texts
    )
    if _wants_json(request):
        if moved is None:
            return JsonResponse({"ok": False, "errors": errors, "message": message}, status=400)
        return JsonResponse(
            {
                "ok": True,
                "id": moved.pk,
                "stage": moved.stage,
                "position": moved.position,
                "probability": moved.probability,
            }
        )
    if moved is None:
        messages.error(request, message)
    else:
        messages.success(
            request,
            _("Moved to %(stage)s.") % {"stage": Stage(moved.stage).label},
        )
    return redirect(_next(request, reverse("crm:pipeline")))


# --- the forecast --------------------------------------------------------------------------------


@login_required
@require_GET
def forecast(request: HttpRequest) -> HttpResponse:
    """The forecast table; ``?format=csv`` or ``?format=xlsx`` as a file."""
    user = signed_in(request)
    reach = _reach(user)
    owners, departments = _filter_choices(user, reach)
    form = ForecastFilterForm(request.GET or None, owners=owners, departments=departments)
    today = timezone.localdate()
    start, months = today.replace(day=1), 6
    if form.is_bound and form.is_valid():
        start = form.cleaned_data.get("start") or start
        months = form.cleaned_data.get("months") or months
    rows = selectors.forecast(user, start=start, months=months, reach=reach, **_filters(form))
    if request.GET.get("format") in ("csv", "xlsx"):
        return sheet_response(_forecast_sheet(rows, start), request)
    totals = {
        name: sum((getattr(row, name) for row in rows), start=0)
        for name in ("count", "pipeline", "weighted", "committed", "won")
    }
    return render(
        request,
        "crm/sales/forecast.html",
        {"rows": rows, "totals": totals, "filter_form": form, "query": request.GET.urlencode()},
    )


def _forecast_sheet(rows: list[selectors.ForecastRow], start: datetime.date) -> Sheet:
    columns = [
        Column(_("month")),
        Column(_("department"), width=20),
        Column(_("owner")),
        Column(_("opportunities"), "number"),
        Column(_("pipeline"), "money"),
        Column(_("weighted"), "money"),
        Column(_("committed"), "money"),
        Column(_("won"), "money"),
    ]
    lines = [
        [
            f"{row.month:%Y-%m}",
            row.department,
            row.owner,
            row.count,
            row.pipeline,
            row.weighted,
            row.committed,
            row.won,
        ]
        for row in rows
    ]
    return Sheet(f"{_('Forecast')}-{start:%Y-%m}", columns, list(lines))


# --- activities ----------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
@found
def activity_create(request: HttpRequest, account_id: int) -> HttpResponse:
    """Log a call, visit, meeting or e-mail on an account, or schedule a follow-up; made to be
    used on a phone (big choices, one column)."""
    user = signed_in(request)
    account = account_for(user, account_id)
    contacts = [(c.pk, c.name) for c in Contact.objects.filter(account=account).order_by("name")]
    opportunities = [
        (o.pk, o.name) for o in Opportunity.objects.filter(account=account).order_by("-created_at")
    ]
    initial = {
        "kind": request.GET.get("kind") or "visit",
        "contact": _int(request.GET.get("contact")),
        "opportunity": _int(request.GET.get("opportunity")),
    }
    form = ActivityForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        contacts=contacts,
        opportunities=opportunities,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.activity_log(
                by=user,
                account_id=account.pk,
                kind=data["kind"],
                subject=data["subject"],
                notes=data["notes"],
                contact_id=data["contact"],
                opportunity_id=data["opportunity"],
                due_at=data["due_at"],
                remind_at=data["remind_at"],
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("The activity has been saved."))
            default = (
                reverse("crm:opportunity", kwargs={"opportunity_id": data["opportunity"]})
                if data["opportunity"]
                else reverse("crm:followups")
            )
            return redirect(_next(request, default))
    return render(
        request,
        "crm/sales/activity_form.html",
        {"form": form, "account": account, "next": _next(request, "")},
        status=_status(form),
    )


@login_required
@require_POST
@found
def activity_done(request: HttpRequest, activity_id: int) -> HttpResponse:
    services.activity_done(activity_id, by=signed_in(request))
    messages.success(request, _("Marked done."))
    return redirect(_next(request, reverse("crm:followups")))


@login_required
@require_GET
def followups(request: HttpRequest) -> HttpResponse:
    """My open follow-ups, the soonest due first."""
    user = signed_in(request)
    return render(
        request,
        "crm/sales/followups.html",
        {"followups": selectors.my_followups(user, limit=200), "now": timezone.now()},
    )


@login_required
@require_GET
@found
def timeline(request: HttpRequest, kind: str, object_id: int) -> HttpResponse:
    """The timeline partial of an account, a contact or an opportunity the person sees."""
    user = signed_in(request)
    if kind == "account":
        entries = selectors.timeline(account=account_for(user, object_id))
    elif kind == "contact":
        contact = Contact.objects.filter(pk=object_id, account__in=accounts_for(user)).first()
        if contact is None:
            raise NotFound(_("There is no such contact, or you may not see it."))
        entries = selectors.timeline(contact=contact)
    elif kind == "opportunity":
        entries = selectors.timeline(opportunity=selectors.opportunity_for(user, object_id))
    else:
        raise Http404
    return render(request, "crm/sales/_timeline.html", {"entries": entries})


urlpatterns: list[URLPattern | URLResolver] = [
    path("leads/", lead_list, name="leads"),
    path("leads/export/", lead_export, name="lead_export"),
    path("leads/new/", lead_create, name="lead_create"),
    path("leads/<int:lead_id>/", lead_detail, name="lead"),
    path("leads/<int:lead_id>/qualify/", lead_qualify, name="lead_qualify"),
    path("leads/<int:lead_id>/disqualify/", lead_disqualify, name="lead_disqualify"),
    path("leads/<int:lead_id>/convert/", lead_convert, name="lead_convert"),
    path("pipeline/", pipeline, name="pipeline"),
    path("opportunities/new/", opportunity_create, name="opportunity_create"),
    path("opportunities/<int:opportunity_id>/", opportunity_detail, name="opportunity"),
    path("opportunities/<int:opportunity_id>/edit/", opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:opportunity_id>/move/", opportunity_move, name="opportunity_move"),
    path("forecast/", forecast, name="forecast"),
    path("accounts/<int:account_id>/activities/new/", activity_create, name="activity_create"),
    path("activities/<int:activity_id>/done/", activity_done, name="activity_done"),
    path("followups/", followups, name="followups"),
    path("timeline/<str:kind>/<int:object_id>/", timeline, name="timeline"),
]
