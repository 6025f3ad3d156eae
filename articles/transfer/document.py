"""Reading an import document: what makes it malformed before its content is checked (import_checks).

Refused with a message naming the file, or the item and field: a document over MAX_DOCUMENT_BYTES (it
is read whole, and parsed JSON takes many times its size in memory), text that is not UTF-8 or not
JSON, a number too long to read, nesting deeper than MAX_DEPTH (the format needs 5 levels; a document
nested 200,000 deep would otherwise end the importer with a RecursionError), and strings holding a lone
surrogate (valid JSON escapes, but no text: the database refuses them).
"""

import json
import math
import re
from pathlib import Path
from typing import Any

from articles.transfer.checks import ImportFailed, item_label, printable

MAX_DOCUMENT_BYTES = 32_000_000
MAX_DEPTH = 32  # objects and lists inside one another, the document itself being the first
_ITEM_NAMES = {"sources": "domain", "articles": "title"}
# What opens or closes a level, and strings, whose brackets do not count.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def load_document(path: Path) -> Any:
    text = _read(path)
    try:
        document = json.loads(text, parse_constant=lambda c: math.nan)
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            [f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except RecursionError:
        raise ImportFailed([f"{path}: {_too_deep_at(text)}"]) from None
    except ValueError as exc:  # a number past Python's digit limit for int()
        raise ImportFailed([f"{path}: a number in it cannot be read ({str(exc).split(';')[0]})"]) from None
    if problems := _shape_problems(document):
        raise ImportFailed(problems)
    return document


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:
                size = max(path.stat().st_size, len(data))
                raise ImportFailed(
                    [
                        f"{path}: the document is {size / 1e6:.1f} MB; the limit is "
                        f"{MAX_DOCUMENT_BYTES / 1e6:.0f} MB: split it into several files"
                    ]
                )
    except FileNotFoundError:
        raise ImportFailed([f"{path}: file not found"]) from None
    except OSError as exc:
        raise ImportFailed([f"{path}: cannot be read ({exc.strerror})"]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None


def _too_deep_at(text: str) -> str:
    """Where the text first goes deeper than MAX_DEPTH (for a document too deep to parse at all)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                return f"nested more than {MAX_DEPTH} levels deep (at line {line} column {column})"
        elif token in "]}":
            depth -= 1
    return f"nested more than {MAX_DEPTH} levels deep"


def _where(document, path: tuple) -> tuple[str, str | None]:
    """The item (as import_checks names it) and the field that `path` leads into."""
    kind = path[0] if path else None
    if kind in _ITEM_NAMES and len(path) > 1 and isinstance(path[1], int):
        field = path[2] if len(path) > 2 else None
        where = item_label(kind, path[1], document[kind][path[1]], _ITEM_NAMES[kind])
    else:
        where, field = "document", kind
    return where, None if field is None else printable(str(field))


def _shape_problems(document) -> list[str]:
    """Nesting past MAX_DEPTH and strings that are not text, once per item and field, in document order."""
    problems, reported = [], set()
    stack = [(document, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            problem = (
                None if _is_text(value) else "holds a lone surrogate (\\ud800 to \\udfff), which is not text"
            )
        elif isinstance(value, dict | list):
            problem = f"is nested more than {MAX_DEPTH} levels deep" if depth > MAX_DEPTH else None
        else:
            continue
        if problem:
            where, field = _where(document, path)
            if (where, field) not in reported:
                reported.add((where, field))
                problems.append(f"{where}: field '{field}' {problem}" if field else f"{where}: {problem}")
            continue
        children = []
        if isinstance(value, dict):
            for key, child in value.items():
                if not _is_text(key):
                    children.append((key, (*path, key), depth))  # the field's name itself
                children.append((child, (*path, key), depth + 1))
        elif isinstance(value, list):
            children = [(child, (*path, i), depth + 1) for i, child in enumerate(value)]
        stack.extend(reversed(children))  # popped in document order
    return problems


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
