"""Soak: N annotators label for a long time against the production stack, with jobs running.

    eval "$(scripts/services.sh env)"
    python bench/soak.py                          # 16 annotators, 10 minutes
    python bench/soak.py --minutes 2              # a short run

The stack is the one we ship: gunicorn (``--web-workers`` sync workers, production
settings), PostgreSQL, Redis and two Celery workers (``--workers``). The project holds
``--items`` texts of the SMS Spam Collection (each with two random tokens, so texts
differ) in a database of its own (``<db>_soak``, recreated), and the broker is a Redis
database index of its own (``--redis-db``), so no other worker takes the jobs.

Each annotator is a thread: ``GET /next``, read for ``--think-ms`` (+-50 %), then
``POST /items/{id}/annotations/`` with the item's true label (5 % flipped, so the
label-issues job finds something). A manager starts an active-learning job and a
label-issues job through ``POST /api/projects/{id}/jobs`` every ``--job-every`` seconds
each (staggered), and waits for none: they run on the workers while people label.

Reports, per minute: requests, errors (anything but 200/201/204, or no answer), p50 and
p99 of next and submit, and the resident memory (RSS, whole process trees) of the web
server and of each worker, sampled every 5 s. Targets: 0 errors, no upward drift of p99,
no RSS growth beyond the first minute (warm-up). Also the jobs (started, succeeded,
failed, durations) and the queue's integrity (0 items served beyond the overlap, 0 lost
labels). Prints a table; writes bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import al_speed
import queue_speed
from _harness import Stack, django_setup

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "soak.json"
SAMPLE_SECONDS = 5.0


def rss_mb(pid: int) -> float:
    """Resident memory of the process and its children, in MB."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return round(total / 2**20, 1)


def make_soak_project(n_items: int, n_annotators: int):
    """The project (manual jobs: this bench starts them), its members, and the truth."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation.models import Item, Role
    from annotation.services.projects import membership_set, project_create

    texts, labels = al_speed.sms()
    rng = np.random.default_rng(0)
    pick = rng.integers(len(texts), size=n_items)
    tokens = rng.integers(100_000, size=(n_items, 2))
    corpus = [f"{texts[j]} w{a} w{b}" for j, (a, b) in zip(pick, tokens, strict=True)]
    owner, _ = get_user_model().objects.get_or_create(username="soak-manager")
    project = project_create(creator=owner, name="soak", labels=["ham", "spam"],
                             retrain_every=0, label_issues_every=0, agreement_every=0)  # fmt: skip
    al_speed.copy_items(project, corpus, 0)
    for i in range(n_annotators):
        user = get_user_model().objects.get(username=f"bench-annotator-{i}")
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    truth = {pk: labels[pick[int(ext)]] for pk, ext in
             Item.objects.filter(project=project).values_list("pk", "external_id")}  # fmt: skip
    return project, Token.objects.get_or_create(user=owner)[0].key, truth


class Recorder:
    """Every request as (seconds since start, kind, latency s, status or error name)."""

    def __init__(self, started: float):
        self.started = started
        self.lock = threading.Lock()
        self.rows: list[tuple[float, str, float, int | str]] = []

    def call(self, session, kind: str, method: str, url: str, **kwargs):
        sent = time.monotonic()
        try:
            response = session.request(method, url, timeout=60, **kwargs)
            outcome: int | str = response.status_code
        except requests.RequestException as exc:
            response, outcome = None, type(exc).__name__
        with self.lock:
            self.rows.append((sent - self.started, kind, time.monotonic() - sent, outcome))
        return response


def annotator(url, token, project_id, truth, think, until, seed, recorder, out) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    served, acked = [], []
    while time.monotonic() < until:
        r = recorder.call(session, "next", "GET", f"{url}/api/projects/{project_id}/next")
        if r is None or r.status_code != 200:
            time.sleep(1.0)  # 204 (nothing left) or an error: wait, as a person would
            continue
        item = r.json()["id"]
        served.append(item)
        time.sleep(think * rng.uniform(0.5, 1.5))
        label = truth[item]
        if rng.random() < 0.05:
            label = "spam" if label == "ham" else "ham"
        s = recorder.call(session, "submit", "POST", f"{url}/api/items/{item}/annotations/",
                          json={"label": label, "time_spent_ms": int(think * 1000)})  # fmt: skip
        if s is not None and s.status_code == 201:
            acked.append(s.json()["id"])
    out.update(served=served, acked=acked)


def manager(url, token, project_id, every, until, recorder, started_jobs) -> None:
    """Start an active-learning job, then (half a period later) a label-issues job, and so on."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    kinds = ["active_learning", "label_issues"]
    turn = 0
    time.sleep(every / 2)
    while time.monotonic() < until:
        kind = kinds[turn % 2]
        r = recorder.call(session, "job", "POST", f"{url}/api/projects/{project_id}/jobs",
                          json={"kind": kind})  # fmt: skip
        if r is not None and r.status_code == 202:
            started_jobs.append(r.json()["id"])
        turn += 1
        time.sleep(every / 2)


