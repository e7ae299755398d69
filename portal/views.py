"""Views of the portal shell: thin, they parse input, call a selector or service, render."""

from __future__ import annotations

import datetime
import sys
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import defaults
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from weasyprint import HTML, default_url_fetcher
from weasyprint.urls import URLFetchingError

from portal import codes, registry, services
from portal.api import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, ServiceUnavailable, error_body
from portal.choices import CodeChecksum
from portal.forms import DelegationForm, LanguageForm, LoginForm, PreferencesForm
from portal.http import safe_next, signed_in
from portal.models import DelegationRule, Notification
from portal.selectors import (
    announcements_for,
    delegations_given,
    delegations_received,
    notifications_for,
    unread_notification_count,
)

PAGE_SIZE = 20


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("portal:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, gettext_lazy("Your password has been changed."))
        return response


def _portlet_html(request: HttpRequest, entry: registry.Portlet) -> SafeString:
    context = {"portlet": entry, **entry.render_context(request)}
    return render_to_string(entry.template, context, request=request)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """工作台: every portlet the person may see, rendered into the first response (no box
    waits for a second request, so nothing flashes "loading")."""
    visible = registry.visible_to(registry.portlets, signed_in(request))
    # render_to_string gives safe HTML: each template escaped what it shows
    boxes = [(entry, _portlet_html(request, entry)) for entry in visible]
    return render(request, "portal/dashboard.html", {"portlets": boxes})


@login_required
@require_GET
def portlet(request: HttpRequest, key: str) -> HttpResponse:
    """One portlet's box again (htmx refreshes a box without reloading the page)."""
    entry = registry.portlets.get(key)
    if entry is None or not entry.visible(signed_in(request)):
        raise Http404
    return HttpResponse(_portlet_html(request, entry))


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language switch: remembered on the account when signed in, in a cookie always."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Unknown language."), status=400)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_set_language(user=signed_in(request), language=language)
    target = safe_next(request, form.cleaned_data.get("next"), reverse("portal:dashboard"))
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response


