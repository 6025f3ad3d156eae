"""Soak: `make soak` (or `.venv/bin/python bench/soak.py --help`); a few minutes, not in CI.

On PostgreSQL (scripts/services.sh; a database of its own, `newsapp_soak`, made anew each run: the
migrations and the demo newsroom) and a Redis of its own (redis-server on a free loopback port, no
persistence, started by this script so that it can kill it without disturbing anyone), it runs two
granian app servers with production settings and no proxy in front: the clients round-robin between
them. While reader threads fetch the front page, sections, feeds and story pages, an Editor signed in
to the admin makes --ops publishes and edits through the admin's own change form (100 by default),
and the script meanwhile

- kills Redis (SIGKILL) and starts it again, empty, twice;
- kills one app server (SIGKILL to its whole process group) and starts it again;
- freezes Redis for a few seconds (SIGSTOP, then SIGCONT: it comes back with its keys), which
  probes the window the content version's database half leaves (--no-freeze leaves it out).

It counts non-2xx answers (a 503 with Retry-After apart from a 500), connections refused by the
killed server, stale reads (a page fetched after a save returned that shows the story as it was
before, or a story made live that answers 404) and lost writes (an edit whose save returned that is
not in the database, or not on the story's page, at the end). Target: 0 / 0 / 0. The results go
between the soak markers of docs/performance.md (--no-docs: printed only).

Exit status: 0 when the targets are met; 1 when not; 2 when the soak could not run. Every process it
started is stopped at the end, also on an error, Ctrl-C, SIGTERM or --time-limit.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report as doc  # noqa: E402
from bench import soak_report  # noqa: E402
from bench.lib import database, machine, services  # noqa: E402
from bench.lib.processes import (  # noqa: E402
    CLOCK,
    HOST,
    PROCESSES,
    PYTHON,
    BenchError,
    TimeLimit,
    free_port,
    log,
    over_time,
    run,
    stop_on_signal,
    warn,
)
from bench.soak_clients import Editor, Http, Ledger, Reader, stale_titles, title  # noqa: E402
from bench.soak_services import AppServer, Redis, kill_group, restart_wait  # noqa: E402

DB_NAME = "newsapp_soak"
VAR = ROOT / "var" / "soak"
# Seeded stories renamed "Soak story I, edit 0" (the newest are on the front page) and drafts the
# Editor makes live.
LIVE_STORIES, DRAFTS = 10, 12

SETUP = """
import json, secrets
from django.contrib.auth.models import Group, User
from articles.models import Article, Category
password = secrets.token_urlsafe(12)
user, _ = User.objects.get_or_create(username="soak-editor")
user.is_staff = True
user.set_password(password)
user.save()
user.groups.set([Group.objects.get(name="Editors")])
live = list(Article.objects.published().filter(featured=False).order_by("-published_at")[:{live}])
stories = []
for index, article in enumerate(live):
    article.title = f"Soak story {{index}}, edit 0"
    article.save()
    stories.append({{"index": index, "pk": article.pk, "path": article.get_absolute_url(), "live": True}})
sections = list(Category.objects.order_by("position"))
for n in range({drafts}):
    index = len(live) + n
    article = Article.objects.create(
        title=f"Soak story {{index}}, edit 0", slug=f"soak-story-{{index}}",
        category=sections[n % len(sections)], summary="Written by the soak.", status=Article.Status.DRAFT,
    )
    stories.append({{"index": index, "pk": article.pk, "path": article.get_absolute_url(), "live": False}})
