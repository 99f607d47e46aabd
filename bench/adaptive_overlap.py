"""Adaptive overlap vs a fixed overlap: annotations spent and consensus accuracy, simulated.

    python bench/adaptive_overlap.py            # synthetic crowd + the Snow et al. 2008 RTE crowd

Each item's annotators arrive one at a time in a seeded random order; the adaptive policy asks for
the next one exactly when :func:`annotation.services.overlap.required_overlap` (the rule the app
runs) says so. The consensus is the plurality label, ties to the label given first. Reported per
policy: annotations per item, consensus accuracy against the truth, and annotations saved against a
fixed overlap of ``max_overlap`` and against the fixed overlap (interpolated between 3, 5, 7, 9)
that reaches the same accuracy. Data: a synthetic crowd (10 annotators with accuracies 0.55-0.95,
3 classes), and the RTE crowd (800 items x 10 real workers, expert gold; ../shared/data).
Prints a table, writes bench/results/adaptive_overlap.json.
"""

import csv
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, ROOT, app_env, django_setup

RTE = ROOT.parent / "shared" / "data" / "snow2008-rte-crowd" / "rte.standardized.csv"


def setup() -> None:
    """Django configured (the overlap rule is a service), on no database it uses."""
    django_setup(app_env(Path(tempfile.mkdtemp())), migrate=False)


def plurality(labels: list[int]) -> int:
    counts = Counter(labels)
    best = max(counts.values())
    return next(label for label in labels if counts[label] == best)  # ties: given first


def run_policy(streams: list[list[int]], *, overlap: int, max_overlap: int, min_agreement: float):
    """(annotations used, consensus) per item; ``streams[u]`` = item u's labels in arrival order."""
    from annotation.services.overlap import required_overlap

    used, consensus = [], []
    for stream in streams:
        n = overlap
        while True:
            sets = [(str(x),) for x in stream[:n]]
            need = required_overlap(sets, overlap=overlap, max_overlap=max_overlap,
                                    min_agreement=min_agreement)  # fmt: skip
            if need <= n or n >= len(stream):
                break
            n = need
        used.append(n)
        consensus.append(plurality(stream[:n]))
    return np.array(used), np.array(consensus)


def synthetic(seed: int = 0, n_items: int = 3000, n_classes: int = 3, depth: int = 9):
    rng = np.random.default_rng(seed)
    accuracy = np.linspace(0.55, 0.95, 10)
    truth = rng.integers(0, n_classes, n_items)
    streams = []
    for t in truth:
        who = rng.permutation(accuracy.size)[:depth]
        wrong = (t + rng.integers(1, n_classes, depth)) % n_classes
        streams.append(np.where(rng.random(depth) < accuracy[who], t, wrong).tolist())
    return streams, truth


def rte(seed: int):
    if not RTE.exists():
        return None
    per_item: dict[str, list[int]] = {}
    gold: dict[str, int] = {}
    with RTE.open() as f:
        for row in csv.DictReader(f):
            per_item.setdefault(row["orig_id"], []).append(int(row["response"]))
            gold[row["orig_id"]] = int(row["gold"])
    rng = np.random.default_rng(seed)
    ids = sorted(per_item)
    return [list(rng.permutation(per_item[i])) for i in ids], np.array([gold[i] for i in ids])


POLICIES = [
    ("fixed", 3, 3, 0.0), ("fixed", 5, 5, 0.0), ("fixed", 7, 7, 0.0), ("fixed", 9, 9, 0.0),
    ("adaptive", 3, 5, 1.0), ("adaptive", 3, 7, 1.0), ("adaptive", 3, 7, 0.75),
    ("adaptive", 2, 5, 1.0), ("adaptive", 2, 7, 1.0), ("adaptive", 3, 9, 0.7),
]  # fmt: skip


def evaluate(name: str, datasets: list) -> list[dict]:
    """Average over the seeded orders in ``datasets`` (list of (streams, truth))."""
    rows = []
    for kind, lo, hi, agree in POLICIES:
        per_item, acc = [], []
        for streams, truth in datasets:
            used, consensus = run_policy(streams, overlap=lo, max_overlap=hi, min_agreement=agree)
            per_item.append(used.mean())
            acc.append((consensus == truth).mean())
        rows.append({"data": name, "policy": kind, "overlap": lo, "max_overlap": hi,
                     "min_agreement": agree if kind == "adaptive" else None,
                     "annotations_per_item": round(float(np.mean(per_item)), 3),
                     "accuracy": round(float(np.mean(acc)), 4),
                     "accuracy_sd": round(float(np.std(acc)), 4)})  # fmt: skip
    fixed = {r["max_overlap"]: r for r in rows if r["policy"] == "fixed"}
    for r in rows:
        ref = fixed.get(r["max_overlap"])
        if r["policy"] == "adaptive" and ref:
            r["saved_vs_fixed_max"] = round(
                1 - r["annotations_per_item"] / ref["annotations_per_item"], 3
            )
            r["accuracy_vs_fixed_max"] = round(r["accuracy"] - ref["accuracy"], 4)
        if r["policy"] == "adaptive":
            r["saved_at_equal_accuracy"] = _saved_at_equal_accuracy(r, list(fixed.values()))
    return rows


def _saved_at_equal_accuracy(row: dict, fixed: list[dict]) -> float | None:
    """1 - adaptive annotations / the (interpolated) fixed overlap reaching the same accuracy."""
    acc = [f["accuracy"] for f in fixed]
    if not acc[0] <= row["accuracy"] <= acc[-1] or np.any(np.diff(acc) <= 0):
        return None
    needed = float(np.interp(row["accuracy"], acc, [f["annotations_per_item"] for f in fixed]))
    return round(1 - row["annotations_per_item"] / needed, 3)


def main() -> None:
    setup()
    results = evaluate("synthetic", [synthetic(seed) for seed in range(5)])
    orders = [rte(seed) for seed in range(20)]
    if orders[0] is not None:
        results += evaluate("rte", orders)
    else:
        print(f"(RTE data missing at {RTE}: synthetic only)")
    head = f"{'data':<9} {'policy':<9} {'min':>3} {'max':>3} {'agree':>5} {'ann/item':>8} {'accuracy':>8} {'saved vs fixed max':>18} {'Δacc':>7} {'saved @ equal acc':>17}"
    print(head)
    for r in results:
        agree = "" if r["min_agreement"] is None else f"{r['min_agreement']:.2f}"
        saved = f"{r['saved_vs_fixed_max']:.1%}" if "saved_vs_fixed_max" in r else ""
        dacc = f"{r['accuracy_vs_fixed_max']:+.4f}" if "accuracy_vs_fixed_max" in r else ""
        equal = r.get("saved_at_equal_accuracy")
        equal = "" if equal is None else f"{equal:.1%}"
        print(f"{r['data']:<9} {r['policy']:<9} {r['overlap']:>3} {r['max_overlap']:>3} {agree:>5} "
              f"{r['annotations_per_item']:>8.2f} {r['accuracy']:>8.4f} {saved:>18} {dacc:>7} {equal:>17}")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "adaptive_overlap.json"
    out.write_text(json.dumps({"results": results}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
