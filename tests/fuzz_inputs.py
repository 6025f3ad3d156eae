"""What the fuzz suite sends (tests/test_fuzz.py): odd values for every part of a request, and the
Hypothesis strategies that put them together.

Values are written as on the wire: path segments and query strings percent-encoded ("%00" is a NUL
byte, "%FF" a byte that is no UTF-8), header values as sent. Valid values (the newsroom's slugs,
ids, tokens, form fields) come from `Newsroom`, built from the database once per module.
"""

import json
import zlib
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_to_bytes

from hypothesis import strategies as st

from tests.factories import image_bytes
from tests.fuzzing import Probe, Route

if TYPE_CHECKING:
    from tests.fuzz_newsroom import Newsroom

LONG = 10_000
HUGE_NUMBER = "9" * 4301  # one digit past what int() converts by default (sys.int_info)
UNICODE = st.characters(codec="utf-8")  # any character UTF-8 can carry (no lone surrogates)


def wire(text: str, safe: str = "") -> str:
    return quote(text, safe=safe)


# --- Paths ----------------------------------------------------------------------------------------

ODD_SEGMENTS = [
    "0", "-1", "00", "01", "1" + "0" * 19, "18446744073709551616", "9" * 40, HUGE_NUMBER,
    "%00", "a%00b", "%FF", "%C0%AF", "%C3%28", "%E2%80%AE", "%F0%9F%93%B0", "%C3%A9t%C3%A9",
    "%E6%97%A5%E6%9C%AC", "..", ".", "%2e%2e", "..%2F..%2Fsettings.py", "%2F", "a%2Fb", "%5C", "%25",
    "%", "%zz", " ", "%20", "+", "~", "-", "_", "a" * 300, "a" * 5000, "%3Cscript%3E", "%27%22",
    "null", "NaN", "1e9", "0x1f", "1.5", "%0D%0ASet-Cookie:%20x=1", ";", "@", ":", "*",
]  # fmt: skip
# What a client may do to the whole path: as built (most often), or bent in one way.
PATH_SHAPES = [
    *[lambda p: p] * 12, lambda p: p.rstrip("/") or "/", lambda p: p + "/",
    lambda p: p.replace("/", "//"), lambda p: "/." + p, lambda p: p + "%00", lambda p: p.upper(),
    lambda p: p + "./..", lambda p: p + ";param=1", lambda p: p + "index.html", lambda p: "/" + p,
    lambda p: p + "%2F..%2F..", lambda p: p + "%FF",
]  # fmt: skip


def segments(newsroom: "Newsroom", route: Route, param) -> st.SearchStrategy[str]:
    """Mostly the newsroom's own values (so the request gets past the lookup), else odd ones."""
    odd = [st.sampled_from(ODD_SEGMENTS), st.text(UNICODE, max_size=12).map(wire)]
    if param.kind.startswith("re:"):
        pattern = st.from_regex(param.kind[3:], fullmatch=True, alphabet=UNICODE)
        odd.append(pattern.map(lambda text: wire(text, safe="/")))
    valid = newsroom.valid(route, param.name)
    if not valid:
        return st.one_of(odd)
    return st.integers(0, 9).flatmap(lambda n: st.sampled_from(valid) if n < 6 else st.one_of(odd))


@st.composite
def paths(draw, newsroom: "Newsroom") -> tuple[Route, str]:
    route = draw(st.sampled_from(newsroom.routes))
    values = {param.name: draw(segments(newsroom, route, param)) for param in route.params}
    return route, draw(st.sampled_from(PATH_SHAPES))(route.path(values))


# --- Query strings --------------------------------------------------------------------------------

