"""The MDN HTTP Observatory's score of one page, computed from its live headers and HTML.

Follows the Observatory's published methodology (developer.mozilla.org/en-US/observatory/docs/
tests_and_scoring, and the scoring table of mdn/mdn-http-observatory): start at 100, take the
penalties, then add the bonuses if the result is at least 90. Ten tests: CSP, cookies, CORS,
redirection, Referrer-Policy, HSTS, subresource integrity, X-Content-Type-Options, X-Frame-Options
and Cross-Origin-Resource-Policy. HSTS preloading (+5) is an operator's decision for their domain,
never counted here.
"""

import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

BROAD = {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
UNSAFE_INLINE = {"'unsafe-inline'", "data:"}
SIX_MONTHS = 15_768_000
PRIVATE_REFERRERS = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
UNSAFE_REFERRERS = {"origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"}
_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


@dataclass
class Score:
    results: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, test: str, result: str, modifier: int) -> None:
        self.results[test] = (result, modifier)

    @property
    def total(self) -> int:
        penalties = sum(m for _, m in self.results.values() if m < 0)
        score = max(0, 100 + penalties)
        if score >= 90:
            score += sum(m for _, m in self.results.values() if m > 0)
        return score

    def __str__(self) -> str:
        lines = [f"{self.total}:"] + [
            f"  {m:+d} {test}: {result}" for test, (result, m) in self.results.items()
        ]
        return "\n".join(lines)


def parse_csp(header: str) -> dict[str, set[str]]:
    policy = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            policy.setdefault(tokens[0].lower(), set(tokens[1:]))
    return policy


def _csp(score, headers):
    header = headers.get("content-security-policy")
    if not header:
        return score.add("csp", "csp-not-implemented", -25)
    csp = parse_csp(header)
    default = csp.get("default-src", {"*"})
    script = csp.get("script-src", csp.get("default-src", {"*"}))
    style = csp.get("style-src", csp.get("default-src", {"*"}))
    objects = csp.get("object-src", csp.get("default-src", {"*"}))
    if script & (BROAD | UNSAFE_INLINE) or objects & BROAD:
        return score.add("csp", "csp-implemented-with-unsafe-inline", -20)
    if "'unsafe-eval'" in script | style:
        return score.add("csp", "csp-implemented-with-unsafe-eval", -10)
    if style & (BROAD | UNSAFE_INLINE):
        return score.add("csp", "csp-implemented-with-unsafe-inline-in-style-src-only", 0)
    if default == {"'none'"}:
        return score.add("csp", "csp-implemented-with-no-unsafe-default-src-none", 10)
    return score.add("csp", "csp-implemented-with-no-unsafe", 5)


def _cookies(score, set_cookies: list[str], hsts: bool):
    if not set_cookies:
        return score.add("cookies", "cookies-not-found", 0)
    worst = None
    same_site_everywhere = True
    for raw in set_cookies:
        cookie = SimpleCookie()
        cookie.load(raw)
        for name, morsel in cookie.items():
            session = any(word in name.lower() for word in ("login", "sess"))
            csrf = "csrf" in name.lower()
            same_site = morsel["samesite"]
            if same_site and same_site.lower() not in ("lax", "strict", "none"):
                worst = worst or ("cookies-samesite-flag-invalid", -20)
            if not same_site:
                same_site_everywhere = False
                if csrf:
                    worst = min(
                        worst or (None, 0),
                        ("cookies-anticsrf-without-samesite-flag", -20),
                        key=lambda r: r[1],
                    )
            if not morsel["secure"]:
                result = (
                    ("cookies-session-without-secure-flag", -40)
                    if session
                    else ("cookies-without-secure-flag", -20)
                )
                if hsts:
                    result = (result[0] + "-but-protected-by-hsts", -10 if session else -5)
                worst = min(worst or (None, 0), result, key=lambda r: r[1])
            if session and not morsel["httponly"]:
                worst = min(
                    worst or (None, 0), ("cookies-session-without-httponly-flag", -30), key=lambda r: r[1]
                )
    if worst and worst[1] < 0:
        return score.add("cookies", *worst)
    if same_site_everywhere:
        return score.add("cookies", "cookies-secure-with-httponly-sessions-and-samesite", 5)
    return score.add("cookies", "cookies-secure-with-httponly-sessions", 0)


def _cors(score, headers):
    origin = headers.get("access-control-allow-origin")
    if not origin:
        return score.add("cors", "cross-origin-resource-sharing-not-implemented", 0)
    if origin.strip() == "*" or headers.get("access-control-allow-credentials", "").lower() == "true":
        credentials = headers.get("access-control-allow-credentials", "").lower() == "true"
        if credentials:
            return score.add("cors", "cross-origin-resource-sharing-implemented-with-universal-access", -50)
        return score.add("cors", "cross-origin-resource-sharing-implemented-with-public-access", 0)
    return score.add("cors", "cross-origin-resource-sharing-implemented-with-restricted-access", 0)


