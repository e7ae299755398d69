"""The knowledge base's API views: one per action, an input and an output serializer each; the view
calls a service or selector (docs/architecture.md).

What a caller may not see answers 404: spaces through ``selectors.space_for``, articles through
``selectors.article_for`` (a reader finds published articles of readable spaces; an editor,
reviewer or space admin, and the owner, also drafts). A reader gets an article's published
version; those who may work on it get the working copy with its review state. A write by
someone who sees the article but holds no editor's role in its space answers 403; what the
article's state refuses (a publish in a space that reviews, a save on a stale version)
answers 409 with the common error body (``portal.api``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import markdown, search, selectors, services
from knowledge.api import serializers as s
from knowledge.models import Article, ArticleVersion, Space
from portal.api import KEYSET_PARAMETERS, KeysetPage, error_responses
from portal.errors import NotFound
from portal.http import signed_in
from portal.keyset import Source
from portal.models import User

TAGS_SPACES = ["knowledge: spaces"]
TAGS_ARTICLES = ["knowledge: articles"]
TAGS_SEARCH = ["knowledge: search"]

# --- who may do what ------------------------------------------------------------------------------


def sees_working_copy(user: User, article: Article, permissions: set[str]) -> bool:
    """Editors, reviewers and space admins of the article's space, and its owner, work on
    the latest version; everyone else reads the published one."""
    return bool(permissions & selectors.WORKING_PERMISSIONS) or article.owner_id == user.pk


def require_editor(user: User, article: Article) -> None:
    """Saving, restoring, publishing and submitting need the editor's role in the space (a
    space admin holds it); someone who may only read the article gets 403 (they know it
    exists), as the services refuse it."""
    if "edit_space" not in selectors.space_permissions(user, article.space):
        raise exceptions.PermissionDenied(_("Only the space's editors may change its articles."))


def require_deleter(user: User, article: Article) -> None:
    """The recycle bin takes an article from its owner or a space admin (``article_delete``)."""
    permissions = selectors.space_permissions(user, article.space)
    if article.owner_id != user.pk and "admin_space" not in permissions:
        raise exceptions.PermissionDenied(
            _("Only the article's owner or a space admin may delete it.")
        )


def _readable_article(user: User, article_id: int) -> Article:
    return selectors.article_for(user, article_id)


def _renamed(error: ValidationError, names: dict[str, str]) -> ValidationError:
    """A service's field error under the name the API's input calls the field."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({names.get(k, k): v for k, v in error.error_dict.items()})


# --- shaping --------------------------------------------------------------------------------------


def space_data(user: User, space: Space, **extra: Any) -> dict[str, Any]:
    return {
        "key": space.key,
        "name": space.name,
        "name_en": space.name_en,
        "display_name": space.display_name,
        "description": space.description,
        "visibility": space.visibility,
        "requires_review": space.requires_review,
        "permissions": sorted(selectors.space_permissions(user, space)),
        **extra,
    }


def article_data(user: User, article: Article) -> dict[str, Any]:
    """The article as ``user`` may see it (module docstring)."""
    permissions = selectors.space_permissions(user, article.space)
    working = sees_working_copy(user, article, permissions)
    published: ArticleVersion | None = article.published_version
    if working or published is None:
        text: dict[str, Any] = {
            "title": article.title,
            "summary": article.summary,
            "body": article.body,
            "tags": [tag.name for tag in article.tags.all()],
            "version": article.latest_number,
        }
    else:
        text = {
            "title": published.title,
            "summary": published.summary,
            "body": published.body,
            "tags": list(published.tags),
            "version": published.number,
        }
    return {
        "id": article.pk,
        "space": article.space.key,
        "space_name": article.space.display_name,
        **text,
        "body_html": markdown.render(text["body"]),
        "lang": article.lang,
        "owner": article.owner.username,
        "working_copy": working or published is None,
        "latest_version": article.latest_number if working else None,
        "published_version": published.number if published else None,
        "published_at": article.published_at,
        # a reader's article changed when its published version did, not at a draft's save
        "updated_at": article.updated_at if working else article.published_at,
        "review_state": selectors.review_state(article) if working else None,
        "review_date": article.review_date,
        "may_be_outdated": article.may_be_outdated(),
        "helpful_count": article.helpful_count,
        "not_helpful_count": article.not_helpful_count,
        "view_count": article.view_count,
    }


