"""Load the demo newsroom, through the same importer editors use.

The stories and outlets in articles/demo/newsroom.json were written for this project; their pictures
and logos are drawn here with Pillow. Their dates are moved to the day it runs, so a fresh install
has stories from the last hours (front page, news sitemap, the dashboard's week). Running it again,
on any later day, changes nothing. `--articles N` then adds N
generated stories in bulk, for benchmarks and scale tests.
"""

import json
import random
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from articles import search_index
from articles.demo import art
from articles.models import Article, ArticleSource, BiasRating, Category, Source, SourceRating
from articles.newsroom import basis
from articles.site.cache import proxy, surrogate
from articles.site.cache.pagecache import bump_content_version
from articles.transfer.importing import ImportFailed, import_file

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "newsroom.json"
# The moment the demo file's dates are written as of: stories dated before it are live, after it
# scheduled. Loading moves every date by the whole days from then to now (see date_shift), keeping
# each story's time of day: the newest went live 1 to 25 hours ago, the one before it within 48 hours.
DEMO_FILE_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

SUBJECTS = {
    "world": [
        "Coastal states",
        "Northern delegates",
        "The river commission",
        "Border towns",
        "Island councils",
    ],
    "politics": [
        "The assembly",
        "Opposition leaders",
        "The finance committee",
        "Regional mayors",
        "Coalition whips",
    ],
    "crypto": [
        "Token issuers",
        "The exchange regulator",
        "Stablecoin custodians",
        "Validators",
        "Wallet makers",
    ],
    "business": [
        "Freight operators",
        "The central bank",
        "Retail chains",
        "Port authorities",
        "Solar installers",
    ],
    "sports": ["The league", "Harbour City FC", "The cycling federation", "Club owners", "The rowing union"],
}
VERBS = ["agree on", "push back against", "weigh", "delay", "unveil", "question", "sign off on", "review"]
OBJECTS = [
    "a new water-sharing plan", "tighter reporting rules", "a revised budget", "the winter timetable",
    "a cross-border rail link", "stricter audit requirements", "a ten-year investment pledge",
    "changes to licensing", "a shared data registry", "the disputed fee schedule",
]  # fmt: skip
SENTENCES = [
    "Officials said the details would be published within weeks.",
    "Critics argued the timetable leaves too little room for scrutiny.",
    "Supporters pointed to similar arrangements that have worked elsewhere.",
    "Several outlets reported that talks ran late into the evening.",
    "Figures released on Tuesday suggest the change will take time to be felt.",
    "Local groups asked for a public consultation before any final decision.",
    "Analysts were split on what the move means for the coming year.",
    "A spokesperson declined to comment on the remaining points of disagreement.",
]


