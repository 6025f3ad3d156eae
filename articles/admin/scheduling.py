"""Scheduling in the admin: publish times are typed and shown in the site's time zone (stored in UTC),
the form names that zone, and a local time that a daylight-saving change skips or repeats is refused
with a message that says which it is."""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

# One way to write a moment throughout the story list and form: "28 Mar 2027, 09:00 BST".
TIME_FORMAT = "j M Y, H:i"


def zone_name(zone=None) -> str:
    zone = zone or timezone.get_current_timezone()
    return getattr(zone, "key", str(zone))


def local_label(moment: datetime, format_string: str) -> str:
    """`moment` in the site's zone, formatted, then the zone's abbreviation ("31 Oct 01:15 GMT").

    Django's "T" format leaves the abbreviation out in the hour the clocks go back, exactly when it
    tells the two 01:15s apart; the zone itself knows which one it is.
    """
    local = timezone.localtime(moment)
    return f"{date_format(local, format_string)} {local.tzname()}"


def zone_help(now: datetime | None = None) -> str:
    """'Times are in Europe/London time (now GMT, UTC+00:00).' for the form's publish time."""
    local = timezone.localtime(now or timezone.now())
    offset = local.strftime("%z")
    return f"Times are in {zone_name()} time (now {local.tzname()}, UTC{offset[:3]}:{offset[3:]})."


def dst_problem(naive: datetime, zone) -> str | None:
    """Why `naive` cannot be read as one moment in `zone`, or None when it can.

    At a daylight-saving change a local time is either skipped (clocks go forward) or happens twice
    (clocks go back); the two readings of it (fold 0 and 1) then have different UTC offsets.
    """
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    when = date_format(naive, "j F Y, H:i")
    change = f"from {first.tzname()} to {second.tzname()}"
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return (
            f"{when} does not exist in {zone_name(zone)}: the clocks go forward that night ({change}) "
            "and skip it. Choose a time before or after the skipped hour."
        )
    return (
        f"{when} happens twice in {zone_name(zone)}: the clocks go back that night ({change}), so it "
        "is not clear which one you mean. Choose a time outside the repeated hour."
    )


class ZonedSplitDateTimeField(forms.SplitDateTimeField):
    """The admin's date + time inputs, read in the current time zone, with plain daylight-saving errors
    (Django would refuse these times too, but without saying why)."""

    # The moment the form was opened with. Sent back unchanged it is kept as it was, even in the hour
    # the clocks go back, whose local times alone cannot say which of the two moments they are.
    stored: datetime | None = None

    def compress(self, data_list):
        if data_list and data_list[0] is not None and data_list[1] is not None:
            naive = datetime.combine(*data_list)
            if self.stored is not None and naive == timezone.make_naive(self.stored).replace(microsecond=0):
                return self.stored
            problem = dst_problem(naive, timezone.get_current_timezone())
            if problem:
                raise ValidationError(problem, code="ambiguous_timezone")
        return super().compress(data_list)


class StoredMomentFormMixin:
    """Gives the publish time field the moment stored on the story (see ZonedSplitDateTimeField).
    Part of the story form (articles.admin.articles.ArticleForm)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("published_at")
        if isinstance(field, ZonedSplitDateTimeField):
            field.stored = self.instance.published_at


def admin_time(moment: datetime | None) -> str:
    """`moment` as TIME_FORMAT in the site's zone, in a <time> element ("–" when there is none)."""
    if moment is None:
        return "–"
    # To the second: HTML's datetime allows at most three digits of a second's fraction, and a time
    # saved by Django (created_at) has six.
    stamp = moment.astimezone(UTC).isoformat(timespec="seconds")
    return format_html('<time datetime="{}">{}</time>', stamp, local_label(moment, TIME_FORMAT))


def scheduled_for(article):
    """' · 28 Mar 2027, 09:00 BST' beside the Scheduled badge."""
    return format_html('<span class="scheduled-at"> · {}</span>', admin_time(article.published_at))


def stories_count(count: int) -> str:
    return f"{count} {'story' if count == 1 else 'stories'}"


SCHEDULED_LISTED = 10  # past this many, the message names the first ones and counts the rest


def scheduled_message(articles) -> str:
    """What bulk publish says of the stories it scheduled (their publish time is ahead): each with
    the moment it goes live, as the list shows it. 'Scheduled 1 story: “Harbour” goes live at
    28 Mar 2027, 09:00 BST.'"""
    articles = sorted(articles, key=lambda article: (article.published_at, article.pk))
    first, *others = articles[:SCHEDULED_LISTED]
    listed = format_html("“{}” goes live at {}", first.title, admin_time(first.published_at))
    if others:
        rest = format_html_join("; ", "“{}” at {}", ((a.title, admin_time(a.published_at)) for a in others))
        listed = format_html("{}; {}", listed, rest)
    more = len(articles) - SCHEDULED_LISTED
    if more > 0:
        listed = format_html("{}; and {} more", listed, more)
    return format_html("Scheduled {}: {}.", stories_count(len(articles)), listed)


class SchedulingAdminMixin:
    """For ArticleAdmin: the publish time field names the site's zone and explains DST refusals."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name != "published_at":
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        field = super().formfield_for_dbfield(
            db_field, request, **{**kwargs, "form_class": ZonedSplitDateTimeField}
        )
        field.help_text = f"{zone_help()} {db_field.help_text}"
        return field
