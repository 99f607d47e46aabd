// Import page: upload through the REST import endpoint with XHR (for upload progress).
// 201: done; 400: a table of bad rows (nothing imported); 202: a background job, polled
// at GET /api/jobs/{id} until it finishes. Everything from the server goes in as text.
(function () {
  "use strict";

  const form = document.getElementById("import-form");
  if (!form) return;
  const csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const submit = document.getElementById("import-submit");
  const status = document.getElementById("import-status");
  const phase = document.getElementById("import-phase");
  const percent = document.getElementById("import-percent");
  const bar = document.getElementById("import-progress");
  const result = document.getElementById("import-result");
  const POLL_MS = 1000;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    children.forEach((c) => node.append(c));
    return node;
  }

  function showProgress(label, fraction) {
    status.hidden = false;
    phase.textContent = label;
    if (fraction === null) {
      bar.removeAttribute("value"); // indeterminate
      percent.textContent = "";
    } else {
      bar.value = Math.round(fraction * 100);
      percent.textContent = Math.round(fraction * 100) + "%";
    }
  }

  function finish() {
    submit.disabled = false;
    status.hidden = true;
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function showSuccess(data) {
    const parts = [plural(data.created, "item") + " imported"];
    if (data.skipped) parts.push(plural(data.skipped, "duplicate") + " skipped");
    if (data.labels) parts.push(plural(data.labels, "existing label") + " kept");
    const link = el("a", { href: form.dataset.projectUrl }, "Open the project");
    result.replaceChildren(
      el("div", { class: "notice ok", role: "status" }, parts.join(", ") + ". ", link)
    );
    addBatchRow(data);
    refreshCounts();
    form.reset();
  }

  // The page's own words for the service's error codes (annotation/importing/errors.py);
  // a code it does not know shows the service's message.
  const SKIP_LABEL = document.querySelector('label[for="import-skip"] .name').textContent;
  function where(e) {
    return e.line ? "line " + e.line : "row " + e.row;
  }
  const ROW_WORDS = {
    duplicate: (e, p) => p.in === "project"
      ? "The id “" + p.id + "” is already an item of this project."
      : "The id “" + p.id + "” is used earlier in this file, on row " + p.first_row + ".",
    unclosed_quote: (e, p) => "A quote opens on line " + p.line + " and is never closed, so " +
      "the rest of the file reads as one cell. Close it; a quote inside a cell is written \"\".",
    bad_quote: (e, p) => "On line " + p.line + " a closing quote is followed by more text. " +
      "A quote inside a cell is written \"\", and a quoted cell ends at its quote.",
    bad_encoding: (e, p) => p.encoding
      ? "The file is saved as " + p.encoding + ". Save it as UTF-8 (“CSV UTF-8” in a " +
        "spreadsheet program) and upload it again."
      : "The file is not saved as UTF-8: byte " + p.byte + " at position " +
        Number(p.offset).toLocaleString("en") + " (" + where(e) + ") is not UTF-8 text. Save " +
        "it as UTF-8 (“CSV UTF-8” in a spreadsheet program) and upload it again.",
    missing_text_column: (e, p) => "The first line must name the columns, one of them “text” " +
      "(or “image”); this file's first line has: " + (p.columns || []).join(", ") + ".",
    missing_header: () => "The first line is blank: it must name the columns (text, label, …).",
    empty_file: () => "The file is empty.",
    unknown_format: () => "Choose the file's format in the Format list, or name the file " +
      ".csv, .jsonl or .json.",
    malformed_json: (e, p) => p.column
      ? "Line " + e.line + " is not valid JSON (column " + p.column + ")."
      : e.message,
  };

  function words(e) {
    const render = ROW_WORDS[e.code];
    return render ? render(e, e.params || {}) : e.message;
  }

  function summary(data) {
    const codes = data.error_codes || {};
    const duplicates = codes.duplicate || 0;
    const others = (data.error_count || data.errors.length) - duplicates;
    const lines = [];
    if (duplicates) {
      lines.push(plural(duplicates, "row") + (duplicates === 1 ? " repeats" : " repeat") +
        " an item already in the project or earlier in the file; choose “" + SKIP_LABEL +
        "” to " + (others ? "leave them out" : "import the rest") + ".");
    }
    if (others) {
      lines.push(plural(others, "row") + (others === 1 ? " has a problem" : " have problems") +
        " to fix in the file.");
    }
    return lines;
  }

  function showErrors(data) {
    const count = data.error_count || data.errors.length;
    const heading = el(
      "div", { class: "notice bad", role: "alert" },
      el("strong", {}, plural(count, "error") + ": nothing was imported."),
      " Every bad row is listed below.",
      el("ul", { id: "import-summary" }, ...summary(data).map((text) => el("li", {}, text)))
    );
    const body = el("tbody");
    data.errors.forEach((e) => {
      body.append(el("tr", { "data-code": e.code || "" },
        el("td", {}, e.row ? String(e.row) : "—"), el("td", {}, e.line ? String(e.line) : "—"),
        el("td", {}, e.field), el("td", {}, words(e))));
    });
    const table = el("table", { class: "table errors", id: "import-errors" },
      el("thead", {}, el("tr", {}, el("th", {}, "Row"), el("th", {}, "Line"),
        el("th", {}, "Field"), el("th", {}, "Problem"))), body);
    const nodes = [heading, table];
    const more = count - data.errors.length;
    if (more > 0) nodes.push(el("p", { class: "muted more" }, "… and " + more + " more"));
    result.replaceChildren(...nodes);
  }

  function showFailure(message) {
    result.replaceChildren(el("div", { class: "notice bad", role: "alert" }, message));
  }

  function addBatchRow(data) {
    const table = document.getElementById("import-batches");
    table.querySelectorAll("tr.empty").forEach((row) => row.remove());
    const row = el("tr", {}, el("td", {}, "just now"), el("td", {}, data.file_name || ""),
      el("td", {}, "you"), el("td", {}, String(data.rows)), el("td", {}, String(data.created)),
      el("td", {}, String(data.skipped)), el("td", {}, String(data.labels)));
    table.tBodies[0].prepend(row);
  }

  async function refreshCounts() {
    const url = form.dataset.apiUrl.replace(/\/import\/?$/, "");
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const counts = (await response.json()).counts || {};
    document.querySelectorAll("[data-count]").forEach((node) => {
      if (node.dataset.count in counts) node.textContent = counts[node.dataset.count];
    });
  }

  function handleAnswer(code, data) {
    if (code === 201) return showSuccess(data);
    if (code === 202) return pollJob(data.job || data.id);
    if (code === 400 && data && Array.isArray(data.errors)) return showErrors(data);
    const detail = data && (data.detail || JSON.stringify(data));
    showFailure("The import was refused (" + code + ")" + (detail ? ": " + detail : "."));
  }

  async function pollJob(jobId) {
    submit.disabled = true;
    showProgress("Importing in the background…", 0);
    const url = form.dataset.jobsUrl.replace(/\/0\/?$/, "/" + jobId);
    try {
      for (;;) {
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) throw new Error("job status " + response.status);
        const job = await response.json();
        if (job.status === "succeeded") return showSuccess(job.result);
        if (job.status === "failed") {
          if (job.result && Array.isArray(job.result.errors)) return showErrors(job.result);
          return showFailure("The import failed: " + (job.error || "unknown error"));
        }
        const label = job.status === "queued" ? "Waiting for a worker…" : "Importing…";
        showProgress(label, job.progress || 0);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } catch (error) {
      showFailure("Lost track of the import: " + error.message);
    } finally {
      finish();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return showFailure("Choose a file first.");
    const params = new URLSearchParams();
    if (form.elements.format.value) params.set("format", form.elements.format.value);
    if (form.elements.on_duplicate.checked) params.set("on_duplicate", "skip");
    const body = new FormData();
    body.append("file", file);

    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.apiUrl + (params.toString() ? "?" + params : ""));
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) showProgress("Uploading " + file.name + "…", e.loaded / e.total);
    });
    xhr.upload.addEventListener("load", () => showProgress("Checking every row…", null));
    xhr.addEventListener("load", () => {
      finish();
      handleAnswer(xhr.status, xhr.response);
    });
    xhr.addEventListener("error", () => {
      finish();
      showFailure("The upload did not reach the server; check the connection and try again.");
    });
    submit.disabled = true;
    result.replaceChildren();
    showProgress("Uploading " + file.name + "…", 0);
    xhr.send(body);
  });
})();
