"""The failure drill: `make drill` (or `.venv/bin/python bench/drill.py --help`); under 3 minutes.

Against the cluster of `make cluster` (started first when it is not up, and then stopped at the end;
a cluster already up is left running, with everything the drill broke brought back): reader threads
fetch a mix of pages through the proxy while an editor process publishes and unpublishes stories
through the ORM in the cluster's environment (bench/drill_editor.py), one change every 2 s; in turn
the drill kills one app server (SIGKILL to all its processes) and starts it again, restarts the
cluster's own Redis (SIGTERM by its PID file, then started again empty by scripts/cluster/redis.sh),
and stops the replica (pg_ctl stop -m fast) and starts it again. Then it counts non-2xx answers to
readers, stale reads and lost writes (bench/drill_clients.py says how), prints them and writes them
between the drill's markers in docs/scaling.md ("Failure drill").

Exit status: 0 when the targets are met (0 / 0 / 0); 1 when not; 2 when the drill could not run.
Every process it starts is stopped at the end, and whatever it broke is brought back, also on an
error, Ctrl-C, SIGTERM or --time-limit.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import drill_report  # noqa: E402
from bench import report as doc  # noqa: E402
from bench.cluster_purge import WRITER  # noqa: E402
from bench.cluster_setup import ensure_up, stop, varnish_backends  # noqa: E402
from bench.drill_clients import GRACE, Ledger, Reader, follow_editor, judge  # noqa: E402
from bench.drill_faults import AppServerFault, RedisFault, ReplicaFault  # noqa: E402
from bench.lib import machine  # noqa: E402
from bench.lib.processes import (  # noqa: E402
    CLOCK,
    PROCESSES,
    PYTHON,
    BenchError,
    TimeLimit,
    log,
    over_time,
    run,
    stop_on_signal,
    warn,
)

VAR = ROOT / "var" / "drill"
EDITOR = ROOT / "bench" / "drill_editor.py"
# Seconds after the editor's first change: what breaks and comes back, and when the editor stops.
SCHEDULE = [(12, "kill app"), (30, "start app"), (42, "stop redis"), (46, "start redis"),
            (60, "stop replica"), (80, "start replica")]  # fmt: skip
END = 96


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=6, help="reader threads (6)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests a second per reader (20)")
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="S", help="seconds between changes (2)"
    )
    parser.add_argument("--quick", action="store_true", help="every phase half as long; docs left alone")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/scaling.md")
    parser.add_argument(
        "--time-limit",
        type=int,
        default=180,
        metavar="S",
        help="stop everything after S seconds, counted once the cluster is up (180)",
    )
    args = parser.parse_args(argv)
    if args.readers < 1 or args.rate <= 0 or args.interval < 0.5:
        parser.error("--readers at least 1, --rate above 0, --interval at least 0.5")
    args.scale = 0.5 if args.quick else 1.0
    args.no_docs = args.no_docs or args.quick
    return args


class Drill:
    """The drill's moving parts, so that main() can bring back what it broke whatever happens."""

    def __init__(self):
        self.editor: subprocess.Popen | None = None
        self.app: AppServerFault | None = None
        self.redis: RedisFault | None = None
        self.replica: ReplicaFault | None = None
        self.stop_readers = threading.Event()

    def restore(self) -> None:
        """Start again whatever is still down; stop the editor."""
        self.stop_readers.set()
        for what, still_down, bring_back in (
            ("the app server", self.app and self.app.down, lambda: self.app.start()),
            ("Redis", self.redis and self.redis.down, lambda: self.redis.start()),
            ("the replica", self.replica and self.replica.down, lambda: self.replica.start()),
        ):
            if still_down:
                try:
                    log(f"bringing back {what}")
                    bring_back()
                except Exception as exc:  # keep bringing back the others
                    warn(f"could not bring back {what}: {exc}")
        if self.editor is not None and self.editor.poll() is None:
            os.killpg(self.editor.pid, signal.SIGTERM)
            self.editor.wait(timeout=10)


def start_editor(drill: Drill, cluster, ledger: Ledger, ops: int, interval: float) -> None:
    with open(VAR / "logs" / "editor.log", "ab") as errors:
        drill.editor = subprocess.Popen(
            [PYTHON, str(EDITOR), ledger.token, str(ops), str(interval)],
            cwd=ROOT, env=cluster.process_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=errors, text=True, start_new_session=True,
        )  # fmt: skip
    line = drill.editor.stdout.readline()
    if not line:
        raise BenchError("the editor exited before making its stories: see var/drill/logs/editor.log")
    ledger.stories = {story["n"]: story for story in json.loads(line)["stories"]}
    threading.Thread(target=follow_editor, args=(ledger, drill.editor.stdout), daemon=True).start()


def watch_backends(ledger: Ledger, stop: threading.Event) -> None:
    """Note each change of a Varnish backend's health (its probe's verdict), every 0.25 s."""
    last = varnish_backends() or {}
    while not stop.wait(0.25):
        now = varnish_backends() or {}
        for name, health in now.items():
            if name in last and health != last[name]:
                ledger.note(f"Varnish's probe: {name} {health}")
        last = now or last


