"""Bias while writing: the live bar of the chosen sources, the warnings on save, the list filter.

The bar under the Sources inline is drawn here for the form as it stands (the saved sources, or what
was posted when the form comes back with errors) and kept up to date in the browser by
static/js/bias.js, which repeats articles.bias.voices and split_from_leans and the texts below
exactly (tests/admin/test_bias.py runs both on the same cases): one voice per outlet, wire copies
left out, as in the rating computed on save (articles.newsroom.stories.bias_rating_refresh). The
outlets' leans reach the page without a request per outlet: the chosen ones in a JSON block, new
picks in the autocomplete results.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.forms import Media
from django.urls import path

from articles.bias import CENTER_LEANS, LEFT_LEANS, RIGHT_LEANS, BiasSplit, split_from_leans, voices
from articles.models import ArticleSource, BiasRating, Source

SIDES = (("left", LEFT_LEANS), ("center", CENTER_LEANS), ("right", RIGHT_LEANS))
WORDS = {"left": "Left", "center": "Center", "right": "Right"}
SIDE_FIELDS = ("left", "center", "right")
SEPARATOR = " · "


def side_of(lean: str | None) -> str | None:
    """ "left", "center" or "right" for a rated lean (lean_left counts as left), None when unrated."""
    return next((side for side, leans in SIDES if lean in leans), None)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def figures_text(split: BiasSplit | None, *, total: int, copies: int = 0) -> str:
    """`total`: the outlets counted (voices); `copies`: chosen rows that are wire copies."""
    if total == 0 and copies:
        return "Only wire copies chosen: add the originals they copy."
    if total == 0:
        return "No sources chosen yet."
    if split is None:
        return "None of the chosen sources has a rated lean."
    rated = total - split.unrated
    parts = SEPARATOR.join(f"{WORDS[side]} {getattr(split, side)}%" for side, _ in SIDES)
    return f"{parts}, from {_plural(rated, 'rated source', 'rated sources')}"


def unrated_text(unrated: int) -> str:
    return f"{_plural(unrated, 'source', 'sources')} unrated" if unrated else ""


def method_text(method: str, numbers: tuple[str, str, str] | None = None) -> str:
    if method == "editorial":
        parts = SEPARATOR.join(f"{WORDS[side]} {n}%" for (side, _), n in zip(SIDES, numbers, strict=True))
        return f"The published bar uses your editorial numbers: {parts}."
    if method == "incomplete":
        return "Editorial rating chosen: type left, center and right (they must add up to 100)."
    return "The published bar is computed from these sources."


def bias_warnings(leans) -> list[str]:
    """What the editor is told after saving a story whose sources lean one way or are partly unrated."""
    sides = [side_of(lean) for lean in leans]
    rated = [side for side in sides if side]
    unrated = len(sides) - len(rated)
    warnings = []
    if rated and len(set(rated)) == 1:
        how = {"left": "lean left", "right": "lean right", "center": "are rated center"}[rated[0]]
        if len(rated) == 1:
            how = {"left": "leans left", "right": "leans right", "center": "is rated center"}[rated[0]]
            warnings.append(f"The only rated source {how}: consider adding other perspectives.")
        else:
            warnings.append(f"All {len(rated)} rated sources {how}: consider adding other perspectives.")
    if unrated:
        has = "source has" if unrated == 1 else "sources have"
        them = "it" if unrated == 1 else "them"
        warnings.append(f"{unrated} {has} no lean rating; the computed bar leaves {them} out.")
    return warnings


# --- The bar in the change form ------------------------------------------------------------------


def _checked(form, name: str) -> bool:
    return name in form.fields and bool(form[name].value())


def _source_id(value) -> str | None:
    """`value` as an outlet's id, or None when it cannot be one (a tampered form: "!!", "²")."""
    try:
        return str(Source._meta.pk.to_python(value))
    except ValidationError:
        return None


def _chosen_rows(formset) -> list[tuple[str, bool]]:
    """(outlet id, wire copy) of the Sources rows as the form stands, minus rows marked for deletion
    (a read-only form: as saved)."""
    rows = []
    for form in formset.forms:
        value = form["source"].value() if "source" in form.fields else form.instance.source_id
        if value in (None, "") or _checked(form, "DELETE"):
            continue
        copy = _checked(form, "wire_copy") if "wire_copy" in form.fields else form.instance.wire_copy
        if (pk := _source_id(value)) is not None:
            rows.append((pk, copy))
    return rows


def _rating_method(formset) -> tuple[str, tuple[str, str, str] | None]:
    """Which bar readers will get, from the bias rating row as it stands (mirrored in bias.js)."""
    form = formset.forms[0] if formset is not None and formset.forms else None
    if form is None or _checked(form, "DELETE"):
        return "computed", None
    method = form["method"].value() if "method" in form.fields else form.instance.method
    if method == BiasRating.Method.SOURCES:
        return "computed", None
    values = (
        form[name].value() if name in form.fields else getattr(form.instance, name) for name in SIDE_FIELDS
    )
    numbers = tuple("" if value is None else str(value).strip() for value in values)
    if all(numbers):
        return "editorial", numbers
    if not any(numbers):
        return "computed", None  # left empty: computed from the sources (BiasRatingForm.clean)
    return "incomplete", None


