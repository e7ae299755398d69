"""The customer base's pages (``/crm/``): parse the request, call a service or a selector,
render (a full page, or the rows only for htmx: ``portal.http.wants_partial``).

- ``accounts/`` the list: filters, name search (any word of a Chinese name), pages by
  keyset (``?after=``); ``accounts/export/?format=csv|xlsx`` the same rows as a file;
- ``accounts/new/`` a new account; ``<id>/edit/`` its edit: a likely duplicate shows the
  accounts it looks like, with "save anyway" and a link to merge;
- ``accounts/<id>/`` the account: its facts, contacts, team and history (merges too);
  other areas add their sections through :data:`ACCOUNT_SECTIONS`;
- ``<id>/merge/`` choose the other account and which survives, preview what moves, confirm;
- ``<id>/team/`` the team and the owner (add, remove, hand over);
- ``<id>/contacts/new/`` and ``contacts/<id>/edit/`` contacts (one form view for both);
- ``accounts/import/`` customers from an Excel or CSV file: upload, preview with each
  row's problems and likely duplicates, choose, confirm (all rows or none);
  ``accounts/import/template/`` the file to fill in.

Every view starts from ``crm.selectors.accounts_for``: an account a person may not see
answers 404; an action on a visible account their part does not allow answers 403.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path
from django.utils import dateformat, timezone
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.duplicates import Match
from crm.forms_accounts import (
    AccountFilterForm,
    AccountForm,
    AssignForm,
    ContactForm,
    ImportUploadForm,
    MergeForm,
    TeamForm,
)
from crm.imports import (
    CHOICES,
    MAX_BYTES,
    MAX_ROWS,
    ImportReport,
    import_file_held,
    import_file_hold,
    import_file_release,
    import_read,
    template_sheet,
)
from crm.models import Account, AccountEvent, AccountLevel, Contact, Industry
from crm.selectors.accounts import (
    AccountFilters,
    account_history,
    account_list,
    account_may_change,
    account_may_manage_team,
    duplicates_shown,
    team_of,
)
from crm.selectors.visibility import account_for, accounts_for
from crm.services import accounts as services
from crm.views.common import add_errors, found, url_around_id
from portal.errors import NotFound, Refused
from portal.exports import Column, Sheet, sheet_response, take
from portal.http import signed_in, wants_partial
from portal.keyset import Cursor, Source, keyset_page
from portal.models import User

PAGE_SIZE = 25

# The templates the account page includes after its own sections, in order: other areas
# (opportunities, quotes, cases, activities) append theirs in their AppConfig.ready() —
# each is rendered with the page's context (``account``, ``may_change``, ``user``).
ACCOUNT_SECTIONS: list[str] = []


def _filters(request: HttpRequest) -> tuple[AccountFilterForm, AccountFilters]:
    form = AccountFilterForm(request.GET or None)
    if not form.is_valid():
        return form, AccountFilters()
    data = form.cleaned_data
    owner = data.get("owner")
    return form, AccountFilters(
        scope=data.get("scope") or "all",
        q=data.get("q") or "",
        owner_id=owner.pk if owner else None,
        level=data.get("level") or "",
        industry=data.get("industry") or "",
        province=(data.get("province") or "").strip(),
        city=(data.get("city") or "").strip(),
    )


# --- the list and its export ------------------------------------------------------------------


def account_rows(accounts: list[Account]) -> SafeString:
    """The list's rows, written here rather than by the template language (25 rows of seven
    cells took 6-7 ms of a 40 ms page there, here under 1): the name linking to the account
    (its URL a prefix, the id and a suffix, not reversed per row), a "merged" tag, code,
    level, industry, region, owner and the day of the last change in local time."""
    head, tail = url_around_id("crm:account")
    merged = f' <span class="tag">{escape(_("merged"))}</span>'
    # the choices' labels translated once (get_FOO_display translates every choice per call)
    levels = {value: escape(label) for value, label in AccountLevel.choices}
    industries = {value: escape(label) for value, label in Industry.choices}
    return SafeString(
        "".join(
            f'    <tr data-account="{a.pk}"><th scope="row"><a href="{head}{a.pk}{tail}">'
            f"{escape(a.name)}</a>"
            f"{merged if a.merged_into_id else ''}</th>\n"
            f"      <td><code>{escape(a.code)}</code></td>"
            f"<td>{levels.get(a.level, escape(a.level))}</td>"
            f"<td>{industries.get(a.industry, escape(a.industry))}</td>\n"
            f"      <td>{escape(' · '.join(p for p in (a.province, a.city) if p))}</td>"
            f"<td>{escape(a.owner.display_name)}</td>\n"
            f'      <td><time datetime="{_day(a.updated_at, "c")}">{_day(a.updated_at, "Y-m-d")}'
            "</time></td></tr>\n"
            for a in accounts
        )
    )


def _day(moment: datetime.datetime, format_string: str) -> str:
    return dateformat.format(timezone.localtime(moment), format_string)


@login_required
@require_GET
def account_list_page(request: HttpRequest) -> HttpResponse:
    """The accounts the person sees, filtered and searched, newest change first, a page at a
    time (``?after=`` the keyset cursor). An htmx request gets the rows only."""
    user = signed_in(request)
    form, filters = _filters(request)
    rows = account_list(user, filters)
    page = keyset_page(
        [Source(rows, field="updated_at")],
        after=Cursor.decode_or_none(request.GET.get("after", "")),
        size=PAGE_SIZE,
    )
    query = {k: request.GET.get(k, "") for k in request.GET if k != "after" and request.GET.get(k)}
    context = {
        "form": form,
        "accounts": page.objects,
        "account_rows": account_rows(page.objects),
        "next_url": "?" + urlencode({**query, "after": page.next.encode()}) if page.next else "",
        "query": urlencode(query),
    }
    template = "crm/accounts/_rows.html" if wants_partial(request) else "crm/accounts/list.html"
    return render(request, template, context)


def _export_sheet(user: User, filters: AccountFilters) -> Sheet:
    columns = [
        Column(_("Customer code")),
        Column(_("Name"), width=32),
        Column(_("Unified social credit code"), width=22),
        Column(_("Industry")),
        Column(_("Level")),
        Column(_("Province")),
        Column(_("City")),
        Column(_("Phone")),
        Column(_("E-mail"), width=24),
        Column(_("Owner")),
        Column(_("Updated"), "datetime", width=18),
    ]
    accounts = account_list(user, filters).iterator(chunk_size=1000)
    rows, capped = take(
        [
            account.code,
            account.name,
            account.credit_code or "",
            account.get_industry_display(),
            account.get_level_display(),
            account.province,
            account.city,
            account.phone,
            account.email,
            account.owner.display_name,
            account.updated_at,
        ]
        for account in accounts
    )
    return Sheet(_("Customers"), columns, rows, capped)


@login_required
@require_GET
def account_export(request: HttpRequest) -> HttpResponseBase:
    """The list as it is filtered, as Excel (the default) or CSV (``?format=csv``): only
    accounts the person sees, at most ``portal.exports.EXPORT_CAP``."""
    _form, filters = _filters(request)
    return sheet_response(_export_sheet(signed_in(request), filters), request)


# --- one account --------------------------------------------------------------------------------


def _names(usernames: set[str]) -> dict[str, str]:
    return {u.username: u.display_name for u in User.objects.filter(username__in=usernames)}


def _labels(event: AccountEvent) -> list[str]:
    """The changed fields of an edit, by their names in the reader's language."""
    changed = event.data.get("changed") if isinstance(event.data, dict) else None
    if not isinstance(changed, dict):
        return []
    model = Contact if event.kind == "contact_updated" else Account
    labels = []
    for name in changed:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            labels.append(name)
            continue
        labels.append(str(getattr(field, "verbose_name", name)))
    return labels


