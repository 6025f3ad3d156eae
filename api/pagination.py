"""Cursor paging for the API's lists: REST framework's CursorPagination, with every bad cursor or page
size a 400 that says what is wrong (its own answers are a 404, or the default size without a word,
or, for a cursor whose position is no value of the ordering field, a server error)."""

from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class Pagination(CursorPagination):
    page_size_query_param = "page_size"
    page_size_query_description = "How many to return in one page (1 to 200; 50 when not given)."
    cursor_query_description = (
        "Where the page starts: copy it from the `next` or `previous` link of the page before."
    )

    def __init__(self):
        self.page_size = settings.NEWSAPP_API_PAGE_SIZE
        self.max_page_size = settings.NEWSAPP_API_MAX_PAGE_SIZE

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": [f"Give a whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            valid = cursor is None or cursor.position is None or self._valid_position(cursor.position)
        if not valid:
            raise ValidationError(
                {"cursor": ["This cursor is not one the API gave: start from the first page."]}
            )
        return cursor

    def _valid_position(self, position: str) -> bool:
        """Whether the cursor's position is a value of the ordering's first field (a tampered one would
        reach the database's query as it is)."""
        if "\x00" in position:
            return False
        field = self.model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            value = field.to_python(position)
        except DjangoValidationError:
            return False
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return False  # every position the API writes carries its offset
            try:
                value.astimezone(UTC)
            except OverflowError:
                return False
        return True


class StoryPagination(Pagination):
    ordering = ("-published_at", "-id")


class OutletPagination(Pagination):
    ordering = ("slug",)
