// Drawing the labeling page from its state (label.js owns the state and the queue).
// Item text, label names and metadata are only ever written with textContent: nothing an
// item contains can run here.

const $ = (id) => document.getElementById(id);

function shown(state) {
  if (state.review >= 0) return { item: state.history[state.review].item, labels: state.history[state.review].labels };
  return state.current ? { item: state.current.item, labels: [] } : null;
}

function metaText(item) {
  const parts = [item.external_id];
  for (const [key, value] of Object.entries(item.meta || {}).slice(0, 6)) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    parts.push(`${key}: ${text.length > 80 ? `${text.slice(0, 79)}…` : text}`);
  }
  return parts.filter(Boolean).join(" · ");
}

function drawItem(view, { state, config, buttons }) {
  const item = view && view.item;
  const card = $("item");
  card.dataset.itemId = item ? String(item.id) : "";
  $("item-meta").textContent = item ? metaText(item) : "";
  $("item-text").textContent = item ? item.text || "" : "";
  $("item-text").hidden = !(item && item.text);
  const image = $("item-image");
  if (item && item.image_url) {
    if (image.getAttribute("src") !== item.image_url) {
      image.classList.remove("pixelated");
      image.src = item.image_url;
    }
    image.alt = item.external_id || "item image";
  } else {
    image.removeAttribute("src");
  }
  image.hidden = !(item && item.image_url);
  const suggestion = item && state.review < 0 ? item.suggestion : null;
  $("suggestion").hidden = !suggestion;
  if (suggestion) {
    const share = suggestion.probability == null ? "" : ` (${Math.round(suggestion.probability * 100)}%)`;
    $("suggestion").textContent = `Model suggests “${suggestion.label}”${share}`;
  }
  buttons.forEach((button) => {
    const name = button.dataset.label;
    const on = config.multiLabel || state.review >= 0 ? state.selected.has(name) : false;
    button.setAttribute("aria-pressed", String(on));
    button.classList.toggle("suggested", Boolean(suggestion && suggestion.label === name));
    button.disabled = !item;
  });
}

function statusText(state, outbox) {
  if (!navigator.onLine || outbox.status === "offline") return "Offline. Your labels are kept and will be sent when the connection returns.";
  if (outbox.status === "auth") return "Your session has expired. Log in again to carry on; your labels are kept.";
  return state.fetchFailures ? "Cannot reach the server; trying again…" : "Loading…";
}

function drawOutbox(state, outbox) {
  const banner = $("outbox");
  const n = outbox.size;
  const problem = outbox.status !== "ok" || !navigator.onLine;
  banner.replaceChildren();
  banner.className = "outbox";
  if (n && problem) {
    const why = { offline: "offline", auth: "your session has expired", error: "the server is not answering" };
    const reason = navigator.onLine ? why[outbox.status] || why.offline : why.offline;
    banner.append(`${n} label${n === 1 ? "" : "s"} waiting to send — ${reason}`);
    if (outbox.status === "auth") {
      const link = document.createElement("a");
      link.href = `/login/?next=${encodeURIComponent(location.pathname)}`;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = "Log in again";
      banner.append(" · ", link);
    }
  } else if (outbox.rejected.length) {
    banner.classList.add("refused");
    banner.append(`Not saved: ${outbox.rejected[outbox.rejected.length - 1]}`);
  } else if (state.notice) {
    banner.classList.add("notice");
    banner.append(state.notice);
  }
  banner.hidden = !banner.textContent;
}

function drawProgress(state, outbox) {
  const { done, total } = state.progress;
  const mine = (state.progress.mine || 0) + state.deliveredSinceProgress + outbox.pendingCreates();
  $("mine").textContent = String(mine);
  $("done").textContent = done == null ? "–" : String(done);
  $("total").textContent = total == null ? "–" : String(total);
  $("bar").style.width = total ? `${Math.min(100, (100 * done) / total)}%` : "0";
}

export function drawTimer(state) {
  const ms = state.review < 0 && state.current ? Date.now() - state.current.shownAt : 0;
  const seconds = Math.floor(ms / 1000);
  $("timer").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  $("timer").classList.toggle("idle", !(state.review < 0 && state.current));
}

/** Whether the annotator has finished the queue: nothing on screen, held or coming. */
export function queueDone(state) {
  return !shown(state) && state.exhausted && !state.fetching && !state.buffer.length;
}

/** Draw the whole page from `state` (see label.js) and the outbox. */
export function drawPage({ state, outbox, config, buttons }) {
  const view = shown(state);
  const done = queueDone(state);
  const lab = $("lab");
  lab.dataset.state = state.review >= 0 ? "review" : view ? "ready" : done ? "done" : "loading";
  lab.dataset.pending = String(outbox.size); // for tests and the curious: unsent operations
  lab.dataset.buffered = String(state.buffer.length);
  drawItem(view, { state, config, buttons });
  $("item").hidden = done;
  $("done-panel").hidden = !done;
  $("item-status").hidden = Boolean(view) || done;
  $("item-status").textContent = statusText(state, outbox);
  $("review-note").hidden = state.review < 0;
  $("skip-btn").disabled = state.review >= 0 || !state.current;
  drawOutbox(state, outbox);
  drawProgress(state, outbox);
  drawTimer(state);
}
