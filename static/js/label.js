// The labeling page. Keys first, mouse too. Item text, label names and metadata are only
// ever written with textContent: nothing an item contains can run here.
//
// The queue: the page holds the item on screen plus one prefetched item (both leased to
// this annotator; `next?exclude=` asks for the one after those it holds). A label goes to
// the outbox (label_outbox.js) and the prefetched item appears at once; the outbox sends
// the label in the background and the page prefetches again.

import { Outbox, request, sameLabels } from "./label_outbox.js";
import { drawPage, drawTimer, queueDone } from "./label_view.js";

const config = JSON.parse(document.getElementById("label-config").textContent);
const api = {
  next: `/api/projects/${config.project}/next`,
  history: `/api/projects/${config.project}/history`,
  progress: `/api/projects/${config.project}/progress`,
};
const MAX_EXCLUDED = 20; // the API's limit for ?exclude=
const PREFETCH = 1;
const $ = (id) => document.getElementById(id);
const keyToLabel = new Map(config.labels.filter((l) => l.key).map((l) => [l.key.toLowerCase(), l.name]));
const buttons = [...document.querySelectorAll(".label-btn")];

const state = {
  current: null, // {item, shownAt}: the leased item on screen
  buffer: [], // prefetched, leased items
  fetching: false,
  exhausted: false, // `next` said 204: nothing beyond what the page holds
  fetchFailures: 0,
  fetchTimer: null,
  history: [], // newest first: {item, labels, annotationId}
  review: -1, // index into history while going back; -1 on the queue
  reviewStartedAt: 0,
  historyEnd: false,
  selected: new Set(), // multi-label toggles (and the reviewed item's labels)
  progress: { mine: 0, done: null, total: null },
  deliveredSinceProgress: 0,
  deliveries: 0, // labels delivered since the page opened: a progress answer checks it
  progressPending: false,
  notice: "",
};

const outbox = new Outbox({
  storageKey: `quorum.outbox.v1:${config.user}:${config.project}`,
  onChange: render,
  onDelivered(op, body) {
    if (op.kind === "create") {
      const entry = state.history.find((e) => e.item.id === op.item);
      if (entry) entry.annotationId = body.id;
      state.deliveredSinceProgress += 1;
      state.deliveries += 1;
    }
    // A delivered label frees the lease it held: there may be more to fetch now.
    state.exhausted = false;
    ensureQueue();
    refreshProgressSoon();
  },
});

// --- the queue ------------------------------------------------------------------------

function heldIds() {
  const ids = new Set(outbox.pendingItemIds());
  if (state.current) ids.add(state.current.item.id);
  state.buffer.forEach((item) => ids.add(item.id));
  return [...ids];
}

function promote() {
  if (!state.current && state.buffer.length) {
    state.current = { item: state.buffer.shift(), shownAt: Date.now() };
    if (state.review < 0) state.selected = new Set();
  }
}

async function ensureQueue() {
  promote();
  render();
  const wanted = (state.current ? 0 : 1) + PREFETCH;
  if (state.fetching || state.exhausted || state.buffer.length >= wanted) return;
  const exclude = heldIds();
  if (exclude.length > MAX_EXCLUDED) return; // the outbox is draining; delivery calls again
  state.fetching = true;
  let response = null;
  let item = null;
  try {
    const query = exclude.length ? `?exclude=${exclude.join(",")}` : "";
    response = await request("GET", api.next + query);
    if (response.status === 200) item = await response.json();
  } catch {
    response = null;
  }
  state.fetching = false; // only now: a fetch started while this one was parsed would race it
  if (response && response.status === 204) {
    state.exhausted = true;
  } else if (item) {
    state.fetchFailures = 0;
    if (heldIds().includes(item.id) || state.history.some((e) => e.item.id === item.id)) {
      // Never show an item twice. Only a race can get here; ask again in a moment.
      clearTimeout(state.fetchTimer);
      state.fetchTimer = setTimeout(ensureQueue, 1000);
      render();
      return;
    } else {
      preload(item);
      state.buffer.push(item);
    }
  } else {
    state.fetchFailures += 1;
    clearTimeout(state.fetchTimer);
    const delay = Math.min(30_000, 1000 * 2 ** (state.fetchFailures - 1));
    state.fetchTimer = setTimeout(ensureQueue, delay);
    render();
    return;
  }
  ensureQueue();
}

