"""Coverage blocks other apps' pages show without importing coverage: a section's balance and an
outlet's share of each section's stories ({% load coverage_tags %})."""

from django import template

from articles.site.cache import fragments
from coverage import balance
from coverage.balance_chart import bar_chart

register = template.Library()

SECTION_KEY = "balance:section:{pk}:{day}:{version}"


def _section_balance(request, section) -> balance.ScopeBalance:
    """From the shared cache under the content version and the day (a window moves at midnight),
    never kept past the next scheduled story's time; else one query."""
    if request is None or not fragments.enabled():
        return balance.section_balance(section=section)
    version = fragments.request_version(request)
    key = SECTION_KEY.format(pk=section.pk, day=balance.local_today().isoformat(), version=version)
    return fragments.kept(key, version, lambda: balance.section_balance(section=section))


@register.inclusion_tag("coverage/_section_balance.html", takes_context=True)
def section_balance(context, section):
    """The section's balance over the last 7 and 30 days: a chart and its table."""
    scope = _section_balance(context.get("request"), section)
    return {
        "scope": scope,
        "scopes": [scope],
        "chart": bar_chart([scope], headings=False),
        "label": f"Coverage balance of {scope.name}: "
        + "; ".join(f"last {w.days} days, {w.description}" for w in scope.windows),
        "caption": f"Outlet voices per side in {scope.name}",
        "longest": max(balance.WINDOWS),
    }


@register.inclusion_tag("coverage/_outlet_section_shares.html")
def outlet_section_shares(source):
    """How much of each section's last 30 days of stories cite `source`: one query."""
    return {"source": source, "shares": balance.outlet_shares(source=source), "days": balance.SHARE_DAYS}
