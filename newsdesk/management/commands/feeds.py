"""`manage.py feeds add URL --outlet DOMAIN`, `feeds list [--json]`, `feeds schedule`."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from articles.models import Source
from newsdesk import tasks
from newsdesk.models import Feed
from newsdesk.models.feeds import feed_address

COLUMNS = ("id", "outlet", "url", "last fetch", "last status", "items", "next poll", "errors", "last error")
LAST_ERROR_WIDTH = 60


def when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def status(feed: Feed) -> str:
    if feed.last_status == Feed.Status.NEW:
        return "never fetched"
    return f"{feed.last_status} ({feed.last_http_status})" if feed.last_http_status else feed.last_status


def next_poll(feed: Feed, now) -> str:
    if not feed.active:
        return "inactive"
    if tasks.lease_held(feed, now):
        return "fetching now"
    if feed.next_fetch_at is None or feed.next_fetch_at <= now:
        return "due now"
    return when(feed.next_fetch_at)


def feed_entry(feed: Feed) -> dict:
    """One feed's state as `feeds list --json` writes it."""

    def iso(moment):
        return moment.isoformat() if moment else None

    return {
        "id": feed.pk,
        "outlet": feed.outlet.domain,
        "url": feed.url,
        "active": feed.active,
        "last_fetched_at": iso(feed.last_fetched_at),
        "last_status": feed.last_status,
        "last_http_status": feed.last_http_status,
        "items": feed.items_seen,
        "pieces_added": feed.pieces_added,
        "poll_interval_seconds": int(feed.poll_interval.total_seconds()),
        "next_fetch_at": iso(feed.next_fetch_at),
        "leased_until": iso(feed.leased_until),
        "errors": feed.error_count,
        "last_error": feed.last_error,
    }


def table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


class Command(BaseCommand):
    help = "The outlets' feeds: add one, list them with their state, or start the polling."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{add,list,schedule}")
        add = actions.add_parser("add", help="Add a feed to an outlet; it is fetched soon by the worker.")
        add.add_argument("url", help="The feed's address (RSS, Atom or JSON Feed), http:// or https://")
        add.add_argument(
            "--outlet", required=True, metavar="DOMAIN", help="The outlet's domain, e.g. bbc.co.uk"
        )
        listing = actions.add_parser(
            "list", help="Each feed with its last fetch, status, items and next poll."
        )
        listing.add_argument(
            "--json", action="store_true", dest="as_json", help="A JSON array instead of a table"
        )
        listing.add_argument("--outlet", metavar="DOMAIN", help="Only this outlet's feeds")
        actions.add_parser(
            "schedule",
            help="Queue the feed sweeper unless one is queued (idempotent; `make run` runs it).",
        )

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_add(self, *, url, outlet, **options):
        domain = outlet.strip().lower()
        source = Source.objects.filter(domain=domain).first()
        if source is None:
            raise CommandError(
                f"No outlet with the domain {domain!r}: add it in the admin (Sources) or import it first."
            )
        url = feed_address(url)  # HTTP://Host:80/rss#top is http://host/rss, perhaps added already
        taken = Feed.objects.filter(url=url).select_related("outlet").first()
        if taken is not None:
            raise CommandError(f"{url} is already feed #{taken.pk}, of the outlet {taken.outlet.domain}.")
        feed = Feed(outlet=source, url=url)
        try:
            feed.full_clean()
        except ValidationError as exc:
            problems = " ".join(exc.message_dict.get("url", exc.messages))
            raise CommandError(f"{url!r} is not a feed address: {problems}") from None
        feed.save()  # queues its first fetch (newsdesk.tasks.queue_new_feed)
        self.stdout.write(
            f"Added feed #{feed.pk} of {source.domain}: {feed.url}\n"
            f"The task worker fetches it shortly; now: manage.py fetch_feeds --now --feed {feed.pk}"
        )

    def handle_list(self, *, as_json: bool, outlet: str | None, **options):
        feeds = Feed.objects.select_related("outlet").order_by("outlet__domain", "pk")
        if outlet:
            feeds = feeds.filter(outlet__domain=outlet.strip().lower())
        if as_json:
            self.stdout.write(json.dumps([feed_entry(feed) for feed in feeds], ensure_ascii=False, indent=2))
            return
        now = timezone.now()
        rows = [COLUMNS]
        for feed in feeds:
            error = " ".join(feed.last_error.split())
            if len(error) > LAST_ERROR_WIDTH:
                error = error[: LAST_ERROR_WIDTH - 1] + "…"
            rows.append(
                (
                    str(feed.pk),
                    feed.outlet.domain,
                    feed.url,
                    when(feed.last_fetched_at) or "never",
                    status(feed),
                    str(feed.items_seen),
                    next_poll(feed, now),
                    str(feed.error_count),
                    error,
                )
            )
        if len(rows) == 1:
            self.stdout.write("No feeds. Add one: manage.py feeds add URL --outlet DOMAIN")
            return
        self.stdout.write("\n".join(table(rows)))

    def handle_schedule(self, **options):
        if tasks.start_polling():
            self.stdout.write(
                "Queued the feed sweeper: a task worker now fetches the due feeds, every minute."
            )
        else:
            self.stdout.write("The feed sweeper is queued already; nothing to do.")
