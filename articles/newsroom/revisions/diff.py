"""What changed between two recorded states of a story, in plain words for the History pages."""

import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.utils.text import capfirst
from reversion.models import Version

from articles.models import Article, BiasRating, Category, Source
from articles.newsroom.revisions.record import STORY_FIELDS, Snapshot, local_time, snapshots_of, user_label


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "del", "ins"
    text: str


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: str | None  # None: the first recorded version, nothing to compare with
    new: str
    lines: tuple[tuple[Segment, ...], ...] = ()  # long texts: a line-and-word diff


@dataclass(frozen=True)
class SourceChange:
    kind: str  # "added", "removed", "changed"
    outlet: str
    url: str
    title: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class RatingChange:
    old: str | None
    new: str


@dataclass
class Diff:
    fields: list[FieldChange] = field(default_factory=list)
    sources: list[SourceChange] = field(default_factory=list)
    rating: RatingChange | None = None
    first: bool = False

    def __bool__(self):
        return bool(self.fields or self.sources or self.rating)

    def changed(self, *names) -> bool:
        return any(change.name in names for change in self.fields)


class Names:
    """Section and outlet names for the ids in a set of snapshots, fetched once."""

    def __init__(self, snapshots):
        snapshots = [s for s in snapshots if s is not None]
        self.sections = Category.objects.in_bulk({s.fields["category"] for s in snapshots})
        self.outlets = Source.objects.in_bulk({row["source_id"] for s in snapshots for row in s.sources})

    def section(self, pk) -> str:
        section = self.sections.get(pk)
        return section.name if section else f"section #{pk} (deleted)"

    def outlet(self, pk) -> str:
        outlet = self.outlets.get(pk)
        return outlet.name if outlet else f"outlet #{pk} (deleted)"


def _label(name: str) -> str:
    return capfirst(Article._meta.get_field(name).verbose_name)


def _show(name: str, value, names: Names) -> str:
    if name == "category":
        return names.section(value)
    if name == "status":
        return Article.Status(value).label
    if name == "published_at":
        return local_time(value) if value else "not set (publish time is the moment it is published)"
    if name == "image":
        return PurePosixPath(value).name if value else "no image"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value if value else "(empty)"


_WORDS = re.compile(r"\s+|[^\s]+")


def _word_diff(old: str, new: str) -> tuple[Segment, ...]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    segments = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("del", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("ins", "".join(b[j1:j2])))
    return tuple(segments)


