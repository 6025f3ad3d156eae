"""Fields another app adds to an outlet in the import format, without articles importing that app.

The arrow points one way: newsdesk imports articles, never the reverse. An app that keeps more
about an outlet (the newsdesk: its feeds, `"feeds": ["https://…"]`) registers an OutletField from
its AppConfig.ready(); the checks, the importer and the export call it by its key. With no app
registered for a key, the key is unknown like any other (an error naming it).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from articles.models import Source


@dataclass(frozen=True)
class OutletField:
    key: str
    # check([(domain, raw value), ...]) -> [(clean value, [problems]), ...], one per outlet in the
    # file that has the key, in order: the whole file at once, so duplicates across outlets and
    # clashes with the database are found in one pass. A problem reads as the rest of a sentence
    # after the outlet's name ("feeds[1]: must be an http:// or https:// address").
    check: Callable[[list[tuple[str, Any]]], list[tuple[Any, list[str]]]]
    # apply(source, clean value) -> whether it changed anything; runs inside the import's transaction.
    apply: Callable[[Source, Any], bool]
    # export([source, ...]) -> {source pk: value} for the outlets that have one (the others are
    # written without the key); one query for the whole export.
    export: Callable[[list[Source]], dict[int, Any]]


_registered: dict[str, OutletField] = {}


def register(field: OutletField) -> None:
    _registered[field.key] = field


def registered() -> dict[str, OutletField]:
    return dict(_registered)
