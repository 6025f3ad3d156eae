"""The proposed section of a candidate: term profiles of the sections' published stories, compared
with the candidate's centroid; an editor's choice never replaced."""

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Category
from newsdesk import ingest, sections
from newsdesk.fetching.robots import robots_clear
from newsdesk.models import Candidate, Feed, Piece
from tests.factories import ArticleFactory, CategoryFactory, SourceFactory
from tests.newsdesk import desk_rows
from tests.newsdesk.grouping_corpus import group_corpus, publishing_order
from tests.newsdesk.ingest_site import STORIES as INGESTED
from tests.newsdesk.ingest_site import site
from tests.newsdesk.servers import serve
from tests.newsdesk.test_grouping import T0, grouped

pytestmark = pytest.mark.django_db

# The corpus's events and the demo newsroom's sections a reader could look for them in.
PLAUSIBLE = {
    "valdoria-runoff": {"world", "politics"},
    "storm-ilse-east-coast": {"world"},
    "storm-jarrah-plains-ice": {"world"},
    "supreme-court-app-drivers-act": {"politics", "business"},
    "halverton-courier-pay-upheld": {"politics", "business"},
    "northway-bellmark-merger": {"business"},
    "voss-budget-2026": {"politics", "business"},
    "easton-falls-water-main": {"world"},
    "redhaven-rovers-cup-final": {"sports"},
    "selene-3-lunar-landing": {"world"},
    "b-korvex-exchange-hack": {"crypto"},
    "b-seruni-volcano-eruption": {"world"},
    "b-velaria-cabin-crew-strike": {"business", "world"},
    "b-skandia-pilots-strike": {"business", "world"},
    "b-stopgap-spending-bill": {"politics"},
    "b-national-cup-final": {"sports"},
    "b-dunmore-measles-outbreak": {"world"},
    "b-fed-holds-rates": {"business"},
    "b-boe-cuts-rates": {"business"},
    "b-millbrook-bridge-closure": {"world"},
    "c-esteria-corvel-earthquake": {"world"},
    "c-corvanta-layoffs": {"business"},
    "c-brightloom-layoffs": {"business"},
    "c-ridgeback-cinder-hollow-fire": {"world"},
    "c-pellham-bay-gull-point-fire": {"world"},
    "c-vell-port-chief-arrested": {"world", "politics", "business"},
    "c-senate-homes-within-reach-act": {"politics"},
    "c-reserve-bank-rate-cut": {"business"},
    "c-vell-port-chief-indicted-resigns": {"world", "politics", "business"},
    "c-league-trophy-final-marlow": {"sports"},
    "c-velmostat-blood-pressure-trial": {"world", "business"},
    "c-vaultline-stablecoin-depeg": {"crypto"},
}


NEWSROOM = Path(settings.BASE_DIR) / "articles" / "demo" / "newsroom.json"

STORIES = {
    "sports": [
        (
            "Harbour United beat Kestrel Town 3-1 to reach the league final",
            "Two goals in the second half sent Harbour United into the final; the striker scored twice and "
            "the coach praised the defence after the match in front of a full stadium.",
        ),
        (
            "Goalkeeper's late save keeps City top of the table",
            "A penalty save in stoppage time kept City top of the league table; the club's manager said the "
            "squad would rotate players before the cup match on Saturday.",
        ),
        (
            "Rovers sack their coach after five defeats in a row",
            "The club's board dismissed the coach after a fifth straight defeat left the team near "
            "relegation; the striker and the captain thanked him for three seasons and a cup win.",
        ),
    ],
    "crypto": [
        (
            "Bitcoin climbs past a record as token trading volumes surge",
            "Bitcoin and other tokens rallied on the exchanges, with stablecoin inflows and wallet activity "
            "at their highest this year, traders said, as the blockchain's fees rose.",
        ),
        (
            "Regulator fines a crypto exchange over its stablecoin reserves",
            "The exchange regulator fined a crypto exchange for misstating the reserves behind its "
            "stablecoin; token holders can redeem their coins from custodians' wallets.",
        ),
        (
            "Validators upgrade the network as token prices steady",
            "Validators on the blockchain network finished an upgrade that cuts fees for wallets, and the "
            "exchange said token trading resumed after a short halt.",
        ),
    ],
    "politics": [
        (
            "Assembly passes the housing bill after a late-night vote",
            "Lawmakers in the assembly passed the housing bill by 61 votes to 54; the opposition leader said "
            "the coalition had ignored the committee's amendments before the vote.",
        ),
        (
            "Coalition whips count votes ahead of the budget debate",
            "The government's whips spent the week counting votes for the budget bill, with opposition "
            "lawmakers and two coalition members saying they would vote against it in parliament.",
        ),
        (
            "Minister resigns as the ethics committee reports on lobbying",
            "The minister resigned after parliament's ethics committee found she had met lobbyists before "
            "the vote on the bill; the opposition called for an inquiry and a new election.",
        ),
    ],
}

