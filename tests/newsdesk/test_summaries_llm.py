"""summarise(candidate) with a language model: a stand-in OpenAI-compatible server on 127.0.0.1
answers /v1/chat/completions as told (an answer, slowly, an error, garbage), and every failure falls
back to the extractive summary with the reason on it. Nothing leaves the machine."""

import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from newsdesk.models import Piece, Summary
from newsdesk.summaries import llm, summarise
from newsdesk.summaries.material import candidate_pieces
from tests.newsdesk.summary_pieces import COPY_OUTLET, candidate_with_pieces
from tests.test_settings import run

pytestmark = pytest.mark.django_db

ANSWER = (
    "Rivermouth's suspension bridge was closed on Tuesday after engineers found cracks in two steel "
    "hangers holding up its main span [1, 3].\n\n"
    "The council said the closure could last at least six weeks [1]. Business leaders put the cost to "
    "local firms at £2.5m a week [2].\n\n"
    "A survey of all 86 hangers is expected to take three weeks. [3]"
)


def completion(content, *, finish_reason="stop") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
        }
    ).encode()


class StandIn(ThreadingHTTPServer):
    """An OpenAI-compatible chat endpoint: `answer(handler)` writes the reply; requests are kept."""

    daemon_threads = True

    def __init__(self, answer):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.requests: list[dict] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address) -> None:
        pass  # the client hanging up at its deadline is what the timeout tests do


class _Handler(BaseHTTPRequestHandler):
    server: StandIn
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append(
            {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": json.loads(body),
            }
        )
        self.server.answer(self)
        self.close_connection = True

    def send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@contextmanager
def stand_in(settings, answer, *, api_key="", timeout=5.0, max_chars=12_000) -> Iterator[StandIn]:
    server = StandIn(answer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.NEWSAPP_LLM_BASE_URL = server.base_url
    settings.NEWSAPP_LLM_MODEL = "stand-in:7b"
    settings.NEWSAPP_LLM_API_KEY = api_key
    settings.NEWSAPP_LLM_TIMEOUT = timeout
    settings.NEWSAPP_LLM_MAX_INPUT_CHARS = max_chars
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def replying(content, **kwargs):
    return lambda handler: handler.send(200, completion(content, **kwargs))


def numbered(user_message: str) -> dict[int, str]:
    """piece number -> outlet domain, as the user message lists them."""
    return {int(n): domain for n, domain in re.findall(r"^\[(\d+)\] [^(\n]+\(([^)]+)\)", user_message, re.M)}


def test_the_model_writes_the_summary_from_the_pieces_it_is_given(settings):
    candidate = candidate_with_pieces()
    key = secrets.token_urlsafe(16)
    with stand_in(settings, replying(ANSWER), api_key=key) as server:
        summary = summarise(candidate)
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {key}"
    assert request["headers"]["content-type"] == "application/json"
    body = request["body"]
    assert body["model"] == "stand-in:7b" and body["stream"] is False
    system, user = body["messages"]
    assert (system["role"], system["content"]) == ("system", llm.SYSTEM_PROMPT)
    assert user["role"] == "user" and len(user["content"]) <= 12_000
    # The four outlets' pieces, numbered in order of publication; the wire copy is not sent.
    order = numbered(user["content"])
    assert order == {1: "harbour.example", 2: "ledger.example", 3: "courier.example", 4: "tribune.example"}
    assert COPY_OUTLET not in user["content"]

    assert (summary.method, summary.model, summary.prompt_version) == (
        "llm",
        "stand-in:7b",
        llm.PROMPT_VERSION,
    )
    assert summary.note == ""
    assert "[" not in summary.text and " ." not in summary.text
    assert summary.text.split("\n\n")[0].startswith("Rivermouth's suspension bridge was closed on Tuesday")
    assert len(summary.text.split("\n\n")) == 3
    ids = {p.outlet.domain: p.pk for p in candidate.pieces.select_related("outlet")}
    cited = [(e["sentence"][:30], [next(d for d, pk in ids.items() if pk == i) for i in e["pieces"]])
             for e in summary.provenance]  # fmt: skip
    assert cited == [
        ("Rivermouth's suspension bridge", ["harbour.example", "courier.example"]),
        ("The council said the closure c", ["harbour.example"]),
        ("Business leaders put the cost ", ["ledger.example"]),
        ("A survey of all 86 hangers is ", ["courier.example"]),
    ]
    assert {p.outlet.domain for p in summary.pieces.all()} == set(order.values())


def test_no_key_sends_no_authorization(settings):
    with stand_in(settings, replying(ANSWER)) as server:
        summarise(candidate_with_pieces())
    assert "authorization" not in server.requests[0]["headers"]


def test_the_input_is_bounded_and_each_outlet_goes_in_before_any_outlet_s_second_piece(settings):
    candidate = candidate_with_pieces(copy=False)
    harbour = candidate.pieces.get(outlet__domain="harbour.example")
    for n in range(1, 4):
        Piece.objects.create(
            outlet=harbour.outlet,
            url=f"https://harbour.example/news/bridge-{n}",
            title=f"Rivermouth bridge: update {n}",
            text=harbour.text * 5,
            published_at=harbour.published_at,
            candidate=candidate,
        )
    with stand_in(settings, replying("The bridge is shut [1]."), max_chars=2_000) as server:
        summary = summarise(candidate)
    user = server.requests[0]["body"]["messages"][1]["content"]
    assert len(user) <= 2_000
    # Room for four pieces of at least 300 characters: one per outlet, not harbour's four.
    assert sorted(numbered(user).values()) == sorted(
        ["harbour.example", "ledger.example", "courier.example", "tribune.example"]
    )
    assert summary.pieces.count() == 4
    # Texts are cut at a sentence's end.
    for text in re.findall(r"^Headline: .*\n(.*)$", user, re.M):
        assert text.endswith((".", '"', "…")), text


def test_material_never_exceeds_its_bound():
    pieces = candidate_pieces(candidate_with_pieces())
    for max_chars in (1_000, 1_500, 3_000, 5_000, 12_000, 50_000):
        user, given = llm.material(pieces, max_chars=max_chars)
        assert len(user) <= max_chars
        assert given
    with pytest.raises(llm.LLMError, match="no room"):
        llm.material(pieces, max_chars=200)


def slow(handler):
    time.sleep(3)
    handler.send(200, completion(ANSWER))


def drip(handler):
    """Headers at once, then the body a byte at a time, a byte every 0.2 s."""
    body = completion(ANSWER)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    for byte in body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.2)


