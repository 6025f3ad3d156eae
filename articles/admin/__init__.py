"""The editors' interface: one module per concern, each registering its models."""

from articles.admin import articles, sections, sources  # noqa: F401
