"""Every kind of content change purges, from the caching proxy, every answer it changed.

Each test reads every public answer as a reader would (its Surrogate-Key header is what a proxy
files it under), makes one change the way the newsroom makes it, and reads them all again: every
answer whose body changed must carry at least one of the keys the change purged.
"""

import pytest
from django.utils import timezone

from articles.models import Article, ArticleSource, BiasRating, SourceRating
from articles.newsroom.corrections import correction_add
from articles.newsroom.ratings import source_rating_save
from articles.newsroom.stories import article_save, source_changed
from articles.site.cache import surrogate
from tests.factories import SourceFactory
from tests.proxy import newsroom as site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]


def built(committed):
    with committed():
        return site.build()


def fresh(article):
    return Article.objects.get(pk=article.pk)


def saved(article, **options):
    article_save(article=article, user=None, comment="Test change.", **options)


def publish(n, editor):
    story = fresh(n["draft"])
    story.status = Article.Status.PUBLISHED
    saved(story)


def edit(n, editor):
    story = fresh(n["w1"])
    story.title = "Harbour strike ends at dawn"
    saved(story, content_changed=True)


def unpublish(n, editor):
    story = fresh(n["w1"])
    story.status = Article.Status.DRAFT
    saved(story)


def correct(n, editor):
    correction_add(article=n["w1"], note="An earlier version misnamed the port.", user=editor)


def rename_outlet(n, editor):
    outlet = n["left"]
    outlet.name = "Left Ledger Daily"
    outlet.save()
    source_changed(source=outlet, name_changed=True)


def rate_outlet(n, editor):
    rating = SourceRating(
        source=n["centre"], lean="right", effective_from=timezone.localdate(), method="Reviewed again"
    )
    source_rating_save(rating=rating, user=editor)


def add_outlet(n, editor):
    SourceFactory(name="Brand New Bulletin", slug="brand-new-bulletin")


def rename_section(n, editor):
    section = n["world"]
    section.name = "Globe"
    section.save()


def change_bias_bar(n, editor):
    rating = BiasRating.objects.get(article=n["w1"])
    rating.method = BiasRating.Method.EDITORIAL
    rating.left, rating.center, rating.right = 10, 10, 80
    rating.save()


def cite(n, editor):
    def write(story):
        ArticleSource.objects.create(article=story, source=n["left"], url="https://left.example/ferry")
        return True

    saved(fresh(n["w2"]), write=write)


def uncite(n, editor):
    def write(story):
        return ArticleSource.objects.filter(article=story, source=n["right"]).delete()[0] > 0

    saved(fresh(n["w1"]), write=write)


def move(n, editor):
    story = fresh(n["w2"])
    story.category = n["politics"]
    saved(story, content_changed=True)


def delete(n, editor):
    fresh(n["w2"]).delete()


# Each change, with answers that must change (so that the test cannot pass by changing nothing).
CHANGES = {
    "publish": (publish, ["home", "world", "feed", "draft", "left", "api stories", "api draft", "sitemap"]),
    "edit": (edit, ["home", "world", "w1", "feed", "world feed", "api w1", "news sitemap"]),
    "unpublish": (unpublish, ["home", "world", "w1", "left", "right", "feed", "api w1", "api download"]),
    "correction": (correct, ["w1", "feed", "api w1"]),
    "outlet rename": (rename_outlet, ["w1", "left", "sources", "api left", "api w1"]),
    "rating change": (rate_outlet, ["centre", "sources", "api outlets"]),
    "outlet added": (add_outlet, ["sources", "api outlets"]),
    "section rename": (rename_section, ["home", "p1", "politics", "methodology", "feed", "api sections"]),
    "bias bar": (change_bias_bar, ["home", "world", "w1", "left", "api w1"]),
    "citation added": (cite, ["w2", "left", "api stories"]),
    "citation removed": (uncite, ["w1", "right", "api w1"]),
    "moved": (move, ["world", "politics", "w1", "w2", "p1", "world feed", "politics feed"]),
    "deleted": (delete, ["home", "world", "w2", "centre", "feed", "sources"]),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_purges_every_answer_it_changed(change, client, proxy, editor, committed):
    newsroom = built(committed)
    named = site.urls(newsroom)
    before = site.snapshot(client, named)
    for name, answer in before.items():
        if answer.status == 200:  # what a proxy keeps, it can find again by a key
            assert answer.kept_by_a_proxy and answer.keys, (name, answer.control)
        else:
            assert not answer.kept_by_a_proxy, (name, answer.status, answer.control)
    proxy.clear()
    make, expected = CHANGES[change]
    with committed():
        make(newsroom, editor)
    purged = proxy.purged_keys()
    assert len(proxy.purges) == 1  # one purge for the whole save
    after = site.snapshot(client, named)
    changed = [
        name
        for name in named
        if (before[name].status, before[name].body) != (after[name].status, after[name].body)
    ]
    assert set(expected) <= set(changed), f"these did not change: {set(expected) - set(changed)}"
    stale = [name for name in changed if before[name].kept_by_a_proxy and not before[name].keys & purged]
    assert not stale, f"changed but not purged: {stale}; purged {sorted(purged)}"


def test_a_draft_saved_purges_only_its_own_key(client, proxy, committed):
    newsroom = built(committed)
    proxy.clear()
    story = fresh(newsroom["draft"])
    story.title = "Bridge reopens early"
    with committed():
        saved(story, content_changed=True)
    assert proxy.purged_keys() == {surrogate.story(story.pk)}


def test_rescheduling_a_story_purges_the_lists(proxy, committed):
    """A scheduled story shows nowhere yet, but its time bounds how long every page may be kept:
    bringing it forward must drop the pages kept until the old time."""
    newsroom = built(committed)
    story = fresh(newsroom["draft"])
    story.status, story.published_at = Article.Status.PUBLISHED, timezone.now() + timezone.timedelta(hours=2)
    with committed():
        saved(story)
    proxy.clear()
    story.published_at = timezone.now() + timezone.timedelta(minutes=5)
    with committed():
        saved(story)
    assert {surrogate.HOME, surrogate.FEEDS, surrogate.section(story.category_id)} <= proxy.purged_keys()
