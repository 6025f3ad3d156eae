"""From candidate to story: a draft made in one click, and later pieces added to it as sources.

Stories are written only through articles' one save path (article_save), which checks the user's
right, computes the bias from the sources' leans and records the revision. A lead picture is read
with the newsdesk's one fetcher and goes through the same rules as an upload (articles.images:
decoded, capped, re-encoded, sized); a picture that cannot be used leaves the draft without one.
Network work (the summary, the picture) is done before the candidate is locked, so a slow outlet
never holds a row lock.
"""

import io
import logging
import time
from collections.abc import Callable, Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import Truncator, slugify

from articles import images
from articles.models import Article, ArticleSource
from articles.newsroom.stories import article_save
from newsdesk import summaries
from newsdesk.fetching import FetchError, fetch
from newsdesk.models import Candidate, Piece

logger = logging.getLogger("newsdesk.desk")

# Pictures tried, one piece after another, before the draft goes without: each may take the
# fetcher's whole timeout, and an editor is waiting on the page, so no new try starts once
# PICTURE_SECONDS have gone by.
PICTURE_TRIES = 3
PICTURE_SECONDS = 10.0
URL_MAX = ArticleSource._meta.get_field("url").max_length

Problem = Callable[[str], None]


def draft_story(*, candidate: Candidate, user, on_problem: Problem | None = None) -> Article:
    """Make `candidate` a draft story (see the module's docstring), or return the story it became
    already (a second click makes no second story). The candidate is marked DRAFTED with its story
    in the same transaction as the story's save.

    The section is the candidate's (the desk saves the editor's choice there first). `on_problem`
    is told, in words for the editor, what the draft lacks and why (its picture). Raises
    ValidationError (no section, no pieces, no summary) or PermissionDenied; nothing is written then.
    """
    if user is not None and not user.has_perm("articles.add_article"):
        raise PermissionDenied("You may not create stories.")
    tell = on_problem or (lambda message: None)
    candidate = Candidate.objects.select_related("story").get(pk=candidate.pk)
    if candidate.story is not None:
        return candidate.story
    if candidate.section_id is None:
        raise ValidationError({"section": "Choose the story's section first."})
    pieces = _cited_order(candidate.pieces.select_related("outlet"))
    if not pieces:
        raise ValidationError("This candidate has no pieces left to draw a story from.")
    summary = _summary_text(candidate)
    piece, picture, problem = _lead_picture(pieces)
    if problem:
        tell(problem)
    try:
        return _drafted(
            candidate, user, pieces=pieces, summary=summary, piece=piece, picture=picture, tell=tell
        )
    except (OSError, images.RenditionFailed) as exc:
        if picture is None:
            raise
        # The picture passed the upload rules but could not be stored or sized: the draft goes
        # without it rather than not at all.
        tell(f"The draft has no picture: the one from {piece.outlet.domain} could not be stored ({exc}).")
        return _drafted(candidate, user, pieces=pieces, summary=summary, piece=None, picture=None, tell=tell)


def _drafted(candidate, user, *, pieces, summary, piece, picture, tell) -> Article:
    stored: list[str] = []
    try:
        with transaction.atomic():
            locked = Candidate.objects.select_for_update().get(pk=candidate.pk)
            if locked.story_id is not None:
                return Article.objects.get(pk=locked.story_id)  # the other click made it meanwhile
            article = Article(
                title=Truncator(locked.title).chars(Article._meta.get_field("title").max_length),
                category=locked.section,
                summary=summary,
                ai_summary=True,
                status=Article.Status.DRAFT,
            )
            article.slug = _free_slug(article.title)
            if picture is not None:
                article.image.save(picture.content.name, picture.content, save=False)
                stored.append(article.image.name)
                article.image_alt = Truncator(piece.title).chars(300)
                article.image_credit = piece.outlet.domain
            article.full_clean(exclude=["image"])
            outlets = len({p.outlet_id for p in pieces})
            article_save(
                article=article,
                user=user,
                comment=f"Drafted from the story desk: {_count(len(pieces), 'piece')} from "
                f"{_count(outlets, 'outlet')}.",
                write=lambda article: _cite(article, pieces, cited=(), tell=tell),
            )
            stored.extend(images.rendition_files(article.renditions))
            locked.status = Candidate.Status.DRAFTED
            locked.story = article
            locked.save(update_fields=["status", "story"])
    except BaseException:
        images.delete_files(stored)  # the rows rolled back; the files stored for them go too
        raise
    return article


def pieces_offered(candidate: Candidate):
    """The candidate's pieces its story does not cite yet (they joined after the draft, or came
    with a merge): offered to the story as new sources. Empty when it has no story."""
    if candidate.story_id is None:
        return Piece.objects.none()
    cited = ArticleSource.objects.filter(article_id=candidate.story_id).values("url")
    return candidate.pieces.exclude(url__in=cited).select_related("outlet", "copy_of__outlet")


