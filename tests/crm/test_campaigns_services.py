"""The campaigns' services and selectors (crm/services/campaigns.py, crm/selectors/campaigns.py):
validation that changes nothing, the segment and its idempotent add, who sees and changes a
campaign, and the ROI figures to the cent."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm.models import (
    Account,
    Campaign,
    CampaignMember,
    Industry,
    Lead,
    LeadSource,
    Opportunity,
    Stage,
)
from crm.selectors import campaigns as selectors
from crm.services import campaigns as services
from crm.services import sales
from portal.errors import NotFound
from portal.models import Department, User
from tests.crm.cases_fixtures import make_account
from tests.factories import role

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(employee: User) -> User:
    """张伟 may create campaigns (``crm.add_campaign``)."""
    employee.groups.add(role("marketing", "市场", permissions=["crm.add_campaign"]))
    return User.objects.get(pk=employee.pk)


@pytest.fixture
def accounts(employee: User, colleague: User) -> dict[str, Account]:
    return {
        "sh_mfg": make_account(
            employee,
            name="上海华通精密机械有限公司",
            province="上海市",
            city="上海",
            industry=Industry.MANUFACTURING,
            level="A",
        ),
        "js_mfg": make_account(
            employee,
            name="苏州恒信电子科技有限公司",
            province="江苏省",
            city="苏州",
            industry=Industry.MANUFACTURING,
            level="B",
        ),
        "sh_it": make_account(
            employee,
            name="上海云帆软件技术有限公司",
            province="上海市",
            city="上海",
            industry=Industry.IT,
            level="C",
        ),
        "theirs": make_account(
            colleague,
            name="杭州明远贸易有限公司",
            province="上海市",
            city="上海",
            industry=Industry.MANUFACTURING,
            level="A",
        ),
    }


def _campaign(by: User, **more: object) -> Campaign:
    values: dict[str, object] = {"name": "2026 华东区制造业客户答谢会", "cost": Decimal("10000")}
    values.update(more)
    return services.campaign_create(by=by, **values)  # type: ignore[arg-type]


# --- create and edit -----------------------------------------------------------------------------


def test_a_campaign_is_created_planned_and_owned(marketer: User) -> None:
    campaign = _campaign(marketer, channel="线下会议", segment={"provinces": ["上海市"]})
    assert campaign.status == Campaign.Status.PLANNED
    assert campaign.owner == marketer
    assert campaign.segment == {"provinces": ["上海市"]}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "  "}, "name"),
        ({"cost": Decimal("-1")}, "cost"),
        ({"cost": "abc"}, "cost"),
        (
            {"starts_on": datetime.date(2026, 5, 2), "ends_on": datetime.date(2026, 5, 1)},
            "ends_on",
        ),
        ({"segment": {"colour": ["red"]}}, "segment"),
        ({"segment": {"industries": ["mining"]}}, "industries"),
        ({"segment": {"levels": ["Z"]}}, "levels"),
        ({"segment": {"department": 999999}}, "department"),
        ({"segment": {"owner": 999999}}, "owner"),
        ({"segment": {"activity": "sometimes", "activity_days": 3}}, "activity"),
        ({"segment": {"activity": "within"}}, "activity_days"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(
    marketer: User, values: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        _campaign(marketer, **values)
    assert field in raised.value.message_dict
    assert not Campaign.objects.exists()


def test_creating_needs_the_permission(employee: User) -> None:
    with pytest.raises(PermissionDenied):
        _campaign(employee)
    assert not Campaign.objects.exists()


def test_a_sales_administrator_creates_without_the_model_permission(superuser: User) -> None:
    assert _campaign(superuser).owner == superuser


def test_status_moves_one_step_forward_only(marketer: User) -> None:
    campaign = _campaign(marketer)
    with pytest.raises(ValidationError) as raised:
        services.campaign_update(campaign.pk, by=marketer, status="done")
    assert "status" in raised.value.message_dict
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PLANNED
    services.campaign_update(campaign.pk, by=marketer, status="running")
    services.campaign_update(campaign.pk, by=marketer, status="done")
    with pytest.raises(ValidationError):
        services.campaign_update(campaign.pk, by=marketer, status="running")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE


def test_an_edit_keeps_the_dates_in_order_and_changes_nothing_when_wrong(marketer: User) -> None:
    campaign = _campaign(marketer, starts_on=datetime.date(2026, 3, 1))
    with pytest.raises(ValidationError) as raised:
        services.campaign_update(
            campaign.pk, by=marketer, name="新名字", ends_on=datetime.date(2026, 2, 1)
        )
    assert "ends_on" in raised.value.message_dict
    campaign.refresh_from_db()
    assert campaign.name == "2026 华东区制造业客户答谢会"


# --- who sees and changes -------------------------------------------------------------------------


def test_the_owner_sees_his_campaign_others_get_not_found(
    marketer: User, colleague: User, outsider: User, superuser: User
) -> None:
    campaign = _campaign(marketer)
    assert selectors.campaign_for(marketer, campaign.pk) == campaign
    assert selectors.campaign_for(superuser, campaign.pk) == campaign
    for person in (colleague, outsider):
        with pytest.raises(NotFound):
            selectors.campaign_for(person, campaign.pk)
        with pytest.raises(NotFound):
            services.campaign_update(campaign.pk, by=person, name="x")


def test_view_campaign_sees_every_campaign_but_does_not_change_it(
    marketer: User, outsider: User
) -> None:
    campaign = _campaign(marketer)
    outsider.groups.add(role("analyst", "分析", permissions=["crm.view_campaign"]))
    outsider = User.objects.get(pk=outsider.pk)
    assert selectors.campaign_for(outsider, campaign.pk) == campaign
    with pytest.raises(PermissionDenied):
        services.campaign_update(campaign.pk, by=outsider, name="改名")
    campaign.refresh_from_db()
    assert campaign.name == "2026 华东区制造业客户答谢会"


# --- the segment ---------------------------------------------------------------------------------


def test_the_segment_finds_only_visible_accounts_and_previews_the_count(
    marketer: User, accounts: dict[str, Account]
) -> None:
    segment = selectors.segment_clean(
        {"provinces": ["上海市", "江苏省"], "industries": ["manufacturing"]}
    )
    found = set(selectors.segment_accounts(marketer, segment))
    assert found == {accounts["sh_mfg"], accounts["js_mfg"]}  # not the colleague's
    preview = selectors.segment_preview(marketer, segment)
    assert (preview.count, preview.new) == (2, 2)


def test_the_segment_by_level_and_last_activity(
    marketer: User, accounts: dict[str, Account]
) -> None:
    now = timezone.now()
    sh_mfg = accounts["sh_mfg"]
    sh_mfg.last_activity_at = now - datetime.timedelta(days=10)
    sh_mfg.save()
    recent = selectors.segment_clean({"activity": "within", "activity_days": 30})
    assert list(selectors.segment_accounts(marketer, recent)) == [sh_mfg]
    quiet = selectors.segment_clean(
        {"activity": "not_within", "activity_days": 30, "levels": ["B", "C"]}
    )
    assert set(selectors.segment_accounts(marketer, quiet)) == {
        accounts["js_mfg"],
        accounts["sh_it"],
    }


def test_the_segment_by_department_includes_the_departments_below(
    dept_head: User, accounts: dict[str, Account], org: dict[str, Department]
) -> None:
    sales_department = org["sales"]
    segment = selectors.segment_clean({"department": sales_department.pk})
    assert selectors.segment_accounts(dept_head, segment).count() == 4


def test_adding_the_segment_is_idempotent_and_keeps_responses(
    marketer: User, accounts: dict[str, Account]
) -> None:
    campaign = _campaign(marketer, segment={"provinces": ["上海市"]})
    assert services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk) == 2
    member = campaign.members.get(account=accounts["sh_mfg"])
    services.campaign_member_respond(
        by=marketer, campaign_id=campaign.pk, member_id=member.pk, response="报名参加"
    )
    assert services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk) == 0
    assert campaign.members.count() == 2
    member.refresh_from_db()
    assert member.response == "报名参加"
    preview = selectors.segment_preview(
        marketer, selectors.segment_clean(campaign.segment), campaign
    )
    assert (preview.count, preview.new) == (2, 0)


def test_adding_accounts_by_id_refuses_invisible_ones_and_adds_nothing(
    marketer: User, accounts: dict[str, Account]
) -> None:
    campaign = _campaign(marketer)
    ids = [accounts["sh_mfg"].pk, accounts["theirs"].pk]
    with pytest.raises(ValidationError) as raised:
        services.campaign_members_add(by=marketer, campaign_id=campaign.pk, account_ids=ids)
    assert "accounts" in raised.value.message_dict
    assert not campaign.members.exists()


def test_a_done_campaigns_members_do_not_change(
    marketer: User, accounts: dict[str, Account]
) -> None:
    campaign = _campaign(marketer)
    services.campaign_update(campaign.pk, by=marketer, status="running")
    services.campaign_update(campaign.pk, by=marketer, status="done")
    with pytest.raises(services.CampaignRefused):
        services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk)
    assert not campaign.members.exists()


def test_remove_a_member(marketer: User, accounts: dict[str, Account]) -> None:
    campaign = _campaign(marketer)
    services.campaign_members_add(
        by=marketer,
        campaign_id=campaign.pk,
        account_ids=[accounts["sh_it"].pk],
    )
    member = campaign.members.get()
    services.campaign_member_remove(by=marketer, campaign_id=campaign.pk, member_id=member.pk)
    assert not campaign.members.exists()


def test_the_member_list_shows_only_visible_accounts_while_totals_count_all(
    marketer: User, colleague: User, superuser: User, accounts: dict[str, Account]
) -> None:
    campaign = services.campaign_create(by=superuser, name="双十一线上直播推介")
    services.campaign_members_add(
        by=superuser,
        campaign_id=campaign.pk,
        account_ids=[accounts["sh_mfg"].pk, accounts["theirs"].pk],
    )
    colleague.groups.add(role("analyst", "分析", permissions=["crm.view_campaign"]))
    colleague = User.objects.get(pk=colleague.pk)
    assert [m.account for m in selectors.members_for(colleague, campaign)] == [accounts["theirs"]]
    assert selectors.campaign_results(campaign).members == 2


# --- responses ----------------------------------------------------------------------------------


def test_a_response_in_the_future_or_empty_changes_nothing(
    marketer: User, accounts: dict[str, Account]
) -> None:
    campaign = _campaign(marketer, segment={"cities": ["苏州"]})
    services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk)
    member = campaign.members.get()
    for response, day, field in [
        ("", None, "response"),
        ("会来", timezone.localdate() + datetime.timedelta(days=1), "responded_on"),
    ]:
        with pytest.raises(ValidationError) as raised:
            services.campaign_member_respond(
                by=marketer,
                campaign_id=campaign.pk,
                member_id=member.pk,
                response=response,
                responded_on=day,
                follow_up="lead",
            )
        assert field in raised.value.message_dict
    member.refresh_from_db()
    assert member.responded_at is None
    assert not Lead.objects.exists()


def test_a_response_makes_a_lead_linked_to_the_campaign(
    marketer: User, accounts: dict[str, Account]
) -> None:
    campaign = _campaign(marketer, segment={"cities": ["苏州"]})
    services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk)
    member = campaign.members.get()
    result = services.campaign_member_respond(
        by=marketer,
        campaign_id=campaign.pk,
        member_id=member.pk,
        response="希望了解 MES 方案",
        follow_up="lead",
    )
    assert result.lead is not None
    assert result.lead.campaign == campaign
    assert result.lead.source == LeadSource.CAMPAIGN
    assert result.lead.company == "苏州恒信电子科技有限公司"
    assert result.member.responded_at is not None


def test_roi_figures_to_the_cent(marketer: User, accounts: dict[str, Account]) -> None:
    campaign = _campaign(
        marketer, cost=Decimal("20000.00"), segment={"provinces": ["上海市", "江苏省"]}
    )
    assert services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk) == 3
    members = list(campaign.members.order_by("pk"))
    won = services.campaign_member_respond(
        by=marketer,
        campaign_id=campaign.pk,
        member_id=members[0].pk,
        response="确认采购",
        follow_up="opportunity",
        opportunity_name="答谢会签约项目",
        amount=Decimal("50000"),
        expected_close=timezone.localdate(),
    ).opportunity
    assert won is not None
    sales.opportunity_move(won.pk, by=marketer, stage=Stage.WON)
    services.campaign_member_respond(
        by=marketer,
        campaign_id=campaign.pk,
        member_id=members[1].pk,
        response="需要报价",
        follow_up="opportunity",
        amount=Decimal("8000"),
    )
    services.campaign_member_respond(
        by=marketer,
        campaign_id=campaign.pk,
        member_id=members[2].pk,
        response="转介绍",
        follow_up="lead",
    )
    # an opportunity of another campaign does not count
    other = Opportunity.objects.get(pk=won.pk)
    assert other.campaign_id == campaign.pk
    figures = selectors.campaign_results(campaign)
    assert figures.members == 3
    assert figures.responded == 3
    assert figures.response_rate == Decimal(1)
    assert figures.leads == 1
    assert figures.opportunities == 2
    assert figures.won == 1
    assert figures.won_revenue == Decimal("50000.00")
    assert figures.cost == Decimal("20000.00")
    assert figures.roi == Decimal("1.5")  # (50,000 − 20,000) / 20,000
    assert figures.cost_per_lead == Decimal("20000.00")


def test_roi_is_none_without_cost_and_figures_are_zero_without_members(marketer: User) -> None:
    figures = selectors.campaign_results(_campaign(marketer, cost=0))
    assert figures.roi is None
    assert figures.response_rate is None
    assert figures.cost_per_lead is None
    assert (figures.members, figures.won_revenue) == (0, Decimal("0"))


def test_the_list_figures_take_one_query(
    marketer: User, accounts: dict[str, Account], django_assert_num_queries: object
) -> None:
    for index in range(3):
        campaign = _campaign(marketer, name=f"活动 {index}", segment={"provinces": ["上海市"]})
        services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk)
    with django_assert_num_queries(1):  # type: ignore[operator]
        rows = list(selectors.with_figures(Campaign.objects.all()))
    assert [selectors.results_of(c).members for c in rows] == [2, 2, 2]
    assert CampaignMember.objects.count() == 6
