"""The marketing campaigns' pages (营销活动), under ``/crm/campaigns/``:

- ``campaigns/`` the campaigns one sees with their figures, filtered by status, newest first,
  page by page (keyset); ``export/`` the same as Excel or CSV; ``new/`` a campaign with its
  segment (a "preview" button, and htmx on every change, shows how many accounts it finds:
  ``segment-preview/``);
- ``<id>/`` a campaign: its figures (members, response rate, leads, opportunities, won
  revenue, cost, ROI), its segment and the status step; ``<id>/edit/``; ``<id>/status/``
  (POST);
- ``<id>/members/`` its members whose accounts one sees (paged, exportable), adding one by
  customer code; ``<id>/members/from-segment/`` how many of the segment's accounts would be
  added, then the confirmation; ``<id>/members/<member>/respond/`` the response form
  (phone-friendly); ``<id>/members/<member>/remove/`` (POST).

A campaign one may not see answers 404 (``crm.selectors.campaigns``); seeing one without the
right to change it answers 403 on its forms.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.forms_campaigns import (
    CampaignFilterForm,
    CampaignForm,
    ConfirmForm,
    MemberAddForm,
    ResponseForm,
    SegmentFields,
    StatusForm,
)
from crm.models import Campaign, Industry
from crm.selectors import campaigns as selectors
from crm.selectors.visibility import accounts_for
from crm.services import campaigns as services
from crm.views.common import add_errors, found
from portal.errors import Refused
from portal.exports import sheet_response
from portal.http import refusal_text, signed_in, wants_partial
from portal.keyset import Cursor, Source, keyset_page
from portal.models import Department, User

PAGE_SIZE: Final = 25
# the status steps' buttons on a campaign's page
STEP_LABELS: Final[dict[str, Any]] = {
    Campaign.Status.RUNNING: gettext_lazy("Start the campaign"),
    Campaign.Status.DONE: gettext_lazy("Finish the campaign"),
}


def _changeable(user: User, campaign_id: int) -> Campaign:
    """The campaign (404 when not seen) if ``user`` may change it, else 403."""
    campaign = selectors.campaign_for(user, campaign_id)
    if not selectors.campaign_may_change(user, campaign):
        raise PermissionDenied
    return campaign


def segment_lines(segment: dict[str, Any]) -> list[tuple[str, str]]:
    """The segment in words, filter by filter, for the campaign's page."""
    lines: list[tuple[str, str]] = []
    if segment.get("provinces"):
        lines.append((_("Provinces"), "、".join(segment["provinces"])))
    if segment.get("cities"):
        lines.append((_("Cities"), "、".join(segment["cities"])))
    if segment.get("industries"):
        labels = dict(Industry.choices)
        lines.append(
            (_("Industries"), "、".join(str(labels.get(v, v)) for v in segment["industries"]))
        )
    if segment.get("levels"):
        lines.append((_("Levels"), "、".join(segment["levels"])))
    if segment.get("department"):
        department = Department.objects.filter(pk=segment["department"]).first()
        lines.append((_("Owner's department"), department.name if department else "—"))
    if segment.get("owner"):
        owner = User.objects.filter(pk=segment["owner"]).first()
        lines.append((_("Owner"), owner.display_name if owner else "—"))
    if segment.get("activity") == selectors.WITHIN:
        lines.append(
            (
                _("Last activity"),
                _("within the last %(days)d days") % {"days": segment.get("activity_days", 0)},
            )
        )
    elif segment.get("activity") == selectors.NOT_WITHIN:
        lines.append(
            (
                _("Last activity"),
                _("none within the last %(days)d days") % {"days": segment.get("activity_days", 0)},
            )
        )
    return lines


# --- the list and its export ------------------------------------------------------------------


def _listed(request: HttpRequest) -> tuple[CampaignFilterForm, Any]:
    user = signed_in(request)
    form = CampaignFilterForm(request.GET or None)
    rows = selectors.campaigns_for(user)
    if form.is_valid() and form.cleaned_data.get("status"):
        rows = rows.filter(status=form.cleaned_data["status"])
    return form, rows


