"""Queue speed: next + submit through the REST API under gunicorn on PostgreSQL.

    eval "$(scripts/services.sh env)"
    python bench/queue_speed.py --sizes 100000 1000000 --clients 1 4 16 --seconds 20

Creates a throwaway database ``<db>_queue_bench`` next to ``DATABASE_URL``, a project
per size with items bulk-loaded by COPY, starts gunicorn on it, and drives it with 1, 4
and 16 annotator clients (separate processes, keep-alive HTTP) that each loop
``GET /next`` then ``POST /items/{id}/annotations/`` for a fixed time. Reports p50/p95/p99
latency of next, submit and the pair, labels per second, and two counts that must be 0:
items served to more annotators than the overlap, and lost labels (a 201 whose row is
missing, or rows the API never acknowledged). Prints a table; writes
bench/results/queue_speed.json.
"""

import argparse
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "queue_speed.json"
LABELS = ["positive", "negative", "neutral"]
WARMUP_SECONDS = 2.0


def bench_database_url(base_url: str) -> str:
    """The same server, a database of our own: the bench never touches real data."""
    import dj_database_url

    cfg = dj_database_url.parse(base_url)
    if "postgresql" not in cfg["ENGINE"]:
        sys.exit('queue_speed needs PostgreSQL: eval "$(scripts/services.sh env)" first.')
    name = f"{cfg['NAME']}_queue_bench"
    import psycopg

    admin = psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"], user=cfg["USER"], password=cfg["PASSWORD"],
        dbname=cfg["NAME"], autocommit=True,
    )  # fmt: skip
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return base_url.rsplit("/", 1)[0] + "/" + name


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "quorum.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_annotators(n: int) -> list[str]:
    """``n`` users with API tokens (created once, reused by every project)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    tokens = []
    for i in range(n):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-annotator-{i}")
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    return tokens


def make_project(size: int, n_annotators: int, seed: int = 0):
    """A project with ``size`` items (COPY), scored priorities, and the bench annotators."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotation.models import Item, Role
    from annotation.services.projects import membership_set, project_create

    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    project = project_create(creator=owner, name=f"bench {size}", labels=LABELS)
    for i in range(n_annotators):
        user = get_user_model().objects.get(username=f"bench-annotator-{i}")
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    template = Item(project=project)
    fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
    rng = random.Random(seed)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        columns = ", ".join(f.column for f in fields)
        with cursor.connection.cursor().copy(
            f"COPY annotation_item ({columns}) FROM STDIN"
        ) as copy:
            for i in range(size):
                row = {
                    "external_id": f"item-{i}", "text": f"Item {i}: a sentence to label.",
                    "sequence": i, "priority": rng.random(), "created_at": now,
                }  # fmt: skip
                copy.write_row([_copy_value(f, template, row) for f in fields])
        cursor.execute("ANALYZE annotation_item")
    return project, time.perf_counter() - started


