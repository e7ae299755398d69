"""Writes of the portal shell: preferences, accounts, departments, notifications and their
delivery.

Every function here is the one code path for its action; views, admin and Celery tasks
call it. Deliveries leave only after the transaction that created them commits.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal import registry
from portal.choices import Language, NotificationChannel
from portal.models import DelegationRule, Department, Notification, User
from portal.selectors import next_employee_no
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


@transaction.atomic
def user_create(
    *,
    username: str,
    first_name: str = "",
    last_name: str = "",
    employee_no: str | None = None,
    email: str = "",
    department: Department | None = None,
    manager: User | None = None,
) -> User:
    """Open an account for a new employee (onboarding). It has no password (an unusable
    one): IT sets the account up and the person signs in as IT tells them, never with a
    password someone chose for them. ``employee_no`` empty: the next number by the code rule.

    The user name (in any case) and the employee number must be free, and every value must
    pass the model's validators (the employee number's code rule); else a
    ``ValidationError`` naming the field, and nothing is saved. It joins the caller's
    transaction (an onboarding step writes the account and its outbox message together)."""
    username = username.strip()
    number = (employee_no or "").strip() or next_employee_no() or None
    if not username:
        raise ValidationError({"username": _("A user name is required.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(
            {"username": _("The user name %(name)s is taken.") % {"name": username}}
        )
    if number is not None and User.objects.filter(employee_no__iexact=number).exists():
        raise ValidationError(
            {"employee_no": _("The employee number %(number)s is taken.") % {"number": number}}
        )
    user = User(
        username=username,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        employee_no=number,
        email=email.strip(),
        department=department,
        manager=manager,
    )
    user.set_unusable_password()
    user.full_clean()
    try:
        with transaction.atomic():  # a savepoint: the same name taken at the same moment
            user.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"username": _("The user name or the employee number was taken just now.")}
        ) from exc
    return user


@transaction.atomic
def department_save(*, department: Department, created: bool) -> Department:
    """Save a department that a person created or changed (renamed, moved in the tree) and
    tell every ``registry.department_listeners`` entry, in the same transaction: the ERP
    bridge writes its outbox message there, so the change and the message commit or roll
    back together. The tree's own bookkeeping (a new node's place, a move) is treebeard's,
    done before this by the admin's form; this is the one path after it. A bulk load (the
    demo seeder, an import) writes the tree directly and tells nobody."""
    department.full_clean(exclude=["path", "depth", "numchild"], validate_unique=False)
    department.save()
    for listener in registry.department_listeners:
        listener.changed(department.pk, created)
    return department


def notification_send(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedup_key: str | None = None,
    subject: str = "",
) -> Notification | None:
    """Notify one person: always in-app (the bell), and by e-mail or SMS when the person
    asked for it. ``dedup_key`` names the event; a second call for the same event and person
    changes nothing and returns None, unless that notice was settled done meanwhile (the
    to-do came back): then the same row is unread news again. ``subject`` names what the
    notice is about (a to-do: ``workflow.task:42``), so that it can be marked done when that
    leaves the person's hands (:func:`notifications_settle`). Channel deliveries are queued
    after commit."""
    if kind not in registry.notification_kinds:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not recipient.is_active:
        return None
    notification = _notification_insert(
        Notification(
            recipient=recipient,
            kind=kind,
            title=title[:200],
            body=body,
            url=url,
            dedup_key=dedup_key,
            subject=subject[:100],
        )
    )
    if notification is None:  # a notice of this event was there already
        earlier = Notification.objects.filter(recipient=recipient, dedup_key=dedup_key).first()
        if earlier is None or earlier.done_at is None:
            return None
        # The event happened again after its notice was settled (a to-do handed away and
        # back): the same notice is news again rather than a second row for one event.
        earlier.title, earlier.body, earlier.url = title[:200], body, url
        earlier.subject = subject[:100]
        earlier.created_at, earlier.read_at, earlier.done_at = timezone.now(), None, None
        earlier.emailed_at = earlier.texted_at = None
        earlier.save(
            update_fields=[
                "title",
                "body",
                "url",
                "subject",
                "created_at",
                "read_at",
                "done_at",
                "emailed_at",
                "texted_at",
            ]
        )
        notification = earlier
    channels = []
    if recipient.notify_by_email and recipient.email:
        channels.append(NotificationChannel.EMAIL)
    if recipient.notify_by_sms and recipient.phone and sms_enabled():
        channels.append(NotificationChannel.SMS)
    for channel in channels:
        transaction.on_commit(_queue_delivery(notification.pk, str(channel)), robust=True)
    return notification


def _notification_insert(notification: Notification) -> Notification | None:
    """Write ``notification`` unless a notice of the same event to the same person exists
    (then None): one INSERT of our own, ``ON CONFLICT ... DO NOTHING`` on the once-per-event
    constraint, so that a duplicate needs no savepoint to keep the caller's transaction
    usable (a savepoint is two more statements, and PostgreSQL round trips, in every action
    that notifies someone)."""
    columns = ("recipient_id", "kind", "title", "body", "url", "dedup_key", "subject", "created_at")
    notification.created_at = timezone.now()
    values = [getattr(notification, column) for column in columns[:-1]]
    values.append(connection.ops.adapt_datetimefield_value(notification.created_at))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Notification._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - column and table names
            f"VALUES ({_marks(len(columns))}) "
            "ON CONFLICT (recipient_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING "
            "RETURNING id",
            values,
        )
        found = cursor.fetchone()
    if found is None:
        return None
    notification.pk = found[0]
    notification._state.adding = False
    notification._state.db = connection.alias
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


def notifications_read_about(*, user: User, subject: str) -> int:
    """The person opened what their notifications are about (a task page): those still
    unread are read now; how many."""
    if not subject:
        return 0
    return Notification.objects.filter(
        recipient=user, subject=subject, read_at__isnull=True
    ).update(read_at=timezone.now())


def notifications_settle(*, holders: Mapping[str, Collection[str] | None]) -> int:
    """Mark done — and read, so the bell stops counting them — the open (unread)
    notifications about each subject whose recipient no longer holds it. ``holders`` maps a
    subject to the user names who still hold it (empty: nobody; None: leave that subject's
    notices alone, e.g. a to-do still offered to a whole role).

    One UPDATE of our own, in the caller's transaction (every workflow action runs this, so
    the ORM's query building would cost more than the database's work); how many were
    settled. Its ``NOT ("subject" = '')`` is the partial index's own condition, written
    out so that SQLite uses that index too (it matches a partial index's condition term by
    term): without it SQLite read every unread notice of everyone."""
    by_holders: dict[frozenset[str], list[str]] = {}
    for subject, names in holders.items():
        if subject and names is not None:
            by_holders.setdefault(frozenset(names), []).append(subject)
    if not by_holders:
        return 0
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    subjects = [subject for group in by_holders.values() for subject in group]
    params: list[Any] = [now, now, *subjects]
    groups: list[str] = []
    for names, group in by_holders.items():
        clause = f"subject IN ({_marks(len(group))})"
        params += group
        if names:  # those still holding it keep their notices
            clause += (
                f" AND recipient_id NOT IN (SELECT id FROM {User._meta.db_table} "  # noqa: S608 - only placeholders and table names
                f"WHERE username IN ({_marks(len(names))}))"
            )
            params += sorted(names)
        groups.append(f"({clause})")
    sql = (
        f"UPDATE {Notification._meta.db_table} SET done_at = %s, read_at = %s "  # noqa: S608 - as above
        "WHERE read_at IS NULL AND NOT (subject = '') "
        f"AND subject IN ({_marks(len(subjects))}) AND ({' OR '.join(groups)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        settled: int = cursor.rowcount
    return settled


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


# --- out of office (代理) --------------------------------------------------------------------


def _when(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _tell_delegate(rule: DelegationRule, event: str) -> None:
    """Tell the proxy, in their own language, that ``rule`` was set up or ended early."""
    delegate = rule.delegate
    values = {
        "name": rule.delegator.display_name,
        "start": _when(rule.starts_at),
        "end": _when(rule.ends_at),
    }
    with translation.override(delegate.preferred_language or None):
        if event == "created":
            title = _("%(name)s asked you to act for them from %(start)s to %(end)s") % values
        else:
            title = _("%(name)s no longer needs you to act for them") % values
        body = rule.reason
        if event == "created":
            body = "\n".join(
                part
                for part in (
                    _("Their new approval tasks reach your inbox in this period."),
                    rule.reason and _("Reason: %(reason)s") % {"reason": rule.reason},
                )
                if part
            )
    notification_send(
        recipient=delegate,
        kind="system",
        title=title,
        body=body,
        dedup_key=f"delegation:{rule.pk}:{event}",
    )


@transaction.atomic(durable=True)
def delegation_create(
    *,
    delegator: User,
    delegate: User,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str = "",
    process_keys: Collection[str] = (),
) -> DelegationRule:
    """代理: while ``delegator`` is away (``starts_at`` to ``ends_at``), their new tasks go to
    ``delegate`` (``portal.selectors.delegate_for``). The model's ``clean()`` refuses a
    proxy who is the person themself or whose account is disabled, an end not after the
    start and a period that overlaps another of the person's rules (``ValidationError``,
    nothing saved). The proxy is notified after commit, in their language."""
    rule = DelegationRule(
        delegator=delegator,
        delegate=delegate,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip(),
        process_keys=list(process_keys),
    )
    rule.full_clean()
    rule.save()
    _tell_delegate(rule, "created")
    return rule


def _own_rule(user: User, rule_id: int) -> DelegationRule:
    """One of ``user``'s own rules, locked; anybody else's is ``DelegationRule.DoesNotExist``
    (a 404: the page does not say it exists)."""
    return (
        DelegationRule.objects.select_for_update()
        .select_related("delegator", "delegate")
        .get(pk=rule_id, delegator=user)
    )


@transaction.atomic(durable=True)
def delegation_end(*, user: User, rule_id: int) -> DelegationRule:
    """``user`` is back early: their rule ends now (one still to come is switched off);
    tasks the proxy already received stay theirs. A rule already over changes nothing.
    The proxy is told when the rule was in force or still to come."""
    rule = _own_rule(user, rule_id)
    now = timezone.now()
    if not rule.is_active or rule.ends_at <= now:
        return rule
    if rule.starts_at >= now:
        rule.is_active = False
        rule.save(update_fields=["is_active"])
    else:
        rule.ends_at = now
        rule.save(update_fields=["ends_at"])
    _tell_delegate(rule, "ended")
    return rule


@transaction.atomic(durable=True)
def delegation_delete(*, user: User, rule_id: int) -> None:
    """Remove one of ``user``'s own rules (the history keeps who acted for whom by name);
    the proxy is told when the rule was in force or still to come."""
    rule = _own_rule(user, rule_id)
    if rule.is_active and rule.ends_at > timezone.now():
        _tell_delegate(rule, "ended")
    rule.delete()
