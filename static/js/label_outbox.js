// The labeling page's outbox: every label, change and skip is written to localStorage
// first and sent in the background, one at a time, in order. A dropped connection or an
// expired session only delays delivery: operations stay until the server accepts them
// (a 409 "already labeled" on a retry counts as accepted) and are retried with backoff.
// A label the queue's rule refuses for good (409/403 with a code) is dropped and shown.

const MAX_DELAY_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;
const MAX_REMEMBERED_IDS = 500;
// Refusal codes of POST /api/items/{id}/annotations/ (annotation/services/label_rules.py).
// A late label whose lease ran out is still accepted while the item needs it.
const REFUSED_FOR_GOOD = new Set(["not_leased", "lease_lost", "item_complete"]);

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// fetch with the session cookie, CSRF header, JSON body and a timeout.
export async function request(method, url, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    return await fetch(url, {
      method,
      credentials: "same-origin",
      signal: controller.signal,
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } finally {
    clearTimeout(timer);
  }
}

function sameLabels(a, b) {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

async function readJSON(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

export class Outbox {
  // storageKey: per user and project. onChange(): redraw. onDelivered(op, body): bookkeeping.
  constructor({ storageKey, onChange, onDelivered }) {
    this.storageKey = storageKey;
    this.onChange = onChange;
    this.onDelivered = onDelivered;
    this.ops = [];
    this.annotationIds = {}; // item id -> my annotation id, for PATCHing a changed label
    this.status = "ok"; // ok | offline | auth | error
    this.rejected = []; // details of operations the server refused for good
    this.failures = 0;
    this.inFlight = null;
    this.timer = null;
    this.load();
    window.addEventListener("online", () => this.flush());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.flush();
    });
  }

  get size() {
    return this.ops.length;
  }

  load() {
    try {
      const saved = JSON.parse(localStorage.getItem(this.storageKey) || "null");
      if (saved) {
        this.ops = (saved.ops || []).map((op) => ({ ...op }));
        this.annotationIds = saved.annotationIds || {};
      }
    } catch {
      /* unreadable storage: start empty */
    }
  }

  save() {
    const ids = Object.entries(this.annotationIds).slice(-MAX_REMEMBERED_IDS);
    this.annotationIds = Object.fromEntries(ids);
    try {
      localStorage.setItem(this.storageKey, JSON.stringify({ ops: this.ops, annotationIds: this.annotationIds }));
    } catch {
      /* storage full or disabled: the operations still live in memory */
    }
  }

  add(op) {
    this.ops.push({ ...op, uid: `${Date.now()}-${Math.random().toString(36).slice(2)}`, attempts: 0 });
    this.save();
    this.onChange();
    this.flush();
  }

  // Change the labels of a queued, not yet in-flight, label for this item; false if none.
  setLabels(itemId, labels) {
    for (let i = this.ops.length - 1; i >= 0; i -= 1) {
      const op = this.ops[i];
      if (op.item !== itemId || op.kind === "skip") continue;
      if (op === this.inFlight) return false;
      if (op.attempts > 0) op.dirty = true; // an earlier attempt may have reached the server
      op.labels = labels;
      this.save();
      return true;
    }
    return false;
  }

  rememberAnnotation(itemId, annotationId) {
    this.annotationIds[itemId] = annotationId;
  }

  pendingItemIds() {
    return new Set(this.ops.map((op) => op.item));
  }

  pendingCreates() {
    return this.ops.filter((op) => op.kind === "create").length;
  }

  // Whether a new label is on its way to the server now (its count may already include it).
  creating() {
    return Boolean(this.inFlight && this.inFlight.kind === "create");
  }

  schedule() {
    clearTimeout(this.timer);
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.max(0, this.failures - 1));
    this.timer = setTimeout(() => this.flush(), delay * (0.8 + Math.random() * 0.4));
  }

  async flush() {
    if (this.inFlight || !this.ops.length) return;
    clearTimeout(this.timer);
    while (this.ops.length) {
      const op = this.ops[0];
      this.inFlight = op;
      let outcome;
      try {
        outcome = await this.send(op);
      } catch {
        outcome = { retry: "offline" };
      }
      this.inFlight = null;
      if (outcome.retry) {
        this.status = navigator.onLine === false ? "offline" : outcome.retry;
        this.failures += 1;
        this.save();
        this.onChange();
        this.schedule();
        return;
      }
      this.ops.shift();
      this.failures = 0;
      this.status = "ok";
      if (outcome.rejected) this.rejected.push(outcome.rejected);
      if (outcome.followUp) this.ops.splice(0, 0, outcome.followUp);
      this.save();
      if (!outcome.rejected) this.onDelivered(op, outcome.body || {});
      this.onChange();
    }
  }

  async send(op) {
    op.attempts += 1;
    let response;
    if (op.kind === "create") {
      const body = { labels: op.labels, time_spent_ms: op.time_spent_ms };
      if (op.suggestion_accepted !== undefined) body.suggestion_accepted = op.suggestion_accepted;
      response = await request("POST", `/api/items/${op.item}/annotations/`, body);
    } else if (op.kind === "update") {
      const id = this.annotationIds[op.item];
      if (!id) return { rejected: `item ${op.item}: the original label never arrived` };
      response = await request("PATCH", `/api/annotations/${id}/`, { labels: op.labels });
    } else {
      response = await request("POST", `/api/items/${op.item}/skip`, {});
    }
    const body = await readJSON(response);
    if (response.ok) {
      if (op.kind === "create") this.rememberAnnotation(op.item, body.id);
      return { body };
    }
    if (REFUSED_FOR_GOOD.has(body.code)) {
      // The queue's rule refused the label (the item went to someone else or is
      // complete, or was never mine): retrying cannot help; show why.
      return { rejected: `item ${op.item}: ${body.detail}` };
    }
    if (response.status === 409 && op.kind === "create") {
      // An earlier attempt (or another tab) got there first: delivered. If the labels
      // changed since that attempt, send the change as an edit.
      this.rememberAnnotation(op.item, body.annotation_id);
      const followUp = op.dirty ? { ...op, kind: "update", attempts: 0, dirty: false } : null;
      return { body: { ...body, id: body.annotation_id, labels: op.labels }, followUp };
    }
    if (response.status === 401 || response.status === 403) return { retry: "auth" };
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      return { retry: "error" };
    }
    const detail = body.detail || JSON.stringify(body.labels || body);
    return { rejected: `item ${op.item}: ${detail}` };
  }
}

export { sameLabels };
