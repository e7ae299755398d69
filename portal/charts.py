"""Chart specs for the ECharts bundle (frontend/charts/index.js), and durations in words.

A console builds a :class:`ChartSpec` in its view and writes it with
``templates/portal/partials/_chart.html`` (a ``<div data-chart>`` plus the spec through
``json_script``: data, never an inline script, so the CSP holds); the bundle draws every
such element. Every word in a spec is already in the page's language, so the script
translates nothing.

Durations: :func:`human_duration` writes the two largest units people use (2天3小时,
"2 d 3 h"), and :func:`duration_axis` picks one unit for a chart's value axis so that bars
and labels agree (a bar's length is its value in that unit; its label is the exact words).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext as _

MINUTE, HOUR, DAY = 60, 3600, 86400


def human_duration(seconds: float) -> str:
    """A duration as people read it: "不到 1 秒" / "under 1 s" below a second, then the two
    largest units: 45 秒, 12分钟, 2小时5分钟, 2天3小时 ("2 d 3 h" in English). The smaller
    unit is rounded, and left out when it is 0."""
    if seconds < 1:
        return _("under 1 s") if seconds > 0 else _("%(seconds)d s") % {"seconds": 0}
    total = round(seconds)
    if total < MINUTE:
        return _("%(seconds)d s") % {"seconds": total}
    minutes, rest = divmod(total, MINUTE)
    if minutes < 10 and rest:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest}
    minutes = round(total / MINUTE)
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
        return _("%(hours)d h") % {"hours": hours}
    days, hours = divmod(round(total / HOUR), 24)
    if hours:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    return _("%(days)d d") % {"days": days}


@dataclass(frozen=True)
class DurationAxis:
    """The unit of a duration chart's value axis: values are divided by ``seconds``;
    ``pattern`` labels a tick (``{n}`` is the number)."""

    seconds: int
    pattern: str

    def scale(self, value: float) -> float:
        return round(value / self.seconds, 2)


def duration_axis(largest: float) -> DurationAxis:
    """The unit for a chart whose longest duration is ``largest`` seconds: the largest unit
    that still gives the longest bar at least about 2 of them (sub-second values on a
    seconds axis). Whole seconds decide (a database's date arithmetic may give 7199.9999 for
    two hours)."""
    largest = round(largest)
    if largest >= 2 * DAY:
        return DurationAxis(DAY, _("{n} d"))
    if largest >= 2 * HOUR:
        return DurationAxis(HOUR, _("{n} h"))
    if largest >= 2 * MINUTE:
        return DurationAxis(MINUTE, _("{n} min"))
    return DurationAxis(1, _("{n} s"))


@dataclass(frozen=True)
class Series:
    """One series: a number per category, and optionally the words shown for each (a
    duration's "2天3小时" where the number is 51 on an hours axis)."""

    name: str
    values: Sequence[float]
    labels: Sequence[str] | None = None


@dataclass(frozen=True)
class ChartSpec:
    """What the bundle draws: ``bar`` (vertical bars, a category per column, e.g. days) or
    ``hbar`` (horizontal bars, a category per row, e.g. processes, with each bar's words at
    its end). ``axis`` labels the value axis's ticks (``{n}``); ``integer`` keeps them whole
    (counts)."""

    kind: Literal["bar", "hbar"]
    title: str
    categories: Sequence[str]
    series: Sequence[Series] = field(default_factory=list)
    axis: str = ""
    integer: bool = False

    def as_json(self) -> dict[str, Any]:
        """The spec as ``json_script`` writes it (the title is the element's label)."""
        return {
            "kind": self.kind,
            "categories": [str(c) for c in self.categories],
            "series": [
                {
                    "name": str(s.name),
                    "values": [float(v) for v in s.values],
                    "labels": [str(label) for label in s.labels] if s.labels is not None else None,
                }
                for s in self.series
            ],
            "axis": str(self.axis),
            "integer": self.integer,
        }


def duration_chart(
    title: str, rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str]
) -> ChartSpec:
    """Horizontal bars of durations (seconds): a row per ``(label, values)``, a bar per
    series; the axis in one unit (:func:`duration_axis`), each bar labelled in words."""
    largest = max((v for _label, values in rows for v in values), default=0.0)
    axis = duration_axis(largest)
    return ChartSpec(
        kind="hbar",
        title=title,
        categories=[label for label, _values in rows],
        series=[
            Series(
                name=name,
                values=[axis.scale(values[index]) for _label, values in rows],
                labels=[human_duration(values[index]) for _label, values in rows],
            )
            for index, name in enumerate(series)
        ],
        axis=axis.pattern,
    )


def count_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    kind: Literal["bar", "hbar"] = "bar",
) -> ChartSpec:
    """Bars of counts (whole numbers on the axis)."""
    return ChartSpec(
        kind=kind,
        title=title,
        categories=list(categories),
        series=[Series(name=name, values=[float(v) for v in values]) for name, values in series],
        integer=True,
    )
