"""Settings of the portal, read from the environment (see README "Configuration").

With no environment at all the portal runs embedded: SQLite in WAL mode and Celery in
eager mode, no other service needed. Production sets ``DATABASE_URL`` (PostgreSQL),
``CELERY_BROKER_URL`` (Redis or RabbitMQ), ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

from portal.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))
# The embedded database, beat schedule and mail files live here. A read-only install that
# uses none of them (PostgreSQL, beat elsewhere) must still start, so a failure is ignored.
with contextlib.suppress(OSError):
    VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- core -------------------------------------------------------------------------------

# With no configuration at all the portal runs as a developer's embedded instance (DEBUG on,
# SQLite, Celery eager). Every deployment sets DEBUG=0, which then requires SECRET_KEY.
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfiguredEnv(
            "SECRET_KEY is required when DEBUG is off; set it to a long random string."
        )
    SECRET_KEY = "insecure-development-key-only-for-DEBUG-" + "x" * 20
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfiguredEnv("SECRET_KEY must be at least 50 characters when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if urlsplit(_origin).scheme not in {"http", "https"}:
        raise ImproperlyConfiguredEnv(
            f"CSRF_TRUSTED_ORIGINS entry {_origin!r} must start with http:// or https://."
        )

INSTALLED_APPS = [
    # the staff admin's theme (before django.contrib.admin, whose templates it overrides)
    "unfold",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "portal.apps.OAuthConfig",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "treebeard",
    "portal.apps.AxesConfig",
    "csp",
    "portal.apps.PortalConfig",
    "workflow.apps.WorkflowConfig",
    "crm.apps.CrmConfig",
    "erp_bridge.apps.ErpBridgeConfig",
    "knowledge.apps.KnowledgeConfig",
]

MIDDLEWARE = [
    # first, so that an API call's duration covers all the others (portal/middleware.py)
    "portal.middleware.ApiCallMiddleware",
    # before any query: a page that reads plans each query for its values
    "portal.middleware.PlannedReadsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes must come last: it turns a lock-out raised by authentication into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.shell",
            ],
        },
    },
]
# Django's form renderer, with a select's options written in Python (portal/renderers.py)
FORM_RENDERER = "portal.renderers.FormRenderer"

# --- database ---------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
# Persistent connections: a request reuses its process's connection (seconds; 0 = close).
CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 600, minimum=0)

if DATABASE_URL:
    _scheme = urlsplit(DATABASE_URL).scheme
    if _scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfiguredEnv(
            f"DATABASE_URL scheme {_scheme!r} is not supported; use postgresql://... or sqlite:///..."
        )
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Server-side parameter binding lets psycopg prepare statements that repeat on a
        # connection (the engine's hot path); incompatible with PgBouncer transaction pooling.
        _db.setdefault("OPTIONS", {})["server_side_binding"] = env_bool(
            "DB_SERVER_SIDE_BINDING", True
        )
        # Django turns psycopg's automatic prepares off (prepare_threshold=None); a statement
        # run this often on one connection is prepared once and then only executed.
        if _db["OPTIONS"]["server_side_binding"]:
            _db["OPTIONS"]["prepare_threshold"] = env_int("DB_PREPARE_THRESHOLD", 5, minimum=0)
        _db["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1))
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "portal.sqlite3")),
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": True,
    }
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock when a
    # transaction starts (no deadlock on upgrade from read to write); the busy timeout makes
    # a second writer wait instead of failing with "database is locked".
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;",
        }
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- authentication ---------------------------------------------------------------------

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "portal.backends.UsernameOrEmployeeNoBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)

# Brute-force lock-out (django-axes): after N failures for one user name from one address,
# that pair is locked out for the cool-off period.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Count failures per account, not per spelling of it (user name or employee number).
AXES_USERNAME_CALLABLE = "portal.backends.lockout_username"
AXES_CLIENT_IP_CALLABLE = "portal.backends.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.views.locked_out"
AXES_VERBOSE = False

# We never grant permissions to anonymous visitors, so guardian needs no anonymous user.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- internationalization ---------------------------------------------------------------

LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "zh-hans", {code: code for code, _ in LANGUAGES})
LANGUAGE_COOKIE_NAME = "portal_language"
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- passwords ----------------------------------------------------------------------------

# Argon2id at OWASP's minimum cost, ~50 ms of one core (portal/hashers.py); hashes made by the
# others are accepted and upgraded at the next sign-in.
PASSWORD_HASHERS = [
    "portal.hashers.PortalArgon2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# --- static files -----------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The front-end bundles (the process designer) that `make setup` builds with npm from
# package.json and frontend/ into var/frontend/, served as /static/designer/... Left out until
# built: Django warns (staticfiles.W004) about a directory that does not exist.
FRONTEND_BUILD_DIR = BASE_DIR / "var" / "frontend"
STATICFILES_DIRS = [BASE_DIR / "static"]
if FRONTEND_BUILD_DIR.is_dir():
    STATICFILES_DIRS.append(FRONTEND_BUILD_DIR)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- HTTPS and security headers ---------------------------------------------------------

# Behind HTTPS (every deployment but a developer's machine) cookies are secure and HSTS is on.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS and env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading commits the whole domain to HTTPS for months; it is an opt-in, so its absence
# is not a deployment warning (``check --deploy`` must pass on a default production setup).
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Behind the reverse proxy, which sets X-Forwarded-Proto and X-Forwarded-For: the client's
# address is the last X-Forwarded-For entry (the lock-out and the API's throttles use it).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every HTML page (django-csp; docs/operations.md): scripts only
# from the portal's static files (no inline script, no eval), nothing loaded from another
# site, no plugins, not framed elsewhere. Styles allow inline style attributes: the diagrams
# (SVG with a <style>), bpmn-js and Redoc set them; a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],  # Redoc's search runs in a worker made from a blob
        "frame-src": [SELF],  # the PDF preview
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_REFERRER_POLICY = "same-origin"

# --- the staff admin (django-unfold) -------------------------------------------------------

# Its sidebar: the organization first, in the words of the portal (portal/admin_site.py).
UNFOLD = {
    "SITE_TITLE": _("Enterprise Portal"),
    "SITE_HEADER": _("Administration"),
    "SITE_URL": "/",
    "SITE_SYMBOL": "apartment",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": True,
    "COLORS": {
        # the portal's brand blue (static/portal/portal.css --brand: #1456f0)
        "primary": {
            "50": "#eef3ff",
            "100": "#dfe8ff",
            "200": "#c3d4ff",
            "300": "#9bb7fd",
            "400": "#6b8ffa",
            "500": "#3d6af5",
            "600": "#1456f0",
            "700": "#0f44c4",
            "800": "#11389c",
            "900": "#14337b",
            "950": "#0e1f4b",
        },
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "portal.admin_site.sidebar",
    },
}

# --- e-mail and SMS ---------------------------------------------------------------------

EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    "console" if DEBUG else "smtp",
    {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    },
    allow_dotted_path=True,
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfiguredEnv("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

SMS_BACKEND = env_choice(
    "SMS_BACKEND",
    "console" if DEBUG else "dummy",
    {
        "console": "portal.sms.ConsoleBackend",
        "locmem": "portal.sms.LocmemBackend",
        "dummy": "portal.sms.DummyBackend",
        "http": "portal.sms.HttpBackend",
    },
    allow_dotted_path=True,
)
SMS_HTTP_URL = env_str("SMS_HTTP_URL")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN")
SMS_HTTP_TIMEOUT = env_int("SMS_HTTP_TIMEOUT", 5, minimum=1)
if SMS_BACKEND == "portal.sms.HttpBackend" and not SMS_HTTP_URL:
    raise ImproperlyConfiguredEnv("SMS_BACKEND=http needs SMS_HTTP_URL.")

# --- Celery -----------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if CELERY_BROKER_URL and urlsplit(CELERY_BROKER_URL).scheme not in {
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "pyamqp",
    "memory",
}:
    raise ImproperlyConfiguredEnv(
        f"CELERY_BROKER_URL {CELERY_BROKER_URL!r} must be a redis:// or amqp:// URL."
    )
# Without a broker every task runs in the caller's process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 4, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 3, "socket_connect_timeout": 4}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # the sweep: due jobs whose wake-up was lost (broker down, worker restarted) and timers
    "workflow-run-jobs": {"task": "workflow.tasks.run_jobs", "schedule": 10.0},
    # ended instances whose history time-to-live has passed (every hour)
    "workflow-cleanup-history": {"task": "workflow.tasks.cleanup_history", "schedule": 3600.0},
    # knowledge articles in the recycle bin for more than 30 days (every hour; cheap when none)
    # the CRM's follow-up reminders whose time has come
    "crm-remind-followups": {"task": "crm.tasks.remind_followups", "schedule": 60.0},
    # the outbox's sweep: messages whose wake-up was lost and retries that came due
    "erp-bridge-deliver-outbox": {"task": "erp_bridge.tasks.deliver_outbox", "schedule": 5.0},
    # the integration console's alerts: error rate and queue age (erp_bridge/monitoring.py)
    "erp-bridge-check-thresholds": {"task": "erp_bridge.tasks.check_thresholds", "schedule": 60.0},
    "knowledge-purge-recycle-bin": {
        "task": "knowledge.tasks.purge_recycle_bin",
        "schedule": 3600.0,
    },
}
# The ERP behind the gateway (erp_bridge/gateway.py; docs/integration.md): "embedded" (no ERP
# connected: the portal's own master data and order book), "tryton" (JSON-RPC at ERP_URL,
# database ERP_DATABASE, signing in as ERP_USER with the password in ERP_PASSWORD) or "http"
# (the generic REST adapter, configured in the admin as an HTTP connection).
ERP_ADAPTER = env_choice(
    "ERP_ADAPTER", "embedded", {"embedded": "embedded", "tryton": "tryton", "http": "http"}
)
ERP_URL = env_str("ERP_URL")
ERP_DATABASE = env_str("ERP_DATABASE")
ERP_USER = env_str("ERP_USER", "admin")
ERP_PASSWORD = env_str("ERP_PASSWORD")
ERP_TIMEOUT = env_int("ERP_TIMEOUT", 10, minimum=1, maximum=120)
# Master data (products, price lists, customers, employees) pulled from the ERP into the
# portal's read copies every ERP_SYNC_INTERVAL seconds (erp_bridge/sync.py), and the open
# sales orders' status polled every 5 minutes (for ERPs that send no webhooks).
ERP_SYNC_INTERVAL = env_int("ERP_SYNC_INTERVAL", 3600, minimum=60, maximum=7 * 86400)
CELERY_BEAT_SCHEDULE["erp-bridge-sync-masterdata"] = {
    "task": "erp_bridge.tasks.sync_masterdata",
    "schedule": float(ERP_SYNC_INTERVAL),
}
CELERY_BEAT_SCHEDULE["erp-bridge-poll-orders"] = {
    "task": "erp_bridge.tasks.poll_orders",
    "schedule": 300.0,
}
# The integration console's alerts (erp_bridge/monitoring.py): an interface whose share of
# failed calls over 15 minutes reaches ERP_ALERT_ERROR_RATE (a fraction, 0.2 = 20 %) with at
# least ERP_ALERT_MIN_CALLS calls, or an outbox message waiting longer than
# ERP_ALERT_QUEUE_AGE seconds, notifies the integration administrators (once an hour).
try:
    ERP_ALERT_ERROR_RATE = float(env_str("ERP_ALERT_ERROR_RATE", "0.2"))
except ValueError:
    raise ImproperlyConfiguredEnv("ERP_ALERT_ERROR_RATE is not a number such as 0.2.") from None
if not 0 < ERP_ALERT_ERROR_RATE <= 1:
    raise ImproperlyConfiguredEnv("ERP_ALERT_ERROR_RATE is a fraction above 0 and at most 1.")
ERP_ALERT_MIN_CALLS = env_int("ERP_ALERT_MIN_CALLS", 10, minimum=1)
ERP_ALERT_QUEUE_AGE = env_int("ERP_ALERT_QUEUE_AGE", 900, minimum=10)
# The outbox (erp_bridge/outbox.py): tries before a message goes to dead letter, the first
# retry's delay in seconds (doubled each try, with jitter, up to OUTBOX_MAX_DELAY).
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8, minimum=1, maximum=100)
OUTBOX_BASE_DELAY = env_int("OUTBOX_BASE_DELAY", 5, minimum=1, maximum=3600)
OUTBOX_MAX_DELAY = env_int("OUTBOX_MAX_DELAY", 3600, minimum=1, maximum=86400)
# Inbound webhooks (order shipped, invoice paid): the shared HMAC secret and how far a
# signed timestamp may be from now, in seconds.
ERP_WEBHOOK_SECRET = env_str("ERP_WEBHOOK_SECRET")
WEBHOOK_TOLERANCE = env_int("WEBHOOK_TOLERANCE", 300, minimum=10, maximum=3600)
# CRM service cases: the working hours of a business day that SLA clocks count (crm/sla.py),
# periods "HH:MM-HH:MM" in order, comma separated, in the time zone CRM_BUSINESS_TIME_ZONE;
# which days are workdays is the business calendar (China's public holidays and make-up
# workdays, overridden by the administrators' calendar days).
CRM_WORKING_HOURS = env_str("CRM_WORKING_HOURS", "09:00-12:00,13:00-18:00")
_PERIODS = r"\d\d:\d\d-\d\d:\d\d(,\d\d:\d\d-\d\d:\d\d)*"  # the order is checked by crm/sla.py
if not re.fullmatch(_PERIODS, CRM_WORKING_HOURS.replace(" ", "")):
    raise ImproperlyConfiguredEnv(
        f"CRM_WORKING_HOURS={CRM_WORKING_HOURS!r} is not a list of periods such as "
        "09:00-12:00,13:00-18:00."
    )
CRM_BUSINESS_TIME_ZONE = env_str("CRM_BUSINESS_TIME_ZONE", "Asia/Shanghai")
# The document system's bridge endpoint that the dms.store_contract service task POSTs to
# (erp_bridge/applications.py; the ERP and HR go through the gateway and the outbox);
# unset: such a call becomes an incident saying what to set.
DMS_BRIDGE_URL = env_str("DMS_BRIDGE_URL")
BRIDGE_TIMEOUT = env_int("BRIDGE_TIMEOUT", 10, minimum=1, maximum=30)
# The hosts a process's http.call service task may call (workflow/applications.py,
# HostPolicy): names or addresses, "*.example.com" for subdomains. Empty: http.call is
# refused until an administrator lists hosts (the URL is the process author's choice and
# the answer lands in a variable participants read: issue 13, SSRF).
HTTP_CALL_ALLOWED_HOSTS = env_list("HTTP_CALL_ALLOWED_HOSTS", [])
# Listed hosts may resolve to private or loopback addresses (an internal service);
# link-local addresses (the cloud metadata service) stay refused.
HTTP_CALL_ALLOW_PRIVATE = env_bool("HTTP_CALL_ALLOW_PRIVATE", False)
WORKFLOW_JOB_LEASE_SECONDS = env_int("WORKFLOW_JOB_LEASE_SECONDS", 300, minimum=5)
# Files attached to a step: the largest accepted size and the accepted extensions (the
# content is checked against the extension).
WORKFLOW_ATTACHMENT_MAX_BYTES = env_int(
    "WORKFLOW_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024
)
WORKFLOW_ATTACHMENT_TYPES = env_str(
    "WORKFLOW_ATTACHMENT_TYPES", "pdf png jpg jpeg gif webp docx xlsx pptx doc xls txt csv zip"
).split()
# Embedded (no broker, hence no beat): after a request, at most every this many seconds, the
# web process itself runs the jobs that have come due (timers); 0 turns it off.
WORKFLOW_EMBEDDED_SWEEP = env_int(
    "WORKFLOW_EMBEDDED_SWEEP", 10 if CELERY_TASK_ALWAYS_EAGER else 0, minimum=0
)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- REST API (/api/v1/), its OpenAPI schema and OAuth2 (/o/) -----------------------------

# DRF's rate syntax ("60/min"); a typo would otherwise surface as a 500 on the first request.
_RATE = re.compile(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)")


def _env_rate(name: str, default: str) -> str:
    value = env_str(name, default)
    if not _RATE.fullmatch(value):
        raise ImproperlyConfiguredEnv(
            f"{name}={value!r} is not a rate such as 60/min or 1000/hour."
        )
    return value


# The largest request body read into memory: a BPMN file may be 5 MB, and sent as JSON (escaped)
# it needs more than Django's 2.5 MB default. Larger bodies are refused (the API: 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 8 * 1024 * 1024, minimum=1024)

REST_FRAMEWORK = {
    # OAuth2 first: its Bearer challenge makes a request without credentials a 401 (with
    # ``WWW-Authenticate``), not the 403 DRF answers when the first class has no challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.OAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "portal.api.TokenHasViewScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.AnonThrottle",
        "portal.api.UserThrottle",
        "portal.api.ClientThrottle",
    ],
    # the anonymous throttle's address: the proxy's last X-Forwarded-For entry, else
    # REMOTE_ADDR (never a header a client could forge)
    "NUM_PROXIES": 1 if BEHIND_PROXY else 0,
    "DEFAULT_THROTTLE_RATES": {
        "anon": _env_rate("API_THROTTLE_ANON", "60/min"),
        "user": _env_rate("API_THROTTLE_USER", "1200/min"),
        # the OAuth2 token endpoint, per client address (portal/oauth.py)
        "oauth2_token": _env_rate("API_THROTTLE_TOKEN", "20/min"),
        # requests with an OAuth2 token, per client (application); an application's own
        # rate in admin (portal.models.ClientScopes.rate) overrides it
        "client": _env_rate("API_THROTTLE_CLIENT", "600/min"),
    },
    # JSON or XML by content negotiation (Accept: application/xml), errors too; JSON when the
    # caller names neither. XML bodies are parsed with defusedxml, any DTD refused.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "portal.api.XMLRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.JSONParser",
        "portal.api.XMLParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# OAuth2 scopes; a session user (the browser) is not limited by them.
OAUTH2_SCOPES = {
    "read": _("Read the processes, instances and tasks you may see"),
    "write": _("Start processes and act on your tasks"),
    "todo": _("Push tasks of another system into the unified to-do list"),
}
# django-oauth-toolkit's own model, named so that portal.ClientScopes can refer to it
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": OAUTH2_SCOPES,
    "DEFAULT_SCOPES": ["read"],
    # each application's allowed scopes (portal.models.ClientScopes, edited with the
    # application in admin); a client asking for more gets less (portal/oauth.py)
    "SCOPES_BACKEND_CLASS": "portal.oauth.ApplicationScopes",
    "OAUTH2_VALIDATOR_CLASS": "portal.oauth.ScopeNarrowingValidator",
    "APPLICATION_ADMIN_CLASS": "portal.admin.OAuthApplicationAdmin",
    # Authorization code only with PKCE (S256), also for confidential clients.
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH2_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int(
        "OAUTH2_REFRESH_TOKEN_SECONDS", 14 * 24 * 3600, minimum=60
    ),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # Plain-http redirect URIs only on a developer's machine.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
    # A replayed refresh token revokes the whole family of tokens issued from it.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # RFC 9700 (OAuth 2.0 Security BCP) throughout: no implicit or password grant, PKCE
    # with S256 only, tokens only in the Authorization header, the `iss` parameter in
    # authorization responses, tokens stored hashed; a configuration that strays from it
    # fails ``check --deploy``.
    **{
        f"COMPLIANT_BCP_RFC9700_{gate}": True
        for gate in (
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "TOKEN_STORAGE",
            "REFRESH_TOKEN",
            "REDIRECT_URI_SCHEME",
            "REDIRECT_URI_MATCHING",
            "PKCE_REQUIRED",
        )
    },
}

API_DESCRIPTION = """Processes, instances, approval tasks and the unified to-do list (统一待办).

