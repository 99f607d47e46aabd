"""Data audit quality and speed: duplicate groups on SMS spam, PII detection, 100k-text scale.

    python bench/audit.py                 # everything (a few minutes)
    python bench/audit.py --skip-scale    # without the 100k run
    python bench/audit.py --only-scale --audit-only --audit-items 100000   # the audit job alone

Duplicates. The SMS spam set (../shared/data/uci-sms-spam, 5,574 texts) holds natural exact
duplicates. We plant near-duplicates by our own edit procedure: 500 seeded originals of 8+ words
that have no natural near-duplicate (word Jaccard >= 0.5 with another text) each get one copy with about one word in ten edited (a word substituted, deleted, inserted or
swapped with its neighbour, case changed, punctuation added). Reported per shingle size and
threshold: recall (planted copies found in one exact or near group with their original) and precision (of
the cluster mates of planted copies, the share that are the original, its exact copies or its
other copies), and F1. Exact groups are compared with the raw-equal truth (identical strings).

PII. Sentences from templates filled with Faker (six locales) carry one entity each (email,
phone, credit card, IBAN, IP address, national ID) or only distractors (order numbers, dates,
prices, versions, tracking codes, ISBNs, postcodes). Precision and recall per entity type,
a detection counting when its type matches and its span overlaps the planted one by half.

Scale. 100k texts (SMS texts with three random words appended), near-duplicate search timed
with its peak RSS. Then the whole audit job (``audit_job_handler``: load, duplicates, conflicts,
outliers, low information, PII, imbalance, writing the findings) at the project's default
settings on a project of 10k and 100k such items (a third of them labeled) in a scratch SQLite
database, timed per stage with the process's peak RSS.

Prints tables, writes bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
N_PLANTED = 500


def sms_texts() -> list[str]:
    path = DATA / "uci-sms-spam" / "SMSSpamCollection"
    return [line.rstrip("\n").split("\t", 1)[1] for line in path.open(encoding="utf-8")]


def edit(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    words = text.split()
    for _ in range(max(1, round(len(words) / 10))):
        i = rng.randrange(len(words))
        kind = rng.choice(["substitute", "delete", "insert", "swap", "case", "punctuation"])
        if kind == "substitute":
            words[i] = rng.choice(vocabulary)
        elif kind == "delete" and len(words) > 3:
            del words[i]
        elif kind == "insert":
            words.insert(i, rng.choice(vocabulary))
        elif kind == "swap" and i + 1 < len(words):
            words[i], words[i + 1] = words[i + 1], words[i]
        elif kind == "case":
            words[i] = words[i].upper()
        else:
            words[i] += rng.choice("!?.,")
    return " ".join(words)


def planted_corpus(seed: int = 0) -> tuple[list[str], dict[int, int]]:
    """SMS texts plus one edited copy of N_PLANTED originals; copy index -> original index."""
    from learning.audit.duplicates import near_duplicate_groups, normalize_text

    rng = random.Random(seed)
    texts = sms_texts()
    vocabulary = sorted({w for t in texts for w in t.split() if w.isalpha()})
    # Originals have no natural near-duplicate (word Jaccard >= 0.5 with another text), so the
    # planted truth is the whole truth about them.
    crowded = {m for g in near_duplicate_groups(texts, threshold=0.5, shingle=1) for m in g.members}
    seen, candidates = set(), []
    for i, text in enumerate(texts):
        key = normalize_text(text)
        if len(text.split()) >= 8 and key not in seen and i not in crowded:
            candidates.append(i)
        seen.add(key)
    originals = rng.sample(candidates, N_PLANTED)
    planted = {}
    for original in originals:
        planted[len(texts)] = original
        texts.append(edit(texts[original], rng, vocabulary))
    return texts, planted


def duplicate_table(texts: list[str], planted: dict[int, int]) -> list[dict]:
    from learning.audit.duplicates import exact_groups, near_duplicate_groups, normalize_text

    keys = [normalize_text(t) for t in texts]
    family = defaultdict(set)  # original -> itself, its exact copies, its planted copies
    for index, key in enumerate(keys):
        family[key].add(index)
    rows = []
    for shingle in (1, 2, 3):
        for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
            started = time.perf_counter()
            groups = near_duplicate_groups(texts, threshold=threshold, shingle=shingle)
            seconds = time.perf_counter() - started
            # A copy that differs only in case or spacing is an exact duplicate: found either way.
            cluster_of = {m: g.members for g in exact_groups(keys) + groups for m in g.members}
            found = correct = mates = 0
            for copy, original in planted.items():
                expected = family[keys[original]] | {c for c, o in planted.items() if o == original}
                members = set(cluster_of.get(copy, ())) - {copy}
                found += original in members
                mates += len(members)
                correct += len(members & expected)
            recall, precision = found / len(planted), correct / mates if mates else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            rows.append({"shingle": shingle, "threshold": threshold, "clusters": len(groups),
                         "recall": round(recall, 3), "precision": round(precision, 3),
                         "f1": round(f1, 3), "seconds": round(seconds, 2)})  # fmt: skip
    raw = exact_groups(texts)
    normal = exact_groups(keys)
    rows.append({"exact_groups_raw_equal": len(raw), "exact_groups_normalized": len(normal),
                 "raw_groups_inside_a_normalized_group": sum(
                     any(set(r.members) <= set(n.members) for n in normal) for r in raw)})  # fmt: skip
    return rows


# --- PII -------------------------------------------------------------------------------------

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
TEMPLATES = (
    "Please contact {} about the delivery of order #{order} due {date}.",
    "Hi, my details: {}. The invoice total is {price}, ref {tracking}.",
    "Customer wrote on {date}: update the account to {} before version {version} ships.",
    "{} - kindly confirm receipt; ISBN {isbn}, postcode {postcode}.",
)


def nino(rng: random.Random) -> str:
    """A UK National Insurance number of the allowed form (Faker's en_GB ``ssn`` is not)."""
    while True:
        prefix = rng.choice("ABCEGHJKLMNOPRSTWXYZ") + rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if prefix not in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
            return f"{prefix}{rng.randrange(10**6):06d}{rng.choice('ABCD')}"


def national_id(fake, locale: str, rng: random.Random) -> str:
    if locale == "en_GB":
        return nino(rng)
    if locale == "es_ES":
        return fake.nif() if rng.random() < 0.5 else fake.nie()
    return fake.ssn()  # US SSN, French NIR, Italian codice fiscale


def pii_examples(n_per_locale: int = 300, seed: int = 0) -> list[tuple[str, str | None, tuple]]:
    """(sentence, entity type or None, (start, end) of the planted entity)."""
    from faker import Faker

    rng = random.Random(seed)
    out = []
    makers = {
        "email": lambda f, loc: f.email(), "phone": lambda f, loc: f.phone_number(),
        "credit_card": lambda f, loc: f.credit_card_number(), "iban": lambda f, loc: f.iban(),
        "ip_address": lambda f, loc: f.ipv4() if rng.random() < 0.7 else f.ipv6(),
        "national_id": lambda f, loc: national_id(f, loc, rng), None: lambda f, loc: "",
    }  # fmt: skip
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for _ in range(n_per_locale):
            kind = rng.choice(list(makers))
            template = rng.choice(TEMPLATES)
            value = makers[kind](fake, locale) if kind else "see below"
            fill = {"order": str(rng.randrange(10**7, 10**16)), "date": fake.date(),
                    "price": f"{rng.randrange(1, 99999) / 100:,.2f} EUR",
                    "tracking": f"1Z{rng.randrange(10**15):015d}", "version": f"{rng.randrange(1, 9)}.{rng.randrange(20)}.{rng.randrange(20)}",
                    "isbn": fake.isbn13(), "postcode": fake.postcode()}  # fmt: skip
            head, tail = template.split("{}", 1)
            sentence = head.format(**fill) + value + tail.format(**fill)
            start = len(head.format(**fill))
            out.append((sentence, kind, (start, start + len(value))))
    return out


def pii_table(examples) -> list[dict]:
    from learning.audit.pii import PII_TYPES, find_pii

    tp, fp, fn = defaultdict(int), defaultdict(int), defaultdict(int)
    started = time.perf_counter()
    for sentence, kind, (start, end) in examples:
        hit = False
        for entity in find_pii(sentence):
            overlap = min(end, entity.end) - max(start, entity.start)
            if kind == entity.type and overlap >= (end - start) / 2:
                tp[kind] += 1
                hit = True
            else:
                fp[entity.type] += 1
        if kind and not hit:
            fn[kind] += 1
    seconds = time.perf_counter() - started
    rows = []
    for kind in PII_TYPES:
        p = tp[kind] / max(tp[kind] + fp[kind], 1)
        r = tp[kind] / max(tp[kind] + fn[kind], 1)
        rows.append({"type": kind, "planted": tp[kind] + fn[kind], "found": tp[kind],
                     "false_positives": fp[kind], "precision": round(p, 3), "recall": round(r, 3)})  # fmt: skip
    rows.append({"type": "all", "sentences": len(examples), "seconds": round(seconds, 2)})
    return rows


def scale_run(n: int = 100_000) -> dict:
    from learning.audit.duplicates import exact_groups, near_duplicate_groups, normalize_text

    rng = random.Random(1)
    base = sms_texts()
    vocabulary = sorted({w for t in base for w in t.split() if w.isalpha()})
    texts = [f"{rng.choice(base)} {' '.join(rng.choices(vocabulary, k=3))}" for _ in range(n)]
    started = time.perf_counter()
    exact = exact_groups([normalize_text(t) for t in texts])
    near = near_duplicate_groups(texts)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"texts": n, "seconds": round(seconds, 1), "exact_groups": len(exact),
            "near_groups": len(near), "peak_rss_mb": round(peak)}  # fmt: skip


