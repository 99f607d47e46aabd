"""Import speed: items/s and peak RSS, through the management command and the REST API.

    python bench/import_speed.py                         # 100k and 1M, SQLite (+ PostgreSQL if DATABASE_URL)
    python bench/import_speed.py --sizes 100000 --paths command
    eval "$(bash scripts/services.sh env)"; python bench/import_speed.py   # adds PostgreSQL

Each run imports a generated CSV of short texts into a new project, in a separate
process (``manage.py import_items``, or gunicorn serving ``POST /api/projects/{id}/import``)
whose resident memory is sampled every 50 ms. Wall time includes process start-up
for the command (about a second), so the figure is what a user sees.
Target (issue 2): >= 20,000 items/s through the command, peak RSS < 400 MB at 1M items.
Target (issue 20, one streaming COPY per file): >= 50,000 items/s for 1M text items through
the command on PostgreSQL, peak RSS unchanged.

Old code against new, on a shared machine: ``--baseline DIR`` names a checkout of the old
code (``git archive main | tar -x -C DIR``); each measurement then runs the old code and
this checkout alternately, ``--rounds`` times, each on its own database (SQLite: its own
file; PostgreSQL: ``<database>_baseline`` beside the configured one, created if missing),
with the load average next to every row and the items emptied between runs (TRUNCATE on
PostgreSQL), so both meet the same table size:

    python bench/import_speed.py --baseline /tmp/quorum-main --paths command --rounds 2
"""

import argparse
import contextlib
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, ROOT, Stack, app_env, manage

LAST_CPU = [0.0]
WORDS = (
    "the a phone battery screen great terrible love hate works broken fast slow price value "
    "quality support refund would buy again never ever delivery late early box camera sound"
).split()


def make_csv(path: Path, n: int, seed: int = 0) -> None:
    if path.exists():
        return
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text"])
        for i in range(n):
            writer.writerow([f"r{i}", " ".join(rng.choices(WORDS, k=rng.randint(6, 30)))])