@login_required
@require_GET
@found
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    """An account: its facts, contacts, team and history (merges with what they brought),
    then the sections other areas add (:data:`ACCOUNT_SECTIONS`)."""
    user = signed_in(request)
    account = account_for(user, account_id)
    events = account_history(account)
    names = _names({e.actor for e in events if e.actor})
    return render(
        request,
        "crm/accounts/detail.html",
        {
            "account": account,
            "contacts": account.contacts.order_by("-is_primary", "name"),
            "team": team_of(account),
            "history": [(e, names.get(e.actor, e.actor), _labels(e)) for e in events],
            "may_change": account_may_change(user, account) and not account.merged_into_id,
            "may_manage_team": account_may_manage_team(user, account),
            "merged_into": account.merged_into if account.merged_into_id else None,
            "merged_from": account.merged.order_by("pk"),
            "sections": ACCOUNT_SECTIONS,
        },
    )


def _duplicates_shown(user: User, matches: list[Match]) -> list[dict[str, Any]]:
    """The matches as the warning lists them (:func:`crm.selectors.accounts.duplicates_shown`):
    a link and a merge offer only for the accounts the person sees."""
    return [
        {
            "id": shown.match.account_id,
            "code": shown.match.code,
            "name": shown.match.name,
            "owner": shown.owner.display_name if shown.owner else "",
            "reasons": shown.match.reasons,
            "visible": shown.visible,
        }
        for shown in duplicates_shown(user, matches)
    ]


