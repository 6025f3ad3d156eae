"""Articles in the admin. Writers draft; Editors publish (enforced here and in services)."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html

from articles.admin.bias import (
    BiasAdminMixin,
    BiasFilter,
    SourcesBiasInlineMixin,
    warn_of_one_sidedness,
)
from articles.admin.common import TEXT_OVERRIDES, NewsroomMedia, clean_image_field
from articles.admin.corrections import NOTE_FIELD, CorrectionsAdminMixin, posted_correction, with_note_field
from articles.admin.exporting import ExportActionMixin
from articles.admin.history import HistoryAdminMixin
from articles.admin.images import (
    PictureUploadsMixin,
    new_pictures_stored,
    not_ready_message,
    picture_failure_shown,
)
from articles.admin.locking import EditLockForm
from articles.admin.previews import PreviewLinksMixin
from articles.admin.ratings import RecomputeActionMixin
from articles.admin.scheduling import (
    SchedulingAdminMixin,
    StoredMomentFormMixin,
    admin_time,
    scheduled_for,
    scheduled_message,
    stories_count,
)
from articles.models import Article, ArticleSource, BiasRating
from articles.newsroom import stories
from articles.permissions import can_publish
from articles.site import previews


class ArticleForm(StoredMomentFormMixin, EditLockForm):
    """Fields come from ArticleAdmin; this adds the image checks, the publish time in the site's zone
    and (from its base) the edit lock. ArticleAdmin.get_form adds what depends on the request."""

    def clean_image(self):
        return clean_image_field(self, "image")


class ArticleSourceInline(SourcesBiasInlineMixin, admin.TabularInline):
    model = ArticleSource
    autocomplete_fields = ["source"]
    fields = ["source", "url", "title", "wire_copy", "position"]
    extra = 1


LEFT_EMPTY = "Leave left, center and right empty to have the rating computed from the sources' leans."


class BiasRatingForm(forms.ModelForm):
    class Meta:
        model = BiasRating
        fields = ["method", "left", "center", "right"]
        widgets = {"method": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("left", "center", "right"):
            self.fields[name].required = False
            self.fields[name].help_text = "Whole percent, 0–100."
        self.fields["method"].help_text = LEFT_EMPTY

    def clean(self):
        data = super().clean()
        if all(data.get(name) is None for name in ("left", "center", "right")):
            data["method"] = BiasRating.Method.SOURCES  # left empty: computed, as the help text says
        if data.get("method") == BiasRating.Method.SOURCES and self._typed_over_computed(data):
            self.add_error(
                "method",
                "You typed percentages but chose a bar computed from the sources: choose “Set by an "
                "editor” to keep them, or empty them to have the bar computed.",
            )
            return data
        if data.get("method") == BiasRating.Method.SOURCES:
            # Recomputed from the sources' leans once they are saved (ArticleAdmin.save_related);
            # until then keep valid numbers (a computed rating's own) so the row satisfies its constraints.
            if not self.instance.pk or self.instance.method != BiasRating.Method.SOURCES:
                data.update(left=0, center=100, right=0)
                self.instance.left, self.instance.center, self.instance.right = 0, 100, 0
            else:
                data.update(left=self.instance.left, center=self.instance.center, right=self.instance.right)
            return data
        values = {name: data.get(name) for name in ("left", "center", "right")}
        missing = [name for name, value in values.items() if value is None]
        for name in missing:
            self.add_error(name, "Enter a percentage (0 if none).")
        if not missing and sum(values.values()) != 100:
            raise ValidationError(
                "Left, center and right must add up to 100%%; they add up to %(total)s%%.",
                code="sum",
                params={"total": sum(values.values())},
            )
        return data

    def _typed_over_computed(self, data) -> bool:
        """Numbers changed from those the form showed (the rating as saved: an editor's, which the
        switch to "computed" replaces, or the computed ones), while "computed" is chosen."""
        typed = tuple(data.get(name) for name in ("left", "center", "right"))
        if all(value is None for value in typed):
            return False
        shown = (self.instance.left, self.instance.center, self.instance.right) if self.instance.pk else None
        return typed != shown


class BiasRatingInline(admin.StackedInline):
    """One rating per story, its fields shown at once (no "Add another"); left empty, the rating is
    computed from the sources (BiasRatingForm)."""

    model = BiasRating
    form = BiasRatingForm
    max_num = 1
    extra = 1


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("scheduled", "Scheduled"), ("live", "Published (live)")]

    def queryset(self, request, queryset):
        match self.value():
            case "draft":
                return queryset.filter(status=Article.Status.DRAFT)
            case "scheduled":
                return queryset.scheduled()
            case "live":
                return queryset.published()
        return queryset


@admin.register(Article)
class ArticleAdmin(
    PictureUploadsMixin,
    HistoryAdminMixin,
    PreviewLinksMixin,
    CorrectionsAdminMixin,
    SchedulingAdminMixin,
    BiasAdminMixin,
    ExportActionMixin,
    RecomputeActionMixin,
    admin.ModelAdmin,
):
    form = ArticleForm
    unsaved_note = "Nothing was saved: the story, its sources and its current picture are as they were."
    Media = NewsroomMedia
    formfield_overrides = {**PictureUploadsMixin.formfield_overrides, **TEXT_OVERRIDES}
    inlines = [ArticleSourceInline, BiasRatingInline]
    list_display = [
        "thumbnail",
        "title",
        "category",
        "state",
        "publish_time",
        "bias_summary",
        "source_count",
        "ai_summary",
    ]
    list_display_links = ["thumbnail", "title"]
    list_filter = [StatusFilter, "category", "ai_summary", "featured", "bias_rating__method", BiasFilter]
    list_select_related = ["category", "bias_rating"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["title", "slug", "summary"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["image_preview", "created", "last_saved"]
    actions = ["publish_selected", "unpublish_selected", "export_selected", "recompute_balance"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["title", "slug", "category", "summary", "ai_summary"]}),
        ("Lead image", {"fields": ["image", "image_preview", "image_alt", "image_credit"]}),
        ("Publishing", {"fields": ["status", "published_at", "featured", "created", "last_saved"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_sources=Count("article_sources", distinct=True))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not can_publish(request.user):
            fields.append("status")
        return fields

    def has_publish_permission(self, request):
        return can_publish(request.user)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and obj.status == Article.Status.PUBLISHED:
            # A story that is (or is about to go) live is the Editors' responsibility.
            return can_publish(request.user)
        return allowed

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if allowed and obj is not None and obj.status == Article.Status.PUBLISHED:
            return can_publish(request.user)
        return allowed

    @admin.display(description="")
    def thumbnail(self, obj):
        thumb = obj.rendition("thumb")
        if not thumb:
            return "–"
        return format_html(
            '<img src="{}" alt="" width="80" height="{}" class="admin-thumb">',
            obj.image.storage.url(thumb["jpg"]),
            round(80 * thumb["h"] / thumb["w"]),
        )

    @admin.display(description="status", ordering="status")
    def state(self, obj):
        if obj.is_published():
            return format_html('<span class="badge badge-live">{}</span>', "Published")
        if obj.is_scheduled():
            return format_html(
                '<span class="badge badge-scheduled">{}</span>{}', "Scheduled", scheduled_for(obj)
            )
        return format_html('<span class="badge badge-draft">{}</span>', "Draft")

    # The list's and the form's times all read alike, in the site's zone (see scheduling.TIME_FORMAT).
    @admin.display(description="publish time", ordering="published_at")
    def publish_time(self, obj):
        return admin_time(obj.published_at)

    @admin.display(description="created")
    def created(self, obj):
        return admin_time(obj.created_at)

    @admin.display(description="last saved")
    def last_saved(self, obj):
        return admin_time(obj.updated_at)

    @admin.display(description="bias (L/C/R)")
    def bias_summary(self, obj):
        rating = getattr(obj, "bias_rating", None)
        if rating is None:
            return "–"
        return f"{rating.left} / {rating.center} / {rating.right}"

    @admin.display(description="sources", ordering="n_sources")
    def source_count(self, obj):
        return obj.n_sources

    @admin.display(description="current image")
    def image_preview(self, obj):
        entry = obj.rendition("480") or obj.rendition("thumb")
        if not entry:
            return (
                "No image yet."
                if not obj.image
                else format_html('<a href="{}">{}</a>', obj.image.url, "Open")
            )
        return format_html(
            '<img src="{}" alt="{}" width="{}" height="{}" class="admin-preview">',
            obj.image.storage.url(entry["jpg"]),
            obj.image_alt,
            min(entry["w"], 480),
            round(min(entry["w"], 480) * entry["h"] / entry["w"]),
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The story form for this request: who is editing (the edit lock names them), the correction
        note when it is shown (not a model field, so left out of what Django builds), and the picture
        the save before could not store."""
        fields = kwargs.pop("fields", None)
        if fields is None:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        with_note = NOTE_FIELD in fields
        form = super().get_form(request, obj, change, fields=[f for f in fields if f != NOTE_FIELD], **kwargs)
        form = type(form.__name__, (form,), {"editor": request.user})
        if with_note:
            form = with_note_field(form)
        return picture_failure_shown(form, request)

    def save_model(self, request, obj, form, change):
        """Nothing yet: the story is saved with its sources and rating in save_related, through the
        save path, so that every step after a save runs once with everything written."""

    def save_related(self, request, form, formsets, change):
        article = form.instance

        def write(article) -> bool:
            form.save_m2m()
            for formset in formsets:
                self.save_formset(request, form, formset, change=change)
            return any(formset.has_changed() for formset in formsets)

        def comment() -> str:
            if not change:
                return "Created the story."
            message = self.construct_change_message(request, form, formsets, not change)
            return LogEntry(change_message=json.dumps(message)).get_change_message() or "No fields changed."

        with new_pictures_stored(article, self.unsaved_note):
            stories.article_save(
                article=article,
                user=request.user,
                comment=comment,
                write=write,
                content_changed=bool(stories.CONTENT_FIELDS.intersection(form.changed_data)),
                correction=posted_correction(form, request.user),
            )
        warn_of_one_sidedness(request, article)

    @admin.action(description="Publish the selected stories", permissions=["publish"])
    def publish_selected(self, request, queryset):
        not_ready = stories.articles_not_ready_to_publish(articles=queryset)
        changed = stories.articles_set_status(
            articles=queryset, status=Article.Status.PUBLISHED, user=request.user
        )
        # A publish time still ahead keeps a story scheduled: "Published" would say it is live.
        live = [article for article in changed if article.is_published()]
        scheduled = [article for article in changed if article.is_scheduled()]
        if live:
            self.message_user(request, f"Published {stories_count(len(live))}.", messages.SUCCESS)
        if scheduled:
            self.message_user(request, scheduled_message(scheduled), messages.SUCCESS)
        if not changed:
            why = "" if not_ready else ": the selected stories were published or scheduled already"
            self.message_user(request, f"No story was published{why}.", messages.INFO)
        if not_ready:
            self.message_user(request, not_ready_message(not_ready), messages.WARNING)

    @admin.action(description="Unpublish the selected stories (back to draft)", permissions=["publish"])
    def unpublish_selected(self, request, queryset):
        changed = stories.articles_set_status(
            articles=queryset, status=Article.Status.DRAFT, user=request.user
        )
        if changed:
            message = f"Unpublished {stories_count(len(changed))}: back to draft."
            self.message_user(request, message, messages.SUCCESS)
        else:
            message = "No story was unpublished: the selected stories were drafts already."
            self.message_user(request, message, messages.INFO)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<path:object_id>/preview/", preview, name="articles_article_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        article = self.get_object(request, unquote(object_id))  # None for an unknown or malformed id
        if article is None:
            raise Http404("No such story.")
        return previews.render_preview(request, article)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["preview_url"] = reverse("admin:articles_article_preview", args=[object_id])
        return super().change_view(request, object_id, form_url, extra_context)