function preload(item) {
  if (item.image_url) new Image().src = item.image_url;
}

function labelCurrent(labels) {
  const current = state.current;
  if (!current) return;
  const op = { kind: "create", item: current.item.id, labels, time_spent_ms: Date.now() - current.shownAt };
  if (current.item.suggestion) {
    op.suggestion_accepted = labels.length === 1 && labels[0] === current.item.suggestion.label;
  }
  state.history.unshift({ item: current.item, labels, annotationId: null });
  outbox.add(op);
  advance();
}

function skipCurrent() {
  if (state.review >= 0 || !state.current) return;
  outbox.add({ kind: "skip", item: state.current.item.id });
  advance();
}

function advance() {
  state.current = null;
  state.selected = new Set();
  ensureQueue();
}

// --- going back to change a label -------------------------------------------------------

async function loadEarlierHistory() {
  const ids = state.history.map((e) => e.annotationId).filter(Boolean);
  const query = ids.length ? `&before=${Math.min(...ids)}` : "";
  let entries;
  try {
    const response = await request("GET", `${api.history}?limit=20${query}`);
    if (!response.ok) return 0;
    const body = await response.json();
    entries = Array.isArray(body) ? body : body.results || [];
  } catch {
    return 0;
  }
  let added = 0;
  for (const entry of entries) {
    if (state.history.some((e) => e.item.id === entry.item.id)) continue;
    state.history.push({ item: entry.item, labels: entry.labels, annotationId: entry.id });
    outbox.rememberAnnotation(entry.item.id, entry.id);
    added += 1;
  }
  if (!entries.length) state.historyEnd = true;
  return added;
}

async function goBack() {
  const target = state.review + 1;
  if (target >= state.history.length) {
    if (state.historyEnd || !(await loadEarlierHistory())) {
      flash(state.history.length ? "No earlier labels." : "Nothing labeled yet.");
      return;
    }
  }
  if (state.review < 0) state.reviewStartedAt = Date.now();
  state.review = Math.min(target, state.history.length - 1);
  state.selected = new Set(state.history[state.review].labels);
  render();
}

function leaveReview() {
  if (state.review < 0) return;
  if (state.current) state.current.shownAt += Date.now() - state.reviewStartedAt; // reading time only
  state.review = -1;
  state.selected = new Set();
  render();
}

function relabelEarlier(labels) {
  const entry = state.history[state.review];
  if (!sameLabels(entry.labels, labels)) {
    entry.labels = labels;
    if (!outbox.setLabels(entry.item.id, labels)) {
      outbox.add({ kind: "update", item: entry.item.id, labels });
    }
  }
  leaveReview();
}

// --- actions ---------------------------------------------------------------------------

function pressLabel(name) {
  if (config.multiLabel) {
    if (state.selected.has(name)) state.selected.delete(name);
    else state.selected.add(name);
    render();
  } else if (state.review >= 0) {
    relabelEarlier([name]);
  } else {
    labelCurrent([name]);
  }
}

function submitSelected() {
  // Keep the project's label order, not the order of the key presses.
  const labels = config.labels.map((l) => l.name).filter((name) => state.selected.has(name));
  if (!labels.length) return flash("Pick at least one label first.");
  if (state.review >= 0) relabelEarlier(labels);
  else labelCurrent(labels);
}

function toggle(id, force) {
  const panel = $(id);
  panel.hidden = force === undefined ? !panel.hidden : !force;
}

function closePanels() {
  const open = ["help", "guidelines"].filter((id) => !$(id).hidden);
  open.forEach((id) => toggle(id, false));
  return open.length > 0;
}

function flash(text) {
  state.notice = text;
  render();
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => {
    state.notice = "";
    render();
  }, 2500);
}

