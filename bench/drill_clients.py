"""The failure drill's readers and its judgement (bench/drill.py).

Readers fetch pages through the proxy on keep-alive connections and note, for every answer, when it
was asked for and came back, its status, the proxy's X-Cache, and which of the drill's stories
("Drill TOKEN story NNN") it shows. Only once the drill is over, with every change the editor made
known, are the reads judged (so a change still on its way from the editor's process cannot make a
read look stale):

- a read of the front page, the feed, a drill story's section or the story's own page that started
  more than GRACE seconds after a publish returned (and before the next change of that story began)
  must show the story (the page: 200); after an unpublish, must not (the page: 404); a read that
  overlaps a change or its grace is not judged;
- any other answer that is not 2xx, and any request the proxy did not answer, is a failure.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import http.client
import json
import random
import re
import threading
import time

HOST = "127.0.0.1"
GRACE = 1.0  # seconds after a change returned before every read must show it


@dataclasses.dataclass
class Op:
    story: int
    action: str  # publish or unpublish
    ok: bool
    start: float
    end: float
    error: str = ""


@dataclasses.dataclass
class Read:
    start: float
    end: float
    path: str
    kind: str  # home, section, feed, story (a drill story's page) or other
    status: int | None  # None: no answer (the text says why)
    cache: str = ""
    shown: frozenset = frozenset()
    story: int | None = None
    detail: str = ""


class Ledger:
    """What the readers and the editor saw, shared by their threads."""

    def __init__(self, token: str):
        self.token = token
        self.pattern = re.compile(rf"Drill {re.escape(token)} story (\d{{3}})".encode())
        self.lock = threading.Lock()
        self.stories: dict[int, dict] = {}
        self.ops: list[Op] = []
        self.reads: list[Read] = []
        self.events: list[tuple[float, str]] = []  # (time.monotonic(), what broke or came back)
        self.notes: list[tuple[float, str]] = []  # (time.monotonic(), what was seen meanwhile)
        self.editor_done = threading.Event()

    def event(self, text: str, at: float | None = None) -> None:
        with self.lock:
            self.events.append((time.monotonic() if at is None else at, text))

    def note(self, text: str) -> None:
        with self.lock:
            self.notes.append((time.monotonic(), text))

    def add_read(self, read: Read) -> None:
        with self.lock:
            self.reads.append(read)

    def touched(self) -> list[int]:
        """Stories the editor has begun to change."""
        with self.lock:
            return sorted({op.story for op in self.ops})


def follow_editor(ledger: Ledger, stream) -> None:
    """Read the editor's JSON lines into the ledger (in a thread of its own)."""
    for line in stream:
        event = json.loads(line)
        if event["event"] == "op":
            op = Op(
                event["story"], event["action"], event["ok"], event["start"], event["end"], event["error"]
            )
            with ledger.lock:
                ledger.ops.append(op)
        elif event["event"] == "done":
            ledger.editor_done.set()
    ledger.editor_done.set()


class Reader(threading.Thread):
    """Fetches a mix of pages through the proxy at `rate` a second on one keep-alive connection."""

    def __init__(self, n: int, ledger: Ledger, port: int, pages: dict, rate: float, stop: threading.Event):
        super().__init__(name=f"reader-{n}", daemon=True)
        self.ledger, self.port, self.pages, self.rate, self.stop = ledger, port, pages, rate, stop
        self.random = random.Random(n)
        self.conn: http.client.HTTPConnection | None = None

    def pick(self) -> tuple[str, str, int | None]:
        draw, stories = self.random.random(), self.ledger.stories
        touched = self.ledger.touched()
        if draw < 0.3:
            return "/", "home", None
        if draw < 0.45:
            return self.random.choice(self.pages["sections"]), "section", None
        if draw < 0.55:
            return "/feed/", "feed", None
        if draw < 0.7 and touched:
            story = self.random.choice(touched[-4:])
            return stories[story]["path"], "story", story
        return self.random.choice(self.pages["articles"]), "other", None

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.fetch(*self.pick())
            next_at += 1.0 / self.rate
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic() - 1.0)  # after a slow answer, no burst to catch up
        if self.conn is not None:
            self.conn.close()

    def fetch(self, path: str, kind: str, story: int | None) -> None:
        start = time.monotonic()
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
            try:
                self.conn.request("GET", path, headers={"Host": f"{HOST}:{self.port}"})
                response = self.conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                self.conn = None
                # A keep-alive connection the proxy closed meanwhile is opened again, as browsers do.
                if (
                    reused
                    and attempt == 1
                    and isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError)
                ):
                    continue
                detail = f"{type(exc).__name__}: {exc}"
                self.ledger.add_read(
                    Read(start, time.monotonic(), path, kind, None, story=story, detail=detail)
                )
                return
            if response.will_close:
                self.conn.close()
                self.conn = None
            shown = frozenset(int(m) for m in self.ledger.pattern.findall(body))
            detail = "" if response.status < 300 else " ".join(body[:160].decode(errors="replace").split())
            cache = response.headers.get("X-Cache", "")
            read = Read(start, time.monotonic(), path, kind, response.status, cache, shown, story, detail)
            self.ledger.add_read(read)
            return


# --------------------------------------------------------------------------------------------------
# Judgement


def expected(ops: list[Op], start: float, end: float) -> bool | None:
    """Whether a read made between `start` and `end` must show the story (True), must not (False),
    or cannot be judged (None: a change was under way, within its grace, or failed)."""
    live = False
    for op in ops:
        if op.start > end:
            break
        if op.end + GRACE >= start:
            return None
        if not op.ok:
            return None  # its outcome is unknown
        live = op.action == "publish"
    return live


@dataclasses.dataclass
class Verdict:
    failures: list[Read]
    stale: list[tuple[Read, int, str, float]]  # (read, story, what, seconds since its change returned)
    judged: int


def judge(ledger: Ledger) -> Verdict:
    by_story: dict[int, list[Op]] = collections.defaultdict(list)
    for op in sorted(ledger.ops, key=lambda op: op.start):
        by_story[op.story].append(op)
    sections = {n: story["section"] for n, story in ledger.stories.items()}
    failures, stale, judged = [], [], 0
    for read in ledger.reads:
        if read.kind == "story":
            want = expected(by_story[read.story], read.start, read.end)
            if read.status in (200, 404) and want is not None:
                judged += 1
                if (read.status == 200) != want:
                    what = (
                        "answers 404 after its publish" if want else "still answers 200 after its unpublish"
                    )
                    stale.append((read, read.story, what, since(by_story[read.story], read.start)))
                continue
            if read.status == 404:  # a change under way: either answer is right
                continue
        if read.status is None or not 200 <= read.status < 300:
            failures.append(read)
            continue
        if read.kind not in ("home", "section", "feed"):
            continue
        for n, ops in by_story.items():
            if read.kind == "section" and sections[n] != read.path:
                continue
            want = expected(ops, read.start, read.end)
            if want is None:
                continue
            judged += 1
            if want != (n in read.shown):
                what = "missing after its publish" if want else "still shown after its unpublish"
                stale.append((read, n, what, since(ops, read.start)))
    return Verdict(failures, stale, judged)


def since(ops: list[Op], start: float) -> float:
    ends = [op.end for op in ops if op.end < start]
    return start - max(ends) if ends else float("nan")


def phase_of(events: list[tuple[float, str]], at: float) -> str:
    """The last fault event before `at` ("steady" before any)."""
    times = [t for t, _ in events]
    index = bisect.bisect_right(times, at) - 1
    return events[index][1] if index >= 0 else "steady"
