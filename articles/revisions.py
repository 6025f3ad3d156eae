"""Revisions of stories: what django-reversion records, readable differences between two recorded
states, and restoring an earlier state as a new revision.

A revision holds the story with its sources and its bias rating (`follow`), so one revision tells
the whole story as it stood. Every save path (the admin, the bulk publish actions, the importer, a
restore) records one revision per story and counts the save in `Article.lock_version`.
"""

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

import reversion
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.text import capfirst
from reversion.errors import RevertError
from reversion.models import Version

from . import services
from .models import Article, ArticleSource, BiasRating, Category, Source
from .search import search_vector_refresh

# Derived at save time from what is recorded (or too big to keep per revision): never restored.
ARTICLE_NOT_RECORDED = ("summary_html", "excerpt", "renditions", "search_vector")
reversion.register(Article, follow=["article_sources", "bias_rating"], exclude=ARTICLE_NOT_RECORDED)
reversion.register(ArticleSource)
reversion.register(BiasRating)

# What a revision shows and a restore brings back, in the order of the edit form.
STORY_FIELDS = (
    "title",
    "slug",
    "category",
    "summary",
    "ai_summary",
    "image",
    "image_alt",
    "image_credit",
    "status",
    "published_at",
    "featured",
)
SOURCE_FIELDS = ("source_id", "url", "title", "position")
RATING_FIELDS = ("left", "center", "right", "method", "unrated_sources")
NO_USER = "no user (an import or a script)"
HISTORY_PER_PAGE = 20


def local_time(value: datetime) -> str:
    """A moment as editors read it: in the site's time zone, with the zone's name."""
    return date_format(timezone.localtime(value), "j M Y, H:i T")


def user_label(user) -> str:
    if user is None:
        return NO_USER
    return user.get_full_name() or user.get_username()


def revision_label(revision) -> str:
    return f"{local_time(revision.date_created)} by {user_label(revision.user)}"


# --- What a story looked like ----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A story with its sources and rating, from a revision or from the database now."""

    fields: dict
    sources: tuple[dict, ...]
    rating: dict | None
    lock_version: int | None = None

    @classmethod
    def of_article(cls, article: Article) -> "Snapshot":
        values = {f.attname: getattr(article, f.attname) for f in Article._meta.concrete_fields}
        sources = article.article_sources.order_by("position", "pk").values("pk", *SOURCE_FIELDS)
        rating = BiasRating.objects.filter(article=article).values(*RATING_FIELDS).first()
        return cls(_story_fields(values), tuple(sources), rating, article.lock_version)


def _story_fields(values: dict) -> dict:
    story = {}
    for name in STORY_FIELDS:
        value = values.get(Article._meta.get_field(name).attname)
        if name == "image":
            value = getattr(value, "name", value) or ""
        story[name] = value
    return story


def snapshots_of(versions, article_pk) -> dict[int, Snapshot | None]:
    """Snapshots for these article versions, keyed by version id, in two queries whatever their
    number: the versions of the sources and ratings recorded with them come in one go.

    None stands for a version whose data can no longer be read (a model changed beyond recognition).
    """
    versions = list(versions)
    types = ContentType.objects.get_for_models(ArticleSource, BiasRating)
    related: dict[int, list[Version]] = {}
    for version in Version.objects.filter(
        revision_id__in={v.revision_id for v in versions}, content_type__in=types.values()
    ).order_by("pk"):
        related.setdefault(version.revision_id, []).append(version)
    result = {}
    for version in versions:
        try:
            story = version.field_dict
            sources, rating = [], None
            for other in related.get(version.revision_id, []):
                data = other.field_dict
                if data.get("article_id") != article_pk:
                    continue  # a revision made by other code may hold several stories
                if other.content_type_id == types[BiasRating].pk:
                    rating = {name: data[name] for name in RATING_FIELDS}
                else:
                    sources.append({"pk": data["id"], **{name: data[name] for name in SOURCE_FIELDS}})
        except RevertError:
            result[version.pk] = None
            continue
        sources.sort(key=lambda s: (s["position"], s["pk"]))
        result[version.pk] = Snapshot(_story_fields(story), tuple(sources), rating, story.get("lock_version"))
    return result


def article_versions(article_pk):
    """Every recorded version of one story, newest first."""
    return (
        Version.objects.get_for_object_reference(Article, article_pk)
        .select_related("revision__user")
        .order_by("-pk")
    )


