"""The benchmarks' reports: the one writer of the generated sections of docs/performance.md (each
between its own markers, `<!-- NAME:start -->` and `<!-- NAME:end -->`), and the Markdown pieces
they are made of."""

from __future__ import annotations

import datetime
import os
import sys

from bench.lib.processes import ROOT, BenchError
from bench.lib.wrk import Result

DOC = ROOT / "docs" / "performance.md"
DEFAULT_INTRO = """\
# Performance

Measured by the benchmarks in bench/ (`make bench` and others); the sections between markers are
rewritten by each run.

"""


def write_section(markdown: str, *, marker: str, heading: str | None) -> None:
    """Put `markdown` between the markers named `marker` in docs/performance.md, read just before
    writing (others edit the same file): everything outside the markers is kept as it is. Without the
    markers the section is added at the end under `heading`; with no heading, that is a BenchError."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = DOC.read_text() if DOC.exists() else DEFAULT_INTRO
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = f"{before}{start}\n{markdown}{end}{after}"
    elif heading is None:
        raise BenchError(f"{DOC} has no {start} ... {end} markers")
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{start}\n{markdown}{end}\n"
    DOC.write_text(text)


def command(*, target: str, variable: str, script: str, argv: list[str] | None = None) -> str:
    """How this run was started (`make TARGET VARIABLE="..."` when make ran it), for the report."""
    options = " ".join(sys.argv[1:] if argv is None else argv)
    if os.environ.get("MAKELEVEL"):
        return f'make {target} {variable}="{options}"' if options else f"make {target}"
    return f"{script} {options}".strip()


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets_table(targets: list[tuple[str, str, bool]]) -> str:
    """(what, measured, met) of each target."""
    return table(["target", "measured", "met"], [[t, m, "yes" if ok else "**no**"] for t, m, ok in targets])


def rps(result: Result | None) -> str:
    return f"{result.rps:,.0f}" if result else "–"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"
