"""Project-wide API views: the API's own 404 for any address under ``/api/`` that no app
serves, the Redoc page of the one OpenAPI schema, and the data dictionary
(``/api/v1/dictionary/``: the shared codes' rules, and a check of one value against them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template import engines
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework import exceptions, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import codes
from portal.api import error_responses
from portal.choices import CodeRuleKey


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


# --- the data dictionary ---------------------------------------------------------------------

TAGS_DICTIONARY = ["dictionary"]


class CodeRuleSerializer(serializers.Serializer[Any]):
    key = serializers.ChoiceField(choices=CodeRuleKey.choices)
    name = serializers.CharField(help_text="the code's name, in the caller's language")
    pattern = serializers.CharField(help_text="a regular expression the whole code must match")
    example = serializers.CharField()
    checksum = serializers.CharField(help_text="none, uscc (GB 32100-2015) or iso4217")
    unique = serializers.BooleanField(help_text="whether one value names only one thing")
    unique_within = serializers.CharField(help_text="where it is unique; empty if not unique")
    description = serializers.CharField()
    used_by = serializers.CharField(help_text="the systems that use the code")


class CodeCheckInputSerializer(serializers.Serializer[Any]):
    key = serializers.ChoiceField(choices=CodeRuleKey.choices)
    value = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False)


class CodeCheckSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    message = serializers.CharField(help_text="why it is not valid; empty when it is")


def rule_data(rule: codes.LiveRule) -> dict[str, Any]:
    return {
        "key": rule.key,
        "name": rule.label,
        "pattern": rule.pattern,
        "example": rule.example,
        "checksum": rule.checksum,
        "unique": rule.is_unique,
        "unique_within": rule.unique_scope,
        "description": rule.description,
        "used_by": str(codes.USED_BY.get(rule.key, "")),
    }


class DictionaryApi(APIView):
    """数据字典: every shared code with its rule in force."""

    @extend_schema(
        tags=TAGS_DICTIONARY,
        operation_id="dictionary_list",
        summary="数据字典 The codes every system shares, each with its rule",
        responses={200: CodeRuleSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response([rule_data(rule) for rule in codes.live_rules()])


class DictionaryCheckApi(APIView):
    """Whether a value is a valid code of a key, by the rule in force (changes nothing)."""

    required_scopes = ["read"]  # a check reads the rules and writes nothing

    @extend_schema(
        tags=TAGS_DICTIONARY,
        operation_id="dictionary_check",
        summary="Check a value against a code's rule (pattern and checksum)",
        description=(
            "Answers 200 whether the value is valid or not: `valid` says which, `message` why "
            "not, naming the rule and giving its example. An unknown `key` is 400."
        ),
        request=CodeCheckInputSerializer,
        responses={200: CodeCheckSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        given = CodeCheckInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            codes.code_check(given.validated_data["key"], given.validated_data["value"])
        except ValidationError as exc:
            return Response({"valid": False, "message": " ".join(exc.messages)})
        return Response({"valid": True, "message": ""})
