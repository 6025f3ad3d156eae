"""Keep each story's search vector in its row (PostgreSQL's STORAGE MAIN), not in the TOAST table.

A story's row is over 2 kB with its texts, so PostgreSQL moved the biggest value, the search vector
(~750 bytes), out of line: checking whether a story matches then cost a TOAST index probe and a
TOAST page on top of the row. A search walks thousands of rows (articles.search.CANDIDATES), so
that was most of its time (23 ms -> 7 ms for 5,000 rows at 100,000 stories). With MAIN, the
summaries are moved out instead; the list pages never read those, and a story page reads them once.

The ALTER changes how rows are written from now on; the UPDATE rewrites the stored vectors (a new
value, the same content) so that every story gets the new layout: about 10 s per 100,000 stories.
Nothing changes on SQLite.
"""

from django.db import migrations

INLINE = "ALTER TABLE articles_article ALTER COLUMN search_vector SET STORAGE MAIN"
REWRITE = (
    "UPDATE articles_article SET search_vector = search_vector || ''::tsvector "
    "WHERE search_vector IS NOT NULL"
)
OUT_OF_LINE = "ALTER TABLE articles_article ALTER COLUMN search_vector SET STORAGE EXTENDED"


def keep_inline(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INLINE)
        schema_editor.execute(REWRITE)


def allow_out_of_line(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OUT_OF_LINE)


class Migration(migrations.Migration):
    dependencies = [("articles", "0011_content_version")]

    operations = [migrations.RunPython(keep_inline, allow_out_of_line, elidable=False)]
