"""Settings, read only from environment variables (12-factor). See README "Production run"."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from celery.schedules import crontab  # noqa: F401  (documented for custom beat entries)
from kombu import Queue

from .env import ConfigError, env, fail, install_excepthook, is_fernet_key, read_bool, read_int

install_excepthook()

BASE_DIR = Path(__file__).resolve().parent.parent

# Secrets that ship in this file for development only; production refuses to start with them.
DEV_SECRET_KEY = "dev-insecure-contacts-sync-secret-key-change-me-0123456789"
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWZpZWxkLWtleS0wMTIzNDU2Nzg="  # base64("dev-insecure-field-key-012345678")

DEBUG = read_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        fail("SECRET_KEY", "must be set to a long random string when DEBUG is off")
    SECRET_KEY = DEV_SECRET_KEY
elif SECRET_KEY == DEV_SECRET_KEY and not DEBUG:
    fail("SECRET_KEY", "must not be the development default when DEBUG is off")
elif len(SECRET_KEY) < 50 and not DEBUG:
    fail("SECRET_KEY", "must be at least 50 characters when DEBUG is off", f"{len(SECRET_KEY)} characters")

FIELD_ENCRYPTION_KEYS = [k.strip() for k in env.str("FIELD_ENCRYPTION_KEYS", default="").split(",") if k.strip()]
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        fail("FIELD_ENCRYPTION_KEYS", "must list one or more Fernet keys, comma-separated, the first encrypts")
    FIELD_ENCRYPTION_KEYS = [DEV_FIELD_ENCRYPTION_KEY]
elif DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS[:1] and not DEBUG:
    fail("FIELD_ENCRYPTION_KEYS", "must not start with the development key when DEBUG is off")
for _position, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    if not is_fernet_key(_key):  # the key itself is a secret: the error names its position only
        fail(
            "FIELD_ENCRYPTION_KEYS",
            "must list Fernet keys (32 url-safe base64-encoded bytes, from Fernet.generate_key()), comma-separated",
            f"key {_position} of {len(FIELD_ENCRYPTION_KEYS)} is not one",
        )

try:
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
except Exception:  # noqa: BLE001 - pragma: no cover; env.list never fails on a string
    fail("ALLOWED_HOSTS", "must be a comma-separated list of host names")
if not DEBUG and not ALLOWED_HOSTS:
    fail("ALLOWED_HOSTS", "must name the host(s) the service answers on when DEBUG is off, e.g. sync.example.com")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "dashboard.views.errors.csrf_failure"  # "this form has expired" in the site's layout
# How many reverse proxies append to X-Forwarded-For in front of the app (0 = clients connect directly). Login rate
# limits key on the client address this yields; with 0 behind a proxy every user would share the proxy's address.
TRUSTED_PROXY_COUNT = read_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    fail("TRUSTED_PROXY_COUNT", "must be 0 or a positive number of proxies", str(TRUSTED_PROXY_COUNT))
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# --- database: PostgreSQL only ---------------------------------------------------------------------
_database_url = env.str("DATABASE_URL", default="")
if not _database_url:
    fail("DATABASE_URL", "must be set, e.g. postgres://user:password@host:5432/contacts_sync (make demo sets it)")
if not _database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
    fail(
        "DATABASE_URL",
        "must be a PostgreSQL URL (postgres://...); no other database is supported",
        _database_url.split(":", 1)[0] + "://...",
    )
try:
    DATABASES = {"default": env.db_url_config(_database_url)}
except Exception:  # noqa: BLE001 - django-environ raises several kinds for a malformed URL; all mean "invalid"
    fail("DATABASE_URL", "is not a valid URL of the form postgres://user:password@host:port/name")
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# A Unix-socket directory arrives percent-encoded in the host part (postgres://user@%2Fpath%2Fto%2Fdir/db).
DATABASES["default"]["HOST"] = unquote(str(DATABASES["default"].get("HOST") or ""))
DATABASES["default"]["CONN_MAX_AGE"] = read_int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- broker / Redis -------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
if not REDIS_URL:
    REDIS_URL = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")) else ""
if not CELERY_BROKER_URL:
    fail("REDIS_URL", "must be set, e.g. redis://127.0.0.1:6379/0 (or CELERY_BROKER_URL; make demo sets it)")
if not REDIS_URL:
    fail("REDIS_URL", "must be set to a Redis URL for rate budgets and locks when the broker is not Redis")
for _name, _value in (("REDIS_URL", REDIS_URL), ("CELERY_BROKER_URL", CELERY_BROKER_URL)):
    if "://" not in _value:
        fail(_name, "must be a URL such as redis://host:6379/0 or amqp://user:pass@host:5672//", _value)

# --- apps -----------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "csp",
    "contacts_sync",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.AdminMfaRequiredMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "dashboard.context.nav",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# --- allauth: email login, no public sign-up, rate limits on, TOTP available -------------------
ACCOUNT_ADAPTER = "dashboard.adapters.InviteOnlyAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
# An address a user adds is theirs only once they click the link mailed to it; it cannot be made primary before.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    # per client (the address TRUSTED_PROXY_COUNT yields) and, tighter, per account: a burst against one account
    # locks that account for 5 minutes without locking out the other users behind the same proxy
    "login_failed": "20/m/ip,5/5m/key",
    "login": "30/m/ip",
    "reset_password": "5/m/ip,3/m/key",
}
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "contacts-sync"
# Admins must set up an authenticator app (TOTP) before they can use anything but the account pages.
REQUIRE_MFA_FOR_ADMINS = read_bool("REQUIRE_MFA_FOR_ADMINS", default=False)
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGIN_URL = "account_login"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# --- i18n / static --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- email ----------------------------------------------------------------------------------------
try:
    _email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
except Exception:  # noqa: BLE001 - django-environ raises several kinds for a malformed URL; all mean "invalid"
    fail("EMAIL_URL", "must be a URL such as smtp://user:pass@host:587 or consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="contacts-sync <alerts@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- cache (allauth rate limits, login throttling): Redis so limits hold across processes ---------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- security (production) ------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = read_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = read_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$", r"^webhooks/"]
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): only this origin's scripts and styles; no inline script, no eval (htmx runs
# with allowEval off; the visible-only polling gate is in static/js/app.js). Style attributes stay allowed for the
# progress bars' widths; data: images for the TOTP QR code. No form-action: "Connect HighLevel" redirects a form
# post to the OAuth server, which form-action would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.reporting.AlwaysSafeExceptionReporterFilter"
SESSION_COOKIE_HTTPONLY = True

# --- Celery ---------------------------------------------------------------------------------------
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent; a worker that dies mid-task gives it back
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long sync tasks: do not hoard messages a free worker could take
CELERY_TASK_TIME_LIMIT = read_int("CELERY_TASK_TIME_LIMIT", 3600)  # hard kill of a stuck task
CELERY_TASK_SOFT_TIME_LIMIT = read_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300)
BROKER_SOCKET_TIMEOUT_SECONDS = 30  # far above kombu's 1 s BRPOP wait; only a dead connection takes this long
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 300,
    # Bound every broker read and connect: after a Redis restart or a network cut, the worker's clean-up of the
    # dead connection must not block forever on a half-open socket (celery/celery#9705) before it reconnects.
    "socket_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
    "socket_keepalive": True,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue("default"), Queue("sync"), Queue("webhooks"), Queue("alerts")]
CELERY_TASK_ROUTES = {
    "contacts_sync.tasks.run_*": {"queue": "sync"},
    "contacts_sync.tasks.sync_*": {"queue": "sync"},
    "contacts_sync.tasks.inbound_event_*": {"queue": "webhooks"},
    "contacts_sync.tasks.status_change_*": {"queue": "alerts"},
    "contacts_sync.tasks.alert_*": {"queue": "alerts"},
    "contacts_sync.tasks.channel_*": {"queue": "alerts"},
}
# --- fleet execution model (docs/operations.md "Execution model"; owned by the fleet work) -------------------
# A task works on one run for at most this long, then the run yields between two pages (checkpoint saved, back
# to queued) and continues as a new message at the back of its queue: no run outlives a task time limit (prefork
# enforces it, the thread pool does not) and runs waiting behind it get their turn. 0 = never yield.
RUN_SLICE_SECONDS = read_int(
    "RUN_SLICE_SECONDS", min(300, CELERY_TASK_TIME_LIMIT // 2, CELERY_TASK_SOFT_TIME_LIMIT // 2)
)
if RUN_SLICE_SECONDS < 0 or (RUN_SLICE_SECONDS and RUN_SLICE_SECONDS >= CELERY_TASK_SOFT_TIME_LIMIT):
    fail(
        "RUN_SLICE_SECONDS",
        "must be 0 (never yield) or shorter than CELERY_TASK_SOFT_TIME_LIMIT",
        str(RUN_SLICE_SECONDS),
    )

CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "heartbeat": {"task": "contacts_sync.tasks.heartbeat_task", "schedule": 60.0},
    # monitoring: stale detection, and a sweep for status changes whose on-commit enqueue was lost
    "sync-stale-mark": {"task": "contacts_sync.tasks.sync_stale_mark_task", "schedule": 60.0},
    "status-change-send-sweep": {"task": "contacts_sync.tasks.status_change_send_task", "schedule": 60.0},
    # alert rules (helper uiadmin): held announcements (mute over, a channel added) and re-notify reminders
    "alert-sweep": {"task": "contacts_sync.tasks.alert_sweep_task", "schedule": 60.0},
    # connections: test every connection, refresh GHL tokens ahead of expiry
    "connection-check-all": {"task": "contacts_sync.tasks.connection_check_all_task", "schedule": 900.0},
    # webhook inbox and dispatcher: due polling syncs, and the reconcile poll for missed GHL webhooks
    "syncs-dispatch-due": {"task": "contacts_sync.tasks.syncs_dispatch_due_task", "schedule": 30.0},
    "reconcile-poll": {"task": "contacts_sync.tasks.reconcile_poll_task", "schedule": 300.0},
    "inbound-events-prune": {"task": "contacts_sync.tasks.inbound_events_prune_task", "schedule": 86400.0},
    # nothing stranded: webhooks still pending minutes after they arrived are handed to a worker again
    "inbound-events-sweep": {"task": "contacts_sync.tasks.inbound_events_sweep_task", "schedule": 60.0},
    # sync engine: requeue runs whose worker vanished (heartbeat older than REAP_AFTER_SECONDS)
    "runs-reap": {"task": "contacts_sync.tasks.runs_reap_task", "schedule": 60.0},
    # outgoing webhooks to custom apps (helper custom): retries whose time came, deliveries whose message was lost
    "webhook-deliveries-due": {"task": "contacts_sync.tasks.webhook_deliveries_due_task", "schedule": 60.0},
    "webhook-deliveries-prune": {"task": "contacts_sync.tasks.webhook_deliveries_prune_task", "schedule": 86400.0},
}
# Flap suppression: at most one alert per sync per this many seconds (services.alerts).
ALERT_FLAP_WINDOW_SECONDS = read_int("ALERT_FLAP_WINDOW_SECONDS", 900)
# Absolute links in alert messages, e.g. https://sync.example.com (empty = relative links).
SITE_URL = env.str("SITE_URL", default="")
# /metrics asks for "Authorization: Bearer <token>"; required when DEBUG is off (empty = open, development only).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Open /metrics only in development without a token (tests run views with DEBUG off, so the view reads this).
METRICS_PUBLIC = DEBUG and not METRICS_TOKEN
METRICS_TOKEN_MIN_LENGTH = 16  # a bearer token is guessed over the network: no short ones
if not DEBUG and len(METRICS_TOKEN) < METRICS_TOKEN_MIN_LENGTH:
    fail(
        "METRICS_TOKEN",
        f"must be set to a random string of {METRICS_TOKEN_MIN_LENGTH}+ characters when DEBUG is off "
        "(Prometheus sends it as Authorization: Bearer <token>)",
        "unset" if not METRICS_TOKEN else f"{len(METRICS_TOKEN)} characters",
    )
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".data" / "celerybeat-schedule")
# Beat's scheduler records each tick for /healthz and alerts when no worker is alive (config/celery.py).
CELERY_BEAT_SCHEDULER = "config.celery:HealthScheduler"
# Workers alert when beat stops ticking; off only where no beat runs by design (the test suite's workers).
WORKER_CHECKS_BEAT = read_bool("WORKER_CHECKS_BEAT", default=True)
CELERY_BEAT_MAX_LOOP_INTERVAL = 30  # wake at least this often, so a tick older than 2 minutes means beat is gone

# --- the outside APIs ---------------------------------------------------------------------------------
GHL_BASE_URL = env.str("GHL_BASE_URL", default="https://services.leadconnectorhq.com")
GHL_API_VERSION = env.str("GHL_API_VERSION", default="2021-07-28")
GHL_OAUTH_AUTHORIZE_URL = env.str(
    "GHL_OAUTH_AUTHORIZE_URL", default="https://marketplace.gohighlevel.com/oauth/chooselocation"
)
GHL_CLIENT_ID = env.str("GHL_CLIENT_ID", default="")
GHL_CLIENT_SECRET = env.str("GHL_CLIENT_SECRET", default="")
# The Marketplace app's id (GET /oauth/installedLocations needs it to say where the app is installed); empty =
# learnt from the first location token an agency mints (its answer carries appId).
GHL_APP_ID = env.str("GHL_APP_ID", default="")
# Token endpoint of the public API; a connection with a base URL (the emulator) uses <base URL>/oauth/token.
GHL_OAUTH_TOKEN_URL = env.str("GHL_OAUTH_TOKEN_URL", default="https://services.leadconnectorhq.com/oauth/token")
GHL_WEBHOOK_PUBLIC_KEY = env.str("GHL_WEBHOOK_PUBLIC_KEY", default="")  # PEM; empty = HighLevel's published key
# RSA PEM for the legacy x-wh-signature header; empty = HighLevel's published key (contacts_sync/keys/).
GHL_WEBHOOK_LEGACY_PUBLIC_KEY = env.str("GHL_WEBHOOK_LEGACY_PUBLIC_KEY", default="")
SANDBOX_URL = env.str("SANDBOX_URL", default="")  # set by make demo: the emulators' base URL
# Hosts (`host` or `host:port`, comma-separated) that user-entered URLs may name although they are loopback or
# private addresses: the local emulators of the demo and the tests. Empty in production (apiclient/outbound.py).
PRIVATE_URL_ALLOWLIST = env.list("PRIVATE_URL_ALLOWLIST", default=[])

# --- logging: one line per event, key=value, carrying the run id when there is one -----------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "contacts_sync.logging.ContextFilter"}},
    "formatters": {"kv": {"format": "%(asctime)s %(levelname)s %(name)s run=%(run_id)s sync=%(sync_id)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "kv", "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

__all__ = ["ConfigError"]
