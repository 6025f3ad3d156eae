"""`make run`'s first step writes a development .env holding a fresh secret key: readable by its
owner only, whatever the umask, and never over an .env that exists."""

import os
import shutil
import subprocess
import sys
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
    assert not (tmp_path / ".env.tmp").exists()


def test_an_existing_env_is_left_as_it_is(tmp_path):
    (tmp_path / ".env").write_text("DJANGO_SECRET_KEY=mine\n")
    assert make_env(tmp_path).returncode == 0
    assert (tmp_path / ".env").read_text() == "DJANGO_SECRET_KEY=mine\n"
