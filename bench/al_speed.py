"""How long a full retrain + rescore takes on PostgreSQL, with one and with two workers.

For each pool size a project gets N unlabeled SMS-like texts (the SMS Spam Collection,
resampled with two random tokens each so texts differ) and ``--labels`` labeled ones.
Then, for each worker count, that many ``celery -A quorum worker --concurrency 1``
processes start, an active-learning job is enqueued exactly as the API does
(``job_enqueue``), and the wall time from enqueue to "succeeded" is measured (load,
featurize, fit + CV, score in chunks, write back), with the job's own phase timings.
While the job runs, an annotator in this process asks the labeling queue
(``queue_next``, the service behind ``GET /api/projects/{id}/next``) for a new item every
0.5 s and skips it: the latency of those calls is reported, and how many said "nothing
left" although the pool was full (an outage while scores are written).

Needs PostgreSQL (``DATABASE_URL``) and Redis (``REDIS_URL``):

    eval "$(scripts/services.sh env)"; python bench/al_speed.py --sizes 100000,1000000

``--variant`` names the code under test in the results (rows are keyed by variant, pool,
workers and ``--run``, the repetition), so a run of another checkout's code (the baseline)
can be merged into one table: copy this script there, run it with ``--variant main --out
<file>``, then ``--merge <file>`` here. Each row records the load average (1 min) before and after its job.

Workers run with ``quorum.settings_test`` only because it reads ``QUORUM_CELERY_QUEUE``:
the benchmark uses a queue of its own on a Redis that others may share. Writes
bench/results/al_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, RESULTS, ROOT, Stack, app_env, django_setup

BENCH_DB = "quorum_bench_al"


def setup_django() -> dict[str, str]:
    """Recreate the benchmark database, point Django at it, migrate; returns the workers'
    environment (the test settings, whose queue is ``QUORUM_CELERY_QUEUE``)."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit('al_speed needs PostgreSQL and Redis: eval "$(scripts/services.sh env)"')
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    bench_url = url.rsplit("/", 1)[0] + "/" + BENCH_DB
    env = app_env(ROOT / "var", database_url=bench_url, redis_url=os.environ["REDIS_URL"],
                  DJANGO_SETTINGS_MODULE="quorum.settings_test",
                  QUORUM_CELERY_QUEUE=f"al-speed-{uuid.uuid4().hex[:8]}")  # fmt: skip
    django_setup(env)
    return env


def sms() -> tuple[list[str], list[str]]:
    with open(DATA / "uci-sms-spam" / "SMSSpamCollection", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line]
    return [r[1] for r in rows], [r[0] for r in rows]


def copy_items(project, texts: list[str], start: int) -> None:
    """COPY rows into the item table (bulk_create would take minutes for a million)."""
    from django.db import connection

    from annotation.models import Item

    fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults = {}
    for f in fields:
        value = f.get_default()  # "" for blank strings, None for nullable columns
        defaults[f.column] = (
            json.dumps(value)
            if f.get_internal_type() == "JSONField" and value is not None
            else value
        )
    now = time.strftime("%Y-%m-%d %H:%M:%S+00")
    with connection.cursor() as cursor:
        sql = f"COPY {Item._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for i, text in enumerate(texts, start):
                row = dict(defaults, project_id=project.pk, external_id=str(i), text=text,
                           sequence=i, created_at=now, status="open")  # fmt: skip
                copy.write_row([row[c] for c in columns])


