"""The Celery app test workers run (``celery -A tests.integration.worker_app``): Quorum's own,
on a machine as slow as a test asks for.

A test that must catch an active-learning job half-way (kill its worker, freeze it, stop
the broker under it, queue another job behind it) starts its worker with
``QUORUM_TEST_CHUNK_SECONDS``: every scoring chunk then takes that many seconds longer.
The delay wraps the real ``chunk_score`` in the worker process, so the job still claims,
scores, beats and reports progress exactly as in production, where no such knob exists.
"""

import os
import time

from celery.signals import task_prerun

from quorum.celery import app

__all__ = ["app"]

CHUNK_SECONDS = float(os.environ.get("QUORUM_TEST_CHUNK_SECONDS") or 0)
_slowed = False


@task_prerun.connect
def _slow_down_chunks(**_) -> None:
    """Once per worker process, before its first task (Django is set up by then)."""
    global _slowed
    if _slowed or not CHUNK_SECONDS:
        return
    from learning.services import score_chunks

    score = score_chunks.chunk_score

    def slow_chunk_score(chunk):
        time.sleep(CHUNK_SECONDS)
        return score(chunk)

    score_chunks.chunk_score = slow_chunk_score
    _slowed = True
