"""The process catalogue: the processes a person may start, the start form, drafts.

- ``/workflow/processes/`` (``workflow:catalogue``): what ``user`` may start, by category,
  with a live search (the same view renders only the results for an htmx request);
- ``/workflow/processes/<key>/start/`` (``workflow:start``): the start event's form; "Submit"
  starts the latest version once per idempotency key, "Save draft" keeps what was typed;
  ``?draft=<id>`` continues one's own draft;
- ``.../<key>/start/preview/`` (``workflow:start-preview``): the approval chain beside the
  form, re-rendered (htmx) as fields change, for the values entered; starts nothing;
- ``/workflow/drafts/`` (``workflow:drafts``) and ``.../<id>/delete/`` (POST).

A process ``user`` may not start, and another person's draft, answer 404: the catalogue does
not reveal that they exist. Every page needs a signed-in person.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.http import signed_in, wants_partial
from workflow import guides, translation
from workflow.bpmn.model import Element
from workflow.engine.runtime import EngineError
from workflow.forms import (
    attachment_max_bytes,
    attachment_types,
    form_for,
    has_step_form,
    step_fields,
)
from workflow.links import instance_url
from workflow.models import Draft
from workflow.selectors import catalogue as catalogue_reads
from workflow.selectors import chain as chains
from workflow.services import drafts, pending_uploads, starts
from workflow.services.pending_uploads import KeptUpload

MAX_SEARCH_CHARS = 100
SUBMIT, SAVE = "submit", "save"


# --- the catalogue -------------------------------------------------------------------------


@login_required
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """发起申请: the processes the person may start as a grid of icons, grouped by
    category, each process once (its latest version, under its own category only: the
    processes one starts most are the 工作台's quick starts); ``?q=`` searches them by
    name, key or description."""
    user = signed_in(request)
    search = request.GET.get("q", "").strip()[:MAX_SEARCH_CHARS]
    categories = catalogue_reads.startable_processes(user, search=search)
    context: dict[str, Any] = {
        "categories": categories,
        "search": search,
        "draft_count": catalogue_reads.drafts_for(user).count(),
    }
    template = "workflow/catalogue.html"
    if wants_partial(request):
        template = "workflow/partials/_catalogue_results.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the start form ------------------------------------------------------------------------


class StartMetaForm(forms.Form):
    """What the start form asks beside the process's own fields (prefix ``meta``, so that no
    name clashes with a form field of the process)."""

    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=starts.MAX_TITLE_CHARS,
        required=False,
    )
    idempotency_key = forms.CharField(
        max_length=64, widget=forms.HiddenInput, required=False, strip=True
    )
    urgent = forms.BooleanField(
        label=gettext_lazy("Mark as urgent"),
        required=False,
        help_text=gettext_lazy("It comes first, flagged, in the approvers' to-do lists."),
    )


def _typed(form: forms.Form | None, request: HttpRequest) -> dict[str, Any]:
    """What the person typed into the process's fields, as the widgets read it (valid or
    not); read-only fields and uploads are not kept."""
    if form is None:
        return {}
    values: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled or isinstance(field, forms.FileField):
            continue
        values[name] = field.widget.value_from_datadict(
            request.POST, request.FILES, form.add_prefix(name)
        )
    return values


def _draft_of(request: HttpRequest, key: str) -> Draft | None:
    """``?draft=<id>``: one's own draft of this process, else 404."""
    if "draft" not in request.GET:
        return None
    draft = catalogue_reads.draft_for(signed_in(request), request.GET["draft"])
    if draft is None or draft.definition_key != key:
        raise Http404
    return draft


def _start_url(key: str, draft: Draft | None) -> str:
    url = reverse("workflow:start", args=[key])
    return f"{url}?{urlencode({'draft': draft.pk})}" if draft is not None else url


def _new_key() -> str:
    return f"web:{uuid.uuid4().hex}"


def _render_start(
    request: HttpRequest,
    process: catalogue_reads.StartableProcess,
    *,
    form: forms.Form | None,
    meta: StartMetaForm,
    draft: Draft | None,
    dropped: list[str] | None = None,
    upload_errors: list[str] | None = None,
    kept: Sequence[KeptUpload] = (),
    status: int = 200,
) -> HttpResponse:
    if form is not None:
        translation.localize_form(form, process.key)  # labels and options in my language
    context = {
        "upload_errors": upload_errors or [],
        "kept_files": kept,
        "upload_accept": ",".join(f".{t}" for t in attachment_types()),
        "upload_types": ", ".join(attachment_types()),
        "upload_max": attachment_max_bytes(),
        "upload_count": starts.MAX_ATTACHMENTS,
        "process": process,
        "form": form,
        "meta": meta,
        "draft": draft,
        "dropped": dropped or [],
        "action_url": _start_url(process.key, draft),
        "default_title": starts.default_title(signed_in(request), process.name),
        "guides": guides.guides_for(signed_in(request), process.key),  # the process's guide
        **_chain_context(request, process, form),
    }
    return render(request, "workflow/start.html", context, status=status)


