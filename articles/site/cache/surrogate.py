"""Surrogate keys: the names a caching proxy in front files each public answer under, so that a
content change purges exactly the pages that showed it (articles.site.cache.proxy sends the purges).

One vocabulary, carried by the `Surrogate-Key` response header (space-separated):

- `site`: every HTML page (the navigation's sections, the footer);
- `home`: the front page and its "more stories" pages;
- `section-<category id>`: a section's pages and feeds, and every story page of that section (their
  related stories come from it);
- `story-<article id>`: the story's page, and every listing showing its card;
- `outlet-<source id>`: the outlet's page, and every story page citing it;
- `outlets`: the outlet directory (/sources/); `feeds`: every RSS and Atom feed; `sitemaps`: every
  sitemap; `coverage`: /balance/, /blindspot/ and its feeds, /methodology/; `api`: every /api/ answer.

Views name what they show with add_keys(request, ...); the page cache writes the header (and keeps
it with the page, so a hit carries it too). keys_for_change says which keys a content change
touches. Purging a little too much costs the proxy one more render; missing a key leaves a reader
a stale page, so whenever in doubt a key is added.
"""

from django.db.models.signals import post_delete

HEADER = "Surrogate-Key"

SITE = "site"
HOME = "home"
OUTLETS = "outlets"
FEEDS = "feeds"
SITEMAPS = "sitemaps"
COVERAGE = "coverage"
API = "api"
# What shows something of every story or outlet: any change to what readers see reaches these.
LISTS = (HOME, FEEDS, SITEMAPS, COVERAGE, OUTLETS, API)
EVERYTHING = (SITE, *LISTS)  # every cached answer carries at least one of these

# pre_save leaves the stored row's values here, so a story that moved or went out of view is also
# purged from where it was (post_save only sees the new values).
_BEFORE = "_surrogate_before"


def section(pk) -> str:
    return f"section-{pk}"


def story(pk) -> str:
    return f"story-{pk}"


def outlet(pk) -> str:
    return f"outlet-{pk}"


def add_keys(request, *keys: str) -> None:
    """Name what this answer shows (in the order given, once each)."""
    try:
        found = request.surrogate_keys
    except AttributeError:
        found = request.surrogate_keys = {}
    for key in keys:
        found[key] = None


def story_keys(stories) -> list[str]:
    """The keys of the stories whose cards a listing shows (anything with a pk; None is skipped)."""
    return [story(item.pk) for item in stories if item is not None]


def header_value(request, *, html: bool) -> str:
    """The Surrogate-Key header for the answer to `request` ("" when the view named nothing)."""
    keys = getattr(request, "surrogate_keys", None) or {}
    if html and keys:
        keys = {SITE: None, **keys}
    return " ".join(keys)


# --- What a change touches -------------------------------------------------------------------------


def _models():
    from articles import models  # the cache layer must not import models at start-up

    return models


def remember_before(sender, instance, **kwargs) -> None:
    """pre_save: read what the stored row says of where the change was visible before it."""
    models = _models()
    if instance.pk is None or instance._state.adding:
        return
    fields = {models.Article: ("category_id", "status"), models.ArticleSource: ("article_id", "source_id")}
    wanted = fields.get(sender)
    if wanted:
        row = sender._base_manager.using(kwargs.get("using")).filter(pk=instance.pk).values(*wanted).first()
        setattr(instance, _BEFORE, row)


def _before(instance) -> dict:
    return instance.__dict__.pop(_BEFORE, None) or {}


def _story_place(article_id, using) -> tuple[int | None, bool] | None:
    """(section id, published) of a story as stored now; None when it is gone."""
    models = _models()
    row = (
        models.Article._base_manager.using(using)
        .filter(pk=article_id)
        .values_list("category_id", "status")
        .first()
    )
    return None if row is None else (row[0], row[1] == models.Article.Status.PUBLISHED)


def _article_keys(instance, before: dict, using, deleted: bool) -> set[str]:
    published = instance.Status.PUBLISHED
    keys = {story(instance.pk)}
    # A draft (before and after) shows nowhere. A scheduled story counts as published: moving its
    # time moves the moment every cached page may be kept until (pagecache.keep_seconds).
    if instance.status != published and before.get("status", instance.status) != published:
        return keys
    keys.update(LISTS)
    keys.add(section(instance.category_id))
    if before.get("category_id") is not None:
        keys.add(section(before["category_id"]))
    if not deleted:  # a deleted story's citations went first, each with its own outlet key
        citations = _models().ArticleSource._base_manager.using(using).filter(article_id=instance.pk)
        keys.update(outlet(pk) for pk in citations.values_list("source_id", flat=True).distinct())
    return keys


def _story_part_keys(sender, instance, before: dict, using) -> set[str]:
    """A citation, a bias rating or a correction: shown with the story and on its section's pages
    (cards, the section's balance, related stories), and counted by coverage and the API."""
    models = _models()
    article_ids = {instance.article_id, before.get("article_id")} - {None}
    keys = {story(pk) for pk in article_ids}
    places = [_story_place(pk, using) for pk in article_ids]
    if all(place is not None and not place[1] for place in places):
        return keys  # a draft's part shows nowhere (an unpublish saves the story too, with every key)
    keys.update((COVERAGE, API))
    keys.update(section(place[0]) for place in places if place is not None)
    if any(place is None for place in places):  # the story went meanwhile: wherever it was
        keys.update(LISTS)
    if sender is models.ArticleSource:
        # The outlet's page lists the story; the directory counts its recent stories.
        keys.update(outlet(pk) for pk in {instance.source_id, before.get("source_id")} - {None})
        keys.add(OUTLETS)
    elif sender is models.Correction:
        keys.update((FEEDS, SITEMAPS))  # the story's "updated" time
    return keys


def keys_for_change(sender, instance, **kwargs) -> set[str]:
    """The keys of every answer a save or a delete of `instance` (one of the content models, as
    post_save and post_delete send it) may have changed."""
    models = _models()
    using = kwargs.get("using")
    before = _before(instance)
    if sender is models.Article:
        return _article_keys(instance, before, using, deleted=kwargs.get("signal") is post_delete)
    if sender in (models.ArticleSource, models.BiasRating, models.Correction):
        return _story_part_keys(sender, instance, before, using)
    if sender is models.Source:
        # Its name, logo and lean show on its page, every story page citing it (outlet-), the
        # directory, the balance's top outlets and the API; a listing's card shows no outlet.
        return {outlet(instance.pk), OUTLETS, COVERAGE, API}
    if sender is models.SourceRating:
        return {outlet(instance.source_id), OUTLETS, COVERAGE, API}
    if sender is models.Category:
        # Its name is on every page (the navigation), every card, feed, sitemap and API story.
        return {*EVERYTHING, section(instance.pk)}
    return set(EVERYTHING)  # a content model this module does not know yet: everything
