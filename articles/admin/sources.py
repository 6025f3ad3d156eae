"""Outlets in the admin: their rating history and current lean, their logo, and what a change means
for the stories citing them."""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from articles import images
from articles.admin.bias import SourceLeanAutocompleteMixin
from articles.admin.common import TEXT_OVERRIDES, NewsroomMedia, clean_image_field
from articles.admin.images import PictureUploadsMixin, new_pictures_stored, picture_failure_shown
from articles.admin.ratings import SourceRatingInline, SourceRatingsMixin
from articles.models import Source
from articles.newsroom import stories


class SourceForm(forms.ModelForm):
    """Fields come from SourceAdmin; this adds the logo checks."""

    def clean_logo(self):
        return clean_image_field(self, "logo", shrink_to=images.LOGO_MAX)

    def clean_domain(self):
        return self.cleaned_data["domain"].strip().lower()


@admin.register(Source)
class SourceAdmin(SourceRatingsMixin, SourceLeanAutocompleteMixin, PictureUploadsMixin, admin.ModelAdmin):
    form = SourceForm
    unsaved_note = "Nothing was saved: the outlet and its current logo are as they were."
    formfield_overrides = {**PictureUploadsMixin.formfield_overrides, **TEXT_OVERRIDES}
    Media = NewsroomMedia
    list_display = ["logo_thumb", "name", "domain", "bias", "country", "citation_count"]
    list_display_links = ["logo_thumb", "name"]
    list_filter = ["bias", "country"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["name", "domain"]
    prepopulated_fields = {"slug": ["name"]}
    # The current lean is the rating in force today: changed by adding a dated rating (the inline).
    readonly_fields = ["bias", "logo_preview"]
    fields = ["name", "slug", "domain", "homepage", "country", "bias", "logo", "logo_preview", "description"]
    inlines = [SourceRatingInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("citations"))

    @admin.display(description="cited", ordering="n")
    def citation_count(self, obj):
        return obj.n

    @admin.display(description="logo")
    def logo_thumb(self, obj):
        if not obj.logo:
            return "–"
        return format_html('<img src="{}" alt="" width="32" height="32" class="admin-thumb">', obj.logo.url)

    @admin.display(description="current logo")
    def logo_preview(self, obj):
        if not obj.logo:
            return "No logo yet."
        return format_html(
            '<img src="{}" alt="{} logo" width="{}" height="{}">',
            obj.logo.url,
            obj.name,
            obj.logo_width,
            obj.logo_height,
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        return picture_failure_shown(super().get_form(request, obj, change, **kwargs), request)

    def save_model(self, request, obj, form, change):
        with new_pictures_stored(obj, self.unsaved_note):
            super().save_model(request, obj, form, change)
        if change:
            stories.source_changed(source=obj, name_changed="name" in form.changed_data)
