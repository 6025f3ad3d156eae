"""A story candidate for the summaries' tests: four outlets reporting one (invented) event, plus a
wire copy of one of them by a fifth, written for these tests. Rows are built directly."""

from datetime import UTC, datetime, timedelta

from articles.models import Source
from newsdesk.models import Candidate, Piece
from tests.factories import SourceFactory

START = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)

REPORTS = {
    "harbour.example": (
        Source.Lean.LEFT,
        "Rivermouth bridge shut after engineers find cracks in main span",
        """The Rivermouth suspension bridge was closed to all traffic on Tuesday after engineers found \
cracks in two steel hangers holding up its main span. About 48,000 vehicles cross the bridge each day, \
and the council said the closure could last at least six weeks.

Inspectors from the regional highways agency spotted the damage during a routine check on Monday night. \
"We are not prepared to take any risk with public safety," said council leader Amira Osei. Buses will \
run a free shuttle across the lower ferry crossing from Wednesday morning.

Residents of the eastern districts said the closure would double their journey times. The bridge, \
opened in 1971, last underwent major repairs in 2009. Local businesses warned that deliveries to the \
harbour market were already running late.""",
    ),
    "ledger.example": (
        Source.Lean.RIGHT,
        "Bridge closure to cost Rivermouth firms millions, chamber warns",
        """Business leaders in Rivermouth warned on Tuesday that the sudden closure of the city's \
suspension bridge would cost local firms millions of pounds. The chamber of commerce estimated losses \
of £2.5m a week while the crossing stays shut.

Engineers discovered cracked hangers on the main span during an overnight inspection, officials said. \
The council has not yet said who will pay for repairs, which independent engineers put at £30m. \
Haulage companies have been told to use the ring road, adding up to 40 minutes to each trip.

Council leader Amira Osei said the authority had asked the government for emergency funding. \
Opposition councillors accused the ruling group of delaying maintenance work first proposed in 2019.""",
    ),
    "courier.example": (
        Source.Lean.CENTER,
        "What we know about the Rivermouth bridge cracks",
        """Engineers have found cracks in two of the steel hangers that support the main span of the \
Rivermouth bridge, which has been closed since Tuesday morning. The regional highways agency said the \
cracks were found by ultrasonic testing during a scheduled inspection.

The agency said it could not yet say whether other hangers were affected. A full survey of all 86 \
hangers is expected to take three weeks. Dr. Helen Marsh, a structural engineer at Rivermouth \
University, said hanger cracks were usually caused by fatigue rather than sudden damage.

Pedestrians and cyclists are also barred from the bridge. The ferry operator said it would add \
sailings every 15 minutes at peak times.""",
    ),
    "tribune.example": (
        Source.Lean.LEAN_LEFT,
        "Commuters face weeks of delays as Rivermouth bridge closes",
        """Commuters in Rivermouth faced long queues on Tuesday as the city's main bridge closed \
without warning. Traffic on the ring road was backed up for five miles during the morning rush hour.

Schools on the eastern bank said some pupils had arrived more than an hour late. The council \
urged people to work from home where they could and to avoid driving across the city. Nurses at \
Rivermouth General Hospital said staff living on the far side of the river were struggling to reach \
their shifts.""",
    ),
}
# A wire copy: another outlet running ledger.example's text word for word.
COPY_OUTLET = "wire-reprint.example"


def outlet(domain: str, lean: str = Source.Lean.CENTER) -> Source:
    return SourceFactory(
        domain=domain, name=domain.split(".")[0].title(), slug=domain.replace(".", "-"), bias=lean
    )


def candidate_with_pieces(*, domains=None, copy=True) -> Candidate:
    """The bridge story as a candidate: a piece per outlet in REPORTS (or those in `domains`), and
    with `copy` a wire copy of ledger.example's piece by a fifth outlet."""
    candidate = Candidate.objects.create(
        title="Rivermouth bridge closed",
        first_published_at=START,
        last_published_at=START + timedelta(hours=5),
    )
    pieces = {}
    for hours, (domain, (lean, title, text)) in enumerate(REPORTS.items()):
        if domains is not None and domain not in domains:
            continue
        pieces[domain] = Piece.objects.create(
            outlet=outlet(domain, lean),
            url=f"https://{domain}/news/bridge",
            title=title,
            text=text,
            published_at=START + timedelta(hours=hours),
            candidate=candidate,
        )
    if copy and "ledger.example" in pieces:
        original = pieces["ledger.example"]
        Piece.objects.create(
            outlet=outlet(COPY_OUTLET),
            url=f"https://{COPY_OUTLET}/wire/bridge",
            title=original.title,
            text=original.text,
            published_at=START + timedelta(hours=5),
            candidate=candidate,
            copy_of=original,
        )
    return candidate