def sources_bias(inline_admin_formsets) -> dict:
    """The context of includes admin/articles/article/_sources_bias.html."""
    formsets = {inline.formset.model: inline.formset for inline in inline_admin_formsets}
    if ArticleSource not in formsets:
        return {}
    rows = _chosen_rows(formsets[ArticleSource])
    ids = {pk for pk, _ in rows}
    leans = {str(pk): lean for pk, lean in Source.objects.filter(pk__in=ids).values_list("pk", "bias")}
    known = [(pk, leans[pk], copy) for pk, copy in rows if pk in leans]
    chosen = voices(known)
    split = split_from_leans(chosen)
    offset, segments = 0, []
    for side, _ in SIDES:
        value = getattr(split, side) if split else 0
        segments.append({"side": side, "key": side[0], "x": offset, "value": value})
        offset += value
    method, numbers = _rating_method(formsets.get(BiasRating))
    unrated = split.unrated if split else len(chosen)
    return {
        "segments": segments,
        "figures": figures_text(split, total=len(chosen), copies=sum(copy for _, _, copy in known)),
        "unrated": unrated,
        "unrated_text": unrated_text(unrated),
        "method": method,
        "method_text": method_text(method, numbers),
        "leans": leans,
    }


class BiasAdminMixin:
    """For ArticleAdmin: the live bar's script and context (the warnings after a save:
    warn_of_one_sidedness, called by ArticleAdmin.save_related)."""

    @property
    def media(self):
        # jquery.init.js first: bias.js listens to select2's jQuery events through django.jQuery.
        return super().media + Media(js=["admin/js/jquery.init.js", "js/bias.js"])

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["sources_bias"] = sources_bias(context.get("inline_admin_formsets", ()))
        return super().render_change_form(request, context, add, change, form_url, obj)


def warn_of_one_sidedness(request, article) -> None:
    """After a save: the warnings (not refusals) about the sources the story now cites, counted as
    the computed bar counts them (one voice per outlet, wire copies left out)."""
    cited = article.article_sources.values_list("source_id", "source__bias", "wire_copy")
    for warning in bias_warnings(voices(cited)):
        messages.warning(request, warning)


# --- Outlets' leans in the autocomplete ----------------------------------------------------------


class SourceAutocompleteJsonView(AutocompleteJsonView):
    """Django's autocomplete for outlets, each result carrying the outlet's lean."""

    def process_request(self, request):
        term, model_admin, source_field, to_field_name = super().process_request(request)
        if model_admin.model is not Source:
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name

    def get_queryset(self):
        # SourceAdmin's list counts citations, and a GROUP BY drops the model's ordering: without
        # an explicit one the pages of results could overlap or skip outlets.
        return super().get_queryset().order_by("name", "pk")

    def serialize_result(self, obj, to_field_name):
        return super().serialize_result(obj, to_field_name) | {"lean": obj.bias}


class SourceAutocompleteSelect(AutocompleteSelect):
    url_name = "%s:articles_source_autocomplete"

    def optgroups(self, name, value, attr=None):
        # Django looks the posted value up as an id while the form is shown again with its errors:
        # one that cannot be an id would raise there (a 500); it selects nothing instead.
        ids = [pk for pk in map(_source_id, value) if pk is not None]
        return super().optgroups(name, ids, attr)


class SourceLeanAutocompleteMixin:
    """For SourceAdmin: serves SourceAutocompleteJsonView at articles/source/autocomplete/."""

    def get_urls(self):
        view = SourceAutocompleteJsonView.as_view(admin_site=self.admin_site)
        return [
            path("autocomplete/", self.admin_site.admin_view(view), name="articles_source_autocomplete"),
            *super().get_urls(),
        ]


class SourcesBiasInlineMixin:
    """For the Sources inline: outlets picked through SourceAutocompleteJsonView, the bar drawn below."""

    template = "admin/articles/article/sources_inline.html"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "source" and "widget" not in kwargs:
            kwargs["widget"] = SourceAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- The list filter -----------------------------------------------------------------------------


class BiasFilter(admin.SimpleListFilter):
    """Stories by the bias of their sources, judged in the database by the outlets' leans (lean_left
    counts as left, lean_right as right, as in the bias bar):

    - One-sided: at least one source has a rated lean, and every rated source is on the same side
      (all left, all center or all right);
    - Balanced: the rated sources cover at least two of left, center and right;
    - Has unrated sources: at least one source's outlet has no lean rating (such a story can also be
      one-sided or balanced by its rated sources);
    - No sources.

    Wire copies are left out of the first three, as from the computed bar (the outlet of the
    original speaks); a story citing only wire copies is in none of the four.
    """

    title = "bias of the sources"
    parameter_name = "bias"

    def lookups(self, request, model_admin):
        return [
            ("one_sided", "One-sided"),
            ("balanced", "Balanced"),
            ("unrated", "Has unrated sources"),
            ("none", "No sources"),
        ]

    def queryset(self, request, queryset):
        cited = ArticleSource.objects.filter(article=OuterRef("pk"))
        voiced = cited.filter(wire_copy=False)
        left, center, right = (Exists(voiced.filter(source__bias__in=leans)) for _, leans in SIDES)
        match self.value():
            case "one_sided":
                return queryset.filter(
                    (left & ~center & ~right) | (~left & center & ~right) | (~left & ~center & right)
                )
            case "balanced":
                return queryset.filter((left & center) | (left & right) | (center & right))
            case "unrated":
                rated = LEFT_LEANS | CENTER_LEANS | RIGHT_LEANS
                return queryset.filter(Exists(voiced.exclude(source__bias__in=rated)))
            case "none":
                return queryset.filter(~Exists(cited))
        return queryset
