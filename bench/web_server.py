"""The embedded default's web server: Django's development server against gunicorn, same run.

    python bench/web_server.py                           # 8 clients, 3 rounds of 20 s each
    python bench/web_server.py --clients 8 --seconds 30 --rounds 4

The default stack (SQLite in WAL mode, DEBUG=1 as ``make run`` sets it, no Celery worker:
the project has no automatic jobs, so only the web server is measured) is served in turn by

- ``runserver``: ``manage.py runserver --noreload``, what ``make run`` used to start (one
  process; a thread per request, all under one GIL);
- ``gunicorn``: the command ``Procfile.dev`` starts now (``scripts/web.sh``: one sync
  process per core, each with threads).

Each round starts each server on a fresh project of ``--items`` texts and drives it with
``--clients`` annotators back to back (``GET /next`` then ``POST`` the label, no reading
time), as ``bench/queue_speed.py`` does; the servers alternate within a round, so a noisy
neighbour hits both. Reports labels/s and next / submit / pair p50 and p99 per server, the
median over rounds, the ratio gunicorn / runserver, and the integrity counts that must be 0.
Prints a table; writes bench/results/web_server.json.

Target (issue #20): with 8 clients, gunicorn's pair p99 under 200 ms and at least 1.5x
runserver's labels/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, ROOT, Stack, app_env, django_setup, free_port
from queue_speed import LABELS, check_integrity, make_annotators, percentiles, run_clients

RESULTS_FILE = RESULTS / "web_server.json"
SERVERS = ("runserver", "gunicorn")


def seed_project(n_items: int, n_annotators: int, round_no: int, server: str):
    """A project of ``n_items`` short texts (no automatic jobs) with the annotators."""
    from django.contrib.auth import get_user_model

    from annotation.models import Role
    from annotation.services.importing import import_objects
    from annotation.services.projects import membership_set, project_create

    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    project = project_create(creator=owner, name=f"web {server} {round_no}", labels=LABELS,
                             retrain_every=0, label_issues_every=0, agreement_every=0)  # fmt: skip
    for i in range(n_annotators):
        user = get_user_model().objects.get(username=f"bench-annotator-{i}")
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    objects = [{"id": f"t{i}", "text": f"Item {i}: a sentence about something, to label."}
               for i in range(n_items)]  # fmt: skip
    assert import_objects(project=project, objects=objects).ok
    return project


def start_server(stack: Stack, server: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``server`` on a free loopback port, once ``/healthz`` answers."""
    port = free_port()
    if server == "runserver":
        argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    else:
        argv = ["bash", "scripts/web.sh"]
        # make run puts the venv's bin first on PATH; so does this (gunicorn is there).
        path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env = env | {"HOST": "127.0.0.1", "PORT": str(port), "PATH": path}
    proc = stack._start(argv, f"{server}.log", env)
    url = f"http://127.0.0.1:{port}"
    stack._wait(lambda: requests.get(f"{url}/healthz", timeout=10).status_code < 500,
                proc, f"{server}.log")  # fmt: skip
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def one_run(stack, server, env, tokens, args, round_no) -> dict:
    project = seed_project(args.items, len(tokens), round_no, server)
    proc, url = start_server(stack, server, env)
    try:
        run = run_clients(url, tokens, project.pk, args.seconds, proc.pid, "\0no database")
    finally:
        stop(proc)
    results = run["clients"]
    merged = {k: [x for r in results for x in r[k]] for k in ("next", "submit", "pair")}
    return {
        "server": server, "round": round_no, "clients": len(tokens),
        "labels_per_s": round(len(merged["pair"]) / run["wall"], 1),
        "errors": sum(r["errors"] for r in results),
        **{f"{k}_ms": percentiles(v) for k, v in merged.items()},
        **check_integrity(project, results),
    }  # fmt: skip


def median_of(runs: list[dict], server: str, key: str, p: str | None = None) -> float:
    values = [r[key][p] if p else r[key] for r in runs if r["server"] == server]
    return round(statistics.median(values), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="quorum-web-bench-") as tmp:
        var = Path(tmp)
        env = app_env(var, debug=True)
        django_setup(env)
        tokens = make_annotators(args.clients)
        runs = []
        with Stack(env, var / "logs") as stack:
            for round_no in range(args.rounds):
                order = SERVERS if round_no % 2 == 0 else SERVERS[::-1]
                for server in order:
                    runs.append(one_run(stack, server, env, tokens, args, round_no))
                    r = runs[-1]
                    print(f"round {round_no} {server:>9}: {r['labels_per_s']} labels/s, pair "
                          f"p50/p99 {r['pair_ms']['p50']}/{r['pair_ms']['p99']} ms", flush=True)  # fmt: skip

    summary = {
        server: {
            "labels_per_s": median_of(runs, server, "labels_per_s"),
            **{
                f"{k}_{p}": median_of(runs, server, f"{k}_ms", p)
                for k in ("next", "submit", "pair")
                for p in ("p50", "p99")
            },
            "errors": sum(r["errors"] for r in runs if r["server"] == server),
            "double_served": sum(r["double_served"] for r in runs if r["server"] == server),
            "lost": sum(r["lost"] for r in runs if r["server"] == server),
        }  # fmt: skip
        for server in SERVERS
    }
    ratio = round(summary["gunicorn"]["labels_per_s"] / summary["runserver"]["labels_per_s"], 2)
    print(f"\n{args.clients} clients back to back, median of {args.rounds} rounds "
          f"of {args.seconds:.0f} s (SQLite WAL, DEBUG=1):\n")  # fmt: skip
    print(
        "| server | labels/s | next p50/p99 ms | submit p50/p99 ms | pair p50/p99 ms | errors | double-served | lost |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for server, s in summary.items():
        print(f"| {server} | {s['labels_per_s']} | {s['next_p50']}/{s['next_p99']} | "
              f"{s['submit_p50']}/{s['submit_p99']} | {s['pair_p50']}/{s['pair_p99']} | "
              f"{s['errors']} | {s['double_served']} | {s['lost']} |")  # fmt: skip
    print(f"\ngunicorn / runserver labels/s: {ratio}x (target >= 1.5x; gunicorn pair p99 "
          f"{summary['gunicorn']['pair_p99']} ms, target < 200 ms)")  # fmt: skip
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "host": platform.node(),
        "cpus": os.cpu_count(), "load_average": os.getloadavg(), "args": vars(args),
        "runs": runs, "summary": summary, "labels_per_s_ratio": ratio,
    }, indent=2))  # fmt: skip
    print(f"wrote {RESULTS_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
