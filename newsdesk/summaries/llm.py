"""A summary written by a language model behind any OpenAI-compatible chat endpoint (Ollama,
vLLM, llama.cpp's server, hosted APIs): POST {NEWSAPP_LLM_BASE_URL}/chat/completions with the
pieces as the only material, numbered, within NEWSAPP_LLM_MAX_INPUT_CHARS, and the model asked to
cite them by number. Every failure raises LLMError with a one-line reason; the caller falls back
to the extractive summary (newsdesk.summaries.summarise).

The request is made with the standard library's http.client rather than the openai package (a
dependency tree of its own, with retries and a client for every endpoint when we need one POST) or
urllib.request (whose timeout applies to each socket operation, so a server trickling its answer
could hold a worker for ever): here the time left before the one deadline is set on the socket
before every read, no redirect is followed and nothing is retried.

The endpoint is configured by the operator, not taken from a feed or a page, so it is not subject to
newsdesk.fetching's address checks: a model served on loopback or the private network is the usual
set-up (Ollama on 127.0.0.1:11434)."""

import contextlib
import http.client
import json
import re
import socket
import ssl
import threading
from datetime import UTC
from urllib.parse import urlsplit

from django.conf import settings

from newsdesk.models import Piece

from .material import Draft, originals, voice
from .sentences import sentences

# Changes with any change to the wording below or to the user message's layout: a summary records
# the version it was made with, and one made with an earlier version is made again.
PROMPT_VERSION = "newsdesk-summary-1"
SYSTEM_PROMPT = """\
You draft the summary of one news event for the editors of a news site.
Use only the numbered pieces in the user's message: add no fact, name, figure, date or quotation \
that is not in them, and no opinion of your own.
Write neutral, plain English: a lead paragraph of one or two sentences saying what happened, then \
two to four short paragraphs with the main details and context. Where the pieces disagree, say so \
and say which outlet reports what. 120 to 220 words in all.
After each sentence, cite the pieces it comes from by their numbers in square brackets, such as [1] \
or [2, 3].
Reply with the paragraphs only, separated by blank lines: no title, no headings, no lists, no \
preamble and no closing remarks."""
INTRO = "Pieces reporting one news event, numbered. Summarise them, using nothing else.\n"

MIN_TEXT_CHARS = 300  # a piece that cannot be given this much of its text is left out
MAX_OUTPUT_TOKENS = 800  # about three times the longest summary wanted
MAX_RESPONSE_BYTES = 1_000_000
MAX_ANSWER_CHARS = 4_000  # twice the longest summary wanted: anything longer is not one
THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)  # reasoning models' notes
CITATION = re.compile(r"\s*\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")
SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?])")


class LLMError(Exception):
    """The model gave no usable summary; the message says why in one line (kept on the summary)."""


def configured() -> bool:
    return bool(settings.NEWSAPP_LLM_BASE_URL)


def model_name() -> str:
    return settings.NEWSAPP_LLM_MODEL


def material(pieces: list[Piece], *, max_chars: int) -> tuple[str, list[Piece]]:
    """The user message (at most `max_chars` characters) and the pieces it holds, numbered from 1
    in order of publication. Copies are left out (their original says the same); when not every
    piece fits, each outlet's first piece goes in before any outlet's second. Texts are shortened
    at a sentence end to fair shares of the room left by the headers."""
    voices = originals(pieces)
    digits = len(str(len(voices)))
    room = max_chars - len(INTRO)
    chosen, used = [], 0
    for piece in _outlets_in_turn(voices):
        need = len(_header(piece, "9" * digits)) + MIN_TEXT_CHARS
        if used + need <= room:
            chosen.append(piece)
            used += need
    if not chosen:
        raise LLMError(f"NEWSAPP_LLM_MAX_INPUT_CHARS ({max_chars}) leaves no room for one piece.")
    chosen.sort(key=lambda p: (p.published_at, p.pk))
    headers = [_header(piece, str(n)) for n, piece in enumerate(chosen, 1)]
    shares = _shares([_tidy(p.text) for p in chosen], room - sum(len(h) for h in headers))
    parts = [header + text + "\n" for header, text in zip(headers, shares, strict=True)]
    return INTRO + "".join(parts), chosen


