"""Can anyone switch the page cache off? `make bench-cookie` (issue 10, point 6).

The cached front page under wrk, as a reader sends it (no cookie), with a made-up session cookie
(`sessionid=x`: before issue 10 this skipped the cache, 2,336 -> 148 req/s), and with a made-up
session cookie and a forged companion. On the benchmark's database and services (bench/run.py:
PostgreSQL, Redis, production settings, granian 2 workers x 4 threads). Target: every made-up
variant within 30% of the plain rate. Prints the figures; `docs/performance.md` keeps the last run's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run as bench  # noqa: E402  (its database, Redis database and folder)
from bench.lib import services  # noqa: E402
from bench.lib.processes import PROCESSES  # noqa: E402
from bench.lib.servers import RunningServer, Server  # noqa: E402
from bench.lib.wrk import check_pages, wrk  # noqa: E402

VARIANTS = {
    "no cookie": {},
    "sessionid=x": {"Cookie": "sessionid=x"},
    "sessionid + forged signedin": {"Cookie": "sessionid=0123456789abcdefghijklmnopqrstuv; signedin=a:b:c"},
}
TARGET = 0.70


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    for folder in ("logs", "run"):
        bench.VAR.joinpath(folder).mkdir(parents=True, exist_ok=True)
    services.ensure_tools("wrk", "nginx", var=bench.VAR)
    found = bench.start_services()
    env = services.app_env(found, var=bench.VAR)
    bench.prepare_database(env, args)
    services.manage(env, "collectstatic", "--noinput", "-v0", var=bench.VAR)
    services.flush_redis(found["CACHE_URL"])
    results = {}
    logs = bench.VAR / "logs"
    try:
        granian = Server.parse("granian:2x4")
        with RunningServer(granian, env, cache_seconds=600, var=bench.VAR) as server:
            server.wait()
            check_pages(server.port, {"home": "/"})
            for name, headers in VARIANTS.items():
                wrk(server.url("/"), 2, args, logs / "wrk-cookie-warmup.log", headers)
                result = wrk(server.url("/"), args.duration, args, logs / "wrk-cookie.log", headers)
                results[name] = result
                print(
                    f"{name:<30} {result.rps:9,.0f} req/s  p99 {result.p99_ms:6.2f} ms  "
                    f"errors {result.error_text()}"
                )
    finally:
        PROCESSES.stop_all()
    plain = results["no cookie"].rps
    worst = min(result.rps for result in results.values()) / plain
    print(f"slowest variant: {worst:.0%} of the plain rate (target >= {TARGET:.0%})")
    return 0 if worst >= TARGET and not any(r.errors for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