def _article_answer(request: Request, article_id: int, status: int = 200) -> Response:
    article = _readable_article(signed_in(request), article_id)
    return Response(s.ArticleSerializer(article_data(signed_in(request), article)).data, status)


def version_data(version: ArticleVersion, published_number: int | None) -> dict[str, Any]:
    return {
        "number": version.number,
        "title": version.title,
        "author": version.author.username,
        "note": version.note,
        "restored_from": version.restored_from,
        "created_at": version.created_at,
        "published": version.number == published_number,
        "summary": version.summary,
        "body": version.body,
        "tags": list(version.tags),
    }


def _published_number(article: Article) -> int | None:
    published = article.published_version
    return published.number if published else None


# --- spaces ---------------------------------------------------------------------------------------


class SpaceListApi(APIView):
    @extend_schema(
        tags=TAGS_SPACES,
        operation_id="knowledge_spaces_list",
        summary="知识库空间 The spaces the caller may read, with what they may do in each",
        responses={200: s.SpaceSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        spaces = selectors.spaces_for(user).order_by("key")
        return Response(s.SpaceSerializer([space_data(user, sp) for sp in spaces], many=True).data)


class SpaceDetailApi(APIView):
    @extend_schema(
        tags=TAGS_SPACES,
        operation_id="knowledge_spaces_retrieve",
        summary="A space the caller may read, with its tags",
        responses={200: s.SpaceDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, space_key: str) -> Response:
        user = signed_in(request)
        space = selectors.space_for(user, space_key)
        tags = [{"name": name, "count": count} for name, count in selectors.space_tags(space)]
        return Response(s.SpaceDetailSerializer(space_data(user, space, tags=tags)).data)


# --- articles -------------------------------------------------------------------------------------


def _listed(user: User, query: dict[str, Any]) -> QuerySet[Article]:
    rows = selectors.articles_for(user).select_related("space", "owner", "published_version")
    if query.get("space"):
        rows = rows.filter(space__key=query["space"])
    if query.get("tag"):
        rows = rows.filter(tags__name=services.fold_tag(query["tag"]))
    if query.get("owner"):
        rows = rows.filter(owner__username=query["owner"])
    if query.get("updated_since"):
        rows = rows.filter(published_at__gte=query["updated_since"])
    return rows.distinct() if query.get("tag") else rows


def _brief(article: Article) -> dict[str, Any]:
    # articles_for lists published articles only
    published = article.published_version or ArticleVersion(number=0, tags=[])
    return {
        "id": article.pk,
        "space": article.space.key,
        "space_name": article.space.display_name,
        "title": published.title,
        "summary": published.summary,
        "tags": list(published.tags),
        "lang": article.lang,
        "owner": article.owner.username,
        "version": published.number,
        "updated_at": article.published_at,
    }


class ArticleListApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_list",
        summary="Published articles the caller may read, the most recently published first",
        parameters=[s.ArticleListQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: s.ArticlePageSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        given = s.ArticleListQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        rows = _listed(signed_in(request), dict(given.validated_data))
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="published_at"))
        return page.response(s.ArticleBriefSerializer([_brief(a) for a in found], many=True).data)

    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_create",
        summary="Write a new article (a draft, version 1; needs the editor's role in the space)",
        request=s.ArticleCreateInputSerializer,
        responses={201: s.ArticleSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request) -> Response:
        user = signed_in(request)
        given = s.ArticleCreateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            space = selectors.space_for(user, data["space"])
        except NotFound:
            raise exceptions.ValidationError(
                {"space": [_("There is no space with this key that you may read.")]}
            ) from None
        if "edit_space" not in selectors.space_permissions(user, space):
            raise exceptions.PermissionDenied(
                _("Only the space's editors may write articles in it.")
            )
        try:
            article = services.article_create(
                by=user,
                space_id=space.pk,
                title=data["title"],
                body=data["body"],
                summary=data["summary"],
                tags=tuple(data["tags"]),
                lang=data["lang"],
                note=data["note"],
            )
        except ValidationError as error:
            raise _renamed(error, {"space_id": "space"}) from error
        return _article_answer(request, article.pk, status=201)


class ArticleDetailApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_retrieve",
        summary="An article: the published version, or the working copy for its editors",
        responses={200: s.ArticleSerializer, **error_responses(404)},
    )
    def get(self, request: Request, article_id: int) -> Response:
        return _article_answer(request, article_id)

    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_update",
        summary="Save the article's text as its next version",
        description=(
            "Every save is a new version; readers keep the published version until the new "
            "one is published. With `base_version`, a save made while someone else saved a "
            "later version answers 409 `conflict` and saves nothing."
        ),
        request=s.ArticleSaveInputSerializer,
        responses={200: s.ArticleSerializer, **error_responses(400, 404, 409)},
    )
    def put(self, request: Request, article_id: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        require_editor(user, article)
        given = s.ArticleSaveInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            services.article_save(
                by=user,
                article_id=article.pk,
                title=data["title"],
                body=data["body"],
                summary=data["summary"],
                tags=tuple(data["tags"]),
                lang=data.get("lang"),
                note=data["note"],
                base_number=data["base_version"],
            )
        except ValidationError as error:
            raise _renamed(error, {"base_number": "base_version"}) from error
        return _article_answer(request, article.pk)

    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_destroy",
        summary="Move the article to the recycle bin (a space admin restores it within 30 days)",
        responses={204: None, **error_responses(404, 409)},
    )
    def delete(self, request: Request, article_id: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        require_deleter(user, article)
        services.article_delete(by=user, article_id=article.pk)
        return Response(status=204)


class ArticleVersionListApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_article_versions_list",
        summary="The article's versions, the latest first (its editors, reviewers and owner)",
        parameters=KEYSET_PARAMETERS,
        responses={200: s.VersionPageSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request, article_id: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        if not sees_working_copy(user, article, selectors.space_permissions(user, article.space)):
            raise exceptions.PermissionDenied(
                _("Only the space's editors and reviewers see an article's versions.")
            )
        rows = selectors.versions_of(article).select_related("author")
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="created_at"))
        number = _published_number(article)
        items = [version_data(v, number) for v in found]
        return page.response(s.VersionBriefSerializer(items, many=True).data)


class ArticleVersionApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_article_versions_retrieve",
        summary="One version of the article with its text",
        description="Readers may open the published version; the others are its editors'.",
        responses={200: s.VersionSerializer, **error_responses(404)},
    )
    def get(self, request: Request, article_id: int, number: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        published = _published_number(article)
        working = sees_working_copy(user, article, selectors.space_permissions(user, article.space))
        if not working and number != published:
            raise NotFound(_("There is no such version."))
        version = selectors.versions_of(article).select_related("author").filter(number=number)
        found = version.first()
        if found is None:
            raise NotFound(_("There is no such version."))
        data = version_data(found, published)
        data["body_html"] = markdown.render(found.body)
        return Response(s.VersionSerializer(data).data)


class ArticleVersionRestoreApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_article_versions_restore",
        summary="Restore an old version as the article's next version",
        request=None,
        responses={201: s.VersionSerializer, **error_responses(404, 409)},
    )
    def post(self, request: Request, article_id: int, number: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        require_editor(user, article)
        restored = services.article_restore_version(by=user, article_id=article.pk, number=number)
        fresh = selectors.article_for(user, article.pk)
        data = version_data(restored, _published_number(fresh))
        data["body_html"] = markdown.render(restored.body)
        return Response(s.VersionSerializer(data).data, status=201)


class ArticlePublishApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_publish",
        summary="Publish the article's latest (or a given) version",
        description=(
            "In a space without review, an editor publishes. In a space that reviews, an "
            "article is published through its review (`submit`): a publish answers 409."
        ),
        request=s.PublishInputSerializer,
        responses={200: s.ArticleSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, article_id: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        require_editor(user, article)
        given = s.PublishInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            services.article_publish(
                by=user, article_id=article.pk, number=given.validated_data["version"]
            )
        except ValidationError as error:
            raise _renamed(error, {"number": "version"}) from error
        return _article_answer(request, article.pk)


class ArticleSubmitApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_submit",
        summary="Submit the latest version for review (in a space that reviews)",
        description=(
            "Starts the review on the workflow engine (or resubmits a returned draft); the "
            "space's reviewers approve, return or reject it. A space without review answers "
            "409: publish instead."
        ),
        request=s.SubmitInputSerializer,
        responses={200: s.SubmitResultSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, article_id: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        require_editor(user, article)
        given = s.SubmitInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        instance_id = services.article_submit(
            by=user, article_id=article.pk, comment=given.validated_data["comment"]
        )
        fresh = selectors.article_for(user, article.pk)
        result = {"article": article_data(user, fresh), "review_instance_id": instance_id}
        return Response(s.SubmitResultSerializer(result).data)


class ArticleFeedbackApi(APIView):
    @extend_schema(
        tags=TAGS_ARTICLES,
        operation_id="knowledge_articles_feedback",
        summary="Say whether the article helped (once per reader: giving it again changes it)",
        request=s.FeedbackInputSerializer,
        responses={200: s.FeedbackSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, article_id: int) -> Response:
        user = signed_in(request)
        article = _readable_article(user, article_id)
        given = s.FeedbackInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        feedback = services.feedback_give(
            by=user,
            article_id=article.pk,
            helpful=given.validated_data["helpful"],
            comment=given.validated_data["comment"],
        )
        counts = Article.objects.values("helpful_count", "not_helpful_count").get(pk=article.pk)
        data = {
            "helpful": feedback.helpful,
            "comment": feedback.comment,
            "created_at": feedback.created_at,
            **counts,
        }
        return Response(s.FeedbackSerializer(data).data)


# --- search ---------------------------------------------------------------------------------------


def hit_data(hit: search.Hit) -> dict[str, Any]:
    return {
        "id": hit.article_id,
        "title": hit.title,
        "title_html": hit.title_html,
        "space": hit.space_key,
        "space_name": hit.space_name,
        "snippet": hit.snippet_html,
        "score": hit.score,
        "updated_at": hit.updated_at,
        "tags": list(hit.tags),
    }


class SearchApi(APIView):
    @extend_schema(
        tags=TAGS_SEARCH,
        operation_id="knowledge_search",
        summary="Search the articles the caller may read, the best match first",
        description=(
            "Chinese words are found inside longer words, English words, numbers and "
            "identifiers (VPN, FIN-007) as written, full-width and half-width alike; the "
            "title weighs more than the body. Any text is a query: what cannot match finds "
            "nothing."
        ),
        parameters=[s.SearchQuerySerializer],
        responses={200: s.SearchResultSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        given = s.SearchQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        query = given.validated_data
        space: Space | None = None
        if query.get("space"):
            try:
                space = selectors.space_for(user, query["space"])
            except NotFound:  # a space one may not read holds nothing for them
                return Response(
                    s.SearchResultSerializer({"results": [], "total": 0, "capped": False}).data
                )
        found = search.search(
            user,
            query["q"],
            space=space,
            tag=services.fold_tag(query["tag"]) if query.get("tag") else None,
            limit=query["limit"],
        )
        data = {
            "results": [hit_data(hit) for hit in found.hits],
            "total": found.total,
            "capped": found.capped,
        }
        return Response(s.SearchResultSerializer(data).data)