def version_for_lock(article_pk, lock_version: int) -> Version | None:
    """The revision an editor had open when their form carried this lock number (or the newest one
    before it, when saves were made that recorded none)."""
    for version in article_versions(article_pk)[:100]:
        try:
            recorded = version.field_dict.get("lock_version")
        except RevertError:
            continue
        if recorded is not None and recorded <= lock_version:
            return version
    return None


# --- What changed between two snapshots ------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "del", "ins"
    text: str


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: str | None  # None: the first recorded version, nothing to compare with
    new: str
    lines: tuple[tuple[Segment, ...], ...] = ()  # long texts: a line-and-word diff


@dataclass(frozen=True)
class SourceChange:
    kind: str  # "added", "removed", "changed"
    outlet: str
    url: str
    title: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class RatingChange:
    old: str | None
    new: str


@dataclass
class Diff:
    fields: list[FieldChange] = field(default_factory=list)
    sources: list[SourceChange] = field(default_factory=list)
    rating: RatingChange | None = None
    first: bool = False

    def __bool__(self):
        return bool(self.fields or self.sources or self.rating)

    def changed(self, *names) -> bool:
        return any(change.name in names for change in self.fields)


class Names:
    """Section and outlet names for the ids in a set of snapshots, fetched once."""

    def __init__(self, snapshots):
        snapshots = [s for s in snapshots if s is not None]
        self.sections = Category.objects.in_bulk({s.fields["category"] for s in snapshots})
        self.outlets = Source.objects.in_bulk({row["source_id"] for s in snapshots for row in s.sources})

    def section(self, pk) -> str:
        section = self.sections.get(pk)
        return section.name if section else f"section #{pk} (deleted)"

    def outlet(self, pk) -> str:
        outlet = self.outlets.get(pk)
        return outlet.name if outlet else f"outlet #{pk} (deleted)"


def _label(name: str) -> str:
    return capfirst(Article._meta.get_field(name).verbose_name)


def _show(name: str, value, names: Names) -> str:
    if name == "category":
        return names.section(value)
    if name == "status":
        return Article.Status(value).label
    if name == "published_at":
        return local_time(value) if value else "not set (publish time is the moment it is published)"
    if name == "image":
        return PurePosixPath(value).name if value else "no image"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value if value else "(empty)"


_WORDS = re.compile(r"\s+|[^\s]+")


def _word_diff(old: str, new: str) -> tuple[Segment, ...]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    segments = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("del", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("ins", "".join(b[j1:j2])))
    return tuple(segments)


