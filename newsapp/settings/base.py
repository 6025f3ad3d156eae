"""The site itself: apps, middleware, database, cache, files, security, sign-in, logging."""

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from newsapp.settings.environment import BASE_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY is not set, in the environment or in {BASE_DIR / '.env'}. Every environment "
        "needs its own secret: run `make run` (it writes a development .env) or export DJANGO_SECRET_KEY. "
        "There is no built-in fallback."
    )
# Earlier keys still accepted for signatures (sessions, share links) while a new key is rolled out.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The project's own wiring: a request's Content-Type read without a 500 (newsapp/content_type.py).
    "newsapp.apps.NewsappConfig",
    # Django's admin with the two-factor step in front of it (accounts/admin_site.py).
    "accounts.apps.NewsroomAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "reversion",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_countries",
    "articles",
    "accounts",
    # The database-backed queue of django.tasks (the embedded default; docs/newsdesk.md).
    "django_tasks_db",
    "newsdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsapp.security.RequestLimitsMiddleware",  # a body too large or a host's bad port: refused first
    "newsapp.security.ResourcePolicyMiddleware",  # outside whitenoise, so static files get it too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "newsapp.errors.ErrorPageMiddleware",  # inside the CSP middleware: its pages get the policy too
    # Before sessions and auth: a cached page is served without touching either (the security
    # headers above still wrap it).
    "articles.site.cache.pagecache.AnonymousPageCacheMiddleware",
    "newsapp.replicas.ReplicaMiddleware",  # a reader's page miss may read the replica (off without one)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: marks the session's user verified once a code was checked in it.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last: turns an answer to a locked-out attempt into 429 (accounts.throttle.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsapp.urls"
WSGI_APPLICATION = "newsapp.wsgi.application"

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
                "articles.site.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts, so that two saves of one story are serialized
    # (SQLite has no SELECT ... FOR UPDATE; the admin's edit lock relies on it) and never deadlock.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Local memory by default; a shared Redis cache in production: CACHE_URL=redis://host:6379/1
# (REDIS_URL is accepted too). django-environ maps redis:// to Django's built-in RedisCache.
CACHES = {
    "default": env.cache_url("CACHE_URL", default=env.str("REDIS_URL", default="locmemcache://newsapp"))
}
CACHES["default"].setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="newsapp"))
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Fails open (a miss, never an error) and shares one client per pool: see newsapp/redis_cache.py.
    CACHES["default"]["BACKEND"] = "newsapp.redis_cache.RedisCache"
    # A frozen or unreachable Redis costs one request this long; then the breaker skips it for
    # NEWSAPP_CACHE_COOLDOWN seconds at a time.
    _cache_timeout = env.float("NEWSAPP_CACHE_TIMEOUT", default=0.25)
    CACHES["default"].setdefault("OPTIONS", {}).update({
        "socket_timeout": _cache_timeout,
        "socket_connect_timeout": _cache_timeout,
        "cooldown": env.float("NEWSAPP_CACHE_COOLDOWN", default=5.0),
    })  # fmt: skip
