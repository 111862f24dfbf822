// Charts drawn by Chart.js (vendored, loaded as the global ``Chart``), each with a table
// of the same numbers for screen readers and for anyone who wants the figures.

import { el, table } from "./dom.js";

export const COLORS = ["#1d4ed8", "#0e9384", "#c4320a", "#7a5af8", "#ca8504", "#475467",
  "#dd2590"];

function chartBox(label, alternative) {
  const canvas = el("canvas", { role: "img", "aria-label": label });
  return {
    canvas,
    node: el("div", {},
      el("div", { class: "chart" }, canvas),
      el("details", { class: "alt" }, el("summary", {}, "Show the numbers as a table"),
        alternative)),
  };
}

function draw(mount, canvas, config) {
  mount(() => {
    const chart = new window.Chart(canvas, {
      ...config,
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { position: "bottom" } },
        ...config.options,
      },
    });
    return () => chart.destroy();
  });
}

// series: [{key, label}] read from each row; x from ``labelKey``.
export function lineChart(mount, { label, rows, labelKey, series }) {
  const columns = [{ key: labelKey, label: "Date" },
    ...series.map((s) => ({ key: s.key, label: s.label, num: true }))];
  const box = chartBox(label, table({ caption: label, columns, rows }));
  draw(mount, box.canvas, {
    type: "line",
    data: {
      labels: rows.map((row) => row[labelKey]),
      datasets: series.map((s, index) => ({
        label: s.label, data: rows.map((row) => row[s.key]), borderColor: COLORS[index],
        backgroundColor: COLORS[index], tension: 0.2, pointRadius: rows.length > 45 ? 0 : 2,
      })),
    },
    options: { interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  return box.node;
}

// bars: [{label, value}], horizontal when ``horizontal``.
export function barChart(mount, { label, bars, horizontal = false, valueLabel = "Count" }) {
  const rows = bars.map((bar) => ({ name: bar.label, value: bar.value }));
  const box = chartBox(label, table({
    caption: label, rows,
    columns: [{ key: "name", label: "" }, { key: "value", label: valueLabel, num: true }],
  }));
  draw(mount, box.canvas, {
    type: "bar",
    data: {
      labels: bars.map((bar) => bar.label),
      datasets: [{ label: valueLabel, data: bars.map((bar) => bar.value),
        backgroundColor: bars.map((_, index) => COLORS[index % COLORS.length]) }],
    },
    options: {
      indexAxis: horizontal ? "y" : "x",
      plugins: { legend: { display: false } },
      scales: { [horizontal ? "x" : "y"]: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  return box.node;
}
