"""Story candidates (pieces reporting one event), the term index that groups new pieces into them,
and the draft summaries made for them with how each was made."""

from django.db import models

from articles.models import Article, Category


class Candidate(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DRAFTED = "drafted", "Became a story"
        DISMISSED = "dismissed", "Dismissed"

    title = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN, db_index=True)
    section = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="proposed section"
    )
    # An editor chose the section: newsdesk.sections no longer proposes one over it.
    section_chosen = models.BooleanField(default=False, editable=False)
    # An editor chose the pieces (a split or a merge): the grouping never moves them elsewhere.
    pieces_chosen = models.BooleanField(default=False, editable=False)
    story = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="candidates"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    first_published_at = models.DateTimeField(db_index=True)
    last_published_at = models.DateTimeField(db_index=True)
    # Distinct outlets with an original piece here (copies count as their original): the desk's
    # order, kept on the row so ordering needs no count over pieces.
    outlets_count = models.PositiveSmallIntegerField(default=0)
    # The grouping's centroid: term -> weight (newsdesk.grouping).
    centroid = models.JSONField(default=dict, blank=True, editable=False)
    # Pieces joined since its last summary: a summary is owed from this time on (the sweeper queues it
    # if no worker has made it by then), and which worker makes it (newsdesk.summaries.owed).
    summary_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    summary_leased_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        # The admin lists candidates as the Story desk, the editors' word for it.
        verbose_name = "story candidate"
        verbose_name_plural = "story desk"
        ordering = ["-outlets_count", "-last_published_at"]
        indexes = [
            models.Index(fields=["status", "-outlets_count", "-last_published_at"]),
            # The sweeper's question every minute: the few candidates owing a summary.
            models.Index(
                fields=["summary_due_at"],
                condition=models.Q(summary_due_at__isnull=False),
                name="candidate_summary_owed",
            ),
        ]

    def __str__(self):
        return self.title


class Term(models.Model):
    """How many pieces a term occurs in: the document frequency the grouping's weights need."""

    text = models.CharField(max_length=64, unique=True)
    pieces = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.text


class CandidateTerm(models.Model):
    """A candidate's heaviest terms, indexed so a new piece finds the candidates it may join
    without reading the others (the grouping stays bounded however many pieces are stored)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="terms")
    text = models.CharField(max_length=64)
    weight = models.FloatField()
    last_published_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["text", "last_published_at"])]
        constraints = [models.UniqueConstraint(fields=["candidate", "text"], name="candidateterm_unique")]

    def __str__(self):
        return f"{self.text} ({self.weight:.3f})"


class Summary(models.Model):
    """A draft summary of a candidate, with how it was made (its provenance)."""

    class Method(models.TextChoices):
        EXTRACTIVE = "extractive", "Sentences chosen from the pieces (offline)"
        LLM = "llm", "Written by a language model from the pieces"

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="summaries")
    text = models.TextField(help_text="Markdown: a lead paragraph, then a few short paragraphs.")
    method = models.CharField(max_length=12, choices=Method)
    model = models.CharField(
        max_length=200, blank=True, help_text="The language model's name, if one wrote it."
    )
    prompt_version = models.CharField(max_length=40, blank=True)
    pieces = models.ManyToManyField("Piece", related_name="summaries", help_text="The pieces it drew on.")
    # Which piece each sentence came from (extractive), or the pieces cited (LLM): a list of
    # {"sentence": str, "pieces": [piece ids]}.
    provenance = models.JSONField(default=list, blank=True)
    note = models.CharField(
        max_length=300, blank=True, help_text="Why an LLM summary fell back to the extractive one, if it did."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "summaries"
        get_latest_by = "created_at"

    def __str__(self):
        return f"{self.get_method_display()} summary of {self.candidate}"
