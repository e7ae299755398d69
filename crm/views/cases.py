"""The service cases' pages (服务工单), under ``/crm/cases/``:

- ``cases/`` the cases one sees (their accounts'), filtered by status or "mine", newest first,
  page by page (keyset); ``new/`` a case from the portal (phone-friendly; ``?account=<id>``
  preselects the account and offers its contacts); ``intake/`` the e-mail-like intake (from,
  subject, message: the sender finds the account);
- ``<id>/`` a case: its SLA deadlines and state, the steps its status allows, its history,
  and after it is resolved the satisfaction form; ``<id>/do/<step>/`` a step (POST);
  ``<id>/feedback/`` the rating (POST).

A case of an account one may not see answers 404 (``crm.selectors.cases``); a step its
status refuses says why on the page and changes nothing.
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm.forms_cases import CaseForm, FeedbackForm, IntakeForm, SlaPoliciesForm, StepForm
from crm.models import CaseStatus, SlaPolicy
from crm.selectors import cases as selectors
from crm.selectors.visibility import account_for, accounts_for, is_sales_admin
from crm.services import cases as services
from crm.views.common import add_errors, found
from portal.errors import Refused
from portal.exports import Column, Sheet, sheet_response, take
from portal.http import refusal_text, signed_in, wants_partial
from portal.keyset import Cursor, Source, keyset_page

PAGE_SIZE: Final = 25

# the steps a case's page offers in each status, with their button labels
STEPS: Final[dict[str, tuple[Any, ...]]] = {
    "respond": (gettext_lazy("Respond"), (CaseStatus.NEW,)),
    "wait": (gettext_lazy("Wait for the customer"), (CaseStatus.NEW, CaseStatus.OPEN)),
    "resume": (gettext_lazy("Customer answered"), (CaseStatus.WAITING,)),
    "resolve": (
        gettext_lazy("Resolve"),
        (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING),
    ),
    "close": (gettext_lazy("Close"), (CaseStatus.RESOLVED,)),
    "reopen": (gettext_lazy("Reopen"), (CaseStatus.RESOLVED, CaseStatus.CLOSED)),
}


EVENT_LABELS: Final = {
    "opened": gettext_lazy("opened"),
    "intake": gettext_lazy("received by e-mail from"),
    "responded": gettext_lazy("responded"),
    "waiting": gettext_lazy("waiting for the customer"),
    "resumed": gettext_lazy("customer answered"),
    "resolved": gettext_lazy("resolved"),
    "closed": gettext_lazy("closed"),
    "reopened": gettext_lazy("reopened"),
    "escalated": gettext_lazy("escalated"),
    "rated": gettext_lazy("rated"),
}


def _cases_filtered(request: HttpRequest) -> tuple[Any, str, bool, str]:
    """The cases of the list (those the person sees) with its filters: ``?status=`` (or
    ``active``), ``?mine=1``, ``?q=`` (subject or number); and those filters."""
    user = signed_in(request)
    rows = selectors.cases_for(user).select_related("account", "owner")
    status = request.GET.get("status", "")
    if status == "active":
        rows = rows.filter(status__in=selectors.ACTIVE)
    elif status in CaseStatus.values:
        rows = rows.filter(status=status)
    mine = request.GET.get("mine") == "1"
    if mine:
        rows = rows.filter(owner=user)
    text = request.GET.get("q", "").strip()[:100]
    if text:
        rows = rows.filter(subject__icontains=text) | rows.filter(number__istartswith=text)
    return rows, status, mine, text


SLA_LABELS: Final = {
    "none": gettext_lazy("no SLA"),
    "paused": gettext_lazy("paused"),
    "running": gettext_lazy("in time"),
    "breached": gettext_lazy("breached"),
    "met": gettext_lazy("met"),
}


@login_required
@require_http_methods(["GET"])
def case_export(request: HttpRequest) -> HttpResponseBase:
    """The case list as it is filtered, as Excel or CSV (``?format=csv``), newest opened
    first: only the cases the person sees, at most ``portal.exports.EXPORT_CAP``."""
    found, _status, _mine, _text = _cases_filtered(request)
    now = timezone.now()
    cases = found.order_by("-opened_at", "-pk").iterator(chunk_size=1000)
    rows, capped = take(
        [
            c.number,
            c.subject,
            c.account.name,
            c.get_status_display(),
            c.owner.display_name if c.owner_id else "",
            c.opened_at,
            c.first_response_due,
            c.resolution_due,
            c.resolved_at,
            str(SLA_LABELS[selectors.sla_state(c, now)]),
        ]
        for c in cases
    )
    columns = [
        Column(_("Number")),
        Column(_("Subject"), width=40),
        Column(_("Account"), width=32),
        Column(_("Status")),
        Column(_("Owner")),
        Column(_("Opened"), "datetime", width=18),
        Column(_("First response due"), "datetime", width=18),
        Column(_("Resolution due"), "datetime", width=18),
        Column(_("Resolved"), "datetime", width=18),
        Column(_("SLA")),
    ]
    return sheet_response(Sheet(_("Service cases"), columns, rows, capped), request)


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    rows, status, mine, text = _cases_filtered(request)
    after = Cursor.decode_or_none(request.GET.get("cursor", ""))
    page = keyset_page([Source(rows, field="opened_at")], after=after, size=PAGE_SIZE)
    now = timezone.now()
    context = {
        "rows": [{"case": c, "sla": selectors.sla_state(c, now)} for c in page.objects],
        "next": page.next.encode() if page.next else "",
        "status": status,
        "mine": mine,
        "q": text,
        "statuses": CaseStatus.choices,
        "query": urlencode(
            {k: v for k, v in (("status", status), ("mine", "1" if mine else ""), ("q", text)) if v}
        ),
    }
    template = "crm/cases/partials/_rows.html" if wants_partial(request) else "crm/cases/list.html"
    return render(request, template, context)


@login_required
@found
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    account = None
    raw = request.GET.get("account", "")
    if raw.isdigit():
        account = account_for(user, int(raw))
    form = CaseForm(request.POST or None, accounts=accounts_for(user), account=account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_open(
                by=user,
                account_id=data["account"].pk,
                contact_id=data["contact"].pk if data.get("contact") else None,
                subject=data["subject"],
                description=data["description"],
                priority=data["priority"],
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect("crm:case-detail", case.pk)
    return render(request, "crm/cases/form.html", {"form": form, "intake": False})


@login_required
@found
@require_http_methods(["GET", "POST"])
def case_intake(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    form = IntakeForm(request.POST or None, accounts=accounts_for(user))
    candidates: tuple[Any, ...] = ()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_intake(
                by=user,
                sender=data["sender"],
                subject=data["subject"],
                body=data["body"],
                account_id=data["account"].pk if data.get("account") else None,
            )
        except ValidationError as error:
            add_errors(form, error)
            candidates = selectors.intake_match(user, data["sender"]).candidates
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect("crm:case-detail", case.pk)
    return render(
        request, "crm/cases/form.html", {"form": form, "intake": True, "candidates": candidates}
    )


def _detail(request: HttpRequest, case_id: int, **extra: Any) -> HttpResponse:
    user = signed_in(request)
    case = selectors.case_for(user, case_id)
    steps = [
        {"key": key, "label": label}
        for key, (label, sources) in STEPS.items()
        if case.status in sources
    ]
    may_rate = case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and case.satisfaction is None
    context = {
        "case": case,
        "sla": selectors.sla_state(case),
        "next_due": selectors.next_due(case),
        "events": [
            {"event": e, "label": EVENT_LABELS.get(e.kind, e.kind)}
            for e in selectors.case_events(case)
        ],
        "steps": steps,
        "step_form": extra.pop("step_form", None) or StepForm(),
        "feedback_form": extra.pop("feedback_form", None) or (FeedbackForm() if may_rate else None),
        **extra,
    }
    return render(request, "crm/cases/detail.html", context, status=extra.get("status", 200))


@login_required
@found
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _detail(request, case_id)


@login_required
@found
@require_POST
def case_step(request: HttpRequest, case_id: int, step: str) -> HttpResponse:
    user = signed_in(request)
    transition = services.TRANSITIONS.get(step)
    selectors.case_for(user, case_id)  # 404 before anything else
    if transition is None:
        raise Http404(_("There is no such step."))
    form = StepForm(request.POST)
    if not form.is_valid():
        return _detail(request, case_id, step_form=form, status=400)
    try:
        case = transition(by=user, case_id=case_id, text=form.cleaned_data["text"])
    except (Refused, ValidationError) as error:
        messages.error(request, refusal_text(error))
        return redirect("crm:case-detail", case_id)
    messages.success(
        request,
        _("Case %(number)s: %(status)s.")
        % {"number": case.number, "status": case.get_status_display()},
    )
    return redirect("crm:case-detail", case_id)


@login_required
@found
@require_POST
def case_feedback(request: HttpRequest, case_id: int) -> HttpResponse:
    user = signed_in(request)
    selectors.case_for(user, case_id)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.case_rate(
                by=user,
                case_id=case_id,
                satisfaction=form.cleaned_data["satisfaction"],
                comment=form.cleaned_data["comment"],
            )
        except (Refused, ValidationError) as error:
            messages.error(request, refusal_text(error))
        else:
            messages.success(request, _("Thank you: the rating was saved."))
        return redirect("crm:case-detail", case_id)
    return _detail(request, case_id, feedback_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def sla_policies(request: HttpRequest) -> HttpResponse:
    """The SLA of each customer level: read by everyone, changed by sales administrators."""
    user = signed_in(request)
    policies = list(SlaPolicy.objects.order_by("level"))
    current = {p.level: (p.first_response_hours, p.resolution_hours) for p in policies}
    may_change = is_sales_admin(user)
    if request.method == "POST" and not may_change:
        raise PermissionDenied
    form = SlaPoliciesForm(request.POST or None, policies=current)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.sla_policies_save(by=user, hours=form.hours())
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, _("The SLA policies were saved."))
                return redirect("crm:sla-policies")
        return render(
            request,
            "crm/cases/sla.html",
            {"form": form, "may_change": may_change, "policies": policies},
            status=400,
        )
    return render(
        request,
        "crm/cases/sla.html",
        {"form": form, "may_change": may_change, "policies": policies},
    )


urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/sla/", sla_policies, name="sla-policies"),
    path("cases/", case_list, name="case-list"),
    path("cases/export/", case_export, name="case-export"),
    path("cases/new/", case_new, name="case-new"),
    path("cases/intake/", case_intake, name="case-intake"),
    path("cases/<int:case_id>/", case_detail, name="case-detail"),
    path("cases/<int:case_id>/do/<slug:step>/", case_step, name="case-step"),
    path("cases/<int:case_id>/feedback/", case_feedback, name="case-feedback"),
]
