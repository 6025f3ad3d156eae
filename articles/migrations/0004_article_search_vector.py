"""A stored full-text vector for search, with a GIN index, on PostgreSQL only.

On SQLite the column exists but stays NULL: search there falls back to matching words directly.
Existing stories get their vectors here; new ones at save time (articles.search).
"""

import django.contrib.postgres.search
from django.db import migrations

INDEX = "article_search_gin"
BACKFILL = """
UPDATE articles_article a SET search_vector =
    setweight(to_tsvector('english', a.title), 'A')
    || setweight(to_tsvector('english', a.summary), 'B')
    || setweight(to_tsvector('english', coalesce((
        SELECT string_agg(s.name, ' ') FROM articles_articlesource x
        JOIN articles_source s ON s.id = x.source_id WHERE x.article_id = a.id), '')), 'C')
"""


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON articles_article USING gin (search_vector)"
        )
        schema_editor.execute(BACKFILL)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("articles", "0003_newsroom_groups")]

    operations = [
        migrations.AddField(
            model_name="article",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(add_index, drop_index),
    ]
