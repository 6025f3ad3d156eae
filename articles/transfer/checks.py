"""Checking an import document whole before anything is written (articles.importers applies it).

Every problem is collected with the item and the field it concerns, so one run lists them all.
"""

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.text import slugify

from articles import images
from articles.models import Article, Category, Source, domain_validator, http_url
from articles.transfer import outlet_fields

SOURCE_KEYS = {"name", "domain", "homepage", "bias", "logo", "slug", "description"}
ARTICLE_KEYS = {
    "title", "slug", "section", "status", "published_at", "summary", "ai_summary", "featured",
    "image", "image_alt", "image_credit", "bias", "sources",
}  # fmt: skip
CITATION_KEYS = {"domain", "url", "title", "position", "wire_copy"}
MAX_POSITION = 32767


class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class SourcePlan:
    label: str
    domain: str
    values: dict[str, Any]
    logo: images.CleanImage | None
    # What other apps keep about the outlet (articles.transfer.outlet_fields): key -> clean value.
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class ArticlePlan:
    label: str
    slug: str | None
    values: dict[str, Any]
    image: images.CleanImage | None
    bias: tuple[int, int, int] | None
    # (domain, url, title, position, wire_copy), in position order
    citations: list[tuple[str, str, str, int, bool]]


class _Errors:
    def __init__(self):
        self.items: list[str] = []

    def add(self, where: str, message: str):
        self.items.append(f"{where}: {message}")


