"""The soak's clients (bench/soak.py): readers that check every page they get for stale titles, and an
Editor who saves stories through the admin's own form.

Every story the soak edits is titled "Soak story I, edit K". After the save of edit K returned, any
page fetched from then on (started later) that still shows an earlier K of story I is a stale read;
a story made live that answers 404, or a front page without the newest one, is one too.
"""

from __future__ import annotations

import collections
import dataclasses
import html.parser
import http.client
import random
import re
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
TITLE = re.compile(rb"Soak story (\d+), edit (\d+)")
CONNECTION_ERRORS = (OSError, http.client.HTTPException)


def title(story: int, edit: int) -> str:
    return f"Soak story {story}, edit {edit}"


# --------------------------------------------------------------------------------------------------
# HTTP


class Http:
    """One keep-alive connection to one server. Cookies are kept by hand in a jar shared by both
    servers: the site marks them Secure, and this is plain HTTP on loopback."""

    def __init__(self, port: int, jar: dict | None = None, timeout: float = 15.0):
        self.port, self.jar, self.timeout = port, jar if jar is not None else {}, timeout
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self, method: str, path: str, form: list | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """The answer; a GET that finds its reused connection closed by the server tries once more on
        a new one (as browsers do). Connection failures raise."""
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            headers = {"Host": f"{HOST}:{self.port}"}
            if self.jar:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
            body = None
            if form is not None:
                body = urllib.parse.urlencode([tuple(field) for field in form]).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and method == "GET" and attempt == 1:
                    continue
                raise
            except CONNECTION_ERRORS:
                self.close()
                raise
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                cookie = rest.split(";", 1)[0]
                if "expires=Thu, 01 Jan 1970" in value or "Max-Age=0" in value:
                    self.jar.pop(name.strip(), None)
                else:
                    self.jar[name.strip()] = cookie
            if response.will_close:
                self.close()
            return response.status, response.headers, content
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------------
# What happened


@dataclasses.dataclass
class Stale:
    at: float  # seconds since the soak started, when the fetch started
    path: str
    port: int
    what: str
    age: float  # how long after the save (or publish) returned the fetch started


