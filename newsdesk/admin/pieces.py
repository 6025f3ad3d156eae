"""Pieces in the admin: read-only (they are what the outlets published), searchable, filtered by
outlet and candidate; selected pieces can be split out of their candidate into a new one."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from articles.admin.scheduling import admin_time
from newsdesk import grouping
from newsdesk.admin.common import (
    ChosenRowsMixin,
    NewsdeskMedia,
    original_link,
    plural,
    summaries_refresh,
    works_the_desk,
)
from newsdesk.models import Candidate, Piece


class CandidateFilter(admin.SimpleListFilter):
    """By candidate: the one chosen (from the desk's link, ?candidate=ID), or pieces in none. Not a
    list of every candidate, which grows without end."""

    title = "story candidate"
    parameter_name = "candidate"

    def lookups(self, request, model_admin):
        choices = [("none", "In no candidate")]
        value = self.value()
        if value and value.isdigit():
            chosen = Candidate.objects.filter(pk=value).first()
            if chosen is not None:
                choices.insert(0, (value, str(chosen)))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == "none":
            return queryset.filter(candidate=None)
        if not value.isdigit():
            raise IncorrectLookupParameters("Choose a candidate by its number.")
        return queryset.filter(candidate_id=int(value))


class CopyFilter(admin.SimpleListFilter):
    title = "wire copies"
    parameter_name = "copy"

    def lookups(self, request, model_admin):
        return [("yes", "Copies of another piece"), ("no", "Originals")]

    def queryset(self, request, queryset):
        match self.value():
            case "yes":
                return queryset.exclude(copy_of=None)
            case "no":
                return queryset.filter(copy_of=None)
        return queryset


@admin.register(Piece)
class PieceAdmin(ChosenRowsMixin, admin.ModelAdmin):
    Media = NewsdeskMedia
    list_display = ["title", "outlet", "published", "on_desk", "copy", "original"]
    list_filter = ["outlet", CandidateFilter, CopyFilter, "extraction", "language"]
    list_select_related = ["outlet", "candidate", "copy_of__outlet"]
    search_fields = ["title", "url", "outlet__name", "outlet__domain"]
    date_hierarchy = "published_at"
    list_per_page = 50
    actions = ["split_selected"]
    fields = [
        "title",
        "outlet",
        "url",
        "author",
        "published_at",
        "language",
        "image_url",
        "candidate",
        "copy_of",
        "feed",
        "extraction",
        "text",
        "fetched_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_split_permission(self, request):
        return works_the_desk(request.user)

    @admin.display(description="published", ordering="published_at")
    def published(self, obj):
        return admin_time(obj.published_at)

    @admin.display(description="story candidate")
    def on_desk(self, obj):
        if obj.candidate is None:
            return "–"
        url = reverse("admin:newsdesk_candidate_change", args=[obj.candidate_id])
        return format_html('<a href="{}">{}</a>', url, obj.candidate)

    @admin.display(description="wire copy of")
    def copy(self, obj):
        return obj.copy_of.outlet.name if obj.copy_of_id else "–"

    @admin.display(description="original")
    def original(self, obj):
        return original_link(obj.url, f"Open on {obj.outlet.domain}")

    @admin.action(description="Split the selected pieces into a new candidate", permissions=["split"])
    def split_selected(self, request, queryset):
        left = set(queryset.values_list("candidate", flat=True))
        try:
            made = grouping.pieces_split(pieces=queryset.select_related(None))
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        summaries_refresh([*left, made.pk])
        url = reverse("admin:newsdesk_candidate_change", args=[made.pk])
        self.message_user(
            request,
            format_html(
                'Split {} out into a new candidate: <a href="{}">{}</a>.',
                plural(len(queryset), "piece"),
                url,
                made,
            ),
            messages.SUCCESS,
        )
