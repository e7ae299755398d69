"""Root URLconf: the shell, Django admin, each app's URLconf by dotted name, and each app's
REST API as it registered it (``portal.registry.api_mounts``)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import urls as oauth2_urls

from portal import registry, views
from portal.api_views import DictionaryApi, DictionaryCheckApi, NotFoundApi, RedocApi
from portal.oauth import ThrottledTokenView

oauth2_patterns = [
    pattern
    for pattern in oauth2_urls.base_urlpatterns
    if getattr(pattern, "name", "") in {"authorize", "revoke-token", "introspect"}
] + [path("token/", ThrottledTokenView.as_view(), name="token")]

shell_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("portlets/<slug:key>/", views.portlet, name="portlet"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/delegations/", views.delegation_create, name="delegation_create"),
    path("accounts/profile/delegations/<int:pk>/end/", views.delegation_end, name="delegation_end"),
    path(
        "accounts/profile/delegations/<int:pk>/delete/",
        views.delegation_delete,
        name="delegation_delete",
    ),
    path("language/", views.language_set, name="language"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path(
        "notifications/read-all/", views.notification_mark_all_read, name="notifications_read_all"
    ),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("announcements/", views.announcement_list, name="announcements"),
    path("announcements/<int:pk>/", views.announcement_detail, name="announcement"),
    path("dictionary/", views.dictionary, name="dictionary"),
    path("dictionary/print/", views.dictionary_print, name="dictionary_print"),
]

# The data dictionary's API (/api/v1/dictionary/), the portal's own
dictionary_api_patterns = [
    path("", DictionaryApi.as_view(), name="dictionary"),
    path("check/", DictionaryCheckApi.as_view(), name="dictionary-check"),
]

# A database that cannot be reached for a moment is a 503 with Retry-After, not a 500.
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", include((shell_patterns, "portal"))),
    path("admin/", admin.site.urls),
    path("workflow/", include("workflow.urls")),
    path("crm/", include("crm.urls")),
    path("erp/", include("erp_bridge.urls")),
    path("knowledge/", include("knowledge.urls")),
    # REST API, its OpenAPI schema and documentation (Swagger UI / Redoc served locally), for
    # signed-in people and API clients only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the
    # Swagger page loads its start-up script from its own address (no inline script: CSP)
    path("api/v1/dictionary/", include((dictionary_api_patterns, "portal-api"))),
    *[path(f"api/v1/{mount.prefix}", include(mount.urlconf)) for mount in registry.api_mounts],
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/redoc/", login_required(RedocApi.as_view(url_name="api-schema")), name="api-redoc"),
    re_path(r"^api/", NotFoundApi.as_view()),
    # OAuth2 (django-oauth-toolkit): authorize, token, revoke, introspect. Applications are
    # registered by administrators in Django admin, not by self-service pages.
    path("o/", include((oauth2_patterns, "oauth2_provider"))),
]