class Ledger:
    """Everything the clients saw, shared by their threads."""

    def __init__(self, started: float):
        self.started = started
        self.lock = threading.Lock()
        self.saved: dict[int, list[tuple[int, float]]] = collections.defaultdict(
            list
        )  # story -> [(edit, at)]
        self.live_at: dict[int, float] = {}  # story made live by the soak -> when its save returned
        self.answers: collections.Counter = collections.Counter()  # readers: "200", "500", "refused"...
        self.saves: collections.Counter = collections.Counter()  # the editor: "saved", "refused"...
        self.cache: collections.Counter = collections.Counter()  # X-Page-Cache of the 200s: hit, miss
        self.stale: list[Stale] = []
        self.problems: list[str] = []  # the first few of every kind, for the report
        self.events: list[tuple[float, str]] = []

    def count(self, counter: collections.Counter, kind: str) -> None:
        with self.lock:  # `+=` on a Counter is not atomic between threads
            counter[kind] += 1

    def now(self) -> float:
        return time.monotonic() - self.started

    def note(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 40:
                self.problems.append(f"{self.now():6.1f}s {text}")

    def event(self, text: str) -> None:
        with self.lock:
            self.events.append((self.now(), text))

    def record_save(self, story: int, edit: int, *, live: bool) -> None:
        at = time.monotonic()
        with self.lock:
            self.saved[story].append((edit, at))
            if live and story not in self.live_at:
                self.live_at[story] = at

    def required(self, story: int, start: float) -> tuple[int, float] | None:
        """The newest edit of `story` whose save returned before `start`, with when."""
        with self.lock:
            done = [(edit, at) for edit, at in self.saved.get(story, ()) if at < start]
        return max(done) if done else None

    def made_live(self) -> dict[int, float]:
        """Stories made live so far, and when their saves returned."""
        with self.lock:
            return dict(self.live_at)

    def newest_live(self, start: float) -> tuple[int, float] | None:
        done = [(at, story) for story, at in self.made_live().items() if at < start]
        return (max(done)[1], max(done)[0]) if done else None

    def stale_read(self, start: float, path: str, port: int, what: str, since: float) -> None:
        with self.lock:
            self.stale.append(Stale(start - self.started, path, port, what, start - since))


def stale_titles(ledger: Ledger, body: bytes, start: float) -> tuple[str, float] | None:
    """Why the page is stale (an older edit of a story than one already saved) and since when."""
    for match in TITLE.finditer(body):
        story, shown = int(match[1]), int(match[2])
        needed = ledger.required(story, start)
        if needed and shown < needed[0]:
            return f"story {story} shows edit {shown}, edit {needed[0]} was saved", needed[1]
    return None


# --------------------------------------------------------------------------------------------------
# Readers


class Reader(threading.Thread):
    """Fetches pages round-robin between the servers at `rate` a second, and checks each one."""

    def __init__(self, n: int, ledger: Ledger, ports: list[int], pages, rate: float, stop: threading.Event):
        super().__init__(name=f"reader-{n}", daemon=True)
        self.ledger, self.ports, self.pages, self.rate, self.stop = ledger, ports, pages, rate, stop
        self.random = random.Random(n)
        self.turn = n
        self.http = {port: Http(port) for port in ports}

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.turn += 1
            port = self.ports[self.turn % len(self.ports)]
            path, story = self.pages(self.random, self.ledger)
            self.fetch(port, path, story)
            next_at += 1.0 / self.rate
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic() - 1.0)  # after a slow answer, no burst to catch up

    def fetch(self, port: int, path: str, story: int | None) -> None:
        ledger = self.ledger
        start = time.monotonic()
        try:
            status, headers, body = self.http[port].request("GET", path)
        except ConnectionRefusedError:
            ledger.count(ledger.answers, "refused (server down)")
            return
        except TimeoutError:
            ledger.count(ledger.answers, "timed out")
            ledger.note(f"reader: {path} on :{port} timed out")
            return
        except CONNECTION_ERRORS as exc:
            ledger.count(ledger.answers, "connection lost")
            ledger.note(f"reader: {path} on :{port}: {type(exc).__name__}: {exc}")
            return
        live_at = ledger.made_live().get(story) if story is not None else None
        if status == 404 and live_at is not None and live_at < start:
            ledger.count(ledger.answers, "404 (made live, stale)")
            ledger.stale_read(start, path, port, f"story {story} made live but 404", live_at)
            return
        if status == 503 and "Retry-After" in headers:
            ledger.count(ledger.answers, "503 with Retry-After")
        elif 200 <= status < 300:
            ledger.count(ledger.answers, "2xx")
        else:
            ledger.count(ledger.answers, str(status))
            ledger.note(f"reader: {path} on :{port} answered {status}: {body[:200]!r}")
            return
        if status != 200:
            return
        ledger.count(ledger.cache, headers.get("X-Page-Cache", "none"))
        found = stale_titles(ledger, body, start)
        if found is None and path == "/":
            newest = ledger.newest_live(start)
            if newest and f"Soak story {newest[0]},".encode() not in body:
                found = f"front page without story {newest[0]}, just made live", newest[1]
        if found:
            ledger.stale_read(start, path, port, *found)


# --------------------------------------------------------------------------------------------------
# The editor


