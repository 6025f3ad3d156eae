"""/balance/: how the site's coverage leaned over the last 7 and 30 days, overall and per section,
day by day, and which outlets each section drew on most. Three queries: the sections (shared with
the navigation), the tallies, the top outlets."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from articles.site import seo
from articles.site.cache import surrogate
from articles.site.context_processors import nav_sections
from coverage import balance
from coverage.balance_chart import bar_chart, series_chart


@require_safe
def balance_page(request):
    surrogate.add_keys(request, surrogate.COVERAGE)
    summary = balance.overview(sections=nav_sections(request))
    top = balance.top_outlets(overview=summary)
    context = {
        "overview": summary,
        "chart": bar_chart(summary.scopes),
        "series": series_chart(summary.series),
        "top_outlets": [(scope.section, top.get(scope.section.pk, [])) for scope in summary.sections],
        "windows": balance.WINDOWS,
        "share_days": balance.SHARE_DAYS,
        "meta": seo.page_meta(
            request,
            title="Coverage balance",
            description="How the outlets behind our stories leaned over the last 7 and 30 days, "
            "across the site and in each section.",
        ),
    }
    return render(request, "coverage/balance.html", context)
