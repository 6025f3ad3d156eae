"""The image field of stories and outlets (lead images, logos): an ImageField whose size, once
stored, is read from the row, never from the file again.

Django's ImageField measures the file again whenever the field is assigned, even with the file it
already holds: every full_clean() does (clean_fields assigns each field its cleaned value), and so
does a model form saved without a new upload. With media on object storage that is a download of the
picture from the bucket on every save of a story's text, and a failed save while the bucket is away.
Here, assigning the same stored file keeps the width and height on the row, and loading a row never
opens its file; a new file, or a row whose size is missing, is measured when it is assigned.
"""

from django.db import models
from django.db.models.fields.files import FieldFile, ImageFileDescriptor


def _stored_name(value) -> str | None:
    """The name of a file already in storage, or None for anything else (a new upload)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, FieldFile) and value._committed:
        return value.name or None
    return None


class _StoredSizeDescriptor(ImageFileDescriptor):
    def __set__(self, instance, value):
        field = self.field
        previous = instance.__dict__.get(field.attname)  # None while Model.__init__ runs
        name = _stored_name(value)
        if (
            previous is not None
            and name is not None
            and name == _stored_name(previous)
            and all(getattr(instance, size) for size in (field.width_field, field.height_field) if size)
        ):
            instance.__dict__[field.attname] = value
        else:
            super().__set__(instance, value)


class SizedImageField(models.ImageField):
    descriptor_class = _StoredSizeDescriptor

    def update_dimension_fields(self, instance, force=False, *args, **kwargs):
        # Called with force=False for every row loaded (post_init): a stored file whose size the row
        # lacks is left unmeasured there, since loading rows is what rendering a page does. It is
        # measured on the next save instead (full_clean assigns it).
        if not force and _stored_name(instance.__dict__.get(self.attname)) is not None:
            return
        super().update_dimension_fields(instance, force, *args, **kwargs)

    def deconstruct(self):
        # A plain ImageField to the database and to migrations: only how the size is read differs.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.ImageField", args, kwargs
