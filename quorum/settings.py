"""Quorum settings: the one place that reads the environment.

Defaults run on a laptop with nothing installed (SQLite, a filesystem Celery
broker under ``var/``). ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL
and Redis. With ``DEBUG`` off, a missing ``SECRET_KEY`` fails at start.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QUORUM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for dev)."
        )
    SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# --- security: TLS, headers, sessions, tokens, brute force (README "Security") -----------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto: HTTPS redirect, HSTS, secure
# cookies. Off by default so `make run` works on http://127.0.0.1.
QUORUM_BEHIND_TLS = env_bool("QUORUM_BEHIND_TLS", False)
SECURE_COOKIES = env_bool("SECURE_COOKIES", QUORUM_BEHIND_TLS)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if QUORUM_BEHIND_TLS:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probed over plain HTTP from inside the container
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("QUORUM_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("QUORUM_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a promise made to browser vendors by submitting the domain, not a header
# default; the check that asks for it is silenced on purpose.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (quorum/security.py): no inline script or style
# anywhere. QUORUM_CSP_REPORT_ONLY=1 sends it as Content-Security-Policy-Report-Only.
QUORUM_CSP_REPORT_ONLY = env_bool("QUORUM_CSP_REPORT_ONLY", False)
QUORUM_CSP_REPORT_URI = os.environ.get("QUORUM_CSP_REPORT_URI", "")
# A session ends after this long without a request (refreshed at most once a minute).
SESSION_COOKIE_AGE = env_int("QUORUM_SESSION_IDLE_MINUTES", 8 * 60) * 60
# API tokens expire this long after they were issued (POST /api/auth/token/ issues a new one).
QUORUM_TOKEN_TTL_HOURS = env_int("QUORUM_TOKEN_TTL_HOURS", 30 * 24)
# Brute force (annotation/services/users.py): wrong passwords per account and per client
# address within one window lock that account or address until the window ends (429).
QUORUM_LOGIN_WINDOW_SECONDS = env_int("QUORUM_LOGIN_WINDOW_SECONDS", 15 * 60)
QUORUM_LOGIN_FAILURES_PER_ACCOUNT = env_int("QUORUM_LOGIN_FAILURES_PER_ACCOUNT", 10)
QUORUM_LOGIN_FAILURES_PER_ADDRESS = env_int("QUORUM_LOGIN_FAILURES_PER_ADDRESS", 30)
QUORUM_MEMBER_LOOKUP_MISSES = env_int("QUORUM_MEMBER_LOOKUP_MISSES", 20)
# Reverse proxies in front of the web process whose X-Forwarded-For is trusted (0: use
# REMOTE_ADDR). Wrong here means every client shares one address's count.
QUORUM_TRUSTED_PROXIES = env_int("QUORUM_TRUSTED_PROXIES", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotation",
    "learning",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above WhiteNoise so static files get the policy and X-Frame-Options too.
    "quorum.security.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "quorum.logging.RequestIdMiddleware",
    "quorum.nul_guard.NulByteMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "quorum.security.SessionIdleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "quorum.urls"
WSGI_APPLICATION = "quorum.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
# SQLite gets the same options however it is named (the default path or a sqlite:// URL):
# WAL lets the web process read while a worker writes, BEGIN IMMEDIATE takes the write lock
# up front (a deferred transaction that upgrades mid-way fails at once with "database is
# locked" instead of waiting), and the busy timeout turns short contention into waiting.
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Connections live across requests; the health check at a request's first query
    # replaces one that a database restart killed, so that request still succeeds.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
    # Server-side parameters let PostgreSQL keep each statement prepared after its
    # first few runs (psycopg's prepare_threshold): the labeling hot path repeats
    # a dozen statements per label, so parse and plan time is saved on every one.
    # Off for a transaction-pooling proxy (PgBouncer): QUORUM_DB_PREPARE=0.
    postgresql = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    if postgresql and env_bool("QUORUM_DB_PREPARE", True):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options |= {"server_side_binding": True, "prepare_threshold": 2}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "quorum.sqlite3")),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS | DATABASES["default"].get("OPTIONS", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator", "MinimumLengthValidator",
        "CommonPasswordValidator", "NumericPasswordValidator",
    )
]  # fmt: skip

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Uploads: files over the async threshold go to a worker; nothing is read into memory whole.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("QUORUM_MAX_REQUEST_BYTES", 50 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
QUORUM_MAX_FIELD_BYTES = env_int("QUORUM_MAX_FIELD_BYTES", 100 * 1024)
# An imported image may have at most this many pixels (4096x4096: 64 MB decoded as RGBA),
# checked from its header before decoding, so a small file cannot decompress to gigabytes.
QUORUM_MAX_IMAGE_PIXELS = env_int("QUORUM_MAX_IMAGE_PIXELS", 4096 * 4096)
# User JSON (API bodies, import files, meta) may nest at most this deep, counted from the
# document's outermost container; deeper input is refused while it is read (400).
QUORUM_MAX_JSON_DEPTH = env_int("QUORUM_MAX_JSON_DEPTH", 32)
# One record of an import file (CSV row, JSON line, JSON array element): room for a 10 MB
# image as a base64 data URI. A longer one fails the file before it is held in memory.
QUORUM_MAX_ROW_BYTES = env_int("QUORUM_MAX_ROW_BYTES", 16 * 1024 * 1024)
QUORUM_ASYNC_IMPORT_BYTES = env_int("QUORUM_ASYNC_IMPORT_BYTES", 5 * 1024 * 1024)
QUORUM_MAX_REPORTED_ERRORS = 100
QUORUM_UPLOAD_DIR = VAR_DIR / "uploads"
QUORUM_EXPORT_DIR = Path(os.environ.get("QUORUM_EXPORT_DIR", VAR_DIR / "exports"))

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.FastTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    # `?format=` names export formats here, not DRF renderers.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Quorum API",
    "DESCRIPTION": "Active-learning annotation: projects, items, labels, queues, quality, exports.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI are for signed-in users (token or session): the API's map
    # is no secret in an open-source app, but an anonymous visitor has no use for it.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or "kind": one named enum each, not hashed names.
    "ENUM_NAME_OVERRIDES": {
        "ItemStatusEnum": "annotation.models.item.ItemStatus",
        "JobStatusEnum": "annotation.models.job.JobStatus",
        "JobKindEnum": "annotation.models.job.JobKind",
        "LabelIssueStatusEnum": "annotation.models.quality.IssueStatus",
        "JobCreateKindEnum": "api.serializers.jobs.STARTABLE_KINDS",
        "WebhookEventEnum": "annotation.models.monitoring.WebhookEvent",
        "AlertKindEnum": "annotation.models.monitoring.AlertKind",
    },
    # Every operation documents its error answers too (api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

# --- Celery -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# The cache holds the brute-force counts (quorum/throttle.py), which every web process must
# share: Redis when there is one, otherwise files under var/ (one machine, any number of
# gunicorn workers). Django's default, per-process memory, would give each worker its own.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "quorum-cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CELERY_FS_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300)
    }
else:
    for sub in ("out", "processed", "control"):
        (CELERY_FS_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "quorum.broker:Transport"  # kombu's, writing messages atomically
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FS_DIR / "out"),
        "data_folder_out": str(CELERY_FS_DIR / "out"),
        "processed_folder": str(CELERY_FS_DIR / "processed"),
        "control_folder": str(CELERY_FS_DIR / "control"),
        "store_processed": False,
    }
# Run records in the database are the source of truth for job state, so no
# result backend is needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TIME_LIMIT", 660)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A job still queued this long after it was created gets its message sent again (a lost
# message would otherwise strand it; running a job twice is impossible by design).
QUORUM_RESEND_QUEUED_AFTER_SECONDS = env_int("QUORUM_RESEND_QUEUED_AFTER_SECONDS", 600)
# A running job beats every QUORUM_JOB_HEARTBEAT_SECONDS (from a thread, so long steps beat
# too); one silent for QUORUM_JOB_STALE_SECONDS lost its worker, and the sweep takes it back
# and sends it again, QUORUM_JOB_MAX_ATTEMPTS runs in all, then fails it readably.
QUORUM_JOB_HEARTBEAT_SECONDS = env_int("QUORUM_JOB_HEARTBEAT_SECONDS", 10)
QUORUM_JOB_STALE_SECONDS = env_int("QUORUM_JOB_STALE_SECONDS", 60)
QUORUM_JOB_MAX_ATTEMPTS = env_int("QUORUM_JOB_MAX_ATTEMPTS", 3)
# PostgreSQL sessions that write an active-learning job's scores at once (the database
# does that work, one core per session).
QUORUM_SCORE_WRITERS = env_int("QUORUM_SCORE_WRITERS", 2)
# Every import that adds items queues a data audit of its project (coalesced).
QUORUM_AUDIT_AFTER_IMPORT = env_bool("QUORUM_AUDIT_AFTER_IMPORT", True)
# ... and drift checks (data, label, annotator drift; coalesced too).
QUORUM_DRIFT_AFTER_IMPORT = env_bool("QUORUM_DRIFT_AFTER_IMPORT", True)
# Webhooks (annotation.services.webhooks): a URL whose host resolves to a loopback, private,
# link-local (cloud metadata) or otherwise non-public address is refused, when it is saved and
# again at every send, unless QUORUM_WEBHOOK_ALLOW_PRIVATE=1 (the tests' local receiver).
# A failed send is retried QUORUM_WEBHOOK_MAX_ATTEMPTS times in all, the n-th retry after
# QUORUM_WEBHOOK_RETRY_BASE_SECONDS * 2**(n-1) seconds (at most an hour).
QUORUM_WEBHOOK_ALLOW_PRIVATE = env_bool("QUORUM_WEBHOOK_ALLOW_PRIVATE", False)
QUORUM_WEBHOOK_TIMEOUT_SECONDS = env_int("QUORUM_WEBHOOK_TIMEOUT_SECONDS", 10)
QUORUM_WEBHOOK_MAX_ATTEMPTS = env_int("QUORUM_WEBHOOK_MAX_ATTEMPTS", 6)
QUORUM_WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("QUORUM_WEBHOOK_RETRY_BASE_SECONDS", 10))
CELERY_BEAT_SCHEDULE: dict = {
    "resend-stale-jobs": {
        "task": "annotation.jobs.tasks.resend_stale_jobs",
        "schedule": env_int("RESEND_SWEEP_SECONDS", 60),
    },
    # A data audit of every project whose items changed since its latest audit (enqueue only).
    "audit-sweep": {
        "task": "annotation.jobs.tasks.enqueue_audits",
        "schedule": env_int("AUDIT_SWEEP_SECONDS", 24 * 3600),
    },
    # Drift checks for every project with new items or labels since its latest drift job.
    "drift-sweep": {
        "task": "annotation.jobs.tasks.enqueue_drift_checks",
        "schedule": env_int("DRIFT_SWEEP_SECONDS", 24 * 3600),
    },
    # Items past their project's content retention lose their content (labels stay).
    "retention-sweep": {
        "task": "annotation.tasks.apply_retention",
        "schedule": env_int("RETENTION_SWEEP_SECONDS", 24 * 3600),
    },
    # Webhook deliveries stranded as pending (the broker was down when they were queued, or
    # a worker died mid-retry) get a new message.
    "webhook-resend": {
        "task": "annotation.tasks.resend_stranded_deliveries",
        "schedule": env_int("WEBHOOK_RESEND_SECONDS", 600),
    },
    # Fresh agreement numbers for projects that got new multi-annotated items (enqueue only).
    "agreement-sweep": {
        "task": "learning.tasks.enqueue_agreement_jobs",
        "schedule": env_int("AGREEMENT_SWEEP_SECONDS", 900),
    },
}

# --- logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "quorum.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
