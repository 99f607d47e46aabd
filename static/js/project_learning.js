// Project page, active-learning section: the model in use, a live job progress bar
// (polls GET /api/jobs/{id}), the learning curve (Chart.js) and a "retrain now" button.
(() => {
  "use strict";
  const root = document.getElementById("learning");
  if (!root) return;
  const $ = (name) => root.querySelector(`[data-learning="${name}"]`);
  const POLL_MS = 1000;
  let chart = null;
  let polling = null;

  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`);
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";

  async function getJSON(url, options = {}) {
    const response = await fetch(url, { credentials: "same-origin", ...options });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function showJob(job) {
    const box = $("job");
    if (!job) { box.hidden = true; return; }
    box.hidden = false;
    $("job-label").textContent = `Job #${job.id}: ${job.status}`;
    $("progress").value = job.progress;
    $("job-error").textContent = job.error || "";
    const active = job.status === "queued" || job.status === "running";
    const start = $("start");
    if (start) start.disabled = active;
    if (active && !polling) polling = setTimeout(() => pollJob(job.id), POLL_MS);
  }

  async function pollJob(id) {
    polling = null;
    const job = await getJSON(`/api/jobs/${id}`);
    showJob(job);
    if (job.status === "succeeded" || job.status === "failed") refresh();
  }

  function drawCurve(models) {
    const scored = models.filter((m) => m.cv_accuracy !== null);
    $("empty").hidden = scored.length > 0;
    if (!scored.length || typeof Chart === "undefined") return;
    const points = (key) => scored.map((m) => ({ x: m.n_labels, y: m[key] }));
    const data = {
      datasets: [
        { label: "CV accuracy", data: points("cv_accuracy"), borderColor: "#4e79a7" },
        { label: "CV macro-F1", data: points("cv_macro_f1"), borderColor: "#f28e2b" },
      ],
    };
    if (chart) { chart.data = data; chart.update(); return; }
    chart = new Chart($("curve"), {
      type: "line",
      data,
      options: {
        animation: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "labels" } },
          y: { min: 0, max: 1, title: { display: true, text: "score" } },
        },
      },
    });
  }

  async function refresh() {
    const body = await getJSON(root.dataset.modelsUrl);
    const current = body.current;
    $("current").textContent = current
      ? `v${current.version} (${current.n_labels} labels, ${current.featurizer})` : "none yet";
    $("accuracy").textContent = pct(current && current.cv_accuracy);
    $("f1").textContent = pct(current && current.cv_macro_f1);
    showJob(body.job);
    drawCurve(body.models);
  }

  const start = $("start");
  if (start) {
    start.addEventListener("click", async () => {
      start.disabled = true;
      const job = await getJSON(root.dataset.jobsUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ kind: "active_learning" }),
      });
      showJob(job);
    });
  }
  window.addEventListener("load", () => refresh().catch((err) => console.error(err)));
})();
