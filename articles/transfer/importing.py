"""The JSON import format (see DESIGN.md): validated whole first, then applied in one transaction.

Any error names the item and the field and changes nothing. Re-importing the same document changes
nothing: outlets match by domain, stories by slug (or by title + publish time when no slug is given),
and a row is written only when something in it differs.
"""

from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from articles import images
from articles.models import Article, ArticleSource, BiasRating, Source, SourceRating
from articles.newsroom import ratings
from articles.newsroom.stories import article_save, source_changed
from articles.transfer import outlet_fields
from articles.transfer.checks import ArticlePlan, ImportFailed, SourcePlan, validate
from articles.transfer.document import load_document

IMPORTED_METHOD = "The lean given for the outlet in an import file"

__all__ = ["ImportFailed", "ImportResult", "import_file", "load_document", "validate"]


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


@contextmanager
def _storing(where: str, field_name: str):
    """A picture written in the block that cannot be stored, or made into sizes, is a problem of its
    item and field like any other (the import then writes nothing), not a traceback."""
    try:
        yield
    except OSError as exc:
        problem = f"the picture could not be stored ({exc.strerror or exc})"
        raise ImportFailed([f"{where}: field '{field_name}': {problem}"]) from exc
    except images.RenditionFailed as exc:
        problem = f"the sizes readers see could not be made of the picture ({exc})"
        raise ImportFailed([f"{where}: field '{field_name}': {problem}"]) from exc


def _unique_slug(model, base: str, taken: set[str], max_length: int) -> str:
    base = (slugify(base)[:max_length].strip("-")) or "story"
    candidate, n = base, 2
    while candidate in taken or model.objects.filter(slug=candidate).exists():
        suffix = f"-{n}"
        candidate = f"{base[: max_length - len(suffix)]}{suffix}"
        n += 1
    taken.add(candidate)
    return candidate


def _story_days(stories: list[ArticlePlan]) -> dict[str, list[date]]:
    """The publish dates of the file's published stories, by the domains they cite."""
    days: dict[str, list[date]] = {}
    for plan in stories:
        moment = plan.values.get("published_at")
        if plan.values.get("status") == Article.Status.PUBLISHED and moment is not None:
            for domain, *_rest in plan.citations:
                days.setdefault(domain, []).append(timezone.localdate(moment))
    return days