CUP_FINAL = [
    (
        "Marlow Vale stun Dunmere City 2-0 to win the League Trophy",
        "Second-tier Marlow Vale won the League Trophy final, the striker scoring twice as the club's coach "
        "celebrated with the team in front of the stadium's fans after the match.",
    ),
    (
        "Dunmere City's coach blames the defence after cup final defeat",
        "Dunmere City's coach said the defence lost the final for the team; Marlow Vale's striker scored "
        "twice and their goalkeeper kept a clean sheet in the League Trophy match.",
    ),
]
STABLECOIN = [
    (
        "Stablecoin Vaultline USD slips below $1 after reserve report",
        "Vaultline USD, a stablecoin, fell to 0.97 on the exchanges after its reserves report showed fewer "
        "cash holdings; token holders rushed to redeem and wallets moved coins to other tokens.",
    ),
]
LANDING = [
    (
        "Selene-3 lander touches down near the moon's south pole",
        "The Aurora Space Agency's Selene-3 lander touched down in Shackleton crater; engineers confirmed "
        "telemetry from the rover and solar panels deployed on the lunar surface.",
    ),
]


def stories():
    for slug, found in STORIES.items():
        for title, summary in found:
            ArticleFactory(title=title, summary=summary, category=CategoryFactory(slug=slug))


def candidate_of(texts, *, at=T0):
    made = [grouped(words, at=at + timedelta(minutes=i)) for i, words in enumerate(texts)]
    assert len({piece.candidate_id for piece in made}) == 1
    return Candidate.objects.get(pk=made[0].candidate_id)


def slug(candidate):
    candidate.refresh_from_db()
    return candidate.section.slug if candidate.section else None


def test_a_candidate_gets_the_section_whose_stories_it_resembles_and_none_when_none_does():
    stories()
    cup, coin, moon = candidate_of(CUP_FINAL), candidate_of(STABLECOIN), candidate_of(LANDING)
    assert sections.sections_propose([cup.pk, coin.pk, moon.pk]) == 2
    assert (slug(cup), slug(coin), slug(moon)) == ("sports", "crypto", None)
    assert not cup.section_chosen


def test_an_editors_section_is_kept_and_only_open_candidates_get_a_proposal():
    stories()
    chosen, dismissed = candidate_of(CUP_FINAL), candidate_of(STABLECOIN)
    politics = Category.objects.get(slug="politics")
    Candidate.objects.filter(pk=chosen.pk).update(section=politics, section_chosen=True)
    Candidate.objects.filter(pk=dismissed.pk).update(status=Candidate.Status.DISMISSED)
    assert sections.sections_propose([chosen.pk, dismissed.pk]) == 0
    assert (slug(chosen), slug(dismissed)) == ("politics", None)


def test_a_proposal_follows_the_candidate_until_an_editor_chooses():
    stories()
    moon = candidate_of(LANDING)
    Candidate.objects.filter(pk=moon.pk).update(section=Category.objects.get(slug="sports"))
    sections.sections_propose([moon.pk])
    assert slug(moon) is None  # a proposal it no longer earns is taken back


