"""Settings for Xinyuan, read from the environment.

One module for every deployment: the defaults give a safe embedded run (SQLite under var/,
huey on SQLite); production sets XINYUAN_ENV=production and must supply a real secret key.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("XINYUAN_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite, huey and the audit head file live here

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused in production


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


XINYUAN_ENV = env_str("XINYUAN_ENV", "development")
PRODUCTION = XINYUAN_ENV == "production"

SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("生产模式不得开启 DEBUG（DEBUG must be off in production）")
    if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("生产模式必须设置至少 40 个字符的 SECRET_KEY（set a real SECRET_KEY in production）")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("生产模式必须设置 ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "huey.contrib.djhuey",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "apps.core",
    "apps.orgs",
    "apps.accounts",
    "apps.exports",
    "apps.clients",
    "apps.screening",
    "apps.casework",
    "apps.reports",
    "apps.appointments",
    "apps.outreach",
    "apps.backups",
    "apps.audit",
    "apps.vault",
    "apps.notifications",
    "apps.workdays",
    "apps.assessments",
    "apps.alerts",
    "apps.membership",
    "apps.governance",
    "apps.projects",
    "apps.assistance",
    "apps.crisis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.accounts.middleware.ActiveAssignmentMiddleware",
    "apps.audit.middleware.AuditDenialMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.accounts.security.SessionPolicyMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "xinyuan.urls"
WSGI_APPLICATION = "xinyuan.wsgi.application"

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
                "apps.core.context_processors.shell",
                "apps.notifications.context_processors.unread",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'xinyuan.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the background worker read while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTHENTICATION_BACKENDS = [
    "apps.accounts.security.LoginGuardBackend",  # django-axes per account + a limit per address
    "django.contrib.auth.backends.ModelBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "apps.accounts.validators.PasswordRulesValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["xinyuan.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules/bootstrap-icons/font"),
    ("vendor/htmx", BASE_DIR / "node_modules/htmx.org/dist"),
    ("vendor/echarts", BASE_DIR / "node_modules/echarts/dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = VAR_DIR / "media"

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
# Login security (MLPS level 3); the rules live in apps/accounts/security.py.
SESSION_ABSOLUTE_LIFETIME = env_int("SESSION_ABSOLUTE_LIFETIME", 10 * 3600)  # seconds after login
IDLE_TIMEOUT = env_int("IDLE_TIMEOUT", 30 * 60)  # seconds without a request
IDLE_TIMEOUT_NOTES = env_int("IDLE_TIMEOUT_NOTES", 15 * 60)  # for accounts that see counselling notes
REAUTH_MAX_AGE = env_int("REAUTH_MAX_AGE", 5 * 60)  # password entered again before exports, unmasking
TWO_FACTOR_MANDATORY = env_bool("TWO_FACTOR_MANDATORY", PRODUCTION)
OTP_TOTP_ISSUER = "心援 Xinyuan"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
# Per account, not per address: offices share one NAT address, and locking it would lock out the office.
AXES_LOCKOUT_PARAMETERS = ["username"]
# models.W040: SQLite ignores the INCLUDE columns of covering indexes meant for PostgreSQL; the index still works.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "models.W040"]
AXES_RESET_ON_SUCCESS = False  # apps.accounts.security clears failures at login, or after the code past a lock
# A failure during a lock does not extend it: a stranger cannot keep a named account locked by trickling attempts.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
CSP = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "apps.core.api.XinyuanTokenAuthentication",  # hashed, expiring personal tokens (apps.accounts.tokens)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.DeclaredPermission"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
}
# Choice sets of the modules added after casework (see ENUM_NAME_OVERRIDES below).
MODULE_CHOICES = (
    "assessments.BandLevel assessments.Mode assessments.CutoffSource alerts.Colour alerts.State "
    "alerts.Proposal alerts.ControlMeasure alerts.ContactKind alerts.EventKind "
    "membership.ApplicationStatus membership.AdmissionRoute membership.VoteChoice "
    "membership.VoteResult membership.CertificateKind membership.MemberStatus membership.Tier "
    "membership.BodyKind membership.PositionKind membership.DuesMethod membership.EthicsPrinciple "
    "membership.ComplaintStatus membership.ConductKind membership.RevocationReason governance.Body "
    "governance.MeetingStatus governance.Attendance governance.LeaveStatus governance.AgendaKind "
    "projects.ProjectKind projects.ProjectStatus projects.ReportRecipient projects.QualityResult "
    "assistance.Specialty assistance.HelpChannel assistance.Urgency assistance.HelpStatus "
    "assistance.HelpOutcome assistance.HelpEventKind assistance.HoursKind assistance.HoursStatus "
    "assistance.Skill assistance.Availability assistance.EventKind assistance.Severity "
    "assistance.EventStatus assistance.DispatchRole assistance.DispatchStatus "
    "assistance.ServiceKind"
)
SPECTACULAR_SETTINGS = {
    "TITLE": "心援 Xinyuan API",
    "DESCRIPTION": "社会心理服务与心理援助协会管理平台接口。所有数据均按调用者的组织范围过滤。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["apps.core.api.DeclaredPermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several modules have their own "status", "kind", "colour" … choice sets: name each after its module so the
    # schema's enum names are stable and distinct.
    "ENUM_NAME_OVERRIDES": {
        **{
            f"{app.capitalize()}{name}Enum": f"apps.{app}.choices.{name}"
            for app, name in (path.split(".") for path in MODULE_CHOICES.split())
        },
        "AlertsColourChoiceEnum": "apps.alerts.api.COLOURS",
    },
}

# Cache (rate limits of the public pages): per-process memory by default; with several gunicorn workers set
# CACHE_REDIS_URL so every worker counts the same requests.
CACHE_REDIS_URL = env_str("CACHE_REDIS_URL")
if CACHE_REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_REDIS_URL}}

# Background jobs: SQLite storage embedded, Redis when HUEY_REDIS_URL is set.
HUEY_REDIS_URL = env_str("HUEY_REDIS_URL")
HUEY = {
    "name": "xinyuan",
    "immediate": env_bool("HUEY_IMMEDIATE", False),
    "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
}
if HUEY_REDIS_URL:
    HUEY.update({"huey_class": "huey.RedisHuey", "url": HUEY_REDIS_URL})
else:
    HUEY.update({"huey_class": "huey.SqliteHuey", "filename": str(VAR_DIR / "huey.sqlite3")})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Bulk exports (apps.exports): encrypted archives under var/, purged after this many days.
EXPORT_DIR = env_str("EXPORT_DIR", str(VAR_DIR / "exports"))
EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 7)

# Keyset pages: rows per page on lists.
PAGE_SIZE = 50

# --- notifications ---
# In-app inbox, SMS and e-mail (apps.notifications); operator guide: docs/notifications.md.
NOTIFY_SMS_BACKEND = env_str("NOTIFY_SMS_BACKEND", "apps.notifications.backends.ConsoleSmsBackend")
NOTIFY_SMS_FILE_PATH = env_str("NOTIFY_SMS_FILE_PATH", str(VAR_DIR / "sms.log"))
NOTIFY_SMS_TIMEOUT = env_int("NOTIFY_SMS_TIMEOUT", 10)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 3)
NOTIFY_RETRY_DELAY = env_int("NOTIFY_RETRY_DELAY", 60)  # seconds, times the attempt number
# The platform's public address (https://xinyuan.example.gov.cn): every SMS or e-mail that points somewhere
# carries SITE_URL + path (apps.core.links.absolute_url). NOTIFY_SITE_URL is its former name, still read.
SITE_URL = (
    env_str("SITE_URL") or env_str("NOTIFY_SITE_URL") or ("" if PRODUCTION else "http://127.0.0.1:8000")
).rstrip("/")
if PRODUCTION and not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured("生产模式必须设置 SITE_URL，且以 https:// 开头（短信和邮件里的链接由它拼成）")
if SITE_URL and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", SITE_URL):
    raise ImproperlyConfigured(f"SITE_URL 必须是 http(s):// 开头的完整地址，不是 {SITE_URL!r}")
NOTIFY_ALIYUN_ACCESS_KEY_ID = env_str("NOTIFY_ALIYUN_ACCESS_KEY_ID")
NOTIFY_ALIYUN_ACCESS_KEY_SECRET = env_str("NOTIFY_ALIYUN_ACCESS_KEY_SECRET")
NOTIFY_ALIYUN_SIGN_NAME = env_str("NOTIFY_ALIYUN_SIGN_NAME")
NOTIFY_ALIYUN_ENDPOINT = env_str("NOTIFY_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
NOTIFY_ALIYUN_REGION = env_str("NOTIFY_ALIYUN_REGION", "cn-hangzhou")
# "appointment_reminder=SMS_123,generic=SMS_456": our template code = Aliyun template code.
NOTIFY_ALIYUN_TEMPLATE_CODES = {}
for _pair in env_list("NOTIFY_ALIYUN_TEMPLATE_CODES"):
    _code, _sep, _aliyun = (part.strip() for part in _pair.partition("="))
    if not (_code and _sep and _aliyun):
        raise ImproperlyConfigured(f"NOTIFY_ALIYUN_TEMPLATE_CODES: expected code=SMS_xxx, not {_pair!r}")
    NOTIFY_ALIYUN_TEMPLATE_CODES[_code] = _aliyun
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # for ...filebased.EmailBackend
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "xinyuan@localhost")

# --- vault ---
# Sensitive-field encryption keys (apps.vault; operator guide docs/vault.md). XINYUAN_FIELD_KEYS is
# "keyid:base64key,..." (the first key encrypts, the rest only decrypt), XINYUAN_INDEX_KEY keys the
# blind index, XINYUAN_INDEX_KEY_PREVIOUS is set only while the index key changes. Parsed here so a
# missing key in production or a malformed key anywhere stops start-up; development derives
# labelled "dev-only" keys from SECRET_KEY.
from apps.vault.keys import keys_from_environment  # noqa: E402 - the vault block stays at the end

_vault_keys = keys_from_environment(
    os.environ, production=PRODUCTION, secret_key=SECRET_KEY, default_secret_key=DEFAULT_SECRET_KEY
)
VAULT_FIELD_KEYS = _vault_keys.field_keys
VAULT_INDEX_KEY = _vault_keys.index_key
VAULT_INDEX_KEY_PREVIOUS = _vault_keys.index_key_previous
VAULT_DEVELOPMENT_KEYS = _vault_keys.development
del _vault_keys

# --- audit ---
# Tamper-evident audit log (apps.audit; operator guide docs/audit.md). The head file records the
# last verified chain head outside the database; copy it to write-once storage daily.
AUDIT_HEAD_FILE = Path(env_str("AUDIT_HEAD_FILE", str(VAR_DIR / "audit-head.json")))
# Deprecated: true means TRUSTED_PROXY_COUNT=1 (see "proxies and public booking" below); the client IP
# is then the rightmost X-Forwarded-For entry, never the first one (which the client writes).
AUDIT_TRUST_X_FORWARDED_FOR = env_bool("AUDIT_TRUST_X_FORWARDED_FOR", False)

# --- backups ---
# Encrypted database backups (apps.backups; operator guide docs/backups.md). XINYUAN_BACKUP_KEY is
# the base64 of 32 random bytes; it is parsed only by the backup/restore commands, so production
# without it still serves the web app and only the backup commands refuse. Keep the key away from
# the backup files.
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_KEY = env_str("XINYUAN_BACKUP_KEY")
BACKUP_PG_DUMP = env_str("BACKUP_PG_DUMP", "pg_dump")  # same major version as the server
BACKUP_PG_RESTORE = env_str("BACKUP_PG_RESTORE", "pg_restore")

# --- proxies and public booking (issue 14) ---
# Client IP (apps.audit.services.client_ip; the audit log, every rate limit and the axes lockout read
# it): the number of reverse proxies in front of the app that append to X-Forwarded-For. 0 = no proxy,
# REMOTE_ADDR is the client; N = the Nth entry from the right (what the outermost trusted proxy saw).
# The old AUDIT_TRUST_X_FORWARDED_FOR=true means one proxy. See docs/install.md (nginx) and docs/security.md.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if AUDIT_TRUST_X_FORWARDED_FOR else 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT 不能为负数")
AXES_CLIENT_IP_CALLABLE = "apps.audit.services.client_ip"
# Rate limits (public booking, membership, SMS codes) count in the cache; with several workers a
# per-process cache lets each worker count on its own, so production refuses one.
_cache_backend = (CACHES if "CACHES" in globals() else {}).get("default", {}).get("BACKEND", "")
if PRODUCTION and _cache_backend in ("", "django.core.cache.backends.locmem.LocMemCache",
                                     "django.core.cache.backends.dummy.DummyCache"):  # fmt: skip
    raise ImproperlyConfigured(
        "生产模式必须设置 CACHE_REDIS_URL（所有工作进程共用的缓存），否则各进程各自计数，频率限制形同虚设"
        "（production needs a shared cache: set CACHE_REDIS_URL）"
    )
del _cache_backend
# Public booking (/book/, apps.appointments, S-FLOW-1): a request holds an hour only after the SMS code
# sent to its phone is entered; limits are counted in the shared cache.
PUBLIC_BOOKING_CODE_MINUTES = env_int("PUBLIC_BOOKING_CODE_MINUTES", 10)  # an SMS code is valid this long
PUBLIC_BOOKING_CODE_ATTEMPTS = env_int("PUBLIC_BOOKING_CODE_ATTEMPTS", 5)  # wrong entries before it is void
PUBLIC_BOOKING_SMS_PER_PHONE = env_int("PUBLIC_BOOKING_SMS_PER_PHONE", 3)  # codes per phone per hour
PUBLIC_BOOKING_SMS_PER_IP = env_int("PUBLIC_BOOKING_SMS_PER_IP", 10)  # codes per client IP per hour
PUBLIC_BOOKING_PER_IP = env_int("PUBLIC_BOOKING_PER_IP", 3)  # requests per client IP per day
PUBLIC_BOOKING_PER_UNIT = env_int("PUBLIC_BOOKING_PER_UNIT", 20)  # requests per unit per day
# A public request staff have not confirmed after this many minutes is cancelled and its hour freed.
PUBLIC_BOOKING_UNCONFIRMED_MINUTES = env_int("PUBLIC_BOOKING_UNCONFIRMED_MINUTES", 3 * 24 * 60)
# The longest counselling session (appointment) that may be booked, in minutes (issue 13 item 1).
APPOINTMENT_MAX_MINUTES = env_int("APPOINTMENT_MAX_MINUTES", 180)

# --- personal data out of logs (issue 14) ---
# SMS: the console and file backends keep the message on this server (masked: 138****5678 and every
# run of 6+ digits); production refuses them unless NOTIFY_SMS_ALLOW_LOCAL_BACKEND=1 chooses them
# explicitly, and always refuses the in-memory test backend. Operator guide: docs/notifications.md.
NOTIFY_SMS_ALLOW_LOCAL_BACKEND = env_bool("NOTIFY_SMS_ALLOW_LOCAL_BACKEND", False)
from apps.notifications.backends import check_sms_backend_allowed  # noqa: E402 - needs the values above

check_sms_backend_allowed(NOTIFY_SMS_BACKEND, production=PRODUCTION, allow_local=NOTIFY_SMS_ALLOW_LOCAL_BACKEND)

# --- API tokens, no-store, failed logins (issue 14) ---
# Personal API tokens (apps.accounts.tokens): stored as SHA-256 digests, end after this many days (the
# longest a user may choose) and after this many days unused. Sessions have idle minutes instead.
API_TOKEN_LIFETIME_DAYS = env_int("API_TOKEN_LIFETIME_DAYS", 90)
API_TOKEN_IDLE_DAYS = env_int("API_TOKEN_IDLE_DAYS", 30)
# Failed logins from one address (any usernames) before it is refused for AXES_COOLOFF_TIME; counted in the
# cache, so set CACHE_REDIS_URL with several workers. Well above AXES_FAILURE_LIMIT (per account): an office
# behind one NAT address shares it.
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 30)
# Cache-Control: no-store on every response to a logged-in request and every API response; placed after
# WhiteNoise, so static files keep their caching.
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, "apps.core.middleware.NoStoreMiddleware"
)

# --- uploads (issue 12) ---
# Hostile spreadsheets (apps.core.uploads, docs/screening.md): an .xlsx whose zip members declare more than
# this in total, or whose XML is compressed more than this ratio, is refused before any parser reads it.
UPLOAD_MAX_UNPACKED_BYTES = env_int("UPLOAD_MAX_UNPACKED_BYTES", 100 * 1024 * 1024)
UPLOAD_MAX_COMPRESSION_RATIO = env_int("UPLOAD_MAX_COMPRESSION_RATIO", 100)
# The parser runs in a child process with this address-space limit (RLIMIT_AS) and wall-clock limit.
UPLOAD_PARSER_MEMORY_BYTES = env_int("UPLOAD_PARSER_MEMORY_BYTES", 1024 * 1024 * 1024)
UPLOAD_PARSER_TIMEOUT_SECONDS = env_int("UPLOAD_PARSER_TIMEOUT_SECONDS", 300)
# Data rows per imported sheet; the sheet is refused while streaming, at the first row past the cap.
UPLOAD_MAX_ROWS = env_int("UPLOAD_MAX_ROWS", 100_000)
# A screening import still queued, validating or importing this long after upload is marked failed
# (periodic task and on every read of the batch). Keep it well above UPLOAD_PARSER_TIMEOUT_SECONDS.
SCREENING_IMPORT_STALE_MINUTES = env_int("SCREENING_IMPORT_STALE_MINUTES", 30)

# --- query-string integers (issue 14) ---
# Every API list first refuses ids and numbers that fit no 64-bit column (400, not a 500 from the database).
REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"] = [
    "apps.core.api.QueryIntegerFilterBackend",
    *REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"],
]
# The same rule for pages and every other request, before any view reads its query string.
MIDDLEWARE.append("apps.core.querystring.QueryIntegerMiddleware")

# --- audit HMAC (issue 14) ---
# Every audit entry is also sealed with an HMAC under a key the database does not hold (apps.audit.keys,
# docs/audit.md): AUDIT_HMAC_KEYS is "keyid:base64key,..." (the first key seals, every key verifies).
# Development derives a "dev-only" key from SECRET_KEY; production refuses to start without real keys.
from apps.audit.keys import hmac_keys_from_environment  # noqa: E402 - the audit block stays at the end

AUDIT_HMAC_KEYS = hmac_keys_from_environment(os.environ, production=PRODUCTION, secret_key=SECRET_KEY)
# Append-only record of the chain head, one line per write (verify_audit and the periodic task); ship it to a
# second machine (docs/audit.md). AUDIT_HEAD_SYSLOG=true also sends each line to the local syslog.
AUDIT_HEAD_LOG = Path(env_str("AUDIT_HEAD_LOG", str(VAR_DIR / "audit-head.log")))
AUDIT_HEAD_SYSLOG = env_bool("AUDIT_HEAD_SYSLOG", False)
AUDIT_HEAD_TASK_MINUTES = env_int("AUDIT_HEAD_TASK_MINUTES", 15)
