"""An index holding each story's outlets per side beside its key, so the daily tallies
(coverage.tallies) read a story's voices from the index alone: once the table is vacuumed,
PostgreSQL joins the few hundred stories of a window with index-only probes instead of reading the
whole ratings table (measured at 30,000 stories: a sequential scan without it). It lives here, not in
BiasRating.Meta, because it serves the coverage counts; the columns are the articles app's."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("articles", "0016_ratings_from_leans")]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX coverage_biasrating_voices_idx ON articles_biasrating "
            "(article_id, outlets_left, outlets_center, outlets_right)",
            reverse_sql="DROP INDEX coverage_biasrating_voices_idx",
        )
    ]