def _lean_rated(plan: SourcePlan, source: Source, lean: str, story_days: list[date]) -> bool:
    """An outlet's "bias" in the file that differs from its lean today becomes a newsroom rating:
    dated today for an outlet with a rating history, or, for one without (new, or never rated), from
    the earliest publish date of a story citing it (in the file or stored), so its stories keep
    the lean the file gives them. "unrated" is no rating: it removes none."""
    source.refresh_from_db(fields=["bias"])
    if lean in (Source.Lean.UNRATED, source.bias):
        return False
    rated = source.ratings.exists()
    day = timezone.localdate() if rated else ratings.first_rating_day(source_id=source.pk, also=story_days)
    if source.ratings.filter(effective_from=day).exists():
        raise ImportFailed(
            [
                f"{plan.label}: field 'bias': {lean!r} differs from the outlet's rating of {day:%Y-%m-%d}; "
                "give the outlet's ratings instead (field 'ratings') or leave 'bias' as it is"
            ]
        )
    rating = SourceRating(source=source, lean=lean, effective_from=day, method=IMPORTED_METHOD)
    ratings.source_rating_save(rating=rating, user=None)
    return True


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

    def _attach(self, where: str, field_file, clean: images.CleanImage | None) -> bool:
        if clean is None or _same_file(field_file, clean.content):
            return False
        with _storing(where, field_file.field.name):
            field_file.save(clean.content.name, clean.content, save=False)
        self.written_files.append(field_file.name)
        return True

    def sources(self, plans: list[SourcePlan], stories: list[ArticlePlan] = ()):
        existing = {s.domain: s for s in Source.objects.filter(domain__in=[p.domain for p in plans])}
        extra_fields = outlet_fields.registered()
        story_days = _story_days(stories)
        for plan in plans:
            source = existing.get(plan.domain)
            kind = "updated"
            if source is None:
                kind = "created"
                source = Source(domain=plan.domain)
                if "slug" not in plan.values:
                    source.slug = _unique_slug(Source, plan.values["name"], self.slugs_taken, 120)
            name_before = source.name
            values = dict(plan.values)
            lean = values.pop("bias")  # a lean is a dated rating (_lean_rated), not a column to set
            changed = self._assign_changes(source, values)
            new_logo = self._attach(plan.label, source.logo, plan.logo)
            changed = new_logo or changed
            if kind == "created" or changed:
                source.full_clean()
                with _storing(plan.label, "logo") if new_logo else nullcontext():
                    source.save()
                if new_logo:  # only what this import wrote: a dry run or a failure removes exactly that
                    self.written_files.extend(v for k, v in source.logo_small.items() if k in ("png", "webp"))
                if kind == "updated":
                    source_changed(source=source, name_changed=name_before != source.name)
            # What other apps keep about the outlet (its feeds, its ratings), once the outlet row exists.
            for key, value in plan.extras.items():
                changed = extra_fields[key].apply(source, value) or changed
            changed = _lean_rated(plan, source, lean, story_days.get(plan.domain, [])) or changed
            if kind == "created" or changed:
                self.result.__dict__[kind]["sources"] += 1
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
        """Write one story through the save path when anything in it differs from the file (so a
        story the import leaves as it was gets no revision)."""
        article = self._find(plan)
        kind = "updated"
        if article is None:
            kind = "created"
            article = Article(slug=plan.slug or _unique_slug(Article, plan.values["title"], set(), 200))
        content_changed = self._assign_changes(article, plan.values)
        new_image = self._attach(plan.label, article.image, plan.image)
        citations = self._wanted_citations(plan.citations)
        related_changed = (
            kind == "created"
            or self._citations_differ(article, citations)
            or self._rating_differs(article, plan.bias)
        )
        if kind == "updated" and not (content_changed or new_image or related_changed):
            self.result.unchanged["articles"] += 1
            return
        article.full_clean(exclude=["image"])

        def write(article: Article) -> bool:
            self._write_citations(article, citations)
            self._write_rating(article, plan.bias)
            return related_changed

        with _storing(plan.label, "image") if new_image else nullcontext():
            article_save(
                article=article,
                user=None,
                comment=self.revision_comment,
                write=write,
                content_changed=content_changed or new_image,
            )
        if new_image:  # the sizes of a picture this import stored; a story's own stay where they are
            self.written_files.extend(images.rendition_files(article.renditions))
        self.result.__dict__[kind]["articles"] += 1

    def _wanted_citations(self, citations) -> list[tuple]:
        return [
            (self.sources_by_domain[domain].pk, url, title, position, wire_copy)
            for domain, url, title, position, wire_copy in citations
        ]

    @staticmethod
    def _citations_differ(article: Article, wanted: list[tuple]) -> bool:
        have = list(
            ArticleSource.objects.filter(article_id=article.pk)
            .order_by("position", "pk")
            .values_list("source_id", "url", "title", "position", "wire_copy")
        )
        return have != wanted

    @staticmethod
    def _write_citations(article: Article, wanted: list[tuple]) -> None:
        article.article_sources.all().delete()
        ArticleSource.objects.bulk_create(
            ArticleSource(article=article, source_id=sid, url=url, title=title, position=pos, wire_copy=copy)
            for sid, url, title, pos, copy in wanted
        )

    @staticmethod
    def _rating_differs(article: Article, bias) -> bool:
        rating = BiasRating.objects.filter(article_id=article.pk).first()
        if bias is None:  # no rating in the file: the bar is computed from the sources' leans
            return rating is not None and rating.method == BiasRating.Method.EDITORIAL
        return rating is None or (rating.method, rating.left, rating.center, rating.right) != (
            BiasRating.Method.EDITORIAL,
            *bias,
        )

    @staticmethod
    def _write_rating(article: Article, bias) -> None:
        if bias is None:
            # Computed by the save path's after-save steps once an editorial rating is gone.
            BiasRating.objects.filter(article=article, method=BiasRating.Method.EDITORIAL).delete()
            return
        left, center, right = bias
        BiasRating.objects.update_or_create(
            article=article,
            defaults={"left": left, "center": center, "right": right, "method": BiasRating.Method.EDITORIAL},
        )


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
            applier.sources(source_plans, article_plans)
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
