"""Listing indexes end with the id, the tie-breaker of every listing's order (-published_at, -id), so a
page and a keyset cursor are read straight from the index, without a sort."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0006_source_logo_small"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="article",
            name="article_status_pub_idx",
        ),
        migrations.RemoveIndex(
            model_name="article",
            name="article_section_pub_idx",
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(fields=["status", "-published_at", "-id"], name="article_live_idx"),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                fields=["category", "status", "-published_at", "-id"], name="article_section_live_idx"
            ),
        ),
    ]