@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    """The campaigns the person sees with their figures, newest first (``?after=`` the
    keyset cursor); an htmx request gets the rows only."""
    user = signed_in(request)
    form, rows = _listed(request)
    page = keyset_page(
        [Source(selectors.with_figures(rows.select_related("owner")), field="created_at")],
        after=Cursor.decode_or_none(request.GET.get("after", "")),
        size=PAGE_SIZE,
    )
    query = {k: v for k, v in request.GET.items() if k != "after" and v}
    context = {
        "form": form,
        "rows": [{"campaign": c, "figures": selectors.results_of(c)} for c in page.objects],
        "next_url": "?" + urlencode({**query, "after": page.next.encode()}) if page.next else "",
        "query": urlencode(query),
        "may_create": selectors.campaign_may_create(user),
    }
    template = "crm/campaigns/_rows.html" if wants_partial(request) else "crm/campaigns/list.html"
    return render(request, template, context)


@login_required
@require_GET
def campaign_export(request: HttpRequest) -> HttpResponseBase:
    """The list as it is filtered, as Excel (the default) or CSV (``?format=csv``)."""
    _form, rows = _listed(request)
    return sheet_response(selectors.campaigns_sheet(rows), request)


# --- a campaign -------------------------------------------------------------------------------


def _preview(request: HttpRequest, form: SegmentFields, campaign: Campaign | None) -> Any:
    try:
        segment = selectors.segment_clean(form.segment())
    except ValidationError as error:
        add_errors(form, error)
        return None
    return selectors.segment_preview(signed_in(request), segment, campaign)


