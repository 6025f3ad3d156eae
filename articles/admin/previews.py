"""Share links in the admin: Editors create and revoke them on a page of the story's own.

Sharing a draft outside the newsroom is an editorial decision, like publishing, so it needs the
publish permission (articles.permissions.can_publish); a separate permission would need a migration to give
it to the Editors group, and would in practice always travel with publishing. Writers see the
page read-only: which links exist, for whom and until when (edits they save show through them),
but never a link's address, and they cannot create or revoke one.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from articles.models import PreviewLink
from articles.newsroom import previews as sharing
from articles.permissions import can_publish
from articles.site import previews

# The session remembers the link just created, so its address is shown once, after the redirect.
NEW_LINK_SESSION_KEY = "articles.preview_link.new"


class PreviewLinkForm(forms.Form):
    expires_in = forms.ChoiceField(
        label="Link works for",
        choices=[(key, label) for key, (_, label) in sharing.LIFETIMES.items()],
        initial="1d",
        widget=forms.RadioSelect,
        help_text="After that the link shows nothing. You can revoke it sooner.",
    )
    label = forms.CharField(
        label="Who is it for?",
        max_length=PreviewLink._meta.get_field("label").max_length,
        required=False,
        help_text="Optional, to recognise the link later, e.g. “for the legal desk”.",
    )


class PreviewLinksMixin:
    """For ArticleAdmin: the "Share a preview" page and the revoke action."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/preview-links/",
                wrap(self.preview_links_view),
                name="articles_article_preview_links",
            ),
            path(
                "<path:object_id>/preview-links/<int:link_id>/revoke/",
                wrap(require_POST(self.preview_link_revoke_view)),
                name="articles_article_preview_link_revoke",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "preview_links_url": reverse("admin:articles_article_preview_links", args=[object_id]),
            "can_share_preview": can_publish(request.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _preview_article(self, request, object_id):
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such story.")
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        return article

    def _links_page(self, article) -> str:
        return reverse("admin:articles_article_preview_links", args=[article.pk])

    def preview_links_view(self, request, object_id):
        article = self._preview_article(request, object_id)
        can_share = can_publish(request.user)
        if request.method == "POST":
            if not can_share:
                raise PermissionDenied
            form = PreviewLinkForm(request.POST)
            if form.is_valid():
                lifetime, _ = sharing.LIFETIMES[form.cleaned_data["expires_in"]]
                try:
                    link = sharing.preview_link_create(
                        article=article,
                        user=request.user,
                        lifetime=lifetime,
                        label=form.cleaned_data["label"],
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    expires = timezone.localtime(link.expires_at)
                    self.log_change(
                        request,
                        article,
                        f"Shared a preview link “{link}”, working until {expires:%Y-%m-%d %H:%M}.",
                    )
                    request.session[NEW_LINK_SESSION_KEY] = link.pk
                    self.message_user(
                        request, "Preview link created. Copy it now: it is shown only once.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(self._links_page(article))
        else:
            form = PreviewLinkForm()
        return self._render_links_page(request, article, form, can_share)

    def _render_links_page(self, request, article, form, can_share):
        now = timezone.now()
        links = list(article.preview_links.select_related("created_by"))
        for link in links:
            link.state = link.current_state(now)
            link.revoke_url = reverse(
                "admin:articles_article_preview_link_revoke", args=[article.pk, link.pk]
            )
        new_pk = request.session.pop(NEW_LINK_SESSION_KEY, None) if request.method == "GET" else None
        new_link = next(
            (link for link in links if link.pk == new_pk and link.state == PreviewLink.ACTIVE), None
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Share a preview: {article}",
            "subtitle": None,
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "original": article,
            "article": article,
            "form": form,
            "links": links,
            "can_share": can_share,
            "is_live": article.is_published(),
            "new_link": new_link,
            "new_link_url": previews.link_url(request, new_link) if new_link else "",
            "staff_preview_url": reverse("admin:articles_article_preview", args=[article.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/articles/article/preview_links.html", context)

    def preview_link_revoke_view(self, request, object_id, link_id):
        article = self._preview_article(request, object_id)
        if not can_publish(request.user):
            raise PermissionDenied
        link = get_object_or_404(PreviewLink, pk=link_id, article=article)
        if sharing.preview_link_revoke(link=link, user=request.user):
            self.log_change(request, article, f"Revoked the preview link “{link}”.")
            self.message_user(
                request, f"Revoked the preview link “{link}”: it no longer works.", messages.SUCCESS
            )
        else:
            self.message_user(
                request, f"The preview link “{link}” had already stopped working.", messages.WARNING
            )
        return HttpResponseRedirect(self._links_page(article))
