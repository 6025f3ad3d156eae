"""The read-only API: stories, sections, outlets and blindspots. Only published stories, ever
(Article.objects.published()): a draft's or scheduled story's id is a 404 like any missing one, and no
list, source or blindspot names one."""

from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from api.caching import ContentVersionCache
from api.filters import OutletFilter, StoryFilter
from api.pagination import OutletPagination, StoryPagination
from api.schema import DETAIL_ERRORS, LIST_ERRORS, THROTTLED
from api.serializers import (
    BlindspotListSerializer,
    OutletSerializer,
    SectionSerializer,
    StorySerializer,
)
from articles.models import Article, ArticleSource, Category, Source, SourceRating
from coverage.blindspots import current_blindspots

PAGING = ("cursor", "page_size")
CONFIDENCE = 0.95  # coverage.blindspots.Z_95: a two-sided 95% Wilson interval


def stories():
    """Live stories with everything the API shows, in two queries a page whatever the archive."""
    citations = ArticleSource.objects.select_related("source").only(
        "article_id",
        "url",
        "title",
        "wire_copy",
        "position",
        "source__slug",
        "source__name",
        "source__domain",
    )
    return (
        Article.objects.published()
        .select_related("category", "bias_rating")
        .defer("summary", "search_vector", "renditions", "excerpt")
        .prefetch_related(Prefetch("article_sources", queryset=citations))
    )


@extend_schema_view(
    list=extend_schema(
        summary="Published stories, newest first", responses={200: StorySerializer, **LIST_ERRORS}
    ),
    retrieve=extend_schema(summary="One published story", responses={200: StorySerializer, **DETAIL_ERRORS}),
)
class StoryViewSet(ContentVersionCache, viewsets.ReadOnlyModelViewSet):
    """Published stories with their section, plain-text summary, balance and cited sources, newest
    first. `lean`: stories citing at least one outlet whose current lean is that one."""

    serializer_class = StorySerializer
    pagination_class = StoryPagination
    filterset_class = StoryFilter
    lookup_value_regex = "[0-9]{1,18}"  # a larger number is no id (and SQLite could not compare it)
    kept_params = (*StoryFilter.base_filters, *PAGING)

    def get_queryset(self):
        return stories()


@extend_schema_view(
    list=extend_schema(
        summary="Every section", responses={200: SectionSerializer(many=True), 429: THROTTLED}
    ),
)
class SectionViewSet(ContentVersionCache, viewsets.GenericViewSet):
    """The sections, in the order of the site's navigation: a few, so in one page."""

    serializer_class = SectionSerializer
    queryset = Category.objects.all()
    pagination_class = None

    def list(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_queryset(), many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Outlets by slug", responses={200: OutletSerializer, **LIST_ERRORS}),
    retrieve=extend_schema(summary="One outlet", responses={200: OutletSerializer, **DETAIL_ERRORS}),
)
class OutletViewSet(ContentVersionCache, viewsets.ReadOnlyModelViewSet):
    """Outlets with their country, current lean and every dated rating with its provenance."""

    serializer_class = OutletSerializer
    pagination_class = OutletPagination
    filterset_class = OutletFilter
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]{1,120}"
    kept_params = (*OutletFilter.base_filters, *PAGING)

    def get_queryset(self):
        ratings = SourceRating.objects.order_by("-effective_from")
        return (
            Source.objects.defer("logo_small", "description")
            .prefetch_related(Prefetch("ratings", queryset=ratings))
            .order_by("slug")
        )


class BlindspotView(ContentVersionCache, APIView):
    """The current blindspots for the left and for the right, by the rule on the methodology page."""

    @extend_schema(
        summary="Current blindspots",
        responses={200: BlindspotListSerializer, 429: THROTTLED},
    )
    def get(self, request, *args, **kwargs):
        found = current_blindspots()
        data = {
            "rule": {
                "min_outlets": settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS,
                "window_days": settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS,
                "confidence": CONFIDENCE,
            },
            # Checked once more here: whatever the list's query, never a story that is not live.
            **{
                side: [spot for spot in spots if spot.article.is_published()] for side, spots in found.items()
            },
        }
        return Response(BlindspotListSerializer(data, context={"request": request}).data)


class SchemaView(ContentVersionCache, SpectacularJSONAPIView):
    """The OpenAPI 3 schema: made once per process (it changes only with the code)."""

    _schema = None

    def _get_version_parameter(self, request):
        return None  # SPECTACULAR_SETTINGS["VERSION"]; never a ?version= the client made up

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if SchemaView._schema is None:
            SchemaView._schema = self._get_schema_response(request).data
        return Response(
            SchemaView._schema, headers={"Content-Disposition": 'inline; filename="newsapp-api.json"'}
        )
