"""The scaling table: what each part of Quorum costs at 100k, 1M and 10M text items, on PostgreSQL.

    eval "$(scripts/services.sh env)"
    python bench/scale.py --sizes 100000,1000000,10000000
    python bench/scale.py --sizes 1000000 --steps rescore,snapshot     # rerun single steps

Each size has its own database (``quorum_scale_<size>`` beside the one ``DATABASE_URL``
names) and runs in a subprocess of its own, so that ``pg_database_size`` is that size's
alone. The steps run in this order, whatever order ``--steps`` names them in; every step but
``import`` reuses the project an earlier run left:

- ``import``: recreate the database, create a project, then ``manage.py import_items`` a CSV
  of SMS-like texts (the SMS Spam Collection resampled with two random tokens each, as
  ``bench/al_speed.py`` does; cached in the temporary folder): seconds, items/s, peak RSS.
- ``queue``: ``scripts/web.sh`` (gunicorn, one process per core, two threads) on the size's
  database, driven over HTTP by 1 then 16 annotator clients back to back for ``--seconds``
  each (``bench/queue_speed.py``'s client): next / submit / pair p50 and p99, labels/s,
  integrity counts, and the web server's peak RSS. Clients label at random.
- ``rescore``: tops the project up to ``SEED_LABELS`` labeled items, then one active-learning
  job (fit on the labels, score and write back every open item) on one real Celery worker
  (``bench/al_speed.py``'s ``time_job``, which also probes ``next`` during the job).
- ``labels``: tops the project up to ``--labels`` (100k) labeled items, one human label each
  from five annotators, the SMS truth flipped to another label at ``NOISE`` (10%): bulk
  ``Annotation`` rows plus the item counters, as ``bench/al_speed.py`` seeds them. At 100k
  items this labels every item (so run ``queue`` and ``rescore`` before it).
- ``issues``: one label-issues job (cross-validated classifier + confident learning over every
  labeled item) on one worker: wall seconds, the job's phases, worker peak RSS.
- ``snapshot``: a default-spec snapshot built by a worker and every format downloaded over
  HTTP (``bench/export_speed.py``'s ``run``): build seconds, download seconds, peak RSS.
- ``size``: ``VACUUM ANALYZE``, then ``pg_database_size``, the biggest tables and indexes, and
  ``EXPLAIN ANALYZE`` of the queue's head query as the owner would run it.

The import runs with the audit and drift jobs after import turned off: each step measures
one job on a fresh worker, which would otherwise run those first.

The load average (1, 5, 15 min) is recorded beside every figure: the machine is shared. The
table says, for each measure, how it grows from size to size (flat, sublinear, linear,
worse: the slope of log cost on log size, overall and per step) and why (``MEASURES_TEXT``).
Results merge into bench/results/scale.json (a rerun of one step at one size replaces only
that entry).

10M: the full run of every step takes longer than the session had on 2 cores shared with
5 other agents (load 7 to 12): import took 17 min, a rescore ~10x the 1M one's 5 min, a
label-issues job 28 min at 100k. So the 10M run of 2026-12-07 ran import, queue, labels,
snapshot, size and (last, once the machine was quieter) issues, and NOT rescore: its fit is
constant and its score + write phases were linear from 100k to 1M (14 -> 227 s, 2.7 -> 28 s) (``--steps`` chooses; ``--deadline HH:MM`` (UTC)
skips a step that would start after it, and says so in the output and the JSON). ``--tag``
stores a rerun beside the first (``queue@after-vacuum``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, ROOT, Stack, app_env, django_setup
from al_speed import sms, time_job
from export_speed import PeakRss
from export_speed import run as snapshot_run
from import_speed import run_command
from queue_speed import (
    LABELS,
    check_integrity,
    make_annotators,
    run_clients,
    server_cpu,
    summarize,
)
from web_server import start_server

STEPS = ("import", "queue", "rescore", "labels", "issues", "snapshot", "size")
OUT = RESULTS / "scale.json"
SEED_LABELS = 1_000
NOISE = 0.10
ANNOTATORS = 16
TRUTH = {"spam": LABELS[0], "ham": LABELS[1]}  # the third label is only ever noise


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- data ---------------------------------------------------------------------------------


def corpus_picks(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Which SMS each item resamples, and its two random tokens: (n,), (n, 2)."""
    rng = np.random.default_rng(seed)
    n_texts = len(sms()[0])
    return rng.integers(n_texts, size=n), rng.integers(100_000, size=(n, 2))