QUERY_KEYS = [
    "page", "p", "before", "q", "o", "e", "all", "next", "utm_source", "utm_medium", "utm_campaign",
    "_to_field", "_popup", "_changelist_filters", "term", "app_label", "model_name", "field_name",
    "state", "bias", "action", "token", "format", "", "page%5B%5D", "%00", "%C3%A9", "a%5Bb%5D",
]  # fmt: skip
QUERY_VALUES = [
    "", "1", "2", "0", "-1", "25", "26", "99999999", HUGE_NUMBER, "1.5", "1e3", "abc", "%00", "a%00b",
    "%", "%ZZ", "%C3%28", "%FF", "%C3%A9t%C3%A9", "..", "..%2F..%2Fetc%2Fpasswd", "a" * LONG,
    "1700000000000000-1", "99999999999999999999-99999999999999999999", "253402300800000000-1", "-1-1",
    "0-0", "-" * 33, "!!", "a+%26+b", "%27", "%22unterminated", "a:*", "%3C-%3E", "(", "OR", "*", "%0D%0A",
    "true", "null", "%5B%5D", "https://evil.example/", "//evil.example", "javascript:alert(1)", "/admin/",
    "1,2", "-", "_", "%E2%80%AE", "harbour", "1.-2.3", "-0",
]  # fmt: skip
SPECIAL_QUERIES = [
    "&".join(f"f{n}=1" for n in range(1001)),  # one past DATA_UPLOAD_MAX_NUMBER_FIELDS
    "&".join(f"f{n}=1" for n in range(1000)),
    f"page={HUGE_NUMBER}", f"p={HUGE_NUMBER}", f"before={HUGE_NUMBER}-1", f"o={HUGE_NUMBER}",
    "page=1&page=2&page=3", "before=1&before=2", "q=" + "-" * 33, "q=%00", "q=" + "a" * 100_000,
    "&&&", "=", "==", "&=&", ";", "a;b=c", "%" * 1000, "q=été", "utm_source=" + "x" * 100_000,
    "o=" + ".".join(["1"] * 500), "q=" + "%22" * 500, "q=" + "(" * 500, "q=" + " OR ".join(["a"] * 300),
]  # fmt: skip


@st.composite
def queries(draw, newsroom: "Newsroom") -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(SPECIAL_QUERIES))
    pairs = draw(
        st.lists(
            st.one_of(
                st.sampled_from(newsroom.query_pairs),
                st.tuples(st.sampled_from(QUERY_KEYS + newsroom.query_keys), st.sampled_from(QUERY_VALUES)),
                st.tuples(st.sampled_from(QUERY_KEYS), st.text(UNICODE, max_size=8).map(wire)),
            ),
            max_size=5,
        )
    )
    joiner = draw(st.sampled_from(["&", "&", "&", ";"]))
    return joiner.join(f"{key}={value}" if value or key else "" for key, value in pairs)


# --- Headers --------------------------------------------------------------------------------------

ETAG, LAST_MODIFIED = "{etag}", "{last-modified}"  # replaced by the page's own (a first request)
COOKIES = [
    "sessionid=made-up", "sessionid=" + "a" * 32, "sessionid=" + "x" * 4096, "csrftoken=garbage",
    "csrftoken=" + "A" * 64, "csrftoken=été", "signedin=forged", "signedin=abc:def:ghi",
    "sessionid=made-up; signedin=forged", "messages=garbage", 'messages="[[\\"__json_message\\""',
    "django_language=xx", "; ".join(f"c{n}={n}" for n in range(3000)), "=", ";;;", 'a="unterminated',
    "sessionid", "sessionid=%00", "name=été", "sessionid=" + "é" * 50, "x" * 8000,
]  # fmt: skip
DATES = [
    "garbage", "Mon, 01 Jan 1990 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
    "0", "-1", "99999999999999999999", "Thu, 01 Jan 1970 00:00:00 GMT", "Mon, 32 Foo 2026 25:61:61 GMT",
    LAST_MODIFIED,
]  # fmt: skip
ETAGS = ["*", '"abc"', 'W/"abc"', "garbage", '"', '""', ",,,", '"a", "b"', "x" * LONG, ETAG, f"W/{ETAG}"]
HEADERS = {
    "If-None-Match": ETAGS, "If-Match": ETAGS, "If-Range": [*ETAGS, *DATES],
    "If-Modified-Since": DATES, "If-Unmodified-Since": DATES,
    "Accept-Encoding": ["gzip", "br", "gzip, deflate, br", "*", "identity;q=0", "gzip;q=garbage", "x" * LONG],
    "Range": ["bytes=0-10", "bytes=-5", "bytes=10-5", "bytes=0-99999999999999999999", "bytes=a-b",
              "items=0-1", ",".join(["bytes=0-1"] * 2000)],
    "X-Forwarded-For": ["1.2.3.4", "garbage", "1.2.3.4, 5.6.7.8", "::1", "", "x" * LONG],
    "X-Forwarded-Proto": ["https", "http", "garbage", "https, http", ""],
    "X-Forwarded-Host": ["evil.example", "", "testserver:99999"], "X-Real-IP": ["garbage", "10.0.0.1"],
    "Accept": ["application/json", "*/*", "text/html;q=garbage", "garbage", "application/rss+xml"],
    "Accept-Language": ["fr", "xx-YY", "*;q=garbage", "x" * LONG, "en-gb;q=0.8, zz", "é"],
    "Referer": ["https://evil.example/", "garbage", "http://testserver/admin/", "é"],
    "Origin": ["null", "https://evil.example", "http://testserver", "garbage"],
    "User-Agent": ["", "x" * LONG, "Googlebot/2.1", "é"], "X-Requested-With": ["XMLHttpRequest"],
    "Transfer-Encoding": ["chunked", "garbage"], "Expect": ["100-continue"], "Connection": ["close, Upgrade"],
}  # fmt: skip
REMOTE_ADDRS = ["127.0.0.1", "127.0.0.1", "10.9.8.7", "::1", "", "garbage", "1.2.3.4, 5.6.7.8"]