def given(pieces: list[Piece]) -> list[Piece]:
    """The pieces the model is given of `pieces` (the others do not fit in the input's bound)."""
    return material(pieces, max_chars=settings.NEWSAPP_LLM_MAX_INPUT_CHARS)[1]


def draft(pieces: list[Piece]) -> Draft:
    """The model's summary of `pieces`, or LLMError saying why there is none."""
    user, shown = material(pieces, max_chars=settings.NEWSAPP_LLM_MAX_INPUT_CHARS)
    body = {
        "model": settings.NEWSAPP_LLM_MODEL,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
        "temperature": 0.2,
        "max_tokens": MAX_OUTPUT_TOKENS,
        "stream": False,
    }
    answer = _post(json.dumps(body).encode())
    return _draft_from(_answer_text(answer), shown)


def _outlets_in_turn(pieces: list[Piece]) -> list[Piece]:
    """Each outlet's first piece, then each one's second, and so on."""
    rounds: dict[int, list[Piece]] = {}
    for piece in pieces:
        rounds.setdefault(voice(piece), []).append(piece)
    ordered, turn = [], 0
    while len(ordered) < len(pieces):
        ordered.extend(mine[turn] for mine in rounds.values() if turn < len(mine))
        turn += 1
    return ordered


def _header(piece: Piece, number: str) -> str:
    outlet = piece.outlet
    published = f"{piece.published_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"\n[{number}] {outlet.name} ({outlet.domain}), {published}\nHeadline: {_tidy(piece.title)}\n"


def _tidy(text: str) -> str:
    return " ".join(text.split())


def _shares(texts: list[str], room: int) -> list[str]:
    """The texts cut to fit `room` characters together: equal shares, a short text's unused share
    going to the longer ones; each cut at the last sentence end within its share, or at a word."""
    limits, left, waiting = {}, room, sorted(range(len(texts)), key=lambda i: len(texts[i]))
    while waiting:
        share = left // len(waiting)
        index = waiting.pop(0)
        limits[index] = min(len(texts[index]), share)
        left -= limits[index]
    return [_cut(text, limits[i]) for i, text in enumerate(texts)]


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in sentences(text):
        if len(kept) + len(sentence) + 1 > limit:
            break
        kept = f"{kept} {sentence}".strip()
    if kept:
        return kept
    return text[: max(0, limit - 1)].rsplit(" ", 1)[0] + "…"


def _post(body: bytes) -> dict:
    """The endpoint's JSON answer to `body`, read within NEWSAPP_LLM_TIMEOUT seconds in all."""
    base = urlsplit(settings.NEWSAPP_LLM_BASE_URL)
    timeout = settings.NEWSAPP_LLM_TIMEOUT
    try:
        host, port = base.hostname, base.port
    except ValueError:
        host = port = None  # a port that is no number
    if not host or base.scheme not in ("http", "https"):
        raise LLMError(f"NEWSAPP_LLM_BASE_URL ({settings.NEWSAPP_LLM_BASE_URL}) is no http(s) address.")
    if base.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    path = base.path.rstrip("/") + "/chat/completions" + (f"?{base.query}" if base.query else "")
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": settings.NEWSAPP_FETCH_USER_AGENT,  # the site's name, as the fetcher gives it
    }
    if settings.NEWSAPP_LLM_API_KEY:
        headers["Authorization"] = f"Bearer {settings.NEWSAPP_LLM_API_KEY}"
    # The socket's timeout bounds each wait; this bounds them all together (a server sending a
    # byte a second would otherwise never time out): at the deadline the socket is shut, which
    # wakes a blocked read at once.
    expired, opened = threading.Event(), []
    watchdog = threading.Timer(timeout, _shut, args=(expired, opened))
    watchdog.start()
    try:
        connection.connect()
        opened.append(connection.sock)
        if expired.is_set():
            raise TimeoutError
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            raise LLMError(f"The model's endpoint answered HTTP {response.status} {response.reason}.")
        raw = b""
        while chunk := response.read1(65536):
            raw += chunk
            if len(raw) > MAX_RESPONSE_BYTES:
                raise LLMError(f"The model's answer was over {MAX_RESPONSE_BYTES:,} bytes.")
        if expired.is_set():
            raise TimeoutError
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set() or isinstance(error, TimeoutError):
            raise LLMError(f"The model's endpoint gave no full answer within {timeout:g} s.") from None
        raise LLMError(f"The model's endpoint could not be reached: {error}.") from None
    finally:
        watchdog.cancel()
        connection.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        raise LLMError("The model's endpoint answered with something other than JSON.") from None
    if not isinstance(answer, dict):
        raise LLMError("The model's endpoint answered JSON that is not a chat completion.")
    return answer


