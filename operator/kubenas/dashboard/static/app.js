// kubenas dashboard: three pages (experiments, one experiment, one trial) drawn from the
// JSON API and redrawn every few seconds. Text goes in through textContent only, so names
// and messages from the cluster cannot inject markup.
"use strict";

const state = { poll: 3, timer: null, charts: {}, route: null, query: null, axes: [0, 1] };
window.kubenasCharts = state.charts; // tests read the charts' data through getOption()

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(digits).replace(/0+$/, "").replace(/\.$/, "");
  return String(value);
}

function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 120) return `${value.toFixed(1)} s`;
  if (value < 7200) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

function expLink(id) { return `#/exp/${encodeURIComponent(id)}`; }
function trialLink(id, name) { return `${expLink(id)}/trial/${encodeURIComponent(name)}`; }

async function api(path, params) {
  const query = new URLSearchParams(params || {}).toString();
  const response = await fetch(`/api/${path}${query ? "?" + query : ""}`, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function banner(message) {
  const node = document.getElementById("banner");
  node.hidden = !message;
  node.textContent = message || "";
}

function chart(id, option) {
  const node = document.getElementById(id);
  if (!node) return null;
  let instance = state.charts[id];
  if (!instance || instance.getDom() !== node) {
    if (instance) instance.dispose();
    instance = echarts.init(node, null, { renderer: "canvas" });
    state.charts[id] = instance;
  }
  instance.setOption(option, { notMerge: true });
  return instance;
}

function disposeCharts() {
  for (const [id, instance] of Object.entries(state.charts)) { instance.dispose(); delete state.charts[id]; }
}

function phase(value) { return el("span", { class: `phase phase-${value}`, text: value }); }

function progressCell(row) {
  const [done, total] = (row.progress || "0/0").split("/").map(Number);
  const share = total ? Math.min(100, (100 * done) / total) : 0;
  return [el("span", { class: "bar" }, el("span", { style: `width:${share}%` })), row.progress || "–"];
}

// ---- experiments page -------------------------------------------------------------------

async function showExperiments() {
  const data = await api("experiments");
  if (unchanged("experiments", data)) return;
  const rows = data.experiments.map((row) => el("tr", { "data-id": row.id },
    el("td", { "data-field": "name" }, el("a", { href: expLink(row.id), text: row.name })),
    el("td", { "data-field": "namespace", text: row.namespace }),
    el("td", { "data-field": "phase" }, phase(row.phase)),
    el("td", { "data-field": "strategy", text: row.strategy || "–" }),
    el("td", { "data-field": "objective", text: row.objective ? `${row.objective.direction} ${row.objective.metric}` : "–" }),
    el("td", { "data-field": "bestValue", class: "num", text: fmt(row.bestValue) }),
    el("td", { "data-field": "progress" }, progressCell(row)),
    el("td", { "data-field": "running", class: "num", text: fmt((row.trials || {}).running ?? 0) }),
    el("td", { "data-field": "failed", class: "num", text: fmt((row.trials || {}).failed ?? 0) }),
    el("td", { "data-field": "message", text: row.problem || row.message || "" })));
  const table = el("table", { id: "experiments" },
    el("thead", {}, el("tr", {}, ["experiment", "namespace", "phase", "strategy", "objective",
      "best", "progress", "running", "failed", "message"].map((h) => el("th", { text: h })))),
    el("tbody", {}, rows));
  render(el("h1", { text: "Experiments" }),
    rows.length ? table : el("p", { class: "note", text: "No experiments yet." }));
}

// ---- one experiment ---------------------------------------------------------------------

function defaultQuery() { return { sort: "index", order: "asc", q: "", phase: "", page: 1, size: 25 }; }

async function showExperiment(id) {
  if (!state.query || state.query.id !== id) state.query = { id, ...defaultQuery() };
  const [data, page] = await Promise.all([api("overview", { id }), api("trials", trialParams())]);
  const fresh = !document.getElementById("experiment-page") || state.drawn !== id;
  if (unchanged("experiment", [data, page]) && !fresh) return;
  if (fresh) {
    disposeCharts();
    render(experimentSkeleton(data));
    state.drawn = id;
  }
  fillSummary(data.experiment, data);
  drawBestSoFar(data);
  drawPareto(data);
  drawParallel(data);
  drawOps(data);
  drawCurves(data);
  drawOneShot(data);
  fillPromotions(data);
  fillTrials(page);
}

function trialParams() {
  const { id, sort, order, q, phase: p, page, size } = state.query;
  return { id, sort, order, q, phase: p, page, size };
}

function section(id, title, extra, wide) {
  return el("section", { class: wide ? "card wide" : "card", id: `${id}-card` }, el("h2", { text: title }), extra || null,
    el("div", { class: "chart", id }), el("p", { class: "note", id: `${id}-note`, hidden: true }));
}

function experimentSkeleton(data) {
  const exp = data.experiment;
  const axes = data.pareto && data.objectives.length > 2 ? el("span", { class: "controls" },
    ["x", "y"].map((label, k) => el("label", {}, `${label} `, el("select", {
      id: `pareto-${label}`, onchange: (e) => { state.axes[k] = Number(e.target.value); drawPareto(state.last); },
    }, data.objectives.map((o, i) => el("option", { value: i, selected: i === state.axes[k], text: o.metric })))))) : null;
  const charts = [section("chart-best", "Best so far"),
    data.pareto ? section("chart-pareto", "Pareto front", axes) : null,
    section("chart-parallel", "Parallel coordinates (best trials)", null, "wide"),
    section("chart-ops", "Operations by slot among the top trials"),
    section("chart-curves", "Learning curves"),
    data.oneShot ? section("chart-oneshot", `Operation weights of the ${data.oneShot.method} supernet`, null, "wide") : null];
  return el("div", { id: "experiment-page" },
    el("h1", {}, el("a", { href: "#/", text: "Experiments" }), " / ", el("span", { id: "exp-name", text: exp.name })),
    el("dl", { class: "summary", id: "summary" }),
    el("div", { class: "grid" }, charts),
    data.oneShot ? el("section", { class: "card", id: "oneshot-card" }, el("h2", { text: "One-shot candidates, retrained" }),
      el("table", { id: "oneshot-candidates" }, el("thead", {}, el("tr", {}, ["candidate", "architecture", "supernet score",
        "retrain trial", "retrained value"].map((h) => el("th", { text: h })))), el("tbody"))) : null,
    el("section", { class: "card", id: "promotions-card", hidden: true }, el("h2", { text: "Promotions" }),
      el("table", { id: "promotions" }, el("thead", {}, el("tr", {}, ["trial", "budget", "value", "promoted from",
        "parent budget", "parent value"].map((h) => el("th", { text: h })))), el("tbody"))),
    el("section", { class: "card", id: "trials-card" }, el("h2", { text: "Trials" }), trialControls(),
      el("div", { id: "trials-wrap" }), el("div", { class: "pager" },
        el("button", { id: "prev", onclick: () => turn(-1), text: "‹ previous" }),
        el("span", { id: "page-info" }),
        el("button", { id: "next", onclick: () => turn(1), text: "next ›" }))));
}

function trialControls() {
  const q = state.query;
  return el("div", { class: "controls" },
    el("input", { type: "search", id: "filter", placeholder: "filter: name, architecture, reason", value: q.q,
      oninput: debounce((e) => { q.q = e.target.value; q.page = 1; refresh(); }, 300) }),
    el("select", { id: "phase-filter", onchange: (e) => { q.phase = e.target.value; q.page = 1; refresh(); } },
      ["", "Pending", "Running", "Succeeded", "Failed", "Stopped"].map((p) =>
        el("option", { value: p, selected: p === q.phase, text: p || "any phase" }))),
    el("select", { id: "page-size", onchange: (e) => { q.size = Number(e.target.value); q.page = 1; refresh(); } },
      [25, 50, 100, 200].map((n) => el("option", { value: n, selected: n === q.size, text: `${n} a page` }))));
}

// A poll that brings the same data redraws nothing, so tooltips, focus and selections stay.
function unchanged(view, data) {
  const key = view + JSON.stringify(data);
  if (key === state.shown) return true;
  state.shown = key;
  return false;
}

function debounce(fn, ms) {
  let handle = null;
  return (...args) => { clearTimeout(handle); handle = setTimeout(() => fn(...args), ms); };
}

function turn(step) { state.query.page = Math.max(1, state.query.page + step); refresh(); }

function fillSummary(exp, data) {
  const best = data.bestTrial;
  const items = [["phase", phase(exp.phase)], ["reason", [exp.reason, exp.message].filter(Boolean).join(" – ") || "–"],
    ["strategy", exp.strategy || "–"],
    ["objective", data.objectives.map((o) => `${o.direction} ${o.metric}`).join(", ")],
    ["constraints", data.constraints.length ? data.constraints.map((c) =>
      `${c.min !== null ? c.min + " ≤ " : ""}${c.metric}${c.max !== null ? " ≤ " + c.max : ""}`).join(", ") : "none"],
    ["best value", el("span", { id: "best-value", text: fmt(exp.bestValue) })],
    ["best trial", exp.bestTrial ? el("a", { id: "best-trial", href: trialLink(exp.id, exp.bestTrial), text: exp.bestTrial }) : "–"],
    ["best architecture", best ? el("code", { id: "best-arch", text: JSON.stringify(best.architecture) }) : "–"],
    ["progress", el("span", { id: "progress" }, progressCell(exp))],
    ["trials", Object.entries(exp.trials || {}).map(([k, v]) => `${k} ${v}`).join(", ")]];
  document.getElementById("summary").replaceChildren(...items.flatMap(([k, v]) =>
    [el("dt", { text: k }), el("dd", { "data-field": k.replace(/ /g, "-") }, v)]));
  state.last = data;
}

function note(id, text) {
  const node = document.getElementById(`${id}-note`);
  const box = document.getElementById(id);
  if (!node || !box) return;
  node.hidden = !text;
  node.textContent = text || "";
  box.style.display = text ? "none" : "";
}

function drawBestSoFar(data) {
  const series = data.bestSoFar;
  note("chart-best", series.count ? "" : "No trial has finished yet.");
  if (!series.count) return;
  chart("chart-best", {
    animation: false, tooltip: { trigger: "item", formatter: (p) => `${p.data[2]}<br>${fmt(p.data[1])} at ${seconds(p.data[0])}` },
    legend: { data: ["trial", "infeasible", "best so far"], top: 0, right: 10 }, grid: { left: 60, right: 20, top: 40, bottom: 45 },
    xAxis: { type: "value", name: data.timeUnit, nameLocation: "middle", nameGap: 25 },
    yAxis: { type: "value", name: series.metric, scale: true },
    series: [{ name: "trial", type: "scatter", symbolSize: 5, large: true, largeThreshold: 500, data: series.points.filter((p) => p[3]), itemStyle: { opacity: 0.55 } },
      { name: "infeasible", type: "scatter", symbolSize: 5, data: series.points.filter((p) => !p[3]), itemStyle: { color: "#bbb" } },
      { name: "best so far", type: "line", step: "end", symbol: "none", data: series.best, lineStyle: { width: 2 } }],
  });
}

function drawPareto(data) {
  const view = data.pareto;
  if (!view) return;
  note("chart-pareto", view.points.length ? "" : "No trial with every objective yet.");
  if (!view.points.length) return;
  const [i, j] = state.axes.map((k) => Math.min(k, view.metrics.length - 1));
  const point = (p) => ({ name: p.name, value: [p.values[i], p.values[j]] });
  const front = view.points.filter((p) => p.front).map(point).sort((a, b) => a.value[0] - b.value[0]);
  chart("chart-pareto", {
    animation: false, tooltip: { trigger: "item", formatter: (p) => `${p.name}<br>${view.metrics[i]} ${fmt(p.value[0])}<br>${view.metrics[j]} ${fmt(p.value[1])}` },
    legend: { data: ["front", "feasible", "infeasible"], top: 0, right: 10 }, grid: { left: 60, right: 20, top: 40, bottom: 45 },
    xAxis: { type: "value", name: view.metrics[i], scale: true, nameLocation: "middle", nameGap: 25 },
    yAxis: { type: "value", name: view.metrics[j], scale: true },
    series: [
      { name: "feasible", type: "scatter", symbolSize: 6, data: view.points.filter((p) => p.feasible && !p.front).map(point) },
      { name: "infeasible", type: "scatter", symbolSize: 6, itemStyle: { color: "#bbb" }, data: view.points.filter((p) => !p.feasible).map(point) },
      { name: "front", type: view.metrics.length === 2 ? "line" : "scatter", symbolSize: 9, data: front, itemStyle: { color: "#cf222e" } }],
  });
}

function drawParallel(data) {
  const view = data.parallel;
  note("chart-parallel", view.rows.length ? "" : "No succeeded trial yet.");
  if (!view.rows.length) return;
  const objective = view.dimensions.findIndex((d) => d.objective);
  const values = view.rows.map((r) => r.value[objective]).filter((v) => v !== null);
  chart("chart-parallel", {
    animation: false, parallel: { left: 50, right: 70, top: 30, bottom: 55 },
    parallelAxisDefault: { nameTextStyle: { fontSize: 11 }, axisLabel: { fontSize: 10, width: 70, overflow: "truncate" } },
    parallelAxis: view.dimensions.map((d, k) => d.type === "category"
      ? { dim: k, name: d.name, type: "category", data: d.data }
      : { dim: k, name: d.name, type: d.log ? "log" : "value", scale: true, inverse: d.objective === "minimize" }),
    // Colour by the primary objective, darker is better.
    visualMap: { type: "continuous", dimension: objective, min: Math.min(...values), max: Math.max(...values),
      orient: "horizontal", left: "center", bottom: 0, itemHeight: 160, calculable: true,
      inRange: { color: data.objectives[0].direction === "minimize" ? ["#0969da", "#d0d7de"] : ["#d0d7de", "#0969da"] },
      text: [data.objectives[0].metric, ""] },
    series: [{ type: "parallel", lineStyle: { width: 1, opacity: 0.5 }, data: view.rows.map((r) => ({ name: r.name, value: r.value })) }],
  });
}

function drawOps(data) {
  const view = data.opFrequency;
  note("chart-ops", view.counts.length ? "" : "No succeeded trial with choice parameters yet.");
  if (!view.counts.length) return;
  chart("chart-ops", {
    animation: false, tooltip: { formatter: (p) => `${view.slots[p.data[0]]} = ${view.values[p.data[1]]}: ${p.data[2]} of ${view.trials.length}` },
    grid: { left: 110, right: 20, top: 20, bottom: 70 },
    xAxis: { type: "category", data: view.slots, axisLabel: { rotate: 30 } },
    yAxis: { type: "category", data: view.values },
    visualMap: { min: 0, max: view.trials.length, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120,
      inRange: { color: ["#f6f8fa", "#0969da"] } },
    series: [{ type: "heatmap", data: view.counts, label: { show: true } }],
  });
}

// A one-shot search: the supernet's weight (or spos's sampling frequency) of each op in each
// slot, the derived op outlined, on a colour scale from the smallest weight to the largest
// (after a short search they sit close to uniform).
function drawOneShot(data) {
  const view = data.oneShot;
  if (!view) return;
  fillCandidates(view);
  note("chart-oneshot", view.weights.length ? "" : `No weights yet: the supernet trial ${view.trial || ""} is ${(view.phase || "pending").toLowerCase()}.`);
  if (!view.weights.length) return;
  const kind = view.weightKind === "frequency" ? "sampling frequency" : "probability";
  const values = view.weights.map((w) => w[2]);
  const derived = (w) => view.derived[w[0]] === view.ops[w[1]];
  chart("chart-oneshot", {
    animation: false,
    tooltip: { formatter: (p) => `${view.slots[p.value[0]]} = ${view.ops[p.value[1]]}: ${kind} ${fmt(p.value[2])}${derived(p.value) ? " (derived)" : ""}` },
    grid: { left: 110, right: 20, top: 20, bottom: 70 },
    xAxis: { type: "category", data: view.slots },
    yAxis: { type: "category", data: view.ops },
    visualMap: { min: Math.min(...values), max: Math.max(...values), precision: 4, orient: "horizontal", left: "center", bottom: 0,
      itemHeight: 120, inRange: { color: ["#f6f8fa", "#8250df"] } },
    series: [{ type: "heatmap", label: { show: true, formatter: (p) => fmt(p.value[2]) },
      data: view.weights.map((w) => derived(w) ? { value: w, itemStyle: { borderColor: "#cf222e", borderWidth: 2 } } : { value: w }) }],
  });
}

function fillCandidates(view) {
  const body = document.querySelector("#oneshot-candidates tbody");
  if (!body) return;
  const id = state.query.id;
  body.replaceChildren(...view.candidates.map((c, i) => el("tr", { "data-trial": c.trial || "" },
    el("td", { "data-field": "candidate", class: "num", text: i + 1 }),
    el("td", { "data-field": "architecture" }, el("code", { text: JSON.stringify(view.parameter && c.architecture ? c.architecture[view.parameter] : c.architecture) })),
    el("td", { "data-field": "score", class: "num", text: fmt(c.score) }),
    el("td", { "data-field": "trial" }, c.trial ? el("a", { href: trialLink(id, c.trial), text: c.trial }) : "–"),
    el("td", { "data-field": "value", class: "num", text: fmt(c.value) }))));
}

function drawCurves(data) {
  const view = data.curves;
  note("chart-curves", view.series.length ? "" : "No learning curves recorded (tabular runs have none; trainers report one point per epoch).");
  if (!view.series.length) return;
  const byName = Object.fromEntries(view.series.map((s) => [s.name, s]));
  chart("chart-curves", {
    animation: false, tooltip: { trigger: "item", formatter: (p) => `${p.seriesName}<br>epoch ${p.data[0]}: ${fmt(p.data[1])}` },
    legend: { type: "scroll", bottom: 0 }, grid: { left: 60, right: 20, top: 20, bottom: 60 },
    xAxis: { type: "value", name: "epoch", minInterval: 1 }, yAxis: { type: "value", name: view.metric, scale: true },
    series: view.series.map((s) => {
      const parent = s.parent && byName[s.parent];
      // A promotion starts where its parent stopped: draw it from the parent's last point.
      const points = parent && parent.points.length ? [parent.points[parent.points.length - 1], ...s.points] : s.points;
      return { name: s.name, type: "line", data: points, symbolSize: 4, lineStyle: { type: s.parent ? "dashed" : "solid" } };
    }),
  });
}

function fillPromotions(data) {
  const card = document.getElementById("promotions-card");
  card.hidden = !data.promotions.length;
  const id = data.experiment.id;
  card.querySelector("tbody").replaceChildren(...data.promotions.map((p) => el("tr", { "data-trial": p.name },
    el("td", {}, el("a", { href: trialLink(id, p.name), text: p.name })), el("td", { class: "num", text: fmt(p.budget) }),
    el("td", { class: "num", text: fmt(p.value) }), el("td", {}, el("a", { href: trialLink(id, p.parent), text: p.parent })),
    el("td", { class: "num", text: fmt(p.parentBudget) }), el("td", { class: "num", text: fmt(p.parentValue) }))));
}

function fillTrials(page) {
  const q = state.query;
  q.page = page.page;
  const others = page.metrics.filter((m) => m !== page.objective);
  const columns = [["name", "trial", "name"], ["phase", "phase", "phase"], ["budget", "budget", "budget"],
    ["value", page.objective, "value"], ...others.map((m) => [null, m, `metric:${m}`]),
    ["epochs", "epochs", null], [null, "architecture", "architecture"], [null, "reason", "reason"],
    ["duration", "duration", "duration"], [null, "parent", "parent"]];
  const head = el("tr", {}, columns.map(([sort, label]) => {
    const sorted = sort && sort === q.sort ? `sorted-${q.order}` : null;
    return el("th", { "data-sort": sort === "epochs" ? null : sort, class: sorted, text: label,
      onclick: sort && sort !== "epochs" ? () => { q.order = q.sort === sort && q.order === "asc" ? "desc" : "asc"; q.sort = sort; q.page = 1; refresh(); } : null });
  }));
  const id = q.id;
  const body = page.rows.map((r) => el("tr", { "data-trial": r.name },
    el("td", { "data-field": "name" }, el("a", { href: trialLink(id, r.name), text: r.name })),
    el("td", { "data-field": "phase" }, phase(r.phase)),
    el("td", { "data-field": "budget", class: "num", text: fmt(r.budget) }),
    el("td", { "data-field": "value", class: "num", text: fmt(r.value) }),
    others.map((m) => el("td", { "data-field": `metric:${m}`, class: "num", text: fmt(r.metrics[m]) })),
    el("td", { "data-field": "epochs", class: "num", text: fmt(r.epochs) }),
    el("td", { "data-field": "architecture", class: "arch", text: JSON.stringify(r.architecture) }),
    el("td", { "data-field": "reason", text: [r.reason, r.message].filter(Boolean).join(": ") }),
    el("td", { "data-field": "duration", class: "num", text: seconds(r.duration) }),
    el("td", { "data-field": "parent" }, r.parent ? el("a", { href: trialLink(id, r.parent), text: r.parent }) : "")));
  document.getElementById("trials-wrap").replaceChildren(
    el("table", { id: "trials" }, el("thead", {}, head), el("tbody", {}, body)));
  document.getElementById("page-info").textContent =
    `page ${page.page} of ${page.pages} · ${page.matched} of ${page.total} trials`;
  document.getElementById("prev").disabled = page.page <= 1;
  document.getElementById("next").disabled = page.page >= page.pages;
}

// ---- one trial --------------------------------------------------------------------------

async function showTrial(id, name) {
  const data = await api("trial", { id, name });
  const t = data.trial;
  const fresh = !document.getElementById("trial-page") || state.drawn !== `${id}/${name}`;
  if (unchanged("trial", data) && !fresh) return;
  if (fresh) {
    disposeCharts();
    render(el("div", { id: "trial-page" },
      el("h1", {}, el("a", { href: "#/", text: "Experiments" }), " / ",
        el("a", { href: expLink(id), text: data.experiment.name }), " / ", el("span", { id: "trial-name", text: t.name })),
      el("div", { class: "grid" },
        el("section", { class: "card" }, el("h2", { text: "Trial" }), el("dl", { class: "summary", id: "trial-fields" })),
        el("section", { class: "card" }, el("h2", { text: "Network" }), el("div", { id: "rendering" })),
        section("chart-trial-curve", "Learning curve"))));
    state.drawn = `${id}/${name}`;
  }
  const link = (n) => el("a", { href: trialLink(id, n), text: n });
  const fields = [["phase", phase(t.phase)], ["budget", fmt(t.budget)], ["rung", fmt(t.rung)],
    ["value", fmt(t.value)], ["metrics", Object.entries(t.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(", ") || "–"],
    ["reason", [t.reason, t.message].filter(Boolean).join(": ") || "–"], ["duration", seconds(t.duration)],
    ["attempt", fmt(t.attempt)], ["epochs", fmt(t.epochs)],
    ["promoted from", data.ancestors.length ? data.ancestors.map(link).flatMap((a, k) => (k ? [" ← ", a] : [a])) : "–"],
    ["promoted to", data.children.length ? data.children.map(link).flatMap((a, k) => (k ? [", ", a] : [a])) : "–"],
    ["architecture", el("code", { id: "trial-arch", text: JSON.stringify(t.architecture) })]];
  document.getElementById("trial-fields").replaceChildren(...fields.flatMap(([k, v]) =>
    [el("dt", { text: k }), el("dd", { "data-field": k.replace(/ /g, "-") }, v)]));
  document.getElementById("rendering").replaceChildren(drawNetwork(data.rendering));
  note("chart-trial-curve", data.curve.length ? "" : "No learning curve recorded for this trial.");
  if (data.curve.length) {
    chart("chart-trial-curve", {
      animation: false, tooltip: { trigger: "axis" }, grid: { left: 60, right: 20, top: 20, bottom: 40 },
      xAxis: { type: "value", name: "epoch", minInterval: 1 }, yAxis: { type: "value", scale: true },
      series: [{ name: t.name, type: "line", data: data.curve }],
    });
  }
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function drawNetwork(view) {
  const settings = Object.entries(view.settings || {});
  const extra = settings.length ? el("p", { class: "note", id: "settings",
    text: settings.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ") }) : null;
  if (view.kind === "cell") {
    const gap = 150, width = gap * (view.nodes - 1) + 80, height = 60 + 45 * (view.nodes - 1);
    const x = (i) => 40 + gap * i, y = height - 30;
    const edges = view.edges.map((e) => {
      const lift = 30 + 35 * (e.to - e.from - 1), mid = (x(e.from) + x(e.to)) / 2;
      return svg("g", { class: `edge${e.op === view.zeroOp ? " zero" : ""}`, "data-from": e.from, "data-to": e.to, "data-op": e.op },
        svg("path", { d: `M${x(e.from)},${y} Q${mid},${y - 2 * lift} ${x(e.to)},${y}` }),
        svg("text", { x: mid, y: y - lift - 4, "text-anchor": "middle" }, e.op));
    });
    const nodes = Array.from({ length: view.nodes }, (_, i) => svg("g", { class: "node", "data-node": i },
      svg("circle", { cx: x(i), cy: y, r: 14 }), svg("text", { x: x(i), y: y + 4, "text-anchor": "middle" }, String(i))));
    return el("div", {}, svg("svg", { id: "cell", width, height, viewBox: `0 0 ${width} ${height}` }, ...edges, ...nodes),
      el("p", { class: "note", text: `node 0 is the cell's input, node ${view.nodes - 1} its output; dashed edges are ${view.zeroOp} (no connection)` }), extra);
  }
  return el("div", {}, el("div", { class: "layers", id: "layers" },
    el("div", { class: "layer io", text: "input" }),
    view.layers.map((layer, i) => el("div", { class: "layer", "data-index": i },
      el("strong", { text: `layer ${i + 1}` }), " ", Object.entries(layer).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", "))),
    el("div", { class: "layer io", text: "output" })), extra);
}

// ---- routing and polling ----------------------------------------------------------------

function render(...nodes) { document.getElementById("app").replaceChildren(...nodes); }

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "exp" && parts.length >= 2) {
    return parts[2] === "trial" && parts.length >= 4 ? { page: "trial", id: parts[1], name: parts[3] } : { page: "experiment", id: parts[1] };
  }
  return { page: "experiments" };
}

let busy = false, again = false;
async function refresh() {
  if (busy) { again = true; return; } // a change made during a load is drawn right after it
  busy = true;
  const route = parseRoute();
  try {
    if (!state.source) {
      const about = await api("experiments");
      state.source = about.source;
      state.poll = about.pollSeconds || state.poll;
      document.getElementById("source").textContent = about.source;
    }
    if (route.page === "trial") await showTrial(route.id, route.name);
    else if (route.page === "experiment") await showExperiment(route.id);
    else { state.drawn = null; disposeCharts(); await showExperiments(); }
    banner("");
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    banner(`Cannot load this view: ${error.message}`);
  } finally {
    busy = false;
  }
  if (again) { again = false; return refresh(); }
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, state.poll * 1000);
}

window.addEventListener("hashchange", () => { state.drawn = null; state.shown = null; refresh(); });
window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
refresh();