def text_diff(old: str, new: str, context: int = 2) -> tuple[tuple[Segment, ...], ...]:
    """Lines of a long text, changed lines marked word by word; long unchanged runs are cut to
    `context` lines around each change (with Markdown's blank line between paragraphs, 2 shows the
    neighbouring paragraph), an empty line standing for what was left out."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[tuple[Segment, ...]] = []
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            run = a[i1:i2]
            head = run[:context] if n > 0 else []
            tail = run[-context:] if n < len(opcodes) - 1 else []
            kept = [*head, None, *tail] if len(run) > len(head) + len(tail) else run
            lines.extend(() if line is None else (Segment("same", line),) for line in kept)
        elif tag == "replace" and i2 - i1 == j2 - j1:
            lines.extend(_word_diff(x, y) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
        elif tag == "replace":
            lines.append(_word_diff("\n".join(a[i1:i2]), "\n".join(b[j1:j2])))
        elif tag == "delete":
            lines.extend((Segment("del", line),) for line in a[i1:i2])
        else:
            lines.extend((Segment("ins", line),) for line in b[j1:j2])
    return tuple(lines)


def _rating_text(rating: dict | None) -> str:
    if rating is None:
        return "none (no bias bar)"
    method = BiasRating.Method(rating["method"]).label.lower()
    text = f"L {rating['left']}% · C {rating['center']}% · R {rating['right']}%, {method}"
    if rating.get("unrated_sources"):
        text += f" ({rating['unrated_sources']} unrated outlet(s) left out)"
    return text


def _source_changes(old: tuple[dict, ...], new: tuple[dict, ...], names: Names) -> list[SourceChange]:
    old_by_pk = {row["pk"]: row for row in old}
    pairs, added = [], []
    for row in new:
        if row["pk"] in old_by_pk:
            pairs.append((old_by_pk.pop(row["pk"]), row))
        else:
            added.append(row)
    # Rows written afresh (the importer replaces them) still match their old selves by link.
    removed_by_url = {row["url"]: row for row in old_by_pk.values()}
    still_added = []
    for row in added:
        if row["url"] in removed_by_url:
            pairs.append((removed_by_url.pop(row["url"]), row))
        else:
            still_added.append(row)

    def change(kind, row, details=()):
        return SourceChange(kind, names.outlet(row["source_id"]), row["url"], row["title"], tuple(details))

    changes = []
    for before, after in pairs:
        details = []
        if before["source_id"] != after["source_id"]:
            details.append(
                f"outlet: {names.outlet(before['source_id'])} → {names.outlet(after['source_id'])}"
            )
        if before["url"] != after["url"]:
            details.append(f"link: {before['url']} → {after['url']}")
        if before["title"] != after["title"]:
            details.append(f"headline: “{before['title']}” → “{after['title']}”")
        if before["position"] != after["position"]:
            details.append(f"position: {before['position']} → {after['position']}")
        if details:
            changes.append(change("changed", after, details))
    changes.extend(change("added", row) for row in still_added)
    changes.extend(change("removed", row) for row in removed_by_url.values())
    return changes


def diff(old: Snapshot | None, new: Snapshot, names: Names) -> Diff:
    """What changed from `old` to `new`, in words; with no `old`, what the first version held."""
    result = Diff(first=old is None)
    for name in STORY_FIELDS:
        after = new.fields[name]
        if old is None:
            if after not in ("", None, False):
                result.fields.append(FieldChange(name, _label(name), None, _show(name, after, names)))
            continue
        before = old.fields[name]
        if before == after:
            continue
        lines = text_diff(before or "", after or "") if name == "summary" else ()
        result.fields.append(
            FieldChange(name, _label(name), _show(name, before, names), _show(name, after, names), lines)
        )
    result.sources = _source_changes(() if old is None else old.sources, new.sources, names)
    old_rating = None if old is None else old.rating
    if old_rating != new.rating and not (old is None and new.rating is None):
        result.rating = RatingChange(
            None if old is None else _rating_text(old_rating), _rating_text(new.rating)
        )
    return result


@dataclass
class HistoryEntry:
    version: Version
    diff: Diff | None = None  # None: not compared, or the recorded data cannot be read

    @property
    def revision(self):
        return self.version.revision

    @property
    def who(self) -> str:
        return user_label(self.revision.user)

    @property
    def when(self) -> str:
        return local_time(self.revision.date_created)


def history(article_pk, versions, previous: Version | None) -> list[HistoryEntry]:
    """Entries for a page of versions (newest first), each compared with the one recorded before it;
    `previous` is the version before the oldest on the page. A fixed number of queries."""
    versions = list(versions)
    everything = [*versions, *([previous] if previous else [])]
    snaps = snapshots_of(everything, article_pk)
    names = Names(snaps.values())
    entries = []
    for i, version in enumerate(versions):
        before = everything[i + 1] if i + 1 < len(everything) else None
        new = snaps[version.pk]
        old = snaps[before.pk] if before else None
        readable = new is not None and (before is None or old is not None)
        entries.append(HistoryEntry(version, diff(old, new, names) if readable else None))
    return entries


# --- Restoring -------------------------------------------------------------------------------------


class RestoreRefused(Exception):
    """A restore that cannot be done; the message is fit to show the editor. Nothing was changed."""


def conflict_message(article: Article, *, opened: str, viewer=None) -> str:
    """Someone saved the story after an editor (`viewer`) opened it: who and when."""
    if article.updated_by_id is None:
        who = "Someone (an import or a script)"
    elif viewer is not None and article.updated_by_id == viewer.pk:
        who = "You (in another tab or window)"
    else:
        who = user_label(article.updated_by)
    return f"{who} saved this story at {local_time(article.updated_at)} after you opened {opened}."


def restore_preview(article: Article, version: Version, user) -> tuple[Snapshot, Diff, list[str]]:
    """The state a restore would write, the changes it would make, and notes for the editor."""
    target = snapshots_of([version], article.pk)[version.pk]
    if target is None:
        raise RestoreRefused("This revision's recorded data can no longer be read, so it cannot be restored.")
    notes = []
    if not services.can_publish(user) and target.fields["status"] != article.status:
        target = Snapshot(
            {**target.fields, "status": article.status}, target.sources, target.rating, target.lock_version
        )
        notes.append(
            f"The status stays {Article.Status(article.status).label}: only editors can publish or unpublish."
        )
    current = Snapshot.of_article(article)
    return target, diff(current, target, Names([current, target])), notes


def _check_restorable(article: Article, target: Snapshot):
    problems = []
    if not Category.objects.filter(pk=target.fields["category"]).exists():
        problems.append("the section it was in no longer exists")
    if Article.objects.filter(slug=target.fields["slug"]).exclude(pk=article.pk).exists():
        problems.append(f"its web address “{target.fields['slug']}” is now used by another story")
    image = target.fields["image"]
    if image and not article.image.storage.exists(image):
        problems.append(f"its lead image ({PurePosixPath(image).name}) is no longer stored")
    outlets = {row["source_id"] for row in target.sources}
    missing = outlets - set(Source.objects.filter(pk__in=outlets).values_list("pk", flat=True))
    if missing:
        problems.append(f"{len(missing)} of the outlets it cites no longer exist")
    if problems:
        raise RestoreRefused(f"This revision cannot be restored: {'; '.join(problems)}.")


def article_restore(*, article: Article, version: Version, user, lock_version: int) -> Article:
    """Write an earlier revision back as the story's current state, recorded as a new revision.

    The earlier revisions stay as they are. The story goes through the same steps as a save from
    the edit form: renditions of a changed image, the search vector, a computed bias rating and
    the "Updated" time of a live story. `lock_version` is the number the editor saw: a save made
    since then refuses the restore rather than undo work the editor never saw.
    """
    with transaction.atomic(), reversion.create_revision():
        article = Article.objects.select_for_update().get(pk=article.pk)
        if article.lock_version != lock_version:
            raise RestoreRefused(
                conflict_message(article, opened="this page", viewer=user)
                + " Look at the changes below again before you restore."
            )
        if article.status == Article.Status.PUBLISHED and not services.can_publish(user):
            raise PermissionDenied("Only editors can change a published story.")
        target, changes, _notes = restore_preview(article, version, user)
        if not changes:
            raise RestoreRefused(
                "The story is already as it was in this revision: there is nothing to restore."
            )
        _check_restorable(article, target)
        was_live = article.is_published()
        for change in changes.fields:
            # Only what differs: assigning an image, even the same one, makes Django re-read its size.
            setattr(article, Article._meta.get_field(change.name).attname, target.fields[change.name])
        try:
            article.full_clean(exclude=["image"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise RestoreRefused(f"This revision cannot be restored: {' '.join(exc.messages)}") from exc
        article.updated_by = user
        article.lock_version += 1
        try:
            article.save()
        except OSError as exc:
            raise RestoreRefused(
                "The lead image of this revision could not be prepared for the site "
                f"({exc.strerror or exc}). Nothing was changed; try again."
            ) from exc
        article.article_sources.all().delete()
        for row in target.sources:
            ArticleSource(article=article, **{k: row[k] for k in ("pk", *SOURCE_FIELDS)}).save(
                force_insert=True
            )
        if target.rating is None:
            BiasRating.objects.filter(article=article).delete()
        else:
            BiasRating.objects.update_or_create(article=article, defaults=target.rating)
        services.bias_rating_refresh(article=article)
        search_vector_refresh([article.pk])
        if was_live and (changes.changed(*services.CONTENT_FIELDS) or changes.sources or changes.rating):
            services.article_mark_modified(article=article)
        reversion.set_user(user)
        reversion.set_comment(f"Restored the revision of {revision_label(version.revision)}")
        article_recorded(article)
    return article


def article_recorded(article: Article, *, bump_lock: bool = False) -> None:
    """Record the story as it now stands (with its sources and rating) in the open revision.

    Called at the end of a save path: the revision then holds the final state, including what was
    written after the story's own save (sources, a recomputed rating, the "Updated" time).
    `bump_lock` counts the save for optimistic locking when the path has not done so itself.
    """
    if bump_lock:
        Article.objects.filter(pk=article.pk).update(lock_version=F("lock_version") + 1)
    if reversion.is_active():
        reversion.add_to_revision(Article.objects.get(pk=article.pk))
