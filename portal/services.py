"""Writes of the portal shell: preferences, notifications and their delivery.

Every function here is the one code path for its action; views, admin and Celery tasks
call it. Deliveries leave only after the transaction that created them commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal import registry
from portal.choices import Language, NotificationChannel
from portal.models import Notification, User
from portal.sms import SmsError, send_sms
from portal.sms import is_enabled as sms_enabled


def user_set_preferences(
    *,
    user: User,
    preferred_language: str,
    notify_by_email: bool,
    notify_by_sms: bool,
    phone: str,
) -> User:
    """Save a user's own preferences; SMS needs a phone number to send to."""
    if preferred_language not in Language.values:
        raise ValidationError({"preferred_language": _("Choose a language from the list.")})
    if notify_by_sms and not phone:
        raise ValidationError({"phone": _("SMS notifications need a phone number.")})
    user.preferred_language = preferred_language
    user.notify_by_email = notify_by_email
    user.notify_by_sms = notify_by_sms
    user.phone = phone
    user.full_clean(exclude=["password"])
    user.save(update_fields=["preferred_language", "notify_by_email", "notify_by_sms", "phone"])
    return user


def user_set_language(*, user: User, language: str) -> None:
    """Remember the UI language a user chose (the language switch)."""
    if language not in Language.values:
        raise ValidationError(_("Choose a language from the list."))
    User.objects.filter(pk=user.pk).update(preferred_language=language)
    user.preferred_language = language


def notification_send(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedup_key: str | None = None,
) -> Notification | None:
    """Notify one person: always in-app (the bell), and by e-mail or SMS when the person
    asked for it. ``dedup_key`` names the event; a second call for the same event and person
    changes nothing and returns None. Channel deliveries are queued after commit."""
    if kind not in registry.notification_kinds:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not recipient.is_active:
        return None
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not spoil the caller's work
            notification = Notification.objects.create(
                recipient=recipient,
                kind=kind,
                title=title[:200],
                body=body,
                url=url,
                dedup_key=dedup_key,
            )
    except IntegrityError:
        if (
            dedup_key is not None
            and Notification.objects.filter(recipient=recipient, dedup_key=dedup_key).exists()
        ):
            return None
        raise
    channels = []
    if recipient.notify_by_email and recipient.email:
        channels.append(NotificationChannel.EMAIL)
    if recipient.notify_by_sms and recipient.phone and sms_enabled():
        channels.append(NotificationChannel.SMS)
    for channel in channels:
        transaction.on_commit(_queue_delivery(notification.pk, str(channel)), robust=True)
    return notification


@dataclass
class DeliveryQueue:
    """Where an e-mail or SMS delivery goes after the commit: ``PortalConfig.ready`` connects
    the Celery task ``portal.tasks.deliver_notification`` (a thin wrapper that imports this
    module, so this module cannot import it back)."""

    deliver: Callable[[int, str], object] = lambda notification_id, channel: None


DELIVERY = DeliveryQueue()


def _queue_delivery(notification_id: int, channel: str) -> Callable[[], None]:
    # A named function, not functools.partial: Django logs a failing robust on_commit hook
    # by the callback's __qualname__, which a partial lacks (the hook then crashes the commit).
    def queue_delivery() -> None:
        DELIVERY.deliver(notification_id, channel)

    return queue_delivery


def notification_deliver(*, notification_id: int, channel: str) -> bool:
    """Send one notification on one channel, at most once.

    The row is claimed first (``emailed_at``/``texted_at`` set in its own short transaction)
    so that two workers never both send; no lock is held while the mail server or SMS
    gateway is talked to. A failed send releases the claim and raises, so the task retries.
    Returns whether this call sent it.
    """
    field = {
        NotificationChannel.EMAIL: "emailed_at",
        NotificationChannel.SMS: "texted_at",
    }.get(NotificationChannel(channel))
    if field is None:  # pragma: no cover - NotificationChannel() raised already
        raise ValueError(channel)
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, **{f"{field}__isnull": True}).update(
        **{field: now}
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    recipient = notification.recipient
    try:
        with translation.override(recipient.preferred_language):
            if channel == NotificationChannel.EMAIL:
                _send_email(notification)
            else:
                send_sms(recipient.phone, _sms_text(notification))
    except (OSError, SmsError):
        Notification.objects.filter(pk=notification_id, **{field: now}).update(**{field: None})
        raise
    return True


def _absolute_url(url: str) -> str:
    if url.startswith("/"):
        return settings.PORTAL_BASE_URL.rstrip("/") + url
    return url


def _send_email(notification: Notification) -> None:
    lines = [notification.body] if notification.body else []
    if notification.url:
        lines.append(_("Open: %(url)s") % {"url": _absolute_url(notification.url)})
    send_mail(
        subject=f"[{settings.PORTAL_NAME}] {notification.title}",
        message="\n\n".join(lines) or notification.title,
        from_email=None,
        recipient_list=[notification.recipient.email],
        fail_silently=False,
    )


def _sms_text(notification: Notification) -> str:
    return f"【{settings.PORTAL_NAME}】{notification.title}"


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (someone else's is not found)."""
    notification = Notification.objects.get(pk=notification_id, recipient=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark all of the user's unread notifications read; returns how many changed."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
