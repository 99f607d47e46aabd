"""Which function runs each kind of job, and how the runner treats each kind.

The app that owns a handler registers it from its ``AppConfig.ready()``: ``annotation``
registers import and snapshot, ``learning`` registers active learning, label issues,
agreement and audit. So the job core names no handler of another app, and ``annotation``
never imports ``learning``.

A handler is registered by dotted path and imported the first time a job of its kind runs:
the learning handlers pull in scikit-learn and friends (about 5 s of imports), which the web
process, which only enqueues jobs, should not pay for at start.
"""

from collections.abc import Callable
from typing import Any

from django.utils.module_loading import import_string

from annotation.models import JobKind

# ``handler(job, report_progress) -> result dict``; ``report_progress(fraction in [0, 1])``.
ProgressFn = Callable[[float], None]
Handler = Callable[[Any, ProgressFn], dict | None]

# The Celery task that runs one job by id (``annotation.jobs.tasks.run_job``). The runner
# sends it by name, so the module that defines the task can import the runner.
RUN_JOB_TASK = "annotation.jobs.tasks.run_job"

# At most one waiting job per project of these kinds, and one running at a time: a new
# request while one waits joins it, and the waiting one reads every label when it starts.
COALESCED_KINDS = frozenset(
    {JobKind.ACTIVE_LEARNING, JobKind.LABEL_ISSUES, JobKind.AGREEMENT, JobKind.AUDIT, JobKind.DRIFT}
)
# Kinds whose handler writes everything in one transaction, which also finishes the job: an
# import that committed its items can never be left "running" and imported a second time.
ONE_TRANSACTION_KINDS = frozenset({JobKind.IMPORT})

_HANDLERS: dict[str, str] = {}
# Called with the job's id once a job's success or failure commits (webhooks, alert rules).
_FINISH_LISTENERS: list[str] = []


class JobRejected(Exception):
    """The job ran but its input was refused (e.g. an import with bad rows)."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


def register_handler(kind: str, path: str) -> None:
    """Make ``path`` (``"package.module.function"``) the handler of ``kind`` jobs.

    Registering the same path again is a no-op (``ready()`` may run twice in tests); a
    second, different handler for a kind is a programming error and raises ``ValueError``.
    """
    if kind not in JobKind.values:
        raise ValueError(f"Unknown job kind {kind!r}.")
    if _HANDLERS.setdefault(kind, path) != path:
        raise ValueError(f"Job kind {kind!r} already runs {_HANDLERS[kind]}, not {path}.")


def job_handler(kind: str) -> Handler:
    """The handler registered for ``kind``. ``LookupError`` when no app registered one (its
    app is not installed): the runner fails the job with that message."""
    try:
        path = _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"No handler is registered for {kind!r} jobs.") from None
    return import_string(path)


def registered_kinds() -> frozenset[str]:
    return frozenset(_HANDLERS)


def register_finish_listener(path: str) -> None:
    """Call ``path`` (``"package.module.function"``, taking ``job_id``) after every job's
    final status commits. Registering a path twice is a no-op."""
    if path not in _FINISH_LISTENERS:
        _FINISH_LISTENERS.append(path)


def finish_listeners() -> list[Callable[..., None]]:
    return [import_string(path) for path in _FINISH_LISTENERS]
