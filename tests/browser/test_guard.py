"""The checks behind "clean console" can fail: the policy is strict, and the Guard notices trouble.

Without these, a Guard that silently heard nothing would make every "no CSP violation" pass.
"""

import urllib.request

import pytest

pytestmark = pytest.mark.browser


def policy(url: str) -> dict[str, list[str]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        header = response.headers["Content-Security-Policy"]
    assert header, f"{url} has no Content-Security-Policy"
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", ["/sources/{source}/", "/admin/login/"])
def test_pages_are_served_under_the_strict_policy(app, path):
    url = app.url + path.format(source=app.facts["sources"][1]["slug"])
    csp = policy(url)
    assert policy(url) == csp, "a page served from the page cache must keep the policy"
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'none'"]  # plugins, fonts, frames, media: nothing not listed
    assert "object-src" not in csp and "font-src" not in csp
    assert csp["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in csp.values() for value in values), csp


def test_guard_reports_csp_violations_console_errors_and_bad_requests(open_tab):
    tab = open_tab("desktop")
    page = tab.visit("/")
    tab.assert_clean()

    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.append(s); }"
    )
    page.evaluate("() => console.error('something broke')")
    page.evaluate("() => fetch('/static/css/not-there.css').catch(() => null)")
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.ran") is None, "the inline script must have been refused"

    problems = "\n".join(tab.guard.take())
    assert "CSP violation: style-src-attr" in problems
    assert "CSP violation: script-src-elem" in problems
    assert "console error: something broke" in problems
    assert "HTTP 404: GET " in problems and "/static/css/not-there.css" in problems

    # A page that leaves the site is noticed; the request is answered here and never reaches a network.
    tab.context.route("http://outside.example/**", lambda route: route.fulfill(body="<p>elsewhere</p>"))
    page.goto("http://outside.example/tracker")
    assert tab.guard.take() == ["request leaving the site: GET http://outside.example/tracker"]
