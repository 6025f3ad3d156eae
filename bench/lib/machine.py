"""The machine a benchmark ran on, for its report."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    return next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?"
    )


def ram() -> str:
    kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    return f"{kib / 1024 / 1024:.1f} GiB"


def kernel() -> str:
    return f"Linux {platform.release()} ({platform.machine()})"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def describe() -> dict[str, str]:
    """CPU, RAM, OS, Python, Django, nginx and wrk."""
    os_name = "?"
    with contextlib.suppress(OSError):
        os_name = re.search(r'PRETTY_NAME="?([^"\n]+)', Path("/etc/os-release").read_text())[1]

    def output(argv: list[str]) -> str:  # bench/search_load.py runs without nginx
        if not shutil.which(argv[0]):
            return ""
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (done.stdout + done.stderr).strip()

    nginx = output(["nginx", "-v"])
    wrk_version = output(["wrk", "-v"]).split()
    return {
        "CPU": f"{cpu_model()}, {os.cpu_count()} logical cores ({len(os.sched_getaffinity(0))} usable)",
        "RAM": ram(),
        "OS": f"{os_name}, {kernel()}",
        "Python": platform.python_version(),
        "Django": version("django"),
        "nginx": nginx.split("/", 1)[-1] if nginx else "?",
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "?",
    }
