"""Outlets' undated leans become dated ratings, and every story's bar gets what it rests on.

1. Every outlet with a lean gets one newsroom rating of that lean, in force from the earliest publish
   date of a published story citing it (so every story keeps the balance it was published with), or
   from today when none does; method "Carried over from the outlet's undated lean", confidence medium.
2. Every BiasRating gets as_of (its story's publish date; today for a draft), outlets per side and
   its basis (the format of articles.newsroom.basis), the percentages left as they are.
3. Editors may add, change and remove ratings; Writers may read them.

Self-contained (historical models only): the app's code may change after this migration is written.
"""

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.utils import timezone

CARRIED_OVER = "Carried over from the outlet's undated lean"
LEFT, CENTER, RIGHT = {"left", "lean_left"}, {"center"}, {"right", "lean_right"}
BATCH = 500


def _day(article, today):
    if article.status == "published" and article.published_at is not None:
        return timezone.localdate(article.published_at)
    return today


def ratings_from_leans(apps, schema_editor):
    Source = apps.get_model("articles", "Source")
    SourceRating = apps.get_model("articles", "SourceRating")
    ArticleSource = apps.get_model("articles", "ArticleSource")
    today = timezone.localdate()
    first = {}
    cited = ArticleSource.objects.filter(article__status="published", article__published_at__isnull=False)
    for source_id, moment in cited.values_list("source_id", "article__published_at").iterator():
        day = timezone.localdate(moment)
        if source_id not in first or day < first[source_id]:
            first[source_id] = day
    rated = Source.objects.exclude(bias="unrated").filter(ratings__isnull=True)
    SourceRating.objects.bulk_create(
        (
            SourceRating(
                source_id=pk,
                lean=lean,
                effective_from=min(first.get(pk, today), today),
                rater_kind="newsroom",
                method=CARRIED_OVER,
                confidence="medium",
            )
            for pk, lean in rated.values_list("pk", "bias").iterator()
        ),
        batch_size=BATCH,
    )


def _entry(outlet, name, slug, rating, rater):
    if rating is None:
        return {
            "outlet": outlet, "name": name, "slug": slug, "lean": "unrated", "rating": None, "rater": "",
            "rater_kind": "", "effective_from": None, "confidence": "", "method": "",
        }  # fmt: skip
    return {
        "outlet": outlet, "name": name, "slug": slug, "lean": rating.lean, "rating": rating.pk,
        "rater": rating.rater_name if rating.rater_kind == "external" else rater,
        "rater_kind": rating.rater_kind, "effective_from": rating.effective_from.isoformat(),
        "confidence": rating.confidence, "method": rating.method,
    }  # fmt: skip


def bases(apps, schema_editor):
    BiasRating = apps.get_model("articles", "BiasRating")
    ArticleSource = apps.get_model("articles", "ArticleSource")
    SourceRating = apps.get_model("articles", "SourceRating")
    today, now = timezone.localdate(), timezone.now()
    rater = settings.NEWSAPP_SITE_NAME + " newsroom"
    history = {}
    for rating in SourceRating.objects.order_by("effective_from"):
        history.setdefault(rating.source_id, []).append(rating)
    ratings = list(BiasRating.objects.select_related("article").order_by("pk"))
    for start in range(0, len(ratings), BATCH):
        chunk = ratings[start : start + BATCH]
        citations = {}
        rows = ArticleSource.objects.filter(article_id__in=[r.article_id for r in chunk])
        for row in rows.order_by("position", "pk").values_list(
            "article_id", "source_id", "source__name", "source__slug", "wire_copy"
        ):
            citations.setdefault(row[0], []).append(row[1:])
        for bias in chunk:
            day = _day(bias.article, today)
            outlets, copies, seen = [], [], set()
            voiced = {outlet for outlet, _, _, copy in citations.get(bias.article_id, []) if not copy}
            sides = {"left": 0, "center": 0, "right": 0}
            for outlet, name, slug, _copy in citations.get(bias.article_id, []):
                if outlet in seen:
                    continue
                seen.add(outlet)
                if outlet not in voiced:
                    copies.append({"outlet": outlet, "name": name, "slug": slug})
                    continue
                in_force = [r for r in history.get(outlet, []) if r.effective_from <= day]
                rating = in_force[-1] if in_force else None
                outlets.append(_entry(outlet, name, slug, rating, rater))
                lean = rating.lean if rating else None
                for side, leans in (("left", LEFT), ("center", CENTER), ("right", RIGHT)):
                    sides[side] += lean in leans
            bias.as_of, bias.basis, bias.computed_at = day, {"outlets": outlets, "wire_copies": copies}, now
            bias.outlets_left, bias.outlets_center, bias.outlets_right = (
                sides["left"],
                sides["center"],
                sides["right"],
            )
        BiasRating.objects.bulk_update(
            chunk, ["as_of", "basis", "computed_at", "outlets_left", "outlets_center", "outlets_right"]
        )


def rating_permissions(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="articles", content_type__model="sourcerating")
    for name, actions in (("Editors", ("add", "change", "delete", "view")), ("Writers", ("view",))):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*perms.filter(codename__in=[f"{a}_sourcerating" for a in actions]))


class Migration(migrations.Migration):
    dependencies = [("articles", "0015_outlet_ratings")]

    operations = [
        migrations.RunPython(ratings_from_leans, migrations.RunPython.noop),
        migrations.RunPython(bases, migrations.RunPython.noop),
        migrations.RunPython(rating_permissions, migrations.RunPython.noop),
    ]