def make_csv(n: int) -> Path:
    """``id,text`` of ``n`` resampled SMS texts, written once into the temporary folder."""
    path = Path(tempfile.gettempdir()) / "quorum-bench" / f"scale-sms-{n}.csv"
    if path.exists():
        return path
    path.parent.mkdir(exist_ok=True)
    texts, _ = sms()
    pick, tokens = corpus_picks(n)
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for start in range(0, n, 100_000):
            stop = min(start + 100_000, n)
            rows = zip(
                range(start, stop), pick[start:stop], tokens[start:stop].tolist(), strict=True
            )
            writer.writerows([f"s{i}", f"{texts[j]} w{a} w{b}"] for i, j, (a, b) in rows)
    partial.rename(path)
    return path


def label_items(project, target: int, size: int) -> int:
    """Give unlabeled items one human label each until ``target`` items are labeled; the
    truth is flipped at ``NOISE``. Returns how many were added."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from annotation.models import Annotation, Item

    done = Item.objects.filter(project=project, annotation_count__gt=0).count()
    need = max(0, target - done)
    if not need:
        return 0
    _, truth_names = sms()
    pick, _ = corpus_picks(size)
    rng = np.random.default_rng(1)
    users = list(get_user_model().objects.filter(username__startswith="bench-annotator-")
                 .order_by("pk")[:5])  # fmt: skip
    todo = (Item.objects.filter(project=project, annotation_count=0).order_by("pk")
            .values_list("pk", "external_id")[:need])  # fmt: skip
    rows = list(todo)
    for start in range(0, len(rows), 5_000):
        chunk = rows[start : start + 5_000]
        annotations = []
        for k, (pk, external_id) in enumerate(chunk, start):
            label = TRUTH[truth_names[pick[int(external_id[1:])]]]
            if rng.random() < NOISE:
                label = rng.choice([x for x in LABELS if x != label])
            annotations.append(Annotation(item_id=pk, project=project, annotator=users[k % 5],
                                          labels=[str(label)]))  # fmt: skip
        with transaction.atomic():
            Annotation.objects.bulk_create(annotations)
            Item.objects.filter(pk__in=[pk for pk, _ in chunk]).update(
                status="complete", annotation_count=1
            )
    return len(rows)


# --- one size, in its own process ---------------------------------------------------------


def database_url(size: int, *, recreate: bool) -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit('scale.py needs PostgreSQL: eval "$(scripts/services.sh env)" first.')
    name = f"quorum_scale_{size}"
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if recreate and exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if recreate or not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def the_project(size: int):
    from annotation.models import Project

    project = Project.objects.filter(name=f"scale {size}").first()
    if project is None:
        sys.exit(f"no project at {size}: run --steps import first")
    return project


def step_import(size: int, env: dict) -> dict:
    from django.contrib.auth import get_user_model

    from annotation.models import Role
    from annotation.services.projects import membership_set, project_create

    path = make_csv(size)
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    project = project_create(creator=owner, name=f"scale {size}", labels=LABELS,
                             retrain_every=0, label_issues_every=0, agreement_every=0)  # fmt: skip
    make_annotators(ANNOTATORS)
    for i in range(ANNOTATORS):
        user = get_user_model().objects.get(username=f"bench-annotator-{i}")
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    before = load()
    seconds, peak = run_command(env, project.pk, path)
    return {"seconds": round(seconds, 1), "items_per_s": round(size / seconds),
            "peak_rss_mb": round(peak, 1), "file_mb": round(path.stat().st_size / 2**20, 1),
            "load_before": before, "load": load()}  # fmt: skip


def step_queue(size: int, env: dict, seconds: float) -> dict:
    project = the_project(size)
    tokens = make_annotators(ANNOTATORS)
    out: dict = {}
    with Stack(env, Path(env["QUORUM_VAR_DIR"]) / "queue") as stack:
        server, url = start_server(stack, "gunicorn", env)
        rss = PeakRss(server.pid)
        out["web_idle_rss_mb"] = round(rss.sample(), 1)
        for clients in (1, 16):
            run = run_clients(url, tokens[:clients], project.pk, seconds, server.pid,
                              env["DATABASE_URL"].rsplit("/", 1)[1])  # fmt: skip
            row = summarize(size, clients, 0, run, check_integrity(project, run["clients"]))
            out[f"clients_{clients}"] = row | {"load": load()}
        out["web_peak_rss_mb"] = round(rss.stop(), 1)
    return out | {"load": load()}


def run_job(env: dict, project, kind: str) -> dict:
    """One job of ``kind`` on one fresh Celery worker: wall seconds, result, worker peak RSS."""
    from annotation.jobs.dispatch import job_enqueue
    from annotation.models import Job

    # An interrupted run's job of this kind: its message was in that run's private broker,
    # and job_enqueue would coalesce with it.
    Job.objects.filter(project=project, kind=kind, status__in=("queued", "running")).delete()
    with Stack(env, Path(env["QUORUM_VAR_DIR"]) / kind) as stack:
        worker = stack.worker(pool="prefork", polling=0.1)
        rss, cpu = PeakRss(worker.pid), Cpu(worker.pid, env)
        began = time.perf_counter()
        job, _ = job_enqueue(project=project, kind=kind)
        while job.status not in ("succeeded", "failed"):
            time.sleep(0.5)
            job.refresh_from_db()
        wall = time.perf_counter() - began
        peak, cpu_seconds = rss.stop(), cpu.seconds()  # before the worker stops
    if job.status != "succeeded":
        raise RuntimeError(f"{kind} job failed: {job.error[-2000:]}")
    return {"wall_seconds": round(wall, 1), "cpu_seconds": cpu_seconds, "result": job.result,
            "worker_peak_rss_mb": round(peak, 1)}  # fmt: skip


class Cpu:
    """CPU seconds since creation of a worker's processes and its database's PostgreSQL
    backends (``queue_speed.server_cpu``): what a job costs, however busy the machine is."""

    def __init__(self, pid: int, env: dict) -> None:
        self.pid, self.database = pid, env["DATABASE_URL"].rsplit("/", 1)[1]
        self.before = server_cpu(pid, self.database)

    def seconds(self) -> float:
        after = server_cpu(self.pid, self.database)
        return round(sum(t - self.before.get(pid, 0.0) for pid, t in after.items()), 1)


def step_rescore(size: int, env: dict) -> dict:
    from django.contrib.auth import get_user_model

    from annotation.models import Item

    project = the_project(size)
    added = label_items(project, SEED_LABELS, size)
    labeled = Item.objects.filter(project=project, annotation_count__gt=0).count()
    reader = get_user_model().objects.get(username="bench-annotator-15")
    before = load()
    with Stack(env, Path(env["QUORUM_VAR_DIR"]) / "rescore") as stack:
        worker = stack.worker(pool="prefork", polling=0.1)
        rss, cpu = PeakRss(worker.pid), Cpu(worker.pid, env)
        result = time_job(project, reader)
        peak, cpu_seconds = rss.stop(), cpu.seconds()  # before the worker stops
    return result | {"cpu_seconds": cpu_seconds, "labeled": labeled, "labels_added": added, "worker_peak_rss_mb": round(peak, 1),
                     "load_before": before, "load": load()}  # fmt: skip


def step_labels(size: int, target: int) -> dict:
    from annotation.models import Annotation

    project = the_project(size)
    began = time.perf_counter()
    added = label_items(project, target, size)
    return {"added": added, "seconds": round(time.perf_counter() - began, 1),
            "annotations": Annotation.objects.filter(project=project).count(), "load": load()}  # fmt: skip


def step_issues(size: int, env: dict) -> dict:
    from annotation.models import JobKind

    before = load()
    out = run_job(env, the_project(size), JobKind.LABEL_ISSUES)
    result = out.pop("result")
    return out | {"labeled": result["labeled"], "flagged": result["flagged"],
                  "timings": result.get("timings"), "load_before": before, "load": load()}  # fmt: skip


def step_snapshot(size: int, env: dict) -> dict:
    from rest_framework.authtoken.models import Token

    project = the_project(size)
    token, _ = Token.objects.get_or_create(user=project.created_by)
    before = load()
    env = env | {"CELERY_SOFT_TIME_LIMIT": "7200", "CELERY_TIME_LIMIT": "7300"}
    result = snapshot_run(env, {"project": project.pk, "token": token.key},
                          Path(env["QUORUM_VAR_DIR"]) / "snapshot")  # fmt: skip
    return result | {"load_before": before, "load": load()}


def queue_plan(size: int) -> dict:
    """``EXPLAIN ANALYZE`` of the queue's head query (the SQL ``next`` runs, captured as it
    runs, not copied) for the project's owner: its plan's first lines and execution time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from annotation.rawsql import queue_head

    project = the_project(size)
    with CaptureQueriesContext(connection) as captured:  # as an annotator with no skips yet
        queue_head(project_id=project.pk, annotator_id=project.created_by_id, now=timezone.now(),
                   exclude_ids=(), lock=False)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + captured.captured_queries[-1]["sql"])
        plan = [row[0] for row in cursor.fetchall()]
    return {"plan": plan[:6], "execution": plan[-1].strip()}


