"""Pieces the newsdesk's admin modules share: its style sheet, the balance bar, who works the desk."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.template.loader import render_to_string
from django.utils.html import format_html

from articles.bias import BiasSplit
from articles.templatetags.news import bias_bar

DESK_PERMISSION = "newsdesk.change_candidate"


class NewsdeskMedia:
    css = {"all": ["css/admin.css", "css/newsdesk.css"]}


class ChosenRowsMixin:
    """For the newsdesk's admins: the rows chosen for an action are sent as their ids, and one that
    is no id (a form posted by hand) made Django's filter fail, a 500. It is refused with a message
    and nothing is done."""

    def response_action(self, request, queryset, **kwargs):
        chosen = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if any(not value.isdigit() for value in chosen):
            self.message_user(request, "Choose the rows in the list: nothing was done.", messages.ERROR)
            return None  # the changelist redirects back to itself, with the message
        return super().response_action(request, queryset, **kwargs)


def works_the_desk(user) -> bool:
    """Writers and Editors: draft stories from candidates, merge, split and dismiss them."""
    return user.has_perm(DESK_PERMISSION)


def balance_bar(split: BiasSplit | None) -> str:
    """The readers' bias bar (includes/_bias_bar.html), small, for a list row; "–" when no outlet
    is rated."""
    if split is None:
        return "–"
    return render_to_string("includes/_bias_bar.html", bias_bar(split, compact=True))


def web_address(url: str) -> str | None:
    """`url` when it may be a link (http or https only, as everywhere on the site), else None."""
    return url if url.lower().startswith(("https://", "http://")) else None


def original_link(url: str, text: str) -> str:
    """A link to a piece on its outlet's site, or the text alone for an address that may not be one."""
    if web_address(url) is None:
        return text
    return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, text)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summaries_refresh(candidate_ids) -> None:
    """After a merge or a split the candidates' pieces changed: their summaries are queued anew once
    the change commits (the desk would otherwise show sentences from pieces no longer there)."""
    from django.db import transaction

    from newsdesk.tasks import summaries_queue

    ids = {pk for pk in candidate_ids if pk}
    transaction.on_commit(lambda: summaries_queue(ids), robust=True)
