"""Outlets' feeds in the admin: added by outlet and address, listed with their fetching state (what
`manage.py feeds list` shows), fetched now on request through the task queue."""

from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from articles.admin.scheduling import admin_time
from newsdesk import tasks
from newsdesk.admin.common import ChosenRowsMixin, NewsdeskMedia
from newsdesk.models import Feed

STATE_FIELDS = [
    "last_fetch",
    "status",
    "items_seen",
    "pieces_added",
    "poll_interval",
    "next_fetch",
    "error_count",
    "last_error",
]


class OutletSelect(AutocompleteSelect):
    """Django's autocomplete widget looks the chosen outlet up to show it again; an id that is no
    number (a form posted by hand) made that lookup fail, a 500. It is shown as no choice, and the
    field says "Select a valid choice". ASCII digits only: "²" and "١" are digits to str.isdigit()
    but no id to int()."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if str(v).isascii() and str(v).isdigit()], attr)


@admin.register(Feed)
class FeedAdmin(ChosenRowsMixin, admin.ModelAdmin):
    Media = NewsdeskMedia
    list_display = [
        "url",
        "outlet",
        "active",
        "last_fetch",
        "status",
        "items",
        "next_fetch",
        "errors",
        "error",
    ]
    list_filter = ["last_status", "active", "outlet"]
    list_select_related = ["outlet"]
    search_fields = ["url", "outlet__name", "outlet__domain"]
    autocomplete_fields = ["outlet"]
    readonly_fields = STATE_FIELDS
    actions = ["fetch_now"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "outlet":
            kwargs["widget"] = OutletSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["outlet", "url", "active"]})]
        if obj is not None:
            fieldsets.append(("Fetching", {"fields": STATE_FIELDS}))
        return fieldsets

    @admin.display(description="last fetch", ordering="last_fetched_at")
    def last_fetch(self, obj):
        return admin_time(obj.last_fetched_at)

    @admin.display(description="status", ordering="last_status")
    def status(self, obj):
        label = obj.get_last_status_display()
        return f"{label} (HTTP {obj.last_http_status})" if obj.last_http_status else label

    @admin.display(description="items", ordering="items_seen")
    def items(self, obj):
        return obj.items_seen

    @admin.display(description="next fetch", ordering="next_fetch_at")
    def next_fetch(self, obj):
        if not obj.active:
            return "– (inactive)"
        if obj.next_fetch_at is None:
            return "As soon as a worker runs"
        return admin_time(obj.next_fetch_at)

    @admin.display(description="errors", ordering="error_count")
    def errors(self, obj):
        return obj.error_count

    @admin.display(description="last error")
    def error(self, obj):
        if not obj.last_error:
            return "–"
        return format_html('<span title="{}">{}</span>', obj.last_error, Truncator(obj.last_error).chars(80))

    @admin.action(description="Fetch the selected feeds now", permissions=["change"])
    def fetch_now(self, request, queryset):
        """Make the feeds due and queue a fetch of each: the worker fetches them in the background
        (a web request never waits on outlets' servers). A fetch already queued for later does nothing
        once it finds the feed fetched."""
        feeds = list(queryset.filter(active=True).values_list("pk", flat=True))
        skipped = queryset.filter(active=False).count()
        if feeds:
            Feed.objects.filter(pk__in=feeds).update(next_fetch_at=timezone.now())

            def enqueue():
                for feed_id in feeds:
                    tasks.fetch_feed_task.enqueue(feed_id=feed_id)

            # After the commit, so the worker reads the feeds as due.
            transaction.on_commit(enqueue)
            self.message_user(
                request,
                f"Queued {len(feeds)} {'feed' if len(feeds) == 1 else 'feeds'} to be fetched now; "
                "the worker fetches them in the background (refresh this list to see the result).",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} inactive {'feed was' if skipped == 1 else 'feeds were'} left alone: "
                "make a feed active to fetch it.",
                messages.WARNING,
            )
