"""The editors' interface: one module per concern, each registering its models."""

from . import articles, sources  # noqa: F401
