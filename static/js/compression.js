// The compression preview: keys for its links and its button. ←/→ move along the measured
// levels (the server renders each), p opens the proposed level, j/k move between the sample
// items, r presses "run a sweep". No content is written here.

const links = Array.from(document.querySelectorAll("a.level-link"));
const currentRow = document.querySelector(".curve-table tr[aria-current='true']");
const currentIndex = currentRow
  ? links.findIndex((a) => a.dataset.level === currentRow.dataset.level)
  : -1;
const samples = Array.from(document.querySelectorAll(".sample"));
let sample = -1;

function focusSample(index) {
  if (!samples.length) return;
  sample = Math.max(0, Math.min(samples.length - 1, index));
  samples.forEach((s, i) => s.classList.toggle("current", i === sample));
  samples[sample].focus();
}

function goLevel(step) {
  const next = links[currentIndex + step];
  if (next) window.location.assign(next.href);
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = event.target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
  const key = event.key;
  if (key === "ArrowRight") {
    goLevel(1);
  } else if (key === "ArrowLeft") {
    goLevel(-1);
  } else if (key === "p") {
    const proposed = document.getElementById("proposed-link");
    if (!proposed) return;
    window.location.assign(proposed.href);
  } else if (key === "j") {
    focusSample(sample + 1);
  } else if (key === "k") {
    focusSample(sample - 1);
  } else if (key === "r") {
    document.getElementById("run-sweep").click();
  } else {
    return;
  }
  event.preventDefault();
});
