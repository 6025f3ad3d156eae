"""Public corrections of live stories: dated notes, appended and never rewritten in place.

A correction is a public record, so the newsroom adds to it and does not edit it; a mistaken note is
removed only through the Correction admin by someone holding the delete permission.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from articles.models import Article, Correction
from articles.newsroom.stories import article_save
from articles.permissions import can_publish

NOT_PUBLIC = (
    "This story is not public yet, so there is nothing to correct: change the text itself. Correction "
    "notes are for stories readers have already seen."
)
GOING_OFF_SITE = (
    "This save takes the story off the site (back to draft, or a publish time in the future), so "
    "readers would not see the note. Keep the story live or leave the note empty."
)


def correction_refusal(article: Article, *, status: str, published_at) -> str | None:
    """Why a correction note cannot go with this save of `article` (its stored state), or None.

    `status` and `published_at` are what the save will leave: the note must be about a story readers
    have seen, and it must stay in front of them.
    """
    if not article.is_published():
        return NOT_PUBLIC
    stays_live = status == Article.Status.PUBLISHED and (
        published_at is None or published_at <= timezone.now()
    )
    return None if stays_live else GOING_OFF_SITE


def correction_note(*, article: Article, note: str, user) -> Correction:
    """A public correction of `article`, checked and not yet saved: article_save appends it, dated
    with the story's new "Updated" time."""
    if not can_publish(user):
        raise PermissionDenied("Only editors can publish corrections.")
    if not article.is_published():
        raise ValidationError({"note": NOT_PUBLIC})
    correction = Correction(article=article, note=note.strip(), created_by=user)
    correction.full_clean()  # before anything is written: a refused note changes nothing
    return correction


@transaction.atomic
def correction_add(*, article: Article, note: str, user) -> Correction:
    """Append a public correction to a live story and mark the story updated: readers see "Updated"
    and the note with its date, feeds and JSON-LD a new modified time."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    correction = correction_note(article=article, note=note, user=user)
    article_save(article=article, user=user, comment=f"Correction: {correction.note}", correction=correction)
    return correction
