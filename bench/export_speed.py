"""Snapshot export speed: build time, download throughput per format, peak RSS of web and worker.

    eval "$(scripts/services.sh env)"; python bench/export_speed.py            # 1M items
    python bench/export_speed.py --items 200000                                # smaller machine

A labeled project is bulk-generated with COPY into its own PostgreSQL database
(``quorum_export_bench`` beside the one ``DATABASE_URL`` names; reused when it already
holds the project). Then a real Celery worker (solo pool) builds a default-spec snapshot
cut over the API of a gunicorn server, and every format is downloaded over HTTP. The
broker is a private filesystem queue in a temporary folder, so no other worker on a shared
Redis can take the job. RSS is the summed resident memory of each process tree, sampled
every 50 ms. Target (issue 7): >= 100,000 items/s for the JSONL download, peak RSS
< 400 MB in web and worker.
"""

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
from array import array
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, Stack, app_env, manage

BENCH_DB = "quorum_export_bench"
LABELS = ["positive", "negative", "neutral"]
FORMATS = ["jsonl", "csv", "parquet", "hf", "labelstudio"]
WORDS = (
    "the a phone battery screen great terrible love hate works broken fast slow price value "
    "quality support refund would buy again never ever delivery late early box camera sound"
).split()


def bench_database(url: str) -> str:
    """The bench database's URL (created when missing) on the server ``url`` names."""
    if not url.startswith("postgres"):
        sys.exit('Needs PostgreSQL: eval "$(scripts/services.sh env)" first.')
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return url.rsplit("/", 1)[0] + "/" + BENCH_DB


SETUP = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from annotation.models import ImportBatch, Project
from annotation.services.projects import membership_set, project_create
User = get_user_model()
owner, _ = User.objects.get_or_create(username="bench-export")
project = Project.objects.filter(name=NAME).first()
fresh = project is None or project.items.count() != N
if project is not None and fresh:
    project.delete()
if fresh:
    project = project_create(creator=owner, name=NAME, labels=LABELS)
    for k in range(5):
        membership_set(project=project, user=User.objects.get_or_create(username=f"bench-a{k}")[0],
                       role="annotator")
batch, _ = ImportBatch.objects.get_or_create(project=project, file_name="generated.csv",
                                             defaults={"sha256": "0" * 64})
users = [User.objects.get(username=f"bench-a{k}").pk for k in range(5)]
token, _ = Token.objects.get_or_create(user=owner)
print(json.dumps({"project": project.pk, "batch": batch.pk, "fresh": fresh, "users": users,
                  "token": token.key}))
"""


def setup_project(env: dict, n: int) -> dict:
    code = f"NAME = 'export bench {n}'; N = {n}; LABELS = {LABELS!r}\n" + SETUP
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def generate(url: str, info: dict, n: int, seed: int = 0) -> None:
    """COPY ``n`` items (one imported label each; every 10th also labeled by a person, a
    quarter of those disagreeing; every 20th reviewed) straight into PostgreSQL."""
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    project, batch, users = info["project"], info["batch"], info["users"]
    item_columns = ("project_id, external_id, text, image, meta, import_batch_id, status, "
                    "required_overlap, annotation_count, sequence, priority, predicted_label, "
                    "consensus_method, final_labels, created_at")  # fmt: skip
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY annotation_item ({item_columns}) FROM STDIN") as copy:
            lines = []
            for i in range(n):
                text = " ".join(rng.choices(WORDS, k=rng.randint(6, 30)))
                final = f'["{LABELS[(i + 1) % 3]}"]' if i % 20 == 0 else "\\N"
                count = 2 if i % 10 == 0 else 1
                lines.append(f"{project}\tg{i:07d}\t{text}\t\t{{}}\t{batch}\tcomplete\t1\t"
                             f"{count}\t{i}\t0\t\t\t{final}\t{now}\n")  # fmt: skip
                if len(lines) == 10_000:
                    copy.write("".join(lines))
                    lines = []
            copy.write("".join(lines))
        ids = array("q")
        cur.execute("SELECT id FROM annotation_item WHERE project_id = %s ORDER BY sequence",
                    [project])  # fmt: skip
        while chunk := cur.fetchmany(50_000):
            ids.extend(row[0] for row in chunk)
        columns = ("item_id, project_id, annotator_id, labels, source, suggestion, created_at, "
                   "updated_at")  # fmt: skip
        with cur.copy(f"COPY annotation_annotation ({columns}) FROM STDIN") as copy:
            lines = []
            for i, item_id in enumerate(ids):
                label = LABELS[i % 3]
                lines.append(f'{item_id}\t{project}\t\\N\t["{label}"]\timport\t\t{now}\t{now}\n')
                if i % 10 == 0:
                    human = LABELS[(i + 1) % 3] if i % 40 == 0 else label
                    lines.append(f'{item_id}\t{project}\t{users[(i // 10) % 5]}\t["{human}"]\t'
                                 f"human\t\t{now}\t{now}\n")  # fmt: skip
                if len(lines) >= 10_000:
                    copy.write("".join(lines))
                    lines = []
            copy.write("".join(lines))
        cur.execute("ANALYZE annotation_item; ANALYZE annotation_annotation")
        conn.commit()


class PeakRss:
    """Samples the summed RSS (MB) of a process and its children in a thread."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def sample(self) -> float:
        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        self.peak = max(self.peak, total / 2**20)
        return self.peak

    def _run(self) -> None:
        while self.running:
            self.sample()
            time.sleep(0.05)

    def reset(self) -> None:
        self.peak = 0.0

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return self.peak


