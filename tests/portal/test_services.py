"""Writes of the shell: notifications and their delivery, preferences, the language."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from portal import services, sms
from portal.models import Notification, User
from portal.sms import SmsError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sms_outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


class ExplodingEmailBackend(BaseEmailBackend):
    """The mail server is unreachable."""

    def send_messages(self, email_messages):
        raise OSError("connection refused")


class ExplodingSmsBackend:
    def send(self, message):
        raise SmsError("gateway down")


def send(recipient, **kwargs):
    fields = {"kind": "system", "title": "请审批报销单", "url": "/notifications/"}
    fields.update(kwargs)
    return services.notification_send(recipient=recipient, **fields)


# --- notification_send -------------------------------------------------------------------


def test_send_creates_the_in_app_notification(employee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = send(employee, body="金额 1200 元", dedup_key="task:1")
    assert notification is not None
    stored = Notification.objects.get()
    assert stored == notification
    assert stored.recipient == employee
    assert (stored.kind, stored.title, stored.body) == ("system", "请审批报销单", "金额 1200 元")
    assert stored.dedup_key == "task:1"
    assert stored.read_at is None


def test_send_truncates_a_long_title(employee):
    notification = send(employee, title="长" * 300)
    assert len(notification.title) == 200


def test_send_e_mails_a_person_who_wants_e_mail(employee, django_capture_on_commit_callbacks):
    employee.notify_by_email, employee.notify_by_sms = True, False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = send(employee, body="金额 1200 元")
        assert mail.outbox == [], "nothing leaves before the transaction commits"
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [employee.email]
    assert "请审批报销单" in message.subject
    assert "金额 1200 元" in message.body
    assert "http://127.0.0.1:8000/notifications/" in message.body, "links are absolute"
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert notification.texted_at is None


def test_send_e_mail_is_in_the_recipients_language(employee, django_capture_on_commit_callbacks):
    employee.preferred_language = "en"
    employee.save()
    with django_capture_on_commit_callbacks(execute=True):
        send(employee)
    assert "Open: http://127.0.0.1:8000/notifications/" in mail.outbox[0].body


def test_send_no_e_mail_when_not_wanted_or_no_address(
    employee, colleague, django_capture_on_commit_callbacks
):
    employee.notify_by_email = False
    colleague.email = ""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(employee)
        send(colleague)
    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.count() == 2, "the bell is always notified"


def test_send_texts_a_person_who_wants_sms(
    employee, sms_outbox, django_capture_on_commit_callbacks
):
    employee.notify_by_email, employee.notify_by_sms = False, True
    with django_capture_on_commit_callbacks(execute=True):
        notification = send(employee)
    assert len(sms_outbox) == 1
    assert sms_outbox[0].phone == employee.phone
    assert "请审批报销单" in sms_outbox[0].text
    assert mail.outbox == []
    notification.refresh_from_db()
    assert notification.texted_at is not None
    assert notification.emailed_at is None


def test_send_no_sms_without_phone_or_wish(
    employee, colleague, sms_outbox, django_capture_on_commit_callbacks
):
    employee.notify_by_sms = False  # has a phone, does not want SMS
    colleague.notify_by_sms, colleague.phone = True, ""  # wants SMS, has no phone
    with django_capture_on_commit_callbacks(execute=True):
        send(employee)
        send(colleague)
    assert sms_outbox == []


def test_send_both_channels(employee, sms_outbox, django_capture_on_commit_callbacks):
    employee.notify_by_email, employee.notify_by_sms = True, True
    with django_capture_on_commit_callbacks(execute=True):
        send(employee)
    assert len(mail.outbox) == 1
    assert len(sms_outbox) == 1


def test_send_same_event_twice_notifies_once(
    employee, sms_outbox, django_capture_on_commit_callbacks
):
    employee.notify_by_sms = True
    with django_capture_on_commit_callbacks(execute=True):
        first = send(employee, dedup_key="task:7:assigned")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = send(employee, title="again", dedup_key="task:7:assigned")
    assert first is not None
    assert second is None
    assert callbacks == []
    assert Notification.objects.count() == 1
    assert Notification.objects.get().title == "请审批报销单"
    assert len(mail.outbox) == 1
    assert len(sms_outbox) == 1


def test_duplicate_event_does_not_spoil_the_callers_transaction(employee):
    from django.db import transaction

    send(employee, dedup_key="ev")
    with transaction.atomic():
        assert send(employee, dedup_key="ev") is None
        # The caller's transaction is still usable after the refused insert.
        extra = send(employee, title="other", dedup_key="ev2")
    assert extra is not None
    assert Notification.objects.count() == 2


def test_send_is_one_statement_and_a_duplicate_needs_no_savepoint(
    employee, django_assert_num_queries
):
    with django_assert_num_queries(1):  # one INSERT, no savepoint around it
        first = send(employee, dedup_key="ev")
    assert first is not None
    assert Notification.objects.get(pk=first.pk) == first
    with django_assert_num_queries(2) as captured:  # the INSERT that did nothing, the earlier
        assert send(employee, title="again", dedup_key="ev") is None
    assert not any("SAVEPOINT" in query["sql"] for query in captured.captured_queries)
    assert Notification.objects.get().title == "请审批报销单"


def test_send_again_after_the_notice_was_settled_makes_it_news_again(employee):
    first = send(employee, dedup_key="task:7:assigned", subject="workflow.task:7")
    assert services.notifications_settle(holders={"workflow.task:7": set()}) == 1
    again = send(employee, title="again", dedup_key="task:7:assigned", subject="workflow.task:7")
    assert again is not None and again.pk == first.pk
    stored = Notification.objects.get()
    assert (stored.title, stored.read_at, stored.done_at) == ("again", None, None)


def test_send_returns_the_stored_notice(employee):
    notification = send(employee, body="正文", dedup_key="ev", subject="workflow.task:9")
    stored = Notification.objects.get()
    assert (notification.pk, notification.subject, notification.created_at) == (
        stored.pk,
        stored.subject,
        stored.created_at,
    )
    notification.read_at = timezone.now()
    notification.save(update_fields=["read_at"])  # a saved row: an UPDATE, not a second INSERT
    assert Notification.objects.get().read_at is not None


def test_send_unknown_kind_raises(employee):
    with pytest.raises(ValueError, match="no_such_kind"):
        send(employee, kind="no_such_kind")
    assert not Notification.objects.exists()


def test_send_to_an_inactive_person_does_nothing(
    employee, sms_outbox, django_capture_on_commit_callbacks
):
    employee.is_active = False
    employee.notify_by_sms = True
    employee.save()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert send(employee) is None
    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []
    assert sms_outbox == []


# --- notification_deliver ----------------------------------------------------------------


def make_notification(recipient: User, **kwargs: object) -> Notification:
    fields: dict[str, object] = {"kind": "system", "title": "提醒"}
    fields.update(kwargs)
    return Notification.objects.create(recipient=recipient, **fields)


def test_deliver_e_mail_at_most_once(employee):
    notification = make_notification(employee)
    assert services.notification_deliver(notification_id=notification.pk, channel="email")
    assert not services.notification_deliver(notification_id=notification.pk, channel="email")
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_deliver_sms_at_most_once(employee, sms_outbox):
    notification = make_notification(employee)
    assert services.notification_deliver(notification_id=notification.pk, channel="sms")
    assert not services.notification_deliver(notification_id=notification.pk, channel="sms")
    assert [m.phone for m in sms_outbox] == [employee.phone]
    # The two channels are claimed separately.
    assert services.notification_deliver(notification_id=notification.pk, channel="email")


def test_deliver_unknown_channel_raises(employee):
    notification = make_notification(employee)
    with pytest.raises(ValueError):
        services.notification_deliver(notification_id=notification.pk, channel="fax")


def test_failed_e_mail_releases_the_claim_so_a_retry_sends(employee, settings):
    notification = make_notification(employee)
    settings.EMAIL_BACKEND = f"{__name__}.ExplodingEmailBackend"
    with pytest.raises(OSError, match="connection refused"):
        services.notification_deliver(notification_id=notification.pk, channel="email")
    notification.refresh_from_db()
    assert notification.emailed_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.notification_deliver(notification_id=notification.pk, channel="email")
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_failed_sms_releases_the_claim_so_a_retry_sends(employee, settings, sms_outbox):
    notification = make_notification(employee)
    settings.SMS_BACKEND = f"{__name__}.ExplodingSmsBackend"
    with pytest.raises(SmsError):
        services.notification_deliver(notification_id=notification.pk, channel="sms")
    notification.refresh_from_db()
    assert notification.texted_at is None

    settings.SMS_BACKEND = "portal.sms.LocmemBackend"
    assert services.notification_deliver(notification_id=notification.pk, channel="sms")
    assert len(sms_outbox) == 1


def test_failed_delivery_after_commit_does_not_break_the_sender(
    employee, settings, django_capture_on_commit_callbacks
):
    """The on-commit hook is robust: a mail server outage never undoes the notification."""
    settings.EMAIL_BACKEND = f"{__name__}.ExplodingEmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        notification = send(employee)
    assert Notification.objects.filter(pk=notification.pk).exists()
    notification.refresh_from_db()
    assert notification.emailed_at is None


# --- reading -----------------------------------------------------------------------------


def test_mark_read_someone_elses_notification_is_not_found(employee, colleague):
    theirs = make_notification(colleague)
    with pytest.raises(Notification.DoesNotExist):
        services.notification_mark_read(user=employee, notification_id=theirs.pk)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_sets_the_time_once(employee):
    notification = make_notification(employee)
    first = services.notification_mark_read(user=employee, notification_id=notification.pk)
    assert first.read_at is not None
    notification.refresh_from_db()
    assert notification.read_at == first.read_at
    again = services.notification_mark_read(user=employee, notification_id=notification.pk)
    assert again.read_at == first.read_at


def test_mark_all_read_counts_only_own_unread(employee, colleague):
    for _ in range(3):
        make_notification(employee)
    make_notification(employee, read_at=timezone.now())
    make_notification(colleague)
    assert services.notifications_mark_all_read(user=employee) == 3
    assert not Notification.objects.filter(recipient=employee, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=colleague, read_at__isnull=True).count() == 1
    assert services.notifications_mark_all_read(user=employee) == 0


# --- notifications_settle: the notices of what left a person's hands ------------------------


def test_settle_marks_done_the_open_notices_of_those_who_no_longer_hold_it(
    employee, colleague, outsider, django_assert_num_queries
):
    gone = make_notification(employee, subject="workflow.task:1")
    kept = make_notification(colleague, subject="workflow.task:1")
    read = make_notification(outsider, subject="workflow.task:1", read_at=timezone.now())
    nobodys = [
        make_notification(employee, subject="workflow.task:2"),
        make_notification(colleague, subject="workflow.task:2"),
    ]
    offered = make_notification(employee, subject="workflow.task:3")  # still offered to a role
    other = make_notification(employee, subject="workflow.task:4")  # not named at all
    plain = make_notification(employee)  # about nothing
    with django_assert_num_queries(1):
        settled = services.notifications_settle(
            holders={
                "workflow.task:1": {"wangfang", "someone.gone"},
                "workflow.task:2": set(),
                "workflow.task:3": None,
                "": set(),
            }
        )
    assert settled == 3
    done = set(Notification.objects.filter(done_at__isnull=False).values_list("pk", flat=True))
    assert done == {gone.pk, nobodys[0].pk, nobodys[1].pk}
    gone.refresh_from_db()
    assert gone.read_at == gone.done_at is not None, "the bell stops counting it"
    read.refresh_from_db()
    assert read.done_at is None, "a notice read already is left alone"
    for untouched in (kept, offered, other, plain):
        untouched.refresh_from_db()
        assert (untouched.read_at, untouched.done_at) == (None, None)


def test_settle_groups_subjects_held_by_the_same_people(employee, colleague):
    for n in (1, 2, 3):
        make_notification(employee, subject=f"workflow.task:{n}")
        make_notification(colleague, subject=f"workflow.task:{n}")
    holders = {
        "workflow.task:1": {"zhangwei"},
        "workflow.task:2": {"zhangwei"},
        "workflow.task:3": {"wangfang"},
    }
    assert services.notifications_settle(holders=holders) == 3
    assert sorted(
        Notification.objects.filter(done_at__isnull=False).values_list(
            "subject", "recipient__username"
        )
    ) == [
        ("workflow.task:1", "wangfang"),
        ("workflow.task:2", "wangfang"),
        ("workflow.task:3", "zhangwei"),
    ]
    assert services.notifications_settle(holders=holders) == 0, "settled once"


def test_settle_asks_nothing_when_no_subject_is_settled(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert services.notifications_settle(holders={"workflow.task:1": None, "": set()}) == 0


# --- preferences and language ------------------------------------------------------------


def test_set_preferences_saves(employee):
    services.user_set_preferences(
        user=employee,
        preferred_language="en",
        notify_by_email=False,
        notify_by_sms=True,
        phone="+86 139-0000-0000",
    )
    employee.refresh_from_db()
    assert employee.preferred_language == "en"
    assert employee.notify_by_email is False
    assert employee.notify_by_sms is True
    assert employee.phone == "+86 139-0000-0000"


def test_set_preferences_sms_needs_a_phone(employee):
    with pytest.raises(ValidationError) as excinfo:
        services.user_set_preferences(
            user=employee,
            preferred_language="zh-hans",
            notify_by_email=True,
            notify_by_sms=True,
            phone="",
        )
    assert set(excinfo.value.message_dict) == {"phone"}
    employee.refresh_from_db()
    assert employee.notify_by_sms is False
    assert employee.phone == "13800000001"


@pytest.mark.parametrize("language", ["fr", "zh-hant", ""])
def test_set_preferences_refuses_an_unknown_language(employee, language):
    with pytest.raises(ValidationError) as excinfo:
        services.user_set_preferences(
            user=employee,
            preferred_language=language,
            notify_by_email=True,
            notify_by_sms=False,
            phone="",
        )
    assert set(excinfo.value.message_dict) == {"preferred_language"}
    employee.refresh_from_db()
    assert employee.preferred_language == "zh-hans"


def test_set_preferences_refuses_a_bad_phone(employee):
    with pytest.raises(ValidationError) as excinfo:
        services.user_set_preferences(
            user=employee,
            preferred_language="zh-hans",
            notify_by_email=True,
            notify_by_sms=False,
            phone="call me",
        )
    assert "phone" in excinfo.value.message_dict
    employee.refresh_from_db()
    assert employee.phone == "13800000001"


def test_set_language(employee):
    services.user_set_language(user=employee, language="en")
    assert employee.preferred_language == "en"
    employee.refresh_from_db()
    assert employee.preferred_language == "en"


def test_set_language_refuses_an_unknown_language(employee):
    with pytest.raises(ValidationError):
        services.user_set_language(user=employee, language="de")
    employee.refresh_from_db()
    assert employee.preferred_language == "zh-hans"


def test_no_sms_is_recorded_when_no_gateway_is_configured(
    settings, employee, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "portal.sms.DummyBackend"
    employee.notify_by_sms = True
    employee.save()
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notification_send(
            recipient=employee, kind="system", title="短信测试"
        )
    assert notification is not None
    notification.refresh_from_db()
    assert notification.texted_at is None
    assert sms.outbox == []