def _form_page(
    request: HttpRequest, form: CampaignForm, campaign: Campaign | None, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "crm/campaigns/form.html",
        {"form": form, "campaign": campaign, **extra},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if not selectors.campaign_may_create(user):
        raise PermissionDenied
    form = CampaignForm(request.POST if request.method == "POST" else None)
    if request.method != "POST":
        return _form_page(request, form, None)
    if not form.is_valid():
        return _form_page(request, form, None)
    if "preview" in request.POST:
        return _form_page(request, form, None, preview=_preview(request, form, None))
    try:
        campaign = services.campaign_create(by=user, **form.values())
    except ValidationError as error:
        add_errors(form, error)
        return _form_page(request, form, None)
    messages.success(request, _("Campaign %(name)s created.") % {"name": campaign.name})
    return redirect("crm:campaign-detail", campaign.pk)


@login_required
@found
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _changeable(user, campaign_id)
    form = CampaignForm(request.POST if request.method == "POST" else None, campaign=campaign)
    if request.method != "POST":
        return _form_page(request, form, campaign)
    if not form.is_valid():
        return _form_page(request, form, campaign)
    if "preview" in request.POST:
        return _form_page(request, form, campaign, preview=_preview(request, form, campaign))
    try:
        services.campaign_update(campaign.pk, by=user, **form.values())
    except ValidationError as error:
        add_errors(form, error)
        return _form_page(request, form, campaign)
    messages.success(request, _("The campaign was saved."))
    return redirect("crm:campaign-detail", campaign.pk)


@login_required
@require_GET
def segment_preview(request: HttpRequest) -> HttpResponse:
    """How many accounts (that the person sees) the form's segment finds: the form's htmx
    preview (``?campaign=<id>``: and how many are not members yet)."""
    user = signed_in(request)
    form = SegmentFields(request.GET)
    campaign = None
    raw = request.GET.get("campaign", "")
    if raw.isdigit():
        campaign = selectors.campaigns_for(user).filter(pk=int(raw)).first()
    preview = _preview(request, form, campaign) if form.is_valid() else None
    return render(
        request,
        "crm/campaigns/_preview.html",
        {"preview": preview, "form": form, "campaign": campaign},
    )


@login_required
@found
@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    user = signed_in(request)
    campaign = selectors.campaign_for(user, campaign_id)
    may_change = selectors.campaign_may_change(user, campaign)
    steps = [
        {"status": target, "label": STEP_LABELS[target]}
        for target, sources in services.TRANSITIONS.items()
        if campaign.status in sources
    ]
    context = {
        "campaign": campaign,
        "figures": selectors.campaign_results(campaign),
        "segment": segment_lines(campaign.segment),
        "may_change": may_change,
        "steps": steps if may_change else [],
        "recent": list(selectors.members_for(user, campaign)[:5]),
    }
    return render(request, "crm/campaigns/detail.html", context)


@login_required
@found
@require_POST
def campaign_status(request: HttpRequest, campaign_id: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _changeable(user, campaign_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Status: choose one of the list."))
        return redirect("crm:campaign-detail", campaign.pk)
    try:
        campaign = services.campaign_update(
            campaign.pk, by=user, status=form.cleaned_data["status"]
        )
    except ValidationError as error:
        messages.error(request, refusal_text(error))
    else:
        messages.success(
            request,
            _("Campaign %(name)s: %(status)s.")
            % {"name": campaign.name, "status": campaign.get_status_display()},
        )
    return redirect("crm:campaign-detail", campaign.pk)


# --- members ----------------------------------------------------------------------------------


def _members_page(
    request: HttpRequest, campaign: Campaign, add_form: MemberAddForm | None = None
) -> HttpResponse:
    user = signed_in(request)
    page = keyset_page(
        [Source(selectors.members_for(user, campaign), field="added_at")],
        after=Cursor.decode_or_none(request.GET.get("after", "")),
        size=PAGE_SIZE,
    )
    may_change = selectors.campaign_may_change(user, campaign)
    context = {
        "campaign": campaign,
        "members": page.objects,
        "next_url": "?" + urlencode({"after": page.next.encode()}) if page.next else "",
        "may_change": may_change,
        "members_open": may_change and campaign.status != Campaign.Status.DONE,
        "add_form": add_form or MemberAddForm(accounts=accounts_for(user)),
        "figures": selectors.campaign_results(campaign),
    }
    if wants_partial(request):
        return render(request, "crm/campaigns/_members.html", context)
    status = 400 if add_form is not None and add_form.errors else 200
    return render(request, "crm/campaigns/members.html", context, status=status)


@login_required
@found
@require_GET
def campaign_members(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_for(signed_in(request), campaign_id)
    return _members_page(request, campaign)


@login_required
@found
@require_GET
def campaign_members_export(request: HttpRequest, campaign_id: int) -> HttpResponseBase:
    user = signed_in(request)
    campaign = selectors.campaign_for(user, campaign_id)
    return sheet_response(selectors.members_sheet(user, campaign), request)


@login_required
@found
@require_POST
def campaign_member_add(request: HttpRequest, campaign_id: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _changeable(user, campaign_id)
    form = MemberAddForm(request.POST, accounts=accounts_for(user))
    if not form.is_valid():
        return _members_page(request, campaign, form)
    account = form.cleaned_data["account"]
    try:
        added = services.campaign_members_add(
            by=user, campaign_id=campaign.pk, account_ids=[account.pk]
        )
    except ValidationError as error:
        add_errors(form, error)
        return _members_page(request, campaign, form)
    except Refused as error:
        messages.error(request, str(error))
        return redirect("crm:campaign-members", campaign.pk)
    if added:
        messages.success(request, _("%(name)s was added.") % {"name": account.name})
    else:
        messages.info(request, _("%(name)s is a member already.") % {"name": account.name})
    return redirect("crm:campaign-members", campaign.pk)


@login_required
@found
@require_http_methods(["GET", "POST"])
def campaign_add_segment(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """How many of the segment's accounts (that the person sees) are not members yet; the
    confirmation adds them."""
    user = signed_in(request)
    campaign = _changeable(user, campaign_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            added = services.campaign_members_add_segment(by=user, campaign_id=campaign.pk)
        except (ValidationError, Refused) as error:
            messages.error(request, refusal_text(error))
            return redirect("crm:campaign-detail", campaign.pk)
        messages.success(
            request, _("%(count)d accounts were added to the campaign.") % {"count": added}
        )
        return redirect("crm:campaign-members", campaign.pk)
    preview = selectors.segment_preview(user, selectors.segment_clean(campaign.segment), campaign)
    return render(
        request,
        "crm/campaigns/add_segment.html",
        {
            "campaign": campaign,
            "form": form,
            "preview": preview,
            "segment": segment_lines(campaign.segment),
            "done": campaign.status == Campaign.Status.DONE,
        },
        status=400 if form.errors else 200,
    )


@login_required
@found
@require_http_methods(["GET", "POST"])
def campaign_member_respond(request: HttpRequest, campaign_id: int, member_id: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _changeable(user, campaign_id)
    member = selectors.campaign_member_for(user, campaign, member_id)
    form = ResponseForm(
        request.POST if request.method == "POST" else None,
        member=member,
        initial={"responded_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.campaign_member_respond(
                by=user,
                campaign_id=campaign.pk,
                member_id=member.pk,
                response=data["response"],
                responded_on=data["responded_on"],
                contact_id=data["contact"].pk if data.get("contact") else None,
                follow_up=data.get("follow_up") or "",
                opportunity_name=data.get("opportunity_name") or "",
                amount=data.get("amount"),
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(
                request, _("The response of %(name)s was saved.") % {"name": member.account.name}
            )
            if result.opportunity is not None:
                return redirect("crm:opportunity", result.opportunity.pk)
            if result.lead is not None:
                return redirect("crm:lead", result.lead.pk)
            return redirect("crm:campaign-members", campaign.pk)
    return render(
        request,
        "crm/campaigns/respond.html",
        {"campaign": campaign, "member": member, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@found
@require_POST
def campaign_member_remove(request: HttpRequest, campaign_id: int, member_id: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _changeable(user, campaign_id)
    member = selectors.campaign_member_for(user, campaign, member_id)
    try:
        services.campaign_member_remove(by=user, campaign_id=campaign.pk, member_id=member.pk)
    except Refused as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("%(name)s was taken off the campaign.") % {"name": member.account.name}
        )
    return redirect("crm:campaign-members", campaign.pk)


urlpatterns: list[URLPattern | URLResolver] = [
    path("campaigns/", campaign_list, name="campaign-list"),
    path("campaigns/export/", campaign_export, name="campaign-export"),
    path("campaigns/new/", campaign_new, name="campaign-new"),
    path("campaigns/segment-preview/", segment_preview, name="campaign-segment-preview"),
    path("campaigns/<int:campaign_id>/", campaign_detail, name="campaign-detail"),
    path("campaigns/<int:campaign_id>/edit/", campaign_edit, name="campaign-edit"),
    path("campaigns/<int:campaign_id>/status/", campaign_status, name="campaign-status"),
    path("campaigns/<int:campaign_id>/members/", campaign_members, name="campaign-members"),
    path(
        "campaigns/<int:campaign_id>/members/export/",
        campaign_members_export,
        name="campaign-members-export",
    ),
    path(
        "campaigns/<int:campaign_id>/members/add/",
        campaign_member_add,
        name="campaign-member-add",
    ),
    path(
        "campaigns/<int:campaign_id>/members/from-segment/",
        campaign_add_segment,
        name="campaign-add-segment",
    ),
    path(
        "campaigns/<int:campaign_id>/members/<int:member_id>/respond/",
        campaign_member_respond,
        name="campaign-member-respond",
    ),
    path(
        "campaigns/<int:campaign_id>/members/<int:member_id>/remove/",
        campaign_member_remove,
        name="campaign-member-remove",
    ),
]
