"""A story's history in the admin: every save is one revision (django-reversion, recorded by the save
path, articles.newsroom.stories): who, when, what changed. The History page lists them, newest first,
each with a readable diff against the one before; any two can be compared, and an earlier one
restored (as a new revision: nothing is deleted). Edit locks: articles.admin.locking.

reversion's VersionAdmin is not used as a base: its revert view writes the old rows raw, skipping
the story's save steps (renditions, search vector, computed rating) and the Writer/Editor rules.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from articles.newsroom.revisions import diff as revision_diff
from articles.newsroom.revisions import record as revisions
from articles.newsroom.revisions import restore as revision_restore

HISTORY_TEMPLATES = "admin/articles/article/"
HISTORY_PER_PAGE = 20


class RestoreForm(forms.Form):
    lock_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class HistoryAdminMixin:
    """For ArticleAdmin: the History page, compare and restore."""

    object_history_template = HISTORY_TEMPLATES + "object_history.html"

    @property
    def media(self):
        return super().media + forms.Media(css={"all": ["css/admin_history.css"]})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/history/compare/<int:old_id>/<int:new_id>/",
                wrap(self.history_compare_view),
                name="articles_article_history_compare",
            ),
            path(
                "<path:object_id>/history/<int:version_id>/restore/",
                wrap(self.history_restore_view),
                name="articles_article_history_restore",
            ),
            *super().get_urls(),
        ]

    # --- History, compare, restore ---

    def _history_article(self, request, object_id):
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such story.")
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        return article

    def _history_context(self, request, article, title, **extra):
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "object": article,
            "opts": self.opts,
            "module_name": self.opts.verbose_name_plural,
            "history_url": reverse("admin:articles_article_history", args=[article.pk]),
            **extra,
        }

    def history_view(self, request, object_id, extra_context=None):
        article = self.get_object(request, unquote(object_id))
        if article is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        versions = revisions.article_versions(article.pk)
        paginator = Paginator(versions, HISTORY_PER_PAGE)
        page = paginator.get_page(request.GET.get("p"))
        on_page = list(page.object_list)
        previous = versions.filter(pk__lt=on_page[-1].pk).first() if on_page else None
        if page.number == 1:
            latest_pk = on_page[0].pk if on_page else None
        else:
            latest_pk = versions.values_list("pk", flat=True).first()
        context = self._history_context(
            request,
            article,
            f"History: {article}",
            entries=revision_diff.history(article.pk, on_page, previous),
            page_obj=page,
            page_range=paginator.get_elided_page_range(page.number) if paginator.num_pages > 1 else (),
            latest_pk=latest_pk,
            can_restore=self.has_change_permission(request, article),
            **(extra_context or {}),
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)

    def history_compare_view(self, request, object_id, old_id, new_id):
        article = self._history_article(request, object_id)
        versions = revisions.article_versions(article.pk)
        found = {v.pk: v for v in versions.filter(pk__in=[old_id, new_id])}
        if old_id == new_id or len(found) != 2:
            raise Http404("No such revisions of this story.")
        older, newer = sorted(found.values(), key=lambda v: v.pk)
        snaps = revisions.snapshots_of([older, newer], article.pk)
        readable = snaps[older.pk] is not None and snaps[newer.pk] is not None
        changes = (
            revision_diff.diff(snaps[older.pk], snaps[newer.pk], revision_diff.Names(snaps.values()))
            if readable
            else None
        )
        between = list(versions.filter(pk__gt=older.pk, pk__lte=newer.pk)[:50])
        context = self._history_context(
            request,
            article,
            f"Changes to “{article}”",
            older=revision_diff.HistoryEntry(older),
            newer=revision_diff.HistoryEntry(newer),
            between=[revision_diff.HistoryEntry(v) for v in between],
            diff=changes,
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, HISTORY_TEMPLATES + "revision_compare.html", context)

    def history_restore_view(self, request, object_id, version_id):
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        article = self._history_article(request, object_id)
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        version = get_object_or_404(revisions.article_versions(article.pk), pk=version_id)
        label = revisions.revision_label(version.revision)
        error = None
        if request.method == "POST":
            form = RestoreForm(request.POST)
            if not form.is_valid():
                error = "This page is out of date. Reload it and check the changes before restoring."
            else:
                try:
                    revision_restore.article_restore(
                        article=article,
                        version=version,
                        user=request.user,
                        lock_version=form.cleaned_data["lock_version"],
                    )
                except revision_restore.RestoreRefused as exc:
                    error = str(exc)
                    article.refresh_from_db()
                else:
                    comment = f"Restored the revision of {label}"
                    self.log_change(request, article, comment)
                    self.message_user(
                        request,
                        f"{comment}. The earlier revisions are kept in the story's history.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))
        try:
            _target, changes, notes = revision_restore.restore_preview(article, version, request.user)
        except revision_restore.RestoreRefused as exc:
            changes, notes, error = None, [], error or str(exc)
        context = self._history_context(
            request,
            article,
            f"Restore “{article}” as it was on {label}",
            version=revision_diff.HistoryEntry(version),
            diff=changes,
            notes=notes,
            error=error,
            lock_version=article.lock_version,
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, HISTORY_TEMPLATES + "revision_restore.html", context)