def date_shift(document, *, now: datetime) -> timedelta:
    """How far to move the demo file's dates: as far as an earlier load moved them (the shift most of
    the loaded stories show, whatever an editor changed since), so that loading again changes
    nothing; on a first load, the whole days from DEMO_FILE_NOW to `now`."""
    dated = {
        story["slug"]: datetime.fromisoformat(story["published_at"])
        for story in document["articles"]
        if story.get("published_at") and story.get("slug")
    }
    loaded = Article.objects.filter(slug__in=dated, published_at__isnull=False).values_list(
        "slug", "published_at"
    )
    shifts = Counter(published_at - dated[slug] for slug, published_at in loaded)
    if shifts:
        return shifts.most_common(1)[0][0]
    return timedelta(days=(now - DEMO_FILE_NOW) // timedelta(days=1))


class Command(BaseCommand):
    help = "Load the demo newsroom (idempotent); --articles N adds N generated stories for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already holds stories."
        )
        parser.add_argument(
            "--articles", type=int, default=0, metavar="N", help="Also add N generated stories in bulk."
        )
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="Rows per bulk insert (default 2000)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Check the demo file; write nothing.")

    def handle(self, *args, if_empty, articles, batch_size, dry_run, verbosity, **options):
        if articles < 0 or batch_size < 1:
            raise CommandError("--articles must be 0 or more and --batch-size at least 1.")
        if if_empty and Article.objects.exists():
            if verbosity:
                self.stdout.write("The database already holds stories; demo content not loaded (--if-empty).")
        else:
            self._load_demo(dry_run=dry_run, verbosity=verbosity)
        if articles and not dry_run:
            self._generate(articles, batch_size=batch_size, verbosity=verbosity)

    def _load_demo(self, *, dry_run, verbosity):
        document = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
        shift = date_shift(document, now=timezone.now())
        for story in document["articles"]:
            if story.get("published_at"):
                story["published_at"] = (datetime.fromisoformat(story["published_at"]) + shift).isoformat()
        # The outlets' rating histories move by the same whole days, so that a change of lean falls
        # among the stories as written: one published before it shows the older rating.
        for source in document["sources"]:
            for rating in source.get("ratings", []):
                moved = date.fromisoformat(rating["effective_from"]) + timedelta(days=shift.days)
                rating["effective_from"] = moved.isoformat()
        with tempfile.TemporaryDirectory(prefix="newsapp-demo-") as tmp:
            folder = Path(tmp)
            for source in document["sources"]:
                path = folder / source["logo"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(art.logo_image(source["name"], source["domain"]))
            for story in document["articles"]:
                path = folder / story["image"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(art.lead_image(story["title"], story["section"], width=1440, height=810))
            (folder / "newsroom.json").write_text(json.dumps(document), encoding="utf-8")
            try:
                result = import_file(folder / "newsroom.json", dry_run=dry_run)
            except ImportFailed as exc:
                raise CommandError("The demo file does not import:\n" + "\n".join(exc.errors)) from None
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Demo newsroom: {result}"))

    def _generate(self, count, *, batch_size, verbosity):
        """Bulk-insert generated stories: a few thousand rows a second, no image work per story."""
        sections = list(Category.objects.all())
        sources = list(Source.objects.all())
        history: dict[int, list[SourceRating]] = {}
        for rating in SourceRating.objects.order_by("effective_from"):
            history.setdefault(rating.source_id, []).append(rating)
        donors = list(
            Article.objects.exclude(renditions={}).values(
                "image", "image_width", "image_height", "image_alt", "renditions"
            )[:50]
        )
        if not sources or not donors:
            raise CommandError("Load the demo newsroom first (run seed_demo without --articles).")
        rng = random.Random()
        run = uuid.uuid4().hex[:6]
        now = timezone.now()
        started = time.monotonic()
        done = 0
        while done < count:
            size = min(batch_size, count - done)
            with transaction.atomic():
                batch = [self._story(rng, run, done + i, now, sections, donors) for i in range(size)]
                Article.objects.bulk_create(batch)
                citations, ratings = [], []
                for article in batch:
                    picked = rng.sample(sources, k=rng.randint(1, min(3, len(sources))))
                    for position, source in enumerate(picked):
                        citations.append(
                            ArticleSource(
                                article=article,
                                source=source,
                                url=f"{source.homepage.rstrip('/')}/story/{article.slug}",
                                title=article.title,
                                position=position,
                            )
                        )
                    # The ratings in force on the story's date, as the save path would use them.
                    day = timezone.localdate(article.published_at)
                    cited = [(s.pk, s.name, s.slug, False) for s in picked]
                    in_force = {s.pk: basis.in_force_on(history.get(s.pk, []), day) for s in picked}
                    found = basis.compose(day=day, cited=cited, ratings=in_force)
                    if (split := found.split) is not None:
                        ratings.append(
                            BiasRating(
                                article=article,
                                left=split.left,
                                center=split.center,
                                right=split.right,
                                unrated_sources=split.unrated,
                                method=BiasRating.Method.SOURCES,
                                **found.fields(),
                            )
                        )
                ArticleSource.objects.bulk_create(citations)
                BiasRating.objects.bulk_create(ratings)
                search_index.refresh([article.pk for article in batch])
            done += size
            if verbosity >= 1:
                rate = done / max(time.monotonic() - started, 1e-6)
                self.stdout.write(f"  {done}/{count} generated stories ({rate:,.0f}/s)")
        bump_content_version()  # bulk inserts send no signals: tell every cached page by hand
        proxy.purge(surrogate.EVERYTHING)  # and every page a caching proxy in front keeps
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Added {count} generated stories."))

    def _story(self, rng, run, n, now, sections, donors):
        category = rng.choice(sections)
        subjects = SUBJECTS.get(category.slug, SUBJECTS["world"])
        title = f"{rng.choice(subjects)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        paragraphs = [" ".join(rng.sample(SENTENCES, 3)) for _ in range(rng.randint(2, 4))]
        donor = rng.choice(donors)
        article = Article(
            title=title,
            slug=f"{slugify(title)[:80]}-{run}{n:07d}",
            category=category,
            summary=f"{title}.\n\n" + "\n\n".join(paragraphs),
            status=Article.Status.PUBLISHED,
            published_at=now - timedelta(minutes=rng.randint(60, 60 * 24 * 365 * 3)),
            ai_summary=rng.random() < 0.5,
            image=donor["image"],
            image_width=donor["image_width"],
            image_height=donor["image_height"],
            image_alt=donor["image_alt"],
            image_credit="newsapp demo",
            renditions=donor["renditions"],
        )
        article.render_summary()
        return article
