"""What the story list's bulk Publish and Unpublish say they did: counted in words ("1 story"), and a
story whose publish time is still ahead reported as scheduled, with the moment it goes live written
as the list writes it (the site's zone), never as published."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from articles.admin import scheduling
from articles.models import Article
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:articles_article_changelist")
# Summer time in the site's zone (Europe/London): 08:00 UTC is 09:00 BST.
LATER = datetime(2099, 7, 1, 8, 0, tzinfo=UTC)
LATER_SHOWN = '<time datetime="2099-07-01T08:00:00+00:00">1 Jul 2099, 09:00 BST</time>'


def bulk(client, action, stories) -> list[str]:
    """Run a bulk action on `stories` from the list; the messages the list shows next."""
    data = {"action": action, "_selected_action": [story.pk for story in stories], "index": "0"}
    assert client.post(CHANGELIST, data).status_code == 302
    return [str(message) for message in client.get(CHANGELIST).context["messages"]]


def test_one_story_is_one_story(editor_client):
    story = ArticleFactory(draft=True)
    assert bulk(editor_client, "publish_selected", [story]) == ["Published 1 story."]
    assert bulk(editor_client, "unpublish_selected", [story]) == ["Unpublished 1 story: back to draft."]


def test_several_stories(editor_client):
    stories = ArticleFactory.create_batch(3, draft=True)
    assert bulk(editor_client, "publish_selected", stories) == ["Published 3 stories."]
    assert bulk(editor_client, "unpublish_selected", stories) == ["Unpublished 3 stories: back to draft."]


def test_a_story_with_its_publish_time_ahead_is_reported_scheduled_with_when(editor_client, client):
    story = ArticleFactory(draft=True, title="Harbour & quay", published_at=LATER)
    shown = bulk(editor_client, "publish_selected", [story])
    assert shown == [f"Scheduled 1 story: “Harbour &amp; quay” goes live at {LATER_SHOWN}."]
    story.refresh_from_db()
    assert story.is_scheduled()
    assert client.get(story.get_absolute_url()).status_code == 404
    # The list's status column says the same moment the message did.
    assert f'Scheduled</span><span class="scheduled-at"> · {LATER_SHOWN}' in (
        editor_client.get(CHANGELIST).content.decode()
    )


def test_live_and_scheduled_are_counted_apart(editor_client):
    now = ArticleFactory.create_batch(2, draft=True)
    soon = ArticleFactory(draft=True, title="Sooner", published_at=LATER.replace(month=6))
    later = ArticleFactory(draft=True, title="Later", published_at=LATER)
    shown = bulk(editor_client, "publish_selected", [*now, later, soon])
    assert shown == [
        "Published 2 stories.",
        "Scheduled 2 stories: “Sooner” goes live at "
        '<time datetime="2099-06-01T08:00:00+00:00">1 Jun 2099, 09:00 BST</time>; '
        f"“Later” at {LATER_SHOWN}.",
    ]
    assert Article.objects.published().count() == 2 and Article.objects.scheduled().count() == 2


def test_a_long_list_of_scheduled_stories_names_the_first_ones(editor_client):
    stories = [
        ArticleFactory(draft=True, title=f"Story {day:02d}", published_at=LATER.replace(day=day))
        for day in range(1, scheduling.SCHEDULED_LISTED + 4)
    ]
    (shown,) = bulk(editor_client, "publish_selected", stories)
    assert shown.startswith(f"Scheduled {len(stories)} stories: “Story 01” goes live at ")
    assert f"“Story {scheduling.SCHEDULED_LISTED:02d}” at " in shown
    assert f"“Story {scheduling.SCHEDULED_LISTED + 1:02d}”" not in shown
    assert shown.endswith("; and 3 more.")


def test_nothing_to_do_says_so(editor_client):
    live = ArticleFactory()
    draft = ArticleFactory(draft=True)
    assert bulk(editor_client, "publish_selected", [live]) == [
        "No story was published: the selected stories were published or scheduled already."
    ]
    assert bulk(editor_client, "unpublish_selected", [draft]) == [
        "No story was unpublished: the selected stories were drafts already."
    ]
