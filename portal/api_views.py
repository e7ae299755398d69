"""Project-wide API views: the API's own 404 for any address under ``/api/`` that no app
serves, and the Redoc page of the one OpenAPI schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse
from django.template import engines
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@extend_schema(exclude=True)
class NotFoundApi(APIView):
    """An unknown address under ``/api/`` answers with the API's error body too."""

    permission_classes: Sequence[type[BasePermission]] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound()

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound()  # pragma: no cover - initial() raised

    post = put = patch = delete = get


# drf-spectacular's Redoc page asks Google for its fonts; intranets cannot reach them (and
# should not be told who reads the documentation), so the page uses the browser's fonts.
_REDOC_PAGE = engines["django"].from_string(
    """{% extends "drf_spectacular/redoc.html" %}
{% block head %}<title>{{ title|default:"Redoc" }}</title><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style>{% endblock head %}"""
)


class RedocApi(SpectacularRedocView):
    """The schema as Redoc renders it, with nothing loaded from outside."""

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        context = {
            "title": self.title,
            "redoc_standalone": self._redoc_standalone(),
            "schema_url": self._get_schema_url(request),
            # no settings: the page starts Redoc from its <redoc> element, without the
            # inline script the settings need (CSP: script-src 'self')
            "settings": "",
        }
        return HttpResponse(_REDOC_PAGE.render(context, request))
