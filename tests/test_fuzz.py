"""No 500 for any input: over 5,000 odd requests a run, to every URL pattern of the project.

Every pattern is found by walking the URL resolver (a new page is fuzzed without editing this file)
and its parameters filled with the demo newsroom's own slugs, ids and tokens or with odd values;
then query strings, headers, cookies, methods and bodies vary, and each page's own form is posted
with odd fields, as a reader, a Writer, an Editor, a superuser and an Editor still owing the
two-factor step. Every answer must be below 500 (nothing here makes the database unavailable, so
not even a 503), carry a Content-Type, and a 4xx must be an HTML page, or under /api/v1/ a JSON object
(tests/fuzzing.Answer).

Machinery: tests/fuzzing.py (routes, requests, answers), tests/fuzz_inputs.py (odd values and
Hypothesis strategies), tests/fuzz_newsroom.py (what is valid). A run is repeatable (derandomized);
a failure lists every bad answer's request as HTTP text with its traceback, grouped by cause.
For a deeper run by hand: NEWSAPP_FUZZ_SCALE=10 sends ten times the budgets, NEWSAPP_FUZZ_SEED=n
draws other requests than CI's.
"""

import logging
import os
from dataclasses import replace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings

from articles.demo import art
from tests import fuzz_newsroom
from tests.fuzz_inputs import ETAG, HUGE_NUMBER, LAST_MODIFIED, form_body, form_posts, probes
from tests.fuzzing import SENT, Answer, Probe, findings_report

pytestmark = pytest.mark.django_db

_SCALE = float(os.environ.get("NEWSAPP_FUZZ_SCALE", "1"))
_SEED = os.environ.get("NEWSAPP_FUZZ_SEED")
# Hypothesis-made requests each group sends per run; with the sweep (SWEEP_PER_ROUTE for each of
# the 100-odd URL patterns), over 5,000.
BUDGETS = {
    group: int(n * _SCALE)
    for group, n in {"paths": 800, "queries": 800, "headers": 800, "bodies": 1000, "forms": 700}.items()
}
SWEEP_PER_ROUTE = 11  # test_every_url_pattern_answers_everyone
FORM = "application/x-www-form-urlencoded"
FUZZ = hypothesis_settings(
    derandomize=_SEED is None,  # the same requests on every run and in CI
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.fixture(scope="module", autouse=True)
def quiet_logs():
    """Thousands of refused requests would each log a warning (some with a traceback): the
    failures this suite reports carry their own."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security", "axes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(scope="module")
def newsroom_media(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-media")


@pytest.fixture(autouse=True)
def media_root(settings, newsroom_media):
    """The demo's pictures, written once for the module (conftest's media_root is per test)."""
    settings.MEDIA_ROOT = newsroom_media
    return newsroom_media


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, newsroom_media, quiet_logs):
    """(Newsroom, Sender): the demo newsroom loaded once, in a transaction rolled back at the end."""
    overrides = override_settings(
        MEDIA_ROOT=newsroom_media,
        # Sign-in forms hash what is typed even for unknown users; the real hasher costs ~0.3 s.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CACHES={"default": {**settings.CACHES["default"], "KEY_PREFIX": f"fuzz-{timezone.now():%s%f}"}},
    )
    with django_db_blocker.unblock(), overrides, transaction.atomic():
        lead_image = art.lead_image
        # No page depends on the pictures' size; at full size they take 30 s to make.
        art.lead_image = lambda title, section, **size: lead_image(title, section, width=320, height=180)
        try:
            call_command("seed_demo", verbosity=0)
        finally:
            art.lead_image = lead_image
        newsroom, sender = fuzz_newsroom.newsroom(newsroom_media)
        fuzz_newsroom.harvest(newsroom, sender)
        yield newsroom, sender
        transaction.set_rollback(True)


def send_all(sender, probe: Probe, group: str) -> list[Answer]:
    """Send `probe`; when a header asks for the page's own ETag or date, fetch the page first."""
    answers = []
    if any(ETAG in v or LAST_MODIFIED in v for _, v in probe.headers):
        first = sender.send(Probe(who=probe.who, path=probe.path, query=probe.query), group)
        etag, stamp = first.headers.get("etag", '"none"'), first.headers.get("last-modified", "garbage")
        headers = tuple((n, v.replace(ETAG, etag).replace(LAST_MODIFIED, stamp)) for n, v in probe.headers)
        probe = replace(probe, headers=headers)
        answers.append(first)
    return [*answers, sender.send(probe, group)]


def fuzz(site, group: str, strategy) -> None:
    """Send BUDGETS[group] probes drawn from `strategy`; fail listing every bad answer."""
    _, sender = site
    bad, before = [], SENT[group]

    @hypothesis_settings(FUZZ, max_examples=BUDGETS[group])
    @given(probe=strategy)
    def run(probe):
        answers = send_all(sender, probe, group)
        bad.extend(answer for answer in answers if answer.problems())

    (seed(int(_SEED))(run) if _SEED else run)()
    if bad:
        pytest.fail(findings_report(bad), pytrace=False)
    assert SENT[group] - before >= BUDGETS[group]


def test_a_run_sends_over_5000_requests_to_over_100_url_patterns(site):
    routes = site[0].routes
    assert len(routes) * SWEEP_PER_ROUTE + sum(BUDGETS.values()) >= 5000 * min(_SCALE, 1)
    names = {route.name for route in routes}
    assert len(routes) >= 100 and {"accounts:verify", "admin:index", "articles:article"} <= names
    assert len(site[0].forms) >= 20, "the pages' own forms were read"


