// Apache ECharts for the consoles' charts (the workflow console today; CRM and integration
// consoles the same way). Only what the charts use is bundled (echarts/core: bar charts, a
// grid, tooltips, a legend, the canvas renderer), not the whole library.
//
// A page draws a chart with
//   <div class="chart" data-chart="ID" role="img" aria-label="…"></div>
//   {{ spec|json_script:"ID" }}
// (portal/charts.py builds the spec, templates/portal/partials/_chart.html writes both), and
// includes /static/charts/charts.js: every [data-chart] element is drawn when the page has
// loaded (and again after an htmx swap), and resized with the window. No inline script: the
// spec is JSON in a <script type="application/json">, which the CSP lets through as data.
//
// The spec (all words already in the page's language, written by the server):
//   { kind: "bar" (vertical bars, e.g. per day) | "hbar" (horizontal bars, a row per category),
//     categories: [...], series: [{ name, values: [numbers], labels: [texts] | null }],
//     axis: "{n} h" (the value axis's label, {n} replaced) | "", integer: true|false }
import { use, init, getInstanceByDom } from "echarts/core";
import { BarChart } from "echarts/charts";
import { GridComponent, TooltipComponent, LegendComponent, AriaComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([BarChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

const FALLBACK_COLOURS = ["#1456f0", "#f5a623", "#2ea121", "#d83931"];

function palette() {
  // the portal's colours (static/portal/portal.css :root), so charts match the pages
  const style = getComputedStyle(document.documentElement);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    series: [
      read("--brand", FALLBACK_COLOURS[0]),
      read("--warn", FALLBACK_COLOURS[1]),
      read("--ok", FALLBACK_COLOURS[2]),
      read("--danger", FALLBACK_COLOURS[3]),
    ],
    ink: read("--ink", "#1f2329"),
    muted: read("--muted", "#646a73"),
    line: read("--line", "#dee0e3"),
    font: style.fontFamily || "sans-serif",
  };
}

function specOf(element) {
  const source = document.getElementById(element.dataset.chart);
  if (!source) return null;
  try {
    return JSON.parse(source.textContent);
  } catch {
    return null;
  }
}

function axisText(pattern, value) {
  if (value === 0) return "0";
  const shown = Number.isInteger(value) ? String(value) : String(Math.round(value * 10) / 10);
  return pattern ? pattern.replace("{n}", shown) : shown;
}

function shownValue(series, index) {
  const labels = series.labels;
  return labels && labels[index] != null ? labels[index] : String(series.values[index]);
}

const ROW = 22; // px per bar of a horizontal chart

function heightOf(spec, narrow) {
  if (spec.kind === "hbar") {
    const bars = spec.categories.length * Math.max(spec.series.length, 1);
    return Math.max(120, bars * ROW + spec.categories.length * 10 + (spec.series.length > 1 ? 70 : 40));
  }
  return narrow ? 220 : 260;
}

function optionOf(spec, colours, narrow) {
  const horizontal = spec.kind === "hbar";
  const text = { color: colours.ink, fontFamily: colours.font, fontSize: narrow ? 11 : 12 };
  const valueAxis = {
    type: "value",
    minInterval: spec.integer ? 1 : 0,
    splitNumber: narrow ? 3 : 5,
    axisLabel: {
      ...text,
      color: colours.muted,
      hideOverlap: true,
      formatter: (v) => axisText(spec.axis, v),
    },
    splitLine: { lineStyle: { color: colours.line } },
  };
  const categoryAxis = {
    type: "category",
    data: spec.categories,
    inverse: horizontal, // the first row at the top, as in the table beside
    axisTick: { show: false },
    axisLine: { lineStyle: { color: colours.line } },
    axisLabel: horizontal
      ? { ...text, width: narrow ? 84 : 140, overflow: "truncate" }
      : { ...text, color: colours.muted, hideOverlap: true },
  };
  const several = spec.series.length > 1;
  return {
    color: colours.series,
    textStyle: { fontFamily: colours.font },
    animation: false,
    aria: { enabled: true },
    legend: several ? { top: 0, left: 0, textStyle: text, itemWidth: 12, itemHeight: 12 } : undefined,
    grid: {
      top: several ? 32 : 8,
      bottom: horizontal ? 8 : 4,
      left: 4,
      right: horizontal ? (narrow ? 64 : 90) : 12,
      containLabel: true,
    },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      confine: true,
      formatter: (items) => {
        const rows = (Array.isArray(items) ? items : [items]).map((item) => {
          const series = spec.series[item.seriesIndex];
          return `${item.marker}${escape(series.name)}: ${escape(shownValue(series, item.dataIndex))}`;
        });
        const title = items.length ? escape(items[0].name) : "";
        return [title, ...rows].join("<br>");
      },
    },
    xAxis: horizontal ? valueAxis : categoryAxis,
    yAxis: horizontal ? categoryAxis : valueAxis,
    series: spec.series.map((series) => ({
      type: "bar",
      name: series.name,
      data: series.values,
      barMaxWidth: horizontal ? 16 : 18,
      barGap: "20%",
      label: horizontal
        ? {
            show: true,
            position: "right",
            ...text,
            formatter: (item) => shownValue(series, item.dataIndex),
          }
        : { show: false },
    })),
  };
}

function escape(value) {
  const div = document.createElement("div");
  div.textContent = String(value);
  return div.innerHTML;
}

function draw(element) {
  const spec = specOf(element);
  if (!spec || !Array.isArray(spec.categories) || !Array.isArray(spec.series)) return null;
  const narrow = element.clientWidth < 480;
  element.style.height = `${heightOf(spec, narrow)}px`;
  const chart = getInstanceByDom(element) || init(element, null, { renderer: "canvas" });
  chart.setOption(optionOf(spec, palette(), narrow), true);
  element.dataset.chartDrawn = "true";
  return chart;
}

/** Draw every [data-chart] element under ``root`` (the document by default). */
export function renderAll(root = document) {
  return Array.from(root.querySelectorAll("[data-chart]")).map(draw).filter(Boolean);
}

let pending = 0;
function resizeAll() {
  window.cancelAnimationFrame(pending);
  pending = window.requestAnimationFrame(() => {
    for (const element of document.querySelectorAll("[data-chart]")) {
      const chart = getInstanceByDom(element);
      if (!chart) continue;
      const narrow = element.clientWidth < 480;
      if (narrow !== (element.dataset.chartNarrow === "true")) {
        draw(element); // fonts and margins follow the width
      } else {
        chart.resize();
      }
      element.dataset.chartNarrow = String(narrow);
    }
  });
}

function start() {
  renderAll();
  for (const element of document.querySelectorAll("[data-chart]")) {
    element.dataset.chartNarrow = String(element.clientWidth < 480);
  }
}

window.PortalCharts = { renderAll };
window.addEventListener("resize", resizeAll);
document.addEventListener("htmx:afterSwap", (event) => renderAll(event.target));
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
