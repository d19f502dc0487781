"""Newsroom settings, read from the environment.

Every value comes from an environment variable through a small helper that
fails loudly on a bad value. Development conveniences (a generated secret key,
permissive hosts) are only granted when DEBUG is on.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from newsroom.localfiles import create_private_file, make_private, private_directory

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_limit(name: str, default: int) -> int:
    """A count limit: an integer of at least 1 (0 would refuse everything)."""
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Translate a DATABASE_URL into a Django DATABASES entry.

    Supported: ``sqlite:///relative/or/absolute/path`` and
    ``postgres://user:password@host:port/name`` (also ``postgresql://``).
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise ImproperlyConfigured("DATABASE_URL for SQLite needs a file path")
        # sqlite:///db.sqlite3 is relative to the project; sqlite:////abs is absolute.
        name = Path(path[1:]) if not path.startswith("//") else Path(path[1:])
        if not name.is_absolute():
            name = BASE_DIR / name
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    if parts.scheme in {"postgres", "postgresql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL for PostgreSQL needs a database name")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


def email_from_environment(debug: bool) -> dict:
    """Outgoing mail (password resets): printed to the console with DEBUG, sent over SMTP otherwise."""
    use_tls = env_bool("EMAIL_USE_TLS", False)
    use_ssl = env_bool("EMAIL_USE_SSL", False)
    if use_tls and use_ssl:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
    return {
        "EMAIL_BACKEND": (
            "django.core.mail.backends.console.EmailBackend"
            if debug
            else "django.core.mail.backends.smtp.EmailBackend"
        ),
        "EMAIL_HOST": os.environ.get("EMAIL_HOST", "localhost"),
        "EMAIL_PORT": env_int("EMAIL_PORT", 465 if use_ssl else (587 if use_tls else 25)),
        "EMAIL_HOST_USER": os.environ.get("EMAIL_HOST_USER", ""),
        "EMAIL_HOST_PASSWORD": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": env_int("EMAIL_TIMEOUT", 10),
        "DEFAULT_FROM_EMAIL": os.environ.get("DEFAULT_FROM_EMAIL", "newsroom@localhost"),
    }


DEBUG = env_bool("DEBUG", False)

# Local files of this install (secret key, SQLite database, uploads, admin password):
# readable by the user running Newsroom only (newsroom.localfiles).
VAR_DIR = BASE_DIR / "var"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Development only: a key per checkout, never shared between installs.
    import secrets

    _key_file = private_directory(VAR_DIR) / "dev-secret-key"
    create_private_file(_key_file, secrets.token_urlsafe(50))
    make_private(_key_file)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_filters",
    "import_export",
    "axes",
    "providers",
    "stories",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsroom.middleware.RejectNulCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "newsroom.middleware.ContentSecurityPolicyMiddleware",
    # Last: turns a login refused by django-axes into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"

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

DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL", "sqlite:///var/db.sqlite3")),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _db_file = Path(DATABASES["default"]["NAME"])
    if _db_file.parent == VAR_DIR:
        # SQLite creates the file (and its journals, with the file's mode) under the umask:
        # an empty file made here first is a valid empty database that only we can read.
        private_directory(VAR_DIR)
        create_private_file(_db_file)
        make_private(_db_file)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "newsroom" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

LOGIN_URL = "admin:login"

# Login throttling (django-axes): after NEWSROOM_LOGIN_FAILURE_LIMIT failed passwords for one
# username, or from one address, logins for it are refused until NEWSROOM_LOGIN_COOLOFF_MINUTES
# have passed without another failure.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("NEWSROOM_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("NEWSROOM_LOGIN_COOLOFF_MINUTES", 15))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME <= timedelta(0):
    raise ImproperlyConfigured(
        "NEWSROOM_LOGIN_FAILURE_LIMIT and NEWSROOM_LOGIN_COOLOFF_MINUTES must be positive"
    )
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "newsroom.accounts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "newsroom.accounts.client_address"

# Outgoing mail: the password reset links.
_email = email_from_environment(DEBUG)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"]
DEFAULT_FROM_EMAIL = _email["DEFAULT_FROM_EMAIL"]

# Security: strict by default, relaxed only for local development over HTTP.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Story files are untrusted input: bound their size before parsing.
NEWSROOM_MAX_STORY_FILE_BYTES = env_int("NEWSROOM_MAX_STORY_FILE_BYTES", 1024 * 1024)
# ... and what one file may carry: each list is checked before its items are read.
NEWSROOM_MAX_TOPICS_PER_STORY = env_limit("NEWSROOM_MAX_TOPICS_PER_STORY", 50)
NEWSROOM_MAX_RELATED_PER_STORY = env_limit("NEWSROOM_MAX_RELATED_PER_STORY", 500)
# images in one list: a story's, a related link's or a provider's
NEWSROOM_MAX_IMAGES_PER_LIST = env_limit("NEWSROOM_MAX_IMAGES_PER_LIST", 10)
# The story change page sends back every related link and image of the story as an inline form
# (a dozen fields each) and its texts URL-encoded: up to three bytes for one, six for a line
# break (a browser sends CRLF). Django's defaults (1,000 fields, 2.5 MB) refused to save a story
# with more than about 90 related links, or with a long text, that the story file format accepts.
_STORY_INLINE_ROWS = NEWSROOM_MAX_RELATED_PER_STORY + 2 * NEWSROOM_MAX_IMAGES_PER_LIST
DATA_UPLOAD_MAX_NUMBER_FIELDS = max(1000, 16 * _STORY_INLINE_ROWS + 200)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(
    2_621_440, 6 * NEWSROOM_MAX_STORY_FILE_BYTES + 64 * DATA_UPLOAD_MAX_NUMBER_FIELDS
)

# Admin uploads of story files (stories/uploads.py): kept in a private directory,
# never under MEDIA_ROOT, between preview and confirm.
NEWSROOM_UPLOAD_DIR = Path(os.environ.get("NEWSROOM_UPLOAD_DIR", BASE_DIR / "var" / "uploads"))
NEWSROOM_UPLOAD_TTL_SECONDS = env_int("NEWSROOM_UPLOAD_TTL_SECONDS", 60 * 60)
NEWSROOM_UPLOAD_MAX_BYTES = env_int("NEWSROOM_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
NEWSROOM_UPLOAD_MAX_FILES = env_int("NEWSROOM_UPLOAD_MAX_FILES", 200)
NEWSROOM_UPLOAD_MAX_ZIP_MEMBERS = env_int("NEWSROOM_UPLOAD_MAX_ZIP_MEMBERS", 20000)
NEWSROOM_UPLOAD_MAX_UNCOMPRESSED_BYTES = env_int("NEWSROOM_UPLOAD_MAX_UNCOMPRESSED_BYTES", 500 * 1024 * 1024)
NEWSROOM_UPLOAD_MAX_MEMBER_BYTES = env_int("NEWSROOM_UPLOAD_MAX_MEMBER_BYTES", NEWSROOM_MAX_STORY_FILE_BYTES)
NEWSROOM_UPLOAD_MAX_RATIO = env_int("NEWSROOM_UPLOAD_MAX_RATIO", 100)
# Our own per-upload file limit must be reached before Django's, which answers a bare 400.
DATA_UPLOAD_MAX_NUMBER_FILES = max(100, NEWSROOM_UPLOAD_MAX_FILES + 1)

# Local image cache (stories/images/, manage.py cache_images). Remote servers are
# untrusted: every limit applies to every download, and private addresses are refused
# unless NEWSROOM_IMAGE_ALLOW_PRIVATE (development and tests on loopback).
NEWSROOM_IMAGE_MAX_BYTES = env_int("NEWSROOM_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
NEWSROOM_IMAGE_MAX_PIXELS = env_int("NEWSROOM_IMAGE_MAX_PIXELS", 40_000_000)
NEWSROOM_IMAGE_CONNECT_TIMEOUT = env_float("NEWSROOM_IMAGE_CONNECT_TIMEOUT", 5.0)
NEWSROOM_IMAGE_TIMEOUT = env_float("NEWSROOM_IMAGE_TIMEOUT", 10.0)
NEWSROOM_IMAGE_TOTAL_TIMEOUT = env_float("NEWSROOM_IMAGE_TOTAL_TIMEOUT", 60.0)
# getaddrinfo has no timeout of its own; the lookup is abandoned after this (and within the total).
NEWSROOM_IMAGE_DNS_TIMEOUT = env_float("NEWSROOM_IMAGE_DNS_TIMEOUT", 5.0)
NEWSROOM_IMAGE_MAX_REDIRECTS = env_int("NEWSROOM_IMAGE_MAX_REDIRECTS", 3)
NEWSROOM_IMAGE_ALLOW_PRIVATE = env_bool("NEWSROOM_IMAGE_ALLOW_PRIVATE", False)
NEWSROOM_IMAGE_WORKERS = env_int("NEWSROOM_IMAGE_WORKERS", 4)
NEWSROOM_IMAGE_WIDTHS = env_list("NEWSROOM_IMAGE_WIDTHS", ["320", "640", "1024"])
if not all(width.isdigit() and int(width) > 0 for width in NEWSROOM_IMAGE_WIDTHS):
    raise ImproperlyConfigured(f"NEWSROOM_IMAGE_WIDTHS must be positive integers: {NEWSROOM_IMAGE_WIDTHS!r}")
NEWSROOM_IMAGE_WIDTHS = sorted({int(width) for width in NEWSROOM_IMAGE_WIDTHS})
NEWSROOM_CACHE_IMAGES_AFTER_IMPORT = env_bool("NEWSROOM_CACHE_IMAGES_AFTER_IMPORT", False)
# What readers get for an image with no local copy: "remote" (its URL) or "none" (no image).
NEWSROOM_IMAGE_FALLBACK = os.environ.get("NEWSROOM_IMAGE_FALLBACK", "none")
if NEWSROOM_IMAGE_FALLBACK not in {"remote", "none"}:
    raise ImproperlyConfigured(f"NEWSROOM_IMAGE_FALLBACK must be remote or none: {NEWSROOM_IMAGE_FALLBACK!r}")

# Spreadsheet round trip (stories/resources.py) through django-import-export. Files are
# untrusted (stories/spreadsheet_files.py): bounded, and kept between preview and confirm in
# a private directory, never served, for NEWSROOM_UPLOAD_TTL_SECONDS.
IMPORT_EXPORT_USE_TRANSACTIONS = True
NEWSROOM_SPREADSHEET_MAX_BYTES = env_int("NEWSROOM_SPREADSHEET_MAX_BYTES", 10 * 1024 * 1024)
NEWSROOM_SPREADSHEET_MAX_ROWS = env_int("NEWSROOM_SPREADSHEET_MAX_ROWS", 5000)
NEWSROOM_SPREADSHEET_DIR = Path(os.environ.get("NEWSROOM_SPREADSHEET_DIR", BASE_DIR / "var" / "spreadsheets"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
