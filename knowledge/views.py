"""The knowledge base's pages: parse the request, call a service or a selector, render (a full
page, or a partial for htmx: ``portal.http.wants_partial``); docs/knowledge.md describes them.

- ``/knowledge/`` the reader's spaces; ``spaces/new/`` a new space (who may add spaces);
- ``s/<space_key>/`` a space's home: recent, most read, tags, its articles page by page;
  ``members/``, ``recycle-bin/``, ``settings/`` (space admins write them), ``new/`` an article;
- ``articles/<id>/`` an article; ``edit/`` the editor (Markdown with a live preview: ``preview/``,
  images pasted or dropped into it upload to ``attachments/``); ``history/`` its versions and
  ``diff/`` two of them side by side; the actions (publish, submit, restore, delete, undelete,
  confirm, feedback) are POSTs;
- ``search/`` the search page; ``suggest/`` the top bar's suggestions as one types;
- ``attachments/<id>/`` an article's file (download, ``inline/``, ``preview/``);
- ``help/`` the help centre (the space ``help``), the navigation's Help entry.

Every view starts from what the person may read (``knowledge.selectors``): a space or an article
they may not see answers 404; an action their role in a readable space does not allow answers
403; a refusal of the article's state (publishing in a review space, a stale version) says why.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from knowledge import markdown, search, selectors, services
from knowledge.forms import (
    ArticleForm,
    AttachmentForm,
    FeedbackForm,
    MemberForm,
    SearchForm,
    SpaceForm,
    guide_value,
)
from knowledge.models import Article, ArticleAttachment, Feedback, Space
from portal.errors import Conflict, NotFound, Refused
from portal.http import file_response, signed_in, wants_partial
from portal.keyset import Cursor, Source, keyset_page
from portal.models import User
from workflow import previews
from workflow.selectors.guides import guide_targets
from workflow.selectors.status import last_decision
from workflow.selectors.visibility import display_names

HELP_SPACE = "help"
PAGE_SIZE = 20
SEARCH_PAGE_SIZE = 10
SUGGEST_LIMIT = 8
MAX_PREVIEW_CHARS = 200_000
SAVE, PUBLISH, SUBMIT = "save", "publish", "submit"

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def found(view: View) -> View:
    """What the person may not see (``portal.errors.NotFound`` from a selector or a service)
    answers 404, whatever the view was doing."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404 from error

    return cast(View, wrapped)


def _require(allowed: set[str], permission: str) -> None:
    """A readable space where the person's role does not allow the action: 403."""
    if permission not in allowed:
        raise PermissionDenied


