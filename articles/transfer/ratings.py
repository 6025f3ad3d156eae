"""Outlet ratings in and out as CSV or JSON, with their provenance (who rated, how, how sure).

One row per rating: COLUMNS below, the outlet named by its domain. CSV has a header row; JSON is
`{"ratings": [{"domain": ..., "lean": ..., ...}, ...]}`. An import checks every row first and lists
every problem with its row; anything wrong and nothing is saved. A row matches a stored rating by
outlet and day (one rating per outlet per day): the same values change nothing, others update it,
a new day adds one. Ratings not in the file are kept (a file is not the whole history).
"""

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from articles.models import RATED_LEANS, Source, SourceRating
from articles.newsroom.ratings import ratings_changed
from articles.transfer.checks import ImportFailed, printable

COLUMNS = (
    "domain", "lean", "effective_from", "rater_kind", "rater_name", "method", "confidence", "note", "link",
)  # fmt: skip
REQUIRED = frozenset({"domain", "lean", "effective_from", "method"})
RATING_FIELDS = COLUMNS[1:]  # a rating's own values, as the model names them
FORMATS = ("csv", "json")
MAX_FILE_BYTES = 8_000_000
MAX_ROWS = 50_000
MAX_LISTED = 200  # problems listed before "and N more"
_LEANS = [value for value, _ in RATED_LEANS]


@dataclass
class RatingsImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stories_recomputed: int = 0
    published_kept: int = 0  # live stories dated in a changed span that keep their balance
    outlets: set = field(default_factory=set)

    def __str__(self):
        return (
            f"ratings: {self.created} created, {self.updated} updated, {self.unchanged} unchanged; "
            f"{self.stories_recomputed} stories not yet live recomputed, {self.published_kept} published "
            "stories keep their balance (recompute them from the story list if they should change)"
        )


def rating_values(rating: SourceRating) -> dict[str, str]:
    """A rating as a row (every value a string, the date as YYYY-MM-DD)."""
    return {
        "domain": rating.source.domain,
        "lean": rating.lean,
        "effective_from": rating.effective_from.isoformat(),
        "rater_kind": rating.rater_kind,
        "rater_name": rating.rater_name,
        "method": rating.method,
        "confidence": rating.confidence,
        "note": rating.note,
        "link": rating.link,
    }


