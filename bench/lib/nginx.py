"""nginx (Debian's package) serving a saved page on loopback: the physical limit of the machine."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench.lib.processes import HOST, PROCESSES, BenchError, free_port, http_get

NGINX_CONF = """\
# Written by bench/lib/nginx.py: serves a saved copy of the home page on loopback, nothing else.
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    default_type text/html;
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {{
        listen {host}:{port};
        root {dir}/html;
        location = / {{ try_files /home.html =404; }}
    }}
}}
"""


class Nginx:
    """nginx on loopback serving `html` at /, with a config, pid file, logs and temp paths of its own
    in var/nginx."""

    NAME = "nginx (saved home page)"

    def __init__(self, html: bytes, *, workers: int, var: Path):
        self.var = var
        self.folder = var / "nginx"
        shutil.rmtree(self.folder, ignore_errors=True)
        (self.folder / "html").mkdir(parents=True)
        (self.folder / "tmp").mkdir()
        (self.folder / "html" / "home.html").write_bytes(html)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.conf = self.folder / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(workers=workers, dir=self.folder, host=HOST, port=self.port))
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        argv = ["nginx", "-e", str(self.folder / "error.log"), "-p", str(self.folder), "-c", str(self.conf)]
        log_path = self.var / "logs" / "nginx.log"
        self.proc = PROCESSES.start("nginx", argv, env=os.environ.copy(), log_path=log_path)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                errors = (self.folder / "error.log").read_text(errors="replace")[-2000:]
                raise BenchError(f"nginx exited ({self.proc.returncode}): {errors}")
            with contextlib.suppress(OSError):
                if http_get(self.port, "/")[0] == 200:
                    return self
            if time.monotonic() > deadline:
                raise BenchError("nginx did not answer within 15 s")
            time.sleep(0.1)

    def __exit__(self, *exc_info):
        if self.proc:
            PROCESSES.stop(self.proc)