def _redirection(score, http_status: int, http_location: str, host: str):
    if http_status in (301, 302, 307, 308) and http_location.startswith(f"https://{host}"):
        return score.add("redirection", "redirection-to-https", 0)
    if http_status in (301, 302, 307, 308):
        return score.add("redirection", "redirection-off-host-or-not-to-https", -20)
    return score.add("redirection", "redirection-missing", -20)


def _referrer(score, headers):
    values = {v.strip().lower() for v in headers.get("referrer-policy", "").split(",") if v.strip()}
    if not values:
        return score.add("referrer", "referrer-policy-not-implemented", 0)
    last = headers["referrer-policy"].split(",")[-1].strip().lower()
    if last in PRIVATE_REFERRERS:
        return score.add("referrer", "referrer-policy-private", 5)
    if last in UNSAFE_REFERRERS:
        return score.add("referrer", "referrer-policy-unsafe", -5)
    return score.add("referrer", "referrer-policy-header-invalid", -5)


def hsts_max_age(headers) -> int | None:
    match = re.search(r"max-age\s*=\s*\"?(\d+)", headers.get("strict-transport-security", ""), re.IGNORECASE)
    return int(match[1]) if match else None


def _hsts(score, headers):
    age = hsts_max_age(headers)
    if age is None:
        return score.add("hsts", "hsts-not-implemented", -20)
    if age < SIX_MONTHS:
        return score.add("hsts", "hsts-implemented-max-age-less-than-six-months", -10)
    return score.add("hsts", "hsts-implemented-max-age-at-least-six-months", 0)


def _sri(score, headers, body: str, origin: str):
    if "html" not in headers.get("content-type", ""):
        return score.add("sri", "sri-not-implemented-response-not-html", 0)
    scripts = [attrs for attrs in _SCRIPT.findall(body) if _SRC.search(attrs)]
    if not scripts:
        return score.add("sri", "sri-not-implemented-but-no-scripts-loaded", 0)
    sources = [_SRC.search(attrs)[1] for attrs in scripts]
    external = [
        src for src in sources if src.startswith(("http:", "https:", "//")) and not src.startswith(origin)
    ]
    with_integrity = all("integrity=" in attrs.lower() for attrs in scripts)
    insecure = [src for src in external if not src.startswith("https:")]
    if insecure:
        return score.add("sri", "sri-not-implemented-and-external-scripts-not-loaded-securely", -50)
    if with_integrity:
        return score.add("sri", "sri-implemented-and-all-scripts-loaded-securely", 5)
    if external:
        return score.add("sri", "sri-not-implemented-but-external-scripts-loaded-securely", -5)
    return score.add("sri", "sri-not-implemented-but-all-scripts-loaded-from-secure-origin", 0)


def _nosniff(score, headers):
    if headers.get("x-content-type-options", "").strip().lower() == "nosniff":
        return score.add("x-content-type-options", "x-content-type-options-nosniff", 0)
    return score.add("x-content-type-options", "x-content-type-options-not-implemented", -5)


def _framing(score, headers):
    ancestors = parse_csp(headers.get("content-security-policy", "")).get("frame-ancestors")
    if ancestors is not None and not ancestors & BROAD:
        return score.add("x-frame-options", "x-frame-options-implemented-via-csp", 5)
    if headers.get("x-frame-options", "").strip().upper() in ("DENY", "SAMEORIGIN"):
        return score.add("x-frame-options", "x-frame-options-sameorigin-or-deny", 0)
    return score.add("x-frame-options", "x-frame-options-not-implemented", -20)


def _corp(score, headers):
    value = headers.get("cross-origin-resource-policy", "").strip().lower()
    if not value:
        return score.add("corp", "cross-origin-resource-policy-not-implemented", 0)
    if value in ("same-origin", "same-site"):
        return score.add("corp", f"cross-origin-resource-policy-implemented-with-{value}", 10)
    if value == "cross-origin":
        return score.add("corp", "cross-origin-resource-policy-implemented-with-cross-origin", 0)
    return score.add("corp", "cross-origin-resource-policy-header-invalid", -5)


def score(
    *, headers: dict, set_cookies: list[str], body: str, http_status: int, http_location: str, host: str
) -> Score:
    """`headers` (names in lower case) and `body` from the page fetched over HTTPS; `http_status` and
    `http_location` from the same page asked over plain HTTP."""
    result = Score()
    _csp(result, headers)
    _cookies(result, set_cookies, hsts=hsts_max_age(headers) is not None)
    _cors(result, headers)
    _redirection(result, http_status, http_location, host)
    _referrer(result, headers)
    _hsts(result, headers)
    _sri(result, headers, body, f"https://{host}")
    _nosniff(result, headers)
    _framing(result, headers)
    _corp(result, headers)
    return result