def step_size(size: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT pg_database_size(current_database())")
        total = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
            " ORDER BY 2 DESC LIMIT 6"
        )
        biggest = [{"table": name, "total_mb": round(t / 2**20, 1), "heap_mb": round(h / 2**20, 1)}
                   for name, t, h in cursor.fetchall()]  # fmt: skip
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'i' ORDER BY 2 DESC LIMIT 6"
        )
        indexes = [{"index": name, "mb": round(s / 2**20, 1)} for name, s in cursor.fetchall()]
    return {"database_mb": round(total / 2**20, 1), "biggest_tables": biggest,
            "biggest_indexes": indexes, "queue_plan": queue_plan(size), "load": load()}  # fmt: skip


def one_size(size: int, steps: list[str], args: argparse.Namespace) -> None:
    """Run ``steps`` at ``size`` (in this process) and merge them into ``OUT``."""
    url = database_url(size, recreate="import" in steps)
    var = Path(tempfile.mkdtemp(prefix=f"quorum-scale-{size}-"))
    # A private filesystem broker (no REDIS_URL): no worker on a shared Redis takes our jobs.
    # No audit or drift job after the import: the steps measure one job at a time, and the
    # worker of a later step would otherwise run those first (over every item).
    env = app_env(var, database_url=url, debug=False, CELERY_SOFT_TIME_LIMIT="7200",
                  CELERY_TIME_LIMIT="7300", QUORUM_AUDIT_AFTER_IMPORT="0",
                  QUORUM_DRIFT_AFTER_IMPORT="0")  # fmt: skip
    django_setup(env)
    runners = {
        "import": lambda: step_import(size, env),
        "queue": lambda: step_queue(size, env, args.seconds),
        "rescore": lambda: step_rescore(size, env),
        "labels": lambda: step_labels(size, args.labels),
        "issues": lambda: step_issues(size, env),
        "snapshot": lambda: step_snapshot(size, env),
        "size": lambda: step_size(size),
    }
    deadline = _deadline(args.deadline)
    for step in steps:
        if deadline and datetime.now(UTC) > deadline:
            result: dict = {"skipped": f"started after the deadline {args.deadline} UTC"}
        else:
            print(f"[{size:,}] {step} ... (load {load()})", flush=True)
            began = time.perf_counter()
            result = runners[step]()
            result["step_seconds"] = round(time.perf_counter() - began, 1)
        result["when"] = datetime.now(UTC).isoformat(timespec="seconds")
        print(f"[{size:,}] {step}: {json.dumps(_brief(result))}", flush=True)
        _merge(size, f"{step}@{args.tag}" if args.tag else step, result)


