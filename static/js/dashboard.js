// The data lead's dashboard: draws the numbers that the page embedded (the same JSON as
// GET /api/projects/{id}/stats) with the vendored Chart.js, and puts each chart's numbers in a
// table under a <details>, so every chart can be read exactly, and without a canvas.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#bab0ac"];
  const METRICS = { krippendorff_alpha: "Krippendorff's α", cohen_kappa: "Cohen's κ (pairs)",
    fleiss_kappa: "Fleiss' κ", percent: "Percent agreement" };
  const color = (name, i) => (data.label_colors || {})[name] || PALETTE[i % PALETTE.length];
  const fmt = (v) => (v === null || v === undefined ? "–" : Number.isInteger(v) ? String(v) : v.toFixed(3));
  const when = (iso) => {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function numbersTable(columns, rows) {
    const details = el("details");
    details.append(el("summary", "Numbers"));
    const table = el("table", undefined, "table");
    const head = table.createTHead().insertRow();
    columns.forEach((c, i) => head.append(el("th", c, i ? "num" : "")));
    const body = table.createTBody();
    rows.forEach((row) => {
      const tr = body.insertRow();
      row.forEach((v, i) => tr.append(el("td", typeof v === "number" || v === null ? fmt(v) : v, i ? "num" : "")));
    });
    details.append(table);
    return details;
  }

  // One chart: or, without data, the reason in its place (never an empty frame).
  function draw(name, { empty, config, columns, rows, more = [] }) {
    const figure = document.querySelector(`[data-chart="${name}"]`);
    const box = figure.querySelector(".canvas-box");
    if (empty) {
      box.replaceWith(el("p", empty, "empty"));
      figure.dataset.empty = "true";
      return;
    }
    config.options = Object.assign({ animation: false, maintainAspectRatio: false, responsive: true },
      config.options || {});
    new Chart(box.querySelector("canvas"), config);
    figure.append(numbersTable(columns, rows));
    more.forEach((table) => {
      const details = numbersTable(table.columns, table.rows);
      details.querySelector("summary").textContent = table.summary;
      figure.append(details);
    });
  }

  const unit = { y: { min: 0, max: 1 } };
  const p = data.progress;

  // Done / in progress / left as one stacked bar: a 3-of-1,797 start still shows (minBarLength),
  // and the numbers are written out above it, so nothing hides in a thin slice.
  const parts = [["Done", p.done, "#2f7d32"], ["In progress", p.in_progress, "#f28e2b"], ["Left", p.left, "#c9ccd3"]];
  const figure = document.querySelector('[data-chart="progress"]');
  const summary = el("p", parts.map(([name, n]) => `${n.toLocaleString()} ${name.toLowerCase()}`).join(" · ")
    + ` of ${p.total.toLocaleString()} items`, "progress-numbers");
  figure.querySelector("figcaption").after(summary);
  draw("progress", {
    empty: p.total ? null : "No items yet.",
    config: { type: "bar", data: { labels: ["items"], datasets: parts.map(([name, n, fill]) => ({
      label: `${name} (${n.toLocaleString()})`, data: [n], backgroundColor: fill, minBarLength: n ? 4 : 0 })) },
      options: { indexAxis: "y", scales: { x: { stacked: true, max: p.total, beginAtZero: true },
        y: { stacked: true, display: false } } } },
    columns: ["", "items"], rows: [...parts.map(([name, n]) => [name, n]), ["Total", p.total]],
  });

  draw("annotators", {
    empty: p.per_annotator.length ? null : "Nobody has labeled yet.",
    config: { type: "bar", data: { labels: p.per_annotator.map((r) => r.annotator),
      datasets: [{ label: "annotations", data: p.per_annotator.map((r) => r.annotations), backgroundColor: PALETTE[0] }] },
      options: { plugins: { legend: { display: false } } } },
    columns: ["annotator", "annotations"], rows: p.per_annotator.map((r) => [r.annotator, r.annotations]),
  });

  draw("rate", {
    empty: p.per_hour.some((r) => r.annotations) ? null : "No labels in the last two weeks.",
    config: { type: "line", data: { labels: p.per_hour.map((r) => when(r.hour)),
      datasets: [{ label: "labels per hour", data: p.per_hour.map((r) => r.annotations),
        borderColor: PALETTE[0], backgroundColor: PALETTE[0], tension: 0, pointRadius: p.per_hour.length > 48 ? 0 : 3 }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } } },
    columns: ["hour", "labels"], rows: p.per_hour.filter((r) => r.annotations).map((r) => [when(r.hour), r.annotations]),
  });

  const d = data.distribution;
  draw("distribution", {
    empty: d.labeled.some(Boolean) || d.predicted.some(Boolean) ? null : "No labels or predictions yet.",
    config: { type: "bar", data: { labels: d.labels, datasets: [
      { label: "labeled items (share)", data: d.labeled_share, backgroundColor: "#4e79a7" },
      { label: "predicted on unlabeled pool (share of items)", data: d.predicted_share, backgroundColor: "#f28e2b" },
    ] }, options: { scales: unit } },
    columns: ["label", "labeled", "share", "predicted", "share"],
    rows: d.labels.map((l, i) => [l, d.labeled[i], d.labeled_share[i], d.predicted[i], d.predicted_share[i]]),
  });

  const history = data.agreement_history;
  const runs = [...new Set(Object.values(history).flat().map((pt) => pt.at))].sort();
  const metrics = Object.keys(METRICS).filter((m) => (history[m] || []).some((pt) => pt.value !== null));
  const valueAt = (m, at) => ((history[m] || []).find((pt) => pt.at === at) || { value: null }).value;
  draw("agreement", {
    empty: metrics.length ? null : (data.agreement.project.krippendorff_alpha || {}).reason
      || data.agreement.reason || "Not enough data: no item has two annotations yet.",
    config: { type: "line", data: { labels: runs.map(when), datasets: metrics.map((m, i) => ({
      label: METRICS[m], data: runs.map((at) => valueAt(m, at)), borderColor: PALETTE[i], backgroundColor: PALETTE[i],
      pointRadius: 3 })) }, options: { scales: { y: { suggestedMin: 0, max: 1 } } } },
    columns: ["run", ...metrics.map((m) => METRICS[m])],
    rows: runs.map((at) => [when(at), ...metrics.map((m) => valueAt(m, at))]),
  });

  const people = data.annotators;
  draw("annotator-quality", {
    empty: people.some((r) => r.kappa !== null || r.consensus_agreement !== null || r.quality !== null)
      ? null : "Not enough data: annotators share no items yet.",
    config: { type: "bar", data: { labels: people.map((r) => r.annotator), datasets: [
      { label: "κ with co-annotators", data: people.map((r) => r.kappa), backgroundColor: "#4e79a7" },
      { label: "agrees with the others' majority", data: people.map((r) => r.consensus_agreement), backgroundColor: "#59a14f" },
      { label: "quality (label-quality job)", data: people.map((r) => r.quality), backgroundColor: "#b07aa1" },
    ] }, options: { scales: { y: { suggestedMin: 0, max: 1 } } } },
    columns: ["annotator", "κ", "majority agreement", "quality"],
    rows: people.map((r) => [r.annotator, r.kappa, r.consensus_agreement, r.quality]),
  });

  // Each annotator's quality per label-quality run: a drop against their own earlier level is
  // what the "quality dropping" alert rule watches.
  const qh = data.quality_history || { runs: [], annotators: [] };
  draw("quality-history", {
    empty: qh.runs.length ? null : "No label-quality run has measured the annotators yet.",
    config: { type: "line", data: { labels: qh.runs.map((r) => when(r.at)), datasets: qh.annotators.map((a, i) => ({
      label: a.annotator, data: a.scores, spanGaps: true, borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 3 })) },
      options: { scales: { y: { suggestedMin: 0, max: 1 } } } },
    columns: ["run", ...qh.annotators.map((a) => a.annotator)],
    rows: qh.runs.map((r, i) => [when(r.at), ...qh.annotators.map((a) => a.scores[i])]),
  });

  const c = data.confusion;
  const used = c.labels.map((_, i) => i).filter((i) => c.matrix[i].some(Boolean));
  draw("confusion", {
    empty: used.length ? null : c.reason || "Not enough data: no item has two annotations yet.",
    config: { type: "bar", data: { labels: used.map((i) => c.labels[i]), datasets: used.map((j, n) => ({
      label: `other said ${c.labels[j]}`, data: used.map((i) => c.matrix[i][j]), backgroundColor: color(c.labels[j], n) })) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } },
    columns: ["said \\ other said", ...used.map((j) => c.labels[j])],
    rows: used.map((i) => [c.labels[i], ...used.map((j) => c.matrix[i][j])]),
  });

  const curve = data.learning_curve;
  const fc = data.forecast;
  const fitted = fc && fc.plateau !== null;
  document.getElementById("forecast-summary").textContent = !fc ? "" : fc.status === "not_enough_versions"
    ? "Forecast: not enough model versions yet (five, over a doubling of the labels)."
    : fc.status === "no_plateau"
    ? "Forecast: the learning curve is still rising with no plateau in sight; no estimate until it bends"
      + (fc.labels_needed_interval ? ` (80% range for the target: ${fc.labels_needed_interval.map((n) => n === null ? "never" : n).join("–")} labels).` : ".")
    : `Forecast (macro F1): plateau ${fmt(fc.plateau)}${fc.plateau_interval ? ` (80%: ${fc.plateau_interval.map(fmt).join("–")})` : ""}; `
      + `target ${fmt(fc.target)} ` + (fc.labels_needed === null ? "may never be reached."
        : `${fc.status === "reached" ? "reached by" : "needs about"} ${fc.labels_needed} labels `
          + `(80%: ${fc.labels_needed_interval ? fc.labels_needed_interval.map((n) => n === null ? "never" : n).join("–") : "–"}).`);
  // The learning curve on a label-count axis, extended by the forecast's fitted curve and its
  // 80% band when the forecast has one (status "ok": a target still ahead).
  const band = fc && Array.isArray(fc.curve) ? fc.curve.filter((pt) => pt && Number.isFinite(pt.labels)) : [];
  const xy = (key) => curve.filter((v) => v[key] !== null).map((v) => ({ x: v.n_labels, y: v[key] }));
  const xs = curve.map((v) => v.n_labels).concat(band.map((pt) => pt.labels));
  const learningSets = [
    { label: "CV accuracy", data: xy("cv_accuracy"), borderColor: PALETTE[0], backgroundColor: PALETTE[0] },
    { label: "CV macro F1", data: xy("cv_macro_f1"), borderColor: PALETTE[1], backgroundColor: PALETTE[1] },
  ];
  const evaluated = curve.some((v) => v.eval_macro_f1 !== null && v.eval_macro_f1 !== undefined);
  if (evaluated) {
    learningSets.push({ label: "Macro F1 on the evaluation sample", data: xy("eval_macro_f1"),
      borderColor: PALETTE[3], backgroundColor: PALETTE[3] });
  }
  if (fitted && xs.length) {
    learningSets.push({ label: "Forecast plateau (macro F1)", data: [{ x: Math.min(...xs), y: fc.plateau },
      { x: Math.max(...xs), y: fc.plateau }], borderColor: PALETTE[2], borderDash: [6, 4], pointRadius: 0 });
  }
  if (band.length) {
    // The band is the area between two lines: the lower one unlabeled (hidden from the legend),
    // the upper one filled down to it ("-1": the dataset before it).
    learningSets.push(
      { label: "", data: band.map((pt) => ({ x: pt.labels, y: pt.low })), borderColor: "rgba(89,161,79,0.4)",
        borderWidth: 1, pointRadius: 0, fill: false },
      { label: "Forecast 80% band", data: band.map((pt) => ({ x: pt.labels, y: pt.high })),
        borderColor: "rgba(89,161,79,0.4)", backgroundColor: "rgba(89,161,79,0.18)", borderWidth: 1, pointRadius: 0, fill: "-1" },
      { label: "Forecast (fitted macro F1)", data: band.map((pt) => ({ x: pt.labels, y: pt.value })),
        borderColor: PALETTE[2], backgroundColor: PALETTE[2], borderDash: [3, 3], pointRadius: 0 });
  }
  draw("learning", {
    empty: curve.length ? null : "No model trained yet.",
    config: { type: "line", data: { datasets: learningSets }, options: {
      scales: { x: { type: "linear", title: { display: true, text: "labels" } }, y: { min: 0, max: 1 } },
      plugins: { legend: { labels: { filter: (item) => item.text !== "" } } } } },
    columns: ["version", "labels", "CV accuracy", "CV macro F1"].concat(evaluated ? ["evaluation sample macro F1", "its items"] : []),
    rows: curve.map((v) => [`v${v.version}`, v.n_labels, v.cv_accuracy, v.cv_macro_f1]
      .concat(evaluated ? [v.eval_macro_f1, v.eval_n] : [])),
    more: band.length ? [{ summary: "Forecast numbers", columns: ["labels", "fitted macro F1", "80% low", "80% high"],
      rows: band.map((pt) => [pt.labels, pt.value, pt.low, pt.high]) }] : [],
  });
  document.querySelector('[data-chart="learning"]').dataset.band = band.length ? "true" : "false";

  // Drift over time: one chart per scale (the domain classifier's AUC, a meta field's PSI, the
  // labels' PSI, an annotator's drop in agreement), one line per thing compared, the baseline
  // dashed, and the runs that flagged drift marked with a red triangle.
  const driftPoints = data.drift_history || [];
  const DRIFT_BASELINE = { data: "baseline (shuffled windows)", meta: "no change", label: "no change", annotator: "no change" };
  const DRIFT_EMPTY = { data: "No data checks yet: they need 20 items on each side.",
    meta: "No meta-field checks yet: the items carry no meta fields.",
    label: "No label checks yet: they need 40 human annotations.",
    annotator: "No annotator checks yet: an annotator needs 40 annotations on items with a consensus." };
  const flaggedStyle = (row, yes, no) => row.map((pt) => (pt && pt.drift ? yes : no));
  Object.keys(DRIFT_BASELINE).forEach((panel) => {
    if (!document.querySelector(`[data-chart="drift-${panel}"]`)) return;
    const pts = driftPoints.filter((pt) => pt.panel === panel);
    const runs = [...new Map(pts.map((pt) => [pt.run, pt.at])).entries()];
    const series = [...new Set(pts.map((pt) => pt.series))];
    const datasets = series.map((name, i) => {
      const row = runs.map(([run]) => pts.find((pt) => pt.series === name && pt.run === run));
      const c = PALETTE[i % PALETTE.length];
      return { label: name, data: row.map((pt) => (pt ? pt.score : null)), spanGaps: true, borderColor: c,
        backgroundColor: c, pointStyle: flaggedStyle(row, "triangle", "circle"),
        pointRadius: flaggedStyle(row, 7, 3), pointBackgroundColor: flaggedStyle(row, "#dc2626", c) };
    });
    const baseline = runs.map(([run]) => {
      const values = pts.filter((pt) => pt.run === run && pt.baseline !== null).map((pt) => pt.baseline);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    });
    datasets.push({ label: DRIFT_BASELINE[panel], data: baseline, borderColor: "#6b7280", backgroundColor: "#6b7280",
      borderDash: [6, 4], pointRadius: 0, spanGaps: true });
    draw(`drift-${panel}`, {
      empty: pts.length ? null : DRIFT_EMPTY[panel],
      config: { type: "line", data: { labels: runs.map(([, at]) => when(at)), datasets } },
      columns: ["run", "compared", "score", "p-value", "baseline", "drift"],
      rows: pts.map((pt) => [when(pt.at), pt.series, pt.score, pt.p_value, pt.baseline, pt.drift ? "drift" : "–"]),
    });
    document.querySelector(`[data-chart="drift-${panel}"]`).dataset.flagged = String(pts.filter((pt) => pt.drift).length);
  });

  // The stopping rule: each version's κ against the previous one, and the threshold.
  const stop = data.stopping;
  const kappas = stop ? stop.kappas.filter((k) => k.kappa !== null) : [];
  if (stop) {
    document.getElementById("stopping-summary").textContent = stop.stopped
      ? `The model stopped changing at ${stop.stopped_at_labels} labels (mean κ of the last ${stop.window} ≥ ${stop.threshold}).`
      : `Still changing: mean κ of the last ${stop.window} is ${fmt(stop.mean_kappa)}; the rule fires at ${stop.threshold}.`;
    const latest = kappas[kappas.length - 1];
    if (!stop.stopped && latest && latest.least_stable !== null) {
      document.getElementById("stopping-summary").textContent += ` Changing most: “${latest.least_stable}”.`;
    }
    if (stop.f_change_bound !== null) {
      document.getElementById("stopping-summary").textContent += ` Successive macro F1s differ by at most ${fmt(stop.f_change_bound)}.`;
    }
  }
  draw("stopping", {
    empty: kappas.length ? null : "Two model versions are needed before their predictions can be compared.",
    config: { type: "line", data: { labels: kappas.map((k) => `v${k.model_version} · ${k.labels} labels`), datasets: [
      { label: "κ vs previous version (least stable label)", data: kappas.map((k) => k.kappa), borderColor: PALETTE[0], backgroundColor: PALETTE[0] },
      { label: "threshold", data: kappas.map(() => stop.threshold), borderColor: PALETTE[3], borderDash: [6, 4], pointRadius: 0 },
    ] }, options: { scales: { y: { max: 1 } } } },
    columns: ["version", "labels", "κ", "least stable label"],
    rows: kappas.map((k) => [`v${k.model_version}`, k.labels, k.kappa, k.least_stable ?? "–"]),
  });
})();
