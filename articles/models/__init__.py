"""The content core's models, one module per subject; import them from here."""

from articles.models.newsroom import ContentVersion, Correction, PreviewLink
from articles.models.ratings import RATED_LEANS, SourceRating
from articles.models.sections import Category
from articles.models.sources import Source, domain_validator, http_url, source_logo_path
from articles.models.stories import (
    CARD_DEFERRED,
    Article,
    ArticleQuerySet,
    ArticleSource,
    BiasRating,
    PublishedMonth,
    article_image_path,
)

__all__ = [
    "CARD_DEFERRED",
    "RATED_LEANS",
    "Article",
    "ArticleQuerySet",
    "ArticleSource",
    "BiasRating",
    "Category",
    "ContentVersion",
    "Correction",
    "PreviewLink",
    "PublishedMonth",
    "Source",
    "SourceRating",
    "article_image_path",
    "domain_validator",
    "http_url",
    "source_logo_path",
]