def test_every_url_pattern_answers_everyone(site):
    """Each pattern with valid values, as everyone, by HEAD and by POST; then with the cases once
    fixed: a host not in ALLOWED_HOSTS, a 4,301-digit page number, 1,001 query parameters."""
    newsroom, sender = site
    bad, before = list(newsroom.harvest_failures), SENT["sweep"]
    for route in newsroom.routes:
        path = newsroom.first_path(route) or route.path({p.name: "1" for p in route.params})
        sweep = [Probe(who=who, path=path) for who in newsroom.identities] + [
            Probe(method="HEAD", path=path),
            Probe(who="editor", method="POST", path=path, body=b"a=1", content_type=FORM),
            Probe(path=path, headers=(("Host", "evil.example.com"),)),
            Probe(path=path, query=f"page={HUGE_NUMBER}"),
            Probe(who="editor", path=path, query=f"page={HUGE_NUMBER}"),
            Probe(path=path, query="&".join(f"f{n}=1" for n in range(1001))),
        ]
        assert len(sweep) == SWEEP_PER_ROUTE
        for probe in sweep:
            bad += [answer for answer in send_all(sender, probe, "sweep") if answer.problems()]
    if bad:
        pytest.fail(findings_report(bad), pytrace=False)
    assert SENT["sweep"] - before == len(newsroom.routes) * SWEEP_PER_ROUTE


def _story_form(newsroom, **changes) -> tuple[bytes, str]:
    """The story form as the Writer's browser posts it, with `changes` (name: percent-encoded value)."""
    name = next(name for name in newsroom.forms if name.endswith("articles_article_change"))
    pairs = [(key, changes.get(key, value)) for key, value in newsroom.forms[name]]
    return form_body(pairs, as_multipart=True)


def _posted_story(newsroom, source: str) -> Probe:
    body, content_type = _story_form(newsroom, **{"article_sources-0-source": source})
    path = newsroom.first_path(next(r for r in newsroom.routes if r.name.endswith("articles_article_change")))
    return Probe(who="writer", method="POST", path=path, body=body, content_type=content_type)


# Requests that once answered 500, each with the answer it gets now (the sweep also sends a foreign
# Host, a 4,301-digit page and 1,001 query parameters to every URL pattern).
KNOWN_CASES = {
    "a search of only hyphens (PostgreSQL)": (200, lambda _: Probe(path="/search/", query="q=" + "-" * 33)),
    "a query string with a charset that decodes no text": (
        200, lambda _: Probe(path="/", query="page=1", content_type="text/plain; charset=rot13"),
    ),
    "a form in the charset 'undefined'": (200, lambda _: Probe(
        who="editor", method="POST", path="/admin/login/", query="next=/admin/", body=b"username=a",
        content_type="application/x-www-form-urlencoded; charset=undefined",
    )),
    "1,001 query parameters with a charset": (400, lambda _: Probe(
        path="/", query="&".join(f"f{n}=1" for n in range(1001)), content_type="text/plain; charset=utf-8"
    )),
    "a form whose Content-Type is too long to read": (400, lambda _: Probe(
        method="POST", path="/admin/login/", body=b"username=a", content_type="text/plain; a=" + "b" * 10_001
    )),
    "a form whose Content-Type names an unknown charset (RFC 2231)": (400, lambda _: Probe(
        method="POST", path="/admin/login/", body=b"username=a", content_type="text/plain; a*=nope''x"
    )),
    "a story posted with a source that is no id": (200, lambda n: _posted_story(n, "%21%21")),
    "a story posted with a source in superscript digits": (200, lambda n: _posted_story(n, "%C2%B2")),
    "a media file name too long for the file system": (404, lambda _: Probe(path="/media/" + "a" * 300)),
    "after the two-factor step, a 'next' that is a word": (302, lambda _: Probe(
        who="editor", path="/admin/two-factor/verify/", query="next=true"
    )),
    "a share link's token with a NUL byte": (404, lambda _: Probe(path="/preview/a%00b/")),
    "an admin search of 100,000 characters": (400, lambda _: Probe(
        who="editor", path="/admin/articles/article/", query="q=" + "a" * 100_000
    )),
}  # fmt: skip


@pytest.mark.parametrize("case", list(KNOWN_CASES))
def test_known_cases(site, case):
    status, build = KNOWN_CASES[case]
    probe = build(site[0])
    if probe.path.startswith("/media/") and not any(r.name.startswith("/media/") for r in site[0].routes):
        pytest.skip("the app does not serve media here (NEWSAPP_SERVE_MEDIA)")
    answer = site[1].send(probe, "known")
    assert answer.status == status and not answer.problems(), answer.report()


def test_odd_path_values(site):
    fuzz(site, "paths", probes(site[0]))


def test_odd_query_strings(site):
    fuzz(site, "queries", probes(site[0], query=True))


def test_odd_headers_and_cookies(site):
    fuzz(site, "headers", probes(site[0], headers=True))


def test_odd_methods_and_bodies(site):
    fuzz(site, "bodies", probes(site[0], query=True, headers=True, body=True))


def test_each_pages_own_form_posted_with_odd_fields(site):
    fuzz(site, "forms", form_posts(site[0]))


def test_a_report_shows_the_request_and_the_cause():
    probe = Probe(method="POST", path="/x/", query="a=1", body=b"b=2", content_type="text/plain")
    answer = Answer(probe, 500, {"content-type": "text/html"}, b"", 'File "/a.py", line 3, in f\n')
    report = findings_report([answer])
    assert report.startswith("1 bad answers, 1 causes")
    assert "=== /a.py:3 in f (1 requests)" in report and "answered 500" in report
    assert "POST /x/?a=1 HTTP/1.1" in report and "Content-Type: text/plain" in report and "b'b=2'" in report