def hosts(allowed: list[str]) -> list[str]:
    names = [host for host in allowed if not host.startswith(".") and host != "*"] or ["testserver"]
    return [
        *names, *(f"{name}:8000" for name in names), "testserver:80", "evil.example.com", "",
        "a" * LONG, "héllo.example", "[::1]", "[::1]:80", "testserver:abc", "testserver:99999999999",
        "testserver/evil", "testserver@evil.example", "testserver:80:80", "TESTSERVER", "testserver.",
        "127.0.0.1:0", "-", " testserver", "evil.example.com:80",
    ]  # fmt: skip


@st.composite
def header_sets(draw, newsroom: "Newsroom") -> dict:
    """Headers, cookies and where the request comes from, as keyword arguments of Probe."""
    header = st.sampled_from(sorted(HEADERS)).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(HEADERS[name]))
    )
    headers = draw(st.lists(header, max_size=4, unique_by=lambda pair: pair[0]))
    if draw(st.booleans()):
        headers.append(("Host", draw(st.sampled_from(newsroom.hosts))))
    return {
        "headers": tuple(headers),
        "cookie": draw(st.sampled_from(["", "", *COOKIES])),
        "remote_addr": draw(st.sampled_from(REMOTE_ADDRS)),
        "https": draw(st.booleans()),
    }


# --- Methods and bodies ---------------------------------------------------------------------------

BOUNDARY = "fuzzboundary"
METHODS = ["GET", "HEAD", *["POST"] * 3, "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get", "PROPFIND"]
FORM_KEYS = [
    "username", "password", "next", "csrfmiddlewaretoken", "otp_token", "code", "old_password",
    "new_password1", "new_password2", "action", "_selected_action", "select_across", "index", "post",
    "_save", "_continue", "_addanother", "_saveasnew", "q", "lifetime", "label", "note",
]  # fmt: skip
CONTENT_TYPES = [
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=nope", "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=latin-1", "text/plain", "application/json", "",
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=" + "b" * 1000,
    "multipart/mixed; boundary=x", "a/b/c;;;==", "text/html; charset=%FF",
    # Names Python knows that are no text encoding (rot13, base64) or refuse every byte (undefined).
    "text/plain; charset=rot13", "application/x-www-form-urlencoded; charset=base64",
    "application/x-www-form-urlencoded; charset=undefined",
    "application/x-www-form-urlencoded; charset=utf-7",
    f"multipart/form-data; boundary={BOUNDARY}; charset=undefined", "text/plain; charset=idna",
    # RFC 2231 parameters with an unknown or odd charset, and a header too long to parse.
    "text/plain; a*=nope''x", "text/plain; charset*=rot13''x", "text/plain; charset*=utf-8''%FF",
    f"multipart/form-data; boundary*=utf-8''{BOUNDARY}", "text/plain; a=" + "b" * LONG,
]  # fmt: skip
# Content-Length as declared: the body's own (None), garbage, or past DATA_UPLOAD_MAX_MEMORY_SIZE.
DECLARED_LENGTHS = [None, None, None, "abc", "-1", "0", "+1", "99999999999999999999", str(5 * 2**20 + 1)]
RAW_BODIES = [
    b"\xff\xfe\xfd", b"%ZZ=%FF&\xc3\x28=1", b"a=\x00&b=%00", b"{", b"[" * 10_000, b"null", b'{"a": 1}',
    json.dumps({"username": "editor", "password": "x" * 100}).encode(), b"=" * 1000, b"&" * 10_000,
]  # fmt: skip


