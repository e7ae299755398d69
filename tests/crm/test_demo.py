"""The CRM's part of ``seed_demo`` (``crm.demo``): every page has something real to show,
made through the CRM's own services, and a second run changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from crm.models import Account, Campaign, Case, Contact, Lead, LeadStatus, Opportunity, Quote, Stage
from crm.selectors.campaigns import campaign_results
from crm.selectors.cases import sla_state
from erp_bridge.models import OrderRecord
from erp_bridge.outbox import outbox_deliver_due
from workflow.models import Task

pytestmark = pytest.mark.django_db


def test_the_demo_has_customers_a_pipeline_quotes_and_cases_and_runs_once() -> None:
    out = io.StringIO()
    call_command("seed_demo", allow_production=True, stdout=out, stderr=io.StringIO())
    assert Account.objects.count() == 155  # 150 customers and 5 converted leads
    assert Account.objects.filter(code__in=["C0001", "C0002", "C0003"]).count() == 3
    assert Contact.objects.count() >= 150
    assert set(Opportunity.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert Lead.objects.filter(status=LeadStatus.CONVERTED).count() == 5
    statuses = dict(Quote.objects.values_list("number", "status"))
    assert sorted(statuses.values()) == ["accepted", "draft", "pending"]
    # the accepted quote went to the embedded ERP through the outbox (delivered after the
    # commit, which a test's transaction never reaches) and came back numbered
    outbox_deliver_due()
    accepted = next(n for n, s in statuses.items() if s == "accepted")
    assert OrderRecord.objects.get(reference=accepted).number.startswith("SO")
    # the 15 % quote waits in the sales manager's 待办
    assert Task.objects.filter(
        assignee="yangfan", state="open", instance__definition_key="crm_quote_approval"
    ).exists()
    states = {sla_state(case) for case in Case.objects.all()}
    assert {"paused", "met", "running", "breached"} <= states
    assert "CRM is ready" in out.getvalue()
    # two campaigns (crm/demo_campaigns.py), each with members, responses and a won opportunity
    shown = {c.name: c for c in Campaign.objects.all()}
    assert shown["2026 华东区制造业客户答谢会"].status == "running"
    assert shown["双十一线上直播推介"].status == "done"
    for campaign in shown.values():
        figures = campaign_results(campaign)
        assert figures.members > 0 and figures.responded > 0
        assert figures.won >= 1 and figures.roi is not None

    call_command("seed_demo", allow_production=True, stdout=io.StringIO(), stderr=io.StringIO())
    assert Account.objects.count() == 155  # 150 customers and 5 converted leads
    assert Quote.objects.count() == 3
    assert Campaign.objects.count() == 2
