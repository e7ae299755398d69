"""The campaigns' API (crm/api/campaigns.py): list with its filter and keyset pages, create,
one campaign with its figures, PATCH, members (list, add by id or from the segment) and a
member's response; errors name the field and change nothing, what one may not see is 404."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Campaign, Industry, Lead
from crm.services import campaigns as services
from portal.models import User
from tests.crm.cases_fixtures import make_account
from tests.factories import english, role

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    english(user)
    client = Client()
    client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


def _post(client: Client, url: str, body: dict[str, Any], method: str = "post") -> Any:
    return getattr(client, method)(url, data=body, content_type="application/json")


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
        cost=Decimal("10000"),
        segment={"industries": ["manufacturing"]},
    )


def test_create_and_read_a_campaign_with_its_figures(marketer: User) -> None:
    client = _client(marketer)
    created = _post(
        client,
        reverse("crm-api:campaign-list"),
        {"name": "双十一线上直播推介", "cost": "3000.00", "segment": {"levels": ["A"]}},
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "planned"
    assert body["segment"] == {"levels": ["A"]}
    assert body["figures"]["members"] == 0
    assert body["figures"]["roi"] == "-1.0000"
    detail = client.get(reverse("crm-api:campaign-detail", args=[body["id"]]))
    assert detail.json()["name"] == "双十一线上直播推介"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "x", "cost": "-5"}, "cost"),
        ({"name": "x", "segment": {"colour": "red"}}, "segment.colour"),
        ({"name": "x", "segment": {"industries": ["mining"]}}, "industries"),
        ({"name": "x", "starts_on": "2026-05-02", "ends_on": "2026-05-01"}, "ends_on"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    marketer: User, body: dict[str, Any], field: str
) -> None:
    answer = _post(_client(marketer), reverse("crm-api:campaign-list"), body)
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]
    assert not Campaign.objects.exists()


def test_creating_needs_the_permission(employee: User) -> None:
    answer = _post(_client(employee), reverse("crm-api:campaign-list"), {"name": "x"})
    assert answer.status_code == 403
    assert not Campaign.objects.exists()


def test_the_list_filters_and_pages(marketer: User) -> None:
    for index in range(3):
        services.campaign_create(by=marketer, name=f"活动 {index}")
    client = _client(marketer)
    first = client.get(reverse("crm-api:campaign-list"), {"page_size": 2})
    assert [c["name"] for c in first.json()["results"]] == ["活动 2", "活动 1"]
    second = client.get(first.json()["next"])
    assert [c["name"] for c in second.json()["results"]] == ["活动 0"]
    assert second.json()["next"] is None
    running = client.get(reverse("crm-api:campaign-list"), {"status": "running"})
    assert running.json()["results"] == []
    assert client.get(reverse("crm-api:campaign-list"), {"status": "nope"}).status_code == 400


def test_invisible_campaigns_are_404(campaign: Campaign, outsider: User) -> None:
    client = _client(outsider)
    assert client.get(reverse("crm-api:campaign-detail", args=[campaign.pk])).status_code == 404
    patched = _post(
        client, reverse("crm-api:campaign-detail", args=[campaign.pk]), {"name": "x"}, "patch"
    )
    assert patched.status_code == 404
    members = _post(
        client, reverse("crm-api:campaign-members", args=[campaign.pk]), {"from_segment": True}
    )
    assert members.status_code == 404
    assert not campaign.members.exists()
    assert client.get(reverse("crm-api:campaign-list")).json()["results"] == []


def test_patch_moves_the_status_one_step(marketer: User, campaign: Campaign) -> None:
    client = _client(marketer)
    url = reverse("crm-api:campaign-detail", args=[campaign.pk])
    assert _post(client, url, {"status": "done"}, "patch").status_code == 400
    answer = _post(client, url, {"status": "running", "channel": "线下会议"}, "patch")
    assert answer.status_code == 200
    assert answer.json()["status"] == "running"
    assert answer.json()["channel"] == "线下会议"


def test_members_from_the_segment_are_added_once_and_listed(
    marketer: User, campaign: Campaign
) -> None:
    client = _client(marketer)
    url = reverse("crm-api:campaign-members", args=[campaign.pk])
    assert _post(client, url, {}).status_code == 400
    assert _post(client, url, {"from_segment": True}).json() == {"added": 2, "members": 2}
    assert _post(client, url, {"from_segment": True}).json() == {"added": 0, "members": 2}
    listed = client.get(url, {"page_size": 1})
    assert len(listed.json()["results"]) == 1
    assert listed.json()["next"]


def test_members_by_id_refuse_accounts_one_does_not_see(
    marketer: User, campaign: Campaign, colleague: User
) -> None:
    theirs = make_account(colleague, name="杭州明远贸易有限公司")
    answer = _post(
        _client(marketer),
        reverse("crm-api:campaign-members", args=[campaign.pk]),
        {"accounts": [theirs.pk]},
    )
    assert answer.status_code == 400
    assert "accounts" in answer.json()["error"]["fields"]
    assert not campaign.members.exists()


def test_a_response_with_a_lead(marketer: User, campaign: Campaign) -> None:
    services.campaign_members_add_segment(by=marketer, campaign_id=campaign.pk)
    member = campaign.members.order_by("pk").first()
    assert member is not None
    client = _client(marketer)
    url = reverse("crm-api:campaign-member-response", args=[campaign.pk, member.pk])
    assert _post(client, url, {"response": ""}).status_code == 400
    answer = _post(client, url, {"response": "确认参会", "follow_up": "lead"})
    assert answer.status_code == 200
    lead = Lead.objects.get(pk=answer.json()["lead"])
    assert lead.campaign_id == campaign.pk
    assert answer.json()["member"]["response"] == "确认参会"
    assert (
        client.get(reverse("crm-api:campaign-detail", args=[campaign.pk])).json()["figures"][
            "leads"
        ]
        == 1
    )


def test_a_response_on_a_member_not_seen_is_404(marketer: User, campaign: Campaign) -> None:
    url = reverse("crm-api:campaign-member-response", args=[campaign.pk, 999_999])
    assert _post(_client(marketer), url, {"response": "x"}).status_code == 404