def run(env: dict, info: dict, workdir: Path) -> dict:
    headers = {"Authorization": f"Token {info['token']}"}
    with Stack(env, workdir) as stack:
        worker = stack.worker()
        web, base = stack.web(workers=1, timeout=900)
        worker_rss, web_rss = PeakRss(worker.pid), PeakRss(web.pid)
        idle = {"worker_idle_rss_mb": round(worker_rss.sample(), 1),
                "web_idle_rss_mb": round(web_rss.sample(), 1)}  # fmt: skip
        began = time.perf_counter()
        created = requests.post(f"{base}/api/projects/{info['project']}/snapshots", json={},
                                headers=headers, timeout=60).json()  # fmt: skip
        while True:
            job = requests.get(f"{base}/api/jobs/{created['job']['id']}", headers=headers,
                               timeout=60).json()  # fmt: skip
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        build_wall = time.perf_counter() - began
        if job["status"] != "succeeded":
            raise RuntimeError(f"snapshot job failed: {job['error']}")
        snapshot = requests.get(f"{base}/api/snapshots/{created['id']}", headers=headers,
                                timeout=60).json()  # fmt: skip
        result = {"rows": snapshot["row_count"], "build_seconds": round(build_wall, 2),
                  "build_job_seconds": job["duration_seconds"],
                  "worker_peak_rss_mb": round(worker_rss.stop(), 1), "downloads": [], **idle}  # fmt: skip
        for fmt in FORMATS:
            web_rss.reset()
            size, began = 0, time.perf_counter()
            url = f"{base}/api/snapshots/{created['id']}/download?format={fmt}"
            with requests.get(url, headers=headers, stream=True, timeout=900) as response:
                response.raise_for_status()
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
            seconds = time.perf_counter() - began
            web_rss.sample()  # a download shorter than the sampling period still counts
            result["downloads"].append({
                "format": fmt, "seconds": round(seconds, 3), "mb": round(size / 2**20, 1),
                "items_per_s": round(result["rows"] / seconds),
                "mb_per_s": round(size / 2**20 / seconds, 1), "web_peak_rss_mb": round(web_rss.peak, 1),
            })  # fmt: skip
        web_rss.stop()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    url = bench_database(os.environ.get("DATABASE_URL", ""))
    with tempfile.TemporaryDirectory(prefix="quorum-export-bench-") as tmp:
        workdir = Path(tmp)
        # No REDIS_URL: a private filesystem broker, so no shared worker takes the job.
        env = app_env(workdir / "var", database_url=url, CELERY_SOFT_TIME_LIMIT="3600",
                      CELERY_TIME_LIMIT="3700")  # fmt: skip
        manage(env, "migrate", "--noinput")
        info = setup_project(env, args.items)
        if info["fresh"]:
            began = time.perf_counter()
            generate(url, info, args.items)
            print(
                f"generated {args.items:,} items in {time.perf_counter() - began:.1f} s", flush=True
            )
        result = run(env, info, workdir)
    result |= {"items": args.items, "database": "postgresql"}
    meta = {"cpu_count": os.cpu_count(), "python": sys.version.split()[0], "time": time.ctime()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "export_speed.json"
    out.write_text(json.dumps({"meta": meta, "result": result}, indent=2))
    print(f"\nsnapshot of {args.items:,} items -> {result['rows']:,} rows: built in "
          f"{result['build_seconds']} s ({result['rows'] / result['build_seconds']:,.0f} rows/s), "
          f"worker peak RSS {result['worker_peak_rss_mb']} MB (idle {result['worker_idle_rss_mb']} MB); "
          f"web idle RSS {result['web_idle_rss_mb']} MB\n")  # fmt: skip
    print("| format | MB | seconds | items/s | MB/s | web peak RSS MB |\n|---|---|---|---|---|---|")
    for d in result["downloads"]:
        print(f"| {d['format']} | {d['mb']} | {d['seconds']} | {d['items_per_s']:,} | "
              f"{d['mb_per_s']} | {d['web_peak_rss_mb']} |")  # fmt: skip
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