# Anonymous readers' pages are kept whole in that cache for up to this long (0 turns it off);
# any content change replaces them at once.
# With the per-process local-memory cache, several workers would each keep their own copy and serve
# stale pages after an edit; so without a shared cache it is on only for the development server.
_SHARED_CACHE = "locmem" not in CACHES["default"]["BACKEND"].lower()
NEWSAPP_PAGE_CACHE_SECONDS = env.int(
    "NEWSAPP_PAGE_CACHE_SECONDS", default=600 if _SHARED_CACHE or DEBUG else 0
)
# Pieces of pages (the navigation, an article's related stories) kept per content version: safe
# whenever every worker sees the same version, so on by the same rule as the page cache.
NEWSAPP_FRAGMENT_CACHE = env.bool("NEWSAPP_FRAGMENT_CACHE", default=_SHARED_CACHE or DEBUG)
# Seconds between reads of the database's content version by each process: how soon a change made
# while the cache was unreachable, or by a process with a cache of its own, reaches every page
# (articles/content_version.py). 0 reads it on every request: the development server does, so an
# import or a shell beside it shows on the next page load.
NEWSAPP_CONTENT_VERSION_CHECK = env.float(
    "NEWSAPP_CONTENT_VERSION_CHECK", default=1.0 if _SHARED_CACHE or not DEBUG else 0.0
)
# What browsers and CDNs are told about those pages: short, with a little grace while revalidating.
NEWSAPP_PUBLIC_CACHE_CONTROL = {"public": True, "max_age": 30, "s_maxage": 60, "stale_while_revalidate": 30}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = env.str("DJANGO_STATIC_URL", default="/static/")
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env.str("DJANGO_MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
# The app serves MEDIA_ROOT itself only for development and testing (on with DEBUG); in production
# the front web server or object storage serves uploads.
NEWSAPP_SERVE_MEDIA = env.bool("NEWSAPP_SERVE_MEDIA", default=DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_MAX_AGE = 60

# Uploads: large enough for a press photo, small enough that nobody fills the disk by accident.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
NEWSAPP_MAX_UPLOAD_BYTES = env.int("NEWSAPP_MAX_UPLOAD_BYTES", default=15 * 1024 * 1024)
# Any request's body: the largest picture with the rest of its form. Larger ones get 413 before a
# byte is read (a front proxy should refuse them first: nginx's client_max_body_size).
NEWSAPP_MAX_REQUEST_BYTES = env.int(
    "NEWSAPP_MAX_REQUEST_BYTES", default=NEWSAPP_MAX_UPLOAD_BYTES + 5 * 1024 * 1024
)
NEWSAPP_MAX_IMAGE_PIXELS = env.int("NEWSAPP_MAX_IMAGE_PIXELS", default=40_000_000)
# Every size of a picture is also written as WebP, which stores at most 16,383 pixels a side.
NEWSAPP_MAX_IMAGE_SIDE = env.int("NEWSAPP_MAX_IMAGE_SIDE", default=16_383)
if not 1 <= NEWSAPP_MAX_IMAGE_SIDE <= 16_383:
    raise ImproperlyConfigured(
        f"NEWSAPP_MAX_IMAGE_SIDE is {NEWSAPP_MAX_IMAGE_SIDE}; it must be from 1 to 16383 (WebP's limit)."
    )
# Longest side over shortest: a sliver (39,000,000 x 1 pixels fits in 38 KB) costs minutes to resize.
NEWSAPP_MAX_IMAGE_ASPECT = env.float("NEWSAPP_MAX_IMAGE_ASPECT", default=10.0)
# Memory the decoded pixels of one upload may take (width x height x bands x bytes per sample): a
# 40-megapixel RGB photo needs 120 MB.
NEWSAPP_MAX_IMAGE_DECODE_BYTES = env.int("NEWSAPP_MAX_IMAGE_DECODE_BYTES", default=128_000_000)
NEWSAPP_SITE_NAME = env.str("NEWSAPP_SITE_NAME", default="newsapp")
# The note under a story whose summary was written with AI: plain text, shown as typed (escaped).
NEWSAPP_AI_NOTE = env.str("NEWSAPP_AI_NOTE", default="") or (
    "This summary was written with the help of artificial intelligence and may contain mistakes. "
    "Please check the details against the sources listed above."
)

# A strict policy: nothing is allowed unless listed (default-src 'none'), and what is listed comes from
# this site only: no inline script or style anywhere, no fonts, frames, plugins or media.
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    # data: for the small icons Django's admin stylesheets carry inline.
    "img-src": [CSP.SELF, "data:", *env.list("NEWSAPP_CSP_IMG_HOSTS", default=[])],
    "connect-src": [CSP.SELF],  # the admin's autocomplete
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Cross-Origin-Resource-Policy on every answer (newsapp.security): other sites' pages cannot load
# our pages, pictures or files into theirs. Social networks and feed readers fetch from their
# servers, which CORP does not concern.
NEWSAPP_RESOURCE_POLICY = "same-origin"

SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_FAILURE_VIEW = "newsapp.errors.csrf_failure"  # the site's 403 page, not Django's debug hint
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is an operator's decision for their domain (hard to undo), not a default we
        # can make for them; with it off, the check that nags about it is silenced on purpose.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Sign-in security (accounts/) ---------------------------------------------------------------
# Throttling (django-axes, failures kept in the database so it holds while the cache is down): this
# many failures for one account, or from one client address, within NEWSAPP_LOCKOUT_MINUTES lock it
# for that long (429 with Retry-After). Wrong passwords, wrong two-factor codes, a wrong old password
# on the password change and bad share-link tokens (per address only) all count.
NEWSAPP_LOCKOUT_FAILURES = env.int("NEWSAPP_LOCKOUT_FAILURES", default=5)
NEWSAPP_LOCKOUT_MINUTES = env.int("NEWSAPP_LOCKOUT_MINUTES", default=15)
if NEWSAPP_LOCKOUT_FAILURES < 1 or NEWSAPP_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("NEWSAPP_LOCKOUT_FAILURES and NEWSAPP_LOCKOUT_MINUTES must be at least 1.")
# Behind a proxy, the header it sets to the client's address (e.g. X-Real-IP, or X-Forwarded-For, whose
# last entry is used). Empty: REMOTE_ADDR, so a forged X-Forwarded-For cannot dodge the limit.
NEWSAPP_CLIENT_IP_HEADER = env.str("NEWSAPP_CLIENT_IP_HEADER", default="")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out account or address before the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False  # no banner on every manage.py command; failures and lockouts are still logged
AXES_FAILURE_LIMIT = NEWSAPP_LOCKOUT_FAILURES
AXES_COOLOFF_TIME = "accounts.throttle.cool_off"
AXES_LOCKOUT_PARAMETERS = "accounts.throttle.lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
# A try during a lockout is refused without being counted, so the wait it was told holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success clears nothing: otherwise signing in to one's own account would wipe the failures counted
# against the address (and so against every account tried from it).
AXES_RESET_ON_SUCCESS = False
# Never written to the attempts' logged form data.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "code", "old_password", "new_password1",
                             "new_password2"]  # fmt: skip
# Two-factor sign-in (django-otp: an authenticator app and one-time recovery codes). Any staff user may
# turn it on; with NEWSAPP_REQUIRE_2FA, Editors (and superusers) must, before the admin opens.
NEWSAPP_REQUIRE_2FA = env.bool("NEWSAPP_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = NEWSAPP_SITE_NAME  # the name the authenticator app shows
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # superusers managing devices never see their secrets

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"without_traceback": {"()": "newsapp.errors.WithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "brief": {"class": "logging.StreamHandler", "filters": ["without_traceback"]},
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # Refused requests (a host we do not serve, too many fields): a line each, no traceback.
    "loggers": {
        "django.security": {"handlers": ["brief"], "propagate": False},
        # db_worker prints these on its own output (a handler of its own): not a second time via root.
        "django.tasks": {"propagate": False},
        "django_tasks_db": {"propagate": False},
    },
}
