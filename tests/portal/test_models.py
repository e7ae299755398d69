"""Rules of the organization models: code rules, the manager chain, delegation rules,
announcements, notifications and bilingual names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from portal.choices import CodeRuleKey
from portal.models import (
    Announcement,
    CodeRule,
    DelegationRule,
    Notification,
    Role,
    User,
)
from tests.factories import AnnouncementFactory, UserFactory

pytestmark = pytest.mark.django_db


def _errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- code rules --------------------------------------------------------------------------


def test_default_code_rules_are_written_by_the_migration():
    rules = {rule.key: rule for rule in CodeRule.objects.all()}
    assert set(rules) == set(CodeRuleKey.values)
    assert rules["employee_no"].pattern == r"E\d{6}"
    for rule in rules.values():
        rule.full_clean()  # every default rule is valid and its example matches


def test_code_rule_refuses_an_invalid_regular_expression():
    rule = CodeRule.objects.get(key=CodeRuleKey.EMPLOYEE_NO)
    rule.pattern = r"E(\d{6}"
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    assert set(_errors(excinfo)) == {"pattern"}
    assert "missing )" in _errors(excinfo)["pattern"][0], "the message quotes the regex error"


def test_code_rule_refuses_an_example_that_does_not_match():
    rule = CodeRule.objects.get(key=CodeRuleKey.EMPLOYEE_NO)
    rule.example = "X000001"
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    assert set(_errors(excinfo)) == {"example"}


def test_code_rule_example_must_match_the_whole_pattern():
    rule = CodeRule.objects.get(key=CodeRuleKey.EMPLOYEE_NO)
    rule.example = "E0000012"  # the pattern matches a prefix, not the whole value
    with pytest.raises(ValidationError):
        rule.full_clean()
    rule.example = "E000012"
    rule.full_clean()


def _validate_employee_no(value: str) -> None:
    User(username="probe", employee_no=value).full_clean(exclude=["password"])


def test_employee_number_validator_follows_the_live_code_rule():
    _validate_employee_no("E123456")
    with pytest.raises(ValidationError) as excinfo:
        _validate_employee_no("EMP-1234")
    assert set(_errors(excinfo)) == {"employee_no"}

    rule = CodeRule.objects.get(key=CodeRuleKey.EMPLOYEE_NO)
    rule.pattern = r"EMP-\d{4}"
    rule.example = "EMP-0001"
    rule.full_clean()
    rule.save()

    _validate_employee_no("EMP-1234")
    with pytest.raises(ValidationError) as excinfo:
        _validate_employee_no("E123456")
    message = _errors(excinfo)["employee_no"][0]
    assert "E123456" in message
    assert r"EMP-\d{4}" in message
    assert "EMP-0001" in message, "the error shows the rule's example"


def test_employee_number_validator_falls_back_to_the_settings_pattern(settings):
    CodeRule.objects.filter(key=CodeRuleKey.EMPLOYEE_NO).delete()
    settings.EMPLOYEE_NO_PATTERN = r"\d{4}"
    _validate_employee_no("1234")
    with pytest.raises(ValidationError):
        _validate_employee_no("E123456")


def test_blank_employee_number_is_stored_as_null():
    user = User(username="outside", employee_no="")
    user.full_clean(exclude=["password"])
    assert user.employee_no is None
    user.save()
    User.objects.create(username="outside2", employee_no=None)  # several NULLs are allowed


def test_department_code_follows_its_code_rule(org):
    sales = org["sales"]
    sales.full_clean()
    sales.code = "lower-case"
    with pytest.raises(ValidationError) as excinfo:
        sales.full_clean()
    assert set(_errors(excinfo)) == {"code"}


# --- users -------------------------------------------------------------------------------


def test_manager_cycle_is_refused(employee, dept_head):
    dept_head.manager = employee  # employee already reports to dept_head
    with pytest.raises(ValidationError) as excinfo:
        dept_head.full_clean(exclude=["password"])
    assert set(_errors(excinfo)) == {"manager"}


def test_longer_manager_cycle_is_refused(org):
    a = UserFactory.create(username="a")
    b = UserFactory.create(username="b", manager=a)
    c = UserFactory.create(username="c", manager=b)
    a.manager = c
    with pytest.raises(ValidationError) as excinfo:
        a.full_clean(exclude=["password"])
    assert "manager" in _errors(excinfo)


def test_being_ones_own_manager_is_refused(employee):
    employee.manager = employee
    with pytest.raises(ValidationError) as excinfo:
        employee.full_clean(exclude=["password"])
    assert "manager" in _errors(excinfo)


def test_a_manager_chain_without_cycle_is_accepted(employee, dept_head):
    boss = UserFactory.create(username="boss")
    dept_head.manager = boss
    dept_head.full_clean(exclude=["password"])
    employee.full_clean(exclude=["password"])


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("伟", "张", "张伟"),
        (" 娜 ", "李", "李娜"),
        ("John", "Smith", "John Smith"),
        ("John", "", "John"),
        ("", "", ""),
    ],
)
def test_full_name_follows_chinese_or_latin_order(first, last, expected):
    assert User(first_name=first, last_name=last).get_full_name() == expected


def test_display_name_falls_back_to_user_name():
    assert User(username="admin").display_name == "admin"
    assert str(User(username="x", first_name="伟", last_name="张")) == "张伟"


# --- bilingual names ---------------------------------------------------------------------


def test_department_display_name_follows_the_ui_language(org):
    sales = org["sales"]
    sales.name_en = "Sales"
    with translation.override("en"):
        assert sales.display_name == "Sales"
        assert str(sales) == "Sales"
    with translation.override("zh-hans"):
        assert sales.display_name == "销售部"
        assert str(sales) == "销售部"


def test_display_name_without_english_name_is_the_chinese_one(org):
    with translation.override("en"):
        assert org["finance"].display_name == "财务部"


def test_role_display_name_follows_the_ui_language():
    # django-stubs types Role.objects as the GroupManager Role inherits: Group's fields only
    found = Role.objects.create(code="finance_reviewer", name="财务审核", name_en="Finance review")  # type: ignore[misc]
    with translation.override("en"):
        assert str(found) == "Finance review"
    with translation.override("zh-hans"):
        assert str(found) == "财务审核"


def test_department_full_name_lists_the_path_from_the_root(org):
    with translation.override("zh-hans"):
        assert org["east"].full_name() == "总经办 / 销售部 / 华东区"
        assert org["root"].full_name() == "总经办"


# --- delegation rules --------------------------------------------------------------------


def _rule(delegator: User, delegate: User, **kwargs: object) -> DelegationRule:
    now = timezone.now()
    fields: dict[str, object] = {
        "delegator": delegator,
        "delegate": delegate,
        "starts_at": now,
        "ends_at": now + timedelta(days=3),
    }
    fields.update(kwargs)
    return DelegationRule(**fields)


def test_valid_delegation_rule_passes(employee, colleague):
    _rule(employee, colleague, process_keys=["expense_claim"]).full_clean()
    _rule(employee, colleague, process_keys=[]).full_clean()


def test_delegation_ending_before_it_starts_is_refused(employee, colleague):
    now = timezone.now()
    for ends_at in (now - timedelta(hours=1), now):
        with pytest.raises(ValidationError) as excinfo:
            _rule(employee, colleague, starts_at=now, ends_at=ends_at).full_clean()
        assert set(_errors(excinfo)) == {"ends_at"}


def test_delegation_to_oneself_is_refused(employee):
    with pytest.raises(ValidationError) as excinfo:
        _rule(employee, employee).full_clean()
    assert set(_errors(excinfo)) == {"delegate"}


@pytest.mark.parametrize(
    "keys", ["expense_claim", {"expense_claim": True}, [1], ["expense_claim", ""], ["  "], None]
)
def test_delegation_process_keys_must_be_a_list_of_names(employee, colleague, keys):
    with pytest.raises(ValidationError) as excinfo:
        _rule(employee, colleague, process_keys=keys).clean()
    assert "process_keys" in _errors(excinfo)


def test_database_refuses_delegation_ending_before_start(employee, colleague):
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        _rule(employee, colleague, starts_at=now, ends_at=now - timedelta(days=1)).save()
    assert not DelegationRule.objects.exists()


def test_database_refuses_delegation_to_oneself(employee):
    with pytest.raises(IntegrityError), transaction.atomic():
        _rule(employee, employee).save()
    assert not DelegationRule.objects.exists()


def test_delegation_covers_named_processes_or_all():
    assert DelegationRule(process_keys=[]).covers("leave")
    assert DelegationRule(process_keys=[]).covers(None)
    assert DelegationRule(process_keys=["leave"]).covers("leave")
    assert not DelegationRule(process_keys=["leave"]).covers("expense_claim")
    assert not DelegationRule(process_keys=["leave"]).covers(None)


# --- announcements and notifications -----------------------------------------------------


def test_announcement_must_expire_after_publication(employee):
    now = timezone.now()
    announcement = Announcement(
        title="t", body="b", author=employee, published_at=now, expires_at=now
    )
    with pytest.raises(ValidationError) as excinfo:
        announcement.full_clean()
    assert set(_errors(excinfo)) == {"expires_at"}
    announcement.expires_at = now + timedelta(days=1)
    announcement.full_clean()


def test_database_refuses_announcement_expiring_before_publication():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        AnnouncementFactory.create(published_at=now, expires_at=now - timedelta(hours=1))
    assert not Announcement.objects.exists()
    AnnouncementFactory.create(published_at=now, expires_at=None)  # never expires: fine


def test_notification_once_per_event_and_recipient(employee, colleague):
    Notification.objects.create(recipient=employee, kind="system", title="a", dedup_key="ev:1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=employee, kind="system", title="b", dedup_key="ev:1")
    # The same event for someone else, and notifications without an event, are fine.
    Notification.objects.create(recipient=colleague, kind="system", title="c", dedup_key="ev:1")
    Notification.objects.create(recipient=employee, kind="system", title="d", dedup_key=None)
    Notification.objects.create(recipient=employee, kind="system", title="e", dedup_key=None)
    assert Notification.objects.filter(recipient=employee).count() == 3


def test_notification_is_read():
    assert not Notification().is_read
    assert Notification(read_at=timezone.now()).is_read
