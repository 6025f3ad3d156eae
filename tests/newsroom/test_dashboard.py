"""The newsroom dashboard on the admin index, as editors and writers see it."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Category
from articles.newsroom import dashboard
from tests.factories import ArticleFactory, BiasRatingFactory, CategoryFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
CHANGELIST = reverse("admin:articles_article_changelist")


def section_html(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]* id="{section_id}".*?</section>', html, re.S)
    assert match, f"no #{section_id} on the page"
    return match.group(0)


def row_html(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}">.*?</tr>', html, re.S)
    assert match, f"no #{row_id} on the page"
    return match.group(0)


def changelist_titles(client, url) -> set[str]:
    html = client.get(url).content.decode()
    return set(re.findall(r'<td class="field-title"><a href="[^"]*">([^<]*)</a>', html))


# --- Counts by status ------------------------------------------------------------------------------


def test_counts_by_status_link_to_the_filtered_story_list(editor_client):
    for i in range(2):
        ArticleFactory(title=f"Draft {i}", draft=True)
    ArticleFactory(title="Pulled back", unpublished=True)
    ArticleFactory(title="Tomorrow's story", scheduled=True)
    for i in range(4):
        ArticleFactory(title=f"Live {i}")
    html = editor_client.get(INDEX).content.decode()
    counts = section_html(html, "dashboard-counts")
    expected = {
        "dashboard-drafts": ("draft", 3, "Drafts", {"Draft 0", "Draft 1", "Pulled back"}),
        "dashboard-scheduled-count": ("scheduled", 1, "Scheduled", {"Tomorrow's story"}),
        "dashboard-live": ("live", 4, "Published (live)", {f"Live {i}" for i in range(4)}),
    }
    for link_id, (state, number, word, titles) in expected.items():
        link = re.search(rf'<a id="{link_id}"[^>]* href="([^"]+)">(.*?)</a>', counts, re.S)
        assert link, link_id
        href, text = unescape(link.group(1)), re.sub(r"<[^>]+>", "", link.group(2))
        assert href == f"{CHANGELIST}?state={state}"
        assert text.split() == [str(number), *word.split()]
        assert {unescape(t) for t in changelist_titles(editor_client, href)} == titles


# --- The scheduled queue ---------------------------------------------------------------------------


def test_scheduled_queue_soonest_first_in_the_site_time_zone(editor_client, settings):
    settings.TIME_ZONE = "America/New_York"
    now = timezone.now()
    ArticleFactory(title="Later story", published_at=now + timedelta(days=2, minutes=1))
    soon = ArticleFactory(
        title="Soon story",
        published_at=now + timedelta(hours=3, seconds=30),
        category=CategoryFactory(slug="sports"),
    )
    ArticleFactory(title="Already live")
    ArticleFactory(title="Only a draft", draft=True, published_at=now + timedelta(hours=1))
    queue = section_html(editor_client.get(INDEX).content.decode(), "dashboard-scheduled")
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", queue, re.S)
    assert len(rows) == 2
    first, second = rows
    assert f'<a href="{reverse("admin:articles_article_change", args=[soon.pk])}">Soon story</a>' in first
    assert "<td>Sports</td>" in first
    local = timezone.localtime(soon.published_at)
    assert local.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
    assert f'datetime="{local.isoformat()}"' in first
    assert f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}" in first
    assert "(in 3\xa0hours)" in first
    assert "Later story" in second and "(in 2\xa0days)" in second
    for hidden in ("Already live", "Only a draft"):
        assert hidden not in queue
    assert "Nothing scheduled." not in queue


def test_scheduled_queue_when_empty_and_when_longer_than_shown(editor_client):
    ArticleFactory(title="Live story")
    queue = section_html(editor_client.get(INDEX).content.decode(), "dashboard-scheduled")
    assert "Nothing scheduled." in queue
    assert "<table" not in queue

    start = timezone.now() + timedelta(hours=1)
    for i in range(dashboard.QUEUE_SIZE + 2):
        ArticleFactory(title=f"Queued {i:02}", published_at=start + timedelta(minutes=i))
    queue = section_html(editor_client.get(INDEX).content.decode(), "dashboard-scheduled")
    shown = re.findall(r">(Queued \d+)</a>", queue)
    assert shown == [f"Queued {i:02}" for i in range(dashboard.QUEUE_SIZE)]
    assert f'<a href="{CHANGELIST}?state=scheduled">2 more scheduled: see them all</a>' in queue


# --- The last published stories --------------------------------------------------------------------


def test_last_published_newest_first_with_change_and_site_links(editor_client):
    now = timezone.now()
    stories = [
        ArticleFactory(title=f"Live {i}", published_at=now - timedelta(hours=i + 1)) for i in range(10)
    ]
    ArticleFactory(title="Tomorrow's story", scheduled=True)
    ArticleFactory(title="Draft story", draft=True)
    recent = section_html(editor_client.get(INDEX).content.decode(), "dashboard-recent")
    assert re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', recent) == [
        f"Live {i}" for i in range(dashboard.RECENT_SIZE)
    ]
    first = stories[0]
    assert f'<a href="{reverse("admin:articles_article_change", args=[first.pk])}">Live 0</a>' in recent
    assert f'<a href="{first.get_absolute_url()}" class="dash-view">View on site' in recent
    assert "(1\xa0hour ago)" in recent
    for hidden in ("Tomorrow", "Draft story", "Live 8", "Live 9"):
        assert hidden not in recent
    assert editor_client.get(first.get_absolute_url()).status_code == 200


def test_last_published_when_nothing_is_live(editor_client):
    ArticleFactory(draft=True)
    recent = section_html(editor_client.get(INDEX).content.decode(), "dashboard-recent")
    assert "Nothing published yet." in recent


# --- This week's coverage balance ------------------------------------------------------------------


def rated(section, left, center, right, **kwargs):
    story = ArticleFactory(category=CategoryFactory(slug=section), **kwargs)
    BiasRatingFactory(article=story, left=left, center=center, right=right)
    return story


def test_balance_chart_averages_this_weeks_rated_stories_per_section(editor_client):
    now = timezone.now()
    rated("world", 20, 60, 20)
    rated("world", 40, 40, 20, published_at=now - timedelta(days=6, hours=23))
    ArticleFactory(category=CategoryFactory(slug="world"))  # no rating: left out
    rated("world", 100, 0, 0, published_at=now - timedelta(days=7, minutes=5))  # last week
    rated("world", 0, 0, 100, scheduled=True)
    rated("world", 0, 0, 100, draft=True)
    rated("politics", 0, 0, 100, published_at=now - timedelta(days=9))
    html = editor_client.get(INDEX).content.decode()
    chart = section_html(html, "dashboard-balance")

    world = row_html(chart, "dashboard-balance-world")
    label = "World: 2 stories, left 30%, center 50%, right 20%"
    assert f'role="img" aria-label="{label}"><title>{label}</title>' in world
    assert re.findall(r'<rect class="dash-(\w)" x="(\d+)" y="0" width="(\d+)" height="10"/>', world) == [
        ("l", "0", "30"),
        ("c", "30", "50"),
        ("r", "80", "20"),
    ]
    assert "<td>2</td>" in world and "<td>30% / 50% / 20%</td>" in world

    politics = row_html(chart, "dashboard-balance-politics")
    assert "No rated stories in the last 7 days." in politics
    assert "<svg" not in politics
    for section in Category.objects.all():
        assert f'id="dashboard-balance-{section.slug}"' in chart
    legend = re.search(
        r'<ul class="dash-legend" id="dashboard-balance-legend">(.*?)</ul>', chart, re.S
    ).group(1)
    assert [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", legend)] == [
        "Left",
        "Center",
        "Right",
    ]
    assert "average left / center / right share" in chart


def test_balance_shares_are_whole_percentages_adding_up_to_100():
    rated("business", 100, 0, 0)
    rated("business", 0, 100, 0)
    rated("business", 0, 0, 100)
    rated("sports", 33, 33, 34)
    rated("sports", 50, 25, 25)
    rows = {row.section.slug: row for row in dashboard.coverage_balance(now=timezone.now())}
    business, sports = rows["business"], rows["sports"]
    assert (business.stories, business.left, business.center, business.right) == (3, 34, 33, 33)
    assert (sports.stories, sports.left, sports.center, sports.right) == (2, 42, 29, 29)
    assert business.description == "Business: 3 stories, left 34%, center 33%, right 33%"
    assert rows["world"].description == "World: no rated stories in the last 7 days"


def test_balance_row_for_a_single_story_and_a_missing_share():
    rated("crypto", 0, 70, 30)
    row = next(r for r in dashboard.coverage_balance(now=timezone.now()) if r.section.slug == "crypto")
    assert row.description == "Crypto: 1 story, left 0%, center 70%, right 30%"
    assert [(s.key, s.x, s.percent) for s in row.segments] == [("l", 0, 0), ("c", 0, 70), ("r", 70, 30)]


# --- The page as a whole ---------------------------------------------------------------------------


def test_the_app_list_and_recent_actions_stay(editor_client):
    html = editor_client.get(INDEX).content.decode()
    assert '<div id="content-main" class="app-list">' in html
    assert html.index('id="newsroom-dashboard"') < html.index('class="app-articles module')
    assert f'href="{reverse("admin:articles_source_changelist")}"' in html
    assert f'href="{reverse("admin:articles_category_changelist")}"' in html
    assert 'id="recent-actions-module"' in html
    assert '<link rel="stylesheet" href="/static/css/admin.css">' in html


def test_writers_see_the_dashboard_too(writer_client):
    ArticleFactory(title="Live story")
    html = writer_client.get(INDEX).content.decode()
    assert 'id="newsroom-dashboard"' in html
    recent = section_html(html, "dashboard-recent")
    story = Article.objects.get(title="Live story")
    change_url = reverse("admin:articles_article_change", args=[story.pk])
    assert f'<a href="{change_url}">Live story</a>' in recent
    # A published story is the Editors' to change: the writer's link opens it read-only.
    page = writer_client.get(change_url)
    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()


def test_staff_without_story_permissions_see_only_the_app_list(client, django_user_model):
    user = django_user_model.objects.create_user(username="outlets-only", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_source"))
    client.force_login(user)
    ArticleFactory(title="Secret draft", draft=True)
    html = client.get(INDEX).content.decode()
    assert 'id="newsroom-dashboard"' not in html
    assert "Secret draft" not in html
    assert f'href="{reverse("admin:articles_source_changelist")}"' in html


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_no_inline_styles_or_scripts_under_the_strict_policy(editor_client):
    rated("world", 20, 60, 20)
    ArticleFactory(scheduled=True)
    response = editor_client.get(INDEX)
    html = response.content.decode()
    dash = re.search(r'<div id="newsroom-dashboard".*?</section>\s*</div>', html, re.S).group(0)
    assert "style=" not in dash
    assert "<script" not in dash
    assert not re.search(r"\son[a-z]+=", dash)
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def _index_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(INDEX)
    assert response.status_code == 200
    return len(queries)


def _newsroom(n):
    sections = ["world", "politics", "crypto", "business", "sports"]
    now = timezone.now()
    for i in range(n):
        story = ArticleFactory(
            category=CategoryFactory(slug=sections[i % 5]), published_at=now - timedelta(hours=i + 1)
        )
        if i % 3:
            BiasRatingFactory(article=story)
        ArticleFactory(draft=True, category=story.category)
        ArticleFactory(category=story.category, published_at=now + timedelta(hours=i + 1))


def test_the_dashboard_runs_a_fixed_handful_of_queries(editor_client):
    _newsroom(3)
    with CaptureQueriesContext(connection) as queries:
        board = dashboard.build()
    assert len(queries) == 7
    assert (board.drafts, board.scheduled, board.live) == (3, 3, 3)

    small = _index_queries(editor_client)
    _newsroom(27)
    with CaptureQueriesContext(connection) as queries:
        board = dashboard.build()
    assert len(queries) == 7
    assert (board.drafts, board.scheduled, board.live) == (30, 30, 30)
    assert len(board.queue) == dashboard.QUEUE_SIZE and len(board.recent) == dashboard.RECENT_SIZE
    assert sum(row.stories for row in board.balance) == 20
    assert _index_queries(editor_client) == small