def _forced(request: HttpRequest) -> bool:
    """The duplicate warning's "save anyway" button."""
    return request.POST.get("force") == "on"


def _account_form_page(
    request: HttpRequest, form: AccountForm, account: Account | None, duplicates: Any
) -> HttpResponse:
    status = 400 if form.is_bound else 200
    if duplicates:
        status = 409
    return render(
        request,
        "crm/accounts/form.html",
        {"form": form, "account": account, "duplicates": duplicates},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    """A new account owned by the person. A likely duplicate shows the accounts it looks
    like; "save anyway" sends the form again with ``force``."""
    user = signed_in(request)
    form = AccountForm(request.POST if request.method == "POST" else None)
    duplicates: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(by=user, force=_forced(request), **form.cleaned_data)
        except services.LikelyDuplicates as error:
            duplicates = _duplicates_shown(user, error.matches)
        except ValidationError as error:
            add_errors(form, error)
        except Refused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The account has been created."))
            return redirect("crm:account", account_id=account.pk)
    return _account_form_page(request, form, None, duplicates)


@login_required
@require_http_methods(["GET", "POST"])
@found
def account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    """Edit an account (owner, team with change, sales administrators; 403 for the others who
    see it)."""
    user = signed_in(request)
    account = account_for(user, account_id)
    if not account_may_change(user, account) or account.merged_into_id:
        raise PermissionDenied
    form = AccountForm(request.POST if request.method == "POST" else None, instance=account)
    duplicates: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        changes = {k: form.cleaned_data[k] for k in services.EDITABLE if k in form.cleaned_data}
        try:
            services.account_update(
                by=user, account_id=account.pk, changes=changes, force=_forced(request)
            )
        except services.LikelyDuplicates as error:
            duplicates = _duplicates_shown(user, error.matches)
        except ValidationError as error:
            add_errors(form, error)
        except Refused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The account has been saved."))
            return redirect("crm:account", account_id=account.pk)
    account.refresh_from_db()
    return _account_form_page(request, form, account, duplicates)


# --- merge -------------------------------------------------------------------------------------


def _preview(account: Account) -> dict[str, int]:
    return {
        "contacts": account.contacts.count(),
        "activities": account.activities.count(),
        "opportunities": account.opportunities.count(),
        "cases": account.cases.count(),
        "quotes": account.quotes.count(),
        "campaigns": account.campaigns.count(),
    }


@login_required
@require_http_methods(["GET", "POST"])
@found
def account_merge(request: HttpRequest, account_id: int) -> HttpResponse:
    """Merge this account with another: choose the other (``?other=`` from the duplicate
    warning) and which survives, see what moves, confirm."""
    user = signed_in(request)
    account = account_for(user, account_id)
    if not account_may_change(user, account) or account.merged_into_id:
        raise PermissionDenied
    data = (
        request.POST
        if request.method == "POST"
        else (request.GET if "other" in request.GET else None)
    )
    form = MergeForm(data, initial={"survivor": "this"})
    preview: dict[str, Any] | None = None
    if form.is_bound and form.is_valid():
        try:
            other = account_for(user, form.cleaned_data["other"])
        except NotFound:
            form.add_error("other", _("There is no such account, or you may not see it."))
        else:
            keep_this = form.cleaned_data["survivor"] == "this"
            survivor, merged = (account, other) if keep_this else (other, account)
            if request.method == "POST" and form.cleaned_data["confirm"]:
                try:
                    services.account_merge(by=user, survivor_id=survivor.pk, merged_id=merged.pk)
                except ValidationError as error:
                    form.add_error("other", error.messages)
                except Refused as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(request, _("The accounts have been merged."))
                    return redirect("crm:account", account_id=survivor.pk)
            else:
                preview = {"survivor": survivor, "merged": merged, "moves": _preview(merged)}
    status = 400 if form.errors else 200
    return render(
        request,
        "crm/accounts/merge.html",
        {"account": account, "form": form, "preview": preview},
        status=status,
    )


# --- team ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@found
def account_team(request: HttpRequest, account_id: int) -> HttpResponse:
    """The account's owner and team; its owner and sales administrators add people (POST)
    and hand the account over (``crm:account_assign``)."""
    user = signed_in(request)
    account = account_for(user, account_id)
    manage = account_may_manage_team(user, account)
    if request.method == "POST" and not manage:
        raise PermissionDenied
    form = TeamForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_add(
                by=user,
                account_id=account.pk,
                user=form.cleaned_data["person"],
                may_change=form.cleaned_data["may_change"],
            )
        except ValidationError as error:
            add_errors(form, error)
            if "user" in getattr(error, "message_dict", {}):
                form.add_error("person", error.message_dict["user"])
        except Refused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The team has been changed."))
            return redirect("crm:account_team", account_id=account.pk)
    return render(
        request,
        "crm/accounts/team.html",
        {
            "account": account,
            "team": team_of(account),
            "form": form,
            "assign_form": AssignForm(),
            "may_manage": manage,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
@found
def account_team_remove(request: HttpRequest, account_id: int, user_id: int) -> HttpResponse:
    user = signed_in(request)
    account = account_for(user, account_id)
    if not account_may_manage_team(user, account):
        raise PermissionDenied
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise Http404
    try:
        services.team_remove(by=user, account_id=account.pk, user=person)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The team has been changed."))
    return redirect("crm:account_team", account_id=account.pk)


@login_required
@require_POST
@found
def account_assign(request: HttpRequest, account_id: int) -> HttpResponse:
    """Hand the account to another owner (its owner or a sales administrator)."""
    user = signed_in(request)
    account = account_for(user, account_id)
    if not account_may_manage_team(user, account):
        raise PermissionDenied
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            services.account_assign(
                by=user, account_id=account.pk, owner=form.cleaned_data["owner"]
            )
        except ValidationError as error:
            form.add_error("owner", error.messages)
        except Refused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The account has a new owner."))
            if accounts_for(user).filter(pk=account.pk).exists():
                return redirect("crm:account", account_id=account.pk)
            return redirect("crm:accounts")
    return render(
        request,
        "crm/accounts/team.html",
        {
            "account": account,
            "team": team_of(account),
            "form": TeamForm(),
            "assign_form": form,
            "may_manage": True,
        },
        status=400,
    )


# --- contacts ------------------------------------------------------------------------------------


def _contact_form(
    request: HttpRequest, user: User, account: Account, contact: Contact | None
) -> HttpResponse:
    """A contact's form, new (``contact`` None) or its edit: both need the right to change
    the account (403 else); a valid form goes to the contact service, then to the account."""
    if not account_may_change(user, account) or account.merged_into_id:
        raise PermissionDenied
    form = ContactForm(request.POST if request.method == "POST" else None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            if contact is None:
                services.contact_create(by=user, account_id=account.pk, values=form.cleaned_data)
            else:
                services.contact_update(by=user, contact_id=contact.pk, values=form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        except Refused as error:
            form.add_error(None, str(error))
        else:
            if contact is None:
                messages.success(request, _("The contact has been added."))
            else:
                messages.success(request, _("The contact has been saved."))
            return redirect("crm:account", account_id=account.pk)
    return render(
        request,
        "crm/accounts/contact_form.html",
        {"form": form, "account": account, "contact": contact},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@found
def contact_create(request: HttpRequest, account_id: int) -> HttpResponse:
    """A new contact of a visible account (those who may change it)."""
    user = signed_in(request)
    return _contact_form(request, user, account_for(user, account_id), None)


@login_required
@require_http_methods(["GET", "POST"])
@found
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Edit a contact of a visible account (those who may change it)."""
    user = signed_in(request)
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise Http404
    return _contact_form(request, user, account_for(user, contact.account_id), contact)


# --- import --------------------------------------------------------------------------------------


def _import_page(
    request: HttpRequest,
    *,
    form: ImportUploadForm,
    report: ImportReport | None = None,
    token: str = "",
    failure: str = "",
    chosen: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = []
    if report is not None:
        for row in report.rows:
            rows.append(
                {
                    "row": row,
                    "chosen": (chosen or {}).get(row.number) or row.default_choice(),
                }
            )
    return render(
        request,
        "crm/accounts/import.html",
        {
            "form": form,
            "report": report,
            "rows": rows,
            "token": token,
            "failure": failure,
            "max_rows": MAX_ROWS,
            "max_size": MAX_BYTES,
        },
        status=status,
    )


def _choices_posted(request: HttpRequest) -> dict[int, str]:
    """The preview's radio buttons: ``choice-<line>`` → skip, create or update."""
    chosen: dict[int, str] = {}
    for key, value in request.POST.items():
        if key.startswith("choice-") and key[7:].isdigit() and value in CHOICES:
            chosen[int(key[7:])] = value
    return chosen


@login_required
@require_http_methods(["GET", "POST"])
def account_import(request: HttpRequest) -> HttpResponse:
    """Customers from a file: upload (POST ``file``) → the preview of every row with its
    problems and likely duplicates, and a choice for each duplicate → confirm (POST
    ``token`` and ``confirm``), which writes every row or none. The file is held on the
    server between the two (``crm.imports.import_file_hold``) and checked again at the
    confirmation."""
    user = signed_in(request)
    if request.method == "GET":
        return _import_page(request, form=ImportUploadForm())
    token = request.POST.get("token", "")
    if not token:
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return _import_page(request, form=form, status=400)
        upload = form.cleaned_data["file"]
        name = upload.name or ""
        content = upload.read(MAX_BYTES + 1)  # more than the limit is refused unread
        try:
            report = import_read(user, name, content)
        except ValidationError as error:
            form.add_error("file", error.messages)
            return _import_page(request, form=form, status=400)
        token = import_file_hold(user=user, name=name, content=content)
        return _import_page(
            request, form=ImportUploadForm(), report=report, token=token, status=200
        )
    form = ImportUploadForm()
    try:
        name, content = import_file_held(user=user, token=token)
        report = import_read(user, name, content)
    except ValidationError as error:
        return _import_page(request, form=form, failure=" ".join(error.messages), status=400)
    chosen = _choices_posted(request)
    if not report.ready:
        return _import_page(
            request,
            form=form,
            report=report,
            token=token,
            chosen=chosen,
            failure=_("Correct the rows in error and upload the file again: nothing was imported."),
            status=400,
        )
    try:
        result = services.accounts_import(by=user, rows=report.rows, choices=chosen)
    except services.ImportFailed as error:
        return _import_page(
            request,
            form=form,
            report=report,
            token=token,
            chosen=chosen,
            failure=str(error),
            status=400,
        )
    import_file_release(user=user, token=token)
    messages.success(
        request,
        _("Imported: %(created)s created, %(updated)s updated, %(skipped)s skipped.")
        % {
            "created": len(result.created),
            "updated": len(result.updated),
            "skipped": len(result.skipped),
        },
    )
    return redirect("crm:accounts")


@login_required
@require_GET
def account_import_template(request: HttpRequest) -> HttpResponseBase:
    """The import template: an Excel workbook whose first row names the columns in the
    person's language."""
    signed_in(request)
    return sheet_response(template_sheet(), request)


urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/", account_list_page, name="accounts"),
    path("accounts/export/", account_export, name="account_export"),
    path("accounts/new/", account_create, name="account_create"),
    path("accounts/import/", account_import, name="account_import"),
    path("accounts/import/template/", account_import_template, name="account_import_template"),
    path("accounts/<int:account_id>/", account_detail, name="account"),
    path("accounts/<int:account_id>/edit/", account_edit, name="account_edit"),
    path("accounts/<int:account_id>/merge/", account_merge, name="account_merge"),
    path("accounts/<int:account_id>/team/", account_team, name="account_team"),
    path(
        "accounts/<int:account_id>/team/<int:user_id>/remove/",
        account_team_remove,
        name="account_team_remove",
    ),
    path("accounts/<int:account_id>/assign/", account_assign, name="account_assign"),
    path("accounts/<int:account_id>/contacts/new/", contact_create, name="contact_create"),
    path("contacts/<int:contact_id>/edit/", contact_edit, name="contact_edit"),
]
