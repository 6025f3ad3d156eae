"""The cluster of `make cluster` as bench/cluster.py and bench/drill.py see it: its addresses
(var/cluster/urls.json), the settings that point manage.py at it (var/cluster/env) and its processes
(var/cluster/pids/). When it is not up, `make cluster` starts it, and `make cluster-stop` stops it
afterwards: only a cluster this run started is stopped."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import time
import urllib.parse
from pathlib import Path

from bench.lib.processes import ROOT, BenchError, _proc_stats, http_get, log, run

CLUSTER = ROOT / "var" / "cluster"
URLS, ENV, PIDS = CLUSTER / "urls.json", CLUSTER / "env", CLUSTER / "pids"


def read_env(path: Path) -> dict[str, str]:
    """KEY=value lines (blank lines, `#` comments and `export ` allowed; values may be shell-quoted)."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.isidentifier():
            raise BenchError(f"{path}:{number}: not a KEY=value line: {line!r}")
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise BenchError(f"{path}:{number}: {exc}") from exc
        values[key] = " ".join(words)
    return values


def port_of(url: str) -> int:
    parts = urllib.parse.urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


class Cluster:
    """The running cluster's addresses and settings, read from the files `make cluster` wrote."""

    def __init__(self, urls: dict, env: dict[str, str]):
        missing = [key for key in ("proxy", "apps") if key not in urls]
        if missing or len(urls.get("apps", ())) < 2:
            raise BenchError(f"{URLS} lacks {missing or 'two apps'}: {urls}")
        self.urls, self.env = urls, env
        self.proxy = port_of(urls["proxy"])
        self.apps = [port_of(url) for url in urls["apps"]]
        purge = urls.get("purge") or env.get("NEWSAPP_PROXY_PURGE_URLS", "").split(",")
        self.purge = port_of((purge if isinstance(purge, list) else [purge])[0] or urls["proxy"])

    @classmethod
    def load(cls) -> Cluster | None:
        if not URLS.exists() or not ENV.exists():
            return None
        return cls(json.loads(URLS.read_text()), read_env(ENV))

    def answering(self) -> bool:
        """The proxy and both app servers answer their health check."""
        for port in (self.proxy, *self.apps):
            try:
                if http_get(port, "/healthz/live", timeout=3)[0] != 200:
                    return False
            except OSError:
                return False
        return True

    def processes(self) -> tuple:
        """What serves the proxy's and the app servers' ports, and the env file's text: a change means
        the cluster was restarted or reconfigured meanwhile (by someone else's `make cluster`)."""
        return (tuple(listener(port) for port in (self.proxy, *self.apps)), ENV.read_text())

    def check_unchanged(self, before: tuple, what: str) -> None:
        if self.processes() != before:
            raise BenchError(
                f"the cluster was restarted or reconfigured during {what} (another `make cluster`?): "
                "its figures would mix two clusters; run again when it is left alone"
            )

    def database_url(self, kind: str) -> str:
        """The primary's or the replica's own URL (never PgBouncer's), with the credentials of the
        env's DATABASE_URL (urls.json names the servers without them)."""
        found = urllib.parse.urlsplit(self.env.get("DATABASE_URL", ""))
        server = self.urls.get(kind) or self.env.get("DATABASE_REPLICA_URL" if kind == "replica" else "")
        target = urllib.parse.urlsplit(server or "")
        if not found.password or not target.hostname:
            raise BenchError(f"no {kind} server in {URLS}, or no password in {ENV}'s DATABASE_URL")
        netloc = f"{found.username}:{found.password}@{target.hostname}:{target.port or 5432}"
        return urllib.parse.urlunsplit(("postgresql", netloc, target.path, "", ""))

    def process_env(self, **extra: str) -> dict[str, str]:
        """This process's environment without settings of its own, plus the cluster's: what
        `set -a; . var/cluster/env; python manage.py ...` runs with."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "NEWSAPP_", "GRANIAN_", "CLUSTER_", "DATABASE_"))
            and key not in ("CACHE_URL", "CACHE_KEY_PREFIX", "REDIS_URL")
        }
        return inherited | {"DJANGO_SETTINGS_MODULE": "newsapp.settings"} | self.env | extra


def ensure_up(*, log_path: Path, timeout: float = 600) -> tuple[Cluster, bool]:
    """The cluster, and whether this call started it (`make cluster`, when it was not answering)."""
    cluster = Cluster.load()
    if cluster is not None and cluster.answering():
        log(f"the cluster is up: proxy {cluster.urls['proxy']}, apps {', '.join(cluster.urls['apps'])}")
        return cluster, False
    if not (ROOT / "scripts" / "cluster" / "start.sh").exists():
        raise BenchError("scripts/cluster/start.sh does not exist yet: no `make cluster` to start")
    log(f"starting the cluster: make cluster (its output in {log_path.relative_to(ROOT)})")
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    with open(log_path, "ab") as output:
        done = subprocess.run(
            ["make", "cluster"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=timeout
        )
    cluster = Cluster.load()
    if done.returncode or cluster is None or not cluster.answering():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        stop(log_path=log_path)
        raise BenchError(f"make cluster failed ({done.returncode}) or the cluster does not answer:\n{tail}")
    return cluster, True


def stop(*, log_path: Path) -> None:
    log("stopping the cluster this run started: make cluster-stop")
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    try:
        run(["make", "cluster-stop"], env=env, log_path=log_path)
    except BenchError as exc:
        log(f"!!! make cluster-stop failed: {exc}")


# --------------------------------------------------------------------------------------------------
# Processes


def pid_files() -> dict[str, Path]:
    return {path.stem: path for path in sorted(PIDS.glob("*.pid"))}


def read_pid(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        pid = int(path.read_text().split()[0])
        if Path(f"/proc/{pid}").exists():
            return pid
    return None


def pid_file(*words: str) -> Path:
    """The one pid file whose name holds every word (e.g. "varnish"; "app", "b")."""
    found = [path for name, path in pid_files().items() if all(word in name for word in words)]
    if len(found) != 1:
        raise BenchError(f"{PIDS}: {len(found)} pid files named with {words}: {sorted(pid_files())}")
    return found[0]


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it (children, their children...)."""
    children: dict[int, list[int]] = {}
    for child, fields in _proc_stats():
        children.setdefault(int(fields[1]), []).append(child)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) used so far by these processes and every process under them."""
    wanted = {member for pid in pids for member in descendants(pid)}
    ticks = sum(int(fields[11]) + int(fields[12]) for pid, fields in _proc_stats() if pid in wanted)
    return ticks / os.sysconf("SC_CLK_TCK")


def listener(port: int) -> int | None:
    """The process listening on TCP `port` (IPv4 or IPv6): of those holding the socket (a server's
    workers inherit it), the one none of the others started."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    holders = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                holders.add(int(fd_dir.parent.name))
    parents = {pid: int(fields[1]) for pid, fields in _proc_stats() if pid in holders}
    roots = sorted(pid for pid, parent in parents.items() if parent not in holders)
    above = {parents[pid] for pid in roots}
    if len(roots) > 1 and len(above) == 1 and 1 not in above:
        return above.pop()  # workers holding a socket their parent handed them (granian)
    return roots[0] if roots else None


