"""Pieces the admin modules share."""

from django import forms
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models

from articles import images


class MultilineField(forms.CharField):
    """Text from a <textarea>. Browsers send its line breaks as CRLF; they are stored as LF, so a form
    saved unchanged changes nothing (a live story is not marked "Updated", no empty revision)."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if value else value


TEXT_OVERRIDES = {models.TextField: {"form_class": MultilineField, "widget": AdminTextareaWidget}}


class NewsroomMedia:
    css = {"all": ["css/admin.css"]}


def clean_image_field(form, field: str, **kwargs):
    upload = form.cleaned_data.get(field)
    if not isinstance(upload, UploadedFile):
        return upload  # unchanged, cleared, or empty
    try:
        return images.clean_upload(upload, name_hint=upload.name, **kwargs).content
    except images.ImageRejected as exc:
        raise ValidationError(str(exc), code="image") from exc