def _deadline(text: str) -> datetime | None:
    if not text:
        return None
    hour, minute = map(int, text.split(":"))
    return datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)


def _brief(result: dict) -> dict:
    return {k: v for k, v in result.items() if not isinstance(v, list | dict) or k == "load"}


def _merge(size: int, step: str, result: dict) -> None:
    data = json.loads(OUT.read_text()) if OUT.exists() else {"sizes": {}}
    data["sizes"].setdefault(str(size), {})[step] = result
    data["meta"] = {"cpus": os.cpu_count(), "noise": NOISE, "seed_labels": SEED_LABELS,
                    "python": sys.version.split()[0]}  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")


# --- the table ----------------------------------------------------------------------------


def _get(d, *keys):
    """``d[k1][k2]...``, or None where a key is missing; in a list of downloads, a key
    picks the row of that format."""
    for key in keys:
        if isinstance(d, list):
            d = next((row for row in d if row.get("format") == key), None)
        elif isinstance(d, dict):
            d = d.get(key)
        if d is None:
            return None
    return d


def _rerun(tagged: str, path: tuple, d: dict):
    """``path`` read from the rerun ``tagged`` (``step@tag``) where there is one."""
    return _get(d, tagged, *path[1:]) if tagged in d else _get(d, *path)


def _execution_ms(d: dict):
    """The queue head query's execution time, None where it found no item (an empty queue
    is not comparable)."""
    plan = _get(d, "size", "queue_plan") or {}
    text = plan.get("execution", "")
    if not text.startswith("Execution Time") or " rows=0 " in plan["plan"][0]:
        return None
    return float(text.split(":")[1].split()[0])


