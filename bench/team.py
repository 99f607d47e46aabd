"""A real team through the whole loop: overlap, agreement, label issues, one label rule.

    python bench/team.py                      # SMS spam, checkpoints 100/200/400, margin vs random
    python bench/team.py --checkpoints 100,200 --seed 1

Three simulated annotators with accuracies 0.95, 0.85 and 0.70 label the SMS spam set
(../shared/data/uci-sms-spam) through the REST API of the default stack (gunicorn and one
Celery worker, SQLite and the filesystem broker: ``bench/_al_oracle.LiveApp``). They take
turns asking for their next item; a wrong answer is the other label. The project has overlap 1
with ``agreement_sample`` 0.2, adaptive overlap up to 3 (``min_item_agreement`` 1.0), active
learning every 20 labels, label issues every 50 and agreement every 10 multi-labeled items:
every job runs because the project's settings trigger it, as in production.

At each checkpoint (after the worker has drained its queue) it reports:
- items with two or more labels;
- Krippendorff's alpha from the app (``GET /agreement``), next to the alpha the simulated
  accuracies imply (observed vs chance disagreement of two independent annotators);
- consensus accuracy: the snapshot's label against the truth, on items with 2+ labels;
- precision and recall of the open label issues against the items whose label is wrong;
- the model's macro-F1 on a held-out split (500 texts), against the same run in random order;
- whether every snapshot row equals the training label (``annotation.label_selectors``);
- label-issue runs whose gate was closed and whether any of them flagged anything;
- failed jobs.
Prints a table and writes bench/results/team.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _al_oracle import Api, LiveApp, evaluate, load_sets

RESULTS = Path(__file__).resolve().parent / "results"
ACCURACIES = {"ann95": 0.95, "ann85": 0.85, "ann70": 0.70}
TERMINAL = {"succeeded", "failed"}


def project_start(manager: Api, data: dict, strategy: str, seed: int) -> int:
    project = manager.call("POST", "/api/projects", {
        "name": f"team-{strategy}-{seed}", "labels": ["ham", "spam"], "strategy": strategy,
        "seed": seed, "data_type": "text", "overlap": 1, "max_overlap": 3,
        "min_item_agreement": 1.0, "agreement_sample": 0.2, "retrain_every": 20,
        "label_issues_every": 50, "agreement_every": 10, "fallback_order": "random",
    })  # fmt: skip
    pid = project["id"]
    for username in ACCURACIES:
        manager.call("POST", f"/api/projects/{pid}/members",
                     {"username": username, "role": "annotator"})  # fmt: skip
    items = [{"id": str(i), "text": data["x"][i]} for i in data["pool"]]
    result = manager.call("POST", f"/api/projects/{pid}/import", {"items": items})
    assert result["created"] == len(items), result
    return pid


def label_until(apis: dict, pid: int, data: dict, target: int, state: dict, rng) -> None:
    """Annotators take turns until the project holds ``target`` labels."""
    names = list(ACCURACIES)
    while state["labels"] < target:
        name = names[state["turn"] % len(names)]
        state["turn"] += 1
        item = apis[name].call("GET", f"/api/projects/{pid}/next", ok=(200, 204))
        if item is None:
            continue
        truth = data["y"][int(item["external_id"])]
        answer = truth if rng.random() < ACCURACIES[name] else ({"ham", "spam"} - {truth}).pop()
        apis[name].call("POST", f"/api/items/{item['id']}/annotations/", {"label": answer})
        state["given"].setdefault(item["external_id"], []).append((name, answer))
        state["labels"] += 1


def every_page(api: Api, path: str) -> list[dict]:
    rows: list[dict] = []
    while path:
        body = api.call("GET", path)
        if isinstance(body, list):
            return rows + body
        rows += body["results"]
        path = body["next"].replace(api.url, "") if body.get("next") else None
    return rows


def jobs_drained(manager: Api, pid: int, timeout: float = 900) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = every_page(manager, f"/api/projects/{pid}/jobs")
        if all(job["status"] in TERMINAL for job in jobs):
            return jobs
        time.sleep(0.2)
    raise TimeoutError(f"project {pid}: jobs still running after {timeout} s")


def snapshot_rows(manager: Api, pid: int) -> list[dict]:
    created = manager.call("POST", f"/api/projects/{pid}/snapshots", {})
    manager.job_wait(created["job"]["id"])
    response = manager.session.get(
        f"{manager.url}/api/snapshots/{created['id']}/download?format=jsonl"
    )
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines() if line]


def open_issues(manager: Api, pid: int) -> set[str]:
    issues = every_page(manager, f"/api/projects/{pid}/label-issues?status=open")
    return {issue["item"]["external_id"] for issue in issues}


def implied_alpha(labeled_truths: list[str]) -> float:
    """Alpha of two independent annotators drawn from the team, on the labeled items' truths."""
    spam = np.mean([t == "spam" for t in labeled_truths])
    pairs = list(combinations(ACCURACIES.values(), 2))
    observed = np.mean([a * (1 - b) + b * (1 - a) for a, b in pairs])  # P(disagree)
    mean_acc = np.mean(list(ACCURACIES.values()))
    given_spam = spam * mean_acc + (1 - spam) * (1 - mean_acc)
    expected = 2 * given_spam * (1 - given_spam)
    return float(1 - observed / expected)


