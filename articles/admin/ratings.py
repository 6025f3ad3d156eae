"""Outlet ratings in the admin: each outlet's history (an inline on the outlet), the list of every
rating with filters, export (CSV, JSON) and import, and the stories' "Recompute balance" action.

Editors add, change and remove ratings and recompute live stories; Writers read. Every change goes
through articles.newsroom.ratings, which keeps the outlet's current lean and recomputes stories not
yet live; published stories keep their balance, and the editor is told how many and how to
recompute them.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from articles.admin.bias import SourceAutocompleteSelect
from articles.models import Source, SourceRating
from articles.newsroom import ratings
from articles.permissions import can_publish
from articles.transfer import ratings as transfer
from articles.transfer.checks import ImportFailed

RATING_FIELDS = [
    "lean", "effective_from", "rater_kind", "rater_name", "method", "confidence", "note", "link",
]  # fmt: skip


RECOMPUTE_LABEL = "Recompute balance with the ratings of each story's date"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class RatingRights:
    """Who may do what with ratings, for the inline and the list alike: anyone who may see outlets
    reads the history; only Editors write it."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("articles.view_source") or can_publish(request.user)

    def has_add_permission(self, request, obj=None):
        return can_publish(request.user)

    def has_change_permission(self, request, obj=None):
        return can_publish(request.user)

    def has_delete_permission(self, request, obj=None):
        return can_publish(request.user)


def report_change(request, source: Source, start, change: ratings.RatingChange) -> None:
    """Tell the editor what a rating's change did, and what it left (published stories)."""
    lean = dict(Source.Lean.choices)[change.lean]
    done = f"{source.name}'s current lean is {lean}."
    if change.recomputed:
        done += f" Recomputed {_plural(change.recomputed, 'story', 'stories')} not yet live."
    messages.success(request, done)
    if change.published_kept:
        messages.warning(
            request,
            f"{_plural(change.published_kept, 'published story', 'published stories')} citing "
            f"{source.name} dated from {start:%d %b %Y} keep their balance. To apply the new rating, "
            f"select them in the story list and use “{RECOMPUTE_LABEL}”.",
        )


class SourceRatingInline(RatingRights, admin.TabularInline):
    model = SourceRating
    fields = RATING_FIELDS
    extra = 0
    ordering = ["-effective_from"]
    verbose_name_plural = "rating history (newest first)"
    formfield_overrides = {
        SourceRating._meta.get_field("note").__class__: {
            "widget": forms.Textarea(attrs={"rows": 2, "cols": 30})
        }
    }


