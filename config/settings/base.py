"""Settings for every environment, driven by environment variables (django-environ).

DEBUG is off unless the environment turns it on: a server started with nothing set must not run with public
development keys, the sandbox mounted and technical error pages. `make run`, `manage.py` (the developer's tool,
as cookiecutter-django's manage.py defaults to local settings) and the tests turn it on; the servers' entry
points (wsgi, asgi, Celery) never do. With DEBUG on, embedded defaults run the whole product with nothing
installed: SQLite and a filesystem Celery broker under `var/`, the sandbox fakes mounted. With DEBUG off the
settings refuse to load unless the deployment is safe (`_refuse_unsafe_production`; README "Configuration").
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)

# Development-only fallbacks: with DEBUG off the app refuses to start without real values.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
_DEV_CRYPTOGRAPHY_KEY = "dev-only-insecure-cryptography-key-0123456789abcdef"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}

SECRET_KEY = env_secret("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else None)
CRYPTOGRAPHY_KEY = env_secret("CRYPTOGRAPHY_KEY", default=_DEV_CRYPTOGRAPHY_KEY if DEBUG else None)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

# Our encrypted fields (integration/crypto.py) read SECRETS_*; django-cryptography's app config rewrites
# the CRYPTOGRAPHY_* settings in place (derived bytes), so we keep our own names for the raw values.
SECRETS_ENCRYPTION_KEY = CRYPTOGRAPHY_KEY
SECRETS_DEVELOPMENT_KEY = _DEV_CRYPTOGRAPHY_KEY  # public; rotate_encryption_key refuses to rotate onto it
SECRETS_ENCRYPTION_SALT = env.str("CRYPTOGRAPHY_SALT", default="kleer-hubspot")
# Previous keys, still accepted for decryption while `manage.py rotate_encryption_key` re-encrypts.
SECRETS_ENCRYPTION_OLD_KEYS = env.list("CRYPTOGRAPHY_OLD_KEYS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "accounts",
    "integration",
    "sandbox",
    "sandbox.kleer",
    "sandbox.hubspot",
    "sandbox.hubspot_crm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above the session and CSRF middleware so it sees the cookies they set (accounts/portal_session.py).
    "accounts.portal_session.PartitionedCookieMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.sessions.ScopedSessionMiddleware",
    # After the session (it reads the portal session's language), before anything that renders text.
    "accounts.language.PortalLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "integration.middleware.HostileInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.sessions.ScopedAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let web, worker and beat share the embedded database.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en"
# The customer's pages (settings, install, launch) speak these; the admin stays English (accounts/language.py).
LANGUAGES = [("en", "English"), ("sv", "Svenska")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date-time format everywhere (settings page and admin): ISO date, 24 h clock, the time zone shown.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security -------------------------------------------------------------------------------
# The settings page lives inside HubSpot's iframe: its session cookie must be SameSite=None; Secure (and is
# marked Partitioned) in production, and only HubSpot may frame us (CSP frame-ancestors, set by the settings
# views). Staff's admin session is a separate cookie that stays SameSite=Lax (accounts/sessions.py); the CSRF
# secret lives in whichever session serves the request, so there is no shared CSRF cookie.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
PORTAL_SESSION_COOKIE_NAME = "kh_portal_session"
PORTAL_SESSION_COOKIE_SECURE = not DEBUG
PORTAL_SESSION_COOKIE_SAMESITE = "Lax" if DEBUG else "None"
CSRF_USE_SESSIONS = True
# Messages ride in the same session: the default cookie storage would set a third cookie with the staff
# cookie's SameSite=Lax, which the browser drops inside HubSpot's iframe ("saved" would never show).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_COOKIE_SECURE = not DEBUG  # unused with CSRF_USE_SESSIONS; kept for `check --deploy`
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
# Django's own CSRF page is DENY-framed, i.e. blank inside HubSpot's iframe; ours can be framed and says what to do.
CSRF_FAILURE_VIEW = "accounts.portal_session.csrf_failure"
FRAME_ANCESTORS = env.list(
    "FRAME_ANCESTORS",
    default=["https://app.hubspot.com", "https://app-eu1.hubspot.com", "https://*.hubspot.com"],
)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
# The largest run measured (README "Benchmark": 100,000 invoices, first sync) took 1,098 s on a loaded 2-core
# machine: an hour leaves three times that. The soft limit ends the run as failed with its batches kept.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=55 * 60)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis redelivers a late-acked message nobody acknowledged within the visibility timeout, even while its
    # task still runs. Longer than the hard time limit, a live run is never handed to a second worker; a
    # killed worker's message comes back after it. See
    # https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 5 * 60)
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Late acknowledgement: a message is acknowledged when its task ends, so a worker killed mid-task (SIGKILL, OOM,
# a lost host) leaves it on the broker to be delivered again, and the run lock's takeover (services/runs.py)
# ends the dead run. Prefetch 1: a worker process reserves one task at a time and never hoards a queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Survives a broker restart mid-task instead of exiting (config/celery_consumer.py).
CELERY_WORKER_CONSUMER = "config.celery_consumer:BrokerLossConsumer"
# Two queues, separate workers (integration/queues.py, README "Production"): a click never waits for a backfill.
CELERY_QUEUE_INTERACTIVE = env.str("CELERY_QUEUE_INTERACTIVE", default="interactive")
CELERY_QUEUE_SCHEDULED = env.str("CELERY_QUEUE_SCHEDULED", default="scheduled")
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE_SCHEDULED
CELERY_TASK_ROUTES = ("integration.queues.route_task",)
# Logs go through Django's LOGGING (JSON in production) in workers too, instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# Same PeriodicTask rows as DatabaseScheduler, without whole-table reloads (README "Schedules at fleet size").
CELERY_BEAT_SCHEDULER = "integration.beat:FleetScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
BEAT_HEARTBEAT_SECONDS = env.int("BEAT_HEARTBEAT_SECONDS", default=30)
# Code-owned housekeeping only; per-portal sync schedules live in the database (README "Schedules").
CELERY_BEAT_SCHEDULE: dict = {
    # Re-upserted at every beat start: never put admin-editable schedules here (STYLE.md "Scheduling").
    # Proves beat dispatches (`/healthz`, metric kleer_beat_heartbeat_age_seconds); on the interactive queue.
    "beat-heartbeat": {"task": "integration.tasks.beat_heartbeat", "schedule": float(BEAT_HEARTBEAT_SECONDS)},
    "housekeeping-prune": {
        "task": "integration.tasks.housekeeping_prune",
        "schedule": crontab(hour=3, minute=17),
    },
}

# --- Redis (rate limiting, locks). Empty = use the database. ------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

# --- Integration ----------------------------------------------------------------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
KLEER_API_BASE = env.str(
    "KLEER_API_BASE",
    default=f"{PUBLIC_BASE_URL}/sandbox/kleer/v1" if SANDBOX_ENABLED else "https://api.kleer.se/v1",
)
HUBSPOT_API_BASE = env.str(
    "HUBSPOT_API_BASE",
    default=f"{PUBLIC_BASE_URL}/sandbox/hubspot" if SANDBOX_ENABLED else "https://api.hubapi.com",
)
HUBSPOT_AUTHORIZE_URL = env.str(
    "HUBSPOT_AUTHORIZE_URL",
    default=f"{PUBLIC_BASE_URL}/sandbox/hubspot/oauth/authorize"
    if SANDBOX_ENABLED
    else "https://app.hubspot.com/oauth/authorize",
)
HUBSPOT_API_VERSION = env.str("HUBSPOT_API_VERSION", default="2026-03")
# Where "contact us to upgrade" on the Pro-only tabs leads: a mailto: or an https:// page (the app's listing, a
# pricing page). Default: a mail to support at this service's own host, naming the portal.
UPGRADE_URL = env.str(
    "UPGRADE_URL",
    default=f"mailto:support@{urlsplit(PUBLIC_BASE_URL).hostname or 'localhost'}"
    "?subject=Kleer%20for%20HubSpot%3A%20Pro%20plan",
)
if urlsplit(UPGRADE_URL).scheme not in ("mailto", "https", "http"):
    raise ImproperlyConfigured(f"UPGRADE_URL must be a mailto:, https:// or http:// address, not {UPGRADE_URL!r}")
HUBSPOT_CLIENT_ID = env.str("HUBSPOT_CLIENT_ID", default="sandbox-client-id" if DEBUG else "")
HUBSPOT_CLIENT_SECRET = env_secret("HUBSPOT_CLIENT_SECRET", default="sandbox-client-secret" if DEBUG else "")
# The public app's id: webhook events our own writes cause carry it as their source (echo suppression).
HUBSPOT_APP_ID = env.int("HUBSPOT_APP_ID", default=3_141_592 if SANDBOX_ENABLED else 0)
# Our own per-portal windows, below HubSpot's 110 / 10 s and 5 / s search limits (README "Rate limits").
HUBSPOT_RATE_LIMIT = env.int("HUBSPOT_RATE_LIMIT", default=100)
HUBSPOT_SEARCH_RATE_LIMIT = env.int("HUBSPOT_SEARCH_RATE_LIMIT", default=4)
# HubSpot calls a sync run keeps in flight at once (1: one at a time). The window above allows 10 a second; a batch
# call takes 0.3-1 s at HubSpot, so 8 in flight keep the window full even when calls are slow (4 reached 0.82 of
# it at 300 ms a call in the benchmark, 8 reached 0.90: README "Benchmark").
HUBSPOT_CONCURRENCY = env.int("HUBSPOT_CONCURRENCY", default=8)
HTTP_TIMEOUT_SECONDS = env.float("HTTP_TIMEOUT_SECONDS", default=30.0)
HTTP_RETRY_BASE_DELAY = env.float("HTTP_RETRY_BASE_DELAY", default=1.0)
SYNC_HEARTBEAT_TIMEOUT = env.int("SYNC_HEARTBEAT_TIMEOUT", default=600)
SYNC_RUN_RETENTION_DAYS = env.int("SYNC_RUN_RETENTION_DAYS", default=90)
# At most this many syncs of one portal run at once (0 = no cap); a task over the cap is queued again after
# SYNC_PORTAL_BUSY_COUNTDOWN seconds instead of holding a worker, so one big customer cannot fill every worker.
SYNC_MAX_RUNS_PER_PORTAL = env.int("SYNC_MAX_RUNS_PER_PORTAL", default=3)
SYNC_PORTAL_BUSY_COUNTDOWN = env.int("SYNC_PORTAL_BUSY_COUNTDOWN", default=20)
# Beat is late when its last heartbeat is older than this (`/healthz` checks.beat, README "Metrics").
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=180)
# Bearer token for `/metrics`; empty = the endpoint answers 404 (README "Metrics").
METRICS_TOKEN = env_secret("METRICS_TOKEN", default="")


def _refuse_unsafe_production() -> None:
    """With DEBUG off, refuse to start with missing secrets or any development-only part switched on."""
    required = {
        "SECRET_KEY": SECRET_KEY,
        "CRYPTOGRAPHY_KEY": CRYPTOGRAPHY_KEY,
        "ALLOWED_HOSTS": ALLOWED_HOSTS,
        "HUBSPOT_CLIENT_ID": HUBSPOT_CLIENT_ID,
        "HUBSPOT_CLIENT_SECRET": HUBSPOT_CLIENT_SECRET,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise ImproperlyConfigured(f"DEBUG is off, so these must be set in the environment: {', '.join(missing)}")
    if CRYPTOGRAPHY_KEY == SECRET_KEY:
        raise ImproperlyConfigured("CRYPTOGRAPHY_KEY must differ from SECRET_KEY.")
    if _DEV_SECRET_KEY in (SECRET_KEY, CRYPTOGRAPHY_KEY) or _DEV_CRYPTOGRAPHY_KEY in (SECRET_KEY, CRYPTOGRAPHY_KEY):
        raise ImproperlyConfigured(
            "DEBUG is off: SECRET_KEY and CRYPTOGRAPHY_KEY must not be the public development keys."
        )
    if SANDBOX_ENABLED:
        raise ImproperlyConfigured(
            "DEBUG is off: SANDBOX_ENABLED must be false (the Kleer and HubSpot fakes are for development only)."
        )
    if CELERY_BROKER_URL.startswith("filesystem://"):
        raise ImproperlyConfigured(
            "DEBUG is off: set CELERY_BROKER_URL to a Redis or RabbitMQ broker (filesystem:// is single-machine, "
            "for development only)."
        )
    public = urlsplit(PUBLIC_BASE_URL)
    if public.scheme != "https" or (public.hostname or "") in _LOCAL_HOSTS or not public.hostname:
        raise ImproperlyConfigured(
            f"DEBUG is off: PUBLIC_BASE_URL must be this service's public https:// address, not {PUBLIC_BASE_URL!r} "
            "(HubSpot redirects, webhooks and workflow actions call it)."
        )


if not DEBUG:
    _refuse_unsafe_production()

# JSON lines in production, plain text under DEBUG; both carry portal, object, run and task ids (integration/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "integration.logs.ContextFilter"}},
    "formatters": {
        "plain": {"()": "integration.logs.PlainFormatter"},
        "json": {"()": "integration.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
