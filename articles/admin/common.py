"""Pieces the admin modules share."""

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from .. import images


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
