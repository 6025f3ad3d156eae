"""`manage.py story_candidates [--json]`: the open story candidates, as the desk orders them (most
outlets first, then the most recent)."""

import json
from datetime import datetime

from django.core.management.base import BaseCommand
from django.db.models import Prefetch
from django.utils import timezone

from newsdesk.grouping import candidate_balance
from newsdesk.models import Candidate, Piece, Summary


def candidate_entry(candidate: Candidate) -> dict:
    """One candidate as `--json` writes it: bias is null when none of its outlets is rated."""
    split = candidate_balance(candidate)
    summaries = candidate.summaries.all()  # prefetched, newest first
    return {
        "id": candidate.pk,
        "title": candidate.title,
        "outlets": candidate.outlets_count,
        "bias": {"left": split.left, "center": split.center, "right": split.right} if split else None,
        "summary": summaries[0].text if summaries else None,
        "pieces": [
            {
                "url": piece.url,
                "outlet": piece.outlet.domain,
                "title": piece.title,
                "published_at": piece.published_at.isoformat(),
            }
            for piece in candidate.pieces.all()
        ],
    }


def open_candidates() -> list[Candidate]:
    pieces = Piece.objects.select_related("outlet").order_by("published_at", "pk")
    return list(
        Candidate.objects.filter(status=Candidate.Status.OPEN)
        .order_by("-outlets_count", "-last_published_at", "pk")
        .prefetch_related(
            Prefetch("pieces", queryset=pieces), Prefetch("summaries", queryset=Summary.objects.all())
        )
    )


class Command(BaseCommand):
    help = "The open story candidates, most outlets first: a readable list, or --json."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help='A JSON array: {"id", "title", "outlets", "bias", "summary", "pieces": [...]} each',
        )

    def handle(self, *args, as_json: bool, **options):
        entries = [candidate_entry(candidate) for candidate in open_candidates()]
        if as_json:
            self.stdout.write(json.dumps(entries, ensure_ascii=False, indent=2))
            return
        if not entries:
            self.stdout.write("No open story candidates.")
            return
        for entry in entries:
            self.stdout.write(self.readable(entry))

    @staticmethod
    def readable(entry: dict) -> str:
        bias = entry["bias"]
        balance = (
            f"left {bias['left']}% / center {bias['center']}% / right {bias['right']}%"
            if bias
            else "no rated outlet"
        )
        lines = [f"#{entry['id']} {entry['title']}", f"  {entry['outlets']} outlet(s); {balance}"]
        if entry["summary"]:
            lead = entry["summary"].split("\n\n")[0].strip()
            lines.append(f"  Summary: {lead[:200]}{'…' if len(lead) > 200 else ''}")
        for piece in entry["pieces"]:
            when = timezone.localtime(datetime.fromisoformat(piece["published_at"]))
            lines.append(f"  - {when:%Y-%m-%d %H:%M} {piece['outlet']}: {piece['title']}")
            lines.append(f"    {piece['url']}")
        return "\n".join(lines) + "\n"
