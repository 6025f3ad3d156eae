"""A streaming replica of the test PostgreSQL server, made for the tests with pg_basebackup.

A second server on a free port, in a temporary folder, run as the postgres OS user (runuser; the
tests run as root, as CI does): `pg_basebackup -R` copies the primary's cluster and writes
standby.signal with the connection to stream from, so every database created on the primary later
(each test worker's test database) appears on it too. One replica serves every test worker of a run:
the first to need it makes it, the last to finish stops it (a lock file and a count in the run's
shared temporary folder), and a test that pauses or stops it has it to itself meanwhile (exclusive).
"""

import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

START_SECONDS = 120
CATCH_UP_SECONDS = 30


class StandbyError(RuntimeError):
    """The replica could not be made or started (the message says what it printed)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args, what: str, timeout: float = 600) -> None:
    # From /, which the postgres user can read, as scripts/services.sh does.
    done = subprocess.run(args, cwd="/", capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode:
        raise StandbyError(f"{what} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout}")


class Standby:
    """The replica: where it listens, and the operations the tests need on it."""

    def __init__(self, *, primary: dict, datadir: Path, port: int, bindir: Path):
        self.primary = primary  # libpq keywords: host, port, user, password
        self.datadir, self.port, self.bindir = datadir, port, bindir
        self.use_lock = datadir.with_name(datadir.name + ".lock")

    @contextmanager
    def exclusive(self):
        """For a test that pauses, stops or waits for the replica: one at a time across the run's
        workers (the replica is theirs in common; what one does to it, the others would see)."""
        with _locked(self.use_lock):
            yield self

    # --- Making and stopping it ---------------------------------------------------------------

    @classmethod
    def make(cls, primary: dict) -> "Standby":
        with psycopg.connect(**primary, dbname="postgres", autocommit=True) as conn:
            settings = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in (
                    "server_version_num", "max_connections", "max_worker_processes", "max_wal_senders",
                    "max_prepared_transactions", "max_locks_per_transaction",
                )
            }  # fmt: skip
        bindir = Path(f"/usr/lib/postgresql/{int(settings.pop('server_version_num')) // 10000}/bin")
        if not (bindir / "pg_ctl").exists():
            raise StandbyError(f"no pg_ctl in {bindir} (the PostgreSQL server package)")
        datadir = Path(tempfile.mkdtemp(prefix="newsapp-standby-"))
        shutil.chown(datadir, "postgres", "postgres")
        standby = cls(primary=primary, datadir=datadir, port=_free_port(), bindir=bindir)
        try:
            standby._copy()
            standby._configure(settings)
            standby.start()
        except BaseException:
            standby.stop(remove=True)
            raise
        return standby

    def _copy(self) -> None:
        conninfo = " ".join(f"{key}={value}" for key, value in self.primary.items())
        # -R: standby.signal and primary_conninfo (with the password given); -X stream: the WAL
        # written during the copy; -c fast: no wait for the next checkpoint; -N: a throwaway copy
        # needs no fsync.
        _run(
            "runuser", "-u", "postgres", "--", str(self.bindir / "pg_basebackup"), "-d", conninfo,
            "-D", str(self.datadir), "-R", "-X", "stream", "-c", "fast", "-N", "--no-manifest",
            what="pg_basebackup",
        )  # fmt: skip

    def _configure(self, settings: dict) -> None:
        # Debian keeps the primary's configuration outside its data folder: this one gets its own.
        # A hot standby needs these limits at least as high as its primary's.
        lines = [f"{name} = {value}" for name, value in settings.items()]
        lines += [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.datadir}'",
            "hot_standby = on",
            "shared_buffers = 32MB",
            "fsync = off",
            "logging_collector = off",
        ]
        (self.datadir / "postgresql.conf").write_text("\n".join(lines) + "\n")
        (self.datadir / "pg_hba.conf").write_text(
            "local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        for name in ("postgresql.conf", "pg_hba.conf"):
            shutil.chown(self.datadir / name, "postgres", "postgres")

    def start(self) -> None:
        _run(
            "runuser", "-u", "postgres", "--", str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
            "-l", str(self.datadir / "server.log"), "-w", "-t", str(START_SECONDS), "start",
            what="pg_ctl start", timeout=START_SECONDS + 10,
        )  # fmt: skip

    def stop(self, *, remove: bool = False) -> None:
        if (self.datadir / "postmaster.pid").exists():
            _run(
                "runuser", "-u", "postgres", "--", str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                "-m", "fast", "-w", "stop", what="pg_ctl stop",
            )  # fmt: skip
        if remove:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.use_lock.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.datadir / "server.log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    # --- What the tests do with it ------------------------------------------------------------

    def connect(self, dbname: str = "postgres", **options) -> psycopg.Connection:
        return psycopg.connect(
            **self.primary | {"host": "127.0.0.1", "port": self.port},
            dbname=dbname,
            autocommit=True,
            **options,
        )

    def execute(self, sql: str, params=(), *, dbname: str = "postgres"):
        with self.connect(dbname) as conn:
            return conn.execute(sql, params).fetchall()

    def pause(self) -> None:
        self.execute("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.execute("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout: float = CATCH_UP_SECONDS) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(**self.primary, dbname="postgres", autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            replayed = self.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[0][0]
            if replayed:
                return
            if time.monotonic() > deadline:
                raise StandbyError(f"the replica did not replay up to {target} in {timeout} s")
            time.sleep(0.02)


@contextmanager
def _locked(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SharedStandby:
    """One Standby for all of a run's workers; `root`: the folder they share."""

    def __init__(self, root: Path, primary: dict):
        self.lock, self.state, self.primary = root / "standby.lock", root / "standby.json", primary

    def _read(self) -> dict | None:
        return json.loads(self.state.read_text()) if self.state.exists() else None

    def acquire(self) -> Standby:
        with _locked(self.lock):
            state = self._read()
            if state is None:
                standby = Standby.make(self.primary)
                state = {"datadir": str(standby.datadir), "port": standby.port, "bindir": str(standby.bindir)}
                state["users"] = 0
            else:
                standby = Standby(
                    primary=self.primary, datadir=Path(state["datadir"]), port=state["port"],
                    bindir=Path(state["bindir"]),
                )  # fmt: skip
            state["users"] += 1
            self.state.write_text(json.dumps(state))
        return standby

    def release(self, standby: Standby) -> None:
        with _locked(self.lock):
            state = self._read()
            state["users"] -= 1
            if state["users"] > 0:
                self.state.write_text(json.dumps(state))
                return
            os.unlink(self.state)
            standby.stop(remove=True)