class SourceRatingsMixin:
    """For SourceAdmin: the history inline saved through the ratings service, the lean read-only."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not SourceRating:
            return super().save_formset(request, form, formset, change)
        saved = formset.save(commit=False)
        starts = [rating.effective_from for rating in formset.deleted_objects]
        for rating in formset.deleted_objects:
            ratings.source_rating_delete(rating=rating, user=request.user)
        for rating in saved:
            earlier = None
            if rating.pk is not None:
                earlier = (
                    SourceRating.objects.filter(pk=rating.pk).values_list("effective_from", flat=True).first()
                )
            ratings.source_rating_save(rating=rating, user=request.user)
            starts += [day for day in (earlier, rating.effective_from) if day is not None]
        if starts:
            start = min(starts)
            report_change(
                request, form.instance, start, ratings.ratings_changed(source=form.instance, start=start)
            )
        return None


class ImportForm(forms.Form):
    file = forms.FileField(help_text='CSV with a header row, or JSON {"ratings": [...]}; at most 8 MB.')
    dry_run = forms.BooleanField(required=False, label="Only check the file and say what it would change")


@admin.register(SourceRating)
class SourceRatingAdmin(RatingRights, admin.ModelAdmin):
    list_display = ["source", "lean", "effective_from", "rater_shown", "confidence", "created_at"]
    list_display_links = ["source", "lean"]
    list_filter = ["lean", "rater_kind", "confidence", "effective_from", "source__country"]
    list_select_related = ["source"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["source__name", "source__domain", "rater_name", "method"]
    date_hierarchy = "effective_from"
    autocomplete_fields = ["source"]
    fields = ["source", *RATING_FIELDS]
    actions = ["export_csv", "export_json"]
    change_list_template = "admin/articles/sourcerating/change_list.html"

    @admin.display(description="rated by", ordering="rater_name")
    def rater_shown(self, obj):
        return obj.rater

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Django's widget looks a posted outlet up to show it again beside the form's errors, and one
        # that can be no id ("abc") raised there (a 500); this one shows no choice, and the field
        # says "Select a valid choice".
        if db_field.name == "source":
            kwargs["widget"] = SourceAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        earlier = form.initial.get("effective_from") if change else None
        change_done = ratings.source_rating_save(rating=obj, user=request.user)
        start = min(day for day in (earlier, obj.effective_from) if day is not None)
        report_change(request, obj.source, start, change_done)

    def delete_model(self, request, obj):
        source, start = obj.source, obj.effective_from
        report_change(request, source, start, ratings.source_rating_delete(rating=obj, user=request.user))

    def delete_queryset(self, request, queryset):
        for rating in queryset.select_related("source").order_by("pk"):
            self.delete_model(request, rating)

    def _download(self, queryset, fmt):
        text = transfer.export_ratings(fmt=fmt, ratings=queryset)
        response = HttpResponse(text, content_type="text/csv" if fmt == "csv" else "application/json")
        name = f"outlet-ratings-{timezone.localtime():%Y-%m-%d-%H%M}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Export the selected ratings as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return self._download(queryset, "csv")

    @admin.action(description="Export the selected ratings as JSON", permissions=["view"])
    def export_json(self, request, queryset):
        return self._download(queryset, "json")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="articles_sourcerating_import"),
            path("export/<str:fmt>/", wrap(self.export_view), name="articles_sourcerating_export"),
            *super().get_urls(),
        ]

    def export_view(self, request, fmt):
        if fmt not in transfer.FORMATS:
            raise Http404("Ratings are exported as csv or json.")
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._download(SourceRating.objects.all(), fmt)

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        errors, result = [], None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            dry_run = form.cleaned_data["dry_run"]
            try:
                data = upload.read(transfer.MAX_FILE_BYTES + 1)
                result = transfer.import_ratings(data, name=upload.name, dry_run=dry_run, user=request.user)
            except ImportFailed as exc:
                errors = exc.errors
            else:
                if not dry_run:
                    self.message_user(request, f"Imported {result}.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:articles_sourcerating_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import outlet ratings",
            "opts": self.opts,
            "form": form,
            "errors": errors,
            "result": result,
            "columns": transfer.COLUMNS,
            "required": sorted(transfer.REQUIRED),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/articles/sourcerating/import.html", context)


class RecomputeActionMixin:
    """For ArticleAdmin: list "recompute_balance" in its actions (Editors only: it changes live stories)."""

    @admin.action(description=RECOMPUTE_LABEL, permissions=["publish"])
    def recompute_balance(self, request, queryset):
        result = ratings.stories_recompute(articles=queryset, user=request.user)
        if result.recomputed:
            self.message_user(
                request,
                f"Recomputed the balance of {_plural(len(result.recomputed), 'story', 'stories')} with the "
                "outlet ratings in force on each story's date; each story's history records it.",
                messages.SUCCESS,
            )
        if result.editorial:
            titles = ", ".join(f"“{article.title}”" for article in result.editorial[:10])
            more = f" and {len(result.editorial) - 10} more" if len(result.editorial) > 10 else ""
            self.message_user(
                request,
                f"Left {_plural(len(result.editorial), 'story', 'stories')} alone: an editor set "
                f"{'its' if len(result.editorial) == 1 else 'their'} numbers by hand ({titles}{more}).",
                messages.WARNING,
            )
