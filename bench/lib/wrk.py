"""Measuring with Debian's `wrk` over loopback: one run's Result, and a measurement (warm-up, then a
measured run with the server's CPU time per answer and what other work used meanwhile)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
from pathlib import Path

from bench.lib.processes import (
    PROCESSES,
    BenchError,
    children_cpu_seconds,
    group_cpu_seconds,
    http_get,
    log,
    machine_cpu,
    warn,
)

# Prints one machine-readable line when a run ends (bench/search_mix.lua does too, after requests
# that take turns).
LUA = Path(__file__).resolve().parent.parent / "report.lua"


@dataclasses.dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict
    # CPU time the server's processes spent per answer: changed much less than req/s by other work
    # sharing the machine. Excludes PostgreSQL and Redis (shared services) and wrk.
    cpu_ms: float | None = None
    # Share of the machine's CPU used by anything but the server and wrk meanwhile: other work, and
    # PostgreSQL and Redis (which the uncached pages use).
    others: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def error_text(self) -> str:
        parts = [f"{self.non_2xx} non-2xx"] if self.non_2xx else []
        parts += [f"{count} socket {kind}" for kind, count in self.socket_errors.items() if count]
        return ", ".join(parts) or "0"


def wrk(
    url: str,
    seconds: int,
    args: argparse.Namespace,
    log_path: Path,
    headers: dict | None = None,
    *,
    lua: Path = LUA,
) -> Result:
    argv = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s",
        "--latency", "--timeout", "5s", "-s", str(lua),
        *(f"-H{name}: {value}" for name, value in (headers or {}).items()), url,
    ]  # fmt: skip
    log_path.write_bytes(b"")
    proc = PROCESSES.start("wrk", argv, env=os.environ.copy(), log_path=log_path)
    try:
        proc.wait(timeout=seconds + 30)
    finally:
        PROCESSES.stop(proc)
    text = log_path.read_text(errors="replace")
    line = next((line for line in text.splitlines() if line.startswith("BENCH ")), None)
    if proc.returncode or line is None:
        raise BenchError(f"wrk failed ({proc.returncode}) on {url}:\n{text}")
    data = json.loads(line.removeprefix("BENCH "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        # wrk counts answers with a status of 400 or more; 3xx cannot occur: every URL was checked to
        # answer 200 itself before the run (check_pages).
        non_2xx=data["status"],
        socket_errors={kind: data[kind] for kind in ("connect", "read", "write", "timeout")},
    )


def check_pages(port: int, pages: dict[str, str]) -> None:
    """Each page answers 200 itself (not a redirect, not an error) before it is measured."""
    for name, path in pages.items():
        status, headers, body = http_get(port, path)
        if status != 200:
            location = f" -> {headers.get('Location')}" if headers.get("Location") else ""
            raise BenchError(
                f"{name} ({path}) answered {status}{location}: {body[:300].decode(errors='replace')}"
            )


def measure(
    url: str, who: str, mode: str, page: str, args, *, pgid: int, var: Path, lua: Path = LUA
) -> Result:
    """Warm up, then one measured wrk run; log the result (loudly when any request failed).

    pgid: the server's process group, whose CPU time per answer is measured too. wrk's output goes to
    var/logs.
    """
    tag = re.sub(r"[^a-z0-9]+", "-", f"{who}-{mode}-{page}".lower()).strip("-")
    if args.warmup:
        warm = wrk(url, args.warmup, args, var / "logs" / f"wrk-{tag}-warmup.log", lua=lua)
        if warm.errors:
            warn(f"warm-up of {page} on {who} ({mode}): {warm.error_text()}")
    server_before, wrk_before = group_cpu_seconds(pgid), children_cpu_seconds()
    busy_before, total_before = machine_cpu()
    result = wrk(url, args.duration, args, var / "logs" / f"wrk-{tag}.log", lua=lua)
    busy_after, total_after = machine_cpu()
    server = group_cpu_seconds(pgid) - server_before
    wrk_cpu = children_cpu_seconds() - wrk_before
    if total_after > total_before:
        others = busy_after - busy_before - server - wrk_cpu
        result.others = max(0.0, others) / (total_after - total_before)
    if result.requests:
        result.cpu_ms = server * 1000 / result.requests
    line = (
        f"  {who:<22} {mode:<9} {page:<8} {result.rps:9.1f} req/s  "
        f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
        f"CPU {result.cpu_ms or 0:6.2f} ms/req  others {result.others or 0:4.0%}  "
        f"errors {result.error_text()}"
    )
    (warn if result.errors else log)(line)
    return result
