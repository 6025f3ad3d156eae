"""Revisions of stories: what django-reversion records, and the story as a revision recorded it.

A revision holds the story with its sources and its bias rating (`follow`), so one revision tells
the whole story as it stood. Every save path (the admin, the bulk publish actions, the importer, a
restore) records one revision per story and counts the save in `Article.lock_version`.
Differences between revisions: revision_diff; restoring one: revision_restore.
"""

from dataclasses import dataclass
from datetime import datetime

import reversion
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.dateformat import format as date_format
from reversion.errors import RevertError
from reversion.models import Version

from articles.models import Article, ArticleSource, BiasRating

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
# A revision recorded before wire_copy existed reads it as False (reversion fills the default).
SOURCE_FIELDS = ("source_id", "url", "title", "position", "wire_copy")
RATING_FIELDS = ("left", "center", "right", "method", "unrated_sources")
NO_USER = "no user (an import or a script)"


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


def article_recorded(article: Article) -> None:
    """Record the story as it now stands (with its sources and rating) in the open revision.

    Called at the end of the save path (articles.newsroom.stories.article_save): the revision then
    holds the final state, including what was written after the story's own save (sources, a
    recomputed rating, the "Updated" time).
    """
    if reversion.is_active():
        reversion.add_to_revision(Article.objects.get(pk=article.pk))