print(json.dumps({{"password": password, "stories": stories, "sections": [c.slug for c in sections]}}))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=100, help="publishes and edits the Editor makes (100)")
    parser.add_argument("--interval", type=float, default=1.2, metavar="S", help="seconds between saves")
    parser.add_argument("--readers", type=int, default=4, help="reader threads (4)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests a second per reader (20)")
    parser.add_argument("--workers", type=int, default=2, help="granian workers per app server (2)")
    parser.add_argument("--threads", type=int, default=2, help="blocking threads per worker (2)")
    parser.add_argument("--no-freeze", action="store_true", help="leave out freezing Redis")
    parser.add_argument(
        "--content-version-check",
        type=float,
        metavar="S",
        help="NEWSAPP_CONTENT_VERSION_CHECK for the app servers (default: the settings' own, 1 s)",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--time-limit", type=int, default=600, metavar="S", help="stop after S seconds (600)")
    args = parser.parse_args(argv)
    if args.ops < 20 or args.interval <= 0 or args.readers < 1 or args.rate <= 0:
        parser.error("--ops at least 20; --interval, --readers and --rate above 0")
    return args


def faults(ops: int, freeze: bool) -> dict[int, str]:
    """What happens before which save: spread over the run, each outage a few saves long (and at
    least two, so that no two faults fall on one save)."""
    at: dict[int, str] = {}
    shares = [(0.15, 0.23, "redis"), (0.40, 0.46, "app-b"), (0.62, 0.70, "redis")]
    if freeze:
        shares.append((0.82, 0.85, "redis"))
    for down, up, what in shares:
        first = max(round(ops * down), max(at, default=-2) + 2)
        if what == "app-b":
            first |= 1  # an odd save goes to app-b first: it dies with that save in flight
        last = max(round(ops * up), first + 2)
        verbs = ("freeze", "thaw") if (down, what) == (0.82, "redis") else ("kill", "start")
        at |= {first: f"{verbs[0]} {what}", last: f"{verbs[1]} {what}"}
    return at


def plan(stories: list[dict], ops: int) -> list[tuple[dict, int, bool]]:
    """(story, edit number, make it live) for each save: every 8th makes a draft live, the others
    edit the live stories in turn (those made live too)."""
    live = [s for s in stories if s["live"]]
    drafts = [s for s in stories if not s["live"]]
    edits: dict[int, int] = {}
    steps = []
    for n in range(ops):
        publish = n % 8 == 4 and bool(drafts)
        story = drafts.pop(0) if publish else live[n % len(live)]
        edits[story["index"]] = edits.get(story["index"], 0) + 1
        steps.append((story, edits[story["index"]], publish))
        if publish:
            live.append(story)
    return steps


def reader_pages(stories: list[dict], sections: list[str]):
    by_index = {s["index"]: s for s in stories}

    def pick(rng, ledger: Ledger):
        draw = rng.random()
        if draw < 0.25:
            return "/", None
        if draw < 0.45:
            return f"/{rng.choice(sections)}/", None
        if draw < 0.55:
            return rng.choice(["/feed/", f"/{rng.choice(sections)}/feed/"]), None
        live = [s for s in stories if s["live"]] + [by_index[i] for i in ledger.made_live()]
        story = rng.choice(live)
        return story["path"], story["index"]

    return pick


def prepare(env: dict) -> dict:
    log(f"creating database {DB_NAME}: migrations and the demo newsroom (about a minute)")
    database.recreate(DB_NAME)
    shutil.rmtree(VAR / "media", ignore_errors=True)
    for args in (["migrate", "--noinput"], ["seed_demo"], ["collectstatic", "--noinput", "-v0"]):
        services.manage(env, *args, var=VAR)
    done = run([PYTHON, "manage.py", "shell", "-c", SETUP.format(live=LIVE_STORIES, drafts=DRAFTS)], env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def soak(args, report: dict) -> None:
    for folder in ("logs", "run", "media", "static"):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    # The shared Redis is started too, and left alone: the soak kills and freezes one of its own.
    database_url = services.start(database=DB_NAME, redis_db=0)["DATABASE_URL"]
    redis = Redis(free_port())
    redis.start()
    found = {"DATABASE_URL": database_url, "CACHE_URL": f"redis://{HOST}:{redis.port}/0"}
    # One secret key for every process: sessions work on both servers.
    env = services.app_env(found, var=VAR) | {"NEWSAPP_PAGE_CACHE_SECONDS": "600"}
    if args.content_version_check is not None:
        env["NEWSAPP_CONTENT_VERSION_CHECK"] = str(args.content_version_check)
    report["setup"] = {
        "postgres": services.psql("SHOW server_version"),
        "redis": services.redis_version(found["CACHE_URL"]),
        "check": env.get("NEWSAPP_CONTENT_VERSION_CHECK", "1 s (the default with a shared cache)"),
    }
    seeded = prepare(env)
    import redis as redis_client

    redis_client.Redis(host=HOST, port=redis.port).flushall()
    servers = [AppServer("app-a", env, args), AppServer("app-b", env, args)]
    for server in servers:
        server.start()
    for server in servers:
        server.wait()
    ports = [server.port for server in servers]
    log(f"app servers on ports {ports}, Redis on {redis.port}; signing in as soak-editor")

    ledger = Ledger(time.monotonic())
    report["ledger"] = ledger
    editor = Editor(ledger, ports)
    editor.sign_in("soak-editor", seeded["password"])
    stop = threading.Event()
    pick = reader_pages(seeded["stories"], seeded["sections"])
    readers = [Reader(n, ledger, ports, pick, args.rate, stop) for n in range(args.readers)]
    for reader in readers:
        reader.start()
    time.sleep(2)  # readers warm the caches first
    schedule = faults(args.ops, not args.no_freeze)
    steps = plan(seeded["stories"], args.ops)
    log(f"{args.ops} saves, one every {args.interval} s; faults before saves {sorted(schedule)}")
    restarting: threading.Thread | None = None
    failures: list[str] = []
    for n, (story, edit, publish) in enumerate(steps):
        began = time.monotonic()
        action = schedule.get(n)
        if action:
            if action != "kill app-b":  # that one is noted when it happens, during the save
                ledger.event(action)
            log(f"save {n}: {action}")
            if action == "kill redis":
                redis.kill()
            elif action == "start redis":
                redis.start()
            elif action == "freeze redis":
                redis.freeze(True)
            elif action == "thaw redis":
                redis.freeze(False)
            elif action == "kill app-b":
                editor.during_post = (
                    servers[1].port,
                    lambda: (ledger.event("kill app-b"), kill_group(servers[1].proc)),
                )
            elif action == "start app-b":
                if editor.during_post:
                    raise BenchError("app-b was never killed: no save was sent to it")
                servers[1].start()
                restarting = threading.Thread(target=restart_wait, args=(servers[1], failures), daemon=True)
                restarting.start()
        editor.save(n, story["index"], story["pk"], edit, publish=publish)
        time.sleep(max(0.0, began + args.interval - time.monotonic()))
    if redis.frozen:
        redis.freeze(False)
    if restarting is not None:
        restarting.join(timeout=60)
    if failures:
        raise BenchError(f"app-b did not come back: {failures[0]}")
    time.sleep(3)  # past NEWSAPP_CONTENT_VERSION_CHECK: every process has read the database's count
    stop.set()
    for reader in readers:
        reader.join(timeout=30)
    ledger.event("readers stopped")
    report["lost"] = lost_writes(ledger, seeded["stories"], ports)
    report["elapsed_soak"] = ledger.now()


def lost_writes(ledger: Ledger, stories: list[dict], ports: list[int]) -> list[str]:
    """Every edit whose save returned is in the database and on the story's page on both servers."""
    rows = services.psql(
        "SELECT id, status, title FROM articles_article WHERE title LIKE 'Soak story %'", DB_NAME
    )
    stored = {
        int(pk): (status, text) for pk, status, text in (line.split("|", 2) for line in rows.splitlines())
    }
    lost = []
    for story in stories:
        saves = ledger.saved.get(story["index"])
        if not saves:
            continue
        wanted = title(story["index"], max(saves)[0])
        status, text = stored.get(story["pk"], ("missing", ""))
        made_live = story["live"] or story["index"] in ledger.made_live()
        if text != wanted or (made_live and status != "published"):
            lost.append(f"story {story['index']}: the database has {text!r} ({status}), saved {wanted!r}")
        for port in ports:
            start = time.monotonic()
            answer, _, body = Http(port).request("GET", story["path"])
            if answer != 200 or wanted.encode() not in body or stale_titles(ledger, body, start):
                lost.append(
                    f"story {story['index']}: {story['path']} on :{port} answered {answer} without {wanted!r}"
                )
    return lost


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("soak: run as root (it starts PostgreSQL with scripts/services.sh)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    signal.signal(signal.SIGALRM, over_time)
    signal.alarm(args.time_limit)
    command = doc.command(target="soak", variable="SOAK_ARGS", script="bench/soak.py", argv=argv)
    report = {"date": datetime.date.today().isoformat(), "args": args, "command": command}
    report["load_before"] = machine.load_average()
    ok = False
    try:
        soak(args, report)
        ok = True
    except BenchError as exc:
        warn(f"soak failed: {exc}")
    except TimeLimit:
        warn(f"soak stopped: it ran longer than --time-limit {args.time_limit} s")
    except KeyboardInterrupt:
        warn("soak interrupted")
    finally:
        signal.alarm(0)
        for _, proc in list(PROCESSES.running.values()):
            os.killpg(proc.pid, signal.SIGCONT)  # a frozen Redis cannot act on SIGTERM
        PROCESSES.stop_all()
        left = PROCESSES.leftovers()
        log(f"processes left running: {left}" if left else "stopped every process the soak started")
    if not ok:
        return 2
    report["load_after"] = machine.load_average()
    report["elapsed"] = CLOCK.elapsed
    markdown, met = soak_report.render(report)
    print("\n" + markdown)
    if not args.no_docs:
        try:
            # Only between the soak's markers: no section of its own is added without them.
            doc.write_section(markdown, marker="soak", heading=None)
        except BenchError as exc:
            warn(str(exc))
            return 2
        log("wrote docs/performance.md (Soak)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
