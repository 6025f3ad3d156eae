"""The admin index's dashboard data, for the people allowed to see the stories it lists."""

from django import template
from django.contrib import admin

from articles.models import Article
from articles.newsroom import dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def newsroom_dashboard(context) -> dashboard.Dashboard | None:
    """None for staff who may not view stories: the counts and titles would tell them what the
    story list would not."""
    request = context.get("request")
    model_admin = admin.site.get_model_admin(Article)
    if request is None or not model_admin.has_view_or_change_permission(request):
        return None
    return dashboard.build()