def _copy_value(field, template, overrides: dict):
    value = overrides.get(field.name, getattr(template, field.attname))
    if field.get_internal_type() == "JSONField" and value is not None:
        return json.dumps(value)
    return field.get_prep_value(value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(database_url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"DATABASE_URL": database_url, "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "quorum.wsgi", "-w", str(workers), "-b",
         f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            requests.get(url + "/healthz", timeout=5)
            return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    sys.exit("gunicorn did not start")


def client_loop(
    url: str, token: str, project_id: int, start_at: float, seconds: float, seed: int,
    warmup: float = WARMUP_SECONDS,
):  # fmt: skip
    """One annotator: next + submit until time is up. Returns timings and what it saw.

    The first ``warmup`` seconds (workers importing code, opening connections) are
    not timed, but what was served and acknowledged then still counts for integrity.
    """
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    while time.time() < start_at:
        time.sleep(0.001)
    timed_from = start_at + warmup
    end = timed_from + seconds
    nexts, submits, pairs, served, acked, errors = [], [], [], [], [], 0
    while (started := time.time()) < end:
        t0 = time.perf_counter()
        r = session.get(f"{url}/api/projects/{project_id}/next")
        t1 = time.perf_counter()
        if r.status_code == 204:
            break
        if r.status_code != 200:
            errors += 1
            continue
        item = r.json()["id"]
        served.append(item)
        body = {"label": rng.choice(LABELS), "time_spent_ms": 1000}
        s = session.post(f"{url}/api/items/{item}/annotations/", json=body)
        t2 = time.perf_counter()
        if s.status_code != 201:
            errors += 1
            continue
        acked.append(s.json()["id"])
        if started < timed_from:
            continue
        nexts.append(t1 - t0)
        submits.append(t2 - t1)
        pairs.append(t2 - t0)
    return {"next": nexts, "submit": submits, "pair": pairs, "served": served,
            "acked": acked, "errors": errors}  # fmt: skip


def run_clients(url: str, tokens: list[str], project_id: int, seconds: float) -> dict:
    n = len(tokens)
    start_at = time.time() + 1.0
    with ProcessPoolExecutor(max_workers=n) as pool:
        futures = [
            pool.submit(client_loop, url, token, project_id, start_at, seconds, i)
            for i, token in enumerate(tokens)
        ]
        results = [f.result() for f in futures]
    return {"clients": results, "wall": seconds}  # the timed part; warm-up excluded


def check_integrity(project, results: list[dict]) -> dict:
    """Double-served items (beyond the overlap) and lost or unacknowledged labels."""
    from annotation.models import Annotation, Item

    served_to: dict[int, set[int]] = defaultdict(set)
    for annotator, result in enumerate(results):
        for item in result["served"]:
            served_to[item].add(annotator)
    double_served = sum(1 for who in served_to.values() if len(who) > project.overlap)
    acked = {a for result in results for a in result["acked"]}
    stored = set(Annotation.objects.filter(project=project).values_list("id", flat=True))
    over = Item.objects.filter(project=project, annotation_count__gt=project.overlap).count()
    return {
        "double_served": double_served,
        "lost": len(acked - stored),
        "unacknowledged_rows": len(stored - acked),
        "items_over_overlap": over,
    }


def percentiles(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    ms = np.asarray(seconds) * 1000
    return {f"p{q}": round(float(np.percentile(ms, q)), 1) for q in (50, 95, 99)}


def summarize(size: int, clients: int, run: dict, integrity: dict) -> dict:
    results = run["clients"]
    merged = {k: [x for r in results for x in r[k]] for k in ("next", "submit", "pair")}
    return {
        "items": size, "clients": clients, "labels": len(merged["pair"]),
        "labels_per_s": round(len(merged["pair"]) / run["wall"], 1),
        "errors": sum(r["errors"] for r in results),
        **{f"{k}_ms": percentiles(v) for k, v in merged.items()},
        **integrity,
    }  # fmt: skip


def print_table(rows: list[dict]) -> None:
    head = (f"{'items':>9} {'cli':>3} {'labels/s':>8} | {'next p50/p95/p99 ms':>20} | "
            f"{'submit p50/p95/p99':>20} | {'pair p50/p95/p99':>20} | dbl lost err")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in rows:
        cols = [
            "/".join(f"{r[k][p]:.1f}" for p in ("p50", "p95", "p99"))
            for k in ("next_ms", "submit_ms", "pair_ms")
        ]
        print(f"{r['items']:>9} {r['clients']:>3} {r['labels_per_s']:>8} | {cols[0]:>20} | "
              f"{cols[1]:>20} | {cols[2]:>20} | {r['double_served']:>3} {r['lost']:>4} "
              f"{r['errors']:>3}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        sys.exit('Set DATABASE_URL (eval "$(scripts/services.sh env)").')
    database_url = bench_database_url(base_url)
    django_setup(database_url)
    tokens = make_annotators(max(args.clients))
    server, url = start_gunicorn(database_url, args.workers)
    rows, setup = [], {}
    try:
        for size in args.sizes:
            project, seconds = make_project(size, max(args.clients))
            setup[size] = round(seconds, 1)
            print(f"{size} items loaded in {seconds:.1f} s", flush=True)
            history: list[dict] = [{"served": [], "acked": []} for _ in tokens]
            for clients in args.clients:
                run = run_clients(url, tokens[:clients], project.pk, args.seconds)
                for seen, result in zip(history, run["clients"], strict=False):
                    seen["served"] += result["served"]
                    seen["acked"] += result["acked"]
                # Checked over every run on this project: annotators keep their identity.
                integrity = check_integrity(project, history)
                rows.append(summarize(size, clients, run, integrity))
                print_table(rows[-1:])
    finally:
        server.terminate()
        server.wait(timeout=30)
    print()
    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"when": datetime.now(UTC).isoformat(), "machine": platform.platform(),
            "cpus": os.cpu_count(), "gunicorn_workers": args.workers, "seconds": args.seconds,
            "load_seconds": setup}  # fmt: skip
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
