"""The admin's form for a feed answers anything posted to it with a field error, never a 500: the
outlet is chosen in an autocomplete widget, which shows the chosen outlet again by looking it up."""

import pytest
from django.urls import reverse

from newsdesk.models import Feed
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db
ADD = reverse("admin:newsdesk_feed_add")


@pytest.mark.parametrize("outlet", ["abc", "1 OR 1=1", "-1", "1.5", "99999", "", "²", "١"])
def test_an_outlet_that_is_no_outlet_is_a_field_error(editor_client, outlet):
    response = editor_client.post(ADD, {"outlet": outlet, "url": "https://ok.example/rss", "active": "on"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["outlet"]
    assert not Feed.objects.exists()


def test_the_chosen_outlet_is_shown_again_beside_another_field_s_error(editor_client):
    outlet = SourceFactory(name="Harbour Herald", domain="harbour.example")
    response = editor_client.post(ADD, {"outlet": outlet.pk, "url": "ftp://x.example/rss", "active": "on"})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["url"]
    assert f'<option value="{outlet.pk}" selected>Harbour Herald</option>' in response.content.decode()
