"""The analysis pages as each persona: every tab renders in Chinese with its charts' JSON and
its table, in a bounded number of queries; a salesperson sees their own figures, their
manager the department's, an outsider nothing; every list exports as Excel and CSV; bad
filters are field errors and the page still renders."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from crm.models import AccountLevel, Case, Lead, LeadStatus, Opportunity, Stage
from crm.views import analysis as views
from portal.models import User
from tests.crm import sales_fixtures as make
from tests.crm.cases_fixtures import make_account
from tests.factories import english

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
TABS = ["sales", "pipeline", "funnel", "win-rate", "rfm", "sla"]
PERIOD = {"start": "2026-01-01", "end": "2026-12-31"}


def on(month: int, day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=SH)


def won(account: Any, amount: str, at: datetime.datetime, stage: str = Stage.WON) -> Opportunity:
    found = make.opportunity(account, stage=stage, amount=amount)
    Opportunity.objects.filter(pk=found.pk).update(
        closed_at=at, created_at=at - datetime.timedelta(days=8)
    )
    return found


@pytest.fixture
def sales(employee: User, colleague: User) -> dict[str, Any]:
    """The employee's customers 星辰 (two wins, one lost) and 恒信 (one win, a case), an open
    opportunity and a converted lead; the colleague's 远航 (one win)."""
    mine = make.account(employee, name="上海星辰科技有限公司")
    other = make_account(employee, name="恒信精密", level=AccountLevel.STRATEGIC, code="HX1")
    theirs = make.account(colleague, name="远航物流有限公司")
    first = won(mine, "120000", on(3, 10))
    won(mine, "30000", on(8, 1))
    won(mine, "5000", on(8, 2), stage=Stage.LOST)
    won(other, "8000", on(11, 5))
    won(theirs, "99999", on(4, 1))
    make.opportunity(mine, stage=Stage.PROPOSAL, amount="40000", probability=50)
    Lead.objects.create(
        company="星辰",
        owner=employee,
        status=LeadStatus.CONVERTED,
        converted_opportunity=first,
        created_at=on(2, 1),
    )
    opened = on(6, 1, hour=9)
    Case.objects.create(
        number="CS1",
        account=other,
        subject="故障",
        opened_at=opened,
        first_response_due=opened + datetime.timedelta(hours=2),
        resolution_due=opened + datetime.timedelta(hours=8),
        first_responded_at=opened + datetime.timedelta(hours=1),
        resolved_at=opened + datetime.timedelta(hours=9),
    )
    return {"mine": mine, "other": other, "theirs": theirs}


def _url(name: str, **query: str) -> str:
    address = reverse("crm:analysis-page", args=[name])
    return f"{address}?{'&'.join(f'{k}={v}' for k, v in {**PERIOD, **query}.items())}"


def _charts(html: str) -> dict[str, dict[str, Any]]:
    """The page's chart specs by element id (json_script)."""
    found = re.findall(r'<script id="(chart-[\w-]+)" type="application/json">(.*?)</script>', html)
    return {key: json.loads(text) for key, text in found}


