"""Snapshot export speed: build time, CPU and peak RSS of the worker, download throughput.

    eval "$(scripts/services.sh env)"; python bench/export_speed.py            # 1M items
    git archive main | tar -x -C /tmp/base                                     # old code, to
    python bench/export_speed.py --items 100000 1000000 --baseline /tmp/base   # compare with

A labeled project is bulk-generated with COPY into its own PostgreSQL database
(``quorum_export_bench`` beside the one ``DATABASE_URL`` names; reused when it already
holds the project). Then a real Celery worker (solo pool) builds a default-spec snapshot
cut over the API of a gunicorn server, and every format is downloaded over HTTP. With
``--baseline`` each round builds twice, back to back on the same data: first with a worker
running the baseline checkout's code, then with one running this checkout's; the files of
every build are compared by sha256 (``identical_files``). Each build gets a fresh worker.
The broker is a private filesystem queue in a temporary folder, so no other worker on a
shared Redis can take the job. RSS is the summed resident memory of each process tree
(forked children included), sampled every 50 ms; worker CPU is user + system seconds of the
tree (PostgreSQL's own CPU is not in it), bench CPU this process's own. The web server and
the workers run in sessions of their own, as services do: the kernel here shares CPU between
sessions (autogroup), so the bench's own sampling and polling no longer take from the
worker's share. On this shared machine a 1M build's wall time swings 11-38 s with the other
sessions' load while its CPU stays 12-18 s: compare builds of one run, never across runs.
The load average is taken before and after each build. Targets (issue 20): build >= 50,000
rows/s at 1M, worker peak RSS < 400 MB.
"""

import argparse
import contextlib
import hashlib
import json
import os
import random
import sys
import tempfile
import threading
import time
import zipfile
from array import array
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, ROOT, Stack, app_env, manage

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
    """Samples the summed RSS (MB) of a process and its children in a thread, every 50 ms.

    Finding the children means reading every process's ``/proc/<pid>/stat`` (psutil), a few
    ms with a hundred processes on the machine: done every ``RESCAN`` samples only (a child
    lives for a whole build phase), each sample reads the known processes' RSS alone.
    """

    RESCAN = 10

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.procs = [self.root]
        self.samples = 0
        self.peak = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def sample(self, rescan: bool = True) -> float:
        if rescan:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.procs = [self.root, *self.root.children(recursive=True)]
        total = 0
        for proc in self.procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        self.peak = max(self.peak, total / 2**20)
        return self.peak

    def _run(self) -> None:
        while self.running:
            self.samples += 1
            self.sample(rescan=self.samples % self.RESCAN == 1)
            time.sleep(0.05)

    def reset(self) -> None:
        self.peak = 0.0

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return self.peak