def make_project(n_pool: int, n_labels: int, user):
    from annotation.models import Annotation, Item
    from annotation.services.projects import project_create

    texts, labels = sms()
    rng = np.random.default_rng(0)
    project = project_create(creator=user, name=f"speed-{n_pool}", labels=["ham", "spam"],
                             retrain_every=0, label_issues_every=0, agreement_every=0)  # fmt: skip
    pick = rng.integers(len(texts), size=n_pool + n_labels)
    tokens = rng.integers(100_000, size=(n_pool + n_labels, 2))
    corpus = [f"{texts[j]} w{a} w{b}" for j, (a, b) in zip(pick, tokens, strict=True)]
    t = time.perf_counter()
    for start in range(0, len(corpus), 100_000):
        copy_items(project, corpus[start : start + 100_000], start)
    # Labeled items: stratified so both classes are present.
    spam = [i for i in range(len(corpus)) if labels[pick[i]] == "spam"][: n_labels // 2]
    ham = [i for i in range(len(corpus)) if labels[pick[i]] == "ham"][: n_labels - len(spam)]
    chosen = Item.objects.filter(project=project, external_id__in=[str(i) for i in spam + ham])
    annotations = [Annotation(item=item, project=project, annotator=user,
                              labels=[labels[pick[int(item.external_id)]]]) for item in chosen]  # fmt: skip
    Annotation.objects.bulk_create(annotations)
    chosen.update(status="complete", annotation_count=1)
    print(f"  loaded {n_pool + n_labels} items in {time.perf_counter() - t:.1f} s", flush=True)
    return project


def time_job(project, reader, *, poll: float) -> dict:
    """Run one job; meanwhile an annotator asks for a new item every ``poll`` s (next, then
    skip, so every call claims an item instead of returning the lease it holds).

    Latencies are reported over the whole job, over the swap alone (calls made while the
    job's progress is 0.95, the value it holds from the end of scoring until it succeeds),
    and, as the machine's reference, over 20 calls before the job starts."""
    from annotation.jobs.dispatch import job_enqueue
    from annotation.models import Item, Job, JobKind
    from annotation.services.labeling import item_skip, queue_next

    def ask() -> tuple[float, bool]:
        t = time.perf_counter()
        lease = queue_next(project=project, annotator=reader)
        took = time.perf_counter() - t
        if lease is not None:
            item_skip(item=Item(pk=lease.item_id), annotator=reader)
        return took, lease is None  # None: "nothing left" while thousands are open

    Job.objects.filter(project=project).delete()
    idle = []
    for _ in range(20):
        idle.append(ask()[0])
        time.sleep(poll)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    job, _ = job_enqueue(project=project, kind=JobKind.ACTIVE_LEARNING)
    latencies, swap, empty = [], [], 0
    while True:
        progress = job.progress
        took, was_empty = ask()
        latencies.append(took)
        empty += was_empty
        if progress >= 0.95:
            swap.append(took)
        job.refresh_from_db()
        if job.status in ("succeeded", "failed"):
            break
        time.sleep(poll)
    wall = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"job failed: {job.error}")

    def pct(values: list[float], q: float) -> float | None:
        return round(float(np.percentile(values, q)) * 1000, 1) if values else None

    return {"wall_seconds": round(wall, 1), "timings": job.result["timings"],
            "chunks": job.result["chunks"], "n_scored": job.result["n_scored"],
            "n_written": job.result.get("n_written", job.result["n_scored"]),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "next_p50_ms": pct(latencies, 50), "next_p95_ms": pct(latencies, 95),
            "next_max_ms": pct(latencies, 100), "next_empty": empty,
            "next_samples": len(latencies),
            "swap_next_p50_ms": pct(swap, 50), "swap_next_p95_ms": pct(swap, 95),
            "swap_next_max_ms": pct(swap, 100), "swap_next_samples": len(swap),
            "idle_next_p50_ms": pct(idle, 50), "idle_next_p95_ms": pct(idle, 95)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--variant", default="head", help="name of the code under test")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between next calls")
    parser.add_argument("--run", type=int, default=1, help="repetition number, kept apart")
    parser.add_argument("--out", type=Path, default=RESULTS / "al_speed.json")
    parser.add_argument(
        "--merge",
        type=Path,
        action="append",
        default=[],
        help="result files of other runs to fold in (e.g. the baseline's)",
    )
    args = parser.parse_args()
    env = setup_django()
    from django.contrib.auth import get_user_model

    from annotation.services.projects import membership_set

    user = get_user_model().objects.create_user("bench", password="x")
    reader = get_user_model().objects.create_user("reader", password="x")
    rows = []
    for size in map(int, args.sizes.split(",")):
        print(f"pool {size}:", flush=True)
        project = make_project(size, args.labels, user)
        membership_set(project=project, user=reader, role="annotator")
        for n_workers in map(int, args.workers.split(",")):
            with Stack(env, ROOT / "var") as stack:
                for _ in range(n_workers):
                    stack.worker(pool="prefork", queue=env["QUORUM_CELERY_QUEUE"])
                result = time_job(project, reader, poll=args.poll)
            rows.append({"variant": args.variant, "run": args.run, "pool": size,
                         "workers": n_workers, **result})  # fmt: skip
            print(f"  {n_workers} worker(s): {result}", flush=True)
    out = args.out  # merged: a run of one size keeps the other sizes' rows
    out.parent.mkdir(parents=True, exist_ok=True)
    key = lambda r: (r["pool"], r.get("run", 1), r["workers"], r.get("variant", "main"))  # noqa: E731
    fresh = {key(r) for r in rows}
    kept = [r for f in [out, *args.merge] if f.exists() for r in json.loads(f.read_text())]
    merged = {key(r): r for r in kept if key(r) not in fresh} | {key(r): r for r in rows}
    out.write_text(json.dumps([merged[k] for k in sorted(merged)], indent=1))
    print(
        "\n| variant | run | pool | workers | wall s | load | featurize | fit | cv | score | write |"
        " rows written | next p50/p95/max ms | swap next p50/p95/max (n) | idle next p50/p95 |"
        " next empty | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in (merged[k] for k in sorted(merged)):
        t = r["timings"]
        print(
            f"| {r.get('variant', 'main')} | {r.get('run', 1)} | {r['pool']:,} | {r['workers']} | {r['wall_seconds']} |"
            f" {t['load']} | {t['featurize']} | {t['fit']} | {t['cv']} | {t['score']} |"
            f" {t['write']} | {r.get('n_written', r['n_scored']):,} | {r['next_p50_ms']}/"
            f"{r['next_p95_ms']}/{r.get('next_max_ms')} | {r.get('swap_next_p50_ms')}/"
            f"{r.get('swap_next_p95_ms')}/{r.get('swap_next_max_ms')} ({r.get('swap_next_samples')})"
            f" | {r.get('idle_next_p50_ms')}/{r.get('idle_next_p95_ms')} | {r.get('next_empty')} |"
            f" {r.get('load_before', '?')}-{r.get('load_after', '?')} |"
        )


if __name__ == "__main__":
    main()
