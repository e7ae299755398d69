"""``/api/v1/knowledge/``: the knowledge base's REST API (namespace ``knowledge-api``),
mounted by the portal from ``portal.registry.api_mounts`` (registered in the app's ``ready()``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from knowledge.api import views

app_name = "knowledge-api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("spaces/", views.SpaceListApi.as_view(), name="spaces"),
    path("spaces/<slug:space_key>", views.SpaceDetailApi.as_view(), name="space-detail"),
    path("articles/", views.ArticleListApi.as_view(), name="articles"),
    path("articles/<int:article_id>", views.ArticleDetailApi.as_view(), name="article-detail"),
    path(
        "articles/<int:article_id>/versions",
        views.ArticleVersionListApi.as_view(),
        name="article-versions",
    ),
    path(
        "articles/<int:article_id>/versions/<int:number>",
        views.ArticleVersionApi.as_view(),
        name="article-version",
    ),
    path(
        "articles/<int:article_id>/versions/<int:number>/restore",
        views.ArticleVersionRestoreApi.as_view(),
        name="article-version-restore",
    ),
    path(
        "articles/<int:article_id>/publish",
        views.ArticlePublishApi.as_view(),
        name="article-publish",
    ),
    path(
        "articles/<int:article_id>/submit", views.ArticleSubmitApi.as_view(), name="article-submit"
    ),
    path(
        "articles/<int:article_id>/feedback",
        views.ArticleFeedbackApi.as_view(),
        name="article-feedback",
    ),
    path("search/", views.SearchApi.as_view(), name="search"),
]
