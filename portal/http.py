"""What every view of every app asks of a request: who is signed in, whether htmx asks for a
part of a page, and where a "next" link may lead."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from portal.models import User

__all__ = ["safe_next", "signed_in", "wants_partial"]


def signed_in(request: Any) -> User:
    """The signed-in person of a request that passed ``login_required`` (a page) or the API's
    authentication (a DRF request; an OAuth2 application acts as its user)."""
    return request.user  # type: ignore[no-any-return]


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps part of a page (django-htmx's middleware sets
    ``request.htmx``): not a boosted navigation nor a history restore, which need the whole
    page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request  # type: ignore[union-attr]


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` when it is an address on this site (no open redirect), else
    ``default``."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