def argv_of(pid: int) -> list[str]:
    return [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]


def option(argv: list[str], name: str, default: str | None = None) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in a command line."""
    for index, word in enumerate(argv):
        if word == name and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith(f"{name}="):
            return word.split("=", 1)[1]
    return default


def varnish_name() -> list[str]:
    """varnishstat's / varnishadm's `-n` for the cluster's varnishd (none: the default instance)."""
    with contextlib.suppress(BenchError):
        pid = read_pid(pid_file("varnish"))
        if pid is not None:
            name = option(argv_of(pid), "-n")
            return ["-n", name] if name else []
    return []


def varnish_backends() -> dict[str, str] | None:
    """Health of each of the cluster's Varnish backends ({"app1": "healthy", ...}), from
    `varnishadm backend.list` on its admin port (-T) with its secret, or None when unreadable."""
    with contextlib.suppress(BenchError, OSError, subprocess.SubprocessError):
        pid = read_pid(pid_file("varnish"))
        argv = argv_of(pid) if pid else []
        admin, name = option(argv, "-T"), option(argv, "-n")
        if admin and name:
            done = subprocess.run(
                ["varnishadm", "-T", admin, "-S", f"{name}/_.secret", "backend.list"],
                capture_output=True, text=True, timeout=5, check=True,
            )  # fmt: skip
            rows = [line.split() for line in done.stdout.splitlines()[1:] if line.strip()]
            return {row[0].rsplit(".", 1)[-1]: row[3] for row in rows if len(row) >= 4}
    return None


def varnish_counters(*names: str) -> dict[str, int] | None:
    """MAIN counters of the cluster's Varnish (varnishstat -j), or None when they cannot be read."""
    argv = ["varnishstat", *varnish_name(), "-1", "-j", *(arg for name in names for arg in ("-f", name))]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=True)
        data = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    counters = data.get("counters", data)  # varnishstat 6.5+ nests them under "counters"
    return {name: int(counters[name]["value"]) for name in names if name in counters}


def wait_for(check, *, seconds: float, what: str, step: float = 0.1) -> float:
    """Call `check` until it returns true; how long that took. BenchError after `seconds`."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - started
        if time.monotonic() - started > seconds:
            raise BenchError(f"{what}: not within {seconds:.0f} s")
        time.sleep(step)
