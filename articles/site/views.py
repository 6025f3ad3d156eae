"""Public pages. Every query goes through Article.objects.published(); counts stay fixed per page."""

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from articles.models import Article, ArticleSource, Category, Source
from articles.site import outlets, search_page, seo
from articles.site import search as search_backend
from articles.site.cache import fragments, listings, surrogate
from articles.site.cache.cards import render_cards
from articles.site.context_processors import nav_sections
from articles.site.paging import page_number, paginate

HOME_LATEST = 12
HOME_PER_SECTION = 4
RELATED_COUNT = 4


@require_safe
def home(request):
    if page_number(request) > 1 or "before" in request.GET:
        return more_stories(request, Article.objects.published().for_cards())
    categories = nav_sections(request)
    lists = listings.story_lists([
        ("featured", 1, {"featured": True}),
        ("latest", HOME_LATEST + 1, {}),
        *((f"section-{c.pk}", HOME_PER_SECTION + 1, {"category_id": c.pk}) for c in categories),
    ])  # fmt: skip
    lead = (lists["featured"] or lists["latest"] or [None])[0]
    lead_pk = lead.pk if lead else None

    def without_lead(refs, size):  # each list holds one more than it shows, in case the lead is in it
        return [ref for ref in refs if ref.pk != lead_pk][:size]

    latest = without_lead(lists["latest"], HOME_LATEST)
    sections = [(c, without_lead(lists[f"section-{c.pk}"], HOME_PER_SECTION)) for c in categories]
    blocks = [*latest, *(story for _, stories in sections for story in stories)]
    surrogate.add_keys(request, surrogate.HOME, *surrogate.story_keys([lead, *blocks]))
    listings.render_ref_cards(
        [(story, "grid") for story in blocks] + ([(lead, "lead")] if lead else []),
        {c.pk: c for c in categories},
    )
    meta = seo.page_meta(
        request,
        title=settings.NEWSAPP_SITE_NAME,
        description="News from every side: each story shows its sources and how their coverage leans.",
    )
    has_more = len(latest) == HOME_LATEST
    context = {"lead": lead, "latest": latest, "sections": sections, "meta": meta, "has_more": has_more}
    return render(request, "articles/home.html", context)


def more_stories(request, published):
    """Pages 2, 3 … of the front page: every story after the lead and the latest it shows."""
    lead = lead_story(published)
    page = paginate(request, after_lead(published, lead), scope="home", first_page_size=HOME_LATEST)
    render_cards(page.object_list, "listing", first="listing-first")
    surrogate.add_keys(request, surrogate.HOME, *surrogate.story_keys(page.object_list))
    meta = seo.page_meta(
        request, title=f"More stories, {page.label.lower()}", description="Every section, newest first."
    )
    return render(request, "articles/more.html", {"page": page, "meta": meta})


def after_lead(published, lead):
    return published.exclude(pk=lead.pk) if lead else published


def lead_story(published) -> Article | None:
    """The newest featured story, else the newest story: one query, each half on its own index."""
    newest_featured = published.filter(featured=True).values("pk")[:1]
    newest = published.values("pk")[:1]
    return published.filter(pk=Coalesce(Subquery(newest_featured), Subquery(newest))).first()


@require_safe
def section(request, section):
    category = get_object_or_404(Category, slug=section)
    stories = Article.objects.published().filter(category=category).for_cards()
    page = paginate(request, stories, scope=f"section:{category.pk}")
    render_cards(page.object_list, "listing", first="listing-first")
    surrogate.add_keys(request, surrogate.section(category.pk), *surrogate.story_keys(page.object_list))
    description = category.description or f"The latest {category.name} stories, with their sources and bias."
    context = {
        "category": category,
        "page": page,
        "current_section": category.slug,
        "current_section_name": category.name,
        "meta": seo.page_meta(request, title=category.name, description=description),
    }
    return render(request, "articles/section.html", context)


def related_stories(article: Article, source_ids: list[int]) -> list[Article]:
    """Stories from the same section sharing a source, newest first, topped up with the section's newest.

    Always two bounded queries, whatever the size of the archive.
    """
    same_section = (
        Article.objects.published().for_cards().filter(category_id=article.category_id).exclude(pk=article.pk)
    )
    # Walk the section newest first and stop at the fourth match: an outlet cited by half the archive
    # costs no more than a rare one (an IN list of every story citing it would).
    cites = ArticleSource.objects.filter(article=OuterRef("pk"), source_id__in=source_ids)
    sharing = same_section.filter(Exists(cites))
    related = list(sharing[:RELATED_COUNT])
    seen = {a.pk for a in related}
    related += [a for a in same_section[: RELATED_COUNT * 2] if a.pk not in seen]
    return related[:RELATED_COUNT]