#: The table's rows: "measure | where it is in one size's results (dotted keys, or ``fn``
#: and a function of this module)", then why it grows as it does, indented.
MEASURES_TEXT = """
import s | import.seconds
    per chunk one COPY, then B-tree inserts into the item table's 3 indexes (primary key,
    unique (project, external id), the open-queue partial index): N log N in principle; past
    1M the indexes outgrow shared_buffers (128 MB; ~310 MB of them at 1M). The file is one
    transaction and both foreign keys are DEFERRABLE INITIALLY DEFERRED (Django's default),
    so PostgreSQL queues 2N referential checks and runs them at COMMIT (minutes at 10M). The
    rate also follows the machine's load. (The 2026-12-07 figures are 9dc33bc's: since
    71cf6c7 items carry no per-row foreign key checks and one COPY stream spans the file,
    ~3x the items/s at 1M; the index inserts remain)

import items/s | import.items_per_s
    as import s

import peak RSS MB | import.peak_rss_mb
    rows stream in chunks, but in-file duplicate detection keeps every external id seen
    (pipeline.first_row, a dict of N strings): linear in N above a ~145 MB base, ~115 bytes
    an item (1.3 GB at 10M)

1 client pair p50 ms | queue.clients_1.pair_ms.p50
    next walks item_open_queue_idx (partial index on open items, in queue order) from its
    head and stops at LIMIT 1: an index descent, O(log N); submit writes one row

1 client pair p99 ms | queue.clients_1.pair_ms.p99
    as p50; the tail is the shared machine's load

16 clients pair p50 ms | queue.clients_16.pair_ms.p50
    16 clients on 2 shared cores: latency = clients / throughput (Little's law), and
    throughput is CPU per label, which does not depend on N. The first 10M run came right
    after the import, during autovacuum of the fresh 10M-row table (whose first reads also
    set hint bits): 18.5 ms CPU a label; the rerun after it (@after-vacuum) is flat

16 clients pair p99 ms | queue.clients_16.pair_ms.p99
    as 16 clients p50

16 clients labels/s | queue.clients_16.labels_per_s
    as 16 clients p50

server CPU ms per label (16 clients) | queue.clients_16.server_cpu_ms_per_label
    gunicorn + PostgreSQL CPU per next + submit, independent of the machine's load: flat

queue head query ms (EXPLAIN ANALYZE) | fn _execution_ms
    the plan is an index scan of item_open_queue_idx with anti-joins on the annotator's
    annotations and skips, stopped at the first match: its cost is the index entries passed
    over, not N (0.106 ms, 11 buffers at 1M). At 10M it read 725 buffers (1.15 ms): the 100k
    items just labeled were the queue's head, and VACUUM skipped index cleanup because they
    were under 2% of the table's pages (PostgreSQL 14+'s bypass), so their dead entries stayed
    at the head; after VACUUM (INDEX_CLEANUP ON) it is 0.118 ms, 11 buffers
    (size@index-cleanup). As N grows, autovacuum (20% of rows dead) and the 2% bypass let more labeled
    items pile up at the head: set a per-table autovacuum scale factor on annotation_item.
    Not at 100k: every item is labeled there, and an empty queue is not comparable

rescore s (1 worker) | rescore.wall_seconds
    fit + cross-validation on the ~1k seed labels is constant; featurize + predict every
    open item (chunks of id ranges) and UPDATE every open item's priority are linear in N;
    the UPDATE is not HOT (priority is in item_open_queue_idx), so each rescore also adds N
    index entries (the index is 199 MB at 1M after two rescores). (The 2026-12-07 figures
    are 9dc33bc's: since 5afd328 a rescore writes only the head of its ranking, max(20k,
    20 x batch) rows under a new score generation, so the write is flat in N and only the
    scoring stays linear)

rescore CPU s (worker + PostgreSQL) | rescore.cpu_seconds
    as rescore s

label issues s (100k labels) | issues.wall_seconds
    5-fold cross-validated logistic regression over the labeled items only (100k at every
    size) on hashed TF-IDF; the job never reads unlabeled items: flat in N. The wall time
    follows the machine's load (7-9 at 100k and 1M, 2-4 at 10M); its CPU seconds do not

label issues CPU s | issues.cpu_seconds
    as label issues s

snapshot build s | snapshot.build_seconds
    the build pages through every item of the project in key order (rawsql.snapshot_items)
    and makes rows for labeled ones only: the scan is linear in N while the 100k rows are
    constant, so the total grows sublinearly at these sizes and tends to linear

download jsonl s | snapshot.downloads.jsonl.seconds
    streams the stored file of 100k rows at every size: flat

download parquet s | snapshot.downloads.parquet.seconds
    as jsonl

database MB | size.database_mb
    the item heap (~220 bytes a row as imported) and its indexes (unique external id,
    open-queue, primary key: ~140 bytes a row): linear in N, plus ~26 MB for the 100k labels. The
    1M figure is high and 10M's step low because 1M was rescored twice: every rescore
    rewrites each open row (511 MB of heap at 1M against 2,186 MB at 10M)

web peak RSS MB | queue.web_peak_rss_mb
    a request loads one item and writes one label: flat

rescore worker peak RSS MB | rescore.worker_peak_rss_mb
    the model and one chunk of items at a time, plus the open items' ids and scores as
    arrays for the swap: grows slowly with N

label issues worker peak RSS MB | issues.worker_peak_rss_mb
    the 100k labeled items' features and the fold models: flat in N

snapshot worker peak RSS MB | snapshot.worker_peak_rss_mb
    a page of items at a time plus 12 bytes a selected item for the split: flat in N
"""


