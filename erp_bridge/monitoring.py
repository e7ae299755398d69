"""Who runs the integration console, and the notices that call them to it.

**Integration administrators** are the people holding ``erp_bridge.view_interfacecall``
(through a role or themselves) and superusers: they see the console and its menu entry.
Replaying or discarding an outbox message needs ``erp_bridge.change_outboxmessage`` as well
(``erp_bridge.outbox``), a "Sync now" ``erp_bridge.add_syncrun``, a webhook subscription
``erp_bridge.add_webhooksubscription`` / ``delete_webhooksubscription``.

**Thresholds** (:func:`thresholds_check`, every minute by beat): an interface whose error
rate over the last 15 minutes reaches ``ERP_ALERT_ERROR_RATE`` (with at least
``ERP_ALERT_MIN_CALLS`` calls, so that one failed call of two is not an alarm), or an outbox
message that has waited longer than ``ERP_ALERT_QUEUE_AGE`` seconds, notifies every
integration administrator. A notice's ``dedup_key`` names the interface (or the queue) and
the hour, so a lasting problem is told once an hour, not every minute.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from erp_bridge import selectors
from portal import registry
from portal.charts import human_duration
from portal.models import User
from portal.services import notification_send

__all__ = [
    "CONSOLE_PERMISSION",
    "KIND",
    "WINDOW",
    "connect",
    "integration_admins",
    "is_integration_admin",
    "thresholds_check",
]

KIND = "erp_bridge"
CONSOLE_PERMISSION = "erp_bridge.view_interfacecall"
WINDOW = datetime.timedelta(minutes=15)


def is_integration_admin(user: User) -> bool:
    """Who may open the integration console (see the module docstring)."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(CONSOLE_PERMISSION))


def integration_admins() -> QuerySet[User]:
    """The active people who may open the console: holders of the permission, themselves
    or through a role, and superusers."""
    app_label, codename = CONSOLE_PERMISSION.split(".")
    permission = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).first()
    holders = Q(is_superuser=True)
    if permission is not None:
        holders |= Q(user_permissions=permission) | Q(groups__permissions=permission)
    return User.objects.filter(holders, is_active=True).distinct().order_by("pk")


def connect() -> None:
    """Register the notification kind and the menu entry (``ErpBridgeConfig.ready``)."""
    registry.notification_kinds.register(
        registry.NotificationKind(KIND, gettext_lazy("Integration"))
    )
    registry.navigation.register(
        registry.NavEntry(
            "integration",
            gettext_lazy("Integration"),
            "erp_bridge:console",
            "plug",
            820,
            visible=is_integration_admin,
            group="manage",
        )
    )


def _hour(now: datetime.datetime) -> str:
    return now.astimezone(datetime.UTC).strftime("%Y%m%d%H")


@transaction.atomic(durable=True)
def thresholds_check(*, now: datetime.datetime | None = None) -> list[str]:
    """Notify the integration administrators of each threshold crossed now (see the module
    docstring); returns the dedup keys of the problems found (told now or earlier this
    hour)."""
    now = now or timezone.now()
    problems: list[tuple[str, str, str, str]] = []  # (dedup key, kind, subject, figure)
    minimum = int(settings.ERP_ALERT_MIN_CALLS)
    limit = float(settings.ERP_ALERT_ERROR_RATE)
    for summary in selectors.interface_summary(since=now - WINDOW, until=now):
        if summary.calls >= minimum and summary.error_rate >= limit:
            problems.append(
                (
                    f"erp_bridge.error_rate:{summary.interface}:{_hour(now)}",
                    "error_rate",
                    summary.interface,
                    f"{summary.errors}/{summary.calls}",
                )
            )
    age = selectors.oldest_pending_age(now=now)
    if age is not None and age.total_seconds() > int(settings.ERP_ALERT_QUEUE_AGE):
        problems.append(
            (f"erp_bridge.queue_age:{_hour(now)}", "queue_age", "", str(age.total_seconds()))
        )
    if not problems:
        return []
    url = reverse("erp_bridge:console")
    for person in integration_admins():
        with translation.override(person.preferred_language or None):
            for key, kind, interface, figure in problems:
                if kind == "error_rate":
                    errors, calls = figure.split("/")
                    title = _("Interface %(interface)s is failing often") % {"interface": interface}
                    body = _(
                        "%(errors)s of %(calls)s calls failed in the last 15 minutes "
                        "(alert at %(limit)d %%). See the recent failures in the "
                        "integration console."
                    ) % {"errors": errors, "calls": calls, "limit": round(limit * 100)}
                else:
                    title = _("Messages to the ERP are waiting too long")
                    body = _(
                        "The oldest message has waited %(age)s (alert after %(limit)s). "
                        "Check that the ERP is reachable and the delivery worker runs."
                    ) % {
                        "age": human_duration(float(figure)),
                        "limit": human_duration(float(settings.ERP_ALERT_QUEUE_AGE)),
                    }
                notification_send(
                    recipient=person, kind=KIND, title=title, body=body, url=url, dedup_key=key
                )
    return [key for key, _kind, _interface, _figure in problems]
