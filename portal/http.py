"""What every view of every app asks of a request: who is signed in, whether htmx asks for a
part of a page, and where a "next" link may lead."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme

from portal.models import User

__all__ = ["file_response", "safe_next", "signed_in", "wants_partial"]


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


def file_response(file: FieldFile, *, name: str, content_type: str, inline: bool) -> FileResponse:
    """A stored upload (an attachment of a request or of an article) sent to its reader:
    downloaded, or ``inline`` for the browser to show (images, PDF); never sniffed for another
    type, and, unless it is a PDF shown inline, sandboxed so that a file that is HTML or SVG
    runs nothing. A file gone from the storage is a 404."""
    try:
        handle = file.open("rb")
    except (OSError, ValueError) as error:
        raise Http404 from error
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=name,
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    if not inline or content_type != "application/pdf":
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


View = Callable[..., HttpResponse]


def only_for(allowed: Callable[[User], bool]) -> Callable[[View], View]:
    """A page for some people only (the process administrators' console, the integration
    console): anonymous → the login page, a signed-in person ``allowed`` refuses → 403."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(signed_in(request)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def refusal_text(error: Exception) -> str:
    """What a refused action says to the person (a service's refusal, a field error)."""
    if isinstance(error, ValidationError):
        return " ".join(str(m) for m in error.messages)
    return str(error)
