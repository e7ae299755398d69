"""What every REST endpoint shares: one error body, OAuth2 tokens acting as a user, scopes,
throttles and keyset pages.

Error body (``EXCEPTION_HANDLER``), for every error the API answers::

    {"error": {"code": "already_handled", "message": "<in the caller's language>",
               "fields": {"title": ["..."]},            # validation errors only
               "problems": [{"element_id": "...", "message": "..."}]}}  # BPMN files only

Status codes: 400 bad input (``invalid``, ``parse_error``, ``invalid_bpmn``); 401 no or bad
credentials (``not_authenticated``, ``authentication_failed``); 403 signed in but not allowed
(``permission_denied``, ``insufficient_scope``); 404 not there or not visible to the caller
(``not_found``); 405, 406, 415 as HTTP says; 409 the state of the object refuses the action
(``already_handled``: someone acted first; ``action_refused``: not now, or not by you;
``refused``: any other engine refusal); 422 understood but cannot be processed
(``process_error``: the process failed on these data and nothing changed;
``idempotency_key_reused``); 413 the body is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(``too_large``); 429 throttled (``throttled``, with ``Retry-After``); 503 the database cannot
be reached for a moment, e.g. while it restarts (``service_unavailable``, with
``Retry-After``): send the same request again (a start with its ``Idempotency-Key``; an
action that was done after all answers 409). A 500 is left to Django (logged and mailed to
the administrators as every other crash).

The OAuth2 endpoints under ``/o/`` answer in RFC 6749's own error format, which clients expect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedElementTree
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from oauth2_provider.contrib.rest_framework import authentication as oauth2_authentication
from oauth2_provider.models import AbstractAccessToken
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle
from rest_framework.utils.urls import replace_query_param
from rest_framework_xml import parsers as xml_parsers
from rest_framework_xml import renderers as xml_renderers

from portal.errors import PortalError
from portal.keyset import BadCursor, Cursor, Source, keyset_page
from portal.models import RATE_PATTERN, ClientScopes

if TYPE_CHECKING:
    from rest_framework.views import APIView

# --- the error body -----------------------------------------------------------------------------


class Unprocessable(exceptions.APIException):
    """422: the request is well formed but cannot be carried out as it is."""

    status_code = 422
    default_detail = gettext_lazy("The request cannot be processed.")
    default_code = "unprocessable"


class TooLarge(exceptions.APIException):
    """413: the body is larger than the server takes (``DATA_UPLOAD_MAX_MEMORY_SIZE``)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request is too large.")
    default_code = "too_large"


# The database cannot be reached (restarting, failing over, its connections used up): the
# same request a few seconds later will go through.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(exceptions.APIException):
    """503: the database cannot be reached for a moment; ``Retry-After`` says when to retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = gettext_lazy(
        "The service is unavailable for a moment. Please try again in a few seconds."
    )
    default_code = "service_unavailable"
    wait = RETRY_AFTER_SECONDS


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with JSON nested too deeply for Python's parser (``[[[[...``, a
    RecursionError that DRF lets through as a 500) answered as the parse error it is."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - nested too deeply.")) from None


class XMLParser(xml_parsers.XMLParser):
    """djangorestframework-xml's parser, as it parses (defusedxml, any DTD refused: no entity
    expansion, no external entity, nothing fetched), with three changes:

    - A refused DTD is said in words, without echoing the declaration back.
    - Each element's text is given to the serializer as the text it is. The package turns
      "0012" into the number 12 and "2026-01-05 09:00:00" into a datetime; a code with leading
      zeros would lose them, and the serializer converts what it needs to anyway.
    - XML nested too deeply for the converter is the parse error it is, not a 500.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        parser = DefusedElementTree.DefusedXMLParser(encoding=encoding)
        try:
            tree = DefusedElementTree.parse(stream, parser=parser, forbid_dtd=True)
        except DefusedXmlException:
            raise exceptions.ParseError(
                _("XML parse error - a document type declaration (DTD) is not accepted.")
            ) from None
        except (DefusedElementTree.ParseError, ValueError) as exc:
            raise exceptions.ParseError(_("XML parse error - %(error)s") % {"error": exc}) from None
        try:
            return self._xml_convert(tree.getroot())
        except RecursionError:
            raise exceptions.ParseError(_("XML parse error - nested too deeply.")) from None

    def _type_convert(self, value: Any) -> Any:
        return value


