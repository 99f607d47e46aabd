"""Agreement speed: load 1M annotations (500k items x 2 annotators) from the database and compute
every scope, as the agreement job does.

    python bench/agreement_speed.py                      # SQLite in a temp dir, 500k items x 2
    python bench/agreement_speed.py --items 100000       # smaller
    python bench/agreement_speed.py --workdir /tmp/agr   # keep the seeded database, reuse it next time
    eval "$(bash scripts/services.sh env)"; python bench/agreement_speed.py --backend postgres

Seeding (bulk_create) is not timed. Timed: ``load_ratings`` (one values_list query -> (N, R)
matrix), ``report_for`` (every metric and scope), and the whole job handler (load + compute + store
the snapshots). Target (issue 6): load + compute < 10 s. Prints a table, writes bench/results/.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, ROOT, app_env, django_setup

LABELS = ["positive", "negative", "neutral"]


def setup_django(backend: str, workdir: Path) -> None:
    url = os.environ.get("DATABASE_URL", "") if backend == "postgres" else ""
    if backend == "postgres" and not url:
        sys.exit('--backend postgres needs DATABASE_URL (eval "$(bash scripts/services.sh env)")')
    django_setup(app_env(workdir / "var", database_url=url))


def insert_rows(model, rows, batch: int = 20_000) -> None:
    """Seed fast: executemany with every column (defaults filled in); not what is measured."""
    from django.db import connection, transaction

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        model._meta.db_table,
        ", ".join(connection.ops.quote_name(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )

    def values(row):
        return [f.get_db_prep_save(row[f.attname] if f.attname in row else f.get_default(),
                                   connection) for f in fields]  # fmt: skip

    chunk = []
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            chunk.append(values(row))
            if len(chunk) == batch:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def seed(n_items: int, seed: int = 0):
    """A project, two annotators who agree ~80% of the time, every item labeled by both."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from annotation.models import Annotation, Item
    from annotation.services.projects import project_create

    User = get_user_model()
    stamp = str(time.time_ns())
    users = [User.objects.create_user(username=f"bench{stamp}-{i}") for i in range(2)]
    project = project_create(creator=users[0], name=f"agreement bench {stamp}", labels=LABELS,
                             overlap=2, max_overlap=2)  # fmt: skip
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    votes = np.where(
        rng.random((n_items, 2)) < 0.8, truth[:, None], rng.integers(0, 3, (n_items, 2))
    )
    now = timezone.now()
    insert_rows(Item, ({"project_id": project.pk, "external_id": str(u), "annotation_count": 2,
                        "required_overlap": 2, "status": "complete", "created_at": now}
                       for u in range(n_items)))  # fmt: skip
    ids = dict(Item.objects.filter(project=project).values_list("external_id", "id"))
    insert_rows(Annotation, ({"item_id": ids[str(u)], "project_id": project.pk,
                              "annotator_id": users[r].pk, "labels": [LABELS[votes[u, r]]],
                              "created_at": now, "updated_at": now}
                             for u in range(n_items) for r in range(2)))  # fmt: skip
    return project


def reused(n_items: int):
    """A project seeded by an earlier run with this many items, if the database has one."""
    from annotation.models import Project

    for project in Project.objects.filter(name__startswith="agreement bench").order_by("-id"):
        if project.items.count() == n_items:
            return project
    return None


def measure(project) -> dict:
    from annotation.models import Job, JobKind, JobStatus
    from learning.agreement.service import agreement_job_handler, load_ratings, report_for

    t0 = time.perf_counter()
    data = load_ratings(project=project)
    t1 = time.perf_counter()
    report = report_for(data)
    t2 = time.perf_counter()
    job = Job.objects.create(project=project, kind=JobKind.AGREEMENT, status=JobStatus.RUNNING)
    t3 = time.perf_counter()
    result = agreement_job_handler(job, lambda f: None)
    t4 = time.perf_counter()
    alpha = next(r.value for r in report.records if r.metric == "krippendorff_alpha")
    return {
        "n_items": int(data.M.shape[0]),
        "n_annotations": data.n_annotations,
        "load_s": round(t1 - t0, 2),
        "compute_s": round(t2 - t1, 2),
        "load_plus_compute_s": round(t2 - t0, 2),
        "job_total_s": round(t4 - t3, 2),
        "snapshots": result["snapshots"],
        "krippendorff_alpha": round(alpha, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=500_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workdir", help="keep the SQLite database here and reuse its seed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        setup_django(args.backend, workdir)
        t = time.perf_counter()
        project = reused(args.items) if args.workdir else None
        project = project or seed(args.items)
        seeded = time.perf_counter() - t
        row = {"backend": args.backend, "seed_s": round(seeded, 1), **measure(project)}
        row["target_met"] = row["load_plus_compute_s"] < 10
        if args.backend == "postgres" and not args.workdir:
            project.delete()
    columns = ["backend", "n_items", "n_annotations", "load_s", "compute_s", "load_plus_compute_s",
               "job_total_s", "target_met"]  # fmt: skip
    print(" | ".join(columns))
    print(" | ".join(str(row[c]) for c in columns))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"agreement_speed_{args.backend}.json"
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # shared machine: context for the times
    }
    out.write_text(json.dumps({"result": row, "meta": meta, "target_s": 10}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
