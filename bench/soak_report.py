"""The soak's report (bench/soak.py): counts, faults and verdict as Markdown, written between the soak
markers of docs/performance.md by bench/report.py."""

from __future__ import annotations

from bench import report as doc
from bench.lib.machine import version

NOT_ANSWERS = ("refused (server down)", "connection lost", "timed out")
STALE_404 = "404 (made live, stale)"


def _after(events: list[tuple[float, str]], at: float) -> str:
    """The last fault before `at`, and how long before."""
    before = [(when, what) for when, what in events if when <= at]
    if not before:
        return "before any fault"
    when, what = before[-1]
    return f"{at - when:.1f} s after {what}"


def render(report: dict) -> tuple[str, bool]:
    """(Markdown, whether the targets were met)."""
    args, ledger, setup = report["args"], report["ledger"], report["setup"]
    answers, saves = ledger.answers, ledger.saves
    requests = sum(answers.values())
    non_2xx = {k: v for k, v in answers.items() if k != "2xx" and k not in NOT_ANSWERS and k != STALE_404}
    editor_non_2xx = {k: v for k, v in saves.items() if k.startswith(("answered", "form answered"))}
    stale, lost = ledger.stale, report["lost"]
    failed = sum(non_2xx.values()) + sum(editor_non_2xx.values())
    answer_lost = saves.get("saved (its answer lost, seen on the next form)", 0)
    retried = _kinds(saves, skip=("saved", "saved (its answer lost, seen on the next form)", "given up"))
    other = _kinds({**non_2xx, **editor_non_2xx}, skip=("500", "503 with Retry-After"))
    met = not failed and not stale and not lost and not saves.get("given up")
    out = [
        f"Run on {report['date']} with `{report['command']}`: {args.ops} saves, one every {args.interval} s; "
        f"{report['elapsed_soak']:.0f} s of soak, {report['elapsed']:.0f} s in all with the set-up "
        f"(load average {report['load_before']} before, {report['load_after']} after).",
        "",
        doc.table(
            ["", ""],
            [
                ["PostgreSQL", f"{setup['postgres']}, database `newsapp_soak` (migrations + demo newsroom)"],
                ["Redis", f"{setup['redis']}, the soak's own (free port, no persistence)"],
                [
                    "App servers",
                    f"2 x granian {version('granian')} (WSGI), "
                    f"{args.workers} workers x {args.threads} blocking threads each, production settings",
                ],
                [
                    "Readers",
                    f"{args.readers} threads x {args.rate:g} requests/s, round-robin between the "
                    "servers: front page 25 %, sections 20 %, feeds 10 %, story pages 45 %",
                ],
                [
                    "Editor",
                    "signed in to the admin; each save GETs the change form and POSTs it back "
                    "(CSRF token, edit lock, inlines) with the new title, or made live",
                ],
                [
                    "Settings",
                    f"page cache 600 s, NEWSAPP_CONTENT_VERSION_CHECK {setup['check']}, "
                    "Redis timeouts 0.25 s, breaker cooldown 5 s (defaults)",
                ],
            ],
        ),
        "",
        "Faults (seconds into the soak; app-b is killed 20 ms into a save's POST to it): "
        + "; ".join(f"{when:.0f} s {what}" for when, what in ledger.events)
        + ".",
        "",
    ]
    rows = [
        ["reader requests", f"{requests:,}"],
        ["2xx", f"{answers['2xx']:,}"],
        ["page cache hits / misses", f"{ledger.cache.get('hit', 0):,} / {ledger.cache.get('miss', 0):,}"],
        ["**non-2xx answers** (target 0)", str(sum(non_2xx.values()) + sum(editor_non_2xx.values()))],
        ["… 503 with Retry-After", str(answers.get("503 with Retry-After", 0))],
        ["… 500", str(answers.get("500", 0))],
        ["… other (readers; the Editor's)", other],
        ["connections refused (the killed server, down)", str(answers.get("refused (server down)", 0))],
        ["connections lost / timed out", f"{answers['connection lost']} / {answers['timed out']}"],
        ["saves that returned (of them: answer lost, seen saved on the next try)",
         f"{saves.get('saved', 0) + answer_lost} of {args.ops} ({answer_lost})"],
        ["saves tried again (server down, connection lost, refused by the form)",
         retried],
        ["saves given up", str(saves.get("given up", 0))],
        ["**stale reads** (target 0)", str(len(stale))],
        ["**lost writes** (target 0)", str(len(lost))],
    ]  # fmt: skip
    out += [doc.table(["what", "count"], rows), ""]
    if stale:
        oldest = max(s.age for s in stale)
        out.append(f"Stale reads: {len(stale)}, the oldest {oldest:.2f} s after its save returned:")
        out += [
            f"- {s.at:.1f} s `{s.path}` (:{s.port}): {s.what}, {s.age:.2f} s after the save; "
            f"{_after(ledger.events, s.at)}"
            for s in stale[:12]
        ]
        out.append("")
    if lost:
        out += ["Lost writes:", *[f"- {line}" for line in lost[:12]], ""]
    if ledger.problems:
        out += ["First problems seen:", "", "```", *ledger.problems[:15], "```", ""]
    out.append("**Targets met: 0 / 0 / 0.**" if met else "**Targets missed** (see above).")
    return "\n".join(out) + "\n", met


def _kinds(counter: dict, skip=()) -> str:
    parts = [f"{what}: {count}" for what, count in sorted(counter.items()) if what not in skip and count]
    return ", ".join(parts) or "0"
