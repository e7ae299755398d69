"""Middleware of the shell."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from csp.constants import UNSAFE_EVAL
from csp.middleware import CSPMiddleware
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils import translation

from portal import registry

logger = logging.getLogger(__name__)


class PlannedReadsMiddleware:
    """A page that only reads (GET, HEAD) has each of its queries planned for its own
    parameters: psycopg prepares none of them on PostgreSQL.

    The portal's connections prepare a statement run five times (``prepare_threshold`` in
    settings), which saves the engine's short statements their parsing and planning in
    every approval. But after five runs of a prepared statement PostgreSQL may keep one
    generic plan for every parameter, and for a search or a filtered list the right plan
    depends on the values: the inbox's 已办 with a rare word went from 10 to 73 ms on its
    eleventh request, when the generic plan took over (issue 16). Writes (POST and the
    rest) and the workers keep the prepared statements."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD") or connection.vendor != "postgresql":
            return self.get_response(request)
        connection.ensure_connection()
        raw = connection.connection
        threshold = raw.prepare_threshold
        raw.prepare_threshold = None
        try:
            return self.get_response(request)
        finally:
            raw.prepare_threshold = threshold


class UserLanguageMiddleware:
    """A signed-in user sees the portal in the language they chose (the language switch
    saves it on their account), whatever the browser asks for. Runs after authentication;
    Django's LocaleMiddleware handles visitors who are not signed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "preferred_language", None) if user is not None else None
        if user is not None and user.is_authenticated and language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's header on every HTML page (``CONTENT_SECURITY_POLICY`` in settings):
    scripts only from the portal's own static files, so a script that slipped into a page
    (stored text, an uploaded file's name) does not run. Other answers (an attachment shown
    inline, a PDF in the preview frame, JSON) carry none: the browser renders them as what
    they are, and a PDF viewer must not be held to a page's policy.

    The staff admin's theme (django-unfold) runs Alpine.js, which evaluates the expressions
    of its templates' ``x-data`` attributes: its pages, and only its pages, also allow
    ``'unsafe-eval'``. Scripts still come only from the portal's own files, and Django
    escapes every stored value, so no attribute of a user's making reaches Alpine."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        if request.path_info.startswith(reverse("admin:index")):
            response._csp_update = {"script-src": [UNSAFE_EVAL]}  # type: ignore[attr-defined]
        return super().process_response(request, response)


class ApiCallMiddleware:
    """The inbound API call log: each request under ``/api/`` is timed, and once it is
    answered every listener of ``portal.registry.api_call_listeners`` is told (the request,
    the status, the duration in milliseconds). A listener that fails is logged and skipped:
    the answer is made already, and the caller gets it whatever a log does."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000)
        for listener in registry.api_call_listeners:
            try:
                listener.record(request, response.status_code, duration_ms)
            except Exception:
                logger.exception("API call listener %s failed", listener.key)
        return response
