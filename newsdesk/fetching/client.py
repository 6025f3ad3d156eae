"""fetch(): the one way the newsdesk reads the web (feeds, article pages, pictures).

Each hop of a redirect chain goes through the same checks as the first URL: form, addresses,
robots.txt for pages, the per-host limits. Only a 200 (or a 304 to a conditional request) is an
answer; anything else is a FetchError subclass saying why."""

import logging
from dataclasses import replace
from urllib.parse import urljoin

from newsdesk.fetching import answers, conf, robots
from newsdesk.fetching.addresses import addresses_resolve, target_parse
from newsdesk.fetching.bodies import CHUNK, body_read
from newsdesk.fetching.errors import (
    BadContentType,
    BadStatus,
    FetchError,
    Refused,
    TooLarge,
    TooManyRedirects,
)
from newsdesk.fetching.exchange import Deadline, exchange
from newsdesk.fetching.hosts import host_slot
from newsdesk.fetching.result import FetchResult

logger = logging.getLogger("newsdesk.fetching")

REDIRECTS = frozenset({301, 302, 303, 307, 308})
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1",
    "image": "image/avif, image/webp, image/png, image/jpeg, image/*;q=0.8",
    "robots": "text/plain, */*;q=0.5",
}


def fetch(url: str, *, purpose: str = "feed", etag: str = "", last_modified: str = "") -> FetchResult:
    """GET `url` for `purpose` ("feed", "page" or "image"). With `etag` / `last_modified` from an
    earlier answer, the request is conditional and an unchanged resource comes back as a 304 result
    (not_modified=True, empty body). Raises FetchError (or a subclass) for anything else."""
    if purpose not in conf.PURPOSES:
        raise ValueError(f"purpose must be one of {conf.PURPOSES}, not {purpose!r}")
    return _fetch(url, purpose=purpose, etag=etag, last_modified=last_modified)


def robots_txt_fetch(url: str) -> FetchResult:
    """A robots.txt, under the same rules as any fetch (any content type; no robots.txt of its own)."""
    return _fetch(url, purpose="robots")


def _fetch(url: str, *, purpose: str, etag: str = "", last_modified: str = "") -> FetchResult:
    headers = {
        "User-Agent": conf.user_agent(),
        "Accept": ACCEPT[purpose],
        "Accept-Encoding": "gzip, br",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    seen: set[str] = set()
    deadline = None
    current = url
    for hop in range(conf.MAX_REDIRECTS + 1):
        try:
            target = target_parse(current)
        except Refused as error:
            raise _redirected(error, hop, current) from None
        current = target.url  # without its #fragment, which is never sent
        seen.add(current)
        if purpose == "page":
            robots.robots_check(target, user_agent=headers["User-Agent"], fetch=robots_txt_fetch)
        with host_slot(target.host_key):
            # One deadline for the whole chain, started once it is our first turn at the host:
            # waiting for a slot is not the server being slow.
            deadline = deadline or Deadline(conf.total_timeout())
            try:
                addresses = addresses_resolve(target)
            except Refused as error:
                raise _redirected(error, hop, current) from None
            with exchange(target, addresses, headers=headers, deadline=deadline) as response:
                answer = _answer_read(
                    response, url=current, purpose=purpose, conditional=bool(etag or last_modified)
                )
        if isinstance(answer, FetchResult):
            if answer.not_modified:
                # A 304 without validators keeps the ones sent, so callers can store the result's.
                answer = replace(
                    answer, etag=answer.etag or etag, last_modified=answer.last_modified or last_modified
                )
            logger.debug("Fetched %s for a %s: %s, %d bytes", url, purpose, answer.status, len(answer.body))
            return answer
        if answer.split("#", 1)[0] in seen:
            raise TooManyRedirects(f"redirect loop: {current} -> {answer}"[:300])
        current = answer
    raise TooManyRedirects(f"more than {conf.MAX_REDIRECTS} redirects from {url}"[:300])


def _redirected(error: Refused, hop: int, url: str) -> Refused:
    """A refusal of a redirect's target says it was one: the feed's own address is not the one refused."""
    if hop == 0:
        return error
    return Refused(f"redirected to {url[:200]}: {error.reason}"[:400], status=error.status)


def _answer_read(response, *, url: str, purpose: str, conditional: bool) -> FetchResult | str:
    """The result, or the URL a redirect points to; FetchError for anything else."""
    status = response.status
    # A header sent on several lines (Cache-Control: public / Cache-Control: max-age=60) is read as
    # one, its values joined, as HTTP defines.
    headers = {name.lower(): response.headers[name] for name in response.headers}
    if status in REDIRECTS and headers.get("location"):
        try:
            return urljoin(url, headers["location"].strip())
        except ValueError:
            raise FetchError(
                f"redirect to a malformed URL: {headers['location'][:200]!r}", status=status
            ) from None
    if status == 304 and conditional:
        return _result(url, status, headers, body=b"", media_type="", charset=None)
    if status != 200:
        retry_after = (
            answers.retry_after_parse(headers.get("retry-after", "")) if status in (429, 503) else None
        )
        raise BadStatus(f"HTTP {status} from {url}"[:300], status=status, retry_after=retry_after)
    media_type, charset = answers.content_type_parse(headers.get("content-type", ""))
    if not answers.content_type_accepts(purpose, media_type):
        reason = f"{media_type or 'no Content-Type'} is not accepted for a {purpose} ({url})"
        raise BadContentType(reason[:300], status=status)
    limit = conf.max_bytes("page" if purpose == "robots" else purpose)
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"Content-Length {declared} is over the {limit} bytes allowed", status=status)
    body = body_read(
        response.stream(CHUNK, decode_content=False),
        content_encoding=headers.get("content-encoding", ""),
        limit=limit,
    )
    return _result(url, status, headers, body=body, media_type=media_type, charset=charset)


def _result(url, status, headers, *, body: bytes, media_type: str, charset: str | None) -> FetchResult:
    return FetchResult(
        url=url,
        status=status,
        headers=headers,
        body=body,
        content_type=media_type,
        charset=charset,
        not_modified=status == 304,
        max_age=answers.max_age_parse(headers),
        etag=headers.get("etag", ""),
        last_modified=headers.get("last-modified", ""),
    )
