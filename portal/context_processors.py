"""Template context the shell's base layout needs on every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal import registry
from portal.selectors import unread_notification_count


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_name": settings.PORTAL_NAME}
    return {
        "portal_name": settings.PORTAL_NAME,
        "navigation": SimpleLazyObject(lambda: registry.navigation_for(user, request.path)),
        "unread_count": SimpleLazyObject(lambda: unread_notification_count(user)),
        "search_box": SimpleLazyObject(
            lambda: next(iter(registry.visible_to(registry.search_boxes, user)), None)
        ),
        # the markup of a navigation entry's count that this request's view read already
        # (by the entry's key): the bar shows it in the page, and the browser does not ask
        # for it again when the page loads (NAV_BADGES)
        "nav_badges": getattr(request, NAV_BADGES, {}),
    }


NAV_BADGES = "nav_badges"
"""The request's attribute where a view leaves the counts of the navigation it has read
(``{entry key: markup}``, :func:`set_nav_badge`)."""


def set_nav_badge(request: HttpRequest, key: str, markup: str) -> None:
    """Show ``markup`` as the count of the navigation entry ``key`` in this request's page,
    read already by the view: a number read once, not again by a request of its own."""
    badges = getattr(request, NAV_BADGES, None)
    if badges is None:
        badges = {}
        setattr(request, NAV_BADGES, badges)
    badges[key] = markup