def multipart(parts: list[tuple[str, bytes]], *, close: bool = True) -> bytes:
    """A multipart body: each part is (its header lines, its content)."""
    out = b"".join(
        f"--{BOUNDARY}\r\n{head}\r\n\r\n".encode("utf-8", "surrogateescape") + content + b"\r\n"
        for head, content in parts
    )
    return out + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


def _file_part(name: str, filename: str, content: bytes, kind: str = "image/jpeg") -> tuple[str, bytes]:
    head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {kind}'
    return head, content


def _field_part(name: str, value: str) -> tuple[str, bytes]:
    """A text field; `value` percent-encoded."""
    return f'Content-Disposition: form-data; name="{name}"', unquote_to_bytes(value)


MULTIPART_ODDITIES = [
    [("Content-Type: text/plain", b"no disposition")],
    [_file_part("image", "../../etc/passwd.jpg", image_bytes("JPEG", (40, 20)))],
    [_file_part("image", "lead.png", image_bytes("PNG", (40, 20)), "image/png")],
    [_file_part("image", "a" * 1000 + ".jpg", b"\xff\xd8\xff garbage")],
    [_file_part("logo", "\x00.png", b"GIF89a", "image/gif")],
    [_file_part("image", "été.webp", b"RIFF\x00\x00\x00\x00WEBP", "image/webp")],
    [("Content-Disposition: form-data; name=\"image\"; filename*=UTF-8''%C3%A9.jpg", b"x")],
    [('Content-Disposition: form-data; name="title"\r\nContent-Transfer-Encoding: base64', b"!!!not base64")],
    [('Content-Disposition: form-data; name=""', b"nameless")],
    [("Content-Disposition: attachment", b"x")],
    [_field_part(f"f{n}", "1") for n in range(1001)],
    [_file_part(f"file{n}", f"{n}.jpg", b"x") for n in range(101)],
]  # fmt: skip


def png_header(width: int, height: int) -> bytes:
    """The start of a PNG declaring `width` x `height` pixels, with no pixels after it."""
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + zlib.crc32(ihdr).to_bytes(4, "big")


PICTURES = [  # (file name, content, Content-Type)
    ("lead.jpg", image_bytes("JPEG", (64, 32)), "image/jpeg"),
    ("lead.png", image_bytes("PNG", (64, 32)), "image/png"),
    ("sliver.png", image_bytes("PNG", (400, 1)), "image/png"),
    ("lead.gif", image_bytes("GIF", (8, 8)), "image/gif"),
    ("cut.jpg", image_bytes("JPEG", (64, 32))[:100], "image/jpeg"),
    ("empty.jpg", b"", "image/jpeg"),
    ("bomb.png", png_header(100_000, 100_000), "image/png"),
    ("text.jpg", b"<html>not a picture</html>", "image/jpeg"),
]


def form_body(pairs: list[tuple[str, str]], *, as_multipart: bool, files=(), close=True) -> tuple[bytes, str]:
    """(body, Content-Type) of a form: `pairs` of a name and a percent-encoded value; `files` of a
    field name and a PICTURES entry, sent only as multipart."""
    if not as_multipart:
        return "&".join(f"{wire(k)}={v}" for k, v in pairs).encode(), "application/x-www-form-urlencoded"
    parts = [_field_part(k, v) for k, v in pairs] + [_file_part(n, *picture) for n, picture in files]
    return multipart(parts, close=close), f"multipart/form-data; boundary={BOUNDARY}"


