// The review page: one flagged item at a time, most severe first. Keys first, mouse too.
// Everything an item or a label contains is written with textContent: nothing in it can run.
//
// The page holds one page of open issues from the API; an action posts to
// /api/items/{id}/review and shows the next one; an empty list is fetched again.

const config = JSON.parse(document.getElementById("review-config").textContent);
const $ = (id) => document.getElementById(id);
const ACTION_KEYS = { a: "accept", d: "dismiss", q: "requeue" };
const directKeys = new Map(config.labels.filter((l) => l.direct).map((l) => [l.key.toLowerCase(), l.name]));
const anyKeys = new Map(config.labels.filter((l) => l.key).map((l) => [l.key.toLowerCase(), l.name]));
const state = { queue: [], current: null, busy: false, relabeling: false };

async function call(url, options = {}) {
  const response = await fetch(url, {
    credentials: "same-origin",
    ...options,
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": config.csrf },
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && (body.detail || JSON.stringify(body))) || response.statusText);
  return body;
}

async function load() {
  const page = await call(`/api/projects/${config.project}/label-issues?status=open`);
  $("open-count").textContent = page.count;
  state.queue = page.results;
  showNext();
}

function showNext() {
  state.current = state.queue.shift() || null;
  setRelabeling(false);
  const empty = state.current === null;
  $("rev").dataset.state = empty ? "empty" : "ready";
  $("item").hidden = empty;
  $("done").hidden = !empty;
  if (!empty) render(state.current);
}

function percent(x) {
  return x === null || x === undefined ? "–" : `${Math.round(100 * x)}%`;
}

function render(issue) {
  const item = issue.item;
  $("item").dataset.issueId = issue.id;
  $("item-meta").textContent = `Item ${item.external_id} · flagged by run #${issue.run}`;
  $("item-text").textContent = item.text || "";
  const image = $("item-image");
  image.hidden = !item.image_url;
  if (item.image_url) image.src = item.image_url;
  $("given").textContent = issue.given_label;
  $("suggested").textContent = `${issue.suggested_label} (probability ${percent(issue.suggested_probability)})`;
  $("quality").textContent = issue.quality.toFixed(3);
  $("reason").textContent = issue.reason;
  $("agreement").textContent =
    item.n_annotations > 1 ? `${percent(item.agreement)} of ${item.n_annotations} annotators agree` : "one label only";
  $("consensus").textContent = item.consensus_labels
    ? `${item.consensus_labels.join(", ")} (${item.consensus_method}, quality ${percent(item.consensus_quality)})`
    : "–";
  const rows = item.annotations.map((a) => {
    const tr = document.createElement("tr");
    for (const text of [a.annotator || "(imported)", a.source, a.labels.join(", ")]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $("annotations").querySelector("tbody").replaceChildren(...rows);
}

function setRelabeling(on) {
  state.relabeling = on;
  $("labels").hidden = !on;
}

// `labels`: one name, or a list (the model's suggested set on a multi-label project).
async function act(action, labels) {
  if (!state.current || state.busy) return;
  state.busy = true;
  const issue = state.current;
  const names = labels === undefined ? [] : [].concat(labels);
  const body = { action, ...(names.length ? { labels: names } : {}) };
  try {
    await call(`/api/items/${issue.item.id}/review`, { method: "POST", body: JSON.stringify(body) });
    const done = action === "relabel" ? `Relabeled as “${names.join(", ")}”` : action;
    $("status").textContent = `${done} · item ${issue.item.external_id}`;
    $("open-count").textContent = Math.max(0, Number($("open-count").textContent) - 1);
    if (state.queue.length) showNext();
    else await load();
  } catch (error) {
    $("status").textContent = `Could not save: ${error.message}`;
  } finally {
    state.busy = false;
  }
}

function takeSuggestion() {
  if (state.current) act("relabel", state.current.suggested_labels);
}

function toggleHelp(show) {
  $("help").hidden = show === undefined ? !$("help").hidden : !show;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if (key === "?") return toggleHelp();
  if (key === "escape") {
    toggleHelp(false);
    return setRelabeling(false);
  }
  if (!$("help").hidden) return;
  if (state.relabeling) {
    if (anyKeys.has(key)) act("relabel", anyKeys.get(key));
    return;
  }
  if (key === "r") return setRelabeling(true);
  if (key === "t") return takeSuggestion();
  if (ACTION_KEYS[key]) return act(ACTION_KEYS[key]);
  if (directKeys.has(key)) act("relabel", directKeys.get(key));
});

document.querySelectorAll("[data-action]").forEach((button) =>
  button.addEventListener("click", () => {
    const action = button.dataset.action;
    if (action === "relabel") setRelabeling(!state.relabeling);
    else if (action === "suggestion") takeSuggestion();
    else act(action);
  }),
);
document.querySelectorAll(".label-btn").forEach((button) =>
  button.addEventListener("click", () => act("relabel", button.dataset.label)),
);
$("help-btn").addEventListener("click", () => toggleHelp());

load().catch((error) => {
  $("status").textContent = `Could not load the review queue: ${error.message}`;
});
