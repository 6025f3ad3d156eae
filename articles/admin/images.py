"""Pictures in the admin: upload checks with our own messages, saves whose new picture cannot be stored
that change nothing, and what the bulk action says of stories whose lead image lacks a description or a
credit (Article.check_publishable)."""

import contextlib
import logging

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from articles import images
from articles.models import Article

logger = logging.getLogger(__name__)

ACCEPTED_TYPES = "image/jpeg,image/png,image/webp"


class PictureField(forms.ImageField):
    """An upload judged by images.check_upload rather than by Django's generic Pillow check, so the
    editor reads why a file is refused (a GIF, a text file named .jpg, a decompression bomb, too many
    pixels, too long a side, too narrow a strip, too much memory to decode). The pixels are decoded
    once, later, when the form's clean_<field> re-encodes them."""

    def to_python(self, data):
        upload = super(forms.ImageField, self).to_python(data)  # FileField's: empty, too long a name
        if upload is None:
            return None
        try:
            images.check_upload(upload)
        except images.ImageRejected as exc:
            raise ValidationError(str(exc), code="invalid_image") from exc
        return upload

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if "accept" in attrs:
            attrs["accept"] = ACCEPTED_TYPES  # the file picker offers what we take, not every image/*
        return attrs


# The model's help texts predate the rule that drafts may leave these empty.
_NEEDED = "Needed to publish a story with a picture; a draft may leave it empty."
PUBLISH_HELP = {
    "image_alt": f"What the picture shows, for readers who cannot see it. {_NEEDED}",
    "image_credit": f'Where the picture comes from; shown as "Image from …". {_NEEDED}',
}


class PictureNotStored(Exception):
    """The new picture could not be stored, or its sizes made; the save was rolled back and the new
    files removed. The message, fit to show the editor, belongs on the form field `field`."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _showing(form_class, failure: PictureNotStored):
    """The form class, reporting `failure` on its picture field whatever else it finds."""

    def clean(self):
        cleaned = super(with_failure, self).clean()
        self.add_error(failure.field if failure.field in self.fields else None, str(failure))
        return cleaned

    with_failure = type(form_class.__name__, (form_class,), {"clean": clean})
    return with_failure


def _new_pictures(obj) -> list:
    """The object's picture files chosen in this save, not yet written to storage."""
    files = [getattr(obj, f.name) for f in obj._meta.fields if isinstance(f, models.ImageField)]
    return [field_file for field_file in files if field_file and not field_file._committed]


@contextlib.contextmanager
def new_pictures_stored(obj, unsaved_note: str):
    """Around the save of `obj`: a new picture that cannot be stored, or made into the sizes readers
    see, removes what was written of it and raises PictureNotStored (the transaction rolls back)."""
    new = _new_pictures(obj)
    try:
        yield
    except (OSError, images.RenditionFailed) as exc:
        if not new:
            raise
        logger.exception("Could not store the new picture of %s %s", obj._meta.model_name, obj.pk or "(new)")
        for field_file in new:
            if field_file._committed:  # written before the failure (its sizes remove themselves)
                with contextlib.suppress(OSError):
                    field_file.storage.delete(field_file.name)
        if isinstance(exc, OSError):
            failure = f"The new picture could not be stored ({exc.strerror or exc})."
        else:
            failure = f"The sizes readers see could not be made of the new picture ({exc})."
        raise PictureNotStored(
            new[0].field.name,
            f"{failure} {unsaved_note} Choose the picture again and save; if it fails again, "
            "tell the technical team.",
        ) from exc


def picture_failure_shown(form_class, request):
    """The form class, reporting the picture the save before could not store (if any)."""
    failure = getattr(request, "picture_not_stored", None)
    return form_class if failure is None else _showing(form_class, failure)


class PictureUploadsMixin:
    """For a ModelAdmin: each image field of its form is a PictureField; the lead image's description and
    credit say when they are needed; and a save whose new picture cannot be stored, or made into the
    sizes readers see (new_pictures_stored, around the admin's save), changes nothing and leaves no
    file: the form comes back, as the editor filled it in, with the reason on the picture field
    (picture_failure_shown, in the admin's get_form).
    """

    formfield_overrides = {models.ImageField: {"form_class": PictureField}}
    # What the editor is told of the object when its new picture could not be stored.
    unsaved_note = "Nothing was saved: everything is as it was."

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.model is Article and db_field.name in PUBLISH_HELP:
            formfield.help_text = PUBLISH_HELP[db_field.name]
        return formfield

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PictureNotStored as exc:
            # Everything was rolled back. Show the form again, bound to what the editor sent, with
            # the reason: a second pass validates it afresh and stops at the error (no save).
            request.picture_not_stored = exc
            return super().changeform_view(request, object_id, form_url, extra_context)


_NEEDS = {"image_alt": "a description", "image_credit": "a credit"}


def not_ready_message(not_ready) -> str:
    """What the bulk publish action tells the editor about the stories it had to leave as drafts."""
    listed = "; ".join(
        f"“{article.title}” (its lead image needs {' and '.join(_NEEDS[name] for name in problems)})"
        for article, problems in not_ready
    )
    count = len(not_ready)
    return (
        f"{count} {'story was' if count == 1 else 'stories were'} not published: {listed}. "
        "Fill these in on each story's page, then publish again."
    )
