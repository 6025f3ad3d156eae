"""An outlet's feeds in the import format: `"sources": [{"domain": ..., "feeds": ["https://…"]}]`.

Registered with articles' import and export (articles.transfer.outlet_fields) by NewsdeskConfig.ready,
so articles never imports the newsdesk. An import adds the feeds it lists and keeps the outlet's
other feeds (a file is not the whole list: removing a feed is done in the admin); an export writes
every feed of the outlet, active or not.
"""

from typing import Any

from django.core.exceptions import ValidationError

from articles.models import Source
from articles.transfer.outlet_fields import OutletField
from newsdesk.models import Feed
from newsdesk.models.feeds import feed_address, feed_url_problem

MAX_URL_LENGTH = Feed._meta.get_field("url").max_length


def check_feeds(items: list[tuple[str, Any]]) -> list[tuple[list[str], list[str]]]:
    """Each outlet's feeds as clean URLs, with a problem per bad entry: not a list, not an http(s)
    address, too long, listed twice in the file, or a feed of another outlet already."""
    listed: dict[str, str] = {}  # url -> the domain that lists it first
    results = []
    for domain, raw in items:
        urls, problems = [], []
        if not isinstance(raw, list):
            results.append(([], ["field 'feeds' must be a list of http:// or https:// addresses"]))
            continue
        for i, value in enumerate(raw):
            where = f"field 'feeds'[{i}]"
            url = value.strip() if isinstance(value, str) else ""
            if not url:
                problems.append(f"{where} must be an http:// or https:// address")
                continue
            if len(url) > MAX_URL_LENGTH:
                problems.append(f"{where} is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
                continue
            try:
                Feed._meta.get_field("url").run_validators(url)
            except ValidationError:
                problems.append(f"{where} must be an http:// or https:// address, got {url[:80]!r}")
                continue
            if problem := feed_url_problem(url):
                problems.append(f"{where}: {problem}")
                continue
            url = feed_address(url)  # two spellings of one feed are one feed
            if url in listed:
                twice = "for this outlet" if listed[url] == domain else f"also under {listed[url]!r}"
                problems.append(f"{where}: {url!r} is listed twice in the file ({twice})")
                continue
            listed[url] = domain
            urls.append(url)
        results.append((urls, problems))
    owners = dict(Feed.objects.filter(url__in=listed).values_list("url", "outlet__domain"))
    for (domain, _raw), (urls, problems) in zip(items, results, strict=True):
        for url in urls:
            if owners.get(url, domain) != domain:
                problems.append(f"field 'feeds': {url!r} is already a feed of the outlet {owners[url]!r}")
    return results


def apply_feeds(source: Source, urls: list[str]) -> bool:
    """Add the feeds the outlet lacks; its other feeds stay. Returns whether any was added."""
    have = set(source.feeds.values_list("url", flat=True))
    added = False
    for url in urls:
        if url not in have:
            feed = Feed(outlet=source, url=url)
            feed.full_clean()
            feed.save()  # post_save queues its first fetch once the import has committed
            added = True
    return added


def export_feeds(sources: list[Source]) -> dict[int, list[str]]:
    """The feeds of each outlet that has any, in the order they were added."""
    urls: dict[int, list[str]] = {}
    for outlet_id, url in (
        Feed.objects.filter(outlet__in=sources).order_by("pk").values_list("outlet_id", "url")
    ):
        urls.setdefault(outlet_id, []).append(url)
    return urls


FEEDS = OutletField(key="feeds", check=check_feeds, apply=apply_feeds, export=export_feeds)
