"""The campaigns' pages (crm/views/campaigns.py): they render in Chinese, a campaign one may
not see answers 404, the forms' errors change nothing, the segment's add is confirmed, and the
exports download."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Campaign, Industry
from crm.services import campaigns as services
from portal.models import User
from tests.crm.cases_fixtures import make_account
from tests.factories import role

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


@pytest.fixture
def marketer(employee: User) -> User:
    employee.groups.add(role("marketing", "市场", permissions=["crm.add_campaign"]))
    return User.objects.get(pk=employee.pk)


@pytest.fixture
def campaign(marketer: User) -> Campaign:
    make_account(
        marketer,
        name="上海华通精密机械有限公司",
        province="上海市",
        industry=Industry.MANUFACTURING,
    )
    make_account(
        marketer,
        name="苏州恒信电子科技有限公司",
        province="江苏省",
        industry=Industry.MANUFACTURING,
    )
    return services.campaign_create(
        by=marketer,
        name="2026 华东区制造业客户答谢会",
        channel="线下会议",
        cost=Decimal("10000"),
        segment={"provinces": ["上海市", "江苏省"]},
    )


def test_the_list_and_the_campaign_render_in_chinese(marketer: User, campaign: Campaign) -> None:
    client = _client(marketer)
    listed = client.get(reverse("crm:campaign-list"))
    assert listed.status_code == 200
    text = listed.content.decode()
    assert "2026 华东区制造业客户答谢会" in text
    assert 'lang="zh-hans"' in text.lower()
    page = client.get(reverse("crm:campaign-detail", args=[campaign.pk]))
    assert page.status_code == 200
    assert page.context["figures"].roi == Decimal("-1")  # no revenue yet: all of the cost lost


def test_the_list_filters_by_status(marketer: User, campaign: Campaign) -> None:
    client = _client(marketer)
    running = client.get(reverse("crm:campaign-list"), {"status": "running"})
    assert "华东区制造业" not in running.content.decode()
    planned = client.get(reverse("crm:campaign-list"), {"status": "planned"})
    assert "华东区制造业" in planned.content.decode()


def test_a_campaign_one_may_not_see_answers_404(
    campaign: Campaign, outsider: User, colleague: User
) -> None:
    for person in (outsider, colleague):
        client = _client(person)
        for name in ("crm:campaign-detail", "crm:campaign-members", "crm:campaign-members-export"):
            assert client.get(reverse(name, args=[campaign.pk])).status_code == 404
        assert (
            client.post(reverse("crm:campaign-edit", args=[campaign.pk]), {"name": "x"}).status_code
            == 404
        )
    campaign.refresh_from_db()
    assert campaign.name == "2026 华东区制造业客户答谢会"


def test_creating_needs_the_permission(employee: User) -> None:
    client = _client(employee)
    assert client.get(reverse("crm:campaign-new")).status_code == 403


def test_create_a_campaign_from_the_form(marketer: User) -> None:
    client = _client(marketer)
    answer = client.post(
        reverse("crm:campaign-new"),
        {"name": "双十一线上直播推介", "channel": "直播", "cost": "5000", "levels": ["A", "B"]},
    )
    created = Campaign.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("crm:campaign-detail", args=[created.pk])
    assert created.segment == {"levels": ["A", "B"]}


def test_a_bad_form_shows_the_field_error_and_creates_nothing(marketer: User) -> None:
    client = _client(marketer)
    answer = client.post(
        reverse("crm:campaign-new"),
        {"name": "活动", "starts_on": "2026-05-02", "ends_on": "2026-05-01"},
    )
    assert answer.status_code == 400
    assert "ends_on" in answer.context["form"].errors
    assert not Campaign.objects.exists()


def test_the_preview_button_counts_the_segment_without_saving(
    marketer: User, campaign: Campaign
) -> None:
    client = _client(marketer)
    answer = client.post(
        reverse("crm:campaign-new"), {"name": "预览", "provinces": "上海市，江苏省", "preview": "1"}
    )
    assert answer.status_code == 200
    assert answer.context["preview"].count == 2
    assert Campaign.objects.count() == 1
    partial = client.get(reverse("crm:campaign-segment-preview"), {"provinces": "上海市"})
    assert partial.context["preview"].count == 1


def test_add_the_segment_shows_the_count_then_adds_on_confirmation(
    marketer: User, campaign: Campaign
) -> None:
    client = _client(marketer)
    url = reverse("crm:campaign-add-segment", args=[campaign.pk])
    shown = client.get(url)
    assert shown.context["preview"].new == 2
    assert client.post(url, {}).status_code == 400
    assert not campaign.members.exists()
    assert client.post(url, {"confirm": "on"}).status_code == 302
    assert campaign.members.count() == 2
    assert client.get(url).context["preview"].new == 0


def test_record_a_response_on_a_member(marketer: User, campaign: Campaign) -> None:
    services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk)
    member = campaign.members.order_by("pk").first()
    assert member is not None
    client = _client(marketer)
    url = reverse("crm:campaign-member-respond", args=[campaign.pk, member.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"responded_on": "2026-01-01", "response": ""}).status_code == 400
    answer = client.post(url, {"responded_on": "2026-01-05", "response": "报名参加，2 人"})
    assert answer.status_code == 302
    member.refresh_from_db()
    assert member.response == "报名参加，2 人"
    members = client.get(reverse("crm:campaign-members", args=[campaign.pk]))
    assert "报名参加，2 人" in members.content.decode()


def test_status_step_and_member_add_by_code(marketer: User, campaign: Campaign) -> None:
    client = _client(marketer)
    client.post(reverse("crm:campaign-status", args=[campaign.pk]), {"status": "running"})
    campaign.refresh_from_db()
    assert campaign.status == "running"
    code = make_account(marketer, name="宁波海联物流有限公司").code
    answer = client.post(reverse("crm:campaign-member-add", args=[campaign.pk]), {"account": code})
    assert answer.status_code == 302
    assert campaign.members.count() == 1
    member = campaign.members.get()
    client.post(reverse("crm:campaign-member-remove", args=[campaign.pk, member.pk]))
    assert not campaign.members.exists()


def test_the_exports_download(marketer: User, campaign: Campaign) -> None:
    services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk)
    client = _client(marketer)
    sheet = client.get(reverse("crm:campaign-export"))
    assert sheet.status_code == 200
    assert sheet["Content-Type"].startswith("application/vnd.openxmlformats")
    members = client.get(
        reverse("crm:campaign-members-export", args=[campaign.pk]), {"format": "csv"}
    )
    text = members.content.decode("utf-8-sig")
    assert "上海华通精密机械有限公司" in text
    assert "苏州恒信电子科技有限公司" in text
