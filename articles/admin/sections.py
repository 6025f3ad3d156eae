"""Sections in the admin: their names, addresses and order in the navigation."""

from django.contrib import admin
from django.db.models import Count

from articles.models import Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "published_count"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("articles"))

    @admin.display(description="stories", ordering="n")
    def published_count(self, obj):
        return obj.n
