"""What the API answers, field by field, typed for the OpenAPI schema (drf-spectacular reads these)."""

import html
import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.models import Article, ArticleSource, BiasRating, Category, Source, SourceRating

# Where a block of the rendered summary ends: a paragraph break in the plain text.
_BLOCK_END = re.compile(r"</(?:p|li|blockquote|h[1-6]|pre)>|<br\s*/?>|<hr\s*/?>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]+>")


def plain_text(rendered_html: str) -> str:
    """The rendered (sanitized) summary as plain text: paragraphs separated by a blank line."""
    text = html.unescape(_ANY_TAG.sub("", _BLOCK_END.sub("\n", rendered_html)))
    return "\n\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


class PageUrlMixin:
    """`url`: the object's page on the site, as an absolute address."""

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())


class SectionSerializer(PageUrlMixin, serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The section's page on the site.")

    class Meta:
        model = Category
        fields = ["slug", "name", "description", "url"]


class SectionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name"]


class OutletRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["slug", "name", "domain"]


class SourceSerializer(serializers.ModelSerializer):
    """One piece of outside reporting a story cites."""

    outlet = OutletRefSerializer(source="source")
    title = serializers.CharField(help_text="The original piece's headline (may be empty).")
    wire_copy = serializers.BooleanField(
        help_text="A syndicated copy of another outlet's text: counted once in the balance."
    )

    class Meta:
        model = ArticleSource
        fields = ["outlet", "url", "title", "wire_copy"]


class BalanceSerializer(serializers.ModelSerializer):
    """The story's left / center / right balance and what it rests on."""

    left = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent.")
    center = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent.")
    right = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent.")
    as_of = serializers.DateField(
        allow_null=True, help_text="The date whose outlet ratings were used (the story's publish date)."
    )
    outlets_left = serializers.IntegerField(
        min_value=0,
        help_text="Distinct rated outlets on the left (lean left counted left), wire copies once.",
    )
    outlets_center = serializers.IntegerField(min_value=0, help_text="Distinct rated outlets in the center.")
    outlets_right = serializers.IntegerField(
        min_value=0, help_text="Distinct rated outlets on the right (lean right counted right)."
    )
    unrated = serializers.IntegerField(
        source="unrated_sources", min_value=0, help_text="Cited outlets left out because they were unrated."
    )

    class Meta:
        model = BiasRating
        fields = [
            "left", "center", "right", "method", "as_of",
            "outlets_left", "outlets_center", "outlets_right", "unrated",
        ]  # fmt: skip


class StorySerializer(PageUrlMixin, serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The story's page on the site.")
    section = SectionRefSerializer(source="category")
    published_at = serializers.DateTimeField()
    updated = serializers.DateTimeField(
        source="modified_at",
        allow_null=True,
        help_text="When the story's content last changed after it went live (null: never).",
    )
    summary = serializers.SerializerMethodField(help_text="The summary as plain text, paragraphs apart.")
    ai_summary = serializers.BooleanField(help_text="The summary was written with the help of AI.")
    balance = BalanceSerializer(source="bias_rating", allow_null=True, help_text="null: no balance yet.")
    sources = SourceSerializer(source="article_sources", many=True)

    class Meta:
        model = Article
        fields = ["id", "url", "title", "section", "published_at", "updated", "summary", "ai_summary",
                  "balance", "sources"]  # fmt: skip

    def get_summary(self, obj) -> str:
        return plain_text(obj.summary_html)

    def to_representation(self, instance):
        # A story without a rating has no bias_rating row: its reverse one-to-one raises, not None.
        if not hasattr(instance, "bias_rating"):
            instance.bias_rating = None
        return super().to_representation(instance)


class RatingSerializer(serializers.ModelSerializer):
    """One dated rating of an outlet, with who made it, how and how sure."""

    rater = serializers.CharField(help_text="Who rated, as readers see it named.")
    effective_from = serializers.DateField(help_text="In force from this date until the next rating.")

    class Meta:
        model = SourceRating
        fields = ["lean", "effective_from", "rater", "rater_kind", "method", "confidence", "note", "link"]


class OutletSerializer(PageUrlMixin, serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The outlet's page on the site.")
    country = serializers.SerializerMethodField(help_text="ISO 3166-1 alpha-2 code; null when not known.")
    country_name = serializers.SerializerMethodField(help_text="The country's name; null when not known.")
    lean = serializers.ChoiceField(
        source="bias", choices=Source.Lean.choices, help_text="The rating in force today."
    )
    ratings = RatingSerializer(many=True, help_text="Every rating, newest first.")

    class Meta:
        model = Source
        fields = ["slug", "name", "domain", "homepage", "country", "country_name", "lean", "url", "ratings"]

    @extend_schema_field(serializers.CharField(allow_null=True, min_length=2, max_length=2))
    def get_country(self, obj) -> str | None:
        return obj.country.code or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_country_name(self, obj) -> str | None:
        return str(obj.country.name) if obj.country else None


class BlindspotStorySerializer(PageUrlMixin, serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The story's page on the site.")
    section = SectionRefSerializer(source="category")

    class Meta:
        model = Article
        fields = ["id", "url", "title", "section", "published_at"]


class BlindspotSerializer(serializers.Serializer):
    """A story barely covered by one side, with the numbers the rule used (see the methodology page)."""

    story = BlindspotStorySerializer(source="article")
    side = serializers.ChoiceField(choices=["left", "right"], help_text="The side that barely covers it.")
    n = serializers.IntegerField(min_value=0, help_text="Distinct rated outlets citing the story.")
    x = serializers.IntegerField(min_value=0, help_text="Of them, outlets on this side.")
    share = serializers.FloatField(min_value=0, max_value=1, help_text="x / n.")
    low = serializers.FloatField(min_value=0, max_value=1, help_text="95% Wilson interval of x / n: low end.")
    high = serializers.FloatField(min_value=0, max_value=1, help_text="95% Wilson interval: high end.")
    baseline = serializers.FloatField(
        min_value=0, max_value=1, help_text="The side's share in the story's section over the window."
    )


class BlindspotRuleSerializer(serializers.Serializer):
    min_outlets = serializers.IntegerField(help_text="A story needs at least this many rated outlets.")
    window_days = serializers.IntegerField(help_text="Days before the story's day the baseline spans.")
    confidence = serializers.FloatField(help_text="The Wilson interval's confidence level.")


class BlindspotListSerializer(serializers.Serializer):
    rule = BlindspotRuleSerializer()
    left = BlindspotSerializer(many=True, help_text="Stories the left barely covers, newest first.")
    right = BlindspotSerializer(many=True, help_text="Stories the right barely covers, newest first.")
