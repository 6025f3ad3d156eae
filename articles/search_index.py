"""What search reads: each story's stored search vector (PostgreSQL), written by the save path.

Title weight A, summary B, the cited outlets' names C, in the `english` configuration; a GIN index
serves the queries (articles.site.search). SQLite has no vectors: its search reads the text itself.
The vector depends on other rows (the outlets' names), so a generated column cannot hold it: the
save path (articles.newsroom.stories) rewrites it after a story or an outlet changes.
"""

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import OuterRef, StringAgg, Subquery, TextField, Value
from django.db.models.functions import Coalesce

from articles.models import Article, ArticleSource

CONFIG = "english"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def refresh(article_ids) -> None:
    """Rewrite the stored search vectors of these stories (a list or a queryset of ids)."""
    if not is_postgres():
        return
    names = (
        ArticleSource.objects.filter(article=OuterRef("pk"))
        .values("article")
        .annotate(names=StringAgg("source__name", delimiter=Value(" ")))
        .values("names")
    )
    Article.objects.filter(pk__in=article_ids).update(
        search_vector=SearchVector("title", weight="A", config=CONFIG)
        + SearchVector("summary", weight="B", config=CONFIG)
        + SearchVector(
            Coalesce(Subquery(names), Value(""), output_field=TextField()), weight="C", config=CONFIG
        )
    )
