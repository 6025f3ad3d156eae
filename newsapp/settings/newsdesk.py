"""The newsdesk (newsdesk/, docs/newsdesk.md): its task queue, fetcher and summaries."""

from django.core.exceptions import ImproperlyConfigured

from newsapp.settings.base import INSTALLED_APPS, NEWSAPP_SITE_NAME
from newsapp.settings.environment import env

# Background work runs on Django's own tasks framework; the
# embedded default is django-tasks-db's database queue, worked by `manage.py db_worker`.
# Scale-out is configuration only: NEWSAPP_TASKS_BACKEND=rq runs the same tasks on RQ (Redis), worked
# by `manage.py rqworker --with-scheduler` (the scheduler runs tasks given a run_after); it needs
# `pip install newsapp[rq]`. The queue's Redis: NEWSAPP_TASKS_REDIS_URL, else REDIS_URL, else CACHE_URL.
NEWSAPP_TASKS_BACKEND = env.str("NEWSAPP_TASKS_BACKEND", default="database")
if NEWSAPP_TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif NEWSAPP_TASKS_BACKEND == "rq":
    _tasks_redis = env.str("NEWSAPP_TASKS_REDIS_URL", default=env.str("REDIS_URL", default=""))
    _tasks_redis = _tasks_redis or env.str("CACHE_URL", default="")
    if not _tasks_redis.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "NEWSAPP_TASKS_BACKEND=rq needs a Redis: set NEWSAPP_TASKS_REDIS_URL (or REDIS_URL) "
            "to redis://host:6379/N."
        )
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": _tasks_redis}}
    # django-tasks-rq's job class runs django.tasks Task objects (rq's own would call them as functions);
    # the worker is RQ's own with a shorter maintenance interval (newsdesk/rq_worker.py).
    RQ = {"JOB_CLASS": "django_tasks_rq.Job", "WORKER_CLASS": "newsdesk.rq_worker.Worker"}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    raise ImproperlyConfigured(
        f"NEWSAPP_TASKS_BACKEND must be 'database' or 'rq', not {NEWSAPP_TASKS_BACKEND!r}."
    )

# Several workers (docs/newsdesk.md#several-workers). Seconds a worker holds a feed it fetches (renewed
# after each item) or a candidate it summarises: a worker killed mid-task gives its work up after this.
# It must outlast the longest step between two renewals (checked below).
NEWSAPP_TASKS_LEASE = env.float("NEWSAPP_TASKS_LEASE", default=600.0)
# Seconds between two runs of the sweeper, which queues the due feeds and owed summaries nothing holds.
NEWSAPP_TASKS_SWEEP_EVERY = env.float("NEWSAPP_TASKS_SWEEP_EVERY", default=60.0)
# RQ: seconds between a worker's maintenance runs, which move a dead worker's jobs to the failed
# registry and start a scheduler when the one running died (RQ's own default: 600).
NEWSAPP_TASKS_RQ_MAINTENANCE = env.int("NEWSAPP_TASKS_RQ_MAINTENANCE", default=60)
if NEWSAPP_TASKS_SWEEP_EVERY <= 0 or NEWSAPP_TASKS_RQ_MAINTENANCE < 1:
    raise ImproperlyConfigured("NEWSAPP_TASKS_SWEEP_EVERY must be over 0, NEWSAPP_TASKS_RQ_MAINTENANCE 1+.")