# What XML 1.0 cannot carry (C0 controls other than tab, newline and carriage return).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_NAME = re.compile(r"[^\W\d][\w.-]*")


class XMLRenderer(xml_renderers.XMLRenderer):
    """djangorestframework-xml's renderer (``<root>``, lists as ``<list-item>``), made safe
    for any data the API answers: a key that is not an XML name (a space, a leading digit,
    "xml...") becomes ``<item key="...">``; characters XML cannot carry are left out;
    booleans are ``true``/``false`` as in JSON."""

    def _to_xml(self, xml: Any, data: Any) -> None:
        if isinstance(data, Mapping):
            for key, value in data.items():
                name = str(key)
                if _XML_NAME.fullmatch(name) and not name.lower().startswith("xml"):
                    xml.startElement(name, {})
                    self._to_xml(xml, value)
                    xml.endElement(name)
                else:
                    xml.startElement("item", {"key": _XML_ILLEGAL.sub("", name)})
                    self._to_xml(xml, value)
                    xml.endElement("item")
        elif isinstance(data, bool):
            xml.characters("true" if data else "false")
        elif isinstance(data, str):
            xml.characters(_XML_ILLEGAL.sub("", data))
        elif isinstance(data, list | tuple) or data is None:
            super()._to_xml(xml, data)
        else:
            xml.characters(_XML_ILLEGAL.sub("", str(data)))


def _flatten(detail: Any, prefix: str, into: dict[str, list[str]]) -> None:
    """DRF's nested error detail as ``{"field.sub.0": [messages]}``."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = str(key)
            if name in (api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS):
                name = ""
            _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name, into)
    elif isinstance(detail, list | tuple) and any(isinstance(i, Mapping | list) for i in detail):
        for index, item in enumerate(detail):
            _flatten(item, f"{prefix}.{index}" if prefix else str(index), into)
    elif isinstance(detail, list | tuple):
        into.setdefault(prefix, []).extend(str(item) for item in detail)
    else:
        into.setdefault(prefix, []).append(str(detail))


def validation_body(detail: Any) -> dict[str, Any]:
    """The error body of a validation error: field errors under ``fields``; errors of the
    whole input (non-field errors) become the message."""
    flat: dict[str, list[str]] = {}
    _flatten(detail, "", flat)
    general = flat.pop("", [])
    message = " ".join(general) if general else _("Some of the data sent are not valid.")
    return {"code": "invalid", "message": message, "fields": flat}


def _django_validation_detail(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return error.messages


def _as_api_exception(exc: Exception) -> Exception:
    """Django's own exceptions as the API's (DRF's) equivalents; others as they are."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return TooLarge(
            _("The request is larger than %(size)s MB; send the file as an upload.")
            % {"size": f"{limit / 1_048_576:g}"}
        )
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return ServiceUnavailable()
    return exc


def error_body(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, the ``error`` object, extra headers) for an exception the API answers."""
    if isinstance(exc, DjangoValidationError):
        return status.HTTP_400_BAD_REQUEST, validation_body(_django_validation_detail(exc)), {}
    if isinstance(exc, PortalError):  # what the apps raise: their own code and body
        return exc.status, exc.body(), {}
    exc = _as_api_exception(exc)
    if isinstance(exc, exceptions.ValidationError):
        return exc.status_code, validation_body(exc.detail), {}
    if not isinstance(exc, exceptions.APIException):
        raise TypeError(f"no error body for {type(exc).__name__}")
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    detail = exc.detail
    if isinstance(detail, dict):  # a permission's message with extra keys
        extra: dict[Any, Any] = detail
        message = str(extra.get("detail", exc.default_detail))
        code = str(getattr(extra.get("detail"), "code", exc.default_code))
    elif isinstance(detail, list):
        message = " ".join(str(item) for item in detail)
        code = exc.default_code
    else:
        message = str(detail)
        code = str(getattr(detail, "code", None) or exc.default_code)
    return exc.status_code, {"code": code, "message": message}, headers


HANDLED = (
    exceptions.APIException,
    Http404,
    RequestDataTooBig,
    DjangoPermissionDenied,
    DjangoValidationError,
    PortalError,
    *DATABASE_UNAVAILABLE,
)


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every error the API knows as one body (module docstring).
    Anything else returns None and becomes Django's 500."""
    if not isinstance(exc, HANDLED):
        return None
    # Imported here: DRF imports this module (the authentication class) while it imports its
    # views module.
    from rest_framework.views import set_rollback

    code, error, headers = error_body(exc)
    set_rollback()
    return Response({"error": error}, status=code, headers=headers)


