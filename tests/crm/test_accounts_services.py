"""The customer base's services and duplicate check (crm/services/accounts.py,
crm/duplicates.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from guardian.shortcuts import get_perms

from crm.duplicates import likely_duplicates, name_key, phone_key
from crm.models import (
    Account,
    AccountEvent,
    Activity,
    Campaign,
    CampaignMember,
    Case,
    Contact,
    Opportunity,
    Quote,
)
from crm.services import accounts as services
from portal.errors import NotFound, Refused
from portal.models import User
from tests.crm.accounts_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.accounts_fixtures import bad_uscc, make_account, uscc

pytestmark = pytest.mark.django_db


# --- the name key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("华为技术有限公司", "华为技术"),
        ("华为技术有限公司", "华为技术股份有限公司"),
        ("华为技术有限公司", "华为技术有限责任公司"),
        ("华为技术有限公司", " 华为 技术 有限公司 "),
        ("Acme Co., Ltd.", "ACME"),
        ("Acme Co., Ltd.", "Ａｃｍｅ　Ｃｏ．，Ｌｔｄ．"),
        ("Acme Inc.", "acme corp"),
        ("Acme LLC", "Acme Company Limited"),
        ("（上海）艾克米", "(上海)艾克米有限公司"),
    ],
)
def test_name_key_folds_widths_case_spaces_and_company_forms(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Costco", "Cost"),  # a suffix is a whole word: Costco keeps its "co"
        ("上海华为技术有限公司", "华为技术有限公司"),  # the city in front is kept
        ("华为技术有限公司", "华为科技有限公司"),
    ],
)
def test_name_key_keeps_what_tells_companies_apart(one: str, other: str) -> None:
    assert name_key(one) != name_key(other)


def test_phone_key_keeps_digits_and_drops_chinas_country_code() -> None:
    assert phone_key("138 0013-8000") == "13800138000"
    assert phone_key("+86 138 0013 8000") == "13800138000"
    assert phone_key("0086-13800138000") == "13800138000"
    assert phone_key("+44 20 7946 0000") == "+442079460000"
    assert phone_key("") == ""


# --- the duplicate check ------------------------------------------------------------------


def test_a_full_width_name_is_a_duplicate(employee: User) -> None:
    account = make_account(employee, "Acme Trading Co., Ltd.")
    found = likely_duplicates(name="ＡＣＭＥ　Ｔｒａｄｉｎｇ　Ｃｏ．，Ｌｔｄ．")
    assert [(m.account_id, m.reasons) for m in found] == [(account.pk, ["name"])]


def test_another_company_form_is_a_duplicate(employee: User) -> None:
    account = make_account(employee, "杭州云帆科技有限公司")
    found = likely_duplicates(name="杭州云帆科技股份有限公司")
    assert [m.account_id for m in found] == [account.pk]


def test_the_same_credit_code_is_a_duplicate_whatever_the_name(employee: User) -> None:
    account = make_account(employee, "杭州云帆科技有限公司", credit_code=uscc(7))
    found = likely_duplicates(name="完全不同的名字", credit_code=uscc(7).lower())
    assert [(m.account_id, m.reasons) for m in found] == [(account.pk, ["credit_code"])]


def test_the_same_phone_written_otherwise_is_a_duplicate(employee: User) -> None:
    account = make_account(employee, "甲公司", phone="0571-8888 1234")
    found = likely_duplicates(name="乙", phone="057188881234")
    assert [(m.account_id, m.reasons) for m in found] == [(account.pk, ["phone"])]


def test_a_contacts_mobile_or_email_is_a_duplicate(acme: Account) -> None:
    by_mobile = likely_duplicates(name="别的", phone="+86 139-0000-0001")
    by_email = likely_duplicates(name="别的", email="INFO@acme.CN")
    assert [m.account_id for m in by_mobile] == [acme.pk]
    assert [m.account_id for m in by_email] == [acme.pk]


def test_no_duplicate_for_another_company_or_the_account_itself(acme: Account) -> None:
    assert likely_duplicates(name="北京另一家科技有限公司") == []
    assert likely_duplicates(name=acme.name, exclude_id=acme.pk) == []


def test_a_merged_account_is_no_duplicate(employee: User, acme: Account) -> None:
    other = make_account(employee, "艾克米贸易")
    services.account_merge(by=employee, survivor_id=acme.pk, merged_id=other.pk)
    assert likely_duplicates(name="艾克米贸易") == []


# --- create and update --------------------------------------------------------------------


def test_create_gives_the_next_free_code_and_records_it(employee: User) -> None:
    first = make_account(employee, "一号公司")
    second = make_account(employee, "二号公司")
    assert first.code == "C000001"
    assert second.code == "C000002"
    assert first.owner == employee
    assert first.department == employee.department
    assert first.name_key == "一号"
    assert AccountEvent.objects.filter(account=first, kind="created").count() == 1


def test_create_with_a_likely_duplicate_is_refused_with_the_matches(
    employee: User, acme: Account
) -> None:
    before = Account.objects.count()
    with pytest.raises(services.LikelyDuplicates) as refused:
        services.account_create(by=employee, name="上海艾克米科技股份有限公司")
    assert [m.account_id for m in refused.value.matches] == [acme.pk]
    assert refused.value.body()["duplicates"][0]["reasons"] == ["name"]  # type: ignore[index]
    assert Account.objects.count() == before
    created = services.account_create(by=employee, name="上海艾克米科技股份有限公司", force=True)
    assert created.pk != acme.pk


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "unified social credit code"), ("zh-hans", "统一社会信用代码")],
)
def test_a_credit_code_with_a_wrong_check_character_is_a_field_error(
    employee: User, language: str, words: str
) -> None:
    with translation.override(language), pytest.raises(ValidationError) as refused:
        services.account_create(by=employee, name="校验公司", credit_code=bad_uscc(3))
    assert list(refused.value.message_dict) == ["credit_code"]
    assert words in refused.value.message_dict["credit_code"][0]
    assert not Account.objects.filter(name="校验公司").exists()
    assert not AccountEvent.objects.exists()


def test_a_phone_that_cannot_be_one_is_a_field_error(employee: User) -> None:
    with pytest.raises(ValidationError) as refused:
        services.account_create(by=employee, name="电话公司", phone="call me")
    assert list(refused.value.message_dict) == ["phone"]
    assert not Account.objects.exists()


def test_a_code_against_the_rule_is_a_field_error(employee: User) -> None:
    with pytest.raises(ValidationError) as refused:
        services.account_create(by=employee, name="代码公司", code="c 12")
    assert "code" in refused.value.message_dict
    assert not Account.objects.exists()


def test_update_records_the_changed_fields(employee: User, acme: Account) -> None:
    services.account_update(by=employee, account_id=acme.pk, changes={"level": "B", "city": "苏州"})
    acme.refresh_from_db()
    assert (acme.level, acme.city) == ("B", "苏州")
    event = AccountEvent.objects.filter(account=acme, kind="updated").get()
    assert event.data["changed"] == {"level": ["A", "B"], "city": ["上海", "苏州"]}


def test_update_into_a_duplicate_is_refused_and_changes_nothing(
    employee: User, acme: Account
) -> None:
    other = make_account(employee, "北京另一家")
    with pytest.raises(services.LikelyDuplicates):
        services.account_update(
            by=employee, account_id=other.pk, changes={"name": "上海艾克米科技"}
        )
    other.refresh_from_db()
    assert other.name == "北京另一家"


def test_update_by_someone_who_only_reads_is_refused(acme: Account, dept_head: User) -> None:
    with pytest.raises(Refused):
        services.account_update(by=dept_head, account_id=acme.pk, changes={"city": "南京"})
    acme.refresh_from_db()
    assert acme.city == "上海"


def test_update_by_an_outsider_is_not_found(acme: Account, outsider: User) -> None:
    with pytest.raises(NotFound):
        services.account_update(by=outsider, account_id=acme.pk, changes={"city": "南京"})


# --- owner and team -------------------------------------------------------------------------


def test_assign_moves_the_department_and_keeps_the_former_owner_on_the_team(
    employee: User, acme: Account, outsider: User
) -> None:
    services.account_assign(by=employee, account_id=acme.pk, owner=outsider)
    acme.refresh_from_db()
    assert acme.owner == outsider
    assert acme.department == outsider.department
    assert set(get_perms(employee, acme)) >= {"view_account", "change_account"}


def test_team_add_and_remove_hold_the_object_permissions(
    employee: User, acme: Account, outsider: User
) -> None:
    services.team_add(by=employee, account_id=acme.pk, user=outsider, may_change=False)
    assert get_perms(outsider, acme) == ["view_account"]
    services.team_remove(by=employee, account_id=acme.pk, user=outsider)
    assert get_perms(outsider, acme) == []
    kinds = list(AccountEvent.objects.filter(account=acme).values_list("kind", flat=True))
    assert "team_added" in kinds and "team_removed" in kinds


def test_a_team_member_may_not_change_the_team(
    colleague: User, acme: Account, outsider: User
) -> None:
    with pytest.raises(Refused):
        services.team_add(by=colleague, account_id=acme.pk, user=outsider)
    assert get_perms(outsider, acme) == []


# --- contacts ---------------------------------------------------------------------------------


def test_contacts_are_stored_in_the_checks_form_and_one_is_primary(
    employee: User, acme: Account
) -> None:
    second = services.contact_create(
        by=employee,
        account_id=acme.pk,
        values={
            "name": "钱芳",
            "mobile": "+86 138-0000-0002",
            "email": "QF@X.CN",
            "is_primary": True,
        },
    )
    assert (second.mobile, second.email) == ("13800000002", "qf@x.cn")
    assert list(acme.contacts.filter(is_primary=True)) == [second]
    with pytest.raises(ValidationError) as refused:
        services.contact_update(by=employee, contact_id=second.pk, values={"mobile": "abc"})
    assert list(refused.value.message_dict) == ["mobile"]
    second.refresh_from_db()
    assert second.mobile == "13800000002"


# --- merge ------------------------------------------------------------------------------------


def _hanging_off(account: Account, owner: User) -> None:
    now = timezone.now()
    contact = Contact.objects.create(account=account, name="孙七", created_at=now)
    Activity.objects.create(
        kind="call",
        subject="回访",
        account=account,
        contact=contact,
        owner=owner,
        at=now,
        created_at=now,
    )
    Opportunity.objects.create(
        account=account, name="ERP 升级", owner=owner, created_at=now, stage_changed_at=now
    )
    Case.objects.create(number="CS-1", account=account, subject="无法登录", opened_at=now)
    Quote.objects.create(
        number="Q-1", account=account, created_by=owner, created_at=now, updated_at=now
    )
    campaign = Campaign.objects.create(name="春季展会", owner=owner, created_at=now)
    CampaignMember.objects.create(campaign=campaign, account=account, added_at=now)


def test_merge_moves_everything_and_records_it(
    employee: User, acme: Account, outsider: User
) -> None:
    merged = make_account(employee, "艾克米(上海)贸易", credit_code=uscc(9))
    _hanging_off(merged, employee)
    services.team_add(by=employee, account_id=merged.pk, user=outsider)
    survivor = services.account_merge(by=employee, survivor_id=acme.pk, merged_id=merged.pk)
    merged.refresh_from_db()
    assert merged.merged_into == survivor
    for model in (Contact, Activity, Opportunity, Case, Quote, CampaignMember):
        assert not model.objects.filter(account=merged).exists(), model
        assert model.objects.filter(account=survivor).exists(), model
    event = AccountEvent.objects.get(account=survivor, kind="merged")
    assert event.data["merged"]["name"] == "艾克米(上海)贸易"
    assert event.data["merged"]["code"] == merged.code
    assert event.data["merged"]["credit_code"] == uscc(9)
    assert event.data["moved"] == {
        "contacts": 1,
        "activities": 1,
        "opportunities": 1,
        "cases": 1,
        "quotes": 1,
        "campaigns": 1,
    }
    assert AccountEvent.objects.filter(account=merged, kind="merged_into").exists()
    assert "view_account" in get_perms(outsider, survivor)  # the merged one's team follows
    survivor.refresh_from_db()
    assert "孙七" in survivor.search  # its contacts' names are searched with it


def test_merging_an_account_into_itself_is_a_field_error(employee: User, acme: Account) -> None:
    with pytest.raises(ValidationError) as refused:
        services.account_merge(by=employee, survivor_id=acme.pk, merged_id=acme.pk)
    assert list(refused.value.message_dict) == ["survivor"]
    assert not AccountEvent.objects.filter(kind="merged").exists()


def test_merging_into_an_account_merged_away_is_a_field_error(
    employee: User, acme: Account
) -> None:
    gone = make_account(employee, "已合并公司")
    third = make_account(employee, "第三家公司")
    services.account_merge(by=employee, survivor_id=acme.pk, merged_id=gone.pk)
    with pytest.raises(ValidationError) as refused:
        services.account_merge(by=employee, survivor_id=gone.pk, merged_id=third.pk)
    assert list(refused.value.message_dict) == ["survivor"]
    with pytest.raises(ValidationError) as again:
        services.account_merge(by=employee, survivor_id=acme.pk, merged_id=gone.pk)
    assert list(again.value.message_dict) == ["merged"]
    third.refresh_from_db()
    assert third.merged_into is None


def test_merge_needs_the_right_to_change_both(
    employee: User, acme: Account, outsider: User, dept_head: User
) -> None:
    foreign = make_account(outsider, "财务部的客户")
    _hanging_off(foreign, outsider)
    with pytest.raises(NotFound):  # the employee does not see it
        services.account_merge(by=employee, survivor_id=acme.pk, merged_id=foreign.pk)
    other = make_account(employee, "张伟的另一家")
    with pytest.raises(Refused):  # the head above reads both, changes neither
        services.account_merge(by=dept_head, survivor_id=acme.pk, merged_id=other.pk)
    assert Contact.objects.filter(account=foreign).count() == 1
    assert Account.objects.filter(merged_into__isnull=False).count() == 0


def test_a_sales_admin_merges_anyone_s_accounts(
    sales_admin: User, acme: Account, outsider: User
) -> None:
    foreign = make_account(outsider, "财务部的客户")
    services.account_merge(by=sales_admin, survivor_id=acme.pk, merged_id=foreign.pk)
    foreign.refresh_from_db()
    assert foreign.merged_into_id == acme.pk
