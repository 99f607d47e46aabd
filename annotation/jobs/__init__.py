"""Background jobs: one package, imported in one direction (import-linter checks it).

- ``registry``: which handler runs each kind (apps register theirs from ``ready()``) and
  how the runner treats each kind;
- ``selectors``: the label watermark, and "is a job due?" (one query each);
- ``claims``: who runs a job (claim tokens, heartbeats, the write fence);
- ``dispatch``: queueing a job and sending its message;
- ``runner``: claiming, running and finishing a job;
- ``triggers``: jobs set off by labels, imports and the beat; ``sweep``: lost messages and
  dead workers;
- ``tasks``: the Celery entry points.
"""