def sampler(pids: dict[str, int], until: float, started: float, samples: list) -> None:
    while time.monotonic() < until:
        samples.append({"t": round(time.monotonic() - started, 1),
                        **{name: rss_mb(pid) for name, pid in pids.items()}})  # fmt: skip
        time.sleep(SAMPLE_SECONDS)


def per_minute(rows, samples, names: list[str], minutes: int) -> list[dict]:
    table = []
    for m in range(minutes):
        window = [r for r in rows if m * 60 <= r[0] < (m + 1) * 60]
        errors = [r for r in window if r[3] not in (200, 201, 202, 204)]
        entry = {"minute": m + 1, "requests": len(window), "errors": len(errors)}
        for kind in ("next", "submit"):
            ms = np.asarray([r[2] for r in window if r[1] == kind and r[3] in (200, 201)]) * 1000
            entry[f"{kind}_p50_ms"] = round(float(np.percentile(ms, 50)), 1) if ms.size else None
            entry[f"{kind}_p99_ms"] = round(float(np.percentile(ms, 99)), 1) if ms.size else None
        in_minute = [s for s in samples if m * 60 <= s["t"] < (m + 1) * 60]
        for name in names:
            entry[f"{name}_rss_mb"] = max((s[name] for s in in_minute), default=None)
        table.append(entry)
    return table


def job_summary(job_ids: list[int]) -> dict:
    from annotation.models import Job

    jobs = list(Job.objects.filter(pk__in=job_ids))
    summary: dict = defaultdict(lambda: defaultdict(int))
    durations = defaultdict(list)
    for job in jobs:
        summary[job.kind][job.status] += 1
        if job.status == "succeeded" and job.started_at and job.finished_at:
            durations[job.kind].append((job.finished_at - job.started_at).total_seconds())
    out = {kind: dict(counts) for kind, counts in summary.items()}
    for kind, seconds in durations.items():
        out[kind]["median_seconds"] = round(float(np.median(seconds)), 1)
        out[kind]["max_seconds"] = round(max(seconds), 1)
    out["coalesced_requests"] = len(job_ids) - len(set(job_ids))
    return out


def wait_for_jobs(job_ids: list[int], timeout: float) -> None:
    from annotation.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Job.objects.filter(pk__in=job_ids, status__in=("queued", "running")).exists():
            return
        time.sleep(1.0)


