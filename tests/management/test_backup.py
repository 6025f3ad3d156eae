"""Nothing lost: a backup made as docs/operations.md says restores every row of every table and
every upload, byte for byte, on PostgreSQL (pg_dump and pg_restore, the real programs) and on SQLite
(its online backup API, through `manage.py backup`)."""

import hashlib
import os
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import reversion
from axes.models import AccessAttempt
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from articles.management.commands import backup
from articles.models import Article, Correction, PreviewLink, Source
from tests.conftest import signed_in_client
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory, SourceFactory

# Tables that must hold rows once the newsroom below is made: a restore that dropped any of them
# would otherwise pass unnoticed as "0 rows before, 0 rows after".
SEEDED_TABLES = {
    "articles_article", "articles_source", "articles_articlesource", "articles_biasrating",
    "articles_correction", "articles_previewlink", "articles_category", "articles_contentversion",
    "auth_user", "auth_group", "auth_permission", "auth_user_groups", "auth_group_permissions",
    "django_content_type", "django_migrations", "django_session", "reversion_revision",
    "reversion_version", "axes_accessattempt", "otp_totp_totpdevice", "otp_static_staticdevice",
    "otp_static_statictoken",
}  # fmt: skip


@pytest.fixture
def newsroom(editor, writer):
    """Real content in every table the site fills: stories with pictures (and their sizes), outlets
    with logos, citations, ratings, a correction, a preview link, revisions, sessions, a lockout
    record and two-factor devices; text that is not plain ASCII."""
    outlets = [SourceFactory(with_logo=True, bias=lean) for lean in (Source.Lean.LEFT, Source.Lean.RIGHT)]
    stories = [
        ArticleFactory(with_image=True, title="Café talks — “harbour” ☕", summary="Ünï *text*\n\n> quote"),
        ArticleFactory(with_image=True, title="Back\\slash and 'quotes' and \"doubles\""),
        ArticleFactory(draft=True, title="A draft"),
        ArticleFactory(scheduled=True, with_image=True, title="Scheduled for tomorrow"),
    ]  # fmt: skip
    for position, story in enumerate(stories):
        for outlet in outlets:
            ArticleSourceFactory(article=story, source=outlet, position=position)
    BiasRatingFactory(article=stories[0], left=10, center=70, right=20)
    Correction.objects.create(
        article=stories[0], note="An earlier version misspelt the harbour.", created_by=editor
    )
    PreviewLink.objects.create(
        article=stories[2],
        label="For the mayor",
        created_by=editor,
        expires_at=timezone.now() + timedelta(days=2),
    )
    with reversion.create_revision():
        reversion.set_user(editor)
        reversion.set_comment("Edited before the backup")
        stories[1].title = "Back\\slash and 'quotes', edited"
        stories[1].save()
    signed_in_client(editor)  # a session row
    AccessAttempt.objects.create(
        username="writer", ip_address="198.51.100.7", user_agent="test", http_accept="*/*",
        path_info="/admin/login/", get_data="", post_data="", failures_since_start=2,
    )  # fmt: skip
    TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    StaticDevice.objects.create(user=editor, name="recovery").token_set.create(token="abcd1234")
    return stories


def media_checksums(root) -> dict[str, str]:
    root = Path(root)
    return {path.relative_to(root).as_posix(): backup.sha256_of(path) for path in backup.media_files(root)}


def model_tables() -> set[str]:
    return {model._meta.db_table for model in apps.get_models(include_auto_created=True)}


def check_covered(digests: dict) -> None:
    """The comparison spans every table Django and the apps own, and the seeded ones have rows."""
    assert model_tables() <= set(digests), model_tables() - set(digests)
    empty = sorted(table for table in SEEDED_TABLES if digests[table][0] == 0)
    assert not empty, f"the newsroom left these tables empty: {empty}"


def differing(after: dict, before: dict) -> list[str]:
    """The tables (and sequences) whose rows differ: empty when the restore is exact."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def damage(media_root) -> None:
    """What a restore must undo: rows deleted, changed and added, uploads gone."""
    Article.objects.filter(status=Article.Status.PUBLISHED).delete()
    Source.objects.update(name="Renamed after the backup")
    ArticleFactory(title="Written after the backup")
    shutil.rmtree(media_root)


# --------------------------------------------------------------------------------------------------
# PostgreSQL


def postgres_url(settings_dict, name=None) -> str:
    """The libpq URI of the test database (or of `name` on the same server), as DATABASE_URL is."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{name or settings_dict['NAME']}"


def postgres_program(name: str) -> str:
    """pg_dump or pg_restore of the server's major version (Debian's layout), else the one on PATH.
    Missing, the test fails: a backup test that skips proves nothing."""
    major = connection.cursor().connection.info.server_version // 10000
    candidate = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian: apt-get install postgresql-client-{major})")
    return found


def run(*argv) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}: exit {done.returncode}\n{done.stderr}"


def postgres_digests(url: str) -> dict[str, tuple[int, str]]:
    """Per table: (rows, digest of every row's text, in order); per sequence: its last value."""
    import psycopg

    # Autocommit: an open transaction would hold locks that pg_restore --clean waits on for ever.
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ]
        digests = {}
        for table in tables:
            rows = "string_agg(t::text, E'\\n' ORDER BY t::text)"
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce({rows}, '')) FROM \"{table}\" t"
            ).fetchone()
            digests[table] = (count, digest)
        for name, last in conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ):
            digests[f"sequence {name}"] = (last, "")
    return digests


