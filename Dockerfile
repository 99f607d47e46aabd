# Quorum image: one image for web (gunicorn), Celery worker, Celery beat and the migrate job.
# See docker-compose.yml for how they are wired. Build: docker build -t quorum .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The app runs as an unprivileged user; code stays root-owned (read-only to it), and only the
# directories it writes (var/: uploads, exports, beat schedule; media/) belong to it.
RUN groupadd --system quorum \
    && useradd --system --gid quorum --home-dir /app --no-create-home --shell /usr/sbin/nologin quorum

WORKDIR /app

# Requirements first, so code changes reuse the dependency layer. All wheels: no compiler needed.
# Only the app's pinned set (requirements.txt, compiled from requirements.in): the test and
# dev tools (requirements-dev.txt) do not ship in the image.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are baked in and served by whitenoise. Settings refuse to load without a secret
# when DEBUG is off, so the build uses a throwaway one; the real SECRET_KEY comes at run time.
RUN SECRET_KEY=collectstatic-build-only DEBUG=0 python manage.py collectstatic --noinput \
    && rm -rf var \
    && mkdir -p var media \
    && chown -R quorum:quorum var media

USER quorum

EXPOSE 8000

# WEB_CONCURRENCY (gunicorn reads it) sets the number of web workers; default 2.
ENV WEB_CONCURRENCY=2
CMD ["gunicorn", "quorum.wsgi", "-b", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "60"]