# The newsdesk's fetcher (newsdesk/fetching/), the one way it reads feeds, pages and pictures.
# Private, loopback, link-local... addresses are refused so a feed URL cannot reach into our own
# network (SSRF); true only for tests and closed networks. Cloud metadata addresses stay refused.
NEWSAPP_FETCH_ALLOW_PRIVATE = env.bool("NEWSAPP_FETCH_ALLOW_PRIVATE", default=False)
# Or only these host:port pairs (as written in the URLs), e.g. make run's demo feed server 127.0.0.1:8001.
NEWSAPP_FETCH_PRIVATE_HOSTS = env.list("NEWSAPP_FETCH_PRIVATE_HOSTS", default=[])
# Outlets' admins see this in their logs: a page saying who fetches and how to reach us.
NEWSAPP_FETCH_CONTACT_URL = env.str("NEWSAPP_FETCH_CONTACT_URL", default="")
# Its first word is the name robots.txt groups match (User-agent: newsapp), so no spaces in it.
_fetch_token = "".join(c for c in NEWSAPP_SITE_NAME if c.isascii() and (c.isalnum() or c in "._-"))
_fetch_contact = f"; +{NEWSAPP_FETCH_CONTACT_URL}" if NEWSAPP_FETCH_CONTACT_URL else ""
NEWSAPP_FETCH_USER_AGENT = env.str("NEWSAPP_FETCH_USER_AGENT", default="") or (
    f"{_fetch_token or 'newsapp'}/1.0 (newsdesk{_fetch_contact})"
)
NEWSAPP_FETCH_CONNECT_TIMEOUT = env.float("NEWSAPP_FETCH_CONNECT_TIMEOUT", default=5.0)
# The whole exchange, redirects and body included: a server dripping a byte a second is cut off.
NEWSAPP_FETCH_TIMEOUT = env.float("NEWSAPP_FETCH_TIMEOUT", default=30.0)
# Largest body per purpose, counted as received and again once decompressed (gzip/brotli bombs).
NEWSAPP_FETCH_MAX_BYTES = {
    "feed": env.int("NEWSAPP_FETCH_MAX_FEED_BYTES", default=5 * 1024 * 1024),
    "page": env.int("NEWSAPP_FETCH_MAX_PAGE_BYTES", default=5 * 1024 * 1024),
    "image": env.int("NEWSAPP_FETCH_MAX_IMAGE_BYTES", default=15 * 1024 * 1024),
}
# Politeness per host:port, across a worker's threads: requests at once, and seconds between starts.
NEWSAPP_FETCH_HOST_CONCURRENCY = env.int("NEWSAPP_FETCH_HOST_CONCURRENCY", default=2)
NEWSAPP_FETCH_HOST_INTERVAL = env.float("NEWSAPP_FETCH_HOST_INTERVAL", default=0.5)
# Seconds a fetch may wait for its turn at a busy host before it gives up (Timeout).
NEWSAPP_FETCH_HOST_WAIT = env.float("NEWSAPP_FETCH_HOST_WAIT", default=120.0)
# Seconds a robots.txt is kept before it is asked for again.
NEWSAPP_FETCH_ROBOTS_TTL = env.int("NEWSAPP_FETCH_ROBOTS_TTL", default=3600)
if (
    min(NEWSAPP_FETCH_CONNECT_TIMEOUT, NEWSAPP_FETCH_TIMEOUT, *NEWSAPP_FETCH_MAX_BYTES.values()) <= 0
    or NEWSAPP_FETCH_HOST_CONCURRENCY < 1
    or min(NEWSAPP_FETCH_HOST_INTERVAL, NEWSAPP_FETCH_HOST_WAIT, NEWSAPP_FETCH_ROBOTS_TTL) < 0
):
    raise ImproperlyConfigured(
        "NEWSAPP_FETCH_*: timeouts and sizes must be above 0, the host concurrency at least 1, "
        "intervals and waits not negative."
    )

# The newsdesk's summaries (newsdesk/summaries/): extractive and offline unless a language model is
# configured. Any OpenAI-compatible chat endpoint (Ollama: http://127.0.0.1:11434/v1, vLLM, llama.cpp's
# server, a hosted API): its base URL (".../v1"; /chat/completions is added), the model's name and, if
# it asks for one, a key. Any failure falls back to the extractive summary, saying why on the summary.
NEWSAPP_LLM_BASE_URL = env.str("NEWSAPP_LLM_BASE_URL", default="").rstrip("/")
NEWSAPP_LLM_MODEL = env.str("NEWSAPP_LLM_MODEL", default="")
NEWSAPP_LLM_API_KEY = env.str("NEWSAPP_LLM_API_KEY", default="")
# Seconds the whole answer may take, and the most characters sent as the pieces (the input's bound).
NEWSAPP_LLM_TIMEOUT = env.float("NEWSAPP_LLM_TIMEOUT", default=30.0)
NEWSAPP_LLM_MAX_INPUT_CHARS = env.int("NEWSAPP_LLM_MAX_INPUT_CHARS", default=12_000)
if NEWSAPP_LLM_BASE_URL and (
    not NEWSAPP_LLM_BASE_URL.startswith(("http://", "https://")) or not NEWSAPP_LLM_MODEL
):
    raise ImproperlyConfigured(
        "NEWSAPP_LLM_BASE_URL must be an http:// or https:// address, with NEWSAPP_LLM_MODEL set."
    )
if NEWSAPP_LLM_TIMEOUT <= 0 or NEWSAPP_LLM_MAX_INPUT_CHARS < 1_000:
    raise ImproperlyConfigured("NEWSAPP_LLM_TIMEOUT must be over 0 and NEWSAPP_LLM_MAX_INPUT_CHARS 1000+.")
# Between two renewals of a feed's lease a worker reads one page: its robots.txt and the page itself,
# each after waiting its turn at the host; a summary waits for the language model at most.
_longest_step = max(
    2 * (NEWSAPP_FETCH_HOST_WAIT + NEWSAPP_FETCH_TIMEOUT), NEWSAPP_LLM_TIMEOUT if NEWSAPP_LLM_BASE_URL else 0
)
if _longest_step >= NEWSAPP_TASKS_LEASE:
    raise ImproperlyConfigured(
        f"NEWSAPP_TASKS_LEASE ({NEWSAPP_TASKS_LEASE:g} s) must be longer than a worker's longest step "
        f"({_longest_step:g} s: twice NEWSAPP_FETCH_HOST_WAIT + NEWSAPP_FETCH_TIMEOUT, and "
        "NEWSAPP_LLM_TIMEOUT), or a second worker could take a feed the first is still reading."
    )