def _chain_context(
    request: HttpRequest,
    process: catalogue_reads.StartableProcess,
    form: forms.Form | None,
    posted: Any = None,
) -> dict[str, Any]:
    """The approval chain beside the start form (审批流程预览), worked out from the values
    entered (``posted``, else the form's own: typed, from a draft, or the defaults)."""
    user = signed_in(request)
    element = catalogue_reads.start_element(process.definition_id)
    if posted is None:
        if form is None:
            posted = {}
        elif form.is_bound:
            posted = form.data
        else:
            posted = {name: form[name].value() for name in form.fields}
    entered = chains.entered_data(element, posted, user=user) if element else chains.Entered({})
    me = chains.people_of([user.username])[user.username]
    return {
        "chain": chains.chain_preview(
            process.definition_id, initiator=user, data=entered.values, invalid=entered.invalid
        ),
        "chain_me": me,
        "chain_url": reverse("workflow:start-preview", args=[process.key]),
    }


def _restored(element: Element, draft: Draft | None) -> tuple[forms.Form | None, list[str]]:
    """The process's form prefilled from ``draft``; the names of the draft's values for
    fields the current version no longer has (left out)."""
    if not has_step_form(element):
        return None, sorted(drafts.draft_values(draft)) if draft else []
    blank = form_for(element, variables={})
    values = drafts.draft_values(draft) if draft else {}
    dropped = sorted(name for name in values if name not in blank.fields)
    kept = {name: value for name, value in values.items() if name in blank.fields}
    return form_for(element, variables=kept), dropped


@dataclass
class _StartPage:
    """What a POST of the start form re-renders with when it cannot go on."""

    request: HttpRequest
    process: catalogue_reads.StartableProcess
    form: forms.Form | None
    meta: StartMetaForm
    draft: Draft | None
    kept: list[KeptUpload] = dataclasses.field(default_factory=list)  # before a form error
    kept_problems: list[str] = dataclasses.field(default_factory=list)

    def again(self, *, upload_errors: Sequence[Any] = ()) -> HttpResponse:
        """The form again with what was typed and every file chosen: the new uploads are
        held (each checked first) beside the ones kept from before."""
        problems = [*self.kept_problems, *(str(e) for e in upload_errors)]
        kept = list(self.kept)
        user = signed_in(self.request)
        for upload in self.request.FILES.getlist(self.meta.add_prefix("attachments")):
            try:
                kept.append(pending_uploads.upload_hold(user=user, upload=upload))
            except ValidationError as error:
                problems.extend(error.messages)
        return _render_start(
            self.request,
            self.process,
            form=self.form,
            meta=self.meta,
            draft=self.draft,
            upload_errors=list(dict.fromkeys(problems)),
            kept=kept,
            status=400,
        )


@login_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, key: str) -> HttpResponse:
    """The start form of the latest version of ``key``. "Submit" validates (errors shown
    inline, what was typed kept, nothing started) and starts once per idempotency key, then
    opens the new instance; "Save draft" keeps what was typed without checking it."""
    user = signed_in(request)
    process = catalogue_reads.startable_process(user, key)
    if process is None:
        raise Http404
    element = catalogue_reads.start_element(process.definition_id)
    if element is None:
        raise Http404
    draft = _draft_of(request, key)
    if request.method == "GET":
        form, dropped = _restored(element, draft)
        meta = StartMetaForm(
            prefix="meta",
            initial={
                "title": draft.title if draft else "",
                "idempotency_key": _new_key(),
                "urgent": drafts.draft_urgent(draft) if draft else False,
            },
        )
        return _render_start(request, process, form=form, meta=meta, draft=draft, dropped=dropped)
    form = (
        form_for(element, variables={}, data=request.POST, user=user)
        if has_step_form(element)
        else None
    )
    page = _StartPage(request, process, form, StartMetaForm(request.POST, prefix="meta"), draft)
    page.kept, page.kept_problems = pending_uploads.uploads_kept(
        user=user, tokens=request.POST.getlist(page.meta.add_prefix("kept"))
    )
    action = request.POST.get("action", "")
    if action == SAVE:
        return _save_draft(page, key)
    if action == SUBMIT:
        return _submit(page, key, element)
    messages.error(request, _("Choose “Submit” or “Save draft”."))
    return page.again()


