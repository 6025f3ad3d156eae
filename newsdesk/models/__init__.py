"""The newsdesk's rows: feeds of outlets, the pieces read from them, and the story candidates the
pieces are grouped into, with their draft summaries. Story rows belong to articles and are written
only through its one save path (articles.newsroom.stories.article_save)."""

from .candidates import Candidate, CandidateTerm, Summary, Term
from .feeds import Feed
from .pieces import Piece

__all__ = ["Candidate", "CandidateTerm", "Feed", "Piece", "Summary", "Term"]
