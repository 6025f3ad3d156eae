"""Pictures in the admin: upload checks with our own messages, and what the bulk action says of stories
whose lead image lacks a description or a credit (Article.check_publishable)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from .. import images
from ..models import Article

ACCEPTED_TYPES = "image/jpeg,image/png,image/webp"


class PictureField(forms.ImageField):
    """An upload judged by images.check_upload rather than by Django's generic Pillow check, so the
    editor reads why a file is refused (a GIF, a text file named .jpg, a decompression bomb, too many
    pixels). The pixels are decoded once, later, when the form's clean_<field> re-encodes them."""

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


class PictureUploadsMixin:
    """For a ModelAdmin: each image field of its form is a PictureField; the lead image's description and
    credit say when they are needed."""

    formfield_overrides = {models.ImageField: {"form_class": PictureField}}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.model is Article and db_field.name in PUBLISH_HELP:
            formfield.help_text = PUBLISH_HELP[db_field.name]
        return formfield


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
