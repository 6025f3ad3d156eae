"""Stories out of the newsroom in the import format: a .zip holding articles.json, the lead images and
the outlets' logos, which `manage.py import_articles` reads back to the same content.

The archive is written to a spooled temporary file (memory up to SPOOL_BYTES, then disk), one
picture at a time. A selection is capped at EXPORT_LIMIT stories and the pictures at the size the
importer accepts (import_archive.MAX_TOTAL_BYTES), so every export can be imported again.

Besides the pictures, the archive carries a signature (SIGNATURE_NAME): the SHA-256 of each picture,
signed with the site's secret key. The importer keeps signed pictures byte for byte instead of
re-encoding them, so a round trip loses no quality and a re-import of unchanged stories changes
nothing; an archive from elsewhere (or a picture changed by hand) is re-encoded like any upload.
"""

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from django.core import signing
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.text import slugify

from articles.models import Article, ArticleSource, BiasRating, Source
from articles.transfer import outlet_fields

EXPORT_LIMIT = 500
DOCUMENT_NAME = "articles.json"
SIGNATURE_NAME = "export-signature"
SIGNING_SALT = "articles.exporters.files"
SPOOL_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024**3  # the importer's limit on an archive's unpacked size
MAX_LISTED_PROBLEMS = 10


class ExportRefused(Exception):
    """The selection cannot be exported as it is; the message says why, in words for editors."""


@dataclass(frozen=True)
class Export:
    file: IO[bytes]
    filename: str
    stories: int
    outlets: int


def _iso(moment) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower() or ".jpg"


def _rating(article: Article) -> dict | None:
    """An editor's rating travels as numbers; a computed one is left out and computed again on import
    from the outlets' leans (which travel with the outlets), exactly as the importer documents."""
    rating = getattr(article, "bias_rating", None)
    if rating is None or rating.method != BiasRating.Method.EDITORIAL:
        return None
    return {"left": rating.left, "center": rating.center, "right": rating.right}


def _citation_entry(cite: ArticleSource) -> dict:
    entry = {"domain": cite.source.domain, "url": cite.url, "title": cite.title, "position": cite.position}
    # Optional in the format (false when left out): the export of a story without copies is unchanged.
    if cite.wire_copy:
        entry["wire_copy"] = True
    return entry


def article_entry(article: Article, image_path: str | None) -> dict:
    entry = {
        "title": article.title,
        "slug": article.slug,
        "section": article.category.slug,
        "status": article.status,
        "published_at": _iso(article.published_at),
        "summary": article.summary,
        "ai_summary": article.ai_summary,
        "featured": article.featured,
    }
    if image_path:
        entry["image"] = image_path
    entry |= {"image_alt": article.image_alt, "image_credit": article.image_credit}
    if (rating := _rating(article)) is not None:
        entry["bias"] = rating
    entry["sources"] = [_citation_entry(cite) for cite in article.article_sources.all()]
    return entry


def source_entry(source: Source, logo_path: str | None, extras: dict | None = None) -> dict:
    entry = {
        "name": source.name,
        "slug": source.slug,
        "domain": source.domain,
        "homepage": source.homepage,
        "bias": source.bias,
        "description": source.description,
    }
    if logo_path:
        entry["logo"] = logo_path
    return entry | (extras or {})


def _outlet_extras(outlets: list[Source]) -> dict[int, dict]:
    """What other apps keep about each outlet (its feeds), a query per app for them all."""
    extras: dict[int, dict] = {source.pk: {} for source in outlets}
    for key, extra in outlet_fields.registered().items():
        for pk, value in extra.export(outlets).items():
            extras[pk][key] = value
    return extras


def _selection(queryset) -> list[Article]:
    # The admin passes its changelist queryset, whose COUNT annotation groups rows: start afresh.
    citations = ArticleSource.objects.select_related("source").order_by("position", "pk")
    return list(
        Article.objects.filter(pk__in=queryset.values("pk"))
        .select_related("category", "bias_rating")
        .prefetch_related(Prefetch("article_sources", queryset=citations))
        .order_by("-published_at", "-pk")
    )