@login_required
@require_http_methods(["GET", "POST"])
def start_preview(request: HttpRequest, key: str) -> HttpResponse:
    """The chain preview partial of the start form, re-rendered (htmx) as the person fills
    it in: who will handle the request with the values entered so far. It starts, saves and
    validates nothing for good (a value not valid yet is left out and named); a process the
    person may not start answers 404."""
    user = signed_in(request)
    process = catalogue_reads.startable_process(user, key)
    if process is None or catalogue_reads.start_element(process.definition_id) is None:
        raise Http404
    posted = request.POST if request.method == "POST" else request.GET
    context = _chain_context(request, process, None, posted)
    return render(request, "workflow/partials/_chain_preview.html", context)


def _save_draft(page: _StartPage, key: str) -> HttpResponse:
    request = page.request
    try:
        draft = drafts.draft_save(
            user=signed_in(request),
            key=key,
            title=request.POST.get(page.meta.add_prefix("title"), ""),
            data=_typed(page.form, request),
            draft_id=page.draft.pk if page.draft else None,
            urgent=page.meta.fields["urgent"].widget.value_from_datadict(
                request.POST, request.FILES, page.meta.add_prefix("urgent")
            ),
        )
    except (Draft.DoesNotExist, starts.StartNotAllowed):
        raise Http404 from None
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return page.again()
    messages.success(request, _("Draft saved."))
    return redirect(_start_url(key, draft))


def _submit(page: _StartPage, key: str, element: Element) -> HttpResponse:
    request, meta = page.request, page.meta
    if page.kept_problems:  # a file chosen before is gone: say so rather than start without it
        return page.again()
    if not meta.is_valid() or not meta.cleaned_data["idempotency_key"]:
        if not meta.errors:
            messages.error(request, _("The form has expired; please submit it again."))
            page.meta = StartMetaForm(
                {**request.POST.dict(), "meta-idempotency_key": _new_key()}, prefix="meta"
            )
        return page.again()
    try:
        instance_id, _created = starts.request_submit(
            user=signed_in(request),
            key=key,
            data=step_fields(element, request.POST),
            title=meta.cleaned_data["title"],
            idempotency_key=meta.cleaned_data["idempotency_key"],
            draft_id=page.draft.pk if page.draft else None,
            attachments=[
                *(kept.open() for kept in page.kept),
                *request.FILES.getlist(meta.add_prefix("attachments")),
            ],
            urgent=meta.cleaned_data["urgent"],
        )
    except (Draft.DoesNotExist, starts.StartNotAllowed):
        raise Http404 from None
    except ValidationError as error:
        problems = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        upload_errors = problems.pop("attachments", [])
        if page.form is None or page.form.is_valid():  # not a field of the form: on top
            for field_messages in problems.values():
                for message in field_messages:
                    messages.error(request, message)
        return page.again(upload_errors=upload_errors)
    except starts.IdempotencyKeyReused:
        messages.error(
            request,
            _(
                "This form was already submitted with other values. Check them and submit "
                "again to start another request."
            ),
        )
        fresh = {**request.POST.dict(), "meta-idempotency_key": _new_key()}
        page.meta = StartMetaForm(fresh, prefix="meta")
        return page.again()
    except EngineError as error:
        messages.error(request, str(error))
        return page.again()
    pending_uploads.uploads_release(page.kept)
    messages.success(
        request,
        _("Your request “%(process)s” has been submitted.") % {"process": page.process.name},
    )
    return redirect(instance_url(instance_id))


# --- drafts --------------------------------------------------------------------------------


@login_required
@require_GET
def draft_list(request: HttpRequest) -> HttpResponse:
    """草稿箱: one's own drafts, last saved first; each opens its start form again unless the
    process may no longer be started by this person."""
    user = signed_in(request)
    startable = {
        p.key: p
        for category in catalogue_reads.startable_processes(user)
        for p in category.processes
    }
    rows = [
        (draft, startable.get(draft.definition_key)) for draft in catalogue_reads.drafts_for(user)
    ]
    return render(request, "workflow/drafts.html", {"rows": rows})


@login_required
@require_POST
def draft_delete(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Delete one's own draft (the page asks to confirm first); another person's: 404."""
    try:
        drafts.draft_discard(user=signed_in(request), draft_id=draft_id)
    except Draft.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Draft deleted."))
    return redirect("workflow:drafts")


urlpatterns: list[URLPattern | URLResolver] = [
    path("processes/", catalogue, name="catalogue"),
    path("processes/<str:key>/start/", start, name="start"),
    path("processes/<str:key>/start/preview/", start_preview, name="start-preview"),
    path("drafts/", draft_list, name="drafts"),
    path("drafts/<int:draft_id>/delete/", draft_delete, name="draft-delete"),
]
