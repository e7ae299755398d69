"""The service cases' pages and API (crm/views/cases.py, crm/api/cases.py) as each persona:
the handler, the team lead, an outsider (404 everywhere, nothing changed), and the "my cases
near breach" portlet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from crm.applications_cases import near_breach_context
from crm.models import AccountLevel, Case, CaseEvent, CaseStatus, SlaPolicy
from crm.selectors.cases import cases_near_breach
from crm.services import cases as services
from portal.models import User
from tests.crm.cases_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.cases_fixtures import Clock, at, make_account
from tests.factories import english

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _people_read_english(employee: User, outsider: User, dept_head: User) -> None:
    english(employee, outsider, dept_head)


@pytest.fixture
def case(employee: User, case_world: dict[str, Any]) -> Case:
    return services.case_open(
        by=employee, account_id=case_world["account"].pk, subject="主轴异响", description="噪音大"
    )


def state(case_id: int) -> tuple[str, int]:
    found = Case.objects.get(pk=case_id)
    return found.status, CaseEvent.objects.filter(case_id=case_id).count()


# --- pages ---------------------------------------------------------------------------------------


def test_the_handler_lists_and_reads_the_case(login: Login, employee: User, case: Case) -> None:
    client = login(employee)
    listing = client.get(reverse("crm:case-list"), {"status": "active", "mine": "1"})
    assert listing.status_code == 200 and case.number in listing.content.decode()
    page = client.get(reverse("crm:case-detail", args=[case.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and "主轴异响" in body and "Respond" in body


def test_an_outsider_gets_404_and_changes_nothing(login: Login, outsider: User, case: Case) -> None:
    client = login(outsider)
    assert case.number not in client.get(reverse("crm:case-list")).content.decode()
    assert client.get(reverse("crm:case-detail", args=[case.pk])).status_code == 404
    before = state(case.pk)
    step = client.post(reverse("crm:case-step", args=[case.pk, "respond"]))
    assert step.status_code == 404
    rate = client.post(reverse("crm:case-feedback", args=[case.pk]), {"satisfaction": "5"})
    assert rate.status_code == 404
    assert state(case.pk) == before


def test_a_new_case_from_the_portal(
    login: Login, employee: User, case_world: dict[str, Any]
) -> None:
    client = login(employee)
    account = case_world["account"]
    form = client.get(reverse("crm:case-new"), {"account": account.pk})
    assert form.status_code == 200 and "陈静" in form.content.decode()  # its contacts
    answer = client.post(
        reverse("crm:case-new") + f"?account={account.pk}",
        {
            "account": account.code,
            "contact": case_world["contact"].pk,
            "subject": "无法开机",
            "priority": "1",
        },
    )
    case = Case.objects.get(subject="无法开机")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/{case.pk}/")
    assert case.priority == 1 and case.contact == case_world["contact"]
    assert case.resolution_due is not None


def test_a_new_case_with_bad_input_names_the_field(
    login: Login, employee: User, case_world: dict[str, Any]
) -> None:
    client = login(employee)
    answer = client.post(
        reverse("crm:case-new"), {"account": "NO-SUCH", "subject": "", "priority": "2"}
    )
    body = answer.content.decode()
    assert answer.status_code == 200
    assert "Account: no account you can see has this customer code." in body
    assert not Case.objects.exists()


def test_the_outsider_cannot_open_a_case_on_an_account_they_do_not_see(
    login: Login, outsider: User, case_world: dict[str, Any]
) -> None:
    client = login(outsider)
    preset = client.get(reverse("crm:case-new"), {"account": case_world["account"].pk})
    assert preset.status_code == 404
    answer = client.post(
        reverse("crm:case-new"),
        {"account": case_world["account"].code, "subject": "x", "priority": "2"},
    )
    assert answer.status_code == 200 and not Case.objects.exists()


def test_the_intake_page_matches_the_sender(
    login: Login, employee: User, case_world: dict[str, Any]
) -> None:
    client = login(employee)
    answer = client.post(
        reverse("crm:case-intake"),
        {"sender": "chen.jing@hengxin-jx.com", "subject": "报警 E-203", "body": "设备报警"},
    )
    case = Case.objects.get(subject="报警 E-203")
    assert answer.status_code == 302
    assert case.contact == case_world["contact"] and case.channel == "email"


def test_the_intake_page_asks_for_the_account_when_nothing_matches(
    login: Login, employee: User, case_world: dict[str, Any]
) -> None:
    client = login(employee)
    answer = client.post(
        reverse("crm:case-intake"),
        {"sender": "someone@qq.com", "subject": "询价", "body": ""},
    )
    assert answer.status_code == 200 and "choose the account" in answer.content.decode()
    assert not Case.objects.exists()


def test_steps_and_a_refused_step_on_the_page(login: Login, employee: User, case: Case) -> None:
    client = login(employee)
    before = state(case.pk)
    refused = client.post(reverse("crm:case-step", args=[case.pk, "close"]), follow=True)
    assert "Only a resolved case can be closed" in refused.content.decode()
    assert state(case.pk) == before
    assert client.post(reverse("crm:case-step", args=[case.pk, "fly"])).status_code == 404
    client.post(reverse("crm:case-step", args=[case.pk, "respond"]), {"text": "已电话联系"})
    client.post(reverse("crm:case-step", args=[case.pk, "resolve"]))
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED


def test_the_rating_form_after_resolving(login: Login, employee: User, case: Case) -> None:
    client = login(employee)
    url = reverse("crm:case-feedback", args=[case.pk])
    early = client.post(url, {"satisfaction": "5"}, follow=True)
    assert "Only a resolved or closed case can be rated" in early.content.decode()
    services.case_resolve(by=employee, case_id=case.pk)
    page = client.get(reverse("crm:case-detail", args=[case.pk])).content.decode()
    assert 'name="satisfaction"' in page
    assert client.post(url, {"satisfaction": "9"}).status_code == 400
    client.post(url, {"satisfaction": "4", "comment": "很快"})
    assert Case.objects.get(pk=case.pk).satisfaction == 4
    again = client.post(url, {"satisfaction": "1"}, follow=True)
    assert "rated already" in again.content.decode()
    assert Case.objects.get(pk=case.pk).satisfaction == 4


def test_the_team_lead_sees_the_case(login: Login, dept_head: User, case: Case) -> None:
    assert login(dept_head).get(reverse("crm:case-detail", args=[case.pk])).status_code == 200


# --- the portlet ----------------------------------------------------------------------------------


def test_my_cases_near_breach(
    employee: User, colleague: User, case_world: dict[str, Any], clock: Clock
) -> None:
    account = case_world["account"]
    clock.set(at(3, 2, 9))  # 16 h to resolve: due Tuesday Mar 3 18:00
    late = services.case_open(by=employee, account_id=account.pk, subject="逾期")
    services.case_respond(by=employee, case_id=late.pk)
    clock.set(at(3, 2, 10))
    paused = services.case_open(by=employee, account_id=account.pk, subject="等待客户")
    services.case_wait(by=employee, case_id=paused.pk)
    clock.set(at(3, 4, 9, 30))  # level C: 8 h to the first response, Thursday 09:30
    standard = make_account(employee, name="常州新材料有限公司", level=AccountLevel.STANDARD)
    services.case_open(by=employee, account_id=standard.pk, subject="刚受理")
    clock.set(at(3, 4, 10, 30))  # level B: first response due 14:30, within 4 business hours
    services.case_open(by=employee, account_id=account.pk, subject="待响应")
    now = at(3, 4, 11)
    assert [c.subject for c in cases_near_breach(employee, now=now)] == ["逾期", "待响应"]
    assert cases_near_breach(colleague, now=now) == []


def test_the_portlet_renders_my_overdue_case(
    employee: User, case_world: dict[str, Any], clock: Clock
) -> None:
    clock.set(at(3, 2, 9))
    services.case_open(by=employee, account_id=case_world["account"].pk, subject="逾期")
    request = RequestFactory().get("/")
    request.user = employee
    [row] = near_breach_context(request)["rows"]
    assert row["case"].subject == "逾期" and row["overdue"] is True
    html = render_to_string(
        "crm/portlets/cases_near_breach.html", {**near_breach_context(request), "portlet": None}
    )
    assert "逾期" in html and "overdue" in html


# --- the API ------------------------------------------------------------------------------------


def test_the_api_lists_and_shows_only_visible_cases(
    login: Login, employee: User, outsider: User, case: Case
) -> None:
    client = login(employee)
    listing = client.get(reverse("crm-api:case-list"), {"status": "active"})
    assert listing.status_code == 200
    assert [row["number"] for row in listing.json()["results"]] == [case.number]
    detail = client.get(reverse("crm-api:case-detail", args=[case.pk])).json()
    assert detail["sla"] == "running" and detail["status"] == "new"
    client.logout()
    other = login(outsider)
    assert other.get(reverse("crm-api:case-list")).json()["results"] == []
    assert other.get(reverse("crm-api:case-detail", args=[case.pk])).status_code == 404
    answer = other.post(
        reverse("crm-api:case-transition", args=[case.pk]),
        {"step": "respond"},
        content_type="application/json",
    )
    assert answer.status_code == 404 and Case.objects.get(pk=case.pk).status == CaseStatus.NEW


def test_the_api_opens_a_case(login: Login, employee: User, case_world: dict[str, Any]) -> None:
    client = login(employee)
    url = reverse("crm-api:case-list")
    made = client.post(
        url,
        {"account": case_world["account"].pk, "subject": "API 工单", "priority": 1},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["channel"] == "api" and body["resolution_due"] and body["sla"] == "running"
    bad = client.post(
        url, {"account": case_world["account"].pk, "subject": ""}, content_type="application/json"
    )
    assert bad.status_code == 400 and "subject" in bad.content.decode()
    assert Case.objects.count() == 1


def test_the_api_refuses_a_bad_step_and_changes_nothing(
    login: Login, employee: User, case: Case
) -> None:
    client = login(employee)
    url = reverse("crm-api:case-transition", args=[case.pk])
    before = state(case.pk)
    refused = client.post(url, {"step": "close"}, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "case_refused"
    unknown = client.post(url, {"step": "fly"}, content_type="application/json")
    assert unknown.status_code == 400
    assert state(case.pk) == before
    done = client.post(
        url, {"step": "resolve", "text": "已更换轴承"}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"


def test_the_api_rates_a_resolved_case_once(login: Login, employee: User, case: Case) -> None:
    client = login(employee)
    url = reverse("crm-api:case-feedback", args=[case.pk])
    assert client.post(url, {"satisfaction": 5}, content_type="application/json").status_code == 409
    services.case_resolve(by=employee, case_id=case.pk)
    assert client.post(url, {"satisfaction": 6}, content_type="application/json").status_code == 400
    ok = client.post(url, {"satisfaction": 5, "comment": "好"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["satisfaction"] == 5
    assert client.post(url, {"satisfaction": 1}, content_type="application/json").status_code == 409


# --- SLA policies ---------------------------------------------------------------------------------


def _sla_post(**values: str) -> dict[str, str]:
    data = {"save": "1"}
    for level in "ABCD":
        data[f"first_{level}"] = ""
        data[f"resolution_{level}"] = ""
    data.update(values)
    return data


def test_sales_admins_change_the_sla_policies(
    login: Login, superuser: User, policies: dict[str, Any]
) -> None:
    english(superuser)
    client = login(superuser)
    url = reverse("crm:sla-policies")
    page = client.get(url)
    assert page.status_code == 200 and 'name="first_A"' in page.content.decode()
    answer = client.post(
        url, _sla_post(first_A="1", resolution_A="6", first_B="4", resolution_B="12")
    )
    assert answer.status_code == 302
    assert {
        p.level: (p.first_response_hours, p.resolution_hours) for p in SlaPolicy.objects.all()
    } == {
        "A": (1, 6),
        "B": (4, 12),
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"first_A": "8", "resolution_A": "4"}, "cannot be due after the resolution"),
        ({"first_A": "2"}, "give both hours, or neither"),
        ({"first_A": "0", "resolution_A": "4"}, "greater than or equal to 1"),
    ],
)
def test_bad_sla_hours_name_the_level_and_change_nothing(
    login: Login,
    superuser: User,
    policies: dict[str, Any],
    values: dict[str, str],
    message: str,
) -> None:
    english(superuser)
    before = list(SlaPolicy.objects.order_by("level").values_list())
    answer = login(superuser).post(reverse("crm:sla-policies"), _sla_post(**values))
    assert answer.status_code == 400 and message in answer.content.decode()
    assert list(SlaPolicy.objects.order_by("level").values_list()) == before


def test_others_read_the_sla_policies_but_may_not_change_them(
    login: Login, employee: User, policies: dict[str, Any]
) -> None:
    client = login(employee)
    page = client.get(reverse("crm:sla-policies"))
    assert page.status_code == 200 and 'name="first_A"' not in page.content.decode()
    before = list(SlaPolicy.objects.order_by("level").values_list())
    refused = client.post(reverse("crm:sla-policies"), _sla_post(first_A="1", resolution_A="2"))
    assert refused.status_code == 403
    assert list(SlaPolicy.objects.order_by("level").values_list()) == before
    with pytest.raises(PermissionDenied):
        services.sla_policies_save(by=employee, hours={"A": (1, 2)})
