"""The fuzz suite's machinery (tests/test_fuzz.py): every URL pattern of the project, one request as
a client sends it, and what an answer must be.

A `Probe` is written as on the wire (the target percent-encoded, header values as sent) and turned
into the WSGI environ a server would build from it, so odd bytes reach Django exactly as they would
in production. Each probe runs inside a savepoint rolled back afterwards: every probe sees the same
newsroom (a failing one replays alike), and a database error cannot poison the ones after it.
"""

import io
import json
import re
import sys
import traceback
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from django.core.signals import got_request_exception
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

SENT = Counter()  # probes sent by this process, by group (tests/test_fuzz.py checks each budget)


# --- URL patterns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # a path converter's name ("slug", "int", "path", "str"), or "re:" and a regex

    def text(self) -> str:
        """As written in the pattern: `<slug:section>`, or `(?P<path>.*)` in a regex."""
        if self.kind.startswith("re:"):
            return f"(?P<{self.name}>{self.kind[3:]})"
        return f"<{self.kind}:{self.name}>"


@dataclass(frozen=True)
class Route:
    name: str  # "admin:articles_article_change"; the pattern's text when it has no name
    parts: tuple  # literal text (str) and Params, in order

    @property
    def params(self) -> list[Param]:
        return [part for part in self.parts if isinstance(part, Param)]

    def text(self) -> str:
        return "/" + "".join(part if isinstance(part, str) else part.text() for part in self.parts)

    def path(self, values: dict[str, str]) -> str:
        """The path on the wire, `values` (already percent-encoded) put in for the parameters."""
        return "/" + "".join(part if isinstance(part, str) else values[part.name] for part in self.parts)


_ROUTE_PARAM = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")
# A named group, with at most one level of parentheses inside (enough for URL patterns).
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()\\]|\\.|\([^()]*\))*)\)")


def _pattern_parts(pattern) -> list:
    parts, text = [], str(pattern)
    if isinstance(pattern, RoutePattern):
        regex, default = _ROUTE_PARAM, "str"
    elif isinstance(pattern, RegexPattern):
        text = re.sub(r"(\\Z|\$)$", "", text.removeprefix("^"))
        regex, default = _REGEX_GROUP, None
    else:  # a pattern class of its own: fuzz its text as a literal
        return [text]
    end = 0
    for match in regex.finditer(text):
        parts.append(text[end : match.start()])
        kind = f"re:{match['body']}" if default is None else match["kind"] or default
        parts.append(Param(match["name"], kind))
        end = match.end()
    parts.append(text[end:])
    if isinstance(pattern, RegexPattern):  # literal text of a regex: `\.xml` is `.xml`
        parts = [re.sub(r"\\(.)", r"\1", p) if isinstance(p, str) else p for p in parts]
    return [part for part in parts if part != ""]


def url_routes() -> list[Route]:
    """Every URL pattern of the project, the admin's and every app's included, walked recursively."""

    def walk(patterns, parts, namespace):
        for pattern in patterns:
            here = parts + _pattern_parts(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace]))
                yield from walk(pattern.url_patterns, here, inner)
            else:
                route = Route("", tuple(here))
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
                yield Route(name or route.text(), route.parts)

    return list(walk(get_resolver().url_patterns, [], ""))


# --- One request ----------------------------------------------------------------------------------


def _json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


@dataclass(frozen=True)
class Probe:
    """One request, as a client puts it on the wire. `who` names the identity whose cookies it
    carries (tests/fuzz_newsroom.py); `cookie` is sent after them."""

    who: str = "anonymous"
    method: str = "GET"
    path: str = "/"
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    cookie: str = ""
    body: bytes = b""
    content_type: str = ""
    content_length: str | None = None  # declared, when it is not the body's length
    remote_addr: str = "127.0.0.1"
    https: bool = False
    csrf_checks: bool = False  # True: CSRF enforced as for a browser (the test client skips it)

    def __repr__(self) -> str:
        return self.as_http()

    def as_http(self, limit: int = 160) -> str:
        """The request as HTTP text, long values cut to `limit` characters with their length shown."""

        def cut(text: str) -> str:
            return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"

        target = self.path + (f"?{self.query}" if self.query else "")
        lines = [f"{self.method} {cut(target)} HTTP/1.1    [{self.who}"]
        lines[0] += (", https" if self.https else "") + (", CSRF checked" if self.csrf_checks else "")
        lines[0] += f", from {self.remote_addr!r}]" if self.remote_addr != "127.0.0.1" else "]"
        lines += [f"{name}: {cut(value)}" for name, value in self.headers]
        if self.cookie:
            lines.append(f"Cookie: (after {self.who}'s) {cut(self.cookie)}")
        if self.content_type:
            lines.append(f"Content-Type: {cut(self.content_type)}")
        if self.body or self.content_length is not None:
            lines.append(f"Content-Length: {self.content_length or len(self.body)}")
            lines.append("")
            lines.append(cut(repr(self.body)))
        return "\n".join(lines)


