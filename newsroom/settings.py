"""Newsroom settings, read from the environment.

Every value comes from an environment variable through django-environ (``env``),
held to rules that fail loudly on a bad value; ``DATABASE_URL`` is read by
dj-database-url. Development conveniences (a generated secret key, permissive
hosts) are only granted when DEBUG is on.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

from newsroom.localfiles import create_private_file, make_private, private_directory

BASE_DIR = Path(__file__).resolve().parent.parent


class Env(environ.Env):
    """django-environ, with the rules every setting here relies on.

    - An empty variable counts as unset: deployment tools write ``NAME=`` for "no value".
    - A value that does not read as its type stops start-up, naming the variable. django-environ
      alone reads any unknown word as a false boolean and keeps only the digits and dots of a
      number ("1O" would be 1.0); a typo must not quietly turn a protection off.
    - A value is taken as written. django-environ alone reads a value that begins with "$" as the
      name of another variable to read instead, and a password or a key may begin with "$".
    """

    TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
    FALSE_WORDS = frozenset({"0", "false", "no", "off"})
    KINDS = {bool: "a boolean (true/false)", int: "an integer", float: "a number"}

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        raw = self.ENVIRON.get(var, "")
        if not raw.strip():
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"{var} must be set")
            return default
        try:
            return self.parse_value(raw, cast)
        except ValueError:
            kind = self.KINDS.get(cast, "valid")
            raise ImproperlyConfigured(f"{var} must be {kind}, got {raw!r}") from None

    @classmethod
    def parse_value(cls, value, cast):
        if cast is bool:
            word = value.strip().lower()
            if word not in cls.TRUE_WORDS | cls.FALSE_WORDS:
                raise ValueError(word)
            return word in cls.TRUE_WORDS
        if cast is float:
            return float(value)
        if cast is list:
            return [item.strip() for item in value.split(",") if item.strip()]
        return super().parse_value(value, cast)


env = Env()


def env_limit(name: str, default: int) -> int:
    """A count limit: an integer of at least 1 (0 would refuse everything)."""
    value = env.int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, got {value}")
    return value


# What every SQLite connection needs: wait up to 20 s for another writer rather than fail at once,
# and take the write lock when a transaction begins: a transaction that started as a reader and
# then writes could not wait for the lock and would fail with "database is locked" at once.
SQLITE_OPTIONS = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql")


def database_from_url(url: str) -> dict:
    """Translate a DATABASE_URL into a Django DATABASES entry, with dj-database-url.

    ``sqlite:///relative/path`` is relative to the project, ``sqlite:////absolute/path`` is
    absolute; ``postgres://user:password@host:port/name?sslmode=require`` (also
    ``postgresql://``) hands its query options to the driver as connection parameters.
    """
    try:
        scheme = urlsplit(url).scheme
        if scheme not in DATABASE_SCHEMES:
            raise ImproperlyConfigured(
                f"DATABASE_URL scheme {scheme!r} is not supported (sqlite or postgres)"
            )
        database = dj_database_url.parse(url)
    except ValueError:  # never repeat the URL: it may hold a password
        raise ImproperlyConfigured(
            "DATABASE_URL is not a valid URL (a password with special characters must be %-quoted)"
        ) from None
    options = database.get("OPTIONS", {})
    if scheme == "sqlite":
        if database["NAME"] in ("", ":memory:"):
            raise ImproperlyConfigured("DATABASE_URL for SQLite needs a file path")
        return {
            "ENGINE": database["ENGINE"],
            "NAME": BASE_DIR / database["NAME"],  # an absolute path stays as it is
            "OPTIONS": {**SQLITE_OPTIONS, **options},
        }
    if not database["NAME"]:
        raise ImproperlyConfigured("DATABASE_URL for PostgreSQL needs a database name")
    database["PORT"] = str(database["PORT"])
    database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60)
    return database


CACHE_SCHEMES = ("redis", "rediss", "locmemcache")
# A cache that does not answer in time is skipped (reader pages are rendered without it).
REDIS_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


def cache_from_url(url: str) -> dict:
    """Translate CACHE_URL (or REDIS_URL) into a Django CACHES entry, with django-environ.

    ``redis://[:password@]host:port/db`` (``rediss://`` over TLS) uses Django's own Redis backend
    (``newsroom.cache``: answering as an empty cache while Redis cannot be reached), shared by
    every process; empty, the local-memory cache of each process (``make run``).
    """
    if not url:
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "newsroom",
            "OPTIONS": {"MAX_ENTRIES": 1000},
        }
    scheme = urlsplit(url).scheme
    if scheme not in CACHE_SCHEMES:  # never repeat the URL: it may hold a password
        raise ImproperlyConfigured(
            f"CACHE_URL scheme {scheme!r} is not supported (redis, rediss or locmemcache)"
        )
    cache = env.cache_url_config(url)
    if scheme != "locmemcache":
        cache["BACKEND"] = "newsroom.cache.RedisCache"
        cache["OPTIONS"] = {**REDIS_TIMEOUTS, **cache.get("OPTIONS", {})}
    return {**cache, "KEY_PREFIX": "newsroom"}


def email_from_environment(debug: bool) -> dict:
    """Outgoing mail (password resets): printed to the console with DEBUG, sent over SMTP otherwise."""
    use_tls = env.bool("EMAIL_USE_TLS", False)
    use_ssl = env.bool("EMAIL_USE_SSL", False)
    if use_tls and use_ssl:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
    return {
        "EMAIL_BACKEND": (
            "django.core.mail.backends.console.EmailBackend"
            if debug
            else "django.core.mail.backends.smtp.EmailBackend"
        ),
        "EMAIL_HOST": env.str("EMAIL_HOST", "localhost"),
        "EMAIL_PORT": env.int("EMAIL_PORT", 465 if use_ssl else (587 if use_tls else 25)),
        "EMAIL_HOST_USER": env.str("EMAIL_HOST_USER", ""),
        "EMAIL_HOST_PASSWORD": env.str("EMAIL_HOST_PASSWORD", ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": env.int("EMAIL_TIMEOUT", 10),
        "DEFAULT_FROM_EMAIL": env.str("DEFAULT_FROM_EMAIL", "newsroom@localhost"),
    }


DEBUG = env.bool("DEBUG", False)

# Local files of this install (secret key, SQLite database, uploads, admin password):
# readable by the user running Newsroom only (newsroom.localfiles).
VAR_DIR = BASE_DIR / "var"

SECRET_KEY = env.str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Development only: a key per checkout, never shared between installs.
    import secrets

    _key_file = private_directory(VAR_DIR) / "dev-secret-key"
    create_private_file(_key_file, secrets.token_urlsafe(50))
    make_private(_key_file)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

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
    "default": database_from_url(env.str("DATABASE_URL", "sqlite:///var/db.sqlite3")),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The shared cache (stories/reader/caching.py, stories/reader/version.py): Redis for every process
# from CACHE_URL, or REDIS_URL; without either, each process keeps its own in memory.
CACHES = {"default": cache_from_url(env.str("CACHE_URL", "") or env.str("REDIS_URL", ""))}
# How long a rendered reader page (listing, search, feed, sitemap) is kept; 0: not cached.
# A change readers can see takes effect at once whatever this says: it moves the reader version.
NEWSROOM_READER_CACHE_SECONDS = env.int("NEWSROOM_READER_CACHE_SECONDS", 600)
if NEWSROOM_READER_CACHE_SECONDS < 0:
    raise ImproperlyConfigured(
        f"NEWSROOM_READER_CACHE_SECONDS must be 0 or more, got {NEWSROOM_READER_CACHE_SECONDS}"
    )
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
STATIC_ROOT = Path(env.str("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "newsroom" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", BASE_DIR / "var" / "media"))

LOGIN_URL = "admin:login"

# Login throttling (django-axes): after NEWSROOM_LOGIN_FAILURE_LIMIT failed passwords for one
# username, or from one address, logins for it are refused until NEWSROOM_LOGIN_COOLOFF_MINUTES
# have passed without another failure.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_limit("NEWSROOM_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_limit("NEWSROOM_LOGIN_COOLOFF_MINUTES", 15))
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
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", not DEBUG)
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Revisions kept per story when `manage.py prune_revisions` runs (unset: every revision is
# kept). The live revision, the latest and a pending draft are always kept.
NEWSROOM_KEEP_REVISIONS = env.int("NEWSROOM_KEEP_REVISIONS", None)
if NEWSROOM_KEEP_REVISIONS is not None and NEWSROOM_KEEP_REVISIONS < 1:
    raise ImproperlyConfigured(f"NEWSROOM_KEEP_REVISIONS must be at least 1, got {NEWSROOM_KEEP_REVISIONS}")

# Story files are untrusted input: bound their size before parsing.
NEWSROOM_MAX_STORY_FILE_BYTES = env.int("NEWSROOM_MAX_STORY_FILE_BYTES", 1024 * 1024)
# ... and what one file may carry: each list is checked before its items are read.
NEWSROOM_MAX_TOPICS_PER_STORY = env_limit("NEWSROOM_MAX_TOPICS_PER_STORY", 50)
NEWSROOM_MAX_RELATED_PER_STORY = env_limit("NEWSROOM_MAX_RELATED_PER_STORY", 500)
# images in one list: a story's, a related link's or a provider's
NEWSROOM_MAX_IMAGES_PER_LIST = env_limit("NEWSROOM_MAX_IMAGES_PER_LIST", 10)
# Reader search ranks and counts at most this many matches (stories/reader/search.py); their ids
# go into one query, so there is a ceiling.
NEWSROOM_SEARCH_CANDIDATES = env_limit("NEWSROOM_SEARCH_CANDIDATES", 1000)
if NEWSROOM_SEARCH_CANDIDATES > 10_000:
    raise ImproperlyConfigured(
        f"NEWSROOM_SEARCH_CANDIDATES must be at most 10000, got {NEWSROOM_SEARCH_CANDIDATES}"
    )

# The story change page sends back every related link and image of the story as an inline form
# (a dozen fields each) and its texts URL-encoded: up to three bytes for one, six for a line
# break (a browser sends CRLF). Django's defaults (1,000 fields, 2.5 MB) refused to save a story
# with more than about 90 related links, or with a long text, that the story file format accepts.
_STORY_INLINE_ROWS = NEWSROOM_MAX_RELATED_PER_STORY + 2 * NEWSROOM_MAX_IMAGES_PER_LIST
DATA_UPLOAD_MAX_NUMBER_FIELDS = max(1000, 16 * _STORY_INLINE_ROWS + 200)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(
    2_621_440, 6 * NEWSROOM_MAX_STORY_FILE_BYTES + 64 * DATA_UPLOAD_MAX_NUMBER_FIELDS
)

# Admin uploads of story files (stories/imports/uploads.py): kept in a private directory,
# never under MEDIA_ROOT, between preview and confirm.
NEWSROOM_UPLOAD_DIR = Path(env.str("NEWSROOM_UPLOAD_DIR", BASE_DIR / "var" / "uploads"))
NEWSROOM_UPLOAD_TTL_SECONDS = env.int("NEWSROOM_UPLOAD_TTL_SECONDS", 60 * 60)
NEWSROOM_UPLOAD_MAX_BYTES = env.int("NEWSROOM_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
NEWSROOM_UPLOAD_MAX_FILES = env.int("NEWSROOM_UPLOAD_MAX_FILES", 200)
NEWSROOM_UPLOAD_MAX_ZIP_MEMBERS = env.int("NEWSROOM_UPLOAD_MAX_ZIP_MEMBERS", 20000)
NEWSROOM_UPLOAD_MAX_UNCOMPRESSED_BYTES = env.int("NEWSROOM_UPLOAD_MAX_UNCOMPRESSED_BYTES", 500 * 1024 * 1024)
NEWSROOM_UPLOAD_MAX_MEMBER_BYTES = env.int("NEWSROOM_UPLOAD_MAX_MEMBER_BYTES", NEWSROOM_MAX_STORY_FILE_BYTES)
NEWSROOM_UPLOAD_MAX_RATIO = env.int("NEWSROOM_UPLOAD_MAX_RATIO", 100)
# Our own per-upload file limit must be reached before Django's, which answers a bare 400.
DATA_UPLOAD_MAX_NUMBER_FILES = max(100, NEWSROOM_UPLOAD_MAX_FILES + 1)

# Local image cache (stories/images/, manage.py cache_images). Remote servers are
# untrusted: every limit applies to every download, and private addresses are refused
# unless NEWSROOM_IMAGE_ALLOW_PRIVATE (development and tests on loopback).
NEWSROOM_IMAGE_MAX_BYTES = env.int("NEWSROOM_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
NEWSROOM_IMAGE_MAX_PIXELS = env.int("NEWSROOM_IMAGE_MAX_PIXELS", 40_000_000)
NEWSROOM_IMAGE_CONNECT_TIMEOUT = env.float("NEWSROOM_IMAGE_CONNECT_TIMEOUT", 5.0)
NEWSROOM_IMAGE_TIMEOUT = env.float("NEWSROOM_IMAGE_TIMEOUT", 10.0)
NEWSROOM_IMAGE_TOTAL_TIMEOUT = env.float("NEWSROOM_IMAGE_TOTAL_TIMEOUT", 60.0)
# getaddrinfo has no timeout of its own; the lookup is abandoned after this (and within the total).
NEWSROOM_IMAGE_DNS_TIMEOUT = env.float("NEWSROOM_IMAGE_DNS_TIMEOUT", 5.0)
NEWSROOM_IMAGE_MAX_REDIRECTS = env.int("NEWSROOM_IMAGE_MAX_REDIRECTS", 3)
NEWSROOM_IMAGE_ALLOW_PRIVATE = env.bool("NEWSROOM_IMAGE_ALLOW_PRIVATE", False)
NEWSROOM_IMAGE_WORKERS = env.int("NEWSROOM_IMAGE_WORKERS", 4)
NEWSROOM_IMAGE_WIDTHS = env.list("NEWSROOM_IMAGE_WIDTHS", default=["320", "640", "1024"])
if not all(width.isdigit() and int(width) > 0 for width in NEWSROOM_IMAGE_WIDTHS):
    raise ImproperlyConfigured(f"NEWSROOM_IMAGE_WIDTHS must be positive integers: {NEWSROOM_IMAGE_WIDTHS!r}")
NEWSROOM_IMAGE_WIDTHS = sorted({int(width) for width in NEWSROOM_IMAGE_WIDTHS})
NEWSROOM_CACHE_IMAGES_AFTER_IMPORT = env.bool("NEWSROOM_CACHE_IMAGES_AFTER_IMPORT", False)
# What readers get for an image with no local copy: "remote" (its URL) or "none" (no image).
NEWSROOM_IMAGE_FALLBACK = env.str("NEWSROOM_IMAGE_FALLBACK", "none")
if NEWSROOM_IMAGE_FALLBACK not in {"remote", "none"}:
    raise ImproperlyConfigured(f"NEWSROOM_IMAGE_FALLBACK must be remote or none: {NEWSROOM_IMAGE_FALLBACK!r}")

# Spreadsheet round trip (stories/imports/spreadsheet.py) through django-import-export. Files are
# untrusted (stories/imports/spreadsheet_files.py): bounded, and kept between preview and confirm in
# a private directory, never served, for NEWSROOM_UPLOAD_TTL_SECONDS.
IMPORT_EXPORT_USE_TRANSACTIONS = True
NEWSROOM_SPREADSHEET_MAX_BYTES = env.int("NEWSROOM_SPREADSHEET_MAX_BYTES", 10 * 1024 * 1024)
NEWSROOM_SPREADSHEET_MAX_ROWS = env.int("NEWSROOM_SPREADSHEET_MAX_ROWS", 5000)
NEWSROOM_SPREADSHEET_DIR = Path(env.str("NEWSROOM_SPREADSHEET_DIR", BASE_DIR / "var" / "spreadsheets"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "WARNING")},
}