def audit_scale_run(sizes: list[int]) -> list[dict]:
    """The audit job in-process on scratch projects of ``sizes`` items (default settings)."""
    import os
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="quorum-audit-bench-"))
    os.environ.update(DEBUG="1", LOG_LEVEL="WARNING", QUORUM_VAR_DIR=str(workdir / "var"),
                      CELERY_TASK_ALWAYS_EAGER="1", SQLITE_PATH=str(workdir / "bench.sqlite3"),
                      DJANGO_SETTINGS_MODULE="quorum.settings", SECRET_KEY="bench")  # fmt: skip
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from annotation.models import Item, Job, JobKind, Label, Project
    from learning.services.audit import audit_job_handler

    rng = random.Random(1)
    base = sms_texts()
    vocabulary = sorted({w for t in base for w in t.split() if w.isalpha()})
    rows = []
    for n in sizes:
        project = Project.objects.create(name=f"audit bench {n}")
        for position, name in enumerate(("ham", "spam")):
            Label.objects.create(project=project, name=name, position=position)
        for start in range(0, n, 5000):  # in chunks: 100k model instances would inflate the peak
            Item.objects.bulk_create(
                [Item(project=project, external_id=str(i), sequence=i,
                      text=f"{rng.choice(base)} {' '.join(rng.choices(vocabulary, k=3))}",
                      final_labels=[rng.choice(("ham", "spam"))] if i % 3 == 0 else None,
                      meta={"source": rng.choice(("web", "sms", "mail"))})
                 for i in range(start, min(n, start + 5000))]
            )  # fmt: skip
        job = Job.objects.create(project=project, kind=JobKind.AUDIT)
        started, cpu = time.perf_counter(), time.process_time()
        result = audit_job_handler(job, lambda fraction: None)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append({"items": n, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
                     "peak_rss_mb": round(peak), "findings": result["findings"],
                     **{f"{k} s": v for k, v in result["timings"].items()},
                     **{f"{k} MB": v for k, v in result["peak_rss_mb"].items()}})  # fmt: skip
    return rows