def status_500(handler):
    handler.send(500, b'{"error": "model crashed"}')


def moved(handler):
    handler.send_response(301)
    handler.send_header("Location", "http://127.0.0.1:9/v1/chat/completions")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def garbage(handler):
    handler.send(200, b"<html>Bad gateway</html>", "text/html")


def error_object(handler):
    handler.send(200, b'{"error": {"message": "model not found"}}')


def huge(handler):
    handler.send(200, b'{"choices": "' + b"x" * 1_200_000 + b'"}')


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (slow, "gave no full answer within 0.5 s"),
        (drip, "gave no full answer within 0.5 s"),
        (status_500, "answered HTTP 500"),
        (moved, "answered HTTP 301"),  # no redirect is followed
        (garbage, "something other than JSON"),
        (error_object, "not a chat completion"),
        (huge, "over 1,000,000 bytes"),
        (replying(""), "answer was empty"),
        (replying("<think>Let me see.</think>\n  "), "answer was empty"),
        (replying(None), "has no text"),
        (replying("A summary. " * 500), "too long for a summary"),
        (replying(ANSWER, finish_reason="length"), "cut off at"),
        (replying("The bridge fell into the sea [9]."), "cited piece [9], but was given 4"),
        (replying("[1] [2]"), "only citation marks"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_any_failure_falls_back_to_the_extractive_summary_saying_why(settings, answer, reason):
    candidate = candidate_with_pieces()
    with stand_in(settings, answer, timeout=0.5) as server:
        started = time.monotonic()
        summary = summarise(candidate)
        elapsed = time.monotonic() - started
    assert len(server.requests) == 1
    assert elapsed < 2.0
    assert summary.method == Summary.Method.EXTRACTIVE
    assert (summary.model, summary.prompt_version) == ("", "")
    assert summary.note.startswith("The language model (stand-in:7b) was not used: ")
    assert reason in summary.note
    assert summary.provenance and summary.text


def test_connection_refused_falls_back(settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.NEWSAPP_LLM_BASE_URL = f"http://127.0.0.1:{port}/v1"
    settings.NEWSAPP_LLM_MODEL = "stand-in:7b"
    summary = summarise(candidate_with_pieces())
    assert summary.method == Summary.Method.EXTRACTIVE
    assert "could not be reached" in summary.note and "refused" in summary.note.lower()


def test_reasoning_notes_are_not_part_of_the_summary(settings):
    with stand_in(settings, replying("<think>Which piece first?</think>\n\nThe bridge is shut [1].")):
        summary = summarise(candidate_with_pieces())
    assert summary.text == "The bridge is shut."


def test_the_same_pieces_give_back_the_model_s_summary_without_asking_again(settings):
    candidate = candidate_with_pieces()
    with stand_in(settings, replying(ANSWER)) as server:
        first = summarise(candidate)
        assert summarise(candidate) == first
    assert len(server.requests) == 1
    assert Summary.objects.count() == 1


def test_another_model_or_prompt_version_makes_a_new_summary(settings, monkeypatch):
    candidate = candidate_with_pieces()
    with stand_in(settings, replying(ANSWER)) as server:
        first = summarise(candidate)
        settings.NEWSAPP_LLM_MODEL = "bigger:70b"
        second = summarise(candidate)
        monkeypatch.setattr(llm, "PROMPT_VERSION", "newsdesk-summary-test")
        third = summarise(candidate)
    assert len(server.requests) == 3 and len({first.pk, second.pk, third.pk}) == 3
    assert (second.model, third.prompt_version) == ("bigger:70b", "newsdesk-summary-test")


def test_after_a_failure_the_model_is_asked_again_but_no_duplicate_fallback_is_stored(settings):
    candidate = candidate_with_pieces()
    with stand_in(settings, status_500) as server:
        fallback = summarise(candidate)
        assert summarise(candidate) == fallback
        assert len(server.requests) == 2
        server.answer = replying(ANSWER)
        written = summarise(candidate)
    assert written.method == Summary.Method.LLM
    assert list(candidate.summaries.all()) == [written, fallback]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSAPP_LLM_BASE_URL": "http://127.0.0.1:11434/v1"}, "NEWSAPP_LLM_MODEL set"),
        (
            {"NEWSAPP_LLM_BASE_URL": "ftp://models.example/v1", "NEWSAPP_LLM_MODEL": "m"},
            "http:// or https://",
        ),
        ({"NEWSAPP_LLM_TIMEOUT": "0"}, "NEWSAPP_LLM_TIMEOUT must be over 0"),
        ({"NEWSAPP_LLM_MAX_INPUT_CHARS": "10"}, "NEWSAPP_LLM_MAX_INPUT_CHARS 1000+"),
    ],
)
def test_settings_refuse_an_unusable_model_configuration(tmp_path, env, message):
    result = run(tmp_path, "-c", "import django; django.setup()", DJANGO_SECRET_KEY="x" * 50, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