def _shut(expired: threading.Event, opened: list) -> None:
    expired.set()
    for sock in opened:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _answer_text(answer: dict) -> str:
    """The summary in a chat completion: the first choice's message, the model's notes removed."""
    try:
        choice = answer["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("The model's endpoint answered JSON that is not a chat completion.") from None
    if not isinstance(content, str):
        raise LLMError("The model's answer has no text.")
    if choice.get("finish_reason") == "length":
        raise LLMError(f"The model's answer was cut off at {MAX_OUTPUT_TOKENS} tokens.")
    text = THINKING.sub("", content).strip()
    if not text:
        raise LLMError("The model's answer was empty.")
    if len(text) > MAX_ANSWER_CHARS:
        raise LLMError(f"The model's answer was {len(text):,} characters, too long for a summary.")
    return text


def _draft_from(text: str, given: list[Piece]) -> Draft:
    """The answer as a draft: citation marks taken out of the text into the provenance. A sentence
    with no mark of its own takes the next cited sentence's in its paragraph (a mark often closes a
    run of sentences), else the previous one's."""
    paragraphs, provenance = [], []
    for block in re.split(r"\n\s*\n", text):
        cited = []
        for sentence in sentences(block):
            numbers = _cited(sentence, len(given))
            clean = SPACE_BEFORE_STOP.sub(r"\1", CITATION.sub("", sentence)).strip()
            if clean:
                cited.append((clean, numbers))
            elif cited:
                cited[-1] = (cited[-1][0], cited[-1][1] | numbers)  # a mark standing after the stop
        if not cited:
            continue
        paragraphs.append(" ".join(clean for clean, _ in cited))
        for index, (clean, numbers) in enumerate(cited):
            later = [n for _, n in cited[index:] if n]
            earlier = [n for _, n in cited[:index] if n]
            own = numbers or (later[0] if later else earlier[-1] if earlier else set())
            provenance.append({"sentence": clean, "pieces": sorted(given[n - 1].pk for n in own)})
    if not paragraphs:
        raise LLMError("The model's answer held only citation marks.")
    return Draft(text="\n\n".join(paragraphs), provenance=provenance, pieces=given)


def _cited(sentence: str, count: int) -> set[int]:
    """The piece numbers cited in `sentence`; a number not given means the model used something
    else than the pieces, and its summary is refused."""
    numbers = set()
    for group in CITATION.findall(sentence):
        for part in re.split(r"\s*[,;]\s*", group):
            ends = sorted(int(n) for n in re.split(r"\s*[–-]\s*", part))  # "2-4" cites 3 as well
            if not 1 <= ends[0] <= ends[-1] <= count:
                raise LLMError(f"The model cited piece [{part}], but was given {count}.")
            numbers.update(range(ends[0], ends[-1] + 1))
    return numbers