def measures() -> list[tuple[str, Any, str]]:
    """``MEASURES_TEXT`` as (measure, keys or function, why) rows."""
    rows = []
    for block in MEASURES_TEXT.strip().split("\n\n"):
        head, *why = block.split("\n")
        name, where = (part.strip() for part in head.split(" | "))
        read = globals()[where[3:]] if where.startswith("fn ") else tuple(where.split("."))
        rows.append((name, read, " ".join(line.strip() for line in why)))
    return rows


MEASURES = measures()


def growth(values: list[tuple[int, float]]) -> str:
    """'flat' / 'sublinear' / 'linear' / 'worse' from the slope k of log(value) on log(size)
    between the first and last sizes measured; then each step's own slope."""
    pairs = [(n, v) for n, v in values if v is not None and v > 0]
    if len(pairs) < 2:
        return "?"

    def slope(a: tuple[int, float], b: tuple[int, float]) -> float:
        return math.log(b[1] / a[1]) / math.log(b[0] / a[0])

    k = slope(pairs[0], pairs[-1])
    word = "flat" if k < 0.25 else "sublinear" if k < 0.8 else "linear" if k < 1.2 else "worse"
    steps = ", ".join(f"{slope(a, b):.2f}" for a, b in zip(pairs, pairs[1:], strict=False))
    return f"{word} (x^{k:.2f}" + (f"; steps {steps})" if len(pairs) > 2 else ")")


