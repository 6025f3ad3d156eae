"""Migration 0016: every outlet's undated lean becomes a dated rating (from its first published
story), and every bar gets its basis, as_of and outlets per side, its percentages untouched."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("articles", "0015_outlet_ratings")]
AFTER = [("articles", "0016_ratings_from_leans")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_leans_become_dated_ratings_and_bars_get_their_basis():
    apps = migrate(BEFORE)
    try:
        Source = apps.get_model("articles", "Source")
        Article = apps.get_model("articles", "Article")
        ArticleSource = apps.get_model("articles", "ArticleSource")
        BiasRating = apps.get_model("articles", "BiasRating")
        world = apps.get_model("articles", "Category").objects.get(slug="world")
        left = Source.objects.create(
            name="L", slug="l", domain="l.example", homepage="https://l.example/", bias="left"
        )
        right = Source.objects.create(
            name="R", slug="r", domain="r.example", homepage="https://r.example/", bias="right"
        )
        Source.objects.create(
            name="I", slug="i", domain="i.example", homepage="https://i.example/", bias="center"
        )
        none = Source.objects.create(name="N", slug="n", domain="n.example", homepage="https://n.example/")

        def story(slug, status, published_at, *cited):
            article = Article.objects.create(
                title=slug, slug=slug, category=world, summary="x", status=status, published_at=published_at
            )
            for position, (source, copy) in enumerate(cited):
                ArticleSource.objects.create(
                    article=article, source=source, url=f"https://x.example/{slug}/{position}",
                    position=position, wire_copy=copy,
                )  # fmt: skip
            return article

        old = story(
            "old",
            "published",
            datetime(2021, 4, 5, 9, tzinfo=UTC),
            (left, False),
            (right, False),
            (none, False),
        )
        newer = story("newer", "published", datetime(2023, 1, 1, 9, tzinfo=UTC), (left, False), (right, True))
        draft = story("draft", "draft", None, (right, False))
        BiasRating.objects.create(
            article=old, left=50, center=0, right=50, method="sources", unrated_sources=1
        )
        BiasRating.objects.create(article=newer, left=20, center=30, right=50, method="editorial")
        BiasRating.objects.create(article=draft, left=0, center=0, right=100, method="sources")
        apps = migrate(AFTER)
        SourceRating = apps.get_model("articles", "SourceRating")
        BiasRating = apps.get_model("articles", "BiasRating")
        found = {r.source.slug: r for r in SourceRating.objects.select_related("source")}
        today = timezone.localdate()
        assert {slug: (r.lean, r.effective_from) for slug, r in found.items()} == {
            "l": ("left", date(2021, 4, 5)),
            "r": ("right", date(2021, 4, 5)),
            "i": ("center", today),  # cited by no published story
        }
        assert {(r.rater_kind, r.method, r.confidence) for r in found.values()} == {
            ("newsroom", "Carried over from the outlet's undated lean", "medium")
        }
        old_bar = BiasRating.objects.get(article__slug="old")
        assert (old_bar.left, old_bar.center, old_bar.right, old_bar.as_of) == (50, 0, 50, date(2021, 4, 5))
        assert (old_bar.outlets_left, old_bar.outlets_center, old_bar.outlets_right) == (1, 0, 1)
        assert [o["lean"] for o in old_bar.basis["outlets"]] == ["left", "right", "unrated"]
        assert old_bar.basis["outlets"][0]["rating"] == found["l"].pk
        assert old_bar.basis["outlets"][0]["effective_from"] == "2021-04-05"
        newer_bar = BiasRating.objects.get(article__slug="newer")
        assert (newer_bar.left, newer_bar.center, newer_bar.right) == (20, 30, 50)  # an editor's, kept
        assert newer_bar.basis["wire_copies"] == [{"outlet": right.pk, "name": "R", "slug": "r"}]
        assert (newer_bar.outlets_left, newer_bar.outlets_right) == (1, 0)
        assert BiasRating.objects.get(article__slug="draft").as_of == today
        Permission = apps.get_model("auth", "Permission")
        editors = apps.get_model("auth", "Group").objects.get(name="Editors")
        writers = apps.get_model("auth", "Group").objects.get(name="Writers")
        rating_perms = Permission.objects.filter(codename__endswith="_sourcerating")
        assert set(editors.permissions.filter(pk__in=rating_perms).values_list("codename", flat=True)) == {
            "add_sourcerating", "change_sourcerating", "delete_sourcerating", "view_sourcerating",
        }  # fmt: skip
        assert list(writers.permissions.filter(pk__in=rating_perms).values_list("codename", flat=True)) == [
            "view_sourcerating"
        ]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
