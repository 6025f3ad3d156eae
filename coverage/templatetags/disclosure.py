"""{% rating_disclosure rating citations %}: a story's "How this was rated" (coverage.disclosure)."""

from django import template

from coverage.disclosure import rating_disclosure as disclosure_of

register = template.Library()


@register.inclusion_tag("includes/_rating_disclosure.html")
def rating_disclosure(rating, citations):
    # A story without a rating gives "" here (templates swallow RelatedObjectDoesNotExist), not None.
    return {"d": disclosure_of(rating=rating or None, citations=citations)}
