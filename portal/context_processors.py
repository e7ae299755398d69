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
    }
