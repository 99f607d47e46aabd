"""Data-centric compression: tokens saved against macro-F1 lost, per corpus and level.

    python bench/compression.py              # every corpus + the 100k timing (a half hour)
    python bench/compression.py --skip-scale --only po   # one of sms, python, po, po-tuned

Corpora: (1) SMS spam (../shared/data/uci-sms-spam) planted into e-mail furniture drawn at
random, independently of the label: headers, cookie banners, HTML pages, sign-offs,
signatures with a disclaimer, quoted replies of another SMS (bench/_compression_corpora.py);
(2) real Python source files of six installed packages, labelled by package, with their
real licence headers and import blocks; (3) Django's real gettext catalogs
(``django/**/locale/<lang>/LC_MESSAGES/django.po``), labelled by base language, whose header
block and English msgids recur across files. The catalogs run twice: with the default
profile, and with one parameter changed for their format (``PO_PROFILE``).

Per corpus: a stratified 70/30 split. The sweep (5-fold CV on the 70%) proposes a level
within the tolerance; then every level is fitted on the 70% and scored on the held-out 30%,
compressed against raw, so the proposal is checked on data it never saw. Tokens are cl100k
over the whole corpus. A last setting adds the model-guided filter (scorer fitted on the
training split) to show over-compression. Prints a table, writes bench/results/compression.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _compression_corpora as corpora  # noqa: E402
from learning.classifier import fit_classifier, predict_proba_full  # noqa: E402
from learning.compress import DEFAULT_PROFILE, Profile, count_tokens, sweep, token_report  # noqa: E402
from learning.compress.model_guided import linear_sentence_scorer  # noqa: E402
from learning.featurize import TextFeaturizer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LEVELS = (0.25, 0.5, 0.75, 1.0)
TOLERANCE = 0.01
WITH_MODEL = Profile.from_dict(
    {
        "name": "default+model",
        "filters": [
            *DEFAULT_PROFILE.to_dict()["filters"][:-1],
            {"name": "model"},
            {"name": "normalize"},
        ],
    }
)


def held_out(train: list[str], test: list[str], y_train, y_test, n_classes: int, pipeline) -> float:
    """Fit corpus filters, featurizer and model on train; macro-F1 on compressed test."""
    if pipeline is not None:
        train = [e.text for e in pipeline.fit_transform(train)]
        test = [pipeline.apply(t).text for t in test]
    featurizer = TextFeaturizer().fit(train)
    model = fit_classifier(featurizer.transform(train), y_train, multi_label=False)
    predicted = predict_proba_full(model, featurizer.transform(test), n_classes).argmax(axis=1)
    return float(f1_score(y_test, predicted, average="macro"))


# Two parameters changed for .po, none in the filters' code. Entries are short lines
# ('msgid "domain name"' is 19 characters), and the default boilerplate filter never
# counts a line under 20, so recurring short msgids stayed. And near_duplicates at its
# level-0.75 min_items of 2 deletes every translation two catalogs share, which is what
# regional variants (es, es_AR, es_MX...) do; at most 5 catalogs of one app share one
# language, so 10 catalogs is the least that a language's own translation never reaches.
PO_PARAMS = {"boilerplate": {"min_chars": 8}, "near_duplicates": {"min_items": 10}}
PO_PROFILE = Profile.from_dict(
    {
        "name": "po",
        "filters": [
            {**f, **PO_PARAMS.get(f["name"], {})} for f in DEFAULT_PROFILE.to_dict()["filters"]
        ],
    }
)


# The first 4,000 characters of each catalog (cut at an entry), as the Python sources are
# cut: with whole catalogs (7 KB on average, 42 KB at most) the first sweep had not ended
# after 23 minutes on this shared machine. The header and the first msgids are kept.
PO_CHARS = 4000


def run_corpus(
    name: str,
    texts: list[str],
    labels: list[int],
    profile: Profile = DEFAULT_PROFILE,
    *,
    with_model: bool = True,
) -> dict:
    y = np.asarray(labels)
    k = int(y.max() + 1)
    idx_train, idx_test = train_test_split(
        np.arange(len(texts)), test_size=0.3, stratify=y, random_state=0
    )
    train, test = [texts[i] for i in idx_train], [texts[i] for i in idx_test]
    start = time.perf_counter()
    swept = sweep(
        train,
        y[idx_train],
        profile=profile,
        levels=LEVELS,
        tolerance=TOLERANCE,
        n_classes=k,
    )
    sweep_seconds = time.perf_counter() - start
    raw_f1 = held_out(train, test, y[idx_train], y[idx_test], k, None)
    before = count_tokens(texts)
    rows = []
    for setting in swept["settings"]:
        level = setting["level"]
        start = time.perf_counter()
        compressed = [e.text for e in profile.build(level).fit_transform(texts)]
        seconds = time.perf_counter() - start
        report = token_report(before, count_tokens(compressed))
        f1 = held_out(train, test, y[idx_train], y[idx_test], k, profile.build(level))
        rows.append(
            _row(
                name,
                f"{profile.name}@{level}",
                report,
                setting["macro_f1"],
                swept["baseline"]["macro_f1"],
                f1,
                raw_f1,
                seconds,
                level == swept["proposed"],
            )
        )
    if with_model:
        # Model-guided on top of the most aggressive level, its scorer fitted on the training split.
        featurizer = TextFeaturizer().fit(train)
        model = fit_classifier(featurizer.transform(train), y[idx_train], multi_label=False)
        scorer = linear_sentence_scorer(featurizer.transform, model.coef_)
        pipeline = WITH_MODEL.build(1.0, scorer=scorer)
        start = time.perf_counter()
        compressed = [e.text for e in WITH_MODEL.build(1.0, scorer=scorer).fit_transform(texts)]
        seconds = time.perf_counter() - start
        report = token_report(before, count_tokens(compressed))
        f1 = held_out(train, test, y[idx_train], y[idx_test], k, pipeline)
        rows.append(
            _row(
                name,
                "default+model@1.0",
                report,
                float("nan"),
                swept["baseline"]["macro_f1"],
                f1,
                raw_f1,
                seconds,
                False,
            )
        )
    return {
        "corpus": name,
        "profile": profile.to_dict(),
        "items": len(texts),
        "classes": k,
        "sweep": swept,
        "sweep_seconds": sweep_seconds,
        "rows": rows,
    }


def _row(corpus, setting, report, cv_f1, cv_base, f1, raw_f1, seconds, proposed) -> dict:
    return {
        "corpus": corpus,
        "setting": setting + (" *" if proposed else ""),
        "tokens_before": report["tokens_before"],
        "tokens_after": report["tokens_after"],
        "reduction": 1 - report["token_ratio"],
        "attention_ratio": report["attention_ratio"],
        "cv_f1_loss": cv_base - cv_f1,
        "heldout_f1_raw": raw_f1,
        "heldout_f1": f1,
        "heldout_loss": raw_f1 - f1,
        "over_tolerance": raw_f1 - f1 > TOLERANCE,
        "compress_s": seconds,
    }


def scale(n: int = 100_000) -> dict:
    copies = -(-n // 5574)
    data = corpora.planted_sms(seed=1, copies=copies)
    texts = data[0][:n]
    start, cpu = time.perf_counter(), time.process_time()
    compressed = [e.text for e in DEFAULT_PROFILE.build(1.0).fit_transform(texts)]
    compress_s, compress_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    report = token_report(count_tokens(texts), count_tokens(compressed))
    count_s = time.perf_counter() - start
    # CPU seconds too: on a shared machine the wall time also measures the neighbours.
    return {
        "items": n,
        "compress_seconds": compress_s,
        "compress_cpu_seconds": compress_cpu,
        "token_count_seconds": count_s,
        "reduction": 1 - report["token_ratio"],
    }


def show(rows: list[dict]) -> None:
    cols = (
        "corpus",
        "setting",
        "tokens_before",
        "tokens_after",
        "reduction",
        "attention_ratio",
        "cv_f1_loss",
        "heldout_f1_raw",
        "heldout_f1",
        "heldout_loss",
        "over_tolerance",
        "compress_s",
    )
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--only-scale", action="store_true")
    parser.add_argument("--only", choices=("sms", "python", "po", "po-tuned"), help="one corpus")
    args = parser.parse_args()
    if args.only_scale:
        result = scale()
        print("scale:", result)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "compression_scale.json").write_text(json.dumps(result, indent=2))
        return
    results: dict = {"tolerance": TOLERANCE, "levels": LEVELS, "corpora": []}
    wanted = {args.only} if args.only else {"sms", "python", "po", "po-tuned"}
    planted = corpora.planted_sms() if "sms" in wanted else None
    if "sms" in wanted and planted is None:
        print(f"skip: planted SMS corpus, {corpora.SMS} is missing")
    elif planted is not None:
        results["corpora"].append(run_corpus("sms+planted", *planted))
        show(results["corpora"][-1]["rows"])
    if "python" in wanted:
        texts, labels, names = corpora.python_sources()
        if len(names) < 2:
            print("skip: python sources, fewer than two of the packages are installed")
        else:
            name = "python-sources:" + ",".join(names)
            results["corpora"].append(run_corpus(name, texts, labels))
            show(results["corpora"][-1]["rows"])
    if wanted & {"po", "po-tuned"}:
        texts, labels, names, _ = corpora.gettext_catalogs(max_chars=PO_CHARS)
        counts = np.bincount(labels, minlength=len(names))
        results["po_classes"] = dict(zip(names, counts.tolist(), strict=True))
        print(
            f"django-po: {len(texts)} catalogs, {len(names)} languages, {counts.min()}-{counts.max()} each"
        )
        for profile in [DEFAULT_PROFILE] * ("po" in wanted) + [PO_PROFILE] * ("po-tuned" in wanted):
            run = run_corpus(
                "django-po", texts, labels, profile, with_model=profile is DEFAULT_PROFILE
            )
            results["corpora"].append(run)
            show(results["corpora"][-1]["rows"])
    show([r for c in results["corpora"] for r in c["rows"]])
    for c in results["corpora"]:
        print(
            f"{c['corpus']} ({c['profile']['name']}): proposed level {c['sweep']['proposed']},"
            f" sweep {c['sweep_seconds']:.1f}s"
        )
    if not args.skip_scale and planted is not None:
        results["scale"] = scale()
        print("scale:", results["scale"])
    RESULTS.mkdir(exist_ok=True)
    suffix = f"_{args.only}" if args.only else ""
    out = RESULTS / f"compression{suffix}.json"
    out.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