def django_env(backend: str, workdir: Path) -> dict[str, str]:
    """The app's environment: SQLite in ``workdir``, or the configured PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "") if backend == "postgres" else ""
    return app_env(workdir / "var", database_url=url)


def new_project(env: dict, name: str, root: Path = ROOT) -> int:
    code = (
        "from django.contrib.auth import get_user_model as g;"
        "from annotation.services.projects import project_create as c;"
        "u,_=g().objects.get_or_create(username='bench');u.set_password('bench-pass');u.save();"
        f"print(c(creator=u, name={name!r}, labels=['pos','neg']).pk)"
    )
    return int(manage(env, "shell", "-c", code, root=root).strip().splitlines()[-1])


def watch(procs_fn, until) -> float:
    """Peak summed RSS (MB) of the processes procs_fn() returns, sampled until until()."""
    peak = 0.0
    while not until():
        total = 0
        for proc in procs_fn():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        peak = max(peak, total / 2**20)
        time.sleep(0.05)
    return peak


def run_command(env: dict, project: int, path: Path, root: Path = ROOT) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one import; its CPU seconds in ``LAST_CPU``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "import_items", str(project), str(path), "--no-progress"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    ps = psutil.Process(proc.pid)
    peak = watch(lambda: [ps], lambda: proc.poll() is not None)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.read().decode()[-2000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The command's own CPU (user + system), which the machine's load does not inflate the
    # way it inflates wall time; the database server's share is not in it.
    LAST_CPU[0] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, peak


def run_api(env: dict, project: int, path: Path) -> tuple[float, float]:
    env = {**env, "QUORUM_ASYNC_IMPORT_BYTES": str(10**12)}  # measure the synchronous path
    with Stack(env, Path(env["QUORUM_VAR_DIR"])) as stack:
        server, base = stack.web(workers=1, timeout=900)
        token = requests.post(
            f"{base}/api/auth/token/",
            data={"username": "bench", "password": "bench-pass"},
            timeout=60,
        ).json()["token"]
        master = psutil.Process(server.pid)
        done = {"flag": False, "response": None}
        import threading

        def upload():
            with path.open("rb") as f:
                done["response"] = requests.post(
                    f"{base}/api/projects/{project}/import",
                    files={"file": (path.name, f, "text/csv")},
                    headers={"Authorization": f"Token {token}"}, timeout=900,
                )  # fmt: skip
            done["flag"] = True

        start = time.perf_counter()
        thread = threading.Thread(target=upload)
        thread.start()
        peak = watch(lambda: master.children(), lambda: done["flag"])
        elapsed = time.perf_counter() - start
        thread.join()
        response = done["response"]
        if response.status_code != 201:
            raise RuntimeError(f"API answered {response.status_code}: {response.text[:500]}")
        return elapsed, peak


def baseline_database(url: str) -> str:
    """``<database>_baseline`` on the server of ``url``, created if missing."""
    import psycopg

    base, _, name = url.rpartition("/")
    other = f"{name}_baseline"
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [other]).fetchone():
            conn.execute(f'CREATE DATABASE "{other}"')
    return f"{base}/{other}"


def empty_items(env: dict) -> None:
    """Start the next run from an empty item table (PostgreSQL; a throw-away database)."""
    if "DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("TRUNCATE annotation_item, annotation_importbatch CASCADE")


def compare(args, sizes: list[int], backends: list[str], cache: Path) -> list[dict]:
    """Old code (``args.baseline``) and this checkout, alternately, on one machine."""
    rows = []
    old_root = Path(args.baseline).resolve()
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            envs = {}
            for code, root in (("baseline", old_root), ("new", ROOT)):
                env = django_env(backend, Path(tmp) / code)
                env["PYTHONPATH"] = str(root)
                if backend == "postgres" and code == "baseline":
                    env["DATABASE_URL"] = baseline_database(env["DATABASE_URL"])
                manage(env, "migrate", "--noinput", root=root)
                envs[code] = (env, root)
            for n in sizes:
                path = cache / f"items-{n}.csv"
                make_csv(path, n)
                for round_ in range(args.rounds):
                    for code in ("baseline", "new"):
                        env, root = envs[code]
                        empty_items(env)
                        project = new_project(env, f"bench {code} {n} {time.time()}", root)
                        load = os.getloadavg()[0]
                        elapsed, peak = run_command(env, project, path, root)
                        row = {"backend": backend, "path": "command", "code": code, "items": n,
                               "round": round_ + 1, "seconds": round(elapsed, 2),
                               "items_per_s": round(n / elapsed), "peak_rss_mb": round(peak, 1),
                               "load_avg_1m": round(load, 2),
                               "command_cpu_s": round(LAST_CPU[0], 2)}  # fmt: skip
                        rows.append(row)
                        print(f"{backend:<9} {code:<8} {n:>9,} items {elapsed:7.1f}s "
                              f"{n / elapsed:>9,.0f} items/s  peak RSS {peak:6.1f} MB  "
                              f"CPU {LAST_CPU[0]:6.1f}s  load {load:.1f}", flush=True)  # fmt: skip
            for env, _ in envs.values():
                empty_items(env)
    return rows


def compare_table(rows: list[dict]) -> str:
    """Median items/s and peak RSS per (backend, size, code), and new / baseline."""
    import statistics

    lines = ["| backend | items | code | runs | median items/s | median peak RSS MB |"
             " median command CPU s | load 1m |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    keys = sorted({(r["backend"], r["items"]) for r in rows})
    for backend, n in keys:
        medians = {}
        for code in ("baseline", "new"):
            mine = [r for r in rows if (r["backend"], r["items"], r["code"]) == (backend, n, code)]
            speed = statistics.median(r["items_per_s"] for r in mine)
            rss = statistics.median(r["peak_rss_mb"] for r in mine)
            loads = ", ".join(f"{r['load_avg_1m']:.1f}" for r in mine)
            cpu = statistics.median(r["command_cpu_s"] for r in mine)
            medians[code] = (speed, rss, cpu)
            lines.append(f"| {backend} | {n:,} | {code} | {len(mine)} | {speed:,.0f} | {rss:.0f} "
                         f"| {cpu:.1f} | {loads} |")  # fmt: skip
        new, old = medians["new"], medians["baseline"]
        lines.append(f"| {backend} | {n:,} | new / baseline | | {new[0] / old[0]:.2f}x "
                     f"| {new[1] / old[1]:.2f}x | {new[2] / old[2]:.2f}x | |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--paths", default="command,api")
    parser.add_argument(
        "--backends", default=None, help="sqlite,postgres (default: what is configured)"
    )
    parser.add_argument("--baseline", help="a checkout of the old code to run alternately")
    parser.add_argument("--rounds", type=int, default=2, help="runs per code with --baseline")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",") if args.backends else (
        ["sqlite", "postgres"] if os.environ.get("DATABASE_URL") else ["sqlite"]
    )  # fmt: skip
    cache = Path(tempfile.gettempdir()) / "quorum-bench"
    cache.mkdir(exist_ok=True)
    if args.baseline:
        rows = compare(args, sizes, backends, cache)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / "import_speed.json"
        meta = {"cpu_count": os.cpu_count(), "python": sys.version.split()[0],
                "time": time.ctime(), "baseline": str(args.baseline), "rounds": args.rounds,
                "command": " ".join(sys.argv)}  # fmt: skip
        table = compare_table(rows)
        out.write_text(json.dumps({"meta": meta, "rows": rows, "table": table}, indent=2))
        print("\n" + table + f"\n\nwrote {out}")
        return
    rows = []
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            env = django_env(backend, Path(tmp))
            manage(env, "migrate", "--noinput")
            for n in sizes:
                path = cache / f"items-{n}.csv"
                make_csv(path, n)
                for how in args.paths.split(","):
                    project = new_project(env, f"bench {backend} {how} {n} {time.time()}")
                    runner = run_command if how == "command" else run_api
                    elapsed, peak = runner(env, project, path)
                    row = {"backend": backend, "path": how, "items": n,
                           "seconds": round(elapsed, 2), "items_per_s": round(n / elapsed),
                           "peak_rss_mb": round(peak, 1), "file_mb": round(path.stat().st_size / 2**20, 1)}  # fmt: skip
                    rows.append(row)
                    print(f"{backend:<9} {how:<8} {n:>9,} items {elapsed:7.1f}s "
                          f"{n / elapsed:>9,.0f} items/s  peak RSS {peak:6.1f} MB", flush=True)  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "import_speed.json"
    meta = {"cpu_count": os.cpu_count(), "python": sys.version.split()[0], "time": time.ctime()}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(
        "\n| backend | path | items | seconds | items/s | peak RSS MB |\n|---|---|---|---|---|---|"
    )
    for r in rows:
        print(f"| {r['backend']} | {r['path']} | {r['items']:,} | {r['seconds']} | "
              f"{r['items_per_s']:,} | {r['peak_rss_mb']} |")  # fmt: skip
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
