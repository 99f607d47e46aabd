#!/usr/bin/env bash
# The embedded default's web server (`make run` starts it through Procfile.dev): gunicorn with
# one process per core (WEB_CONCURRENCY) and threads in each (WEB_THREADS), so that every core
# serves requests and a slow request does not hold the others up. Django's development server
# was one process: one core, whatever the machine. bench/web_server.py measures both.
# DEBUG stays its own choice (make run sets DEBUG=1; whitenoise then serves static/ from the
# source folders, as runserver did). HOST and PORT come from `make run`.
set -euo pipefail
exec gunicorn quorum.wsgi:application \
    --bind "${HOST:-127.0.0.1}:${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-$(nproc)}" \
    --threads "${WEB_THREADS:-4}" \
    --timeout 60 \
    --graceful-timeout 5 \
    --no-control-socket \
    --access-logfile -
