"""The CRM's analysis pages (客户分析): a tab per analysis, each with its chart(s) and the
table of the same numbers beneath, and every list as Excel or CSV.

- ``analysis/`` the overview: the tabs, opening on sales by month;
- ``analysis/<name>/`` one analysis: ``sales`` (by month), ``pipeline`` (by stage),
  ``funnel`` (lead → opportunity → won), ``win-rate`` (by owner and by department),
  ``rfm`` (customer value; the accounts paged), ``sla`` (case SLA attainment);
- ``analysis/<name>/export/`` its list as ``.xlsx`` (``?format=csv``: CSV); ``win-rate``
  by department with ``?by=department``.

Who: everyone who may use the sales pages (signed in), over what they may see
(``crm.selectors.analysis``). Filters: period, department, owner (``?start=&end=&department=
&owner=``); a bad value is a field error in the reader's language, and the page still shows
the analysis for the values that are good (an export answers the page with the errors, 400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from crm.forms_analysis import AnalysisFilterForm
from crm.selectors import analysis as selectors
from crm.selectors.analysis import Scope
from portal.charts import ChartSpec, Series, count_chart, duration_chart
from portal.exports import Column, Sheet, sheet_response, take
from portal.http import signed_in
from portal.models import Department, User

RFM_PAGE = 50
DAY_SECONDS = 86400

TABS: dict[str, Any] = {
    "sales": gettext_lazy("Sales by month"),
    "pipeline": gettext_lazy("Pipeline by stage"),
    "funnel": gettext_lazy("Conversion funnel"),
    "win-rate": gettext_lazy("Win rate and cycle"),
    "rfm": gettext_lazy("Customer value (RFM)"),
    "sla": gettext_lazy("Case SLA attainment"),
}


@dataclass(frozen=True)
class Filters:
    """The filter form as the person filled it in, the scope its good values give, and what
    the person sees (read once for the page)."""

    form: AnalysisFilterForm
    scope: Scope
    seen: selectors.Seen

    @property
    def bad(self) -> bool:
        return bool(self.form.is_bound and self.form.errors)


def _filters(request: HttpRequest, user: User) -> Filters:
    """The form (choices: the owners and departments ``user`` sees) and the scope: the good
    values, the defaults for the rest."""
    seen = selectors.Seen(user)
    data = request.GET.copy()
    for name in ("page", "format", "by"):
        data.pop(name, None)
    departments = {d.pk: d for d in selectors.departments_for_filter(seen)}
    form = AnalysisFilterForm(
        data or None,
        owners=selectors.owners_for_filter(seen),
        departments=[(pk, d.display_name) for pk, d in departments.items()],
    )
    first, last = selectors.default_period()
    owner_id: int | None = None
    department: Department | None = None
    if form.is_bound:
        form.is_valid()
        cleaned = form.cleaned_data
        if cleaned.get("start") and cleaned.get("end"):
            first, last = cleaned["start"], cleaned["end"]
        owner_id = cleaned.get("owner")
        department = departments.get(cleaned.get("department") or 0)
    return Filters(form, Scope(first, last, owner_id=owner_id, department=department), seen)


class CountedPaginator(Paginator):  # type: ignore[type-arg]  # generic in the stubs only
    """A paginator told how many rows there are (the RFM summary counted them already)."""

    def __init__(self, rows: Any, per_page: int, *, count: int) -> None:
        super().__init__(rows, per_page)
        self.known = count

    @property
    def count(self) -> int:
        return self.known


def _money_label(value: Any) -> str:
    return f"{value:,.2f}"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _percent_series(name: str, rates: list[float | None]) -> Series:
    return Series(
        name, [round((rate or 0) * 100, 1) for rate in rates], [_percent(rate) for rate in rates]
    )


# --- the analyses: the page's context and the export's sheet -------------------------------------


def _sales(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> dict[str, Any]:
    rows = selectors.sales_by_month(seen, scope)
    months = [f"{row.month:%Y-%m}" for row in rows]
    amount_chart = ChartSpec(
        kind="bar",
        title=_("Won amount per month"),
        categories=months,
        series=[
            Series(
                _("won amount"),
                [float(row.amount) for row in rows],
                [_money_label(row.amount) for row in rows],
            )
        ],
    )
    count_per_month = count_chart(
        _("Opportunities won per month"), months, [(_("won"), [row.count for row in rows])]
    )
    return {
        "rows": rows,
        "charts": [amount_chart, count_per_month],
        "total_count": sum(row.count for row in rows),
        "total_amount": sum((row.amount for row in rows), start=0),
    }


def _sales_sheet(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> Sheet:
    rows = selectors.sales_by_month(seen, scope)
    columns = [Column(_("month")), Column(_("won"), "number"), Column(_("won amount"), "money")]
    lines = [[f"{row.month:%Y-%m}", row.count, row.amount] for row in rows]
    return Sheet(_("Sales by month"), columns, list(lines))


def _pipeline(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> dict[str, Any]:
    rows = selectors.pipeline_by_stage(seen, scope)
    chart = ChartSpec(
        kind="hbar",
        title=_("Open pipeline by stage"),
        categories=[row.label for row in rows],
        series=[
            Series(
                _("amount"),
                [float(row.amount) for row in rows],
                [_money_label(row.amount) for row in rows],
            ),
            Series(
                _("weighted"),
                [float(row.weighted) for row in rows],
                [_money_label(row.weighted) for row in rows],
            ),
        ],
    )
    return {
        "rows": rows,
        "charts": [chart],
        "total_count": sum(row.count for row in rows),
        "total_amount": sum((row.amount for row in rows), start=0),
        "total_weighted": sum((row.weighted for row in rows), start=0),
    }


def _pipeline_sheet(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> Sheet:
    rows = selectors.pipeline_by_stage(seen, scope)
    columns = [
        Column(_("stage")),
        Column(_("opportunities"), "number"),
        Column(_("amount"), "money"),
        Column(_("weighted"), "money"),
    ]
    lines = [[row.label, row.count, row.amount, row.weighted] for row in rows]
    return Sheet(_("Pipeline by stage"), columns, list(lines))


def _funnel(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> dict[str, Any]:
    steps = selectors.funnel(seen, scope)
    chart = count_chart(
        _("Conversion funnel"),
        [step.label for step in steps],
        [(_("count"), [step.count for step in steps])],
        kind="hbar",
    )
    rows = [
        {
            "step": step,
            "step_rate": _percent(step.step_rate),
            "overall": _percent(step.overall_rate),
        }
        for step in steps
    ]
    return {"rows": rows, "charts": [chart]}


def _funnel_sheet(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> Sheet:
    columns = [
        Column(_("step"), width=20),
        Column(_("count"), "number"),
        Column(_("of the step before"), "percent"),
        Column(_("of the leads"), "percent"),
    ]
    lines = [
        [step.label, step.count, step.step_rate, step.overall_rate]
        for step in selectors.funnel(seen, scope)
    ]
    return Sheet(_("Conversion funnel"), columns, list(lines))


def _by(request: HttpRequest) -> str:
    return "department" if request.GET.get("by") == "department" else "owner"


def _win_rate_charts(title: str, rows: list[selectors.WinRateRow]) -> list[ChartSpec]:
    if not rows:
        return []
    rates = ChartSpec(
        kind="hbar",
        title=_("Win rate: %(group)s") % {"group": title},
        categories=[row.label for row in rows],
        series=[_percent_series(_("win rate"), [row.win_rate for row in rows])],
        axis="{n} %",
    )
    cycles = duration_chart(
        _("Days from created to won: %(group)s") % {"group": title},
        [
            (
                row.label,
                [(row.average_days or 0) * DAY_SECONDS, (row.median_days or 0) * DAY_SECONDS],
            )
            for row in rows
        ],
        [_("average"), _("median")],
    )
    return [rates, cycles]


def _win_rate(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> dict[str, Any]:
    rates = selectors.win_rates(seen, scope)
    owners, departments = rates.owners, rates.departments
    query = request.GET.copy()
    for key in ("page", "format", "by"):
        query.pop(key, None)
    query["by"] = "department"
    return {
        "owners": [{"row": row, "rate": _percent(row.win_rate)} for row in owners],
        "departments": [{"row": row, "rate": _percent(row.win_rate)} for row in departments],
        "department_query": query.urlencode(),
        "owner_charts": _win_rate_charts(_("by owner"), owners),
        "department_charts": _win_rate_charts(_("by department"), departments),
    }


def _win_rate_sheet(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> Sheet:
    by = _by(request)
    columns = [
        Column(_("owner") if by == "owner" else _("department"), width=20),
        Column(_("won"), "number"),
        Column(_("lost"), "number"),
        Column(_("win rate"), "percent"),
        Column(_("won amount"), "money"),
        Column(_("average days to win"), "number"),
        Column(_("median days to win"), "number"),
    ]
    lines = [
        [
            row.label,
            row.won,
            row.lost,
            row.win_rate,
            row.won_amount,
            row.average_days,
            row.median_days,
        ]
        for row in getattr(selectors.win_rates(seen, scope), f"{by}s")
    ]
    name = _("Win rate by owner") if by == "owner" else _("Win rate by department")
    return Sheet(name, columns, list(lines))


def _rfm(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> dict[str, Any]:
    summary = selectors.rfm_summary(seen, scope)
    chart = count_chart(
        _("Customers per segment"),
        [segment.label for segment, _count in summary.segments],
        [(_("customers"), [count for _segment, count in summary.segments])],
        kind="hbar",
    )
    rows = selectors.rfm_rows(seen, scope, summary)
    page = CountedPaginator(rows, RFM_PAGE, count=summary.accounts).get_page(
        request.GET.get("page")
    )
    page.object_list = selectors.rfm_page(page.object_list, scope)
    return {"summary": summary, "charts": [chart], "page": page}


def _rfm_sheet(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> Sheet:
    summary = selectors.rfm_summary(seen, scope)
    columns = [
        Column(_("customer code")),
        Column(_("account"), width=30),
        Column(_("customer level")),
        Column(_("last won")),
        Column(_("days since"), "number"),
        Column(_("won"), "number"),
        Column(_("won amount"), "money"),
        Column("R", "number", width=6),
        Column("F", "number", width=6),
        Column("M", "number", width=6),
        Column(_("segment"), width=24),
    ]
    taken, capped = take(
        [
            row.code,
            row.name,
            row.level_label,
            row.last_won,
            row.recency_days,
            row.frequency,
            row.monetary,
            row.r_score,
            row.f_score,
            row.m_score,
            row.segment_label,
        ]
        for row in selectors.rfm_page(selectors.rfm_rows(seen, scope, summary).iterator(), scope)
    )
    return Sheet(_("Customer value"), columns, taken, capped)


def _sla(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> dict[str, Any]:
    by_level, by_month = selectors.sla_attainment(seen, scope)
    months = [f"{row.month:%Y-%m}" for row in by_month]
    met = count_chart(
        _("Resolutions met and breached per month"),
        months,
        [
            (_("met"), [row.resolution_met for row in by_month]),
            (_("breached"), [row.resolution_breached for row in by_month]),
        ],
    )
    attainment = ChartSpec(
        kind="bar",
        title=_("SLA attainment per month"),
        categories=months,
        series=[
            _percent_series(_("first response"), [row.response_rate for row in by_month]),
            _percent_series(_("resolution"), [row.resolution_rate for row in by_month]),
        ],
        axis="{n} %",
    )
    lines = [
        {
            "row": row,
            "response": _percent(row.response_rate),
            "resolution": _percent(row.resolution_rate),
        }
        for row in by_level
    ]
    return {"by_level": lines, "by_month": by_month, "charts": [met, attainment]}


def _sla_sheet(request: HttpRequest, seen: selectors.Seen, scope: Scope) -> Sheet:
    by_level, _by_month = selectors.sla_attainment(seen, scope)
    columns = [
        Column(_("month")),
        Column(_("customer level"), width=16),
        Column(_("cases"), "number"),
        Column(_("first response met"), "number"),
        Column(_("first response breached"), "number"),
        Column(_("first response attainment"), "percent"),
        Column(_("resolution met"), "number"),
        Column(_("resolution breached"), "number"),
        Column(_("resolution attainment"), "percent"),
    ]
    lines = [
        [
            f"{row.month:%Y-%m}",
            row.level_label,
            row.cases,
            row.response_met,
            row.response_breached,
            row.response_rate,
            row.resolution_met,
            row.resolution_breached,
            row.resolution_rate,
        ]
        for row in by_level
    ]
    return Sheet(_("Case SLA attainment"), columns, list(lines))


Build = Callable[[HttpRequest, selectors.Seen, Scope], Any]
ANALYSES: dict[str, tuple[Build, Build]] = {
    "sales": (_sales, _sales_sheet),
    "pipeline": (_pipeline, _pipeline_sheet),
    "funnel": (_funnel, _funnel_sheet),
    "win-rate": (_win_rate, _win_rate_sheet),
    "rfm": (_rfm, _rfm_sheet),
    "sla": (_sla, _sla_sheet),
}


# --- the pages -----------------------------------------------------------------------------------


def _page(request: HttpRequest, name: str, filters: Filters) -> HttpResponse:
    build, _sheet = ANALYSES[name]
    query = request.GET.copy()
    for key in ("page", "format"):
        query.pop(key, None)
    return render(
        request,
        "crm/analysis/page.html",
        {
            "tab": name,
            "tabs": list(TABS.items()),
            "title": TABS[name],
            "template": f"crm/analysis/_{name.replace('-', '_')}.html",
            "filter_form": filters.form,
            "scope": filters.scope,
            "query": query.urlencode(),
            **build(request, filters.seen, filters.scope),
        },
        status=400 if filters.bad else 200,
    )


@login_required
@require_GET
def analysis_overview(request: HttpRequest) -> HttpResponse:
    """The analysis tabs, opening on sales by month."""
    user = signed_in(request)
    return _page(request, "sales", _filters(request, user))


@login_required
@require_GET
def analysis_page(request: HttpRequest, name: str) -> HttpResponse:
    """One analysis with its charts and tables."""
    if name not in ANALYSES:
        raise Http404
    user = signed_in(request)
    return _page(request, name, _filters(request, user))


@login_required
@require_GET
def analysis_export(request: HttpRequest, name: str) -> HttpResponse:
    """One analysis's list as Excel (CSV with ``?format=csv``); bad filters: the page with
    their errors."""
    if name not in ANALYSES:
        raise Http404
    user = signed_in(request)
    filters = _filters(request, user)
    if filters.bad:
        return _page(request, name, filters)
    _build, sheet = ANALYSES[name]
    return sheet_response(sheet(request, filters.seen, filters.scope), request)


urlpatterns: list[URLPattern | URLResolver] = [
    path("analysis/", analysis_overview, name="analysis"),
    path("analysis/<slug:name>/", analysis_page, name="analysis-page"),
    path("analysis/<slug:name>/export/", analysis_export, name="analysis-export"),
]