def show(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row.get(c, "")) for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--only-scale", action="store_true", help="only the scale runs")
    parser.add_argument("--audit-only", action="store_true",
                        help="with --only-scale: only the whole-audit run")  # fmt: skip
    parser.add_argument("--audit-items", type=int, nargs="*", default=[10_000, 100_000],
                        help="project sizes for the whole-audit run (none: skip it)")  # fmt: skip
    args = parser.parse_args()
    results = {}
    if args.only_scale:
        return _scale(
            args, results, RESULTS / f"audit_scale_{'-'.join(map(str, args.audit_items))}.json"
        )
    texts, planted = planted_corpus()
    results["duplicates"] = duplicate_table(texts, planted)
    show("near-duplicates on SMS spam with 500 planted copies", results["duplicates"])
    results["pii"] = pii_table(pii_examples())
    show("PII detection (Faker, six locales, with distractors)", results["pii"])
    if args.skip_scale:
        return _write(results, RESULTS / "audit.json")
    _scale(args, results, RESULTS / "audit.json")


def _scale(args, results: dict, path: Path) -> None:
    """The near-duplicate search alone, then the whole audit job; ``--audit-only`` skips the
    first, so the job's peak RSS is its own (a process never gives its peak back)."""
    if not args.audit_only:
        results["scale"] = scale_run()
        show("near-duplicate search alone", [results["scale"]])
    if args.audit_items:
        results["audit_scale"] = audit_scale_run(args.audit_items)
        show("the whole audit job at default settings (seconds and peak RSS after each stage)",
             results["audit_scale"])  # fmt: skip
    _write(results, path)


def _write(results: dict, path: Path) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