def tree_cpu(proc: psutil.Process) -> float:
    """CPU seconds (user + system) of a process, its reaped children and its live ones."""
    times = proc.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(child.cpu_times()[:2])
    return total


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file a snapshot published; of the Hugging Face zip, of each Parquet
    member (its README names the version, and zip entries carry their write time)."""
    digests = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for name in sorted(archive.namelist()):
                    if name.endswith(".parquet"):
                        member = hashlib.sha256(archive.read(name)).hexdigest()
                        digests[f"{path.name}:{name.rsplit('/', 1)[1]}"] = member
        elif path.name != "lineage.json":  # lineage holds the build's own times
            sha = hashlib.sha256()
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    sha.update(chunk)
            digests[path.name] = sha.hexdigest()
    return digests


def build(stack: Stack, base: str, info: dict, root: Path, exports: Path) -> dict:
    """One snapshot built by a fresh worker running ``root``'s code; the worker is stopped
    afterwards, so the next build starts from the same idle state."""
    headers = {"Authorization": f"Token {info['token']}"}
    worker = stack.worker(root=root, polling=0.1)  # not kombu's 1 s idle wait per job
    rss = PeakRss(worker.pid)
    idle = rss.sample()
    cpu_before, load_before = tree_cpu(rss.root), os.getloadavg()[0]
    own_before = sum(psutil.Process().cpu_times()[:2])
    began = time.perf_counter()
    created = requests.post(f"{base}/api/projects/{info['project']}/snapshots", json={},
                            headers=headers, timeout=60).json()  # fmt: skip
    while True:
        job = requests.get(f"{base}/api/jobs/{created['job']['id']}", headers=headers,
                           timeout=60).json()  # fmt: skip
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.25)
    wall = time.perf_counter() - began
    cpu = tree_cpu(rss.root) - cpu_before
    own = sum(psutil.Process().cpu_times()[:2]) - own_before
    peak = rss.stop()
    stack.stop(only=worker)
    if job["status"] != "succeeded":
        raise RuntimeError(f"snapshot job failed: {job['error']}")
    snapshot = requests.get(f"{base}/api/snapshots/{created['id']}", headers=headers,
                            timeout=60).json()  # fmt: skip
    return {"snapshot": created["id"], "rows": snapshot["row_count"],
            "build_seconds": round(wall, 2), "build_job_seconds": job["duration_seconds"],
            "rows_per_s": round(snapshot["row_count"] / wall),
            "worker_cpu_seconds": round(cpu, 2), "bench_cpu_seconds": round(own, 2),
            "worker_peak_rss_mb": round(peak, 1),
            "worker_idle_rss_mb": round(idle, 1),
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "content_hash": snapshot["content_hash"],
            "files": file_digests(exports / str(info["project"]) / str(snapshot["version"]))}  # fmt: skip


def downloads(base: str, info: dict, snapshot: int, web_rss: PeakRss, rows: int) -> list[dict]:
    headers = {"Authorization": f"Token {info['token']}"}
    out = []
    for fmt in FORMATS:
        web_rss.reset()
        size, began = 0, time.perf_counter()
        url = f"{base}/api/snapshots/{snapshot}/download?format={fmt}"
        with requests.get(url, headers=headers, stream=True, timeout=900) as response:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 20):
                size += len(chunk)
        seconds = time.perf_counter() - began
        web_rss.sample()  # a download shorter than the sampling period still counts
        out.append({
            "format": fmt, "seconds": round(seconds, 3), "mb": round(size / 2**20, 1),
            "items_per_s": round(rows / seconds),
            "mb_per_s": round(size / 2**20 / seconds, 1), "web_peak_rss_mb": round(web_rss.peak, 1),
        })  # fmt: skip
    return out


def run(env: dict, info: dict, workdir: Path, baseline: Path | None, rounds: int) -> dict:
    """``rounds`` of builds, each the baseline's (when given) then this checkout's, back to
    back; then every format of this checkout's last snapshot is downloaded."""
    exports = Path(env["QUORUM_VAR_DIR"]) / "exports"
    with Stack(env, workdir) as stack:
        web, base = stack.web(workers=1, timeout=900)
        web_rss = PeakRss(web.pid)
        result: dict = {"web_idle_rss_mb": round(web_rss.sample(), 1), "builds": []}
        for _ in range(rounds):
            for name, root in (("baseline", baseline), ("new", ROOT)):
                if root is not None:
                    done = build(stack, base, info, root, exports) | {"code": name}
                    print(f"{name}: {done['rows']:,} rows in {done['build_seconds']} s "
                          f"({done['rows_per_s']:,} rows/s), cpu {done['worker_cpu_seconds']} s, "
                          f"peak RSS {done['worker_peak_rss_mb']} MB, load {done['load_average_1m']}",
                          flush=True)  # fmt: skip
                    result["builds"].append(done)
        last = result["builds"][-1]
        result["downloads"] = downloads(base, info, last["snapshot"], web_rss, last["rows"])
        web_rss.stop()
    digests = {json.dumps(b["files"], sort_keys=True) for b in result["builds"]}
    result["identical_files"] = len(digests) == 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a checkout of the old code (git archive main | tar -x -C DIR)",
    )
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    url = bench_database(os.environ.get("DATABASE_URL", ""))
    results = []
    for items in args.items:
        with tempfile.TemporaryDirectory(prefix="quorum-export-bench-") as tmp:
            workdir = Path(tmp)
            # No REDIS_URL: a private filesystem broker, so no shared worker takes the job.
            env = app_env(workdir / "var", database_url=url, CELERY_SOFT_TIME_LIMIT="3600",
                          CELERY_TIME_LIMIT="3700")  # fmt: skip
            manage(env, "migrate", "--noinput")
            info = setup_project(env, items)
            if info["fresh"]:
                began = time.perf_counter()
                generate(url, info, items)
                print(f"generated {items:,} items in {time.perf_counter() - began:.1f} s",
                      flush=True)  # fmt: skip
            result = run(env, info, workdir, args.baseline, args.rounds)
        results.append(result | {"items": items, "database": "postgresql"})
        report(result, items)
    meta = {"cpu_count": os.cpu_count(), "python": sys.version.split()[0], "time": time.ctime(),
            "baseline": str(args.baseline) if args.baseline else None}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "export_speed.json"
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"\nwrote {out}")


def report(result: dict, items: int) -> None:
    print(f"\n{items:,} items; files identical across builds: {result['identical_files']}\n")
    print(
        "| code | rows | build s | rows/s | worker CPU s | bench CPU s | worker peak RSS MB "
        "| load 1m |\n|---|---|---|---|---|---|---|---|"
    )
    for b in result["builds"]:
        print(f"| {b['code']} | {b['rows']:,} | {b['build_seconds']} | {b['rows_per_s']:,} | "
              f"{b['worker_cpu_seconds']} | {b['bench_cpu_seconds']} | {b['worker_peak_rss_mb']} | "
              f"{b['load_average_1m'][0]}-{b['load_average_1m'][1]} |")  # fmt: skip
    print(
        "\n| format | MB | seconds | items/s | MB/s | web peak RSS MB |\n|---|---|---|---|---|---|"
    )
    for d in result["downloads"]:
        print(f"| {d['format']} | {d['mb']} | {d['seconds']} | {d['items_per_s']:,} | "
              f"{d['mb_per_s']} | {d['web_peak_rss_mb']} |")  # fmt: skip


if __name__ == "__main__":
    main()