def printable(value: str) -> str:
    """The string as it can be printed: a lone surrogate (no text, but valid JSON) as its escape."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def item_label(kind: str, index: int, item: Any, key: str) -> str:
    name = item.get(key) if isinstance(item, dict) else None
    if isinstance(name, str) and name.strip():
        name = printable(name)
        short = name if len(name) <= 60 else f"{name[:57]}…"
        return f'{kind}[{index}] "{short}"'
    return f"{kind}[{index}]"


def _text(errors, where, item, key, *, required=False, max_length=None, default=""):
    value = item.get(key, None)
    if value is None:
        if required:
            errors.add(where, f"field '{key}' is required")
        return default
    if not isinstance(value, str):
        errors.add(where, f"field '{key}' must be a string")
        return default
    value = value.strip()
    if required and not value:
        errors.add(where, f"field '{key}' must not be empty")
    if "\x00" in value:
        errors.add(where, f"field '{key}' contains a NUL character")
        return default
    if max_length and len(value) > max_length:
        errors.add(where, f"field '{key}' is {len(value)} characters long; the limit is {max_length}")
    return value


def _bool(errors, where, item, key):
    value = item.get(key, False)
    if not isinstance(value, bool):
        errors.add(where, f"field '{key}' must be true or false")
        return False
    return value


def _url(errors, where, key, value):
    if not isinstance(value, str) or not value.strip():
        errors.add(where, f"field '{key}' must be an http:// or https:// address")
        return ""
    value = value.strip()
    try:
        http_url(value)
    except ValidationError:
        errors.add(where, f"field '{key}' must be an http:// or https:// address, got {value[:80]!r}")
        return ""
    if len(value) > 500:
        errors.add(where, f"field '{key}' is longer than 500 characters")
    return value


def _picture(
    errors, where, key, value, base_dir: Path, trusted: frozenset[str] = frozenset(), **kwargs
) -> images.CleanImage | None:
    if not isinstance(value, str) or not value.strip():
        errors.add(where, f"field '{key}' must be a path relative to the import file")
        return None
    relative = Path(value)
    path = (base_dir / relative).resolve()
    if relative.is_absolute() or not path.is_relative_to(base_dir.resolve()):
        errors.add(where, f"field '{key}': {value!r} must be a path inside the import file's folder")
        return None
    if not path.is_file():
        errors.add(where, f"field '{key}': file {value!r} not found")
        return None
    try:
        with path.open("rb") as fh:
            clean = images.clean_upload(fh, name_hint=path.name, **kwargs)
            if trusted:
                fh.seek(0)
                raw = fh.read()
                if hashlib.sha256(raw).hexdigest() in trusted:
                    # This site's own export of a file from its storage (the archive is signed):
                    # keep those very bytes, so a round trip neither re-compresses the picture
                    # nor reports it changed.
                    return replace(clean, content=ContentFile(raw, name=clean.content.name))
            return clean
    except images.ImageRejected as exc:
        errors.add(where, f"field '{key}': {value!r}: {exc}")
    except OSError as exc:
        errors.add(where, f"field '{key}': {value!r} cannot be read ({exc.strerror})")
    return None


def _datetime(errors, where, item, key):
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(where, f"field '{key}' must be an ISO 8601 date-time string such as 2026-01-01T09:00:00Z")
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        errors.add(
            where, f"field '{key}': {value[:40]!r} is not an ISO 8601 date-time (e.g. 2026-01-01T09:00:00Z)"
        )
        return None
    if parsed.tzinfo is None:
        errors.add(
            where, f"field '{key}': {value!r} has no time zone; add Z for UTC or an offset like +01:00"
        )
        return None
    return parsed


def _unknown_keys(errors, where, item, allowed):
    for key in sorted(set(item) - allowed):
        errors.add(where, f"unknown field '{key}'")


def _validate_sources(errors, raw, base_dir, trusted) -> list[SourcePlan]:
    plans, raw_items, seen = [], [], set()
    extra_fields = outlet_fields.registered()
    for i, item in enumerate(raw):
        where = item_label("sources", i, item, "domain")
        if not isinstance(item, dict):
            errors.add(where, "must be an object")
            continue
        _unknown_keys(errors, where, item, SOURCE_KEYS | set(extra_fields))
        name = _text(errors, where, item, "name", required=True, max_length=120)
        domain = _text(errors, where, item, "domain", required=True, max_length=253).lower()
        if domain:
            try:
                domain_validator(domain)
            except ValidationError:
                errors.add(where, f"field 'domain': {domain!r} is not a bare domain such as bbc.co.uk")
            if domain in seen:
                errors.add(where, f"field 'domain': {domain!r} appears twice in the file")
            seen.add(domain)
        homepage = _url(errors, where, "homepage", item.get("homepage"))
        bias = item.get("bias", Source.Lean.UNRATED)
        if bias not in Source.Lean.values:
            errors.add(where, f"field 'bias': {bias!r} is not one of {', '.join(Source.Lean.values)}")
        slug = _text(errors, where, item, "slug", max_length=120)
        if slug and slugify(slug) != slug:
            errors.add(where, f"field 'slug': {slug!r} may only hold lower-case letters, digits and hyphens")
        elif slug and Source.objects.filter(slug=slug).exclude(domain=domain).exists():
            errors.add(where, f"field 'slug': {slug!r} is already used by another outlet")
        description = _text(errors, where, item, "description")
        logo = None
        if item.get("logo") is not None:
            logo = _picture(errors, where, "logo", item["logo"], base_dir, trusted, shrink_to=images.LOGO_MAX)
        values = {"name": name, "homepage": homepage, "bias": bias, "description": description}
        if slug:
            values["slug"] = slug
        plans.append(SourcePlan(where, domain, values, logo))
        raw_items.append(item)
    _validate_extras(errors, plans, raw_items, extra_fields)
    return plans


def _validate_extras(errors, plans, raw_items, extra_fields) -> None:
    """Each registered outlet field over the whole file at once (duplicates across outlets)."""
    for key, extra in extra_fields.items():
        holders = [(plan, item[key]) for plan, item in zip(plans, raw_items, strict=True) if key in item]
        checked = extra.check([(plan.domain, value) for plan, value in holders])
        for (plan, _value), (clean, problems) in zip(holders, checked, strict=True):
            for problem in problems:
                errors.add(plan.label, problem)
            plan.extras[key] = clean


def _validate_bias(errors, where, value):
    if not isinstance(value, dict) or set(value) != {"left", "center", "right"}:
        errors.add(where, "field 'bias' must be an object with exactly left, center and right")
        return None
    numbers = [value[k] for k in ("left", "center", "right")]
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 100 for n in numbers):
        errors.add(where, "field 'bias': left, center and right must be whole numbers from 0 to 100")
        return None
    if sum(numbers) != 100:
        errors.add(where, f"field 'bias': left, center and right must add up to 100, not {sum(numbers)}")
        return None
    return tuple(numbers)


def _position(errors, where, cite, default: int) -> int:
    value = cite.get("position", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_POSITION:
        errors.add(where, f"field 'position' must be a whole number from 0 to {MAX_POSITION}")
        return default
    return value


def _validate_articles(errors, raw, base_dir, known_domains, sections, trusted) -> list[ArticlePlan]:
    plans, seen_slugs, seen_keys = [], set(), set()
    for i, item in enumerate(raw):
        where = item_label("articles", i, item, "title")
        if not isinstance(item, dict):
            errors.add(where, "must be an object")
            continue
        _unknown_keys(errors, where, item, ARTICLE_KEYS)
        title = _text(errors, where, item, "title", required=True, max_length=200)
        slug = _text(errors, where, item, "slug", max_length=200) or None
        if slug and slugify(slug) != slug:
            errors.add(where, f"field 'slug': {slug!r} may only hold lower-case letters, digits and hyphens")
        if slug and slug in seen_slugs:
            errors.add(where, f"field 'slug': {slug!r} appears twice in the file")
        seen_slugs.add(slug)
        section = item.get("section")
        if section not in sections:
            errors.add(
                where, f"field 'section': {section!r} is not a section; use one of {', '.join(sections)}"
            )
        status = item.get("status", Article.Status.DRAFT)
        if status not in Article.Status.values:
            errors.add(where, f"field 'status': {status!r} must be 'draft' or 'published'")
        published_at = _datetime(errors, where, item, "published_at")
        if status == Article.Status.PUBLISHED and published_at is None and item.get("published_at") is None:
            # Without a fixed time a re-import would move the story (or, without a slug, duplicate it).
            errors.add(where, "field 'published_at' is required for a published story")
        if not slug and title:
            key = (title, published_at)
            if key in seen_keys:
                errors.add(
                    where, "the same title and publish time appear twice in the file; give each a slug"
                )
            seen_keys.add(key)
        summary = _text(errors, where, item, "summary", required=True)
        image = None
        if item.get("image") is not None:
            image = _picture(errors, where, "image", item["image"], base_dir, trusted)
        image_alt = _text(errors, where, item, "image_alt", max_length=300)
        image_credit = _text(errors, where, item, "image_credit", max_length=120)
        if status == Article.Status.PUBLISHED:
            # A story already stored with a picture keeps it when the file names none.
            has_image = item.get("image") is not None or (
                slug is not None and Article.objects.filter(slug=slug).exclude(image="").exists()
            )
            problems = Article.check_publishable(
                has_image=has_image, image_alt=image_alt, image_credit=image_credit
            )
            for key, problem in problems.items():
                errors.add(where, f"field '{key}': {problem}")
        bias = _validate_bias(errors, where, item["bias"]) if item.get("bias") is not None else None
        citations = []
        raw_citations = item.get("sources", [])
        if not isinstance(raw_citations, list):
            errors.add(where, "field 'sources' must be a list")
            raw_citations = []
        urls = set()
        for j, cite in enumerate(raw_citations):
            cwhere = f"{where}: sources[{j}]"
            if not isinstance(cite, dict):
                errors.add(cwhere, "must be an object with domain and url")
                continue
            _unknown_keys(errors, cwhere, cite, CITATION_KEYS)
            domain = _text(errors, cwhere, cite, "domain", required=True).lower()
            if domain and domain not in known_domains:
                errors.add(
                    cwhere, f"field 'domain': no outlet with domain {domain!r} in the file or the database"
                )
            url = _url(errors, cwhere, "url", cite.get("url"))
            if url in urls:
                errors.add(cwhere, f"field 'url': {url!r} is listed twice for this story")
            urls.add(url)
            headline = _text(errors, cwhere, cite, "title", max_length=300)
            position = _position(errors, cwhere, cite, j)
            citations.append((domain, url, headline, position, _bool(errors, cwhere, cite, "wire_copy")))
        citations.sort(key=lambda citation: citation[3])  # stable: equal positions keep file order
        values = {
            "title": title,
            "category_id": sections.get(section),
            "status": status,
            "published_at": published_at,
            "summary": summary,
            "ai_summary": _bool(errors, where, item, "ai_summary"),
            "featured": _bool(errors, where, item, "featured"),
            "image_alt": image_alt,
            "image_credit": image_credit,
        }
        plans.append(ArticlePlan(where, slug, values, image, bias, citations))
    return plans


def _reporting(
    items: Iterable, progress: Callable[[int, int], None] | None, done: int, total: int
) -> Iterator:
    """The items, calling progress(done, total) as each one has been checked."""
    for n, item in enumerate(items, done + 1):
        yield item
        if progress:
            progress(n, total)


def validate(
    document: Any,
    base_dir: Path,
    *,
    trusted_images: frozenset[str] = frozenset(),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[SourcePlan], list[ArticlePlan]]:
    """Check the whole document. `trusted_images` are SHA-256 digests of pictures this site exported
    itself (see articles.import_archive): those are kept byte for byte instead of re-encoded."""
    errors = _Errors()
    if not isinstance(document, dict):
        raise ImportFailed(["document: must be a JSON object with 'sources' and/or 'articles' lists"])
    _unknown_keys(errors, "document", document, {"sources", "articles"})
    raw_sources, raw_articles = document.get("sources", []), document.get("articles", [])
    for key, value in (("sources", raw_sources), ("articles", raw_articles)):
        if not isinstance(value, list):
            errors.add("document", f"field '{key}' must be a list")
    if errors.items:
        raise ImportFailed(errors.items)
    total = len(raw_sources) + len(raw_articles)
    sources = _validate_sources(errors, _reporting(raw_sources, progress, 0, total), base_dir, trusted_images)
    known = {plan.domain for plan in sources} | set(Source.objects.values_list("domain", flat=True))
    sections = dict(Category.objects.values_list("slug", "pk"))
    articles = _validate_articles(
        errors,
        _reporting(raw_articles, progress, len(raw_sources), total),
        base_dir,
        known,
        sections,
        trusted_images,
    )
    if errors.items:
        raise ImportFailed(errors.items)
    return sources, articles