class FormFields(html.parser.HTMLParser):
    """The fields a browser would send from the form with id `form_id`, in order."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.fields: list[list[str]] = []
        self.select: list | None = None
        self.select_first: str | None = None
        self.textarea: list | None = None
        self.option: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append([name, attrs.get("value", "on" if kind in ("checkbox", "radio") else "")])
        elif tag == "select" and name:
            self.select, self.select_first = [name, None, "multiple" in attrs], None
        elif tag == "option" and self.select is not None:
            value = attrs.get("value")
            self.option = {"value": value, "text": "", "selected": "selected" in attrs}
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.option is not None:
            self.option["text"] += data
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "option" and self.option is not None and self.select is not None:
            value = self.option["value"] if self.option["value"] is not None else self.option["text"]
            if self.select_first is None:
                self.select_first = value
            if self.option["selected"]:
                self.fields.append([self.select[0], value])
                self.select[1] = True
            self.option = None
        elif tag == "select" and self.select is not None:
            if not self.select[1] and not self.select[2] and self.select_first is not None:
                self.fields.append([self.select[0], self.select_first])  # what a browser sends
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            self.fields.append([name, text[1:] if text.startswith("\n") else text])  # as browsers do
            self.textarea = None


def form_fields(page: bytes, form_id: str) -> list[list[str]]:
    parser = FormFields(form_id)
    parser.feed(page.decode())
    return parser.fields


def error_text(page: bytes) -> str:
    found = re.findall(rb'class="(?:errornote|errorlist[^"]*)"[^>]*>(.*?)</(?:p|ul)>', page, re.S)
    text = b" ".join(re.sub(rb"<[^>]+>", b" ", part) for part in found)
    return " ".join(text.decode(errors="replace").split())[:300] or "(no error shown)"


class Editor:
    """Signs in as an Editor and saves stories through the admin's change form, as a browser does:
    the form as the server rendered it (CSRF token, edit lock, inlines), one field changed."""

    def __init__(self, ledger: Ledger, ports: list[int]):
        self.ledger, self.ports = ledger, ports
        self.jar: dict[str, str] = {}
        self.http = {port: Http(port, self.jar) for port in ports}
        # (port, action): run `action` 20 ms into the next POST to that port, so a server is killed
        # with a save in flight (its transaction committed or not), not between two saves.
        self.during_post: tuple[int, object] | None = None

    def sign_in(self, username: str, password: str) -> None:
        port = self.ports[0]
        path = "/admin/login/?next=/admin/"
        status, _, page = self.http[port].request("GET", path)
        fields = [f for f in form_fields(page, "login-form") if f[0] not in ("username", "password")]
        fields += [["username", username], ["password", password]]
        status, _, page = self.http[port].request("POST", path, fields)
        if status != 302 or "sessionid" not in self.jar:
            raise RuntimeError(f"signing in as {username} failed ({status}): {error_text(page)}")

    def save(self, n: int, story: int, pk: int, edit: int, *, publish: bool) -> bool:
        """Give the story its title for `edit` (and make it live); True once a save returned. A try
        whose answer was lost (a server killed meanwhile) is checked on the next try's form."""
        ledger, url, wanted = self.ledger, f"/admin/articles/article/{pk}/change/", title(story, edit)
        for attempt in range(6):
            port = self.ports[(n + attempt) % len(self.ports)]
            if attempt:
                time.sleep(0.5)
            try:
                status, _, page = self.http[port].request("GET", url)
                if status != 200:
                    ledger.count(ledger.saves, f"form answered {status}")
                    ledger.note(f"editor: form of story {story} on :{port} answered {status}")
                    continue
                fields = form_fields(page, "article_form")
                if dict(fields).get("title") == wanted:
                    ledger.count(ledger.saves, "saved (its answer lost, seen on the next form)")
                    ledger.record_save(story, edit, live=publish)
                    return True
                for field in fields:
                    if field[0] == "title":
                        field[1] = wanted
                    elif field[0] == "status" and publish:
                        field[1] = "published"
                if self.during_post and self.during_post[0] == port:
                    threading.Timer(0.02, self.during_post[1]).start()
                    self.during_post = None
                status, _, page = self.http[port].request("POST", url, [*fields, ["_save", "Save"]])
            except ConnectionRefusedError:
                ledger.count(ledger.saves, "refused (server down)")
                continue
            except CONNECTION_ERRORS as exc:
                ledger.count(ledger.saves, "connection lost")
                ledger.note(f"editor: story {story} on :{port}: {type(exc).__name__}: {exc}")
                continue
            if status == 302:
                ledger.record_save(story, edit, live=publish)
                ledger.count(ledger.saves, "saved")
                return True
            kind = "refused by the form" if status == 200 else f"answered {status}"
            ledger.count(ledger.saves, kind)
            ledger.note(f"editor: story {story} on :{port} {kind}: {error_text(page)}")
        ledger.count(ledger.saves, "given up")
        return False
