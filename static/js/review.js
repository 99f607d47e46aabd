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
const colorOf = new Map(config.labels.map((l) => [l.name, l.color]));
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

// `first`: an item id to show first (the one an undo just put back), if it is on the page.
async function load(first) {
  const page = await call(`/api/projects/${config.project}/label-issues?status=open`);
  $("open-count").textContent = page.count;
  const at = page.results.findIndex((issue) => issue.item.id === first);
  if (at > 0) page.results.unshift(...page.results.splice(at, 1));
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
  // Keyboard users keep their place: focus left on a hidden relabel button returns to the actions.
  if ($("labels").contains(document.activeElement)) document.querySelector("[data-action=accept]").focus();
}

function percent(x) {
  return x === null || x === undefined ? "–" : `${Math.round(100 * x)}%`;
}

// A label as a chip in its colour; colors.js picks a text colour that contrasts >= 4.5:1.
function chip(name) {
  const span = document.createElement("span");
  span.className = "label-chip";
  span.textContent = name;
  window.QuorumColors.paint(span, colorOf.get(name));
  return span;
}

function chips(names) {
  const nodes = [];
  names.forEach((name, i) => {
    if (i) nodes.push(document.createTextNode(" "));
    nodes.push(chip(name));
  });
  return nodes;
}

function render(issue) {
  const item = issue.item;
  $("item").dataset.issueId = issue.id;
  $("item-meta").textContent = `Item ${item.external_id}, flagged by the label check of run #${issue.run}.`;
  $("item-text").textContent = item.text || "";
  const image = $("item-image");
  image.hidden = !item.image_url;
  if (item.image_url) {
    image.src = item.image_url;
    image.alt = `Item ${item.external_id}`;
  }
  $("given").replaceChildren(...chips(issue.given_labels));
  const probability = document.createTextNode(` ${percent(issue.suggested_probability)} sure`);
  $("suggested").replaceChildren(...chips(issue.suggested_labels), probability);
  $("quality").textContent = `${issue.quality.toFixed(3)} (lower is more doubtful)`;
  $("reason").textContent = issue.reason;
  $("agreement").textContent =
    item.n_annotations > 1
      ? `${percent(item.agreement)} of ${item.n_annotations} annotators agree`
      : "Only one label so far";
  $("consensus").textContent = item.consensus_labels
    ? `${item.consensus_labels.join(", ")} (${item.consensus_method}, quality ${percent(item.consensus_quality)})`
    : "None yet";
  const rows = item.annotations.map((a) => {
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.textContent = a.annotator ? `${a.annotator}${a.source === "review" ? " (review)" : ""}` : "Imported label";
    const labels = document.createElement("span");
    labels.append(...chips(a.labels));
    li.append(who, labels);
    return li;
  });
  $("annotations").replaceChildren(...rows);
}

// What just happened, as a sentence (the status line under the heading).
function sentence(action, issue, names) {
  const item = `item ${issue.item.external_id}`;
  const done = {
    accept: `Accepted “${issue.given_labels.join(", ")}” as the final label of ${item}.`,
    relabel: `Relabeled ${item} as “${names.join(", ")}”.`,
    dismiss: `Dismissed the flag on ${item}; its labels are unchanged.`,
    requeue: `Sent ${item} back for one more annotation.`,
  }[action];
  return `${done} Press u to undo.`;
}

function setRelabeling(on) {
  state.relabeling = on;
  $("labels").hidden = !on;
  document.querySelector("[data-action=relabel]").setAttribute("aria-expanded", String(on));
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
    $("status").textContent = sentence(action, issue, names);
    $("open-count").textContent = Math.max(0, Number($("open-count").textContent) - 1);
    if (state.queue.length) showNext();
    else await load();
  } catch (error) {
    $("status").textContent = `Could not save: ${error.message}`;
  } finally {
    state.busy = false;
  }
}

async function undo() {
  if (state.busy) return;
  state.busy = true;
  try {
    const body = await call(config.undoUrl, { method: "POST" });
    $("status").textContent = body.message;
    await load(body.item);
  } catch (error) {
    $("status").textContent = `Nothing undone: ${error.message}`;
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
  if (key === "u") return undo();
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
$("undo-btn").addEventListener("click", () => undo());

load().catch((error) => {
  $("status").textContent = `Could not load the review queue: ${error.message}`;
});