def article_context(request, article: Article) -> dict:
    citations = list(article.article_sources.select_related("source"))
    # A correction always marks the story modified: a story never modified costs no query for them.
    corrections = list(article.corrections.all()) if article.modified_at else []
    return {
        "article": article,
        "citations": citations,
        "corrections": corrections,
        "rating": getattr(article, "bias_rating", None),
        "current_section": article.category.slug,
        "current_section_name": article.category.name,
        "meta": seo.page_meta(request, title=article.title, description=article.excerpt, article=article),
        "structured_data": seo.news_article(request, article, citations, corrections),
    }


@require_safe
def article(request, section, slug):
    article = get_object_or_404(
        Article.objects.published().select_related("category", "bias_rating"), slug=slug
    )
    if article.category.slug != section:
        return redirect(article, permanent=True)
    context = article_context(request, article)
    source_ids = [citation.source_id for citation in context["citations"]]
    # Its related stories are the section's: any story published, moved or changed there purges it.
    surrogate.add_keys(
        request,
        surrogate.story(article.pk),
        surrogate.section(article.category_id),
        *(surrogate.outlet(pk) for pk in source_ids),
    )

    def related_cards():
        return [str(story.card) for story in render_cards(related_stories(article, source_ids))]

    if fragments.enabled():
        cards = fragments.related_cards(request, article, related_cards)
    else:
        cards = related_cards()
    context["related_cards"] = [mark_safe(card) for card in cards]  # rendered by our card template
    return render(request, "articles/article_detail.html", context)


@require_safe
def source(request, slug):
    outlet = get_object_or_404(Source, slug=slug)
    history = list(outlet.ratings.all())  # newest first, for the table; the timeline sorts its own copy
    recent = outlets.recent_story_counts([outlet.pk]).get(outlet.pk, 0)
    # An IN subquery, not EXISTS: SQLite plans EXISTS as a scan per story (100x slower here).
    cited = ArticleSource.objects.filter(source=outlet).values("article_id")
    stories = Article.objects.published().filter(pk__in=cited).for_cards()
    # Cursor paging only: counting every story citing a big outlet would cost a scan of the archive.
    page = paginate(request, stories, scope=f"source:{outlet.pk}", numbered=False)
    render_cards(page.object_list, "grid", first="listing-first")
    # Its share of each section's stories counts every story of each section (5 sections, not a
    # few thousand stories): any story published, moved or gone changes it.
    sections = (surrogate.section(category.pk) for category in nav_sections(request))
    surrogate.add_keys(
        request, surrogate.outlet(outlet.pk), *sections, *surrogate.story_keys(page.object_list)
    )
    meta = seo.page_meta(
        request, title=outlet.name, description=f"Stories drawing on {outlet.name} ({outlet.domain})."
    )
    context = {
        "source": outlet,
        "history": history,
        "recent_stories": recent,
        "recent_days": outlets.RECENT_DAYS,
        "page": page,
        "meta": meta,
    }
    return render(request, "articles/source_detail.html", context)


@require_safe
def search(request):
    meta = seo.page_meta(
        request, title="Search", description="Search every published story by its words and its sources."
    )
    try:
        typed = search_backend.clean_query(request.GET.get("q", ""))
    except search_backend.QueryRejected as exc:
        context = {"query": "", "error": str(exc), "meta": meta}
        return render(request, "articles/search.html", context, status=400)
    query = search_backend.parse_query(typed)
    if not query:  # nothing typed, or only operators and punctuation ("!!", "---")
        context = {"query": typed, "no_words": bool(typed), "meta": meta}
        return render(request, "articles/search.html", context)
    number = page_number(request)
    key = search_page.cache_key(request, query, number)  # None: not kept (signed in, cache off)
    if key and (cached := search_page.cached(key)) is not None:
        return cached
    context = {"query": str(query), "meta": meta, **search_page.results(query, number)}
    response = render(request, "articles/search.html", context)
    if key:
        search_page.keep(key, response)
    return response