// The page's own buttons are out of the Tab order (tabindex -1: they have keys); a link or
// another button (the project bar, Log out) that has the focus keeps Tab's usual meaning.
function onControl(target) {
  return target instanceof Element && Boolean(target.closest('a, summary, button:not([tabindex="-1"])'));
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  const target = event.target;
  if (target instanceof Element && target.closest("input, textarea, select, [contenteditable]")) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  let action = null;
  if (key === "Escape") action = () => closePanels() || leaveReview();
  else if (key === "?") action = () => toggle("help");
  else if (keyToLabel.has(key)) action = () => pressLabel(keyToLabel.get(key));
  else if (key === "g") action = () => toggle("guidelines");
  // Tab skips only from the item itself: Shift+Tab and Tab on a link or button move the focus
  // as usual, so a keyboard user can still reach the project bar and the page's links.
  else if (key === "s" || (key === "Tab" && !event.shiftKey && !onControl(target))) action = skipCurrent;
  else if (key === "z" || key === "Backspace") action = goBack;
  else if (key === "Enter" && config.multiLabel) action = submitSelected;
  if (!action) return;
  event.preventDefault();
  if (!event.repeat) action(); // holding a key down must not label a run of items
}

// --- progress ----------------------------------------------------------------------------

// "Labeled by you" is the server's count plus the labels delivered since it was read
// (plus those still in the outbox). A label delivered while the request is on its way,
// or in flight at either end of it, may or may not be in the server's answer: then the
// answer's count is ambiguous and is not used (done and total still are); the local
// count stays right and another request follows. Only one request at a time.
async function refreshProgress() {
  if (state.progressPending) return;
  state.progressPending = true;
  const counted = state.deliveredSinceProgress;
  const deliveries = state.deliveries;
  const creatingAtStart = outbox.creating();
  try {
    const response = await request("GET", api.progress);
    if (!response.ok) return;
    const progress = await response.json();
    const exact = !creatingAtStart && !outbox.creating() && state.deliveries === deliveries;
    if (exact) {
      state.progress = progress;
      state.deliveredSinceProgress -= counted;
    } else {
      state.progress = { ...progress, mine: state.progress.mine };
      refreshProgressSoon();
    }
    render();
  } catch {
    /* offline: the local count carries on */
  } finally {
    state.progressPending = false;
  }
}

function refreshProgressSoon() {
  if (refreshProgressSoon.timer) return;
  refreshProgressSoon.timer = setTimeout(() => {
    refreshProgressSoon.timer = null;
    refreshProgress();
  }, 800);
}

// --- drawing (label_view.js) ------------------------------------------------------------------

function render() {
  if (queueDone(state) && $("lab").dataset.state !== "done") refreshProgressSoon();
  drawPage({ state, outbox, config, buttons });
}

// --- wiring ---------------------------------------------------------------------------------

function wire() {
  document.addEventListener("keydown", onKey);
  buttons.forEach((button) => {
    button.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus off buttons
    button.addEventListener("click", () => pressLabel(button.dataset.label));
  });
  $("skip-btn").addEventListener("click", skipCurrent);
  $("back-btn").addEventListener("click", goBack);
  if ($("submit-btn")) $("submit-btn").addEventListener("click", submitSelected);
  $("guidelines-btn").addEventListener("click", () => toggle("guidelines"));
  $("help-btn").addEventListener("click", () => toggle("help"));
  $("again-btn").addEventListener("click", () => {
    state.exhausted = false;
    ensureQueue();
  });
  document.querySelectorAll("[data-close]").forEach((button) => {
    button.addEventListener("click", () => {
      button.closest("aside, .modal").hidden = true;
    });
  });
  $("help").addEventListener("click", (event) => {
    if (event.target === $("help")) toggle("help", false);
  });
  $("item-image").addEventListener("load", (event) => {
    // Small images (digits, icons) are enlarged: keep their pixels sharp, not blurred.
    event.target.classList.toggle("pixelated", event.target.naturalWidth < 128);
  });
  window.addEventListener("online", () => ensureQueue());
  window.addEventListener("offline", render);
  setInterval(() => drawTimer(state), 1000);
}

wire();
render();
refreshProgress();
ensureQueue();
outbox.flush();
