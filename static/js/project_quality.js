// The project page's label-quality section: start a label-issues run and follow it.
const section = document.getElementById("label-quality");
const button = document.getElementById("run-label-issues");
const status = document.getElementById("run-label-issues-status");

async function poll(jobId) {
  const job = await (await fetch(`/api/jobs/${jobId}`, { credentials: "same-origin" })).json();
  status.textContent = `${job.status} ${Math.round(100 * job.progress)}%`;
  if (job.status === "succeeded") location.reload();
  else if (job.status === "failed") status.textContent = `failed: ${job.error}`;
  else setTimeout(() => poll(jobId), 1500);
}

button.addEventListener("click", async () => {
  button.disabled = true;
  const response = await fetch(`/api/projects/${section.dataset.project}/jobs`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": button.dataset.csrf },
    body: JSON.stringify({ kind: "label_issues" }),
  });
  const body = await response.json();
  if (!response.ok) {
    status.textContent = body.detail || "could not start";
    button.disabled = false;
    return;
  }
  poll(body.id);
});
