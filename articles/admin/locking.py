"""No lost edits: the story form carries the story's lock number, and a save from a form opened before
someone else's save is refused, with the editor's input kept and a link to what changed.

The number is counted by the save path (articles.newsroom.stories.article_save) on every save,
whatever made it: the form, a bulk action, an import, a restore.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from articles.newsroom.revisions import record as revisions
from articles.newsroom.revisions.restore import conflict_message


class EditLockForm(forms.ModelForm):
    """Base of the story form: carries the lock number it was opened with and refuses a stale save.

    The check runs inside the admin's transaction and locks the story's row until the save is done,
    so two saves of the same story are judged one after the other, never side by side.
    """

    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    # Set by ArticleAdmin.get_form: who is editing.
    editor = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locked_version = None
        self.lock_conflict = None
        if self.instance.pk is not None:
            self.fields["lock_version"].initial = self.instance.lock_version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            self._check_lock(cleaned.get("lock_version"))
        return cleaned

    def _check_lock(self, opened):
        model = type(self.instance)
        current = (
            model._default_manager.select_for_update()
            .filter(pk=self.instance.pk)
            .values_list("lock_version", flat=True)
            .first()
        )
        if current is None:
            raise ValidationError("This story has been deleted since you opened it.", code="deleted")
        self.locked_version = current
        if opened is None:
            raise ValidationError(
                "This edit form is out of date: it does not say which version of the story it was "
                "opened on, so saving it could undo someone else's work. Reload the page and make your "
                "changes again.",
                code="stale_form",
            )
        if opened == current:
            return
        article = model._default_manager.select_related("updated_by").get(pk=self.instance.pk)
        self.lock_conflict = self._conflict_links(opened)
        # Shown again with the current number: a second Save, after reading the changes, is a
        # deliberate choice to replace them.
        self.data = self.data.copy()
        self.data[self.add_prefix("lock_version")] = str(current)
        raise ValidationError(
            conflict_message(article, opened="it", viewer=self.editor) + " Your changes were not saved. "
            "Look at what they changed (the link below opens it in a new tab); then reload this page "
            "to start again from their version, or save again to replace their version with yours.",
            code="conflict",
        )

    def _conflict_links(self, opened) -> dict:
        pk = self.instance.pk
        history = reverse("admin:articles_article_history", args=[pk])
        base = revisions.version_for_lock(pk, opened)
        latest = revisions.article_versions(pk).first()
        if base is None or latest is None or base.pk == latest.pk:
            return {"url": history, "text": "See the story's history"}
        url = reverse("admin:articles_article_history_compare", args=[pk, base.pk, latest.pk])
        return {"url": url, "text": "See what they changed"}
