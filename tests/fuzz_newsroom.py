"""What the fuzz suite knows of the site (tests/test_fuzz.py): its URL patterns, the valid values of
their parameters in the demo newsroom, the identities requests are sent as, and the forms and links
its own pages carry (read from each page as a superuser sees it)."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from reversion.models import Version

from articles.models import Article, Category, PreviewLink, Source
from articles.newsroom import previews as sharing
from tests.conftest import signed_in_client, staff_user
from tests.fuzz_inputs import hosts, wire
from tests.fuzzing import Answer, Probe, Route, Sender, url_routes


@dataclass(repr=False)
class Newsroom:
    routes: list[Route]
    values: dict[str, list[str]]  # parameter name, or "route name:parameter name" -> valid values
    identities: list[str]
    hosts: list[str]
    # By route name: its page's form filled in, every field and option it offers, its file fields.
    forms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    fields: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    query_pairs: list[tuple[str, str]] = field(default_factory=list)  # from the pages' own links
    harvest_failures: list[Answer] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<Newsroom: {len(self.routes)} routes, {len(self.forms)} forms, identities {self.identities}>"

    @property
    def query_keys(self) -> list[str]:
        return sorted({key for key, _ in self.query_pairs})

    @property
    def signed_in(self) -> list[str]:
        return [who for who in self.identities if who != "anonymous"]

    def valid(self, route: Route, name: str) -> list[str]:
        return self.values.get(f"{route.name}:{name}") or self.values.get(name, [])

    def first_path(self, route: Route) -> str | None:
        """The route's path with its first valid value for each parameter (None when one has none)."""
        values = {param.name: self.valid(route, param.name)[:1] for param in route.params}
        if not all(values.values()):
            return None
        return route.path({name: found[0] for name, found in values.items()})


def _cookie(user) -> str:
    return "; ".join(f"{m.key}={m.coded_value}" for m in signed_in_client(user).cookies.values())


def _identities() -> dict[str, str]:
    """who -> Cookie header: a reader, a Writer, an Editor, a superuser, and an Editor who has an
    authenticator app but signed in with the password only (owing the two-factor step)."""
    users = get_user_model()
    owing = staff_user(users, "fuzz-owing", "Editors")
    TOTPDevice.objects.create(user=owing, name="Authenticator app", confirmed=True)
    return {
        "anonymous": "",
        "writer": _cookie(staff_user(users, "fuzz-writer", "Writers")),
        "editor": _cookie(staff_user(users, "fuzz-editor", "Editors")),
        "superuser": _cookie(users.objects.create_superuser("fuzz-root", "root@example.org", None)),
        "owing 2FA": _cookie(owing),
    }


def _share_links(draft, live, editor) -> list[str]:
    """Tokens of share links (working, expired, revoked, one for a story now live) and forged ones."""
    links = [
        sharing.preview_link_create(article=draft, user=editor, lifetime=sharing.MAX_LIFETIME)
        for _ in range(3)
    ]
    PreviewLink.objects.filter(pk=links[1].pk).update(expires_at=timezone.now())
    sharing.preview_link_revoke(link=links[2], user=editor)
    soon = timezone.now() + sharing.MAX_LIFETIME
    links.append(PreviewLink.objects.create(article=live, created_by=editor, expires_at=soon))
    tokens = [link.token for link in links]
    return [*tokens, tokens[0][:-1] + "x", tokens[0].replace(".", ":"), "1.forged"]


def _admin_ids(routes: list[Route], draft) -> dict[str, list[str]]:
    """Each admin page's object_id: rows of its own model (the draft first for stories)."""
    values = {}
    for model in admin.site._registry:
        pks = [str(pk) for pk in model._default_manager.order_by("pk").values_list("pk", flat=True)[:3]]
        if model is Article:
            pks.insert(0, str(draft.pk))
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        values |= {f"{route.name}:object_id": pks for route in routes if route.name.startswith(prefix)}
    return values


