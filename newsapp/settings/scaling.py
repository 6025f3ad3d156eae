"""Beyond one server (docs/scaling.md): a caching proxy purged by surrogate keys, a read replica,
media on object storage. Every part is off unless configured; one server needs none of it."""

from django.core.exceptions import ImproperlyConfigured

from newsapp.settings.base import DATABASES
from newsapp.settings.environment import env

# --- The caching proxy in front (Varnish: scripts/cluster/varnish.vcl) ----------------------------
# Where to send purges: each proxy's address (http://127.0.0.1:6081/). Every content change purges
# the surrogate keys of the pages it touches on each of them, after its commit, from whichever
# process made it (articles/site/cache/proxy.py). Empty: no proxy to purge.
NEWSAPP_PROXY_PURGE_URLS = env.list("NEWSAPP_PROXY_PURGE_URLS", default=[])
# Seconds a purge may take per proxy before it is given up (and logged).
NEWSAPP_PROXY_PURGE_TIMEOUT = env.float("NEWSAPP_PROXY_PURGE_TIMEOUT", default=1.0)
# The same keys are purged once more this many seconds later: a page rendered from the old content
# by a request that was already running when the change committed may have reached the proxy after
# the first purge.
NEWSAPP_PROXY_REPURGE_SECONDS = env.float("NEWSAPP_PROXY_REPURGE_SECONDS", default=2.0)
if not NEWSAPP_PROXY_PURGE_TIMEOUT > 0 or NEWSAPP_PROXY_REPURGE_SECONDS < 0:
    raise ImproperlyConfigured(
        "NEWSAPP_PROXY_PURGE_TIMEOUT must be above 0 and NEWSAPP_PROXY_REPURGE_SECONDS not negative."
    )

# --- A read replica (newsapp/replicas.py) ----------------------------------------------------------
# A streaming replica of DATABASE_URL. Anonymous readers' requests read from it; the admin, the
# newsdesk, tasks, commands and a session that has just written read from the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
# A replica further behind than this many seconds is skipped (reads go to the primary).
NEWSAPP_REPLICA_MAX_LAG = env.float("NEWSAPP_REPLICA_MAX_LAG", default=5.0)
# After a write (any POST, PUT, PATCH or DELETE), the same browser reads from the primary this long.
NEWSAPP_REPLICA_PIN_SECONDS = env.int("NEWSAPP_REPLICA_PIN_SECONDS", default=30)
# Seconds between each process's checks of the replica's health and lag.
NEWSAPP_REPLICA_CHECK_SECONDS = env.float("NEWSAPP_REPLICA_CHECK_SECONDS", default=1.0)
if NEWSAPP_REPLICA_MAX_LAG <= 0 or NEWSAPP_REPLICA_PIN_SECONDS < 1 or NEWSAPP_REPLICA_CHECK_SECONDS < 0:
    raise ImproperlyConfigured(
        "NEWSAPP_REPLICA_MAX_LAG must be above 0, NEWSAPP_REPLICA_PIN_SECONDS at least 1 and "
        "NEWSAPP_REPLICA_CHECK_SECONDS not negative."
    )
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    if (
        DATABASES["replica"]["ENGINE"] != DATABASES["default"]["ENGINE"]
        or "postgresql" not in (DATABASES["default"]["ENGINE"])
    ):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs PostgreSQL, as DATABASE_URL does.")
    for _option in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        DATABASES["replica"][_option] = DATABASES["default"][_option]
    # A dead replica host costs a reader's request at most this long before it is read from the
    # primary (libpq's least is 2 s; ?connect_timeout=N in the URL wins).
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Tests run against the primary's test database through this alias (Django's MIRROR).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["newsapp.replicas.ReplicaRouter"]

# --- Media on object storage (newsapp/media_storage.py) --------------------------------------------
# Uploads, their renditions and outlets' logos: local files under MEDIA_ROOT by default; in a bucket
# with s3://BUCKET?endpoint_url=...&region_name=...&custom_domain=... (django-storages, the S3 API;
# credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY as boto3 reads them).
NEWSAPP_MEDIA_STORAGE = env.str("NEWSAPP_MEDIA_STORAGE", default="")
if NEWSAPP_MEDIA_STORAGE:
    from newsapp.media_storage import media_bucket
    from newsapp.settings.base import SECURE_CSP, STORAGES

    _bucket = media_bucket(NEWSAPP_MEDIA_STORAGE)
    STORAGES = {**STORAGES, "default": _bucket.storage}
    # Pictures load from the bucket's address (or its custom_domain): the policy lets them.
    SECURE_CSP = {**SECURE_CSP, "img-src": [*SECURE_CSP["img-src"], *_bucket.origins]}