@st.composite
def bodies(draw, newsroom: "Newsroom", route: Route) -> dict:
    """A body with its Content-Type and declared length, as keyword arguments of Probe."""
    fields = newsroom.fields.get(route.name, [])
    keys = sorted({key for key, _ in fields}) + FORM_KEYS
    values = sorted({value for _, value in fields}) + QUERY_VALUES
    pair = st.tuples(st.sampled_from(keys), st.sampled_from(values))
    pair = st.one_of(st.sampled_from(fields), pair) if fields else pair
    kind = draw(st.sampled_from(["form", "form", "form", "multipart", "multipart", "raw", "none"]))
    if kind in ("form", "multipart"):
        pairs, close = draw(st.lists(pair, max_size=12)), draw(st.integers(0, 4)) > 0
        body, content_type = form_body(pairs, as_multipart=kind == "multipart", close=close)
        if kind == "multipart" and draw(st.booleans()):
            odd_parts = multipart(draw(st.sampled_from(MULTIPART_ODDITIES)))
            body = body.removesuffix(f"--{BOUNDARY}--\r\n".encode()) + odd_parts
        if kind == "form" and draw(st.booleans()):
            content_type = draw(st.sampled_from(CONTENT_TYPES))
    elif kind == "raw":
        body = draw(st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=64)))
        content_type = draw(st.sampled_from(CONTENT_TYPES))
    else:
        body, content_type = b"", ""
    length = draw(st.sampled_from(DECLARED_LENGTHS))
    return {"body": body, "content_type": content_type, "content_length": length}


# --- Whole requests -------------------------------------------------------------------------------


@st.composite
def probes(draw, newsroom: "Newsroom", *, query=False, headers=False, body=False) -> Probe:
    """A request to any URL pattern with odd path values, varying the parts asked for."""
    route, path = draw(paths(newsroom))
    extra = {}
    if query:
        extra["query"] = draw(queries(newsroom))
    if headers:
        extra |= draw(header_sets(newsroom))
    method = draw(st.sampled_from(METHODS if body else ["GET", "GET", "HEAD"]))
    if body:
        extra |= draw(bodies(newsroom, route))
        extra["csrf_checks"] = draw(st.integers(0, 3)) == 0
    return Probe(who=draw(st.sampled_from(newsroom.identities)), method=method, path=path, **extra)


@st.composite
def form_posts(draw, newsroom: "Newsroom") -> Probe:
    """A page's own form as a signed-in user submits it, with up to three fields made odd (a value
    from QUERY_VALUES or another option, dropped, or sent twice) and perhaps a picture."""
    name = draw(st.sampled_from(sorted(newsroom.forms)))
    route = next(route for route in newsroom.routes if route.name == name)
    pairs, options = list(newsroom.forms[name]), newsroom.fields[name]
    for _ in range(draw(st.integers(0, 3))):
        if not pairs:
            break
        at = draw(st.integers(0, len(pairs) - 1))
        change = draw(st.sampled_from(["odd", "odd", "option", "drop", "twice"]))
        if change == "odd":
            pairs[at] = (pairs[at][0], draw(st.sampled_from(QUERY_VALUES)))
        elif change == "option":
            pairs[at] = draw(st.sampled_from(options))
        elif change == "drop":
            del pairs[at]
        else:
            pairs.insert(at, (pairs[at][0], draw(st.sampled_from(QUERY_VALUES))))
    as_multipart = draw(st.booleans())
    files = []
    if as_multipart and newsroom.files.get(name):
        files.append((draw(st.sampled_from(newsroom.files[name])), draw(st.sampled_from(PICTURES))))
    body, content_type = form_body(pairs, as_multipart=as_multipart, files=files)
    who = draw(st.sampled_from(newsroom.signed_in))
    path = newsroom.first_path(route)
    return Probe(who=who, method="POST", path=path, body=body, content_type=content_type)
