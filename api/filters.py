"""The lists' filters (django-filter): each bad value a 400 naming the parameter and what it expects."""

from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django import forms
from django.core.validators import validate_slug
from django.db.models import Exists, OuterRef
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from articles.models import Article, ArticleSource, Category, Source

LEANS = [(value, label) for value, label in Source.Lean.choices if value != Source.Lean.UNRATED]


class SlugChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values:
            validate_slug(value)  # a value no slug could be (a NUL, a space) never reaches the database
        return super().to_python(value)


@extend_schema_field(OpenApiTypes.STR)
class SlugChoiceFilter(django_filters.ModelChoiceFilter):
    """An object named by its slug."""

    field_class = SlugChoiceField

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, to_field_name="slug", **kwargs)
        self.extra["error_messages"] = {"invalid_choice": f"There is no {kind} with that slug."}


def _start_of_day(day: date) -> datetime | None:
    """Midnight at the start of `day` in the site's time zone; None past the calendar's ends."""
    try:
        moment = datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())
        moment.astimezone(UTC)  # the database compares in UTC: it must exist there too
        return moment
    except OverflowError:
        return None


class DateInput(django_filters.DateFilter):
    field_class = forms.DateField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, input_formats=["%Y-%m-%d"], **kwargs)
        self.extra["error_messages"] = {"invalid": "Give a date as YYYY-MM-DD, such as 2026-03-01."}


class StoryFilter(django_filters.FilterSet):
    section = SlugChoiceFilter(
        field_name="category", kind="section", queryset=Category.objects.all(), help_text="A section's slug."
    )
    outlet = SlugChoiceFilter(
        kind="outlet",
        queryset=Source.objects.all(),
        method="filter_outlet",
        help_text="Stories citing this outlet (its slug).",
    )
    since = DateInput(method="filter_since", help_text="Published on or after this date (YYYY-MM-DD).")
    until = DateInput(method="filter_until", help_text="Published on or before this date (YYYY-MM-DD).")
    lean = django_filters.ChoiceFilter(
        choices=LEANS,
        method="filter_lean",
        help_text="Stories citing at least one outlet whose current lean is this one.",
    )

    class Meta:
        model = Article
        fields = ["section", "outlet", "since", "until", "lean"]

    def is_valid(self):
        valid = super().is_valid()
        since, until = self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until")
        if valid and since and until and since > until:
            self.form.add_error("until", "The date range ends before it starts: until is before since.")
            return False
        return valid

    def filter_outlet(self, queryset, name, value):
        return queryset.filter(Exists(ArticleSource.objects.filter(article=OuterRef("pk"), source=value)))

    def filter_lean(self, queryset, name, value):
        cited = ArticleSource.objects.filter(article=OuterRef("pk"), source__bias=value)
        return queryset.filter(Exists(cited))

    def filter_since(self, queryset, name, value):
        start = _start_of_day(value)
        return queryset if start is None else queryset.filter(published_at__gte=start)

    def filter_until(self, queryset, name, value):
        end = _start_of_day(value + timedelta(days=1)) if value < date.max else None
        return queryset if end is None else queryset.filter(published_at__lt=end)


class OutletFilter(django_filters.FilterSet):
    lean = django_filters.ChoiceFilter(
        field_name="bias", choices=Source.Lean.choices, help_text="Outlets whose current lean is this one."
    )

    class Meta:
        model = Source
        fields = ["lean"]