def print_table() -> None:
    data = json.loads(OUT.read_text())
    sizes = sorted(int(s) for s in data["sizes"])
    print(f"\n| measure | {' | '.join(f'{s:,}' for s in sizes)} | growth | why |")
    print("|---" * (len(sizes) + 3) + "|")
    tags = sorted({k for d in data["sizes"].values() for k in d if "@" in k})
    rows = list(MEASURES)
    for tagged in tags:  # a rerun's figures as rows of their own, the first run's elsewhere
        step, tag = tagged.split("@")
        rows += [(f"{name} (@{tag} where rerun)", partial(_rerun, tagged, read), "as above")
                 for name, read, _ in MEASURES if not callable(read) and read[0] == step]  # fmt: skip
    for name, read, why in rows:
        values = [(s, read(data["sizes"][str(s)]) if callable(read) else
                   _get(data["sizes"][str(s)], *read)) for s in sizes]  # fmt: skip
        if all(v is None for _, v in values):
            continue
        cells = " | ".join("-" if v is None else f"{v:,}" for _, v in values)
        print(f"| {name} | {cells} | {growth(values)} | {why} |")
    print("\nload average (1/5/15 min) after each step:")
    for s in sizes:
        steps = data["sizes"][str(s)]
        print(f"  {s:,}: " + "; ".join(f"{k} {v.get('load', v.get('skipped'))}"
                                       for k, v in steps.items()))  # fmt: skip
    skipped = [f"{s:,} {k}" for s in sizes for k, v in data["sizes"][str(s)].items()
               if "skipped" in v]  # fmt: skip
    skipped += [f"{s:,} {k} (not run)" for s in sizes for k in STEPS
                if k not in data["sizes"][str(s)]]  # fmt: skip
    if skipped:
        print("not measured: " + ", ".join(skipped))
    print(f"\nwrote {OUT.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"any of {','.join(STEPS)}")
    parser.add_argument("--seconds", type=float, default=15.0, help="per queue run")
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--deadline", default="", help="HH:MM UTC: skip steps that start later")
    parser.add_argument(
        "--tag", default="", help="store as <step>@<tag> (a rerun beside the first)"
    )
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--table", action="store_true", help="only print the table")
    args = parser.parse_args()
    asked = set(args.steps.split(","))
    if asked - set(STEPS):
        parser.error(f"unknown steps: {', '.join(sorted(asked - set(STEPS)))}")
    steps = [s for s in STEPS if s in asked]
    if args.one_size:
        one_size(args.one_size, steps, args)
        return
    if not args.table:
        for size in map(int, args.sizes.split(",")):
            # One process per size: Django binds to one database per process.
            argv = [sys.executable, __file__, "--one-size", str(size), "--steps", ",".join(steps),
                    "--seconds", str(args.seconds), "--labels", str(args.labels),
                    "--deadline", args.deadline, "--tag", args.tag]  # fmt: skip
            if subprocess.run(argv, cwd=ROOT).returncode:
                sys.exit(f"size {size} failed")
    print_table()


if __name__ == "__main__":
    main()