def _profile_page(
    request: HttpRequest,
    *,
    form: PreferencesForm | None = None,
    delegation: DelegationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """My profile: preferences, password, and out of office (代理)."""
    user = signed_in(request)
    now = timezone.now()
    if delegation is None:
        start = now.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)
        delegation = DelegationForm(
            instance=DelegationRule(delegator=user),
            initial={"starts_at": start, "ends_at": start + datetime.timedelta(days=1)},
        )
    rules = list(delegations_given(user)[:20])
    context = {
        "form": form or PreferencesForm.for_user(user),
        "delegation_form": delegation,
        "delegations": [
            {
                "rule": rule,
                "state": (
                    "ended"
                    if not rule.is_active or rule.ends_at <= now
                    else "upcoming"
                    if rule.starts_at > now
                    else "active"
                ),
            }
            for rule in rules
        ],
        "acting_for": list(delegations_received(user, at=now)),
    }
    return render(request, "portal/profile.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    form = PreferencesForm.for_user(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_preferences(user=user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # The page after the redirect is in the language just chosen; so is the message.
            translation.activate(user.preferred_language)
            messages.success(request, _("Your preferences have been saved."))
            return redirect("portal:profile")
    return _profile_page(request, form=form)


@login_required
@require_POST
def delegation_create(request: HttpRequest) -> HttpResponse:
    """Set up one's own out-of-office rule; the proxy is told."""
    user = signed_in(request)
    form = DelegationForm(request.POST, instance=DelegationRule(delegator=user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.delegation_create(
                delegator=user,
                delegate=data["delegate"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data.get("reason") or "",
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                _("From %(start)s %(name)s handles your new approvals; they have been told.")
                % {
                    "start": timezone.localtime(data["starts_at"]).strftime("%Y-%m-%d %H:%M"),
                    "name": data["delegate"].display_name,
                },
            )
            return HttpResponseRedirect(reverse("portal:profile") + "#out-of-office", status=303)
    messages.error(request, _("Please correct the errors below; nothing has been changed."))
    return _profile_page(request, delegation=form, status=400)


@login_required
@require_POST
def delegation_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End one's own rule now (back early); another person's is a 404."""
    try:
        services.delegation_end(user=signed_in(request), rule_id=pk)
    except DelegationRule.DoesNotExist:
        raise Http404 from None
    messages.success(
        request, _("Your out-of-office rule has ended; new approvals reach you again.")
    )
    return HttpResponseRedirect(reverse("portal:profile") + "#out-of-office", status=303)


@login_required
@require_POST
def delegation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one's own rule; another person's is a 404."""
    try:
        services.delegation_delete(user=signed_in(request), rule_id=pk)
    except DelegationRule.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("The out-of-office rule has been deleted."))
    return HttpResponseRedirect(reverse("portal:profile") + "#out-of-office", status=303)


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    notifications = notifications_for(signed_in(request))
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = {kind.key: kind.label for kind in registry.notification_kinds}
    rows = [(n, labels.get(n.kind, n.kind)) for n in page]
    return render(
        request,
        "portal/notifications.html",
        {"page": page, "rows": rows, "unread_only": unread_only},
    )


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = services.notification_mark_read(user=signed_in(request), notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    target = safe_next(request, notification.url, reverse("portal:notifications"))
    return HttpResponseRedirect(target)


@login_required
@require_POST
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(user=signed_in(request))
    messages.success(
        request,
        ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            count,
        )
        % {"count": count},
    )
    return redirect("portal:notifications")


@login_required
@require_GET
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The bell's unread count, polled by htmx so it updates without a reload."""
    count = unread_notification_count(signed_in(request))
    return render(request, "portal/partials/_bell.html", {"unread_count": count})


@login_required
@require_GET
def announcement_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(announcements_for(signed_in(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/announcements.html", {"page": page})


@login_required
@require_GET
def announcement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = get_object_or_404(announcements_for(signed_in(request)), pk=pk)
    return render(request, "portal/announcement_detail.html", {"announcement": announcement})


def locked_out(
    request: HttpRequest, response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """What django-axes shows after too many failed sign-ins (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``. When the database cannot be reached for a moment (restarting, failing
    over) the request may be sent again: 503 with ``Retry-After``, under
    /api/ as the API's error body, elsewhere as a plain page (``503.html``, which needs no
    database). Any other crash is Django's 500 page.

    Here and not in a middleware's ``process_exception``: the database is usually first
    needed by the middleware that reads the session and the user, before any view runs.
    Django calls this view while it handles the exception, so ``sys.exc_info()`` holds it.
    """
    if not isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return defaults.server_error(request)
    response: HttpResponse
    if request.path.startswith("/api/"):
        code, error, headers = error_body(ServiceUnavailable())
        response = JsonResponse(
            {"error": error},
            status=code,
            headers=headers,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


# --- the data dictionary ---------------------------------------------------------------------


def _dictionary_context() -> dict[str, Any]:
    checksums = dict(CodeChecksum.choices)
    rows = [
        {
            "rule": rule,
            "checksum": checksums.get(rule.checksum, rule.checksum),
            "used_by": codes.USED_BY.get(rule.key, ""),
        }
        for rule in codes.live_rules()
    ]
    return {"rows": rows}


@login_required
@require_GET
def dictionary(request: HttpRequest) -> HttpResponse:
    """数据字典: every code the systems share, with its rule in force and who uses it."""
    return render(request, "portal/dictionary.html", _dictionary_context())


def _data_only_fetcher(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The printout embeds everything it shows; no URL (http, file) is fetched while printing.
    # (The workflow's printout does the same; the portal may not import the workflow.)
    if not url.startswith("data:"):
        raise URLFetchingError(f"not fetched while printing: {url[:80]}")
    found: dict[str, Any] = default_url_fetcher(url, *args, **kwargs)
    return found


@login_required
@require_GET
def dictionary_print(request: HttpRequest) -> HttpResponse:
    """The dictionary as a printable A4 document; ``?format=pdf`` as a PDF download
    (WeasyPrint, the system's CJK fonts, nothing fetched)."""
    as_pdf = request.GET.get("format") == "pdf"
    context = {**_dictionary_context(), "pdf": as_pdf, "printed_at": timezone.now()}
    html = render_to_string("portal/dictionary_print.html", context, request=request)
    if not as_pdf:
        return HttpResponse(html)
    document = HTML(string=html, url_fetcher=_data_only_fetcher)
    response = HttpResponse(bytes(document.write_pdf()), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{_('Data dictionary')}.pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
