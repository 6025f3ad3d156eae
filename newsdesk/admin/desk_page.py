"""The desk page of one story candidate (its change view in the admin): the pieces side by side by
the lean of their outlets, the bias of the distinct outlets, the proposed section, the draft summary
with how it was made, and the buttons: make a draft story, dismiss (or reopen), split chosen pieces
out, and add the pieces that joined since the draft to the story as sources.

Every button is a POST form with its CSRF token, to a URL of its own; each answers with a redirect
and a message (or the page again with the section's error), never a half-done change.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from articles.admin.scheduling import admin_time
from articles.bias import CENTER_LEANS, LEFT_LEANS, RIGHT_LEANS
from articles.models import Article, Category
from articles.text import render_markdown
from newsdesk import desk, grouping
from newsdesk.admin.common import plural, summaries_refresh, web_address, works_the_desk
from newsdesk.models import Candidate, Piece

LEANS = (("left", "Left", LEFT_LEANS), ("center", "Center", CENTER_LEANS), ("right", "Right", RIGHT_LEANS))


class SectionForm(forms.Form):
    section = forms.ModelChoiceField(
        queryset=Category.objects.order_by("position", "name"),
        label="Section",
        empty_label="Choose a section",
        error_messages={
            "required": "Choose the story's section.",
            "invalid_choice": "Choose a section from the list.",
        },
    )


def _side(lean: str) -> str:
    return next((side for side, _, leans in LEANS if lean in leans), "unrated")


def lean_columns(pieces: list[Piece]) -> list[dict]:
    """The pieces in four columns by their outlet's lean (lean left counts as left), each column
    with how many distinct outlets it holds."""
    columns = {side: {"side": side, "label": label, "pieces": []} for side, label, _ in LEANS}
    columns["unrated"] = {"side": "unrated", "label": "Unrated", "pieces": []}
    for piece in pieces:
        columns[_side(piece.outlet.bias)]["pieces"].append(piece)
    for column in columns.values():
        column["outlets"] = len({piece.outlet_id for piece in column["pieces"]})
    return list(columns.values())


class DeskPageMixin:
    """For CandidateAdmin: the desk page instead of a change form, and its buttons."""

    desk_template = "admin/newsdesk/candidate/desk.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        views = [
            ("draft", self.desk_draft_view),
            ("section", self.desk_section_view),
            ("dismiss", self.desk_dismiss_view),
            ("reopen", self.desk_reopen_view),
            ("split", self.desk_split_view),
            ("add-sources", self.desk_add_sources_view),
        ]
        return [
            *(
                path(
                    f"<path:object_id>/{name}/",
                    wrap(require_POST(view)),
                    name=f"newsdesk_candidate_{name.replace('-', '_')}",
                )
                for name, view in views
            ),
            *super().get_urls(),
        ]

    # --- The page ---

    def _candidate(self, request, object_id, *, change: bool) -> Candidate:
        candidate = self.get_object(request, unquote(object_id))  # None for an unknown or malformed id
        if candidate is None:
            raise Http404("No such story candidate.")
        allowed = works_the_desk(request.user) if change else self.has_view_or_change_permission(request)
        if not allowed:
            raise PermissionDenied
        return candidate

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])  # the page changes nothing; its buttons do
        candidate = self._candidate(request, object_id, change=False)
        return self.desk_render(request, candidate)

    def desk_render(self, request, candidate, *, section_form=None, status=200):
        pieces = sorted(
            candidate.pieces.select_related("outlet", "copy_of__outlet"),
            key=lambda p: (p.copy_of_id is not None, -p.published_at.timestamp(), p.pk),
        )
        summary = candidate.summaries.prefetch_related("pieces__outlet").first()
        offered = list(desk.pieces_offered(candidate).order_by("published_at", "pk"))
        for piece in [*pieces, *offered]:
            piece.link = web_address(piece.url)
            piece.when = admin_time(piece.published_at)
        context = {
            **self.admin_site.each_context(request),
            "title": candidate.title,
            "subtitle": None,
            "opts": self.opts,
            "candidate": candidate,
            "story": candidate.story,
            "columns": lean_columns(pieces),
            "pieces_count": len(pieces),
            "balance": grouping.candidate_balance(candidate),
            "summary": summary,
            "summary_html": mark_safe(render_markdown(summary.text)) if summary else "",  # sanitized
            "provenance": _provenance(summary, pieces),
            "offered": offered,
            "section_form": section_form or SectionForm(initial={"section": candidate.section_id}),
            "can_work": works_the_desk(request.user),
            "can_draft": request.user.has_perm("articles.add_article"),
            "first_seen": admin_time(candidate.first_published_at),
            "last_seen": admin_time(candidate.last_published_at),
            "summary_made": admin_time(summary.created_at) if summary else "",
            "pieces_url": reverse("admin:newsdesk_piece_changelist") + f"?candidate={candidate.pk}",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.desk_template, context, status=status)

    def _back(self, candidate) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:newsdesk_candidate_change", args=[candidate.pk]))

    # --- The buttons ---

    def desk_draft_view(self, request, object_id):
        candidate = self._candidate(request, object_id, change=True)
        if not request.user.has_perm("articles.add_article"):
            raise PermissionDenied
        if candidate.story is not None:
            messages.info(request, f"This candidate became the story “{candidate.story}” already.")
            return _to_story(candidate.story)
        form = SectionForm(request.POST)
        if not form.is_valid():
            return self.desk_render(request, candidate, section_form=form, status=400)
        if candidate.section != form.cleaned_data["section"]:
            candidate.section = form.cleaned_data["section"]
            candidate.section_chosen = True  # the editor's: newsdesk.sections proposes none over it
            candidate.save(update_fields=["section", "section_chosen"])

        def problem(text):
            messages.warning(request, text)

        try:
            article = desk.draft_story(candidate=candidate, user=request.user, on_problem=problem)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return self._back(candidate)
        messages.success(
            request,
            f"Drafted the story “{article.title}” with {plural(article.article_sources.count(), 'source')}: "
            "read it through, then publish it.",
        )
        return _to_story(article)

    def desk_section_view(self, request, object_id):
        candidate = self._candidate(request, object_id, change=True)
        form = SectionForm(request.POST)
        if not form.is_valid():
            return self.desk_render(request, candidate, section_form=form, status=400)
        candidate.section = form.cleaned_data["section"]
        candidate.section_chosen = True  # the editor's: newsdesk.sections proposes none over it
        candidate.save(update_fields=["section", "section_chosen"])
        messages.success(request, f"The proposed section is {candidate.section}.")
        return self._back(candidate)

    def desk_dismiss_view(self, request, object_id):
        candidate = self._candidate(request, object_id, change=True)
        if candidate.status != Candidate.Status.OPEN:
            messages.error(
                request,
                f"Only an open candidate can be dismissed; this one is “{candidate.get_status_display()}”.",
            )
            return self._back(candidate)
        candidate.status = Candidate.Status.DISMISSED
        candidate.save(update_fields=["status"])
        messages.success(request, f"Dismissed “{candidate}”: it leaves the desk's open list.")
        return HttpResponseRedirect(reverse("admin:newsdesk_candidate_changelist"))

    def desk_reopen_view(self, request, object_id):
        candidate = self._candidate(request, object_id, change=True)
        if candidate.status != Candidate.Status.DISMISSED:
            messages.error(request, "Only a dismissed candidate can be reopened.")
            return self._back(candidate)
        candidate.status = Candidate.Status.OPEN
        candidate.save(update_fields=["status"])
        messages.success(request, f"Reopened “{candidate}”.")
        return self._back(candidate)

    def desk_split_view(self, request, object_id):
        candidate = self._candidate(request, object_id, change=True)
        chosen = _chosen(request, candidate.pieces.all())
        if chosen is None:
            messages.error(request, "Choose the pieces to split out.")
            return self._back(candidate)
        try:
            made = grouping.pieces_split(pieces=chosen)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return self._back(candidate)
        summaries_refresh([candidate.pk, made.pk])
        url = reverse("admin:newsdesk_candidate_change", args=[made.pk])
        messages.success(
            request,
            format_html(
                'Split {} out into a new candidate: <a href="{}">{}</a>.',
                plural(len(chosen), "piece"),
                url,
                made,
            ),
        )
        return self._back(candidate)

    def desk_add_sources_view(self, request, object_id):
        candidate = self._candidate(request, object_id, change=True)
        chosen = _chosen(request, desk.pieces_offered(candidate))
        if chosen is None:
            messages.error(request, "Choose the pieces to add as sources.")
            return self._back(candidate)

        def problem(text):
            messages.warning(request, text)

        try:
            article = desk.sources_add(
                candidate=candidate, pieces=chosen, user=request.user, on_problem=problem
            )
        except (ValidationError, PermissionDenied) as exc:
            # A Writer adding to a live story: that is the Editors' (said here, not a bare 403).
            messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
            return self._back(candidate)
        messages.success(request, f"Added {plural(len(chosen), 'source')} to “{article}”.")
        return self._back(candidate)


def _chosen(request, pieces) -> list[Piece] | None:
    """The pieces of `pieces` ticked in the form (ids that are not numbers, or not among them, are
    ignored); None when there is none."""
    ids = {int(value) for value in request.POST.getlist("pieces") if value.isdigit()}
    chosen = list(pieces.filter(pk__in=ids)) if ids else []
    return chosen or None


def _to_story(article: Article) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))


def _provenance(summary, pieces: list[Piece]) -> list[dict]:
    """Each sentence of the summary with the pieces it came from (those still in the candidate, or
    named from the summary's own record when they have moved)."""
    if summary is None:
        return []
    known = {piece.pk: piece for piece in pieces} | {piece.pk: piece for piece in summary.pieces.all()}
    lines = []
    for entry in summary.provenance or []:
        if not isinstance(entry, dict):
            continue
        cited = [known[pk] for pk in entry.get("pieces", []) if isinstance(pk, int) and pk in known]
        for piece in cited:
            piece.link = web_address(piece.url)
        lines.append({"sentence": str(entry.get("sentence", "")), "pieces": cited})
    return lines