**Authentication.** The portal session (a signed-in browser; send the CSRF token with
writes) or an OAuth2 bearer token from `/o/token/`: the authorization code flow with PKCE
(S256, required) for apps acting for a person, or client credentials for another system,
which then acts as its OAuth2 application's *user* (set by an administrator; a client whose
application has no user is refused). Scopes: `read` (GET), `write` (other methods), `todo`
(pushing external tasks). A browser session is not limited by scopes.

**Variables.** A start (`variables`) and a step's action (`data`) take exactly the fields of
the start event's or the step's form: any other key is a field error and nothing happens
(a step without a form takes none). The initiator is always the caller (for client
credentials: the application's user); no variable can name another, nor set what the
process decides (`approved`, who approves next).

**Errors.** Every error has one body: `{"error": {"code", "message", "fields"?,
"problems"?}}`; `message` is in the caller's language, `fields` (validation errors only)
maps each input field to its messages, `problems` lists each problem of a BPMN file with
its element id. 400 bad input, 401 no or bad credentials, 403 not allowed (or the token's
scope), 404 not there *or not visible to you*, 409 the object's state refuses the action
(`already_handled`, `action_refused`, `refused`), 422 understood but not processable
(`process_error`: the process failed on the data and nothing changed;
`idempotency_key_reused`), 429 throttled (see `Retry-After`).

**Lists** are newest first with keyset pagination: follow `next` until it is null.
The todo tab of `/api/v1/tasks/` merges the caller's open external tasks with ours."""

SPECTACULAR_SETTINGS = {
    "TITLE": "Enterprise Portal API",
    "DESCRIPTION": API_DESCRIPTION,
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from the sidecar package's static files: customers' intranets have
    # no CDN access.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_OAUTH2_CONFIG": {"usePkceWithAuthorizationCodeGrant": True},
    "OAUTH2_FLOWS": ["authorizationCode", "clientCredentials"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    "OAUTH2_SCOPES": OAUTH2_SCOPES,
    # Several tables have a ``state``; each choice set gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "InstanceStateEnum": "workflow.models.InstanceState",
        "TaskStateEnum": "workflow.models.TaskState",
        "ExternalTaskStateEnum": "workflow.models.ExternalTaskState",
        "ActivityKindEnum": "crm.models.ActivityKind",
    },
}

# --- organization -----------------------------------------------------------------------

# The default code rule for employee numbers; administrators change the live rule in the
# data dictionary (admin → code rules). The default is what a fresh database starts with.
EMPLOYEE_NO_PATTERN = env_str("EMPLOYEE_NO_PATTERN", r"E\d{6}")

# --- logging ----------------------------------------------------------------------------

LOG_LEVEL = env_choice(
    "LOG_LEVEL",
    "INFO",
    {level: level for level in ("DEBUG", "INFO", "WARNING", "ERROR")},
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Shown in the page title and the header.
PORTAL_NAME = _("Enterprise Portal")
# Absolute base of links in e-mails and SMS (the address users open the portal at).
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")