def test_every_tab_renders_in_chinese_with_its_charts(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    client = login(employee)
    expected = {
        "sales": {"chart-sales-amount", "chart-sales-count"},
        "pipeline": {"chart-pipeline"},
        "funnel": {"chart-funnel"},
        "win-rate": {
            "chart-win-rate-owners",
            "chart-cycle-owners",
            "chart-win-rate-departments",
            "chart-cycle-departments",
        },
        "rfm": {"chart-rfm-segments"},
        "sla": {"chart-sla-counts", "chart-sla-rates"},
    }
    for name in TABS:
        response = client.get(_url(name))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert 'lang="zh-hans"' in html
        assert "导出" in html  # the export links, in Chinese
        assert set(_charts(html)) == expected[name], name
        assert 'class="tablewrap"' in html


def test_the_overview_opens_on_sales_by_month(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    response = login(employee).get(reverse("crm:analysis"), PERIOD)
    assert response.status_code == 200
    chart = _charts(response.content.decode())["chart-sales-amount"]
    assert chart["kind"] == "bar"
    assert len(chart["categories"]) == 12
    assert chart["categories"][2] == "2026-03"
    assert chart["series"][0]["values"][2] == 120000.0
    assert chart["series"][0]["values"][7] == 30000.0  # August: the lost one counts nowhere
    assert chart["series"][0]["values"][3] == 0.0  # the colleague's April win is not seen


def test_sales_chart_of_the_manager_includes_the_department(
    dept_head: User, sales: dict[str, Any], login: Login
) -> None:
    response = login(dept_head).get(_url("sales"))
    chart = _charts(response.content.decode())["chart-sales-amount"]
    assert chart["series"][0]["values"][3] == 99999.0


def test_a_salesperson_sees_only_their_accounts(
    employee: User, dept_head: User, outsider: User, sales: dict[str, Any], login: Login
) -> None:
    html = login(employee).get(_url("rfm")).content.decode()
    assert "上海星辰科技有限公司" in html and "恒信精密" in html
    assert "远航物流有限公司" not in html
    html = login(dept_head).get(_url("rfm")).content.decode()
    assert "远航物流有限公司" in html
    html = login(outsider).get(_url("rfm")).content.decode()
    assert "上海星辰科技有限公司" not in html
    assert "远航物流有限公司" not in html
    segments = _charts(html)["chart-rfm-segments"]
    assert sum(segments["series"][0]["values"]) == 0


def test_the_owner_filter_offers_only_visible_people(
    employee: User, colleague: User, sales: dict[str, Any], login: Login
) -> None:
    response = login(employee).get(_url("sales", owner=str(colleague.pk)))
    assert response.status_code == 400
    html = response.content.decode()
    assert "王芳" not in html
    assert "选择一个有效的选项" in html  # Django's own message, in Chinese
    assert _charts(html)["chart-sales-amount"]["series"][0]["values"][2] == 120000.0


def test_a_manager_filters_by_owner_and_department(
    dept_head: User, colleague: User, org: dict[str, Any], sales: dict[str, Any], login: Login
) -> None:
    client = login(dept_head)
    html = client.get(_url("rfm", owner=str(colleague.pk))).content.decode()
    assert "远航物流有限公司" in html and "上海星辰科技有限公司" not in html
    html = client.get(_url("sales", department=str(org["east"].pk))).content.decode()
    assert _charts(html)["chart-sales-amount"]["series"][0]["values"][3] == 99999.0
    response = client.get(_url("sales", department=str(org["finance"].pk)))
    assert response.status_code == 400  # 财务部 is not the head's to choose


def test_a_bad_date_is_a_field_error_and_the_page_renders(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    response = login(employee).get(
        reverse("crm:analysis-page", args=["pipeline"]), {"start": "2026-13-45"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "有效的日期" in html
    assert "chart-pipeline" in html
    assert 'data-stage="proposal"' in html


def test_an_end_before_the_start_is_refused_in_english(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    english(employee)
    response = login(employee).get(
        reverse("crm:analysis-page", args=["sales"]), {"start": "2026-05-01", "end": "2026-04-01"}
    )
    assert response.status_code == 400
    assert "The end of the period is before its start." in response.content.decode()
    # the default period (the last twelve months) is shown instead
    assert len(_charts(response.content.decode())["chart-sales-amount"]["categories"]) == 12


def test_a_period_longer_than_three_years_is_refused(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    english(employee)
    response = login(employee).get(
        reverse("crm:analysis-page", args=["sales"]), {"start": "2020-01-01", "end": "2026-01-01"}
    )
    assert response.status_code == 400
    assert "at most 36 months" in response.content.decode()


def test_an_unknown_analysis_is_404_and_anonymous_goes_to_the_login(
    employee: User, login: Login, client: Client
) -> None:
    assert client.get(reverse("crm:analysis")).status_code == 302
    assert client.get(reverse("crm:analysis-export", args=["rfm"])).status_code == 302
    client = login(employee)
    assert client.get(reverse("crm:analysis-page", args=["nothing"])).status_code == 404
    assert client.get(reverse("crm:analysis-export", args=["nothing"])).status_code == 404


def test_every_page_in_a_bounded_number_of_queries(
    dept_head: User,
    sales: dict[str, Any],
    login: Login,
    org: dict[str, Any],
    django_assert_max_num_queries: Any,
) -> None:
    client = login(dept_head)
    for name in TABS:
        with django_assert_max_num_queries(12):
            assert client.get(_url(name, department=str(org["sales"].pk))).status_code == 200


def _xlsx(response: Any) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _csv(response: Any) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_rfm_exports_as_excel_and_csv(employee: User, sales: dict[str, Any], login: Login) -> None:
    english(employee)
    client = login(employee)
    address = reverse("crm:analysis-export", args=["rfm"])
    response = client.get(address, PERIOD)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx(response)
    assert rows[0] == (
        "customer code",
        "account",
        "customer level",
        "last won",
        "days since",
        "won",
        "won amount",
        "R",
        "F",
        "M",
        "segment",
    )
    # 星辰: last won 08-01, two wins, 150 000; 恒信: 11-05, one win, 8 000
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"上海星辰科技有限公司", "恒信精密"}
    xingchen = by_name["上海星辰科技有限公司"]
    assert xingchen[10] == "important customers to retain"
    # two accounts: the better gets 1 + 5 × (2 − 1) ÷ 2 = 3, the other 1 (means 2)
    assert xingchen[4:10] == (152, 2, 150000, 1, 3, 3)
    assert by_name["恒信精密"][7:11] == (3, 1, 1, "general customers to develop")
    lines = _csv(client.get(address, {**PERIOD, "format": "csv"}))
    assert lines[0][0] == "customer code"
    assert lines[1][1] == "上海星辰科技有限公司"


def test_every_list_exports(employee: User, sales: dict[str, Any], login: Login) -> None:
    english(employee)
    client = login(employee)
    first_headers = {
        "sales": "month",
        "pipeline": "stage",
        "funnel": "step",
        "win-rate": "owner",
        "rfm": "customer code",
        "sla": "month",
    }
    for name, header in first_headers.items():
        response = client.get(reverse("crm:analysis-export", args=[name]), PERIOD)
        assert response.status_code == 200, name
        assert _xlsx(response)[0][0] == header, name
        assert _csv(client.get(reverse("crm:analysis-export", args=[name]), {"format": "csv"}))


def test_sales_and_win_rate_exports_hold_the_figures(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    english(employee)
    client = login(employee)
    rows = _xlsx(client.get(reverse("crm:analysis-export", args=["sales"]), PERIOD))
    assert len(rows) == 13
    assert rows[3] == ("2026-03", 1, 120000)
    assert rows[4] == ("2026-04", 0, 0)
    lines = _csv(
        client.get(reverse("crm:analysis-export", args=["win-rate"]), {**PERIOD, "format": "csv"})
    )
    assert lines[1][:4] == ["张伟", "3", "1", "75.0%"]
    assert lines[1][5:] == ["8.0", "8.0"]
    rows = _xlsx(
        client.get(
            reverse("crm:analysis-export", args=["win-rate"]), {**PERIOD, "by": "department"}
        )
    )
    assert rows[0][0] == "department"
    assert rows[1][:4] == ("华东区", 3, 1, 0.75)


def test_sla_and_funnel_exports_hold_the_figures(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    english(employee)
    client = login(employee)
    rows = _xlsx(client.get(reverse("crm:analysis-export", args=["sla"]), PERIOD))
    assert rows[1] == ("2026-06", "A · strategic", 1, 1, 0, 1, 0, 1, 0)
    lines = _csv(
        client.get(reverse("crm:analysis-export", args=["funnel"]), {**PERIOD, "format": "csv"})
    )
    assert [line[1] for line in lines[1:]] == ["1", "1", "1", "1", "1"]
    assert lines[2][2:] == ["100.0%", "100.0%"]
    assert lines[1][2] == ""  # the first step has no step before


def test_an_export_with_bad_filters_answers_the_page(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    response = login(employee).get(
        reverse("crm:analysis-export", args=["sales"]), {"start": "nonsense"}
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "有效的日期" in response.content.decode()


def test_the_outsiders_export_is_empty(outsider: User, sales: dict[str, Any], login: Login) -> None:
    english(outsider)
    rows = _xlsx(login(outsider).get(reverse("crm:analysis-export", args=["rfm"]), PERIOD))
    assert len(rows) == 1  # the header only


def test_the_rfm_list_pages_with_its_filters(
    dept_head: User, sales: dict[str, Any], login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "RFM_PAGE", 2)
    client = login(dept_head)
    html = client.get(_url("rfm")).content.decode()
    assert html.count("data-account=") == 2
    assert "start=2026-01-01&amp;end=2026-12-31&amp;page=2" in html
    html = client.get(_url("rfm", page="2")).content.decode()
    assert html.count("data-account=") == 1


def test_the_export_links_carry_the_filters(
    employee: User, sales: dict[str, Any], login: Login
) -> None:
    html = login(employee).get(_url("win-rate")).content.decode()
    export = reverse("crm:analysis-export", args=["win-rate"])
    assert f"{export}?start=2026-01-01&amp;end=2026-12-31&amp;format=csv" in html
    assert f"{export}?start=2026-01-01&amp;end=2026-12-31&amp;by=department&amp;format=xlsx" in html
