"""Back up the database and the uploads into one new folder: `python manage.py backup DEST`.

What DEST holds (docs/operations.md says how to restore each):

- the database: `db.sqlite3`, made with SQLite's online backup API (a consistent copy even while the
  site writes, which `cp` of a live file is not), or `database.dump`, made by PostgreSQL's
  `pg_dump --format=custom` (restored with pg_restore);
- `media.tar`: every file under MEDIA_ROOT (pictures are compressed already, so no gzip);
- `media.sha256`: each upload's checksum, to check a restored folder with `sha256sum -c`;
- `SHA256SUMS`: the checksums of the files above, to check a copy kept elsewhere.

The folder is readable by its owner only (0700, its files 0600), whatever the umask: it holds
password hashes, two-factor secrets, sessions and every draft.

The database is copied first and the uploads after it: an upload is never changed or removed once
written, so every file the copied database names is in the archive (one added meanwhile is harmless).
Everything is written to DEST.partial and renamed when complete, so a DEST that exists is whole.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

CHUNK = 1024 * 1024
FOLDER_MODE, FILE_MODE = 0o700, 0o600


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def media_files(root: Path) -> list[Path]:
    """Every regular file under `root`, by path (symbolic links are not uploads: left out)."""
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def copy_sqlite(target: Path) -> None:
    """The database as one consistent file, through the connection Django already has (so an
    in-memory test database works too)."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
    if verdict != "ok":
        raise CommandError(f"The copy of the database failed SQLite's integrity check: {verdict}")


def dump_postgresql(target: Path, pg_dump: str) -> None:
    """`pg_dump --format=custom` with the site's own connection settings (password in the
    environment, never on the command line), then `pg_restore --list` to prove the file reads back."""
    executable = shutil.which(pg_dump)
    if executable is None:
        raise CommandError(
            f"{pg_dump} was not found. Install PostgreSQL's client tools (Debian: postgresql-client, "
            "the server's version or newer) or name the program with --pg-dump."
        )
    args, env = connection.client.settings_to_cmd_args_env(
        connection.settings_dict, ["--format=custom", "--no-password", f"--file={target}"]
    )
    _run([executable, *args[1:]], env or {})
    pg_restore = Path(executable).with_name("pg_restore")
    _run([str(pg_restore) if pg_restore.exists() else "pg_restore", "--list", str(target)], {})


def _run(argv: list[str], env: dict) -> None:
    try:
        done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True)
    except OSError as exc:
        raise CommandError(f"Could not run {argv[0]}: {exc}") from exc
    if done.returncode:
        raise CommandError(f"{Path(argv[0]).name} failed (exit {done.returncode}): {done.stderr.strip()}")


def archive_media(root: Path, folder: Path) -> tuple[int, int]:
    """media.tar and media.sha256 of every upload; returns (files, bytes)."""
    files = media_files(root)
    lines, size = [], 0
    with tarfile.open(folder / "media.tar", "w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            name = path.relative_to(root).as_posix()
            lines.append(f"{sha256_of(path)}  {name}\n")
            size += path.stat().st_size
            tar.add(path, arcname=name, recursive=False)
    (folder / "media.sha256").write_text("".join(lines), encoding="utf-8")
    return len(files), size


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite's backup API, or pg_dump --format=custom) and every upload "
        "(a tar with checksums) into a new folder DEST. See docs/operations.md."
    )
    # The checks connect to the database (generated fields ask its features): a backup whose
    # database refuses the login should say so in pg_dump's words, not in a traceback.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("dest", type=Path, help="A folder that does not exist yet.")
        parser.add_argument(
            "--no-media",
            action="store_true",
            help="Leave the uploads out (when MEDIA_ROOT is copied another way, such as rsync).",
        )
        parser.add_argument(
            "--pg-dump", default="pg_dump", help="The pg_dump program to use (default: pg_dump on PATH)."
        )

    def handle(self, *args, dest: Path, no_media: bool, pg_dump: str, verbosity: int, **options):
        if settings.NEWSAPP_MEDIA_STORAGE and not no_media:
            # MEDIA_ROOT holds none of them: archiving it would be a backup that looks whole and is not.
            raise CommandError(
                "The uploads are in the media bucket (NEWSAPP_MEDIA_STORAGE), not under MEDIA_ROOT: keep "
                "them with the bucket's own versioning or replication (docs/scaling.md), and back up the "
                "database with --no-media."
            )
        dest = dest.resolve()
        if dest.exists():
            raise CommandError(f"{dest} exists already: name a new folder (e.g. one per date and time).")
        if not dest.parent.is_dir():
            raise CommandError(f"{dest.parent} is not a folder.")
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)  # left by a backup that was stopped
        # Closed from the start, so nobody else can open a file before its mode is set below.
        partial.mkdir(mode=FOLDER_MODE)
        try:
            partial.chmod(FOLDER_MODE)  # mkdir's mode is narrowed by the umask, never widened
            kept = self.write(partial, no_media=no_media, pg_dump=pg_dump)
            for path in partial.iterdir():
                path.chmod(FILE_MODE)  # written by SQLite, pg_dump and tarfile with the umask's mode
            partial.rename(dest)
        except BaseException as exc:
            shutil.rmtree(partial, ignore_errors=True)
            if isinstance(exc, OSError):
                raise CommandError(f"Could not write the backup (nothing was kept): {exc}") from exc
            raise
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Backed up to {dest}:"))
            for line in kept:
                self.stdout.write(f"  {line}")
            self.stdout.write(f"Check it later with: cd {dest} && sha256sum -c SHA256SUMS")

    def write(self, folder: Path, *, no_media: bool, pg_dump: str) -> list[str]:
        if connection.vendor == "sqlite":
            database = folder / "db.sqlite3"
            copy_sqlite(database)
        elif connection.vendor == "postgresql":
            database = folder / "database.dump"
            dump_postgresql(database, pg_dump)
        else:
            raise CommandError(f"No backup method for the {connection.vendor} database.")
        kept = [f"{database.name}: the database, {database.stat().st_size:,} bytes"]
        written = [database]
        if not no_media:
            count, size = archive_media(Path(settings.MEDIA_ROOT), folder)
            kept.append(f"media.tar: {count:,} uploads, {size:,} bytes (checksums in media.sha256)")
            written += [folder / "media.tar", folder / "media.sha256"]
        sums = "".join(f"{sha256_of(path)}  {path.name}\n" for path in written)
        (folder / "SHA256SUMS").write_text(sums, encoding="utf-8")
        return kept