def checkpoint(apis, pid, data, state, strategy) -> dict:
    from annotation.label_selectors import training_labels
    from annotation.models import Item, Project

    manager = apis["manager"]
    jobs = jobs_drained(manager, pid)
    agreement = manager.call("GET", f"/api/projects/{pid}/agreement")
    alpha = agreement["project"].get("krippendorff_alpha", {}).get("value")
    rows = snapshot_rows(manager, pid)
    decided = {row["id"]: row["label"] for row in rows}
    truth = {ext: data["y"][int(ext)] for ext in decided}
    multi = [ext for ext, given in state["given"].items() if len(given) >= 2]
    wrong = {ext for ext, label in decided.items() if label != truth[ext]}
    flagged = open_issues(manager, pid)
    project = Project.objects.get(pk=pid)
    training = training_labels(project=project, exclude_open_issues=False)
    external = dict(Item.objects.filter(project=project).values_list("pk", "external_id"))
    trained = {external[pk]: lab[0] for pk, lab in zip(training.item_ids.tolist(), training.labels,
                                                        strict=True)}  # fmt: skip
    issue_runs = [j for j in jobs if j["kind"] == "label_issues"]
    last_run = max(issue_runs, key=lambda j: j["id"])["result"] if issue_runs else {}
    gate = (last_run or {}).get("gate", {})
    closed = [j for j in issue_runs if not (j.get("result") or {}).get("gate", {}).get("passed")]
    models = manager.call("GET", f"/api/projects/{pid}/models")["models"]
    f1 = evaluate(models[-1]["id"], data)[1] if models else None
    return {
        "strategy": strategy, "labels": state["labels"], "items_2plus": len(multi),
        "alpha_app": alpha, "alpha_implied": round(implied_alpha([truth[e] for e in decided]), 3),
        "consensus_acc": round(float(np.mean([decided[e] == truth[e] for e in multi])), 3) if multi else None,
        "issues_open": len(flagged),
        "issue_precision": round(len(flagged & wrong) / len(flagged), 3) if flagged else None,
        "issue_recall": round(len(flagged & wrong) / len(wrong), 3) if wrong else None,
        "macro_f1": round(f1, 3) if f1 is not None else None,
        "snapshot_equals_training": decided == trained,
        "issue_runs": len(issue_runs), "gate_closed_runs": len(closed),
        "last_gate": {"passed": gate.get("passed"), "lift": gate.get("lift"),
                      "cv_accuracy": gate.get("cv_accuracy"),
                      "mild_doubts": (last_run or {}).get("mild_doubts_not_flagged")},
        "flags_while_closed": sum((j.get("result") or {}).get("flagged", 0) for j in closed),
        "failed_jobs": sum(j["status"] == "failed" for j in jobs),
    }  # fmt: skip


def run(apis, data, strategy, seed, checkpoints) -> list[dict]:
    pid = project_start(apis["manager"], data, strategy, seed)
    rng = np.random.default_rng(seed)
    state = {"labels": 0, "turn": 0, "given": {}}
    rows = []
    for target in checkpoints:
        label_until(apis, pid, data, target, state, rng)
        rows.append(checkpoint(apis, pid, data, state, strategy))
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="100,200,400")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategies", default="margin,random")
    args = parser.parse_args()
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    app = LiveApp(Path(tempfile.mkdtemp(prefix="team-")))
    app.setup_django()
    from django.contrib.auth import get_user_model

    from annotation.services.users import user_allow_project_creation

    users = ["manager", *ACCURACIES]
    for username in users:
        get_user_model().objects.create_user(username, password=f"pw-{username}-Quorum1")
    user_allow_project_creation(user=get_user_model().objects.get(username="manager"))
    data = load_sets(None, 500)["sms_spam"]
    rows = []
    try:
        app.start()
        apis = {u: Api(app.url, u, f"pw-{u}-Quorum1") for u in users}
        for strategy in args.strategies.split(","):
            rows += run(apis, data, strategy, args.seed, checkpoints)
    finally:
        app.stop()
    columns = list(rows[0])
    print("\n" + " | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "team.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    print(f"wrote {RESULTS / 'team.json'}")


if __name__ == "__main__":
    main()
