// Project form: an editable label list (add, remove, reorder) and a live guidelines preview.
// The preview is rendered and sanitized by the server (POST guidelines-preview); this
// script never turns Markdown into HTML itself.
(function () {
  "use strict";

  const form = document.getElementById("project-form");
  if (!form) return;
  const tbody = document.querySelector("#label-table tbody");
  const template = document.getElementById("label-row-template");
  const palette = JSON.parse(document.getElementById("label-palette").textContent);

  function rows() {
    return Array.from(tbody.querySelectorAll("tr.label-row"));
  }

  function refreshButtons() {
    const all = rows();
    all.forEach((row, i) => {
      row.querySelector(".move-up").disabled = i === 0;
      row.querySelector(".move-down").disabled = i === all.length - 1;
      row.querySelector(".remove-label").disabled = all.length === 1;
    });
  }

  function addRow() {
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector('input[name="label_color"]').value = palette[rows().length % palette.length];
    tbody.appendChild(row);
    refreshButtons();
    row.querySelector('input[name="label_name"]').focus();
  }

  tbody.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const row = button.closest("tr");
    if (button.classList.contains("remove-label")) {
      row.remove();
    } else if (button.classList.contains("move-up") && row.previousElementSibling) {
      tbody.insertBefore(row, row.previousElementSibling);
    } else if (button.classList.contains("move-down") && row.nextElementSibling) {
      tbody.insertBefore(row.nextElementSibling, row);
    }
    refreshButtons();
    button.focus();
  });

  // A key field holds one character: typing replaces it.
  tbody.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!input.matches('input[name="label_key"]')) return;
    if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.value = event.key.toLowerCase();
    }
  });

  document.getElementById("add-label").addEventListener("click", addRow);
  refreshButtons();

  // --- guidelines preview ------------------------------------------------
  const textarea = form.querySelector('textarea[name="guidelines"]');
  const preview = document.getElementById("guidelines-preview");
  const state = document.getElementById("preview-state");
  const csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  let timer = null;
  let sent = 0;

  async function renderPreview() {
    const ticket = ++sent;
    state.textContent = "updating…";
    const body = new FormData();
    body.append("guidelines", textarea.value);
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": csrf },
        credentials: "same-origin",
      });
      const data = await response.json();
      if (ticket !== sent) return; // a newer request is on its way
      if (!response.ok) throw new Error(data.error || "Preview failed.");
      // Server-sanitized HTML (render_guidelines: python-markdown + nh3).
      preview.innerHTML = data.html || '<p class="muted">Nothing to preview yet.</p>';
      state.textContent = "";
    } catch (error) {
      if (ticket === sent) state.textContent = "(" + error.message + ")";
    }
  }

  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(renderPreview, 300);
  });
  if (textarea.value.trim()) renderPreview();
})();
