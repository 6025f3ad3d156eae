"""The Observatory scorer used by tests/test_servers.py, checked on hand-worked cases."""

from tests import observatory

HTTPS_REDIRECT = {
    "http_status": 301,
    "http_location": "https://news.example.org/",
    "host": "news.example.org",
}


def score(headers=None, cookies=(), body="<p>hi</p>", **http):
    return observatory.score(
        headers={"content-type": "text/html", **(headers or {})},
        set_cookies=list(cookies),
        body=body,
        **{**HTTPS_REDIRECT, **http},
    )


def test_a_site_with_no_security_headers_scores_30():
    # 100 - 25 (no CSP) - 20 (no HSTS) - 5 (no nosniff) - 20 (no framing protection); no bonus under 90.
    result = score()
    assert result.total == 30, result


def test_no_redirect_to_https_costs_20():
    assert score(http_status=200, http_location="").total == 10


def test_bonuses_count_only_from_90():
    strong = {
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'; form-action 'self'",
        "strict-transport-security": "max-age=31536000",
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "cross-origin-resource-policy": "same-origin",
    }
    assert score(strong).total == 130  # +10 CSP, +5 referrer, +5 framing via CSP, +10 CORP
    weak = {**strong, "strict-transport-security": "max-age=60"}  # -10: 90, bonuses still count
    assert score(weak).total == 120
    unsafe = {**strong, "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'"}
    # -20 unsafe inline script and -20 no framing protection: 60, so no bonus at all.
    assert score(unsafe).total == 60


def test_cookies_need_secure_httponly_sessions_and_samesite_for_the_bonus():
    strong = {
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        "strict-transport-security": "max-age=31536000",
        "x-content-type-options": "nosniff",
    }
    good = ["csrftoken=a; Secure; SameSite=Lax", "sessionid=b; Secure; HttpOnly; SameSite=Lax"]
    assert score(strong, good).results["cookies"] == ("cookies-secure-with-httponly-sessions-and-samesite", 5)
    readable = ["sessionid=b; Secure; SameSite=Lax"]
    assert score(strong, readable).results["cookies"][1] == -30
    plain = ["sessionid=b; HttpOnly; SameSite=Lax"]
    assert score(strong, plain).results["cookies"][1] == -10  # HSTS softens it


def test_scripts_from_elsewhere_without_integrity_cost_5():
    page = '<script src="https://cdn.example.com/x.js"></script>'
    assert score(body=page).results["sri"][1] == -5
    same = '<script src="/static/js/bias.js"></script>'
    assert score(body=same).results["sri"][1] == 0
    pinned = '<script src="/static/x.js" integrity="sha384-abc"></script>'
    assert score(body=pinned).results["sri"][1] == 5
