"""tgfleet settings: embedded defaults, production by environment variables only.

Every variable is listed in .env.example and the README.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import dj_database_url
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from project.env import (
    env_app_credentials,
    env_base64,
    env_bool,
    env_choice,
    env_fernet_keys,
    env_host_port,
    env_int,
    env_list,
    env_path,
    env_pem_public_key,
    env_str,
    env_url,
)
from project.redaction import redaction_install

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("DATA_DIR", BASE_DIR / "var")
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key is not None:
        if len(key) < 50 or len(set(key)) < 5:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters with at least 5 distinct ones")
        return key
    # Zero-setup default: one random key, made once and kept beside the data.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(64), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()


def _audit_chain_key() -> bytes:
    """The audit chain's HMAC key: never in the database, so whoever can write the database cannot
    recompute the chain. Zero-setup default: made once beside the data (a separate file to back up)."""
    key = env_str("AUDIT_CHAIN_KEY")
    if key is None:
        path = DATA_DIR / "audit_chain_key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY must be at least 32 characters (e.g. openssl rand -hex 32)")
    return key.encode("utf-8")


AUDIT_CHAIN_KEY = _audit_chain_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django_prometheus",
    "project.console.apps.ConsoleAdminConfig",  # the Django admin, as tgfleet's console
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from our own static files, never a CDN
    "csp",
    "guardian",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "project.apps.ProjectConfig",
    "accounts",
    "alerts",
    "audit",
    "health",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "project.input_guard.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "project.console.two_factor.TwoFactorGateMiddleware",
    "audit.context.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

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

# Database: SQLite under DATA_DIR unless DATABASE_URL names PostgreSQL.
_database_url = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
_conn_max_age = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
if _database_url:
    # Health checks: a kept connection the server dropped (a restart, a failover) is replaced before it is used.
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=_conn_max_age, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # Web, worker and beat share the file: WAL and immediate transactions avoid lock errors.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
_engines = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
DATABASES["default"]["ENGINE"] = _engines.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Backups' fixtures: Django's JSON with times to the microsecond (audit hashes include them).
SERIALIZATION_MODULES = {"tgjson": "project.backups.serializer"}

# Cache and broker: Redis when REDIS_URL is set, otherwise local memory and an embedded broker.
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss", "unix"))
# Every key tgfleet makes in Redis (cache, queues, control messages, results) starts with this, so one
# Redis can serve several deployments (or a test run) and each can be cleaned up alone.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "")
if not re.fullmatch(r"[A-Za-z0-9_.:-]{0,64}", REDIS_KEY_PREFIX):
    raise ImproperlyConfigured("REDIS_KEY_PREFIX may hold only letters, digits and _ . : - (64 at most)")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
            # A cache outage degrades, never breaks, a request.
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
    if REDIS_KEY_PREFIX:
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = REDIS_KEY_PREFIX
        CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": REDIS_KEY_PREFIX}
else:
    CACHES = {"default": {"BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache"}}
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control", "results"):
        (_broker_dir / _sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # Polling a local folder is cheap; a short interval keeps latency and shutdown quick.
        "polling_interval": 0.2,
    }
    CELERY_RESULT_BACKEND = f"file://{_broker_dir / 'results'}"

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection before and after each task unless told to reuse them: a
# new PostgreSQL backend per check batch, which cost the database a seventh of a core at 1,600 checks/s. Its own
# closing is off here; project.celery closes connections between tasks the way Django does between requests
# (DATABASE_CONN_MAX_AGE, health checks), so DATABASE_CONN_MAX_AGE=0 still means a connection per task.
CELERY_DB_REUSE_MAX = 2**31
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Queues by purpose, so each scales apart (docs/scaling.md): liveness checks, deep checks, imports, alert delivery
# (its own, so a storm of checks can never hold it up), and `celery` for beat's dispatchers and housekeeping. A
# worker started without -Q serves them all; `-Q checks` makes a host that only checks.
WORKER_QUEUES = ("celery", "checks", "deep", "imports", "alerts")
CELERY_TASK_QUEUES = [Queue(name) for name in WORKER_QUEUES]
CELERY_TASK_ROUTES = {
    "alerts.*": {"queue": "alerts"},
    "accounts.checks_batch": {"queue": "checks"},
    "accounts.check_job_batch": {"queue": "checks"},
    "accounts.deep_checks_batch": {"queue": "deep"},
    "accounts.import_run": {"queue": "imports"},
}
CELERY_TIMEZONE = "UTC"
# Every task ends: soft limit (the task's own cleanup runs), then the hard limit kills the child.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("TASK_TIME_LIMIT_SECONDS", 300, minimum=10, maximum=86400)
# A task past its soft limit is told (SoftTimeLimitExceeded) and killed this long after it if it goes on.
TASK_KILL_GRACE_SECONDS = 30
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + TASK_KILL_GRACE_SECONDS
IMPORT_TASK_TIME_LIMIT = env_int("IMPORT_TIME_LIMIT_SECONDS", 1800, minimum=60, maximum=86400)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", DATA_DIR / "static")
# Where the sealed sessions live: files (0600 in a 0700 directory, the default) or the database (worker hosts then
# need no shared disk). `manage.py move_session_store --to database|files` moves a vault between them.
SESSION_STORE = env_choice("SESSION_STORE", "files", ("files", "database"))
SESSION_STORES = {
    "files": {
        "BACKEND": "accounts.vault.storage.SessionFileStorage",
        "OPTIONS": {"location": env_path("SESSION_STORE_DIR", DATA_DIR / "sessions")},
    },
    "database": {"BACKEND": "accounts.vault.db_storage.SessionDatabaseStorage", "OPTIONS": {}},
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    "sessions": SESSION_STORES[SESSION_STORE],
}

# Session vault. Keys: SESSION_ENCRYPTION_KEY (Fernet keys, newest first) or a password.
SESSION_ENCRYPTION_ENABLED = env_bool("SESSION_ENCRYPTION_ENABLED", True)
SESSION_ENCRYPTION_KEY = env_fernet_keys("SESSION_ENCRYPTION_KEY")
SESSION_ENCRYPTION_PASSWORD = env_str("SESSION_ENCRYPTION_PASSWORD")
SESSION_ENCRYPTION_PREVIOUS_PASSWORD = env_str("SESSION_ENCRYPTION_PREVIOUS_PASSWORD")
SESSION_ENCRYPTION_SALT = env_base64("SESSION_ENCRYPTION_SALT", min_bytes=16)
if SESSION_ENCRYPTION_PASSWORD is not None and len(SESSION_ENCRYPTION_PASSWORD) < 12:
    raise ImproperlyConfigured("SESSION_ENCRYPTION_PASSWORD must be at least 12 characters")
SESSION_IMPORT_MAX_FILE_BYTES = env_int("SESSION_IMPORT_MAX_FILE_BYTES", 20 * 1024 * 1024, minimum=1024)
SESSION_IMPORT_MAX_ZIP_BYTES = env_int("SESSION_IMPORT_MAX_ZIP_BYTES", 512 * 1024 * 1024, minimum=1024)
SESSION_IMPORT_MAX_ZIP_MEMBERS = env_int("SESSION_IMPORT_MAX_ZIP_MEMBERS", 20000, minimum=1)
SESSION_IMPORT_MAX_UPLOAD_BYTES = env_int("SESSION_IMPORT_MAX_UPLOAD_BYTES", 256 * 1024 * 1024, minimum=1024)
# Uploads stay in memory (plaintext sessions never reach a temp file), bounded per request.
FILE_UPLOAD_HANDLERS = ["accounts.uploads.BoundedMemoryUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = SESSION_IMPORT_MAX_ZIP_MEMBERS

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "project.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "tgfleet API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Tags and operation ids from the path after the version: accounts, proxies, jobs, alerts, audit.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "project.api_schema.errors_documented"],
}

# Every page: scripts only from our own origin (no inline script, no CDN); inline style attributes
# stay allowed for the console's server-drawn colours.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        "style-src": [csp_constants.SELF, csp_constants.UNSAFE_INLINE],
        "img-src": [csp_constants.SELF, "data:"],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    },
}

# HTTPS: behind TLS (directly or through a proxy) every cookie and redirect hardens.
HTTPS = env_bool("HTTPS", False)
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
# How many proxies of ours append to X-Forwarded-For: the client is the entry the outermost one added,
# counted from the right; anything left of it was written by the client and is never believed.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_PROXY else 0, minimum=0, maximum=10)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # The gateway turns every Telethon network failure into a check outcome; its own logs of them are noise.
    "loggers": {"telethon": {"level": "WARNING"}, "telethon.network": {"level": "CRITICAL"}},
}
# Every log record of this process, from any logger and at any level, is redacted as it is made.
redaction_install()

# The first admin account made by `manage.py ensure_admin`.
ADMIN_USERNAME = env_str("ADMIN_USERNAME", "admin")
ADMIN_EMAIL = env_str("ADMIN_EMAIL", "")
ADMIN_PASSWORD = env_str("ADMIN_PASSWORD")

# Audit: secrets in event details are stored as HMACs under this key (SECRET_KEY when unset).
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY")
# Signed checkpoints of the chain's head, appended outside the database (and sent to the alert chat).
AUDIT_CHECKPOINT_FILE = env_path("AUDIT_CHECKPOINT_FILE", DATA_DIR / "audit-checkpoints.jsonl")
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 3600, minimum=60)
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "project.api_errors.exception_handler"

# Login attempts: after LOGIN_FAILURE_LIMIT failures for a username from one address, a cool-off.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "admin/console/lockout.html"  # the console's own page, not axes' bare text
LOGIN_URL = "admin:login"  # pages that need a login (the health status page) send people to the console's
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
# Two-factor sign-in (django-otp): superusers and the admin role must use it; anyone else may. The
# authenticator app shows this issuer; codes from one step either side of now are accepted.
OTP_TOTP_ISSUER = env_str("OTP_ISSUER", "tgfleet")
OTP_TOTP_TOLERANCE = 1
OTP_TOTP_THROTTLE_FACTOR = 1

# Telegram: where checks connect, with which app credentials, how often and how hard.
TELEGRAM_API_ID = env_int("TELEGRAM_API_ID", 0, minimum=0) or None
TELEGRAM_API_HASH = env_str("TELEGRAM_API_HASH")
# One's own Telegram apps, spread over sessions that came without an app (else the official apps' identities).
TELEGRAM_APP_CREDENTIALS = env_app_credentials("TELEGRAM_APP_CREDENTIALS")
if TELEGRAM_API_HASH is not None and not re.fullmatch(r"[0-9a-f]{32}", TELEGRAM_API_HASH):
    raise ImproperlyConfigured("TELEGRAM_API_HASH must be 32 lowercase hexadecimal characters")
TELEGRAM_TEST_SERVERS = env_bool("TELEGRAM_TEST_SERVERS", False)
TELEGRAM_SERVER_ADDRESS = env_host_port("TELEGRAM_SERVER_ADDRESS")
TELEGRAM_SERVER_RSA_KEY = env_pem_public_key("TELEGRAM_SERVER_RSA_KEY_FILE")
if TELEGRAM_SERVER_ADDRESS and not TELEGRAM_SERVER_RSA_KEY:
    raise ImproperlyConfigured(
        "TELEGRAM_SERVER_ADDRESS needs TELEGRAM_SERVER_RSA_KEY_FILE, the server's PEM public key"
    )
TELEGRAM_CHECK_TIMEOUT = env_int("TELEGRAM_CHECK_TIMEOUT", 20, minimum=1, maximum=300)
# Each step of signing an account in (a new auth key, then its requests) ends within this many seconds; the
# web server's own timeout (gunicorn --timeout 90, Dockerfile and runstack) stays above the most allowed.
TELEGRAM_LOGIN_TIMEOUT = env_int("TELEGRAM_LOGIN_TIMEOUT", 30, minimum=1, maximum=75)
CHECK_INTERVAL_SECONDS = env_int("CHECK_INTERVAL_SECONDS", 900, minimum=30)
CHECK_JITTER_SECONDS = env_int("CHECK_JITTER_SECONDS", 90, minimum=0)
CHECK_CONCURRENCY = env_int("CHECK_CONCURRENCY", 50, minimum=1, maximum=2000)
CHECK_BATCH_SIZE = env_int("CHECK_BATCH_SIZE", 500, minimum=1, maximum=10000)
CHECK_DISPATCH_LIMIT = env_int("CHECK_DISPATCH_LIMIT", 20000, minimum=1)
CHECK_OFFLINE_AFTER = env_int("CHECK_OFFLINE_AFTER", 3, minimum=1)
# The longest a check batch can take: ceil(size / concurrency) rounds of checks, each within two deadlines.
CHECK_BATCH_SECONDS_MAX = -(-CHECK_BATCH_SIZE // CHECK_CONCURRENCY) * TELEGRAM_CHECK_TIMEOUT * 2
# A batch's task may take its longest and a margin, never forever (its soft limit; it is killed a grace after).
CHECK_TASK_TIME_LIMIT = max(CELERY_TASK_SOFT_TIME_LIMIT, CHECK_BATCH_SECONDS_MAX + 60)
# By default a lease outlasts the batch's task until it is killed, and a margin: no account is checked from two
# places at once.
CHECK_LEASE_SECONDS = env_int("CHECK_LEASE_SECONDS", max(300, CHECK_TASK_TIME_LIMIT + TASK_KILL_GRACE_SECONDS + 30),
                              minimum=30)  # fmt: skip
CHECK_HISTORY_DAYS = env_int("CHECK_HISTORY_DAYS", 30, minimum=1)
# A successful check's own record is kept this long (the fleet chart's day and more); failures CHECK_HISTORY_DAYS,
# and the hourly counts (CheckHour) CHECK_HISTORY_DAYS too.
CHECK_HISTORY_OK_HOURS = env_int("CHECK_HISTORY_OK_HOURS", 48, minimum=25)
# "Check now" of one account waits this long for its worker before answering with the job to poll instead.
CHECK_NOW_WAIT_SECONDS = env_int("CHECK_NOW_WAIT_SECONDS", 5, minimum=0, maximum=20)
# A DC address that fails this many accounts' checks in a row at the transport is skipped (dc_down) until the
# network monitor's probe reaches it again, or for CHECK_BREAKER_OPEN_SECONDS at most.
CHECK_BREAKER_FAILURES = env_int("CHECK_BREAKER_FAILURES", 5, minimum=1)
CHECK_BREAKER_OPEN_SECONDS = env_int("CHECK_BREAKER_OPEN_SECONDS", 300, minimum=10)
# The deep check (spam block, freeze, restrictions, other sessions): rarely, few at once, spread over the day.
DEEP_CHECK_INTERVAL_SECONDS = env_int("DEEP_CHECK_INTERVAL_SECONDS", 86400, minimum=3600)
DEEP_CHECK_CONCURRENCY = env_int("DEEP_CHECK_CONCURRENCY", 4, minimum=1, maximum=100)
DEEP_CHECK_BATCH_SIZE = env_int("DEEP_CHECK_BATCH_SIZE", 20, minimum=1, maximum=1000)
DEEP_CHECK_DISPATCH_LIMIT = env_int("DEEP_CHECK_DISPATCH_LIMIT", 2000, minimum=1)
DEEP_CHECK_TASK_TIME_LIMIT = -(-DEEP_CHECK_BATCH_SIZE // DEEP_CHECK_CONCURRENCY) * (TELEGRAM_CHECK_TIMEOUT + 10) + 60

# /metrics answers only a bearer of this token (Prometheus' `authorization` in its scrape config).
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN is not None and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters (e.g. openssl rand -hex 32)")

# Alerts: the Bot API and the default route.
TELEGRAM_BOT_API_URL = env_url("TELEGRAM_BOT_API_URL", ("https", "http")) or "https://api.telegram.org"
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN")
if TELEGRAM_BOT_TOKEN is not None and not re.fullmatch(r"[0-9]{5,16}:[A-Za-z0-9_-]{30,64}", TELEGRAM_BOT_TOKEN):
    raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN is not a bot token (digits, a colon, then 30-64 characters)")
TELEGRAM_CHAT_ID = env_str("TELEGRAM_CHAT_ID")
if TELEGRAM_CHAT_ID is not None and not re.fullmatch(r"-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32}", TELEGRAM_CHAT_ID):
    raise ImproperlyConfigured("TELEGRAM_CHAT_ID must be a numeric chat id or @channelname")
ALERT_DIGEST_WINDOW_SECONDS = env_int("ALERT_DIGEST_WINDOW_SECONDS", 5, minimum=0, maximum=600)
ALERT_DIGEST_LIST_LIMIT = env_int("ALERT_DIGEST_LIST_LIMIT", 25, minimum=1, maximum=200)
ALERT_CLAIM_SECONDS = env_int("ALERT_CLAIM_SECONDS", 120, minimum=10)
ALERT_SEND_TIMEOUT = env_int("ALERT_SEND_TIMEOUT", 10, minimum=1, maximum=120)
ALERT_DELIVERY_KICK = env_bool("ALERT_DELIVERY_KICK", True)  # queue a sweep right after an alert
CONSOLE_URL = env_url("CONSOLE_URL", ("https", "http")) or "http://127.0.0.1:8000"

# Health: how long results are reused, and whether the detailed view needs a login or token.
HEALTH_CACHE_SECONDS = env_int("HEALTH_CACHE_SECONDS", 30, minimum=0, maximum=3600)
HEALTH_DETAILED_REQUIRES_AUTH = env_bool("HEALTH_DETAILED_REQUIRES_AUTH", True)
