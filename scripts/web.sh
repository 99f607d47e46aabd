#!/usr/bin/env bash
# The embedded default's web server (`make run` starts it through Procfile.dev): gunicorn with
# one process per core (WEB_CONCURRENCY) and threads in each (WEB_THREADS), so that every core
# serves requests and a slow request does not hold the others up. Django's development server
# was one process: one core, whatever the machine. bench/web_server.py measures both: on a
# quiet 2-core machine, 8 clients back to back, threads 1 / 2 / 4 gave 2.23x / 2.01x / 2.02x
# the development server's labels/s with pair p99 64 / 123 / 237 ms (more threads, more
# writers queueing on SQLite's one write lock). Two threads keep the tail under 200 ms and let
# a long download share its process with labeling.
# DEBUG stays its own choice (make run sets DEBUG=1; whitenoise then serves static/ from the
# source folders, as runserver did). HOST and PORT come from `make run`.
set -euo pipefail
exec gunicorn quorum.wsgi:application \
    --bind "${HOST:-127.0.0.1}:${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-$(nproc)}" \
    --threads "${WEB_THREADS:-2}" \
    --timeout 60 \
    --graceful-timeout 5 \
    --no-control-socket \
    --access-logfile -
