"""The open data API's reference (/api/v1/docs/): Swagger UI from our own static files runs under the
site's strict policy, with no CSP violation, console error or request leaving the site, at both sizes."""

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_api_reference_works_under_the_strict_policy(open_tab, viewport):
    tab = open_tab(viewport)
    page = tab.visit("/api/v1/docs/")
    # Swagger UI fetched the schema and listed the operations.
    page.wait_for_selector("text=/api/v1/stories/", timeout=15_000)
    page.get_by_text("/api/v1/sections/", exact=True).first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    page.wait_for_selector(".live-responses-table tbody .response-col_status", timeout=15_000)
    assert "200" in page.locator(".live-responses-table tbody .response-col_status").first.inner_text()
    tab.assert_clean("the API reference")