def newsroom(media: Path) -> tuple[Newsroom, Sender]:
    """The newsroom as loaded (seed_demo), with identities and share links added."""
    identities = _identities()
    editor = get_user_model().objects.get(username="fuzz-editor")
    sections = list(Category.objects.values_list("slug", flat=True))
    live = Article.objects.published().filter(category__slug=sections[0]).first()
    draft = Article.objects.filter(status=Article.Status.DRAFT).first()
    stories = [live, draft, Article.objects.scheduled().first()]
    outlets = list(Source.objects.values_list("slug", flat=True)[:5])
    dates = Article.objects.published().values_list("published_at", flat=True)
    months = sorted({f"{d:%Y-%m}" for d in dates})
    versions = [str(pk) for pk in Version.objects.get_for_object(draft).values_list("pk", flat=True)]
    routes = url_routes()
    values = {
        "section": sections,
        "slug": [s.slug for s in stories] + outlets[:2],
        "articles:source:slug": outlets,
        "token": _share_links(draft, live, editor),
        "year": [m[:4] for m in months[-2:]] + ["0000", "9999"],
        "month": [m[5:] for m in months[-2:]] + ["00", "13"],
        "content_type_id": [str(ContentType.objects.get_for_model(m).pk) for m in (Article, Source)],
        "version_id": versions,
        "old_id": versions,
        "new_id": versions[::-1],
        "link_id": [str(pk) for pk in draft.preview_links.values_list("pk", flat=True)],
        "id": [str(pk) for pk in get_user_model().objects.values_list("pk", flat=True)],
        "pk": [str(pk) for pk in TOTPDevice.objects.values_list("pk", flat=True)],
        "path": sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())[:3],
        "admin:view_on_site:object_id": [str(s.pk) for s in stories],
        **_admin_ids(routes, draft),
    }
    site = Newsroom(routes, values, list(identities), hosts(settings.ALLOWED_HOSTS))
    return site, Sender(identities)


class _PageForms(HTMLParser):
    """A page's form filled in as a browser would submit it, every field and option it offers, and
    its links' query pairs; values percent-encoded."""

    def __init__(self):
        super().__init__()
        self.form, self.fields, self.files, self.pairs = [], [], [], []
        self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name, value = attrs.get("name"), wire(attrs.get("value") or "")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "image", "reset"):
            self.fields.append((name, value))
            if attrs.get("type") == "file":
                self.files.append(name)
            if attrs.get("type") not in ("checkbox", "radio", "file") or "checked" in attrs:
                self.form.append((name, value))
        elif tag == "select" and name:
            self.select, self.textarea = (name, "multiple" in attrs, []), None
        elif tag == "option" and self.select:
            self.fields.append((self.select[0], value))
            self.select[2].append((value, "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
        elif tag == "a" and "?" in (attrs.get("href") or ""):
            query = attrs["href"].split("?", 1)[1]
            self.pairs += [tuple(pair.split("=", 1)) for pair in query.split("&") if "=" in pair]

    def handle_data(self, data):
        if self.textarea:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            name, multiple, options = self.select
            chosen = [v for v, selected in options if selected] or [v for v, _ in options[:1] if not multiple]
            self.form += [(name, v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.form.append((self.textarea[0], wire(self.textarea[1].removeprefix("\n"))))
            self.fields.append(self.form[-1])
            self.textarea = None


def harvest(site: Newsroom, sender: Sender) -> None:
    """Read each route's page as the superuser sees it: its form and links become values to fuzz
    with. Bad answers met on the way are kept for the sweep to report."""
    for route in site.routes:
        path = site.first_path(route)
        if path is None:
            continue
        answer = sender.send(Probe(who="superuser", path=path), "harvest")
        if answer.problems():
            site.harvest_failures.append(answer)
        if "html" not in answer.headers.get("content-type", ""):
            continue
        page = _PageForms()
        page.feed(answer.body.decode("utf-8", "replace"))
        keep = [(k, v) for k, v in page.form if len(v) < 2000]
        if keep:
            site.forms[route.name] = keep
            site.fields[route.name] = [(k, v) for k, v in page.fields if len(v) < 2000]
            site.files[route.name] = page.files
        site.query_pairs += [pair for pair in page.pairs if pair not in site.query_pairs]
