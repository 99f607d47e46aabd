"""find_label_issues must run inside a Celery prefork child, which is a daemonic process and
may not start processes of its own (cleanlab forks a pool unless told not to)."""

import multiprocessing

import numpy as np

from learning.label_quality import find_label_issues


def _search(queue) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 40)
    probs = np.full((labels.size, 3), 0.05)
    probs[np.arange(labels.size), labels] = 0.9
    wrong = rng.choice(labels.size, 6, replace=False)
    probs[wrong] = np.roll(probs[wrong], 1, axis=1)  # the model disagrees on six items
    try:
        queue.put(sorted(find_label_issues(labels, probs).ranked.tolist()) == sorted(wrong))
    except Exception as exc:  # noqa: BLE001 - report any failure to the parent
        queue.put(repr(exc))


def test_find_label_issues_runs_in_a_daemonic_process():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_search, args=(queue,), daemon=True)
    child.start()
    outcome = queue.get(timeout=60)
    child.join(10)
    assert outcome is True
