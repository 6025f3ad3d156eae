"""The story desk: story candidates in the admin, most outlets first, then the newest. Each opens on
the desk page (newsdesk.admin.desk_page); two chosen in the list can be merged, any dismissed."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from articles.admin.scheduling import admin_time
from newsdesk import grouping
from newsdesk.admin.common import ChosenRowsMixin, NewsdeskMedia, balance_bar, plural, summaries_refresh
from newsdesk.admin.desk_page import DeskPageMixin
from newsdesk.models import Candidate

DESK_TITLE = "Story desk"


class DeskStatusFilter(admin.SimpleListFilter):
    """Open candidates unless another status is chosen: the desk is the work still to do."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Candidate.Status.choices, (self.ALL, "All")]

    def value(self):
        return super().value() or Candidate.Status.OPEN

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL:
            return queryset
        if value not in Candidate.Status.values:
            raise IncorrectLookupParameters("Choose a status from the list.")
        return queryset.filter(status=value)

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.register(Candidate)
class CandidateAdmin(ChosenRowsMixin, DeskPageMixin, admin.ModelAdmin):
    Media = NewsdeskMedia
    list_display = ["title", "outlets", "balance", "newest", "state"]
    list_filter = [DeskStatusFilter, "section"]
    list_select_related = ["story"]
    search_fields = ["title"]
    ordering = ["-outlets_count", "-last_published_at"]
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    actions = ["merge_selected", "dismiss_selected"]

    def has_add_permission(self, request):
        return False  # candidates are made by the grouping, or by a split

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, {"title": DESK_TITLE, **(extra_context or {})})
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # The page's bars in two queries, not one per row (the rows are those the page shows).
            rows = changelist.result_list
            balances = grouping.candidate_balances(rows)
            for row in rows:
                row.desk_balance = balances[row.pk]
        return response

    @admin.display(description="outlets", ordering="outlets_count")
    def outlets(self, obj):
        return obj.outlets_count

    @admin.display(description="bias of the outlets")
    def balance(self, obj):
        split = obj.desk_balance if hasattr(obj, "desk_balance") else grouping.candidate_balance(obj)
        return balance_bar(split)

    @admin.display(description="newest piece", ordering="last_published_at")
    def newest(self, obj):
        return admin_time(obj.last_published_at)

    @admin.display(description="status", ordering="status")
    def state(self, obj):
        if obj.story is not None:
            url = reverse("admin:articles_article_change", args=[obj.story_id])
            return format_html('<a href="{}">Became a story</a>', url)
        return obj.get_status_display()

    @admin.action(description="Merge the two selected candidates", permissions=["change"])
    def merge_selected(self, request, queryset):
        chosen = list(queryset.order_by(*self.ordering, "pk"))
        if len(chosen) != 2:
            self.message_user(request, "Choose exactly two candidates to merge.", messages.ERROR)
            return
        target, other = chosen  # the one more outlets cover keeps its place on the desk
        pieces = other.pieces.count()
        try:
            merged = grouping.candidates_merge(target=target, other=other)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        summaries_refresh([merged.pk])
        url = reverse("admin:newsdesk_candidate_change", args=[merged.pk])
        self.message_user(
            request,
            format_html(
                'Merged “{}” ({}) into <a href="{}">{}</a>.',
                other.title,
                plural(pieces, "piece"),
                url,
                merged.title,
            ),
            messages.SUCCESS,
        )

    @admin.action(description="Dismiss the selected candidates", permissions=["change"])
    def dismiss_selected(self, request, queryset):
        count = queryset.filter(status=Candidate.Status.OPEN).update(status=Candidate.Status.DISMISSED)
        left = queryset.exclude(status=Candidate.Status.DISMISSED).count()
        if count:
            self.message_user(request, f"Dismissed {plural(count, 'candidate')}.", messages.SUCCESS)
        if left:
            self.message_user(
                request, f"Not dismissed: {plural(left, 'candidate')} that became stories.", messages.INFO
            )
        if not count and not left:  # an action that did nothing says so
            self.message_user(request, "Nothing to dismiss: the chosen candidates are dismissed already.")