class _Body(io.BytesIO):
    """A request body as a server's input stream hands it over: the bytes the client sent, then b""
    however much it declared. Any size may be asked for: BytesIO alone raises OverflowError past
    sys.maxsize, which Django asks for when Content-Length says 10^20; no server gets that far
    (granian answers such a request 400 itself, and waits for the rest of a body it was promised)."""

    def read(self, size=-1):
        return super().read(-1 if size is None else min(size, sys.maxsize))

    def readline(self, size=-1):
        return super().readline(-1 if size is None else min(size, sys.maxsize))


def _wsgi(text: str) -> str:
    """A header or query as a WSGI server passes it on: its bytes as latin-1."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def environ(probe: Probe, identity_cookie: str) -> dict:
    env = {
        "PATH_INFO": unquote_to_bytes(probe.path).decode("latin-1"),
        "QUERY_STRING": _wsgi(probe.query),
        "REQUEST_METHOD": probe.method,
        "REMOTE_ADDR": probe.remote_addr,
        "SERVER_PORT": "443" if probe.https else "80",
        "wsgi.url_scheme": "https" if probe.https else "http",
        "wsgi.input": _Body(probe.body),  # the test client's own payload raises past the body
        "HTTP_COOKIE": "; ".join(filter(None, [identity_cookie, _wsgi(probe.cookie)])),
    }
    if probe.body or probe.content_length is not None:
        env["CONTENT_LENGTH"] = probe.content_length or str(len(probe.body))
    if probe.content_type:
        env["CONTENT_TYPE"] = _wsgi(probe.content_type)
    for name, value in probe.headers:
        env["HTTP_" + name.upper().replace("-", "_")] = _wsgi(value)
    return env


# --- What an answer must be -----------------------------------------------------------------------


@dataclass
class Answer:
    probe: Probe
    status: int
    headers: dict
    body: bytes
    crash: str = ""  # the traceback of an exception the request ended in, if any

    def problems(self) -> list[str]:
        found, kind = [], self.headers.get("content-type", "")
        if self.status >= 500:
            found.append(f"answered {self.status}")
        if self.status not in (204, 304) and not kind:
            found.append(f"{self.status} without a Content-Type")
        if self.status in (301, 302, 303, 307, 308) and "location" not in self.headers:
            found.append(f"{self.status} without a Location")
        if self.status == 405 and "allow" not in self.headers:
            found.append("405 without an Allow header")
        # 405 and 412 answer the protocol (a method, an If-Match), not a page a reader asked for.
        elif 400 <= self.status < 500 and self.status not in (405, 412) and self.probe.method != "HEAD":
            # The open data API answers its clients (programs) in JSON, its errors included.
            if self.probe.path.startswith("/api/v1/"):
                if not kind.startswith("application/json") or not _json_object(self.body):
                    found.append(f"{self.status} without a JSON error ({kind or 'no type'})")
            elif not kind.startswith("text/html") or b"<h1" not in self.body:
                found.append(f"{self.status} without an HTML error page ({kind or 'no type'})")
        return found

    def report(self) -> str:
        text = f"{'; '.join(self.problems())}\n{self.probe.as_http()}"
        return text + (f"\n--- traceback ---\n{self.crash}" if self.crash else "")


@dataclass(repr=False)
class Sender:
    """Sends probes with the identities' cookies, each in a savepoint rolled back afterwards."""

    identities: dict[str, str]  # who -> the Cookie header of that identity's session
    clients: dict[bool, Client] = field(
        default_factory=lambda: {
            checked: Client(raise_request_exception=False, enforce_csrf_checks=checked)
            for checked in (False, True)
        }
    )

    def send(self, probe: Probe, group: str) -> Answer:
        client = self.clients[probe.csrf_checks]
        crashes = []

        def crashed(sender, request=None, **kwargs):
            crashes.append(traceback.format_exc())

        got_request_exception.connect(crashed, weak=False)
        try:
            with transaction.atomic():
                try:
                    response = client.request(**environ(probe, self.identities[probe.who]))
                    # A streamed body is read whole, as a server would. (The client has closed the
                    # response already: closing it again would close the database connection.)
                    body = response.getvalue()
                except Exception:  # raised past Django's handler: the WSGI server answers 500
                    crashes.append(traceback.format_exc())
                    response, body = None, b""
                transaction.set_rollback(True)
        finally:
            got_request_exception.disconnect(crashed)
            client.cookies.clear()  # each probe carries its identity's cookies and no others
        SENT[group] += 1
        if response is None:
            return Answer(probe, 500, {"content-type": "text/plain"}, body, "".join(crashes))
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Answer(probe, response.status_code, headers, body, "".join(crashes))


def findings_report(answers: list[Answer], limit: int = 12) -> str:
    """Failing answers grouped by cause (the innermost frame of the traceback, else the problem),
    the first request of each shown whole."""
    groups: dict[str, list[Answer]] = {}
    for answer in answers:
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\w+)', answer.crash)
        cause = f"{frames[-1][0]}:{frames[-1][1]} in {frames[-1][2]}" if frames else answer.problems()[0]
        groups.setdefault(cause, []).append(answer)
    parts = [f"{len(answers)} bad answers, {len(groups)} causes"]
    for cause, same in list(groups.items())[:limit]:
        parts.append(f"\n=== {cause} ({len(same)} requests); the first:\n{same[0].report()}")
    return "\n".join(parts)