class ProblemSerializer(serializers.Serializer[Any]):
    element_id = serializers.CharField(help_text=gettext_lazy("BPMN element id; empty: the file"))
    message = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer[Any]):
    # ``fields`` would shadow Serializer.fields as a class attribute, hence get_fields.
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "code": serializers.CharField(help_text="machine-readable, e.g. already_handled"),
            "message": serializers.CharField(help_text="for a person, in the caller's language"),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text="validation errors only: messages by input field (nested: a.b.0)",
            ),
            "problems": ProblemSerializer(
                many=True, required=False, help_text="invalid BPMN only: every problem found"
            ),
        }


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


_ERROR_MEANING = {
    400: "Bad input: `invalid` with `fields`, `parse_error`, or `invalid_bpmn` with `problems`.",
    401: "No or invalid credentials.",
    403: "Not allowed: `permission_denied` or `insufficient_scope` (OAuth2 token).",
    404: "Not found, or not visible to the caller.",
    413: "The body is larger than the server takes: `too_large`.",
    409: "The object's state refuses it: `already_handled`, `action_refused` or `refused`.",
    422: "Cannot be processed: `process_error` or `idempotency_key_reused`.",
    429: "Too many requests; see Retry-After.",
    503: "The database cannot be reached for a moment: `service_unavailable`; see Retry-After.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an endpoint; 401, 403 (a token's scope), 429 and 503
    may answer any endpoint."""
    wanted = sorted({*codes, 401, 403, 429, 503})
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_ERROR_MEANING[code])
        for code in wanted
    }


# --- authentication and scopes ------------------------------------------------------------------


class OAuth2Authentication(oauth2_authentication.OAuth2Authentication):
    """DOT's bearer-token authentication, plus two rules of ours:

    - A client-credentials token has no user of its own: the integration acts as its OAuth
      application's ``user`` (set in admin → OAuth2 applications), with that user's
      permissions. A token whose application has no user, or an inactive one, is refused.
    - The portal speaks the user's chosen language (as ``UserLanguageMiddleware`` does for
      the session, which runs before the token is known).
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        found = super().authenticate(request)
        if found is None:
            return None
        user, token = found
        if user is None:
            application = getattr(token, "application", None)
            user = getattr(application, "user", None)
            if user is None:
                raise exceptions.AuthenticationFailed(
                    _(
                        "This client has no user to act as; an administrator must set the "
                        "user of its OAuth2 application."
                    ),
                    code="client_without_user",
                )
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        language = getattr(user, "preferred_language", "")
        if language:
            translation.activate(language)
            request._request.LANGUAGE_CODE = translation.get_language()
        return user, token


def required_scopes(view: APIView, method: str) -> list[str]:
    """The OAuth2 scopes a request needs: ``view.required_scopes`` (a list, or a dict by HTTP
    method), else ``read`` for safe methods and ``write`` for the others."""
    declared = getattr(view, "required_scopes", None)
    if isinstance(declared, Mapping):
        declared = declared.get(method.upper())
    if declared:
        return list(declared)
    return ["read"] if method.upper() in SAFE_METHODS else ["write"]


class TokenHasViewScope(BasePermission):
    """A request with an OAuth2 token needs the scopes of :func:`required_scopes`; a request
    of a signed-in browser session is not limited by scopes."""

    message = gettext_lazy("The access token's scope does not allow this request.")
    code = "insufficient_scope"

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        if not isinstance(token, AbstractAccessToken):
            return True
        return bool(token.allow_scopes(required_scopes(view, request.method or "GET")))