def sources_add(*, candidate: Candidate, pieces: Iterable[Piece], user, on_problem: Problem | None = None):
    """Cite `pieces` (offered pieces of `candidate`) in the story it became, through the save path:
    a Writer may add to a draft; a live story needs an Editor (article_save refuses otherwise).
    Returns the story. Raises ValidationError when the candidate has no story or a piece is not
    one of its offered pieces."""
    if user is not None and not user.has_perm("articles.change_article"):
        raise PermissionDenied("You may not change stories.")
    tell = on_problem or (lambda message: None)
    wanted = {piece.pk for piece in pieces}
    if not wanted:
        raise ValidationError("Choose the pieces to add as sources.")
    with transaction.atomic():
        locked = Candidate.objects.select_for_update().get(pk=candidate.pk)
        if locked.story_id is None:
            raise ValidationError("This candidate has not become a story yet: make a draft first.")
        article = Article.objects.select_for_update().get(pk=locked.story_id)
        offered = _cited_order(pieces_offered(locked).filter(pk__in=wanted))
        if len(offered) != len(wanted):
            raise ValidationError("Some of the chosen pieces are not offered to this story (cited already?).")
        cited = set(
            Piece.objects.filter(url__in=article.article_sources.values("url")).values_list("pk", flat=True)
        )
        article_save(
            article=article,
            user=user,
            comment=f"Added {_count(len(offered), 'source')} from the story desk.",
            write=lambda article: _cite(article, offered, cited=cited, tell=tell),
        )
    return article


def _cite(article: Article, pieces: list[Piece], *, cited: Iterable[int], tell: Problem) -> bool:
    """Each piece as a source of `article`, after those it has. A copy whose original is cited too
    is marked a wire copy (one piece of reporting counts once in the bias)."""
    have = set(article.article_sources.values_list("url", flat=True))
    ids = set(cited) | {piece.pk for piece in pieces}
    position = max(article.article_sources.values_list("position", flat=True), default=-1) + 1
    rows = []
    for piece in pieces:
        if piece.url in have:
            continue
        if len(piece.url) > URL_MAX:
            tell(f"Not cited: the address of “{piece.title}” ({piece.outlet}) is over {URL_MAX} characters.")
            continue
        have.add(piece.url)
        rows.append(
            ArticleSource(
                article=article,
                source_id=piece.outlet_id,
                url=piece.url,
                title=Truncator(piece.title).chars(300),
                position=position,
                wire_copy=piece.copy_of_id is not None and piece.copy_of_id in ids,
            )
        )
        position += 1
    ArticleSource.objects.bulk_create(rows)
    return bool(rows)


def _cited_order(pieces) -> list[Piece]:
    """Originals first, then copies; each in the order they were published."""
    return sorted(pieces, key=lambda p: (p.copy_of_id is not None, p.published_at, p.pk))


def _summary_text(candidate: Candidate) -> str:
    """The candidate's newest summary, or one made now when it has none or its newest drew on a piece
    no longer in it (split off into another candidate): that summary would give the story a sentence
    from a piece it does not cite."""
    newest = candidate.summaries.prefetch_related("pieces").first()
    here = set(candidate.pieces.values_list("pk", flat=True))
    try:
        if newest is None or not {piece.pk for piece in newest.pieces.all()} <= here:
            newest = summaries.summarise(candidate)
        summary = newest
    except ValueError as exc:  # nothing to summarise
        raise ValidationError(f"No summary could be drafted: {exc}") from exc
    if not summary.text.strip():
        raise ValidationError("No summary could be drafted: the pieces have no text to draw on.")
    return summary.text.strip()


def _lead_picture(pieces: list[Piece]):
    """(piece, CleanImage, "") for the first piece whose picture passes the upload rules, or
    (None, None, what went wrong)."""
    offering = [piece for piece in pieces if piece.image_url][:PICTURE_TRIES]
    if not offering:
        return None, None, "The draft has no picture: none of the pieces offers one."
    failures = []
    started = time.monotonic()
    for piece in offering:
        if failures and time.monotonic() - started > PICTURE_SECONDS:
            failures.append(f"no more pictures tried after {PICTURE_SECONDS:g} seconds")
            break
        try:
            result = fetch(piece.image_url, purpose="image")
            return piece, images.clean_upload(io.BytesIO(result.body), name_hint="lead"), ""
        except FetchError as exc:
            failures.append(f"{piece.outlet.domain}: {exc.reason}")
        except images.ImageRejected as exc:
            failures.append(f"{piece.outlet.domain}: {exc}")
    logger.info("no lead picture for candidate %s: %s", pieces[0].candidate_id, failures)
    return None, None, f"The draft has no picture: {'; '.join(failures)}"


def _free_slug(title: str) -> str:
    """A slug from the title that no story has, with -2, -3... if needed (one query)."""
    limit = Article._meta.get_field("slug").max_length
    base = slugify(title)[: limit - 6].strip("-") or "story"
    taken = set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
