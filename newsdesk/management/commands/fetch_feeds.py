"""`manage.py fetch_feeds [--now] [--feed ID]`: fetch feeds in this process, through newsdesk.ingest.

Without --now, the due feeds (what the worker would fetch now); with --now, every active feed (or the
one named), due or not. Conditional requests still apply (ETag / Last-Modified: an unchanged feed
answers 304), and a feed another worker is fetching (its lease held) is left to it. Each feed says
what it did; a terminal also gets a progress bar. Exits 1 if any feed failed.
"""

import logging
import shutil
from argparse import BooleanOptionalAction
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from newsdesk import ingest
from newsdesk.models import Feed


class _BarStream:
    """tqdm's output through the command's stdout, which would add newlines and colours."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text):
        self.wrapper.write(text, style_func=str, ending="")

    def flush(self):
        self.wrapper.flush()


def duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h"


def outcome(report: ingest.FeedReport, feed: Feed) -> tuple[str, bool]:
    """What the fetch did, in one line, and whether it failed."""
    nxt = (
        f"next in {duration(report.next_fetch_at - timezone.now())}"
        if report.next_fetch_at
        else "no next fetch"
    )
    if report.status == ingest.SKIPPED:
        return f"skipped: {report.error}", False
    if report.status == Feed.Status.ERROR:
        where = f" (HTTP {report.http_status})" if report.http_status else ""
        return f"failed{where}: {report.error}; {feed.error_count} in a row, {nxt}", True
    if report.status == Feed.Status.NOT_MODIFIED:
        return f"not modified ({report.http_status}); {nxt}", False
    line = f"fetched ({report.http_status}): {report.items} items, {report.new_pieces} new pieces"
    if report.copies:
        line += f" ({report.copies} wire copies)"
    return f"{line}; {nxt}", False


class Command(BaseCommand):
    help = (
        "Fetch the outlets' feeds in this process: the due ones, or with --now every active feed "
        "(or --feed ID), due or not. Conditional requests still apply. Exits 1 if any feed failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="Fetch whether due or not")
        parser.add_argument(
            "--feed", type=int, metavar="ID", help="Only this feed (see: manage.py feeds list)"
        )
        parser.add_argument(
            "--progress",
            action=BooleanOptionalAction,
            default=None,
            help="Show a progress bar (default: when stdout is a terminal)",
        )

    def handle(self, *args, now: bool, feed: int | None, progress: bool | None, verbosity: int, **options):
        feeds = self.selection(feed_id=feed, now=now)
        if not feeds:
            self.stdout.write("No feed is due. To fetch them all now: manage.py fetch_feeds --now")
            return
        show_bar = progress if progress is not None else verbosity >= 1 and self.stdout.isatty()
        stream = _BarStream(self.stdout)
        width = min(shutil.get_terminal_size().columns, 100)
        bar = tqdm(feeds, desc="Fetching", unit="feed", file=stream, ncols=width, disable=not show_bar)
        # The lines below say what each feed did; the ingestion's own log lines (which go to the
        # console too) would repeat them through the bar: shown from -v 2 on.
        newsdesk_log = logging.getLogger("newsdesk")
        level = newsdesk_log.level
        if verbosity < 2:
            newsdesk_log.setLevel(logging.ERROR)
        try:
            failed, skipped = self.fetch_all(bar, stream, show_bar=show_bar, force=now)
        finally:
            newsdesk_log.setLevel(level)
        bar.close()
        fine = len(feeds) - failed - skipped
        held = f"{skipped} skipped (another worker is fetching them), " if skipped else ""
        self.stdout.write(f"{len(feeds)} feed(s): {fine} fine, {held}{failed} failed.")
        if failed:
            raise CommandError(
                f"{failed} feed(s) failed; see above (and manage.py feeds list).", returncode=1
            )

    def fetch_all(self, bar, stream, *, show_bar: bool, force: bool) -> tuple[int, int]:
        """Fetch each feed; how many failed and how many were skipped (held by a worker)."""
        failed = skipped = 0
        for item in bar:
            line, bad = self.fetch(item, force=force)
            failed += bad
            skipped += line.startswith("skipped")
            line = f"#{item.pk} {item.outlet.domain} {item.url}: {line}"
            if show_bar:
                bar.write(line, file=stream)
            else:
                self.stdout.write(line)
        return failed, skipped

    def selection(self, *, feed_id: int | None, now: bool) -> list[Feed]:
        feeds = Feed.objects.select_related("outlet").order_by("outlet__domain", "pk")
        if feed_id is not None:
            chosen = feeds.filter(pk=feed_id).first()
            if chosen is None:
                raise CommandError(f"No feed #{feed_id}; manage.py feeds list shows them.")
            if not chosen.active:
                raise CommandError(f"Feed #{feed_id} is inactive; make it active in the admin to fetch it.")
            feeds = feeds.filter(pk=feed_id)
        return list(feeds.filter(active=True) if now else feeds.due())

    def fetch(self, feed: Feed, *, force: bool) -> tuple[str, bool]:
        try:
            report = ingest.fetch_feed(feed, force=force)
        except Exception as exc:  # fetch_feed records its own failures; a last guard for the others
            return f"failed: {type(exc).__name__}: {exc}", True
        feed.refresh_from_db()
        return outcome(report, feed)
