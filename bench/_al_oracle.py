"""The machinery behind ``bench/al_curve.py``: data, a live app, an oracle that speaks HTTP.

``LiveApp`` starts the real app the way ``Procfile.dev`` does, on a throw-away SQLite file:
gunicorn (one sync worker) on 127.0.0.1 and one Celery worker (solo pool) on the filesystem
broker, through the benchmarks' harness (``_harness.Stack``). ``Api`` is a token-authenticated
``requests`` session. The bench process itself opens the same SQLite file only to create
the two users (the API has no sign-up) and to read the stored model of each version for
the held-out evaluation.
"""

from __future__ import annotations

import base64
import csv
import io
import time
from pathlib import Path

import numpy as np
import requests
from _harness import DATA, Stack, app_env, django_setup


def digit_png(pixels: np.ndarray) -> bytes:
    """An 8x8 scikit-learn digit (values 0..16) as a grayscale PNG."""
    from PIL import Image

    image = Image.fromarray(np.round(pixels.reshape(8, 8) * (255 / 16)).astype(np.uint8), "L")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def load_sets(pool: int | None, test: int, seed: int = 0) -> dict[str, dict]:
    """Each set: ``x`` (texts, or PNG bytes for digits), ``y`` (label names), ``kind``,
    and disjoint ``pool`` / ``test`` index arrays (a seeded permutation, the same for all).
    ``pool=None``: every item not in the test split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    sets = {
        "digits": {"x": [digit_png(d) for d in digits.data], "kind": "image",
                   "y": digits.target.astype(str).tolist()},
    }  # fmt: skip
    with open(DATA / "uci-sms-spam" / "SMSSpamCollection", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line]
    sets["sms_spam"] = {"x": [r[1] for r in rows], "y": [r[0] for r in rows], "kind": "text"}
    sentences: list[list[str]] = []
    for name in ("amazon_cells", "imdb", "yelp"):
        path = DATA / "uci-sentiment-labelled-sentences" / f"{name}_labelled.txt"
        with open(path, encoding="utf-8") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            sentences += [r for r in reader if len(r) == 2]
    sets["sentiment"] = {"x": [r[0] for r in sentences], "kind": "text",
                         "y": [r[1].strip() for r in sentences]}  # fmt: skip
    rng = np.random.default_rng(seed)
    for data in sets.values():
        order = rng.permutation(len(data["y"]))
        data["test"], data["pool"] = order[:test], order[test:][:pool]
    return sets


def import_payload(data: dict) -> list[dict]:
    """The pool as ``POST /api/projects/{id}/import`` JSON items; ids are dataset indices."""
    items = []
    for i in data["pool"]:
        if data["kind"] == "image":
            uri = "data:image/png;base64," + base64.b64encode(data["x"][i]).decode()
            items.append({"id": str(i), "image": uri})
        else:
            items.append({"id": str(i), "text": data["x"][i]})
    return items


def features(data: dict, idx: np.ndarray, text_featurizer=None):
    """(len(idx), D) features of ``idx`` as the app computes them (image or text path)."""
    from PIL import Image

    from learning.featurize import image_features

    if data["kind"] == "image":
        return image_features([Image.open(io.BytesIO(data["x"][i])) for i in idx])
    return text_featurizer.transform([data["x"][i] for i in idx])


def evaluate(model_version_id: int, data: dict) -> tuple[float, float]:
    """Held-out accuracy and macro-F1 of the model version a job stored."""
    from sklearn.metrics import accuracy_score, f1_score

    from learning.classifier import predict_proba_full
    from learning.services.model_state import state_load

    state = state_load(model_version_id)
    X = features(data, data["test"], state.get("text"))
    proba = predict_proba_full(state["model"], X, len(state["labels"]))
    predicted = np.asarray(state["labels"])[proba.argmax(axis=1)]
    truth = np.asarray([data["y"][i] for i in data["test"]])
    return float(accuracy_score(truth, predicted)), float(
        f1_score(truth, predicted, average="macro")
    )


class LiveApp:
    """The default stack on a throw-away SQLite file (``_harness.Stack``): gunicorn (one sync
    worker) and one Celery worker (solo pool, filesystem broker polled every 0.1 s: the
    bench waits for ~500 jobs, and a second of idle latency each would dominate the run)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = app_env(tmp)
        self.stack = Stack(self.env, tmp)
        self.url = ""

    def setup_django(self) -> None:
        """Configure Django in this process (same DB) and migrate the fresh file."""
        django_setup(self.env)

    def start(self) -> None:
        self.stack.worker(polling=0.1)
        self.url = self.stack.web(workers=1, timeout=600)[1]

    def stop(self) -> None:
        self.stack.stop()


class Api:
    """A token-authenticated session on the live app; raises on any unexpected status."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.session = requests.Session()
        token = self.call("POST", "/api/auth/token", {"username": username, "password": password})
        self.session.headers["Authorization"] = f"Token {token['token']}"

    def call(self, method: str, path: str, body: dict | None = None, ok=(200, 201, 202)):
        response = self.session.request(method, self.url + path, json=body, timeout=600)
        if response.status_code not in ok:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    def job_wait(self, job_id: int, timeout: float = 600) -> dict:
        """Follow ``GET /api/jobs/{id}`` until the job succeeded (raise if it failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.call("GET", f"/api/jobs/{job_id}")
            if job["status"] == "succeeded":
                return job
            if job["status"] == "failed":
                raise RuntimeError(f"job {job_id} failed: {job.get('error')}")
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