def _problems_into(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# --- spaces ------------------------------------------------------------------------------------


def _may_add_spaces(user: User) -> bool:
    return bool(user.has_perm("knowledge.add_space"))


@login_required
@require_GET
def space_list(request: HttpRequest) -> HttpResponse:
    """The spaces the person may read, each with its number of published articles."""
    user = signed_in(request)
    live = Q(articles__published_version__isnull=False, articles__deleted_at__isnull=True)
    spaces = selectors.spaces_for(user).annotate(article_count=Count("articles", filter=live))
    return render(
        request,
        "knowledge/spaces.html",
        {"spaces": spaces.order_by("key"), "may_add": _may_add_spaces(user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def space_create(request: HttpRequest) -> HttpResponse:
    """A new space, for those whose role may add spaces (403 for the others)."""
    user = signed_in(request)
    if not _may_add_spaces(user):
        raise PermissionDenied
    form = SpaceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            space = services.space_create(by=user, **form.cleaned_data)
        except ValidationError as error:
            _problems_into(form, error)
        except (Refused, Conflict) as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The space has been created."))
            return redirect("knowledge:space", space_key=space.key)
    status = 400 if form.is_bound else 200
    return render(request, "knowledge/space_form.html", {"form": form}, status=status)


@login_required
@require_GET
@found
def help_centre(request: HttpRequest) -> HttpResponse:
    """The navigation's Help entry: the help centre's space (404 until it exists)."""
    space = selectors.space_for(signed_in(request), HELP_SPACE)
    return redirect("knowledge:space", space_key=space.key)


@login_required
@require_GET
@found
def space_home(request: HttpRequest, space_key: str) -> HttpResponse:
    """A space: recently updated, most read, its tags, and its articles newest first, a
    page at a time (``?after=`` a keyset cursor; ``?tag=`` only those with the tag). An
    htmx request for the next page gets the rows only."""
    user = signed_in(request)
    space = selectors.space_for(user, space_key)
    tag = request.GET.get("tag", "").strip()[:40]
    rows = selectors.articles_for(user).filter(space=space).select_related("owner")
    if tag:
        rows = rows.filter(tags__name=tag)
    page = keyset_page(
        [Source(rows, "updated_at")],
        after=Cursor.decode_or_none(request.GET.get("after", "")),
        size=PAGE_SIZE,
    )
    query = {"tag": tag} if tag else {}
    next_url = (
        f"?{urlencode({**query, 'after': page.next.encode()})}" if page.next is not None else ""
    )
    context: dict[str, Any] = {
        "space": space,
        "articles": page.objects,
        "next_url": next_url,
        "tag": tag,
    }
    if wants_partial(request):
        response = render(request, "knowledge/partials/_article_rows.html", context)
    else:
        perms = selectors.space_permissions(user, space)
        context.update(
            perms=perms,
            recent=selectors.recently_updated(user, space=space, limit=8),
            most_read=selectors.most_read(user, space=space, limit=8),
            tags=selectors.space_tags(space),
            first_page=request.GET.get("after") is None,
        )
        response = render(request, "knowledge/space.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_http_methods(["GET", "POST"])
@found
def space_members(request: HttpRequest, space_key: str) -> HttpResponse:
    """A space's members and their roles; its admins give or change a role (POST)."""
    user = signed_in(request)
    space = selectors.space_for(user, space_key)
    perms = selectors.space_permissions(user, space)
    form = MemberForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        _require(perms, "admin_space")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.space_member_set(
                    by=user,
                    space_id=space.pk,
                    role=data["role"],
                    user=data.get("user"),
                    group=data.get("group"),
                )
            except ValidationError as error:
                _problems_into(form, error)
            except Refused as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("The member's role has been saved."))
                return redirect("knowledge:members", space_key=space.key)
    context = {
        "space": space,
        "perms": perms,
        "members": selectors.members_of(space),
        "form": form,
    }
    return render(request, "knowledge/members.html", context, status=400 if form.is_bound else 200)


@login_required
@require_POST
@found
def space_member_remove(request: HttpRequest, space_key: str) -> HttpResponse:
    """Take a person's (``user``: an id) or a role's (``group``) membership away."""
    user = signed_in(request)
    space = selectors.space_for(user, space_key)
    _require(selectors.space_permissions(user, space), "admin_space")
    who = {}
    for name in ("user", "group"):
        value = request.POST.get(name, "")
        if value.isdigit():
            who[name] = int(value)
    if len(who) != 1:
        messages.error(request, _("Choose the member to remove."))
        return redirect("knowledge:members", space_key=space.key)
    member_user = User.objects.filter(pk=who["user"]).first() if "user" in who else None
    member_group = Group.objects.filter(pk=who["group"]).first() if "group" in who else None
    try:
        services.space_member_remove(
            by=user, space_id=space.pk, user=member_user, group=member_group
        )
    except (ValidationError, Refused) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("The member has been removed."))
    return redirect("knowledge:members", space_key=space.key)


@login_required
@require_GET
@found
def recycle_bin(request: HttpRequest, space_key: str) -> HttpResponse:
    """The space's articles deleted within the last 30 days (space admins)."""
    user = signed_in(request)
    space = selectors.space_for(user, space_key)
    _require(selectors.space_permissions(user, space), "admin_space")
    articles = selectors.recycle_bin(user, space).select_related("deleted_by")
    return render(request, "knowledge/recycle_bin.html", {"space": space, "articles": articles})


@login_required
@require_http_methods(["GET", "POST"])
@found
def space_settings(request: HttpRequest, space_key: str) -> HttpResponse:
    """A space's name, who may read it and whether its articles are reviewed (space admins)."""
    user = signed_in(request)
    space = selectors.space_for(user, space_key)
    _require(selectors.space_permissions(user, space), "admin_space")
    form = SpaceForm.of(space, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.space_update(by=user, space_id=space.pk, **form.cleaned_data)
        except ValidationError as error:
            _problems_into(form, error)
        except Refused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The space's settings have been saved."))
            return redirect("knowledge:space", space_key=space.key)
    status = 400 if form.is_bound else 200
    return render(
        request, "knowledge/space_form.html", {"form": form, "space": space}, status=status
    )


# --- the article page --------------------------------------------------------------------------


def _may_see_drafts(perms: set[str], user: User, article: Article) -> bool:
    return bool(perms & {"edit_space", "review_space", "admin_space"}) or (
        article.owner_id == user.pk
    )


def _shown(article: Article, *, draft: bool) -> dict[str, Any]:
    """The text the page shows: the published version, or the working copy (a draft, or the
    newest text when an editor asks for it with ``?draft=1``)."""
    version = article.published_version
    if version is not None and not draft:
        return {
            "title": version.title,
            "summary": version.summary,
            "body": version.body,
            "tags": list(version.tags or []),
            "number": version.number,
            "is_draft": False,
        }
    return {
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "tags": [tag.name for tag in article.tags.all()],
        "number": article.latest_number,
        "is_draft": True,
    }


@dataclass(frozen=True)
class ReviewNote:
    """The reviewer's last word on a returned or rejected draft: who, and their opinion."""

    reviewer: str
    comment: str


def _review_note(article: Article) -> ReviewNote | None:
    """What the reviewer said when they returned or rejected the draft (the review request's
    last decision on the engine)."""
    if article.review_instance_id is None:
        return None
    decision = last_decision(article.review_instance_id)
    if decision is None:
        return None
    names = display_names([decision.actor])
    return ReviewNote(names.get(decision.actor, decision.actor), decision.comment)


def _attachments(article: Article) -> list[ArticleAttachment]:
    files = list(article.attachments.select_related("uploaded_by").order_by("created_at"))
    for attachment in files:
        attachment.preview_kind = previews.preview_kind(attachment)  # type: ignore[attr-defined]
    return files


def _preview(attachment: ArticleAttachment) -> dict[str, Any]:
    """The workflow's preview of an article's file (workflow.previews: the same limits and
    sanitizing as the task page's), with this app's addresses for the file."""
    try:
        shown: dict[str, Any] = {"preview": previews.preview(attachment), "error": ""}
    except previews.PreviewError as error:
        shown = {"preview": None, "error": str(error)}
    return {
        "attachment": attachment,
        **shown,
        "download_url": reverse("knowledge:attachment", args=[attachment.pk]),
        "inline_url": reverse("knowledge:attachment_inline", args=[attachment.pk]),
    }


def _preview_of(request: HttpRequest, article: Article) -> dict[str, Any] | None:
    """``?preview=<attachment id>``: the preview shown in the page (without JavaScript)."""
    wanted = request.GET.get("preview", "")
    if not wanted.isdigit() or len(wanted) > 12:
        return None
    attachment = article.attachments.filter(pk=int(wanted)).first()
    return _preview(attachment) if attachment is not None else None


def _article_context(request: HttpRequest, article: Article) -> dict[str, Any]:
    user = signed_in(request)
    perms = selectors.space_permissions(user, article.space)
    drafts = _may_see_drafts(perms, user, article)
    want_draft = drafts and (request.GET.get("draft") == "1" or not article.is_published)
    shown = _shown(article, draft=want_draft)
    state = selectors.review_state(article) if drafts else "none"
    feedback = Feedback.objects.filter(article=article, user=user).first()
    return {
        "article": article,
        "space": article.space,
        "perms": perms,
        "shown": shown,
        "body_html": mark_safe(markdown.render(shown["body"])),  # noqa: S308 - sanitized (nh3)
        "may_see_drafts": drafts,
        "has_newer_draft": drafts
        and article.is_published
        and article.latest_number
        > (article.published_version.number if article.published_version else 0),
        "review_state": state,
        "review_note": _review_note(article) if state in ("returned", "rejected") else None,
        "outdated": article.is_published and article.may_be_outdated(),
        "may_confirm": article.owner_id == user.pk or "admin_space" in perms,
        "may_edit": "edit_space" in perms,
        "attachments": _attachments(article),
        "related": selectors.articles_for(user)
        .filter(related=article)
        .order_by("published_version__title")[:10],
        "feedback": feedback,
        "feedback_form": FeedbackForm(initial={"comment": feedback.comment} if feedback else None),
        "preview_shown": _preview_of(request, article),
    }


@login_required
@require_GET
@found
def article_page(request: HttpRequest, article_id: int) -> HttpResponse:
    """An article the person may read (404 otherwise); reading it counts a view."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    context = _article_context(request, article)
    if article.is_published:
        services.article_viewed(by=user, article_id=article.pk)
    return render(request, "knowledge/article.html", context)


@login_required
@require_POST
@found
def article_feedback(request: HttpRequest, article_id: int) -> HttpResponse:
    """Helpful or not, with an optional comment; htmx swaps the feedback box, a plain form
    comes back to the article."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    form = FeedbackForm(request.POST)
    saved = None
    if form.is_valid():
        try:
            saved = services.feedback_give(
                by=user,
                article_id=article.pk,
                helpful=form.cleaned_data["helpful"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            _problems_into(form, error)
        except Refused as error:
            form.add_error(None, str(error))
    status = 200 if saved is not None else 400
    if wants_partial(request):
        article.refresh_from_db(fields=["helpful_count", "not_helpful_count"])
        context = {"article": article, "feedback": saved, "feedback_form": form, "thanked": saved}
        return render(request, "knowledge/partials/_feedback.html", context, status=status)
    if saved is not None:
        messages.success(request, _("Thank you for your feedback."))
    else:
        messages.error(request, _("Choose helpful or not helpful."))
    return redirect("knowledge:article", article_id=article.pk)


def _article_action(
    request: HttpRequest,
    article_id: int,
    run: Callable[[User, Article], Any],
    done: str,
    *,
    permission: str | None = "edit_space",
    back: Callable[[Article], str] | None = None,
) -> HttpResponse:
    """One POST action on an article: the role it needs (403 without it), the service, a
    message; a refusal of the article's state comes back with its reason."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    if permission is not None:
        _require(selectors.space_permissions(user, article.space), permission)
    target = back(article) if back else reverse("knowledge:article", args=[article.pk])
    try:
        run(user, article)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except (Refused, Conflict) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect(target)


@login_required
@require_POST
@found
def article_publish(request: HttpRequest, article_id: int) -> HttpResponse:
    return _article_action(
        request,
        article_id,
        lambda user, article: services.article_publish(by=user, article_id=article.pk),
        _("The article has been published."),
    )


@login_required
@require_POST
@found
def article_submit(request: HttpRequest, article_id: int) -> HttpResponse:
    return _article_action(
        request,
        article_id,
        lambda user, article: services.article_submit(
            by=user, article_id=article.pk, comment=request.POST.get("comment", "")[:1000]
        ),
        _("The article has been submitted for review."),
    )


@login_required
@require_POST
@found
def article_delete(request: HttpRequest, article_id: int) -> HttpResponse:
    """Into the recycle bin (its space's admins restore it within 30 days)."""
    return _article_action(
        request,
        article_id,
        lambda user, article: services.article_delete(by=user, article_id=article.pk),
        _("The article has been moved to the recycle bin."),
        back=lambda article: reverse("knowledge:space", args=[article.space.key]),
    )


@login_required
@require_POST
@found
def article_confirm(request: HttpRequest, article_id: int) -> HttpResponse:
    """ "Still correct": the owner or a space admin moves the review date on (the service
    says who may)."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    try:
        services.article_confirm(by=user, article_id=article.pk)
    except Refused as error:
        raise PermissionDenied(str(error)) from error
    messages.success(request, _("Thank you: the article is marked as still correct."))
    return redirect("knowledge:article", article_id=article.pk)


@login_required
@require_POST
@found
def article_undelete(request: HttpRequest, space_key: str, article_id: int) -> HttpResponse:
    """Out of the recycle bin (space admins)."""
    user = signed_in(request)
    space = selectors.space_for(user, space_key)
    _require(selectors.space_permissions(user, space), "admin_space")
    if not selectors.recycle_bin(user, space).filter(pk=article_id).exists():
        raise Http404
    try:
        services.article_undelete(by=user, article_id=article_id)
    except (ValidationError, Refused, Conflict) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("The article has been restored."))
    return redirect("knowledge:recycle_bin", space_key=space.key)


# --- the editor --------------------------------------------------------------------------------


def _guide_choices() -> list[Any]:
    """The editor's process and step pickers: each process, then its steps, grouped."""
    choices: list[Any] = []
    for target in guide_targets():
        options = [(guide_value(target.key, ""), _("The whole process"))]
        options += [(guide_value(target.key, step), name) for step, name in target.steps]
        choices.append((target.name, options))
    return choices


def _article_initial(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "summary": article.summary,
        "tags": ", ".join(tag.name for tag in article.tags.all()),
        "lang": article.lang,
        "body": article.body,
        "base_number": article.latest_number,
        "guides": [guide_value(g.process_key, g.step_id) for g in article.guides.all()],
    }


def _after_save(request: HttpRequest, user: User, article: Article, action: str) -> None:
    """Publish or submit what was saved, when the button asked for it; a refusal is said."""
    try:
        if action == PUBLISH:
            services.article_publish(by=user, article_id=article.pk)
            messages.success(request, _("The article has been saved and published."))
        elif action == SUBMIT:
            services.article_submit(by=user, article_id=article.pk)
            messages.success(request, _("The article has been saved and submitted for review."))
        else:
            messages.success(request, _("The article has been saved."))
    except (ValidationError, Refused, Conflict) as error:
        text = " ".join(getattr(error, "messages", [str(error)]))
        messages.warning(request, _("Saved, but: %(reason)s") % {"reason": text})


def _editor(
    request: HttpRequest,
    form: ArticleForm,
    *,
    space: Space,
    article: Article | None,
    status: int = 200,
    conflict: str = "",
) -> HttpResponse:
    context = {
        "form": form,
        "space": space,
        "article": article,
        "conflict": conflict,
        "requires_review": space.requires_review,
        "preview_html": mark_safe(markdown.render(form["body"].value() or "")),  # noqa: S308 - nh3
        "upload_url": reverse("knowledge:attachment_upload", args=[article.pk]) if article else "",
    }
    return render(request, "knowledge/editor.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@found
def article_new(request: HttpRequest, space_key: str) -> HttpResponse:
    """A new article in a space (its editors): saved as version 1, a draft; "Save and
    publish" (no review) or "Submit for review" (a review space) go on from there."""
    user = signed_in(request)
    space = selectors.space_for(user, space_key)
    _require(selectors.space_permissions(user, space), "edit_space")
    choices = _guide_choices()
    if request.method == "GET":
        form = ArticleForm(initial={"lang": request.LANGUAGE_CODE}, guide_choices=choices)
        return _editor(request, form, space=space, article=None)
    form = ArticleForm(request.POST, guide_choices=choices)
    if form.is_valid():
        data = form.cleaned_data
        try:
            article = services.article_create(
                by=user,
                space_id=space.pk,
                title=data["title"],
                body=data["body"],
                summary=data["summary"],
                tags=data["tags"],
                lang=data["lang"],
                note=data["note"],
            )
            if data["guides"]:
                services.article_guides_set(by=user, article_id=article.pk, guides=data["guides"])
        except ValidationError as error:
            _problems_into(form, error)
        else:
            _after_save(request, user, article, request.POST.get("action", SAVE))
            return redirect("knowledge:article", article_id=article.pk)
    return _editor(request, form, space=space, article=None, status=400)


@login_required
@require_http_methods(["GET", "POST"])
@found
def article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    """The editor of an article (its space's editors). Saving checks the version it was
    opened at: when someone saved meanwhile, the page comes back with what was typed (nothing
    is lost) and the newer version named; saving again keeps both, the other's in history."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    _require(selectors.space_permissions(user, article.space), "edit_space")
    choices = _guide_choices()
    if request.method == "GET":
        form = ArticleForm(initial=_article_initial(article), guide_choices=choices)
        return _editor(request, form, space=article.space, article=article)
    form = ArticleForm(request.POST, guide_choices=choices)
    if not form.is_valid():
        return _editor(request, form, space=article.space, article=article, status=400)
    data = form.cleaned_data
    try:
        services.article_save(
            by=user,
            article_id=article.pk,
            title=data["title"],
            body=data["body"],
            summary=data["summary"],
            tags=data["tags"],
            lang=data["lang"],
            note=data["note"],
            base_number=data["base_number"],
        )
        services.article_guides_set(by=user, article_id=article.pk, guides=data["guides"])
    except Conflict as error:
        article.refresh_from_db()
        # what they typed stays; the next save is on top of the version that won
        posted = request.POST.copy()
        posted["base_number"] = str(article.latest_number)
        form = ArticleForm(posted, guide_choices=choices)
        form.is_valid()
        return _editor(
            request, form, space=article.space, article=article, status=409, conflict=str(error)
        )
    except ValidationError as error:
        _problems_into(form, error)
        return _editor(request, form, space=article.space, article=article, status=400)
    _after_save(request, user, article, request.POST.get("action", SAVE))
    return redirect("knowledge:article", article_id=article.pk)


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The editor's live preview: the body as readers will see it (sanitized HTML)."""
    body = request.POST.get("body", "")[:MAX_PREVIEW_CHARS]
    return render(
        request,
        "knowledge/partials/_preview.html",
        {"preview_html": mark_safe(markdown.render(body))},  # noqa: S308 - sanitized (nh3)
    )


@login_required
@require_POST
@found
def attachment_upload(request: HttpRequest, article_id: int) -> HttpResponse:
    """A file for an article (an image pasted or dropped into the editor, or chosen): JSON
    with its address and the Markdown that shows it for the editor's script; without
    JavaScript, back to the editor."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    _require(selectors.space_permissions(user, article.space), "edit_space")
    form = AttachmentForm(request.POST, request.FILES)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if form.is_valid():
        try:
            attachment = services.attachment_add(
                by=user, article_id=article.pk, upload=form.cleaned_data["file"]
            )
        except ValidationError as error:
            form.add_error("file", error.messages)
        except Refused as error:
            form.add_error("file", str(error))
        else:
            url = reverse("knowledge:attachment_inline", args=[attachment.pk])
            image = attachment.content_type.startswith("image/")
            label = attachment.name.replace("[", "").replace("]", "")
            text = f"![{label}]({url})" if image else f"[{label}]({url})"
            if wants_json:
                return JsonResponse(
                    {"id": attachment.pk, "name": attachment.name, "url": url, "markdown": text}
                )
            messages.success(request, _("The file has been attached."))
            return redirect("knowledge:article_edit", article_id=article.pk)
    problems = [str(message) for messages_ in form.errors.values() for message in messages_]
    if wants_json:
        return JsonResponse({"error": " ".join(problems)}, status=400)
    for problem in problems:
        messages.error(request, problem)
    return redirect("knowledge:article_edit", article_id=article.pk)


# --- versions ----------------------------------------------------------------------------------


@login_required
@require_GET
@found
def article_history(request: HttpRequest, article_id: int) -> HttpResponse:
    """Every version (pick two to compare), and who did what to the article."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    perms = selectors.space_permissions(user, article.space)
    versions = list(selectors.versions_of(article).select_related("author"))
    return render(
        request,
        "knowledge/history.html",
        {
            "article": article,
            "space": article.space,
            "versions": versions,
            "may_restore": "edit_space" in perms,
            "audit": selectors.audit_trail(article).select_related("actor")[:50],
            "published_number": article.published_version.number
            if article.published_version
            else None,
        },
    )


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 9 else None


@login_required
@require_GET
@found
def article_diff(request: HttpRequest, article_id: int) -> HttpResponse:
    """Two versions side by side (``?a=&b=``; Chinese compared by character)."""
    user = signed_in(request)
    article = selectors.article_for(user, article_id)
    a, b = _number(request.GET.get("a")), _number(request.GET.get("b"))
    if a is None or b is None:
        messages.error(request, _("Choose two versions to compare."))
        return redirect("knowledge:article_history", article_id=article.pk)
    a, b = min(a, b), max(a, b)
    diff = selectors.version_diff(article, a, b)
    return render(
        request,
        "knowledge/diff.html",
        {"article": article, "space": article.space, "diff": diff, "a": a, "b": b},
    )


@login_required
@require_POST
@found
def article_restore(request: HttpRequest, article_id: int, number: int) -> HttpResponse:
    """An old version's text saved again as the newest version (its editors)."""
    return _article_action(
        request,
        article_id,
        lambda user, article: services.article_restore_version(
            by=user, article_id=article.pk, number=number
        ),
        _("The version has been restored as a new version."),
    )


# --- search ------------------------------------------------------------------------------------


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """The search page: a query and filters (space, tag, owner, dates), the ranked results
    with the matched words marked, ten at a time (``?page=``)."""
    user = signed_in(request)
    form = SearchForm(request.GET)
    wanted = form.filters()
    page_number = _number(request.GET.get("page")) or 1
    spaces = list(selectors.spaces_for(user).order_by("key"))
    space = next((s for s in spaces if s.key == wanted.get("space")), None)
    owner = User.objects.filter(username=wanted["owner"]).first() if "owner" in wanted else None
    results = None
    unknown = ("space" in wanted and space is None) or ("owner" in wanted and owner is None)
    if wanted.get("q") and unknown:  # a filter naming nothing there: nothing passes it
        results = search.SearchPage(hits=[], total=0)
    elif wanted.get("q"):
        results = search.search(
            user,
            wanted.get("q", ""),
            space=space,
            tag=wanted.get("tag"),
            owner=owner,
            since=wanted.get("since"),
            until=wanted.get("until"),
            limit=SEARCH_PAGE_SIZE,
            offset=(page_number - 1) * SEARCH_PAGE_SIZE,
        )
    pages = 0
    if results is not None:
        pages = max(1, -(-results.total // SEARCH_PAGE_SIZE))
        if results.capped and len(results.hits) == SEARCH_PAGE_SIZE:
            # "at least" that many (a common word): there may be a page after this one
            pages = max(pages, page_number + 1)
    query: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k != "page" and v}
    context = {
        "form": form,
        "query": wanted.get("q", ""),
        "spaces": spaces,
        "results": results,
        "page_number": page_number,
        "pages": pages,
        "previous_url": f"?{urlencode({**query, 'page': str(page_number - 1)})}"
        if page_number > 1
        else "",
        "next_url": f"?{urlencode({**query, 'page': str(page_number + 1)})}"
        if page_number < pages
        else "",
        "filtered": any(k in wanted for k in ("space", "tag", "owner", "since", "until")),
    }
    return render(request, "knowledge/search.html", context)


@login_required
@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """The top bar's suggestions as one types (``?q=``): a few titles the person may read."""
    text = request.GET.get("q", "").strip()[:100]
    found_ = search.suggest(signed_in(request), text, limit=SUGGEST_LIMIT) if text else []
    return render(
        request, "knowledge/partials/_suggestions.html", {"suggestions": found_, "text": text}
    )


# --- attachments -------------------------------------------------------------------------------


def _file_response(attachment: ArticleAttachment, *, inline: bool) -> FileResponse:
    return file_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type, inline=inline
    )


@login_required
@require_GET
@found
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """An article's file, as a download."""
    attachment = selectors.attachment_for(signed_in(request), attachment_id)
    return _file_response(attachment, inline=False)


@login_required
@require_GET
@found
@xframe_options_sameorigin
def attachment_inline(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """Images (the article's body shows them) and PDF for the browser to show; any other
    type is downloaded."""
    attachment = selectors.attachment_for(signed_in(request), attachment_id)
    return _file_response(attachment, inline=previews.is_inline(attachment))


@login_required
@require_GET
@found
def attachment_preview(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """The workflow's preview of the file (htmx); without htmx, the article showing it."""
    attachment = selectors.attachment_for(signed_in(request), attachment_id)
    if not wants_partial(request):
        url = reverse("knowledge:article", args=[attachment.article_id])
        return redirect(f"{url}?preview={attachment.pk}#attachments")
    return render(request, "workflow/partials/_task_preview.html", _preview(attachment))


urlpatterns: list[URLPattern | URLResolver] = [
    path("", space_list, name="spaces"),
    path("spaces/new/", space_create, name="space_create"),
    path("help/", help_centre, name="help"),
    path("search/", search_page, name="search"),
    path("suggest/", suggest, name="suggest"),
    path("preview/", markdown_preview, name="preview"),
    path("s/<slug:space_key>/", space_home, name="space"),
    path("s/<slug:space_key>/members/", space_members, name="members"),
    path("s/<slug:space_key>/members/remove/", space_member_remove, name="member_remove"),
    path("s/<slug:space_key>/recycle-bin/", recycle_bin, name="recycle_bin"),
    path(
        "s/<slug:space_key>/recycle-bin/<int:article_id>/restore/",
        article_undelete,
        name="article_undelete",
    ),
    path("s/<slug:space_key>/settings/", space_settings, name="space_settings"),
    path("s/<slug:space_key>/new/", article_new, name="article_new"),
    path("articles/<int:article_id>/", article_page, name="article"),
    path("articles/<int:article_id>/edit/", article_edit, name="article_edit"),
    path("articles/<int:article_id>/history/", article_history, name="article_history"),
    path("articles/<int:article_id>/diff/", article_diff, name="article_diff"),
    path(
        "articles/<int:article_id>/versions/<int:number>/restore/",
        article_restore,
        name="article_restore",
    ),
    path("articles/<int:article_id>/publish/", article_publish, name="article_publish"),
    path("articles/<int:article_id>/submit/", article_submit, name="article_submit"),
    path("articles/<int:article_id>/delete/", article_delete, name="article_delete"),
    path("articles/<int:article_id>/confirm/", article_confirm, name="article_confirm"),
    path("articles/<int:article_id>/feedback/", article_feedback, name="article_feedback"),
    path("articles/<int:article_id>/attachments/", attachment_upload, name="attachment_upload"),
    path("attachments/<int:attachment_id>/", attachment_download, name="attachment"),
    path("attachments/<int:attachment_id>/inline/", attachment_inline, name="attachment_inline"),
    path("attachments/<int:attachment_id>/preview/", attachment_preview, name="attachment_preview"),
]
