// The audit review page: keys for the server-rendered forms. One finding is "current";
// j/n and p move between findings, k/x/m/r press that finding's keep/exclude/merge/redact
// button (the form posts, the server answers with the page again). No content is written here.

const findings = Array.from(document.querySelectorAll(".finding"));
let current = 0;

function focusFinding(index) {
  if (!findings.length) return;
  current = Math.max(0, Math.min(findings.length - 1, index));
  findings.forEach((f, i) => f.classList.toggle("current", i === current));
  findings[current].focus();
}

const anchored = findings.findIndex((f) => `#${f.id}` === window.location.hash);
if (findings.length) focusFinding(anchored >= 0 ? anchored : 0);

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = event.target.tagName;
  if (tag === "INPUT" && event.target.type !== "radio") return;
  if (tag === "TEXTAREA" || tag === "SELECT") return;
  const key = event.key.toLowerCase();
  if (key === "j" || key === "n") {
    focusFinding(current + 1);
  } else if (key === "p") {
    focusFinding(current - 1);
  } else if (findings.length) {
    const button = findings[current].querySelector(`button[data-key="${key}"]`);
    if (!button) return;
    button.click();
  } else {
    return;
  }
  event.preventDefault();
});

findings.forEach((finding, index) => finding.addEventListener("focusin", () => {
  current = index;
  findings.forEach((f, i) => f.classList.toggle("current", i === current));
}));
