"""Each hand-written SQL statement against its ORM twin, and against the request it serves.

    eval "$(scripts/services.sh env)"
    python bench/rawsql_speed.py --items 100000 --calls 300

On a throwaway database ``<db>_rawsql_bench`` (PostgreSQL, prepared statements on, as in
production) it builds a project of ``--items`` items, lets eight annotators label a few
hundred of them through the API, then times, in one process and interleaved call by call:

- every statement of ``annotation.rawsql`` and ``learning.rawsql`` and its ORM twin
  (``tests/*/orm_twins.py``), median per call; writes run in a savepoint rolled back
  after each call, the same for both;
- the request each statement serves, median: ``GET next``, ``POST annotations``,
  ``POST skip`` (in-process through Django's test client, token auth), an import of
  ``--import-rows`` labeled rows, and for the job statements the job's phase they run in.

``gain`` = (twin - statement) x the number of times the request runs it; ``share`` = gain /
request. The issue's rule: a statement whose share is under 10% goes back to the ORM, judged
together with the other small statements of the same request: four statements of 3-6% each
are 15% of a submit, which is not noise (see ``request_verdicts``).
Prints a table; writes bench/results/rawsql_speed.json.
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
RESULTS = ROOT / "bench" / "results" / "rawsql_speed.json"
RULE = 0.10  # the threshold: a gain under 10% of the request goes back to the ORM


def median_us(fn: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def paired(raw: Callable, orm: Callable, calls: int, *, write: bool) -> tuple[float, float]:
    """Median µs of ``raw`` and ``orm``, interleaved in rounds of 10 (load drifts on a shared
    machine); a write is rolled back after each call."""
    from django.db import transaction

    def undone(fn):
        def run():
            sid = transaction.savepoint()
            fn()
            transaction.savepoint_rollback(sid)

        return run

    raw, orm = (undone(raw), undone(orm)) if write else (raw, orm)
    for fn in (raw, orm, raw, orm):  # warm up: prepared statements, caches
        fn()
    a, b = [], []
    for _ in range(max(1, calls // 10)):
        a.append(median_us(raw, 10))
        b.append(median_us(orm, 10))
    return statistics.median(a), statistics.median(b)


def label_some(client_for, project, tokens, rounds: int) -> dict[str, list[float]]:
    """Annotators take turns: next, then submit (every 5th item skipped). Returns request
    times in µs by kind."""
    times: dict[str, list[float]] = {"next": [], "submit": [], "skip": []}
    for r in range(rounds):
        client = client_for(tokens[r % len(tokens)])
        t = time.perf_counter()
        served = client.get(f"/api/projects/{project.pk}/next")
        times["next"].append((time.perf_counter() - t) * 1e6)
        assert served.status_code == 200, served.content
        item_id = served.json()["id"]
        t = time.perf_counter()
        if r % 5 == 4:
            done = client.post(f"/api/items/{item_id}/skip", {}, format="json")
            times["skip"].append((time.perf_counter() - t) * 1e6)
        else:
            done = client.post(f"/api/items/{item_id}/annotations/",
                               {"labels": ["positive"]}, format="json")  # fmt: skip
            times["submit"].append((time.perf_counter() - t) * 1e6)
        assert done.status_code in (200, 201), done.content
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=400, help="API requests timed")
    parser.add_argument("--import-rows", type=int, default=10_000)
    args = parser.parse_args()
    from queue_speed import bench_database_url, django_setup, make_annotators, make_project

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url:
        sys.exit('Set DATABASE_URL (eval "$(scripts/services.sh env)").')
    django_setup(bench_database_url(base_url, suffix="rawsql_bench"))
    rows = request_verdicts(run(args, make_annotators, make_project))
    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"when": datetime.now(UTC).isoformat(), "items": args.items, "calls": args.calls,
            "rule": RULE}  # fmt: skip
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


def run(args, make_annotators, make_project) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.test import APIClient

    from annotation import rawsql
    from annotation.models import Item, Lease
    from annotation.services.importing import import_objects
    from learning import rawsql as lrawsql
    from learning.agreement.service import load_ratings, report_for
    from tests.annotation import orm_twins
    from tests.learning import orm_twins as ltwins

    tokens = make_annotators(8)
    project, _ = make_project(args.items, 8)
    users = list(get_user_model().objects.filter(username__startswith="bench-annotator-")
                 .order_by("username"))  # fmt: skip

    def client_for(token):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    label_some(client_for, project, tokens, 50)  # history: labels, skips, leases, jobs
    requests = label_some(client_for, project, tokens, args.rounds)
    request_us = {k: statistics.median(v) for k, v in requests.items()}

    me, now = users[0], timezone.now()
    item = Item.objects.filter(project=project, annotations__isnull=False).first()
    lease_item = Item.objects.filter(project=project, status="open").order_by("?").first()
    Lease.objects.update_or_create(item=lease_item, annotator=me, defaults={
        "project": project, "expires_at": now + timedelta(minutes=30)})  # fmt: skip
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    token = tokens[0]

    # (name, request, calls per request, raw, twin, writes?)
    def both(name, fn_args):
        return (lambda: getattr(rawsql, name)(**fn_args)), (
            lambda: getattr(orm_twins, name)(**fn_args))  # fmt: skip

    head = {"project_id": project.pk, "annotator_id": me.pk, "now": now, "exclude_ids": (),
            "lock": True}  # fmt: skip
    held = {"project": project, "annotator": me, "now": now, "exclude_ids": ()}
    room = {"item_id": lease_item.pk, "annotator_id": users[1].pk, "project_id": project.pk,
            "now": now, "expires_at": now + timedelta(minutes=30), "required_overlap": 2,
            "annotation_count": 0}  # fmt: skip
    pair = {"item_id": lease_item.pk, "annotator_id": me.pk}
    status = {"item_id": item.pk, "annotation_count": 1, "required_overlap": 1,
              "status": "complete"}  # fmt: skip
    plan = [
        ("token_user", "next", 1, *both("token_user", {"key": token}), False),
        ("project_with_role", "next", 1,
         *both("project_with_role", {"project_id": project.pk, "user_id": me.pk}), False),
        ("held_lease", "next", 1, *both("held_lease", held), False),
        ("queue_head", "next", 1, *both("queue_head", head), False),
        ("lease_if_room", "next", 1, *both("lease_if_room", room), True),
        ("object_by_id", "submit", 1, *both("object_by_id", {"model": Item, "pk": item.pk,
                                              "deferred": rawsql.LARGE_ITEM_FIELDS}), False),
        ("project_label_names", "submit", 1,
         *both("project_label_names", {"project_id": project.pk}), False),
        ("item_locked", "submit", 1, *both("item_locked", {"item_id": item.pk}), False),
        ("lease_take", "submit", 1, *both("lease_take", pair), True),
        ("annotation_labels", "submit", 1, *both("annotation_labels", {"item_id": item.pk}),
         False),
        ("item_status_write", "submit", 1, *both("item_status_write", status), True),
    ]  # fmt: skip
    rows = []
    with transaction.atomic():  # lock=True needs one; rolled back at the end
        for name, request, per, raw, twin, write in plan:
            raw_us, orm_us = paired(raw, twin, args.calls, write=write)
            req = request_us[request]
            rows.append(row(name, request, per, raw_us, orm_us, req))
            print_table(rows[-1:], header=len(rows) == 1)
        transaction.set_rollback(True)

    rows += job_rows(args, project, me, ids, rawsql, lrawsql, orm_twins, ltwins,
                     import_objects, load_ratings, report_for)  # fmt: skip
    return rows


def job_rows(args, project, me, ids, rawsql, lrawsql, orm_twins, ltwins, import_objects,
             load_ratings, report_for) -> list[dict]:  # fmt: skip
    """Statements of jobs and imports, timed once per call (each moves thousands of rows)."""
    from django.db import transaction
    from django.utils import timezone

    from annotation.models import Item
    from annotation.services.importing.writer import ITEM_COLUMNS, ITEM_CONSTANT_COLUMNS
    from annotation.services.projects import project_create
    from learning.models import ModelVersion

    rows, calls = [], 3

    def timed(fn) -> float:
        best = []
        for _ in range(calls):
            with transaction.atomic():
                t = time.perf_counter()
                fn()
                best.append((time.perf_counter() - t) * 1e6)
                transaction.set_rollback(True)
        return statistics.median(best)

    # An import of labeled rows: the request, then its two statements at the same size.
    n = args.import_rows
    objects = [{"id": f"imp-{k}", "text": f"imported {k}", "label": "positive"} for k in range(n)]
    target = project_create(creator=me, name="import bench", labels=["positive", "negative"])
    request = timed(lambda: import_objects(project=target, objects=objects, user=me))
    stamp = rawsql.db_datetime(timezone.now())
    # ``ITEM_COLUMNS`` then ``ITEM_CONSTANT_COLUMNS``, as the import's writer sends them.
    item_rows = [(f"x-{k}", f"t {k}", "", "{}", None, "open", 0, k, target.pk, None, 1, 0.0, "",
                  "", stamp) for k in range(n)]  # fmt: skip

    def both(raw_module, twin_module, name, **kwargs) -> tuple[float, float]:
        return tuple(timed(lambda m=m: getattr(m, name)(**kwargs))
                     for m in (raw_module, twin_module))  # fmt: skip

    fast = both(rawsql, orm_twins, "fast_insert", model=Item,
                columns=(*ITEM_COLUMNS, *ITEM_CONSTANT_COLUMNS), rows=item_rows)  # fmt: skip
    rows.append(row("fast_insert", f"import {n}", 1, *fast, request))
    external = [f"item-{k}" for k in range(1, n + 1)]
    lookup = both(rawsql, orm_twins, "item_ids_by_external_id", project_id=project.pk,
                  external_ids=external)  # fmt: skip
    rows.append(row("item_ids_by_external_id", f"import {n}", 1, *lookup, request))

    # The active-learning job: a 50k-id chunk read, a 20k-row score slice written.
    al = _al_seconds()
    first = ids[0]
    chunk = both(lrawsql, ltwins, "open_text_rows", project_id=project.pk, first_id=first,
                 last_id=first + 49_999)  # fmt: skip
    chunks = max(1, len(ids) // 50_000)
    rows.append(row("open_text_rows", "al job", chunks, *chunk, al * 1e6))
    version = ModelVersion.objects.create(project=project, version=99, strategy="margin",
                                          featurizer="text", n_labels=0).pk  # fmt: skip
    rng = np.random.default_rng(0)
    part = np.asarray(ids[:20_000], dtype=np.int64)
    arrays = (part, rng.random(part.size), rng.integers(0, 3, part.size), ["a", "b", "c"],
              rng.random(part.size))  # fmt: skip
    swap = tuple(timed(lambda m=m: m.scores_write(*arrays, model_version_id=version,
                                                  generation=1))
                 for m in (lrawsql, ltwins))  # fmt: skip
    # A job writes the head of its ranking only: 20k rows for a default project, whatever
    # the pool size (score_swap.head_rows).
    rows.append(row("scores_write", "al job", 1, *swap, al * 1e6))

    # The agreement job's loader, against load + report over the same annotations.
    job = timed(lambda: report_for(load_ratings(project=project)))
    loader = both(lrawsql, ltwins, "human_annotation_rows", project_id=project.pk)
    rows.append(row("human_annotation_rows", "agreement job", 1, *loader, job))
    for r in rows:
        print_table([r], header=False)
    return rows


def _al_seconds() -> float:
    """The active-learning job's wall time at this size (bench/results/al_speed.json, one
    worker), or 20 s when al_speed has not run."""
    path = ROOT / "bench" / "results" / "al_speed.json"
    if path.exists():
        for r in json.loads(path.read_text()):
            if r["workers"] == 1:
                return float(r["wall_seconds"])
    return 20.0


def row(name, request, per, raw_us, orm_us, request_us) -> dict:
    gain = (orm_us - raw_us) * per
    share = gain / request_us if request_us else 0.0
    return {"statement": name, "request": request, "per_request": per,
            "raw_us": round(raw_us, 1), "orm_us": round(orm_us, 1),
            "request_us": round(request_us, 1), "gain_us": round(gain, 1),
            "share": round(share, 4), "keep": share >= RULE}  # fmt: skip


def request_verdicts(rows: list[dict]) -> list[dict]:
    """Keep a request's small statements as raw SQL when together they save >= RULE of it.

    Returning each to the ORM alone is within noise; returning all of them at once is what a
    reader of the rule would actually do, and what the request would pay.
    """
    small: dict[str, float] = {}
    for r in rows:
        if r["share"] < RULE:
            small[r["request"]] = small.get(r["request"], 0.0) + r["share"]
    for r in rows:
        r["small_together"] = round(small.get(r["request"], 0.0), 4)
        r["keep"] = r["share"] >= RULE or r["small_together"] >= RULE
    for request, share in small.items():
        verdict = "kept raw together" if share >= RULE else "ORM"
        print(f"{request}: statements under {RULE:.0%} alone save {share:.1%} together: {verdict}")
    return rows


def print_table(rows: list[dict], *, header: bool = True) -> None:
    if header:
        print("| statement | request | x | raw µs | ORM µs | request µs | gain µs | share | keep |")
        print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['statement']} | {r['request']} | {r['per_request']} | {r['raw_us']:.0f} | "
              f"{r['orm_us']:.0f} | {r['request_us']:.0f} | {r['gain_us']:.0f} | "
              f"{100 * r['share']:.1f}% | {'raw SQL' if r['keep'] else 'ORM'} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
