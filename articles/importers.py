"""The JSON import format (see DESIGN.md): validated whole first, then applied in one transaction.

Any error names the item and the field and changes nothing. Re-importing the same document changes
nothing: outlets match by domain, stories by slug (or by title + publish time when no slug is given),
and a row is written only when something in it differs.
"""

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import reversion
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from . import images
from .models import Article, ArticleSource, BiasRating, Category, Source, domain_validator, http_url
from .revisions import article_recorded
from .search import search_vector_refresh
from .services import article_mark_modified, bias_rating_refresh, source_lean_changed

SOURCE_KEYS = {"name", "domain", "homepage", "bias", "logo", "slug", "description"}
ARTICLE_KEYS = {
    "title", "slug", "section", "status", "published_at", "summary", "ai_summary", "featured",
    "image", "image_alt", "image_credit", "bias", "sources",
}  # fmt: skip
CITATION_KEYS = {"domain", "url", "title", "position"}
MAX_POSITION = 32767


class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportResult:
    created: dict[str, int] = field(default_factory=lambda: {"sources": 0, "articles": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"sources": 0, "articles": 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {"sources": 0, "articles": 0})

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def __str__(self):
        return ", ".join(
            f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
            f"{self.unchanged[kind]} unchanged"
            for kind in ("sources", "articles")
        )


@dataclass
class SourcePlan:
    domain: str
    values: dict[str, Any]
    logo: images.CleanImage | None


@dataclass
class ArticlePlan:
    label: str
    slug: str | None
    values: dict[str, Any]
    image: images.CleanImage | None
    bias: tuple[int, int, int] | None
    citations: list[tuple[str, str, str, int]]  # (domain, url, title, position), in position order


class _Errors:
    def __init__(self):
        self.items: list[str] = []

    def add(self, where: str, message: str):
        self.items.append(f"{where}: {message}")


def _label(kind: str, index: int, item: Any, key: str) -> str:
    name = item.get(key) if isinstance(item, dict) else None
    if isinstance(name, str) and name.strip():
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
    plans, seen = [], set()
    for i, item in enumerate(raw):
        where = _label("sources", i, item, "domain")
        if not isinstance(item, dict):
            errors.add(where, "must be an object")
            continue
        _unknown_keys(errors, where, item, SOURCE_KEYS)
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
            logo = _picture(errors, where, "logo", item["logo"], base_dir, trusted, max_side=images.LOGO_MAX)
        values = {"name": name, "homepage": homepage, "bias": bias, "description": description}
        if slug:
            values["slug"] = slug
        plans.append(SourcePlan(domain, values, logo))
    return plans


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
        where = _label("articles", i, item, "title")
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
            citations.append((domain, url, headline, _position(errors, cwhere, cite, j)))
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


def load_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFailed([f"{path}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise ImportFailed([f"{path}: cannot be read ({exc.strerror})"]) from None
    try:
        return json.loads(text, parse_constant=lambda c: math.nan)
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            [f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None


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


def _same_file(field_file, content) -> bool:
    if not field_file:
        return False
    try:
        with field_file.storage.open(field_file.name, "rb") as fh:
            return fh.read() == content.read()
    except OSError:
        return False
    finally:
        content.seek(0)


def _unique_slug(model, base: str, taken: set[str], max_length: int) -> str:
    base = (slugify(base)[:max_length].strip("-")) or "story"
    candidate, n = base, 2
    while candidate in taken or model.objects.filter(slug=candidate).exists():
        suffix = f"-{n}"
        candidate = f"{base[: max_length - len(suffix)]}{suffix}"
        n += 1
    taken.add(candidate)
    return candidate


class _Applier:
    revision_comment = "Imported from a file"

    def __init__(self, result: ImportResult, progress: Callable[[int, int], None] | None):
        self.result = result
        self.progress = progress
        self.written_files: list[str] = []
        self.sources_by_domain: dict[str, Source] = {}
        self.slugs_taken: set[str] = set()

    def _assign_changes(self, obj, values) -> bool:
        changed = False
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        return changed

    def _attach(self, field_file, clean: images.CleanImage | None) -> bool:
        if clean is None or _same_file(field_file, clean.content):
            return False
        field_file.save(clean.content.name, clean.content, save=False)
        self.written_files.append(field_file.name)
        return True

    def sources(self, plans: list[SourcePlan]):
        existing = {s.domain: s for s in Source.objects.filter(domain__in=[p.domain for p in plans])}
        for plan in plans:
            source = existing.get(plan.domain)
            kind = "updated"
            if source is None:
                kind = "created"
                source = Source(domain=plan.domain)
                if "slug" not in plan.values:
                    source.slug = _unique_slug(Source, plan.values["name"], self.slugs_taken, 120)
            lean_before = source.bias
            changed = self._assign_changes(source, plan.values)
            changed = self._attach(source.logo, plan.logo) or changed
            if kind == "created" or changed:
                source.full_clean()
                source.save()
                self.written_files.extend(v for k, v in source.logo_small.items() if k in ("png", "webp"))
                self.result.__dict__[kind]["sources"] += 1
                if kind == "updated":
                    search_vector_refresh(source.citations.values("article_id"))
                if kind == "updated" and lean_before != source.bias:
                    source_lean_changed(source=source)
            else:
                self.result.unchanged["sources"] += 1
        self.sources_by_domain = {s.domain: s for s in Source.objects.all()}

    def _find(self, plan: ArticlePlan) -> Article | None:
        # Locked: an editor's save of the same story waits for the import, then finds it changed.
        stories = Article.objects.select_for_update()
        if plan.slug:
            return stories.filter(slug=plan.slug).first()
        return stories.filter(title=plan.values["title"], published_at=plan.values["published_at"]).first()

    def articles(self, plans: list[ArticlePlan]):
        for n, plan in enumerate(plans, 1):
            self.article(plan)
            if self.progress:
                self.progress(n, len(plans))

    def article(self, plan: ArticlePlan):
        # One revision per story written, naming the file; recorded by hand, so a story the import
        # leaves as it was gets none.
        with reversion.create_revision(manage_manually=True):
            reversion.set_comment(self.revision_comment)
            self._apply_article(plan)

    def _apply_article(self, plan: ArticlePlan):
        article = self._find(plan)
        kind = "updated"
        if article is None:
            kind = "created"
            article = Article(slug=plan.slug or _unique_slug(Article, plan.values["title"], set(), 200))
        was_live = kind == "updated" and article.is_published()
        changed = self._assign_changes(article, plan.values)
        changed = self._attach(article.image, plan.image) or changed
        if kind == "created" or changed:
            article.full_clean(exclude=["image"])
            article.save()
            self.written_files.extend(images.rendition_files(article.renditions))
        citations_changed = self._citations(article, plan.citations)
        if citations_changed:
            search_vector_refresh([article.pk])
        changed = self._rating(article, plan.bias) or citations_changed or changed
        if was_live and changed:
            article_mark_modified(article=article)
        if kind == "created" or changed:
            article_recorded(article, bump_lock=kind == "updated")
            self.result.__dict__[kind]["articles"] += 1
        else:
            self.result.unchanged["articles"] += 1

    def _citations(self, article: Article, citations) -> bool:
        wanted = [
            (self.sources_by_domain[domain].pk, url, title, position)
            for domain, url, title, position in citations
        ]
        have = list(
            article.article_sources.order_by("position", "pk").values_list(
                "source_id", "url", "title", "position"
            )
        )
        if have == wanted:
            return False
        article.article_sources.all().delete()
        ArticleSource.objects.bulk_create(
            ArticleSource(article=article, source_id=sid, url=url, title=title, position=pos)
            for sid, url, title, pos in wanted
        )
        return True

    def _rating(self, article: Article, bias) -> bool:
        def state():
            rating = BiasRating.objects.filter(article=article).first()
            return None if rating is None else (rating.method, rating.left, rating.center, rating.right)

        before = state()
        if bias is not None:
            left, center, right = bias
            BiasRating.objects.update_or_create(
                article=article,
                defaults={
                    "left": left,
                    "center": center,
                    "right": right,
                    "method": BiasRating.Method.EDITORIAL,
                },
            )
        else:
            # No rating in the file: the bar is computed from the sources' leans.
            BiasRating.objects.filter(article=article, method=BiasRating.Method.EDITORIAL).delete()
            bias_rating_refresh(article=article)
        return before != state()


class _DryRun(Exception):
    pass


def import_file(
    path: Path | str,
    *,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    trusted_images: frozenset[str] = frozenset(),
) -> ImportResult:
    """Validate and apply an import file. Raises ImportFailed (nothing changed) on any bad input.

    progress(stage, done, total) is called as items are checked (stage "check": outlets and
    stories) and as stories are written (stage "apply").
    """
    path = Path(path)
    document = load_document(path)
    source_plans, article_plans = validate(
        document,
        path.parent,
        trusted_images=trusted_images,
        progress=progress and partial(progress, "check"),
    )
    result = ImportResult()
    applier = _Applier(result, progress and partial(progress, "apply"))
    applier.revision_comment = f"Imported from {path.name}"
    try:
        with transaction.atomic():
            applier.sources(source_plans)
            applier.articles(article_plans)
            if dry_run:
                raise _DryRun
    except _DryRun:
        images.delete_files(applier.written_files)
    except Exception:
        # The database rolled back; files written for it must not linger either.
        images.delete_files(applier.written_files)
        raise
    return result