def print_table(table: list[dict], names: list[str]) -> None:
    rss = " | ".join(f"{n} RSS MB" for n in names)
    print(f"| minute | requests | errors | next p50/p99 ms | submit p50/p99 ms | {rss} |")
    print("|---" * (5 + len(names)) + "|")
    for e in table:
        rss = " | ".join(str(e[f"{n}_rss_mb"]) for n in names)
        print(f"| {e['minute']} | {e['requests']} | {e['errors']} | {e['next_p50_ms']}/"
              f"{e['next_p99_ms']} | {e['submit_p50_ms']}/{e['submit_p99_ms']} | {rss} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--think-ms", type=int, default=1000, help="reading time per item")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--job-every", type=float, default=60.0,
                        help="seconds between two jobs of one kind (AL and label issues alternate)")  # fmt: skip
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers")
    parser.add_argument("--redis-db", type=int, default=11, help="Redis database index to use")
    args = parser.parse_args()
    base_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not base_url.startswith("postgres") or not redis_url:
        sys.exit('soak needs PostgreSQL and Redis: eval "$(scripts/services.sh env)" first.')
    broker = redis_url.rsplit("/", 1)[0] + f"/{args.redis_db}"
    database_url = queue_speed.bench_database_url(base_url, suffix="soak")
    env = queue_speed.app_environment(database_url, broker)
    django_setup(env)
    tokens = queue_speed.make_annotators(args.annotators)
    project, manager_token, truth = make_soak_project(args.items, args.annotators)
    stack = Stack(env, Path(env["QUORUM_VAR_DIR"]))
    workers = [stack.worker(pool="prefork", queue="celery") for _ in range(args.workers)]
    server, url = stack.web(workers=args.web_workers)
    names = ["web", *(f"worker{k}" for k in range(args.workers))]
    pids = dict(zip(names, [server.pid, *(w.pid for w in workers)], strict=True))
    seconds = args.minutes * 60
    started = time.monotonic()
    until = started + seconds
    recorder, samples, job_ids = Recorder(started), [], []
    outs = [{} for _ in tokens]
    threads = [threading.Thread(target=annotator, args=(url, token, project.pk, truth,
                                args.think_ms / 1000, until, i, recorder, outs[i]))
               for i, token in enumerate(tokens)]  # fmt: skip
    threads.append(threading.Thread(
        target=manager, args=(url, manager_token, project.pk, args.job_every, until, recorder,
                              job_ids)))  # fmt: skip
    threads.append(threading.Thread(target=sampler, args=(pids, until, started, samples)))
    print(f"soak: {args.annotators} annotators for {args.minutes:g} min at {url}", flush=True)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_for_jobs(job_ids, timeout=300)
    finally:
        stack.stop()
    rows = recorder.rows
    integrity = queue_speed.check_integrity(project, outs)
    errors = [r for r in rows if r[3] not in (200, 201, 202, 204)]
    table = per_minute(rows, samples, names, max(1, int(np.ceil(args.minutes))))
    warm = table[0]
    growth = {n: round((table[-1][f"{n}_rss_mb"] or 0) - (warm[f"{n}_rss_mb"] or 0), 1)
              for n in names}  # fmt: skip
    result = {
        "meta": {"time": datetime.now(UTC).isoformat(timespec="seconds"), "cpu_count": os.cpu_count(),
                 "annotators": args.annotators, "minutes": args.minutes, "think_ms": args.think_ms,
                 "items": args.items, "web_workers": args.web_workers, "workers": args.workers},
        "requests": len(rows), "errors": len(errors),
        "error_rate": round(len(errors) / max(1, len(rows)), 6),
        "error_kinds": {str(k): sum(1 for r in errors if r[3] == k) for k in {r[3] for r in errors}},
        "labels": sum(len(o.get("acked", [])) for o in outs),
        "integrity": integrity, "jobs": job_summary(job_ids),
        "rss_growth_after_first_minute_mb": growth, "per_minute": table, "rss_samples": samples,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    print_table(table, names)
    print(
        f"\nrequests {result['requests']}, errors {result['errors']} "
        f"(rate {result['error_rate']}), labels {result['labels']}, integrity {integrity}"
    )
    print(f"jobs {json.dumps(result['jobs'])}")
    print(f"RSS growth after the first minute (MB): {growth}\nwrote {RESULTS}")  # fmt: skip


if __name__ == "__main__":
    main()
