"""常用语: the page where a person keeps their saved phrases (``/workflow/phrases/``): add one,
remove one, move one up or down. htmx swaps the list in place; without it each POST comes
back to the page. ``?next=`` (the opinion box's "Manage saved phrases" link) leads back.

Only one's own phrases: another person's id answers 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from portal.http import safe_next, signed_in, wants_partial
from workflow.models import Phrase
from workflow.phrases import MAX_PHRASE_LENGTH, MAX_PHRASES
from workflow.selectors.phrases import phrases_for
from workflow.services import phrases as phrase_services


class PhraseForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("New phrase"),
        max_length=MAX_PHRASE_LENGTH,
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("e.g. Agreed; please pay by Friday.")}
        ),
    )


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


def _next(request: HttpRequest) -> str:
    return safe_next(request, request.GET.get("next") or request.POST.get("next"), "")


def _page_url(request: HttpRequest) -> str:
    url = reverse("workflow:phrases")
    back = _next(request)
    return f"{url}?{urlencode({'next': back})}" if back else url


def _context(request: HttpRequest, form: forms.Form | None = None) -> dict[str, Any]:
    items = phrases_for(signed_in(request))
    return {
        "phrases": items,
        "defaults": bool(items) and items[0].is_default,
        "form": form or PhraseForm(),
        "limit": MAX_PHRASES,
        "back": _next(request),
    }


def _is_own(request: HttpRequest, phrase_id: int) -> bool:
    return Phrase.objects.filter(pk=phrase_id, owner=signed_in(request)).exists()


def _answer(
    request: HttpRequest, form: forms.Form | None = None, *, status: int = 200
) -> HttpResponse:
    """The list (htmx) or, after a change without htmx, back to the page; the page with
    its errors when the input was refused."""
    if wants_partial(request):
        return render(
            request, "workflow/partials/_phrase_list.html", _context(request, form), status=status
        )
    if status != 200:
        return render(request, "workflow/phrases.html", _context(request, form), status=status)
    return HttpResponseRedirect(_page_url(request))


@login_required
@require_http_methods(["GET", "POST"])
def phrases(request: HttpRequest) -> HttpResponse:
    """The page (GET) and adding a phrase (POST ``text``)."""
    if request.method == "GET":
        return render(request, "workflow/phrases.html", _context(request))
    form = PhraseForm(request.POST)
    if form.is_valid():
        try:
            phrase_services.phrase_add(owner=signed_in(request), text=form.cleaned_data["text"])
        except ValidationError as error:
            form.add_error("text", error.message_dict.get("text", error.messages))
        else:
            if not wants_partial(request):
                messages.success(request, _("The phrase has been saved."))
            return _answer(request)
    return _answer(request, form, status=400)


@login_required
@require_POST
def phrase_delete(request: HttpRequest, phrase_id: int) -> HttpResponse:
    """Remove one of one's phrases (another person's: 404)."""
    try:
        phrase_services.phrase_remove(owner=signed_in(request), phrase_id=phrase_id)
    except Phrase.DoesNotExist as error:
        raise Http404 from error
    if not wants_partial(request):
        messages.success(request, _("The phrase has been removed."))
    return _answer(request)


@login_required
@require_POST
def phrase_move(request: HttpRequest, phrase_id: int) -> HttpResponse:
    """Move one of one's phrases up or down (``direction``; another person's: 404)."""
    if not _is_own(request, phrase_id):
        raise Http404  # before the input is read: another's phrase is not even looked at
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Move a phrase up or down."))
        return _answer(request, status=400)
    try:
        phrase_services.phrase_move(
            owner=signed_in(request), phrase_id=phrase_id, direction=form.cleaned_data["direction"]
        )
    except Phrase.DoesNotExist as error:
        raise Http404 from error
    return _answer(request)


urlpatterns: list[URLPattern | URLResolver] = [
    path("phrases/", phrases, name="phrases"),
    path("phrases/<int:phrase_id>/delete/", phrase_delete, name="phrase-delete"),
    path("phrases/<int:phrase_id>/move/", phrase_move, name="phrase-move"),
]