def export_ratings(*, fmt: str, ratings=None) -> str:
    """Every rating (or those of `ratings`, a queryset) as CSV or JSON text, by outlet then date."""
    ratings = SourceRating.objects.all() if ratings is None else ratings
    rows = [
        rating_values(rating)
        for rating in ratings.select_related("source").order_by("source__domain", "effective_from")
    ]
    if fmt == "json":
        return json.dumps({"ratings": rows}, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# --- Checking ---------------------------------------------------------------------------------


def _text(value: Any, column: str, problems: list[str], max_length: int | None = None) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(f"'{column}' must be text")
        return ""
    value = value.strip()
    if "\x00" in value:
        problems.append(f"'{column}' contains a NUL character")
        return ""
    if max_length and len(value) > max_length:
        problems.append(f"'{column}' is {len(value)} characters long; the limit is {max_length}")
    return value


def _choice(value: str, column: str, allowed, problems: list[str], default: str = "") -> str:
    value = value or default
    if value not in allowed:
        problems.append(f"'{column}': {printable(value)[:40]!r} is not one of {', '.join(allowed)}")
    return value


def _day(value: str, problems: list[str]) -> date | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems.append(f"'effective_from': {printable(value)[:40]!r} is not a date such as 2024-03-01")
        return None
    if day > timezone.localdate():
        problems.append(f"'effective_from': {day:%Y-%m-%d} is in the future; a rating takes effect when made")
        return None
    return day


def check_rating(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """One rating's values (without the outlet) from a row or a JSON object, and its problems."""
    if not isinstance(raw, dict):
        return {}, ["must be an object with the rating's fields"]
    problems: list[str] = []
    field_of = {f.name: f for f in SourceRating._meta.get_fields()}
    text = {
        key: _text(raw.get(key), key, problems, getattr(field_of[key], "max_length", None))
        for key in RATING_FIELDS
    }
    for key in sorted(REQUIRED - {"domain"}):
        if key not in raw or raw[key] is None or (isinstance(raw[key], str) and not raw[key].strip()):
            problems.append(f"'{key}' is required")
    kinds, confidences = SourceRating.RaterKind.values, SourceRating.Confidence.values
    values: dict[str, Any] = {
        "lean": _choice(text["lean"], "lean", _LEANS, problems) if text["lean"] else "",
        "effective_from": _day(text["effective_from"], problems) if text["effective_from"] else None,
        "rater_kind": _choice(text["rater_kind"], "rater_kind", kinds, problems, "newsroom"),
        "rater_name": text["rater_name"],
        "method": text["method"],
        "confidence": _choice(text["confidence"], "confidence", confidences, problems, "medium"),
        "note": text["note"],
        "link": text["link"],
    }
    if values["rater_kind"] == SourceRating.RaterKind.EXTERNAL and not values["rater_name"]:
        problems.append("'rater_name' is required for an external rater: readers see who rated the outlet")
    if values["link"]:
        try:
            field_of["link"].run_validators(values["link"])
        except ValidationError:
            problems.append(f"'link' must be an http:// or https:// address, got {values['link'][:80]!r}")
    return values, problems


def check_rows(rows: list[tuple[str, Any]]) -> list[tuple[str, Source, dict]]:
    """Every row checked, with the outlets and duplicate days across the file: (where, outlet,
    values) for each row, or ImportFailed listing every problem with its row."""
    domains = {
        raw.get("domain").strip().lower()
        for _, raw in rows
        if isinstance(raw, dict) and isinstance(raw.get("domain"), str)
    }
    outlets = {source.domain: source for source in Source.objects.filter(domain__in=domains)}
    problems, checked, seen = [], [], {}
    for where, raw in rows:
        values, row_problems = check_rating(raw)
        domain = raw.get("domain") if isinstance(raw, dict) else None
        domain = domain.strip().lower() if isinstance(domain, str) else ""
        source = outlets.get(domain)
        if not domain:
            row_problems.insert(0, "'domain' is required (the outlet's domain, such as bbc.co.uk)")
        elif source is None:
            row_problems.insert(0, f"'domain': no outlet with domain {printable(domain)[:80]!r}")
        if source is not None and values.get("effective_from") is not None:
            key = (domain, values["effective_from"])
            if key in seen:
                row_problems.append(
                    f"a second rating of {domain} on {key[1]:%Y-%m-%d} (also in {seen[key]}): "
                    "one rating per outlet per day"
                )
            seen.setdefault(key, where)
        problems += [f"{where}: {problem}" for problem in row_problems]
        checked.append((where, source, values))
    if problems:
        raise ImportFailed(_listed(problems))
    return checked


def _listed(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_LISTED:
        return problems
    return [*problems[:MAX_LISTED], f"and {len(problems) - MAX_LISTED} more problems"]


# --- Reading files ----------------------------------------------------------------------------


def read_rows(data: bytes, *, name: str, fmt: str | None = None) -> list[tuple[str, Any]]:
    """The rows of a ratings file as (where, raw values), or ImportFailed naming what is wrong
    with the file itself (size, encoding, format, columns)."""
    fmt = fmt or ("json" if name.lower().endswith(".json") else "csv")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFailed(
            [f"{name}: the file is over the limit of {MAX_FILE_BYTES / 1e6:.0f} MB: split it into several"]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    rows = _json_rows(text, name) if fmt == "json" else _csv_rows(text, name)
    if len(rows) > MAX_ROWS:
        raise ImportFailed([f"{name}: {len(rows)} ratings; the limit is {MAX_ROWS} a file: split it"])
    if not rows:
        raise ImportFailed([f"{name}: no ratings in the file"])
    return rows


def _json_rows(text: str, name: str) -> list[tuple[str, Any]]:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ImportFailed([f"{name}: not valid JSON{where}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("ratings"), list):
        raise ImportFailed([f'{name}: must be a JSON object {{"ratings": [...]}}'])
    problems = [f"{name}: unknown field '{printable(str(key))}'" for key in document if key != "ratings"]
    rows = []
    for i, raw in enumerate(document["ratings"]):
        where = f"ratings[{i}]"
        if isinstance(raw, dict):
            problems += [f"{where}: unknown field '{printable(str(k))}'" for k in raw if k not in COLUMNS]
        rows.append((where, raw))
    if problems:
        raise ImportFailed(_listed(problems))
    return rows


def _csv_rows(text: str, name: str) -> list[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in reader.fieldnames or []]
        problems = []
        if missing := [column for column in COLUMNS if column in REQUIRED and column not in header]:
            problems.append(
                f"{name}: missing columns: {', '.join(missing)} (the header row names {', '.join(COLUMNS)})"
            )
        if unknown := [column for column in header if column not in COLUMNS]:
            problems.append(f"{name}: unknown columns: {', '.join(printable(c)[:40] for c in unknown)}")
        if problems:
            raise ImportFailed(problems)
        reader.fieldnames = header
        rows = []
        for raw in reader:
            where = f"row {reader.line_num}"
            if None in raw:  # more cells than the header names
                raise ImportFailed([f"{name}: {where}: more cells than columns"])
            rows.append((where, raw))
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as exc:
        raise ImportFailed([f"{name}: not a readable CSV file ({exc}) at line {reader.line_num}"]) from None
    return rows


# --- Applying ---------------------------------------------------------------------------------


def apply_ratings(checked: list[tuple[Source, dict]], *, user) -> RatingsImport:
    """Write checked ratings (inside the caller's transaction), then follow each outlet once."""
    result = RatingsImport()
    starts: dict[int, tuple[Source, date]] = {}
    stored = {
        (r.source_id, r.effective_from): r
        for r in SourceRating.objects.filter(source__in={source for source, _ in checked})
    }
    for source, values in checked:
        rating = stored.get((source.pk, values["effective_from"]))
        if rating is not None and all(getattr(rating, key) == value for key, value in values.items()):
            result.unchanged += 1
            continue
        if rating is None:
            rating = SourceRating(source=source, created_by=user)
            result.created += 1
        else:
            result.updated += 1
        for key, value in values.items():
            setattr(rating, key, value)
        rating.full_clean()
        rating.save()
        start = min(values["effective_from"], starts.get(source.pk, (source, date.max))[1])
        starts[source.pk] = (source, start)
    for source, start in starts.values():
        change = ratings_changed(source=source, start=start)
        result.stories_recomputed += change.recomputed
        result.published_kept += change.published_kept
        result.outlets.add(source.pk)
    return result


def import_ratings(
    data: bytes, *, name: str, fmt: str | None = None, dry_run: bool = False, user=None
) -> RatingsImport:
    """Check a whole ratings file, then save it in one transaction (or, with dry_run, report what it
    would do and save nothing). Raises ImportFailed listing every problem; nothing is saved then."""
    checked = check_rows(read_rows(data, name=name, fmt=fmt))
    with transaction.atomic():
        result = apply_ratings([(source, values) for _, source, values in checked], user=user)
        if dry_run:
            transaction.set_rollback(True)
    return result


def import_ratings_file(path: Path, **kwargs) -> RatingsImport:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)  # enough to tell a file over the limit
    except FileNotFoundError:
        raise ImportFailed([f"{path}: file not found"]) from None
    except OSError as exc:
        raise ImportFailed([f"{path}: cannot be read ({exc.strerror})"]) from None
    return import_ratings(data, name=str(path), **kwargs)
