"""OAuth2 (django-oauth-toolkit) as the portal runs it: each application's allowed scopes,
and a throttle on the token endpoint.

- Scopes: an application may be given the scopes its :class:`~portal.models.ClientScopes`
  row names (the default scopes without one). A client asking for more is not refused: it
  gets the scopes it asked for that it may have, and the token answer says which (RFC 6749
  §3.3); asking for none of them is ``invalid_scope``.
- Throttle: the token endpoint answers at most ``API_THROTTLE_TOKEN`` requests per client
  address (default 20 a minute), then 429 with Retry-After: guessing a client secret by
  trying is slowed to a crawl, and a real client asks for a token once an hour.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import TokenView
from rest_framework.throttling import SimpleRateThrottle

from portal.api import LiveRate
from portal.models import ClientScopes

__all__ = ["ApplicationScopes", "ScopeNarrowingValidator", "ThrottledTokenView", "TokenThrottle"]


def allowed_scopes(application: Any) -> list[str]:
    """The scopes ``application`` may be given (its row, else the default scopes)."""
    if application is None:
        return list(oauth2_settings._DEFAULT_SCOPES)
    row = ClientScopes.objects.filter(application_id=application.pk).first()
    if row is None:
        return list(oauth2_settings._DEFAULT_SCOPES)
    return [s for s in row.scopes.split() if s in oauth2_settings._SCOPES]


class ApplicationScopes(SettingsScopes):
    """The scopes backend: what an application may have, and its defaults within that."""

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return allowed_scopes(application)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        allowed = allowed_scopes(application)
        defaults = [s for s in oauth2_settings._DEFAULT_SCOPES if s in allowed]
        return defaults or allowed[:1]


class ScopeNarrowingValidator(OAuth2Validator):
    """A request for scopes beyond the application's is narrowed to those it may have."""

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Any,
        request: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        allowed = set(allowed_scopes(client))
        kept = [s for s in scopes if s in allowed]
        if not kept:
            return False
        scopes[:] = kept  # oauthlib issues the token with the request's (this) list
        request.scopes = kept
        return True


class TokenThrottle(LiveRate, SimpleRateThrottle):
    """Requests to the token endpoint per client address (``API_THROTTLE_TOKEN``)."""

    scope = "oauth2_token"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ThrottledTokenView(TokenView):
    """django-oauth-toolkit's token endpoint behind :class:`TokenThrottle`."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = TokenThrottle()
        # DRF's throttle reads only META (the address) and the cache: a plain request will do
        if not throttle.allow_request(request, self):  # type: ignore[arg-type]
            wait = int(throttle.wait() or 1) + 1
            answer = JsonResponse(
                {
                    "error": "slow_down",
                    "error_description": _("Too many token requests; try again in %(s)s s.")
                    % {"s": wait},
                },
                status=429,
            )
            answer["Retry-After"] = str(wait)
            return answer
        response: HttpResponse = super().post(request, *args, **kwargs)
        return response
