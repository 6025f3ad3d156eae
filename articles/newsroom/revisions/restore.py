"""Restoring an earlier revision of a story: written back through the story's save steps and
recorded as a new revision, never by rewriting the history."""

from pathlib import PurePosixPath

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from reversion.models import Version

from articles.models import Article, ArticleSource, BiasRating, Category, Source
from articles.newsroom.revisions.diff import Diff, Names, diff
from articles.newsroom.revisions.record import (
    SOURCE_FIELDS,
    Snapshot,
    local_time,
    revision_label,
    snapshots_of,
    user_label,
)
from articles.newsroom.stories import CONTENT_FIELDS, article_save
from articles.permissions import can_publish


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
    if not can_publish(user) and target.fields["status"] != article.status:
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

    The earlier revisions stay as they are. The story goes through the save path
    (articles.newsroom.stories.article_save) like a save from the edit form: renditions of a changed
    image, the search vector, a computed bias rating and the "Updated" time of a live story.
    `lock_version` is the number the editor saw: a save made since then refuses the restore rather
    than undo work the editor never saw.
    """
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        if article.lock_version != lock_version:
            raise RestoreRefused(
                conflict_message(article, opened="this page", viewer=user)
                + " Look at the changes below again before you restore."
            )
        if article.status == Article.Status.PUBLISHED and not can_publish(user):
            raise PermissionDenied("Only editors can change a published story.")
        target, changes, _notes = restore_preview(article, version, user)
        if not changes:
            raise RestoreRefused(
                "The story is already as it was in this revision: there is nothing to restore."
            )
        _check_restorable(article, target)
        for change in changes.fields:
            # Only what differs: assigning an image, even the same one, makes Django re-read its size.
            setattr(article, Article._meta.get_field(change.name).attname, target.fields[change.name])
        try:
            article.full_clean(exclude=["image"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise RestoreRefused(f"This revision cannot be restored: {' '.join(exc.messages)}") from exc

        def write(article: Article) -> bool:
            article.article_sources.all().delete()
            for row in target.sources:
                ArticleSource(article=article, **{k: row[k] for k in ("pk", *SOURCE_FIELDS)}).save(
                    force_insert=True
                )
            if target.rating is None:
                BiasRating.objects.filter(article=article).delete()
            else:
                BiasRating.objects.update_or_create(article=article, defaults=target.rating)
            return bool(changes.sources or changes.rating)

        try:
            article_save(
                article=article,
                user=user,
                comment=f"Restored the revision of {revision_label(version.revision)}",
                write=write,
                content_changed=changes.changed(*CONTENT_FIELDS),
            )
        except OSError as exc:
            raise RestoreRefused(
                "The lead image of this revision could not be prepared for the site "
                f"({exc.strerror or exc}). Nothing was changed; try again."
            ) from exc
    return article