def text_diff(old: str, new: str, context: int = 2) -> tuple[tuple[Segment, ...], ...]:
    """Lines of a long text, changed lines marked word by word; long unchanged runs are cut to
    `context` lines around each change (with Markdown's blank line between paragraphs, 2 shows the
    neighbouring paragraph), an empty line standing for what was left out."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[tuple[Segment, ...]] = []
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            run = a[i1:i2]
            head = run[:context] if n > 0 else []
            tail = run[-context:] if n < len(opcodes) - 1 else []
            kept = [*head, None, *tail] if len(run) > len(head) + len(tail) else run
            lines.extend(() if line is None else (Segment("same", line),) for line in kept)
        elif tag == "replace" and i2 - i1 == j2 - j1:
            lines.extend(_word_diff(x, y) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
        elif tag == "replace":
            lines.append(_word_diff("\n".join(a[i1:i2]), "\n".join(b[j1:j2])))
        elif tag == "delete":
            lines.extend((Segment("del", line),) for line in a[i1:i2])
        else:
            lines.extend((Segment("ins", line),) for line in b[j1:j2])
    return tuple(lines)


def _rating_text(rating: dict | None) -> str:
    if rating is None:
        return "none (no bias bar)"
    method = BiasRating.Method(rating["method"]).label.lower()
    text = f"L {rating['left']}% · C {rating['center']}% · R {rating['right']}%, {method}"
    if rating.get("unrated_sources"):
        text += f" ({rating['unrated_sources']} unrated outlet(s) left out)"
    return text


WIRE_COPY_MARKED = "marked a wire copy"


def _copy_note(row: dict) -> tuple[str, ...]:
    return (WIRE_COPY_MARKED,) if row["wire_copy"] else ()


def _source_changes(old: tuple[dict, ...], new: tuple[dict, ...], names: Names) -> list[SourceChange]:
    old_by_pk = {row["pk"]: row for row in old}
    pairs, added = [], []
    for row in new:
        if row["pk"] in old_by_pk:
            pairs.append((old_by_pk.pop(row["pk"]), row))
        else:
            added.append(row)
    # Rows written afresh (the importer replaces them) still match their old selves by link.
    removed_by_url = {row["url"]: row for row in old_by_pk.values()}
    still_added = []
    for row in added:
        if row["url"] in removed_by_url:
            pairs.append((removed_by_url.pop(row["url"]), row))
        else:
            still_added.append(row)

    def change(kind, row, details=()):
        return SourceChange(kind, names.outlet(row["source_id"]), row["url"], row["title"], tuple(details))

    changes = []
    for before, after in pairs:
        details = []
        if before["source_id"] != after["source_id"]:
            details.append(
                f"outlet: {names.outlet(before['source_id'])} → {names.outlet(after['source_id'])}"
            )
        if before["url"] != after["url"]:
            details.append(f"link: {before['url']} → {after['url']}")
        if before["title"] != after["title"]:
            details.append(f"headline: “{before['title']}” → “{after['title']}”")
        if before["position"] != after["position"]:
            details.append(f"position: {before['position']} → {after['position']}")
        if before["wire_copy"] != after["wire_copy"]:
            details.append(WIRE_COPY_MARKED if after["wire_copy"] else "no longer marked a wire copy")
        if details:
            changes.append(change("changed", after, details))
    changes.extend(change("added", row, _copy_note(row)) for row in still_added)
    changes.extend(change("removed", row, _copy_note(row)) for row in removed_by_url.values())
    return changes


def diff(old: Snapshot | None, new: Snapshot, names: Names) -> Diff:
    """What changed from `old` to `new`, in words; with no `old`, what the first version held."""
    result = Diff(first=old is None)
    for name in STORY_FIELDS:
        after = new.fields[name]
        if old is None:
            if after not in ("", None, False):
                result.fields.append(FieldChange(name, _label(name), None, _show(name, after, names)))
            continue
        before = old.fields[name]
        if before == after:
            continue
        lines = text_diff(before or "", after or "") if name == "summary" else ()
        result.fields.append(
            FieldChange(name, _label(name), _show(name, before, names), _show(name, after, names), lines)
        )
    result.sources = _source_changes(() if old is None else old.sources, new.sources, names)
    old_rating = None if old is None else old.rating
    if old_rating != new.rating and not (old is None and new.rating is None):
        result.rating = RatingChange(
            None if old is None else _rating_text(old_rating), _rating_text(new.rating)
        )
    return result


@dataclass
class HistoryEntry:
    version: Version
    diff: Diff | None = None  # None: not compared, or the recorded data cannot be read

    @property
    def revision(self):
        return self.version.revision

    @property
    def who(self) -> str:
        return user_label(self.revision.user)

    @property
    def when(self) -> str:
        return local_time(self.revision.date_created)


def history(article_pk, versions, previous: Version | None) -> list[HistoryEntry]:
    """Entries for a page of versions (newest first), each compared with the one recorded before it;
    `previous` is the version before the oldest on the page. A fixed number of queries."""
    versions = list(versions)
    everything = [*versions, *([previous] if previous else [])]
    snaps = snapshots_of(everything, article_pk)
    names = Names(snaps.values())
    entries = []
    for i, version in enumerate(versions):
        before = everything[i + 1] if i + 1 < len(everything) else None
        new = snaps[version.pk]
        old = snaps[before.pk] if before else None
        readable = new is not None and (before is None or old is not None)
        entries.append(HistoryEntry(version, diff(old, new, names) if readable else None))
    return entries