def test_profiles_are_cached_bounded_to_the_newest_stories_and_rebuilt_when_stale(monkeypatch):
    stories()
    monkeypatch.setattr(sections, "PROFILE_STORIES", 2)
    sports = Category.objects.get(slug="sports")
    ArticleFactory(title="Curling curling curling", summary="Curling.", category=sports,
                   published_at=T0 - timedelta(days=400))  # fmt: skip
    with CaptureQueriesContext(connection) as built:
        profiles = sections.section_profiles()
    # One query for the sections, one per section for its newest stories.
    assert len(built) == 1 + Category.objects.count()
    assert "curling" not in profiles[sports.pk]
    assert {"striker", "coach"} & set(profiles[sports.pk])
    with CaptureQueriesContext(connection) as cached:
        assert sections.section_profiles() == profiles
    assert len(cached) == 0
    ArticleFactory(title="Curling final", summary="Curling.", category=sports, published_at=timezone.now())
    sections.cache.delete(sections.CACHE_KEY)  # what PROFILE_SECONDS' expiry does
    assert "curling" in sections.section_profiles()[sports.pk]


def test_the_demo_newsroom_proposes_plausible_sections_for_the_corpus_candidates(capsys):
    newsroom = json.loads(NEWSROOM.read_text(encoding="utf-8"))["articles"]
    rows = [row for row in newsroom if row["status"] == "published"]
    for row in rows:
        section = CategoryFactory(slug=row["section"])
        ArticleFactory(title=row["title"], summary=row["summary"], category=section)
    group_corpus(publishing_order())
    labels = {row["url"]: row["event"] for row in publishing_order()}
    candidates = list(Candidate.objects.all())
    sections.sections_propose([candidate.pk for candidate in candidates])
    slugs = dict(Category.objects.values_list("pk", "slug"))
    found = Counter()
    for candidate in Candidate.objects.all():
        urls = Piece.objects.filter(candidate=candidate).values_list("url", flat=True)
        event = Counter(labels[url] for url in urls).most_common(1)[0][0]
        proposed = slugs.get(candidate.section_id)
        found["none" if proposed is None else "plausible" if proposed in PLAUSIBLE[event] else "wrong"] += 1
    with capsys.disabled():
        print(
            f"\nproposed sections (demo newsroom, {len(rows)} stories), {len(candidates)} corpus candidates: "
            f"{found['plausible']} plausible, {found['wrong']} implausible, {found['none']} none"
        )
    assert found["plausible"] >= 0.6 * len(candidates)
    assert found["wrong"] <= 0.1 * len(candidates)


def test_the_desks_section_select_makes_the_section_the_editors(writer_client):
    cand, _ = desk_rows.newsroom()
    sport = Category.objects.get(slug="sports")
    url = reverse("admin:newsdesk_candidate_section", args=[cand.pk])
    assert writer_client.post(url, {"section": sport.pk}).status_code == 302
    cand.refresh_from_db()
    assert (cand.section, cand.section_chosen) == (sport, True)
    stories()  # the candidate is about dockers: the proposal would be none
    sections.sections_propose([cand.pk])
    cand.refresh_from_db()
    assert cand.section == sport


def test_ingestion_proposes_the_touched_candidates_sections(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True  # the server is on 127.0.0.1
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    sports = Category.objects.get(slug="sports")
    for title in ("Spring marathon draws a record field", "Runners cross the river on the new route"):
        ArticleFactory(
            title=title,
            summary="The marathon's runners crossed the river on a route through the market square; "
            "organisers closed roads along the embankment for the race.",
            category=sports,
        )
    stories()
    robots_clear()
    with serve(site(names=("marathon", "library"))) as server:
        feed = Feed.objects.create(outlet=SourceFactory(), url=server.url("/feed.xml"))
        report = ingest.fetch_feed(feed)
    robots_clear()
    assert report.new_pieces == 2
    marathon = Piece.objects.get(title=INGESTED["marathon"][0]).candidate
    library = Piece.objects.get(title=INGESTED["library"][0]).candidate
    assert (marathon.section, library.section) == (sports, None)