class PortalOAuth2Scheme(DjangoOAuthToolkitScheme):
    """The schema's security entry for our authentication class, with each operation's
    scopes."""

    target_class = "portal.api.OAuth2Authentication"

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        return {self.name: required_scopes(auto_schema.view, auto_schema.method)}


# --- throttles ------------------------------------------------------------------------------------


class LiveRate:
    # DRF's throttles copy the rates when the module is imported; reading them per request
    # lets a test (or a settings reload) change them.
    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(getattr(self, "scope", None) or "")
        return None if rate is None else str(rate)


class AnonThrottle(LiveRate, AnonRateThrottle):
    """Callers without credentials, per address (``API_THROTTLE_ANON``)."""


class UserThrottle(LiveRate, UserRateThrottle):
    """Signed-in users and tokens, per user (``API_THROTTLE_USER``); an integration with
    client credentials counts as its application's user."""


class ClientThrottle(LiveRate, SimpleRateThrottle):
    """Requests made with an OAuth2 token, per OAuth2 application (its client id): the
    application's own ``rate`` (:class:`~portal.models.ClientScopes`, set in admin) or else
    ``API_THROTTLE_CLIENT``. One integration that loops cannot use up the API for the others;
    it gets 429 with ``Retry-After``. Requests of a browser session are not counted here."""

    scope = "client"

    def allow_request(self, request: Request, view: APIView) -> bool:
        application = getattr(request.auth, "application", None)
        if not isinstance(request.auth, AbstractAccessToken) or application is None:
            return True
        own = (
            ClientScopes.objects.filter(application_id=application.pk)
            .values_list("rate", flat=True)
            .first()
        )
        # a row saved without clean() (a script, the shell) must not break every call
        self.rate = own if own and RATE_PATTERN.fullmatch(own) else self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.client_id = str(application.client_id)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.client_id}


# --- keyset pages ---------------------------------------------------------------------------------


KEYSET_PARAMETERS = [
    OpenApiParameter("cursor", str, description="the `next` link's cursor; absent: the first page"),
    OpenApiParameter("page_size", int, description="rows per page, 1-100 (default 20)"),
]


class KeysetPage:
    """A list of the API as keyset pages (``portal.keyset``): the request's ``cursor`` and
    ``page_size``, the answer's ``results`` and ``next`` link."""

    default_size = 20
    max_size = 100

    def __init__(self, request: Request) -> None:
        self.request = request
        raw_size = request.query_params.get("page_size")
        try:
            self.size = int(raw_size) if raw_size else self.default_size
            if not 1 <= self.size <= self.max_size:
                raise ValueError
        except ValueError:
            raise exceptions.ValidationError(
                {"page_size": [_("Give a whole number from 1 to %d.") % self.max_size]}
            ) from None
        cursor = request.query_params.get("cursor")
        try:
            self.after = Cursor.decode(cursor) if cursor else None
            if self.after is not None and self.after.at is None:
                raise BadCursor(cursor)  # only a list by due date has rows without a value
        except BadCursor:
            raise exceptions.ValidationError({"cursor": [_("This cursor is not valid.")]}) from None
        self.next: Cursor | None = None

    def rows(self, *sources: Source) -> list[Any]:
        """This page's rows from ``sources``, newest first; sets :attr:`next`."""
        page = keyset_page(sources, after=self.after, size=self.size)
        self.next = page.next
        return page.objects

    def response(self, data: Sequence[Any] | Iterable[Any]) -> Response:
        url = self.request.build_absolute_uri()
        next_url = replace_query_param(url, "cursor", self.next.encode()) if self.next else None
        return Response({"results": list(data), "next": next_url})


def page_serializer(
    item: type[serializers.Serializer[Any]], name: str
) -> type[serializers.Serializer[Any]]:
    """The schema of a keyset page of ``item`` rows."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item(many=True),
            "next": serializers.URLField(
                allow_null=True, help_text="the next page; null on the last one"
            ),
            "__module__": __name__,
        },
    )