def lost_writes(cluster, ledger: Ledger) -> list[str]:
    """Every change the editor got an OK for (the last change of each story) is in the primary."""
    import psycopg

    with psycopg.connect(cluster.database_url("primary")) as conn:
        rows = conn.execute(
            "SELECT slug, status, published_at IS NOT NULL FROM articles_article WHERE slug LIKE %s",
            (f"drill-{ledger.token}-%",),
        ).fetchall()
    stored = {int(slug.rsplit("-", 1)[1]): (status, dated) for slug, status, dated in rows}
    last = {}
    for op in sorted(ledger.ops, key=lambda op: op.start):
        last[op.story] = op
    lost = []
    for story, op in sorted(last.items()):
        if not op.ok:
            continue  # its outcome is unknown: not counted either way
        wanted = "published" if op.action == "publish" else "draft"
        status, dated = stored.get(story, ("missing", False))
        if status != wanted or (wanted == "published" and not dated):
            lost.append(f"story {story}: {op.action} returned OK, the primary has it {status}")
    return lost


def drill_run(args, report: dict, drill: Drill) -> tuple[Ledger, object]:
    (VAR / "logs").mkdir(parents=True, exist_ok=True)
    cluster, report["started_cluster"] = ensure_up(log_path=VAR / "logs" / "cluster.log")
    signal.alarm(args.time_limit)
    state = json.loads(run([PYTHON, str(WRITER), "state"], env=cluster.process_env()).stdout.splitlines()[-1])
    ledger = Ledger(secrets.token_hex(3))
    drill.app = AppServerFault(cluster.apps[1])
    drill.redis = RedisFault(cluster)
    drill.replica = ReplicaFault(cluster)
    report["redis"] = (
        f"the cluster's own ({cluster.urls['redis']}, no persistence), restarted for real: stopped by its "
        "PID file (SIGTERM: every connection closed, cache and queue gone) and started again empty with "
        "the cluster's own command (scripts/cluster/redis.sh)"
    )
    end = END * args.scale
    ops = int(end / args.interval)
    start_editor(drill, cluster, ledger, ops, args.interval)
    report["stories"] = len(ledger.stories)
    sections = sorted({story["section"] for story in ledger.stories.values()} | {state["section"]})
    pages = {"sections": sections, "articles": state["articles"]}
    readers = [
        Reader(n, ledger, cluster.proxy, pages, args.rate, drill.stop_readers) for n in range(args.readers)
    ]
    for reader in readers:
        reader.start()
    threading.Thread(target=watch_backends, args=(ledger, drill.stop_readers), daemon=True).start()
    time.sleep(2)  # the readers fill the proxy first
    drill.editor.stdin.write("go\n")
    drill.editor.stdin.flush()
    started = report["started"] = time.monotonic()
    log(f"{args.readers} readers, {ops} changes one every {args.interval:g} s; faults at {SCHEDULE}")
    app_name = f"app server :{cluster.apps[1]}"
    for at, action in SCHEDULE:
        time.sleep(max(0.0, started + at * args.scale - time.monotonic()))
        log(f"{time.monotonic() - started:5.1f} s: {action}")
        if action == "kill app":
            ledger.event(f"{app_name} killed", at=drill.app.kill())
        elif action == "start app":
            drill.app.start()
            ledger.event(f"{app_name} starting again")
            ready = drill.app.wait_ready()
            ledger.event(f"{app_name} ready again ({ready:.1f} s)")
        elif action == "stop redis":
            stopped = drill.redis.stop()
            ledger.event(f"Redis: {stopped}", at=drill.redis.stopped_at)
        elif action == "start redis":
            ledger.event(f"Redis: {drill.redis.start()}")
        elif action == "stop replica":
            drill.replica.stop()
            ledger.event("replica stopped")
        elif action == "start replica":
            took = drill.replica.start()
            ledger.event(f"replica streaming again ({took:.1f} s)")
    if not ledger.editor_done.wait(timeout=max(10.0, started + end + 15 - time.monotonic())):
        raise BenchError("the editor did not finish its changes in time: see var/drill/logs/editor.log")
    time.sleep(GRACE + 1)  # the last change is read after its grace too
    drill.stop_readers.set()
    for reader in readers:
        reader.join(timeout=15)
    ledger.event("readers stopped")
    report["lost"] = lost_writes(cluster, ledger)
    drill.editor.stdin.write("cleanup\n")
    drill.editor.stdin.flush()
    drill.editor.wait(timeout=30)
    return ledger, judge(ledger)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("drill: run as root (it stops and starts the cluster's processes)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    signal.signal(signal.SIGALRM, over_time)
    command = doc.command(target="drill", variable="DRILL_ARGS", script="bench/drill.py", argv=argv)
    report = {"date": doc.now(), "command": command, "args": args, "load_before": machine.load_average()}
    report["started_cluster"] = False
    drill, result = Drill(), None
    try:
        result = drill_run(args, report, drill)
    except BenchError as exc:
        warn(f"drill failed: {exc}")
    except TimeLimit:
        warn(f"drill stopped: it ran longer than --time-limit {args.time_limit} s")
    except KeyboardInterrupt:
        warn("drill interrupted")
    finally:
        signal.alarm(0)
        drill.restore()
        PROCESSES.stop_all()
        if report["started_cluster"]:
            stop(log_path=VAR / "logs" / "cluster.log")
    if result is None:
        return 2
    report["load_after"] = machine.load_average()
    report["elapsed"] = CLOCK.elapsed
    markdown, met = drill_report.render(report, *result)
    print("\n" + markdown)
    if not args.no_docs:
        drill_report.write_section(markdown)
        log("wrote docs/scaling.md (Failure drill)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
