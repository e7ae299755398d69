"""The shell's own dashboard portlets: announcements and "my profile"."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from portal.models import DelegationRule, User
from portal.selectors import announcements_for, department_chain, user_manager

ANNOUNCEMENTS_ON_DASHBOARD = 5


def announcements_context(request: HttpRequest) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return {"announcements": list(announcements_for(user)[:ANNOUNCEMENTS_ON_DASHBOARD])}


def profile_context(request: HttpRequest) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    chain = department_chain(user)  # the announcements' box read it already
    now = timezone.now()
    return {
        "profile": user,
        "department_path": " / ".join(str(d) for d in reversed(chain)),
        "positions": list(user.positions.all()),
        "roles": [
            group.role for group in user.groups.select_related("role") if hasattr(group, "role")
        ],
        "manager": user_manager(user),
        "delegations": list(
            DelegationRule.objects.filter(
                delegator=user, is_active=True, ends_at__gt=now
            ).select_related("delegate")
        ),
    }
