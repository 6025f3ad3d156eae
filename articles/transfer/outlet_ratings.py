"""An outlet's rating history and country in the story import format: `"sources": [{"domain": ..., "ratings":
[{"lean": ..., "effective_from": "YYYY-MM-DD", "rater_kind": ..., ...}]}]`, the same values as a
ratings file's row (articles.transfer.ratings) without the domain.

Registered by ArticlesConfig.ready like any outlet field (articles.transfer.outlet_fields). An import
adds and updates the ratings it lists and keeps the others; an export writes the whole history.
`"country"` is the outlet's ISO 3166 code ("GB"), "" for none.
"""

from typing import Any

from django_countries import countries

from articles.models import Source, SourceRating
from articles.transfer.checks import printable
from articles.transfer.outlet_fields import OutletField
from articles.transfer.ratings import RATING_FIELDS, apply_ratings, check_rating, rating_values


def check_ratings(items: list[tuple[str, Any]]) -> list[tuple[list[dict], list[str]]]:
    results = []
    for _domain, raw in items:
        if not isinstance(raw, list):
            results.append(([], ["field 'ratings' must be a list of ratings"]))
            continue
        clean, problems, days = [], [], set()
        for i, entry in enumerate(raw):
            where = f"field 'ratings'[{i}]"
            values, entry_problems = check_rating(entry)
            if isinstance(entry, dict):
                unknown = sorted(set(entry) - set(RATING_FIELDS))
                entry_problems += [f"unknown field '{printable(str(key))}'" for key in unknown]
            day = values.get("effective_from")
            if day is not None and day in days:
                entry_problems.append(f"a second rating on {day:%Y-%m-%d}: one rating per outlet per day")
            days.add(day)
            problems += [f"{where}: {problem}" for problem in entry_problems]
            clean.append(values)
        results.append((clean, problems))
    return results


def apply_outlet_ratings(source: Source, ratings: list[dict]) -> bool:
    result = apply_ratings([(source, values) for values in ratings], user=None)
    return bool(result.created or result.updated)


def export_outlet_ratings(sources: list[Source]) -> dict[int, list[dict]]:
    history: dict[int, list[dict]] = {}
    ratings = SourceRating.objects.filter(source__in=sources).select_related("source")
    for rating in ratings.order_by("source_id", "effective_from"):
        values = rating_values(rating)
        del values["domain"]
        history.setdefault(rating.source_id, []).append(values)
    return history


RATINGS = OutletField(
    key="ratings", check=check_ratings, apply=apply_outlet_ratings, export=export_outlet_ratings
)


def check_countries(items: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    results = []
    for _domain, raw in items:
        code = raw.strip().upper() if isinstance(raw, str) else None
        if code is None or (code and code not in countries):
            shown = printable(str(raw))[:20]
            results.append(("", [f"field 'country': {shown!r} is not a two-letter country code such as GB"]))
        else:
            results.append((code, []))
    return results


def apply_country(source: Source, code: str) -> bool:
    if source.country == code:
        return False
    source.country = code
    source.save(update_fields=["country"])
    return True


def export_countries(sources: list[Source]) -> dict[int, str]:
    return {source.pk: source.country.code for source in sources if source.country}


COUNTRY = OutletField(key="country", check=check_countries, apply=apply_country, export=export_countries)