@pytest.fixture
def scratch_database():
    """A database beside the test database, dropped at the end whatever happens."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_restore"
    admin_url = postgres_url(settings_dict, "postgres")
    dropdb = [postgres_program("dropdb"), "--if-exists", "--force", f"--maintenance-db={admin_url}", name]
    run(*dropdb)
    run(postgres_program("createdb"), f"--maintenance-db={admin_url}", name)
    yield postgres_url(settings_dict, name)
    run(*dropdb)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_postgresql_backup_restores_every_row_and_every_upload(
    newsroom, media_root, tmp_path, scratch_database
):
    url = postgres_url(connection.settings_dict)
    before, uploads = postgres_digests(url), media_checksums(media_root)
    check_covered(before)
    assert len(uploads) >= 20, uploads  # pictures, their sizes, logos

    # Backed up as docs/operations.md says: the database first, then the uploads.
    dump, media_tar = tmp_path / "newsapp.dump", tmp_path / "media.tar"
    run(postgres_program("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={url}")
    run("tar", "-C", str(media_root), "-cf", str(media_tar), ".")
    damage(media_root)
    assert differing(postgres_digests(url), before)

    # Restored in place: the damaged database is replaced whole, in one transaction.
    run(
        postgres_program("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
        f"--dbname={url}", str(dump),
    )  # fmt: skip
    media_root.mkdir()
    run("tar", "-C", str(media_root), "-xf", str(media_tar))
    assert differing(postgres_digests(url), before) == []
    assert media_checksums(media_root) == uploads

    # `manage.py backup`, restored into a fresh database and an empty folder.
    call_command("backup", str(tmp_path / "nightly"), verbosity=0)
    run(
        postgres_program("pg_restore"),
        "--no-owner",
        f"--dbname={scratch_database}",
        str(tmp_path / "nightly/database.dump"),
    )
    assert differing(postgres_digests(scratch_database), before) == []
    restored_media = tmp_path / "restored-media"
    restored_media.mkdir()
    run("tar", "-C", str(restored_media), "-xf", str(tmp_path / "nightly/media.tar"))
    assert media_checksums(restored_media) == uploads


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_backup_that_cannot_be_made_says_why_and_leaves_no_folder(tmp_path, monkeypatch):
    with pytest.raises(CommandError, match="was not found"):
        call_command("backup", str(tmp_path / "nightly"), pg_dump="/nonexistent/pg_dump", verbosity=0)
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "not-the-password")
    with pytest.raises(CommandError, match=r"pg_dump failed .*password authentication failed"):
        call_command("backup", str(tmp_path / "nightly"), pg_dump=postgres_program("pg_dump"), verbosity=0)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# SQLite


def sqlite_digests(conn: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    """Per table (sqlite_sequence, SQLite's counters, included): rows and a digest of all of them."""
    tables = [
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
    ]
    digests = {}
    for table in tables:
        rows = sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
        digests[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return digests


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip(f"the SQLite variant; this run uses {connection.vendor} (its own test is above)")
    connection.ensure_connection()
    return connection.connection


def read_sums(path: Path) -> dict[str, str]:
    return {name: digest for digest, name in (line.split("  ", 1) for line in path.read_text().splitlines())}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_sqlite_backup_restores_every_row_and_every_upload(sqlite_only, newsroom, media_root, tmp_path):
    before, uploads = sqlite_digests(sqlite_only), media_checksums(media_root)
    check_covered(before)
    assert len(uploads) >= 20, uploads

    dest = tmp_path / "nightly"
    call_command("backup", str(dest), verbosity=0)
    assert sorted(p.name for p in dest.iterdir()) == ["SHA256SUMS", "db.sqlite3", "media.sha256", "media.tar"]
    assert read_sums(dest / "SHA256SUMS") == {
        name: backup.sha256_of(dest / name) for name in ("db.sqlite3", "media.tar", "media.sha256")
    }
    assert read_sums(dest / "media.sha256") == uploads
    damage(media_root)
    assert differing(sqlite_digests(sqlite_only), before)

    # Restored as docs/operations.md says (the backup API the other way), then the uploads.
    copy = sqlite3.connect(dest / "db.sqlite3")
    copy.backup(sqlite_only)
    copy.close()
    media_root.mkdir()
    run("tar", "-C", str(media_root), "-xf", str(dest / "media.tar"))
    assert differing(sqlite_digests(sqlite_only), before) == []
    assert media_checksums(media_root) == uploads


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_backup_command_refuses_a_folder_that_exists_and_leaves_nothing_half_made(
    sqlite_only, newsroom, tmp_path, monkeypatch
):
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", str(existing), verbosity=0)
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]

    def disk_full(root, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "archive_media", disk_full)
    with pytest.raises(CommandError, match=r"nothing was kept.*No space left"):
        call_command("backup", str(tmp_path / "nightly"), verbosity=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing", "media"]


# --------------------------------------------------------------------------------------------------
# Either database


@pytest.fixture
def open_umask():
    """The usual umask (022), under which files are written readable by every user."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_backup_is_readable_by_its_owner_only(open_umask, tmp_path):
    """It holds password hashes, two-factor secrets and sessions: folder 0700, files 0600."""
    ArticleFactory(with_image=True)
    options = {"pg_dump": postgres_program("pg_dump")} if connection.vendor == "postgresql" else {}
    dest = tmp_path / "nightly"
    call_command("backup", str(dest), verbosity=0, **options)
    assert oct(dest.stat().st_mode & 0o777) == oct(0o700)
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in dest.iterdir()}
    assert len(modes) == 4 and set(modes.values()) == {oct(0o600)}, modes
