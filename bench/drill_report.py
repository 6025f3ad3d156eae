"""The failure drill's report (bench/drill.py): its figures as Markdown, written between the drill's
markers in docs/scaling.md ("Failure drill"), the rest of the file left as it is."""

from __future__ import annotations

import collections

from bench import report as doc
from bench.drill_clients import GRACE, Ledger, Verdict, phase_of
from bench.lib.processes import ROOT

DOC = ROOT / "docs" / "scaling.md"
START, END = "<!-- drill:start -->", "<!-- drill:end -->"
INTRO = f"""\
```sh
make drill                        # under 3 minutes once the cluster is up; root; not in CI
make drill DRILL_ARGS="--help"    # every option (--readers, --rate, --interval, --quick, ...)
```

`bench/drill.py` runs against the cluster of `make cluster` (and starts it first when it is not up,
then stops it at the end). Reader threads fetch pages through the proxy on keep-alive connections
(front page, sections, the feed, story pages, the drill's own stories' pages) while an editor
process, in the cluster's environment, publishes and unpublishes stories through the ORM (the
site's own signals purge the proxy), one change every 2 s. Meanwhile, in turn: one app server is
killed (SIGKILL to all its processes; Varnish's health probe must take it out) and started again;
the cluster's own Redis (port 6380, no persistence) is restarted for real: stopped by its PID file
(SIGTERM; every connection closed, the cache and the queue gone) and, 4 s later, started again
empty by `scripts/cluster/redis.sh start`, the command `make cluster` uses; the replica is stopped
(`pg_ctl stop -m fast`: readers fall back to the primary) and started again. It counts:

- **non-2xx answers** to readers (and requests the proxy did not answer), each listed with its
  time, page, what the reader got and what was broken at the time;
- **stale reads**: a read that started more than {GRACE:g} s after a publish returned and does not
  show the story (front page, its section, the feed; its own page answering 404), or shows it more
  than {GRACE:g} s after an unpublish returned (its page answering 200); reads that overlap a change
  are not judged;
- **lost writes**: a change the editor got an OK for that is not in the primary at the end.

Target 0 / 0 / 0.

"""


def write_section(markdown: str) -> None:
    """Between the drill's markers in docs/scaling.md, read just before writing (others edit it);
    without them the section is added at the end, under its heading and the text above."""
    text = DOC.read_text() if DOC.exists() else "# Scaling\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = f"{before}{START}\n{markdown}{END}{rest.split(END, 1)[1]}"
    else:
        text = text.rstrip("\n") + f"\n\n## Failure drill\n\n{INTRO}{START}\n{markdown}{END}\n"
    DOC.write_text(text)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def answer(read) -> str:
    return f"{read.status}" if read.status is not None else "no answer"


def phases_table(ledger: Ledger, failed: set, started: float) -> str:
    """Reads by what was broken (or back) when they started."""
    since = {what: at - started for at, what in ledger.events}
    reads = collections.defaultdict(list)
    for read in ledger.reads:
        reads[phase_of(ledger.events, read.start)].append(read)
    rows = []
    for phase in dict.fromkeys(["steady", *since]):
        found = reads.get(phase, [])
        if not found:
            continue
        latencies = [(r.end - r.start) * 1000 for r in found if r.status is not None]
        hits = sum(1 for r in found if r.cache.startswith("HIT"))
        label = phase if phase == "steady" else f"{phase}, from {since[phase]:.0f} s"
        rows.append(
            [label, f"{len(found):,}", f"{hits / len(found):.0%}", f"{percentile(latencies, 0.5):.1f} ms",
             f"{percentile(latencies, 0.99):.1f} ms", str(sum(1 for r in found if id(r) in failed))]
        )  # fmt: skip
    return doc.table(["while", "reads", "proxy hits", "p50", "p99", "failures"], rows)


def render(report: dict, ledger: Ledger, verdict: Verdict) -> tuple[str, bool]:
    args, started = report["args"], report["started"]
    ops = ledger.ops
    ok_ops = [op for op in ops if op.ok]
    failed = verdict.failures
    stale, lost = verdict.stale, report["lost"]
    met = not failed and not stale and not lost and len(ok_ops) == len(ops)
    events = "; ".join(f"{at - started:.1f} s {what}" for at, what in sorted(ledger.events + ledger.notes))
    out = [
        f"Run on {report['date']} with `{report['command']}` ({report['elapsed']:.0f} s; the cluster "
        f"{'started and stopped by the drill' if report['started_cluster'] else 'already up'}; load "
        f"average {report['load_before']} before, {report['load_after']} after).",
        "",
        doc.table(
            ["", ""],
            [
                [
                    "Readers",
                    f"{args.readers} threads x {args.rate:g} requests/s through the proxy (front page 30 %, "
                    "sections 15 %, feed 10 %, the drill's newest stories 15 %, other stories 30 %)",
                ],
                [
                    "Editor",
                    f"{len(ops)} changes through the ORM, one every {args.interval:g} s "
                    f"(publish, unpublish), {report['stories']} stories",
                ],
                ["Redis", report["redis"]],
            ],
        ),
        "",
        f"What happened (seconds after the editor's first change): {events}.",
        "",
        doc.table(
            ["what", "count"],
            [
                ["reader requests", f"{len(ledger.reads):,}"],
                ["**non-2xx answers and unanswered requests** (target 0)", str(len(failed))],
                ["reads judged for staleness", f"{verdict.judged:,}"],
                ["**stale reads** (target 0)", str(len(stale))],
                ["editor's changes that returned OK", f"{len(ok_ops)} of {len(ops)}"],
                ["**lost writes** (target 0)", str(len(lost))],
            ],
        ),
        "",
        phases_table(ledger, {id(r) for r in failed}, started),
        "",
    ]
    if failed:
        out.append(f"Non-2xx answers and unanswered requests ({len(failed)}; the first 20):")
        out += [
            f"- {r.start - started:.1f} s `{r.path}`: {answer(r)}"
            + (f" (X-Cache {r.cache})" if r.cache else "")
            + (f": {r.detail[:120]}" if r.detail else "")
            + f'; during "{phase_of(ledger.events, r.start)}"'
            for r in failed[:20]
        ]
        out.append("")
    if stale:
        out.append(f"Stale reads ({len(stale)}; the first 20):")
        out += [
            f"- {r.start - started:.1f} s `{r.path}`: story {story} {what}, {age:.2f} s after that change "
            f'returned (X-Cache {r.cache or "–"}); during "{phase_of(ledger.events, r.start)}"'
            for r, story, what, age in stale[:20]
        ]
        out.append("")
    if lost:
        out += ["Lost writes:", *[f"- {line}" for line in lost[:20]], ""]
    errors = [op for op in ops if not op.ok]
    if errors:
        out += ["Editor's changes that failed:"]
        out += [
            f"- {op.start - started:.1f} s {op.action} story {op.story}: {op.error[:150]}"
            for op in errors[:10]
        ]
        out.append("")
    out.append("**Targets met: 0 / 0 / 0.**" if met else "**Targets missed** (see above).")
    return "\n".join(out) + "\n", met
