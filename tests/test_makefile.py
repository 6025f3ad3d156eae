"""`make run`'s first step writes a development .env holding a fresh secret key: readable by its
owner only, whatever the umask, and never over an .env that exists. `make run` starts a task worker
beside the server and stops it with the server."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_env(folder: Path) -> subprocess.CompletedProcess:
    """`make .env` in a copy of the project's Makefile and .env.example, with this virtualenv (taken
    as installed: -o its stamp) and the usual umask 022."""
    for name in ("Makefile", ".env.example"):
        shutil.copy(ROOT / name, folder / name)
    venv = Path(sys.prefix)
    return subprocess.run(
        ["make", f"VENV={venv}", "-o", str(venv / ".installed"), ".env"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )


def test_the_development_env_is_readable_by_its_owner_only(tmp_path):
    done = make_env(tmp_path)
    assert done.returncode == 0, done.stderr
    env = tmp_path / ".env"
    assert oct(env.stat().st_mode & 0o777) == oct(0o600)
    secret = next(line for line in env.read_text().splitlines() if line.startswith("DJANGO_SECRET_KEY="))
    assert len(secret.removeprefix("DJANGO_SECRET_KEY=")) >= 50
    # make run serves the demo outlets' feeds on loopback, which the fetcher refuses by default.
    assert "\nNEWSAPP_FETCH_PRIVATE_HOSTS=127.0.0.1:8001\n" in env.read_text()
    assert not (tmp_path / ".env.tmp").exists()


def test_an_existing_env_is_left_as_it_is(tmp_path):
    (tmp_path / ".env").write_text("DJANGO_SECRET_KEY=mine\n")
    assert make_env(tmp_path).returncode == 0
    assert (tmp_path / ".env").read_text() == "DJANGO_SECRET_KEY=mine\n"


# --- make run: a task worker beside the server, stopped with it --------------------------------------

FAKE_MANAGE = """
import os, pathlib, signal, sys, time
log = pathlib.Path(os.environ["FAKE_LOG"])
def note(text):
    with log.open("a") as fh:
        fh.write(text + "\\n")
command = sys.argv[1]
note(f"{os.getpid()} {os.getpgid(0)} start {' '.join(sys.argv[1:])}")
if command == "runserver" and os.environ.get("FAKE_SERVER_FAILS"):
    # As when the address is in use, once the worker and the demo feeds are up (else the trap may
    # stop them before they wrote that they started, and the test could not see them stopped).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(
        f"start {name}" in log.read_text() for name in ("db_worker", "serve_demo_feeds")
    ):
        time.sleep(0.02)
    sys.exit(3)
if command in ("db_worker", "runserver", "serve_demo_feeds"):
    def stop(signum, frame):
        note(f"{os.getpid()} {command} stopped by {signal.Signals(signum).name}")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        time.sleep(0.05)
"""


def start_make_run(folder: Path, **env) -> tuple[subprocess.Popen, Path]:
    """`make run` in a copy of the Makefile, each manage.py command a stand-in that logs its start
    (pid, process group, arguments) and how it was stopped; make in a session of its own."""
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    (folder / "fake_manage.py").write_text(FAKE_MANAGE)
    log = folder / "log"
    venv = Path(sys.prefix)
    process = subprocess.Popen(
        ["make", f"VENV={venv}", "-o", "setup", f"MANAGE={sys.executable} fake_manage.py", "run"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "FAKE_LOG": str(log), **env},
        start_new_session=True,
    )
    return process, log


def started(log: Path, timeout=20.0) -> dict[str, tuple[int, int]]:
    """command -> (pid, process group), once the server and the worker have both started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        found = {line.split()[3]: tuple(map(int, line.split()[:2])) for line in lines if " start " in line}
        if {"runserver", "db_worker", "serve_demo_feeds"} <= set(found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"the server, the worker and the demo feeds did not all start: {log.read_text()}")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_make_run_starts_a_worker_and_the_demo_feeds_beside_the_server_and_ctrl_c_stops_all(tmp_path):
    process, log = start_make_run(tmp_path)
    try:
        found = started(log)
        starts = [line.split()[3] for line in log.read_text().splitlines() if " start " in line]
        # The sweeper is queued before the worker starts, and the worker runs in a group of its own
        # (so Ctrl-C reaches the server only; the trap stops the worker).
        assert starts.index("feeds") < starts.index("db_worker")
        # The demo outlets (with their feeds) are added before anything fetches.
        assert starts.index("seed_newsdesk_demo") < starts.index("feeds")
        worker_pid, worker_group = found["db_worker"]
        assert worker_group == worker_pid != found["runserver"][1]
        feeds_pid, feeds_group = found["serve_demo_feeds"]
        assert feeds_group == feeds_pid != found["runserver"][1]
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal: make's whole group
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = log.read_text()
    assert f"{worker_pid} db_worker stopped by SIGTERM" in text
    assert f"{feeds_pid} serve_demo_feeds stopped by SIGTERM" in text
    assert "runserver stopped by SIGINT" in text
    assert gone(worker_pid)
    assert gone(feeds_pid)
    assert "Task worker started beside the server (manage.py db_worker" in output
    assert "Task worker and demo feeds stopped." in output


def test_the_worker_stops_when_the_server_cannot_start(tmp_path):
    process, log = start_make_run(tmp_path, FAKE_SERVER_FAILS="1")
    try:
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    worker_pid = next(
        int(line.split()[0]) for line in log.read_text().splitlines() if "start db_worker" in line
    )
    feeds_pid = next(
        int(line.split()[0]) for line in log.read_text().splitlines() if "start serve_demo_feeds" in line
    )
    assert f"{worker_pid} db_worker stopped by SIGTERM" in log.read_text()
    assert f"{feeds_pid} serve_demo_feeds stopped by SIGTERM" in log.read_text()
    assert gone(worker_pid)
    assert gone(feeds_pid)
    assert "Task worker and demo feeds stopped." in output
