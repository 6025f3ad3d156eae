"""The story list's "Export the selected stories (import format)" action."""

from django.contrib import admin, messages
from django.http import FileResponse

from articles.transfer import exporting as exporters


class ExportActionMixin:
    """Add to ArticleAdmin's bases and list "export_selected" in its actions. Anyone who may view
    stories may export them: the list already shows them every draft the archive holds."""

    @admin.action(description="Export the selected stories (import format)", permissions=["view"])
    def export_selected(self, request, queryset):
        try:
            export = exporters.export_archive(queryset)
        except exporters.ExportRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        return FileResponse(
            export.file, as_attachment=True, filename=export.filename, content_type="application/zip"
        )
