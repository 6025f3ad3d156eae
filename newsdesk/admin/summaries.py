"""Draft summaries in the admin, read-only: what each says and how it was made (its provenance).
The desk shows a candidate's newest; this list keeps every one, for the record."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from articles.admin.scheduling import admin_time
from articles.text import render_markdown
from newsdesk.admin.common import ChosenRowsMixin, NewsdeskMedia
from newsdesk.models import Summary


@admin.register(Summary)
class SummaryAdmin(ChosenRowsMixin, admin.ModelAdmin):
    Media = NewsdeskMedia
    list_display = ["__str__", "desk", "method", "model", "made"]
    list_filter = ["method"]
    list_select_related = ["candidate"]
    search_fields = ["text", "candidate__title"]
    fields = ["desk", "method", "model", "prompt_version", "made", "note", "rendered", "sources"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="story candidate")
    def desk(self, obj):
        url = reverse("admin:newsdesk_candidate_change", args=[obj.candidate_id])
        return format_html('<a href="{}">{}</a>', url, obj.candidate)

    @admin.display(description="made", ordering="created_at")
    def made(self, obj):
        return admin_time(obj.created_at)

    @admin.display(description="text")
    def rendered(self, obj):
        # Sanitized like a story's summary (articles.text): the text came from outside.
        return format_html('<div class="desk-summary-text">{}</div>', mark_safe(render_markdown(obj.text)))

    @admin.display(description="drawn from")
    def sources(self, obj):
        pieces = obj.pieces.select_related("outlet").order_by("published_at")
        return format_html(
            '<ul class="desk-plain-list">{}</ul>',
            format_html_join("", "<li>{} ({})</li>", ((p.title, p.outlet.name) for p in pieces)),
        )