def _file_problem(field_file, what: str) -> tuple[str | None, int]:
    """(problem, size): a picture the database names but the storage has lost cannot travel."""
    try:
        return None, field_file.storage.size(field_file.name)
    except OSError:
        return f"{what}: its file {field_file.name} is missing from storage", 0


def _refuse(problems: list[str]):
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    listing = "; ".join(shown) + (f"; and {more} more" if more else "")
    raise ExportRefused(f"Nothing was exported: {listing}.")


def _plan(articles: list[Article]) -> tuple[list[tuple[str, object]], dict, dict]:
    """The pictures to pack (archive path, field file) and the documents' entries; refuses the
    selection with every problem that would stop the importer from reading it back."""
    problems, files, total = [], [], 0
    outlets = {cite.source.pk: cite.source for a in articles for cite in a.article_sources.all()}
    logo_paths = {}
    for source in sorted(outlets.values(), key=lambda s: s.domain):
        if not source.logo:
            continue
        problem, size = _file_problem(source.logo, f'outlet "{source.name}"')
        if problem:
            problems.append(problem)
            continue
        logo_paths[source.pk] = f"logos/{source.slug}{_suffix(source.logo.name)}"
        files.append((logo_paths[source.pk], source.logo))
        total += size
    image_paths = {}
    for article in articles:
        what = f'"{article.title}"'
        if slugify(article.slug) != article.slug:
            problems.append(f"{what}: its web address {article.slug!r} has capitals or other characters")
        if article.status == Article.Status.PUBLISHED:
            # The importer holds published and scheduled stories to the rule the admin applies.
            problems += [
                f"{what}: {message}"
                for message in Article.check_publishable(
                    has_image=bool(article.image),
                    image_alt=article.image_alt,
                    image_credit=article.image_credit,
                ).values()
            ]
        if not article.image:
            continue
        problem, size = _file_problem(article.image, what)
        if problem:
            problems.append(problem)
            continue
        image_paths[article.pk] = f"images/{article.slug}{_suffix(article.image.name)}"
        files.append((image_paths[article.pk], article.image))
        total += size
    if total > MAX_TOTAL_BYTES:
        problems.append(
            f"the pictures add up to {total / 1e9:.1f} GB, more than an import accepts "
            f"({MAX_TOTAL_BYTES / 1e9:.1f} GB); select fewer stories"
        )
    if problems:
        _refuse(problems)
    listed = sorted(outlets.values(), key=lambda s: s.domain)
    extras = _outlet_extras(listed)
    document = {
        "sources": [source_entry(source, logo_paths.get(source.pk), extras[source.pk]) for source in listed],
        "articles": [article_entry(article, image_paths.get(article.pk)) for article in articles],
    }
    return files, document, outlets


def _pack(zf: zipfile.ZipFile, name: str, field_file) -> str:
    digest = hashlib.sha256()
    with field_file.storage.open(field_file.name, "rb") as src, zf.open(name, "w") as dst:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()


def sign(digests: dict[str, str]) -> str:
    return signing.dumps({"files": digests}, salt=SIGNING_SALT, compress=True)


def export_archive(queryset) -> Export:
    """The selected stories as an import archive. Raises ExportRefused (nothing built) when the
    selection is too large or holds something the importer would refuse."""
    count = queryset.count()
    if count > EXPORT_LIMIT:
        raise ExportRefused(
            f"You selected {count} stories; export at most {EXPORT_LIMIT} at a time "
            "(filter the list or select fewer)."
        )
    articles = _selection(queryset)
    files, document, outlets = _plan(articles)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller streams and closes it
    try:
        # Pictures are already compressed: stored as they are; the JSON is deflated.
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
            digests = {name: _pack(zf, name, field_file) for name, field_file in files}
            text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
            zf.writestr(DOCUMENT_NAME, text, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(SIGNATURE_NAME, sign(digests), compress_type=zipfile.ZIP_DEFLATED)
    except OSError as exc:
        out.close()
        raise ExportRefused(f"Nothing was exported: a picture could not be read ({exc}).") from exc
    except BaseException:
        out.close()
        raise
    out.seek(0)
    filename = f"newsroom-export-{timezone.localtime():%Y-%m-%d-%H%M}.zip"
    return Export(out, filename, len(articles), len(outlets))
