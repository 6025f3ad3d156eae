"""Processes the benchmarks start, each in a process group of its own so that all of it can be
stopped (also on an error, Ctrl-C, SIGTERM or a time limit); commands run to completion; the log
lines every benchmark prints; CPU time read from /proc."""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
HOST = "127.0.0.1"


class BenchError(Exception):
    """The benchmark cannot go on (the message says why)."""


class TimeLimit(BaseException):  # a BaseException: no `except Exception` on the way swallows it
    """The run took longer than --time-limit."""


def stop_on_signal(signum, frame):
    raise SystemExit(f"bench: stopped by signal {signal.Signals(signum).name}")


def over_time(signum, frame):
    raise TimeLimit


# --------------------------------------------------------------------------------------------------
# Output


class Clock:
    def __init__(self):
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def log(self, message: str) -> None:
        print(f"[{self.elapsed:6.1f}s] {message}", flush=True)


CLOCK = Clock()
log = CLOCK.log


def warn(message: str) -> None:
    print(f"[{CLOCK.elapsed:6.1f}s] !!! {message}", flush=True)


# --------------------------------------------------------------------------------------------------
# CPU time


def _proc_stats():
    """(pid, fields after the command name) of every process, from /proc/PID/stat."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        yield int(stat.parent.name), text[text.rindex(")") + 2 :].split()


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    return [pid for pid, fields in _proc_stats() if int(fields[2]) == pgid and fields[0] != "Z"]


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores together, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    total = sum(ticks[:8])  # guest time is already counted in user
    hz = os.sysconf("SC_CLK_TCK")
    return (total - idle) / hz, total / hz


def children_cpu_seconds() -> float:
    """CPU time of this script's finished (waited-for) children, such as a wrk run."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the processes of a process group."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _proc_stats() if int(fields[2]) == pgid)
    return ticks / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------------
# Processes


class Processes:
    """Every process this script starts, each in a process group of its own, so all of it can be stopped."""

    def __init__(self):
        self.running: dict[int, tuple[str, subprocess.Popen]] = {}
        self.groups: set[int] = set()

    def start(self, name: str, argv: list[str], *, env: dict, log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as output:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[proc.pid] = (name, proc)
        self.groups.add(proc.pid)
        return proc

    def stop(self, proc: subprocess.Popen, *, grace: float = 10.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after `grace` seconds."""
        name, _ = self.running.pop(proc.pid, ("?", proc))
        pgid = proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if proc.returncode is not None and not _group_members(pgid):
                return
            time.sleep(0.05)
        warn(f"{name} (process group {pgid}) did not stop within {grace:.0f} s of SIGTERM: SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for _, proc in list(self.running.values()):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                warn(f"could not stop process {proc.pid}: {exc}")

    def leftovers(self) -> list[int]:
        """Processes still alive from any group this script started (should be none)."""
        return [pid for pgid in sorted(self.groups) for pid in _group_members(pgid)]


PROCESSES = Processes()


def run(argv: list[str], *, env: dict | None = None, cwd: Path | str = ROOT, log_path: Path | None = None):
    """Run a command to completion (output to log_path when given); raise BenchError when it fails."""
    if log_path:
        with open(log_path, "ab") as output:
            output.write(f"\n$ {' '.join(argv)}\n".encode())
            output.flush()
            result = subprocess.run(
                argv, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
            raise BenchError(f"`{' '.join(argv)}` failed ({result.returncode}); end of {log_path}:\n{tail}")
        return result
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        raise BenchError(f"`{' '.join(argv)}` failed ({result.returncode}):\n{result.stderr.strip()}")
    return result


# --------------------------------------------------------------------------------------------------
# Loopback


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """One GET to 127.0.0.1:port, redirects not followed."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
