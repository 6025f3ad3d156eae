"""Corrections in the admin: an Editor attaches a public note when changing a live story.

The note is an extra field of the article form, shown only for a live story the user may change (or
when a note was posted, so that a refusal is shown beside what was typed). Earlier notes are listed
read-only under it: the record is append-only. A note posted by mistake can be deleted from the
Correction admin, by users holding its delete permission only.
"""

from django import forms
from django.contrib import admin
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html, format_html_join

from articles.admin.common import MultilineField
from articles.admin.scheduling import local_label
from articles.models import Correction
from articles.newsroom.corrections import correction_note, correction_refusal
from articles.permissions import can_publish

NOTE_FIELD = "correction_note"
PAST_FIELD = "past_corrections"
NOTE_MAX_LENGTH = 2000


def note_field() -> forms.CharField:
    return MultilineField(
        label="Public correction note",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=(
            "Readers see this under the story with today's date, and the story shows as “Updated”. "
            "Leave empty for changes that need no note (a typo, a better picture). "
            "Once saved, a note cannot be edited."
        ),
    )


def author_name(user) -> str:
    if user is None:
        return "a former member of staff"
    return user.get_full_name() or user.get_username()


class CorrectionNoteFormMixin:
    """Mixed into the article form: a note goes only with a save that leaves a live story live."""

    def clean(self):
        data = super().clean()
        if data.get(NOTE_FIELD):
            problem = correction_refusal(
                self.instance,
                status=data.get("status", self.instance.status),
                published_at=data.get("published_at", self.instance.published_at),
            )
            if problem:
                self.add_error(NOTE_FIELD, problem)
        return data


def with_note_field(form_class):
    """The story form with the note (not a model field, so added to the form Django built)."""
    return type(form_class.__name__, (CorrectionNoteFormMixin, form_class), {NOTE_FIELD: note_field()})


def posted_correction(form, user) -> Correction | None:
    """The correction the editor typed in `form` (validated), for the save path to append."""
    note = form.cleaned_data.get(NOTE_FIELD)
    return correction_note(article=form.instance, note=note, user=user) if note else None


class CorrectionsAdminMixin:
    """For ArticleAdmin: the "Corrections" fieldset and the notes already published. The note's field
    is added by ArticleAdmin.get_form (with_note_field) and saved by the save path (posted_correction)."""

    def _shows_corrections(self, request, obj) -> bool:
        if obj is None or obj.pk is None or not self.has_change_permission(request, obj):
            return False
        if request.POST.get(NOTE_FIELD, "").strip():
            return True  # a note was posted: validate it and show why it is refused, never drop it
        return obj.is_published() and can_publish(request.user)

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if self._shows_corrections(request, obj):
            fieldsets.append(
                (
                    "Corrections",
                    {
                        "fields": [NOTE_FIELD, PAST_FIELD],
                        "description": "A public record of what was corrected in this story since readers "
                        "first saw it, oldest first.",
                    },
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), PAST_FIELD]

    @admin.display(description="corrections already published")
    def past_corrections(self, obj):
        corrections = list(obj.corrections.select_related("created_by")) if obj and obj.pk else []
        if not corrections:
            return "None yet."
        rows = format_html_join(
            "",
            '<li class="correction-entry"><time datetime="{}">{}</time> · {}<br>{}</li>',
            (
                (
                    c.created_at.isoformat(timespec="seconds"),  # HTML allows 3 digits of fraction at most
                    local_label(c.created_at, "j M Y, H:i"),
                    author_name(c.created_by),
                    linebreaksbr(c.note),
                )
                for c in corrections
            ),
        )
        return format_html('<ol class="correction-list">{}</ol>', rows)


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    """Read-only list of every correction; deleting one needs the delete permission (not given to a
    newsroom group by default). Corrections are added from the story's own form."""

    list_display = ["article", "created_at", "created_by", "note"]
    list_select_related = ["article", "created_by"]
    search_fields = ["note", "article__title"]
    date_hierarchy = "created_at"
    fields = ["article", "note", "created_at", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
