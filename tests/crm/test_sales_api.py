"""The sales API (/api/v1/crm/ leads, opportunities, activities): each operation as the owner
and as an outsider (404), bad input as 400 with the field named and nothing changed, and the
operations in the OpenAPI schema with their error answers."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from crm.models import Activity, Lead, LeadStatus, Opportunity, Stage
from crm.services import sales as services
from portal.models import User
from tests.crm import sales_fixtures as make

pytestmark = pytest.mark.django_db
API = "/api/v1/crm"
Login = Callable[[User], Client]


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(f"{API}{url}", body, content_type="application/json")


def test_leads_list_create_and_convert(employee: User, outsider: User, login: Login) -> None:
    client = login(employee)
    created = post(client, "/leads/", {"company": "广州华南物流有限公司", "assign_to_me": True})
    assert created.status_code == 201, created.content
    lead_id = created.json()["id"]
    assert created.json()["owner"] == "zhangwei"
    listed = client.get(f"{API}/leads/?status=new").json()
    assert [row["id"] for row in listed["results"]] == [lead_id]
    assert login(outsider).get(f"{API}/leads/").json()["results"] == []
    assert post(login(outsider), f"/leads/{lead_id}/convert", {}).status_code == 404

    client = login(employee)
    bad = post(client, f"/leads/{lead_id}/convert", {"amount": "-10"})
    assert bad.status_code == 400
    assert "amount" in bad.json()["error"]["fields"]
    assert not Opportunity.objects.exists()
    done = post(
        client, f"/leads/{lead_id}/convert", {"amount": "5000", "expected_close": "2027-01-31"}
    )
    assert done.status_code == 201, done.content
    assert done.json()["attached"] is False
    again = post(client, f"/leads/{lead_id}/convert", {})
    assert again.status_code == 400
    assert Lead.objects.get().status == LeadStatus.CONVERTED
    assert Opportunity.objects.count() == 1


def test_a_bad_lead_is_400_with_its_field(employee: User, login: Login) -> None:
    response = post(login(employee), "/leads/", {"company": "甲", "phone": "abc"})
    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]
    assert not Lead.objects.exists()


def test_opportunities_list_create_and_move(
    employee: User, colleague: User, outsider: User, dept_head: User, login: Login
) -> None:
    account = make.account(employee)
    theirs = make.opportunity(make.account(colleague, "别家有限公司"), stage=Stage.NEEDS)
    client = login(employee)
    created = post(client, "/opportunities/", {"account": account.pk, "name": "ERP 升级"})
    assert created.status_code == 201, created.content
    opportunity_id = created.json()["id"]
    assert created.json()["stage"] == "qualification"
    assert [r["id"] for r in client.get(f"{API}/opportunities/").json()["results"]] == [
        opportunity_id
    ]
    manager = login(dept_head).get(f"{API}/opportunities/?stage=needs&department=SALES").json()
    assert [r["id"] for r in manager["results"]] == [theirs.pk]
    assert login(dept_head).get(f"{API}/opportunities/?department=NOPE").status_code == 400

    client = login(employee)
    refused = post(client, f"/opportunities/{opportunity_id}/move", {"stage": "proposal"})
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"amount", "expected_close"}
    assert Opportunity.objects.get(pk=opportunity_id).stage == Stage.QUALIFICATION
    moved = post(client, f"/opportunities/{opportunity_id}/move", {"stage": "needs"})
    assert (moved.json()["stage"], moved.json()["probability"]) == ("needs", 20)

    outsider_client = login(outsider)
    assert (
        post(outsider_client, f"/opportunities/{opportunity_id}/move", {"stage": "won"}).status_code
        == 404
    )
    assert (
        post(outsider_client, "/opportunities/", {"account": account.pk, "name": "x"}).status_code
        == 404
    )
    assert Opportunity.objects.count() == 2


def test_a_negative_amount_is_refused(employee: User, login: Login) -> None:
    account = make.account(employee)
    response = post(
        login(employee), "/opportunities/", {"account": account.pk, "name": "x", "amount": "-1"}
    )
    assert response.status_code == 400
    assert "amount" in response.json()["error"]["fields"]
    assert not Opportunity.objects.exists()


def test_activities_by_account_and_opportunity_and_done(
    employee: User, outsider: User, login: Login
) -> None:
    account = make.account(employee)
    opportunity = make.opportunity(account)
    client = login(employee)
    assert client.get(f"{API}/activities/").status_code == 400  # of what?
    due = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)).isoformat()
    created = post(
        client,
        "/activities/",
        {
            "account": account.pk,
            "opportunity": opportunity.pk,
            "kind": "task",
            "subject": "发送方案",
            "due_at": due,
        },
    )
    assert created.status_code == 201, created.content
    activity_id = created.json()["id"]
    assert created.json()["done_at"] is None
    by_account = client.get(f"{API}/activities/?account={account.pk}").json()["results"]
    by_opportunity = client.get(f"{API}/activities/?opportunity={opportunity.pk}").json()
    assert [a["id"] for a in by_account] == [a["id"] for a in by_opportunity["results"]]
    assert login(outsider).get(f"{API}/activities/?account={account.pk}").status_code == 404
    assert post(login(outsider), f"/activities/{activity_id}/done", {}).status_code == 404
    assert Activity.objects.get().done_at is None
    done = post(login(employee), f"/activities/{activity_id}/done", {})
    assert done.status_code == 200 and done.json()["done_at"] is not None


def test_a_followup_without_due_date_is_refused(employee: User, login: Login) -> None:
    account = make.account(employee)
    response = post(
        login(employee), "/activities/", {"account": account.pk, "kind": "task", "subject": "x"}
    )
    assert response.status_code == 400
    assert "due_at" in response.json()["error"]["fields"]
    assert not Activity.objects.exists()


def test_the_operations_are_in_the_schema_with_their_errors() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        operation["operationId"]: operation
        for path_item in schema["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for name in (
        "crm_leads_list",
        "crm_leads_create",
        "crm_leads_convert",
        "crm_opportunities_list",
        "crm_opportunities_create",
        "crm_opportunities_move",
        "crm_activities_list",
        "crm_activities_create",
        "crm_activities_done",
    ):
        operation = operations[name]
        assert operation["summary"]
        assert "401" in operation["responses"]
    assert "404" in operations["crm_opportunities_move"]["responses"]
    assert "400" in operations["crm_opportunities_move"]["responses"]


def test_stage_move_service_is_the_apis(employee: User, login: Login) -> None:
    opportunity = make.opportunity(make.account(employee), amount="10", expected_close=None)
    services.opportunity_update(
        opportunity.pk, by=employee, expected_close=datetime.date(2027, 1, 1)
    )
    response = post(login(employee), f"/opportunities/{opportunity.pk}/move", {"stage": "lost"})
    assert "lost_reason" in response.json()["error"]["fields"]
