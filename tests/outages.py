"""Dependencies a test can break on purpose: a Redis that is refused, frozen, killed or restarted
from an old snapshot, and a PostgreSQL cluster of the test's own that it stops and starts."""

import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.browser.live_app import _free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def closed_port() -> int:
    """A local port nothing listens on (connections are refused at once)."""
    return _free_port()


class FrozenServer:
    """Accepts connections and never answers: what a frozen (SIGSTOP) Redis looks like to a client."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: scripts/services.sh redis installs it (apt-get install redis-server)"
        )
    return path


class RedisServer:
    """A redis-server of the test's own on a free port, with a snapshot file it can restart from."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = _free_port()
        self.process = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                _binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder), "--dbfilename", "dump.rdb",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.05)
        pytest.fail(f"redis-server did not answer on port {self.port}")

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [_binary("redis-cli"), "-p", str(self.port), *args], capture_output=True, text=True, timeout=5
        )
        return result.stdout.strip()

    def snapshot(self) -> None:
        assert self.cli("SAVE") == "OK"

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.thaw()
            self.kill()


class PostgresCluster:
    """A PostgreSQL 15 cluster of the test's own (initdb into a temporary folder), which the test
    can stop as abruptly as a crash and start again."""

    def __init__(self):
        for tool in ("initdb", "pg_ctl", "createdb"):
            if not (PG_BIN / tool).exists():
                pytest.fail(
                    f"{PG_BIN / tool} is missing: scripts/services.sh postgres installs PostgreSQL 15"
                )
        self.folder = Path(tempfile.mkdtemp(prefix="newsapp-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )
        self.start()
        self._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "newsapp")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/newsapp"

    def _as_postgres(self, *command: str) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode:
            pytest.fail(f"{' '.join(command[:2])} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def crash(self) -> None:
        """Stop at once, dropping every connection (what a crash or a killed server looks like)."""
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            cwd="/",
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
