"""The newsroom dashboard on the admin index: how many stories are where, what goes live next, what
went live last, and how this week's coverage leans in each section.

Seven queries whatever the size of the archive: three counts, the queue, the latest stories, the
sections, and one grouped sum for the balance chart. Visibility comes from the queryset rules
(`published()`, `scheduled()`), never from a copy of them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from articles.bias import largest_remainder
from articles.models import Article, Category

QUEUE_SIZE = 10
RECENT_SIZE = 8
BALANCE_DAYS = 7

# Only what the dashboard shows; a story's text and search vector are most of its row's bytes.
LIST_FIELDS = ("title", "slug", "status", "published_at", "category__name", "category__slug")


@dataclass(frozen=True)
class Segment:
    key: str  # l, c, r: the CSS class suffix shared with the legend
    word: str
    percent: int
    x: int


@dataclass(frozen=True)
class SectionBalance:
    section: Category
    stories: int
    left: int = 0
    center: int = 0
    right: int = 0

    @property
    def segments(self) -> list[Segment]:
        out, x = [], 0
        for key, word, value in (
            ("l", "left", self.left),
            ("c", "center", self.center),
            ("r", "right", self.right),
        ):
            out.append(Segment(key, word, value, x))
            x += value
        return out

    @property
    def description(self) -> str:
        """The bar in words, for screen readers and tooltips."""
        if not self.stories:
            return f"{self.section.name}: no rated stories in the last {BALANCE_DAYS} days"
        noun = "story" if self.stories == 1 else "stories"
        shares = ", ".join(f"{s.word} {s.percent}%" for s in self.segments)
        return f"{self.section.name}: {self.stories} {noun}, {shares}"


@dataclass(frozen=True)
class Dashboard:
    drafts: int
    scheduled: int
    live: int
    queue: list[Article]
    recent: list[Article]
    balance: list[SectionBalance]
    balance_days: int = BALANCE_DAYS

    @property
    def more_scheduled(self) -> int:
        return max(0, self.scheduled - len(self.queue))


def coverage_balance(*, now: datetime, days: int = BALANCE_DAYS) -> list[SectionBalance]:
    """Per section, the average left / center / right share of the rated stories that went live in
    the last `days` days (sums of whole percentages, split into whole percentages adding up to 100)."""
    rows = (
        Article.objects.published()
        .filter(published_at__gt=now - timedelta(days=days), bias_rating__isnull=False)
        .values("category_id")
        .annotate(
            stories=Count("pk"),
            left=Sum("bias_rating__left"),
            center=Sum("bias_rating__center"),
            right=Sum("bias_rating__right"),
        )
        .order_by()
    )
    by_section = {row["category_id"]: row for row in rows}
    balance = []
    for section in Category.objects.all():
        row = by_section.get(section.pk)
        if row is None:
            balance.append(SectionBalance(section, 0))
            continue
        left, center, right = largest_remainder([row["left"], row["center"], row["right"]])
        balance.append(SectionBalance(section, row["stories"], left, center, right))
    return balance


def build(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    stories = Article.objects.select_related("category").only(*LIST_FIELDS)
    return Dashboard(
        drafts=Article.objects.filter(status=Article.Status.DRAFT).count(),
        scheduled=Article.objects.scheduled().count(),
        live=Article.objects.published().count(),
        queue=list(stories.scheduled().order_by("published_at", "pk")[:QUEUE_SIZE]),
        recent=list(stories.published().order_by("-published_at", "-pk")[:RECENT_SIZE]),
        balance=coverage_balance(now=now),
    )
