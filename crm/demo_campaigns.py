"""The campaigns' part of the CRM demo (``crm.demo``): two campaigns made through the
campaigns' and the sales' services, after the accounts and the pipeline exist.

- 2026 华东区制造业客户答谢会 (running): 杨帆's, of 华东 manufacturers of levels A–C
  (上海市, 江苏省, 浙江省), with responses, a lead and two opportunities from them, one won;
- 双十一线上直播推介 (done): the sales administrator's, of retailers and traders of every
  region, with responses and a won opportunity, so both show an ROI.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal

from django.utils import timezone

from crm.models import Campaign, Stage
from crm.services import campaigns, sales
from portal.models import User

__all__ = ["seed_campaigns"]

THANKS_RESPONSES = ["确认参会，2 人", "报名参加，希望了解 MES 方案", "总经理出席", "可能参加，待定"]
LIVE_RESPONSES = ["观看直播并咨询报价", "领取了优惠券", "要求发送产品手册"]


def _thanks_giving(people: Mapping[str, User], counts: dict[str, int]) -> None:
    owner = people.get("yangfan") or people["admin"]
    today = timezone.localdate()
    campaign = campaigns.campaign_create(
        by=people["admin"],
        name="2026 华东区制造业客户答谢会",
        channel="线下会议",
        starts_on=today - datetime.timedelta(days=20),
        ends_on=today + datetime.timedelta(days=10),
        cost=Decimal("80000"),
        segment={
            "provinces": ["上海市", "江苏省", "浙江省"],
            "industries": ["manufacturing"],
            "levels": ["A", "B", "C"],
        },
        owner=owner,  # 杨帆 heads 华东大区: he sees its accounts and runs the campaign
    )
    campaigns.campaign_update(campaign.pk, by=owner, status=Campaign.Status.RUNNING)
    counts["campaign members"] += campaigns.campaign_members_add_segment(
        by=owner, campaign_id=campaign.pk
    )
    members = list(campaign.members.select_related("account").order_by("pk")[:6])
    for index, member in enumerate(members):
        follow_up: campaigns.FollowUp = ""
        if index in (0, 1):
            follow_up = "opportunity"
        elif index == 2:
            follow_up = "lead"
        result = campaigns.campaign_member_respond(
            by=owner,
            campaign_id=campaign.pk,
            member_id=member.pk,
            response=THANKS_RESPONSES[index % len(THANKS_RESPONSES)],
            responded_on=today - datetime.timedelta(days=index + 1),
            follow_up=follow_up,
            opportunity_name=f"答谢会意向：{member.account.name}数字化项目",
            amount=Decimal(260_000 - index * 60_000) if follow_up == "opportunity" else None,
            expected_close=today + datetime.timedelta(days=30),
        )
        counts["campaign responses"] += 1
        if result.opportunity is not None and index == 0:
            sales.opportunity_move(result.opportunity.pk, by=owner, stage=Stage.WON)
    counts["campaigns"] += 1


def _live_stream(people: Mapping[str, User], counts: dict[str, int]) -> None:
    admin = people["admin"]
    year = timezone.localdate().year - 1
    campaign = campaigns.campaign_create(
        by=admin,
        name="双十一线上直播推介",
        channel="直播",
        starts_on=datetime.date(year, 11, 1),
        ends_on=datetime.date(year, 11, 11),
        cost=Decimal("30000"),
        segment={"industries": ["retail", "trade"], "levels": ["B", "C", "D"]},
    )
    counts["campaign members"] += campaigns.campaign_members_add_segment(
        by=admin, campaign_id=campaign.pk
    )
    members = list(campaign.members.select_related("account").order_by("pk")[:5])
    for index, member in enumerate(members):
        result = campaigns.campaign_member_respond(
            by=admin,
            campaign_id=campaign.pk,
            member_id=member.pk,
            response=LIVE_RESPONSES[index % len(LIVE_RESPONSES)],
            responded_on=datetime.date(year, 11, 11),
            follow_up="opportunity" if index == 0 else "",
            opportunity_name=f"直播推介：{member.account.name}门店系统",
            amount=Decimal("45000") if index == 0 else None,
            expected_close=timezone.localdate(),
        )
        counts["campaign responses"] += 1
        if result.opportunity is not None:
            sales.opportunity_move(result.opportunity.pk, by=admin, stage=Stage.WON)
    campaigns.campaign_update(campaign.pk, by=admin, status=Campaign.Status.RUNNING)
    campaigns.campaign_update(campaign.pk, by=admin, status=Campaign.Status.DONE)
    counts["campaigns"] += 1


def seed_campaigns(people: Mapping[str, User], counts: dict[str, int]) -> None:
    """The two demo campaigns (module docstring); ``people`` by user name, with ``admin``."""
    counts.setdefault("campaigns", 0)
    counts.setdefault("campaign members", 0)
    counts.setdefault("campaign responses", 0)
    _thanks_giving(people, counts)
    _live_stream(people, counts)
