"""Sign-in throttling (accounts/throttle.py on django-axes): wrong passwords, wrong old passwords and
wrong share-link tokens, counted per account and per client address in the database, answered 429
with Retry-After once past the limit, until the cool-off has passed; Editors see and clear lockouts."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.cache.backends.base import BaseCache
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts import throttle
from articles.models import PreviewLink
from tests.conftest import signed_in_client, staff_user
from tests.factories import ArticleFactory
from tests.test_settings import run

pytestmark = pytest.mark.django_db

PASSWORD = "harbour-lights-at-dawn-42"
LOGIN = reverse("admin:login")
COOL_OFF = 15 * 60  # seconds: NEWSAPP_LOCKOUT_MINUTES' default
# Retry-After just after the failure that locks: the lock holds through the cool-off's last second.
RETRY_AFTER = COOL_OFF + 1
LIMIT = 5  # NEWSAPP_LOCKOUT_FAILURES' default


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Dozens of password checks per test: the real hasher's cost is the point in production only."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(django_user_model):
    """sign-in-able staff: staff("name", "Editors") -> a user whose password is PASSWORD."""

    def make(username, group="Editors"):
        user = staff_user(django_user_model, username, group)
        user.set_password(PASSWORD)
        user.save()
        return user

    return make


def sign_in(client, username, password=PASSWORD, address="203.0.113.7", **headers):
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post(LOGIN, data, REMOTE_ADDR=address, **headers)


def is_signed_in(client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def assert_locked_out(response, *, retry_after=RETRY_AFTER, why=None):
    assert response.status_code == 429
    seconds = int(response["Retry-After"])
    assert 0 <= retry_after - seconds <= 5  # exact under a frozen clock; a test's run time otherwise
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "Too many failed attempts" in html
    assert f"(in {max(1, -(-(seconds - 1) // 60))} minute" in html
    # The site's strict CSP: no inline script or style on this page either.
    assert "<script" not in html and "style=" not in html and "<style" not in html
    if why:
        assert why in html


def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_429(staff):
    staff("editor")
    client = Client()
    answers = [sign_in(client, "editor", "wrong-guess").status_code for _ in range(30)]
    # Four refusals as usual, the fifth locks, and every try after it is answered 429.
    assert answers == [200] * (LIMIT - 1) + [429] * (30 - LIMIT + 1)
    response = sign_in(client, "editor")
    assert_locked_out(response, why="for this account and from your network address")
    assert not is_signed_in(client)
    # Tries during the lockout are not counted: the wait stays what the fifth failure was told.
    assert AccessAttempt.objects.get().failures_since_start == LIMIT


def test_the_429_page_needs_no_database(django_assert_num_queries):
    context = {
        "site_name": "newsapp",
        "account": True,
        "address": False,
        "until": timezone.now(),
        "minutes": 3,
    }
    with django_assert_num_queries(0):
        html = render_to_string("429.html", context)
    assert "for this account in a short time" in html and "(in 3 minutes)" in html


def test_a_few_wrong_passwords_then_the_right_one_signs_in(staff):
    staff("editor")
    client = Client()
    for _ in range(LIMIT - 1):
        assert sign_in(client, "editor", "wrong-guess").status_code == 200
    assert sign_in(client, "editor").status_code == 302
    assert is_signed_in(client)


def test_an_account_is_locked_whatever_the_addresses_the_guesses_come_from(staff):
    staff("editor")
    staff("colleague")
    for i in range(LIMIT):
        sign_in(Client(), "editor", "wrong-guess", address=f"198.51.100.{i + 1}")
    assert_locked_out(sign_in(Client(), "editor", address="192.0.2.50"), why="for this account in")
    # The lock is on that account: another one signs in from the same fresh address.
    assert sign_in(Client(), "colleague", address="192.0.2.50").status_code == 302


def test_an_address_is_locked_whatever_the_accounts_it_tries(staff):
    staff("editor")
    for name in ("alice", "bob", "carol", "dave", "erin"):
        sign_in(Client(), name, "wrong-guess", address="198.51.100.9")
    assert_locked_out(sign_in(Client(), "editor", address="198.51.100.9"), why="from your network address in")
    # The account itself is not locked: the same password works from another address.
    assert sign_in(Client(), "editor", address="192.0.2.50").status_code == 302


def test_a_forged_x_forwarded_for_does_not_dodge_the_address_limit(staff):
    staff("editor")
    for i in range(LIMIT):
        forged = {"HTTP_X_FORWARDED_FOR": f"10.0.0.{i}"}
        sign_in(Client(), f"user{i}", "wrong-guess", address="198.51.100.9", **forged)
    response = sign_in(Client(), "editor", address="198.51.100.9", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


def test_the_lockout_ends_when_the_cool_off_has_passed(staff):
    staff("editor")
    with freeze_time("2026-03-02 09:00:00") as frozen:
        client = Client()
        for _ in range(LIMIT):
            sign_in(client, "editor", "wrong-guess")
        frozen.tick(timedelta(minutes=5))
        assert_locked_out(sign_in(client, "editor"), retry_after=RETRY_AFTER - 5 * 60)
        # The page says until when, in the site's time zone (London: GMT in March).
        assert "09:15 GMT" in sign_in(client, "editor").content.decode()
        frozen.tick(timedelta(minutes=10))
        assert_locked_out(sign_in(client, "editor"), retry_after=1)
        frozen.tick(timedelta(seconds=1))
        assert sign_in(client, "editor").status_code == 302
        assert is_signed_in(client)


def test_failures_spread_wider_than_the_cool_off_never_lock(staff):
    staff("editor")
    with freeze_time("2026-03-02 09:00:00") as frozen:
        for _ in range(3 * LIMIT):
            assert sign_in(Client(), "editor", "wrong-guess").status_code == 200
            frozen.tick(timedelta(minutes=16))
        assert sign_in(Client(), "editor").status_code == 302


def test_the_throttle_holds_while_the_cache_is_down(settings, staff):
    """Failures live in the database (axes' database handler): a cache that fails every call changes
    nothing, neither a 500 nor a way round the limit."""
    staff("editor")
    settings.CACHES = {"default": {"BACKEND": "tests.accounts.test_signin.BrokenCache"}}
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    for _ in range(LIMIT):
        sign_in(Client(), "editor", "wrong-guess")
    assert_locked_out(sign_in(Client(), "editor"))
    guesser = Client(REMOTE_ADDR="198.51.100.9")
    assert [guesser.get(share_link(f"{i}.guess")).status_code for i in range(LIMIT)] == [404] * (
        LIMIT - 1
    ) + [429]


class BrokenCache(BaseCache):
    """A cache whose server is down: every call fails."""

    def __init__(self, location, params):
        super().__init__(params)

    def _down(self, *args, **kwargs):
        raise ConnectionError("cache server unreachable")

    add = get = set = touch = delete = clear = incr = get_many = set_many = delete_many = has_key = _down


# --- Client address -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "meta", "address"),
    [
        ("", {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "10.1.1.1"}, "203.0.113.7"),
        (
            "X-Forwarded-For",
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.7"},
            "203.0.113.7",
        ),
        ("X-Real-IP", {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "2001:db8::1"}, "2001:db8::1"),
        ("X-Real-IP", {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "not an address"}, "10.0.0.2"),
        ("X-Real-IP", {"REMOTE_ADDR": "10.0.0.2"}, "10.0.0.2"),
        ("", {"REMOTE_ADDR": ""}, None),
    ],
)
def test_the_client_address_comes_from_remote_addr_or_the_proxys_header(rf, settings, header, meta, address):
    settings.NEWSAPP_CLIENT_IP_HEADER = header
    assert throttle.client_address(rf.get("/", **meta)) == address


def test_behind_a_proxy_each_client_has_its_own_limit(settings, staff):
    settings.NEWSAPP_CLIENT_IP_HEADER = "X-Forwarded-For"
    staff("editor")
    proxy = "10.0.0.2"
    for name in ("alice", "bob", "carol", "dave", "erin"):
        sign_in(Client(), name, "wrong-guess", address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert sign_in(Client(), "editor", address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429
    assert sign_in(Client(), "editor", address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.50").status_code == 302
    assert AccessAttempt.objects.filter(ip_address="198.51.100.9").count() == 5


# --- The password change --------------------------------------------------------------------------


def test_wrong_old_passwords_on_the_password_change_count_as_failed_sign_ins(staff):
    editor = staff("editor")
    client = signed_in_client(editor)
    url = reverse("admin:password_change")
    change = {"new_password1": "a-brand-new-passphrase-7", "new_password2": "a-brand-new-passphrase-7"}
    for _ in range(LIMIT - 1):
        response = client.post(url, {"old_password": "wrong-guess", **change}, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in response.content.decode()
    locked = client.post(url, {"old_password": "wrong-guess", **change}, REMOTE_ADDR="203.0.113.7")
    assert_locked_out(locked, why="for this account and from your network address")
    # Even the right old password waits for the cool-off now.
    assert (
        client.post(url, {"old_password": PASSWORD, **change}, REMOTE_ADDR="203.0.113.7").status_code == 429
    )
    editor.refresh_from_db()
    assert editor.check_password(PASSWORD)
    assert client.get(url).status_code == 200  # the form itself still opens


# --- Share links ----------------------------------------------------------------------------------


def share_link(token):
    return reverse("articles:shared_preview", kwargs={"token": token})


def test_repeated_wrong_share_link_tokens_from_one_address_get_429(staff):
    link = PreviewLink.objects.create(
        article=ArticleFactory(draft=True, title="Guarded draft"),
        expires_at=timezone.now() + timedelta(days=1),
    )
    genuine = share_link(link.token)
    guesser = Client(REMOTE_ADDR="198.51.100.9")
    for i in range(LIMIT - 1):
        assert guesser.get(share_link(f"{i}.guess")).status_code == 404
    assert_locked_out(guesser.get(share_link("9.guess")), why="from your network address in")
    # A locked-out address has no guess looked at, even a right one; other addresses are untouched.
    assert guesser.get(genuine).status_code == 429
    assert Client(REMOTE_ADDR="192.0.2.50").get(genuine).status_code == 200
    # A guess has no account: nothing counts against a user, and each address has its own limit.
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {None}


def test_an_expired_share_link_is_no_wrong_guess():
    link = PreviewLink.objects.create(
        article=ArticleFactory(draft=True), expires_at=timezone.now() + timedelta(days=1)
    )
    PreviewLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    holder = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(2 * LIMIT):
        assert holder.get(share_link(link.token)).status_code == 410
    assert not AccessAttempt.objects.exists()


def test_share_link_guesses_and_wrong_passwords_share_the_addresss_limit(staff):
    staff("editor")
    for i in range(LIMIT - 1):
        Client().get(share_link(f"{i}.guess"), REMOTE_ADDR="198.51.100.9")
    assert sign_in(Client(), "someone", "wrong-guess", address="198.51.100.9").status_code == 429
    assert sign_in(Client(), "editor", address="198.51.100.9").status_code == 429


# --- Editors clear lockouts ---------------------------------------------------------------------------


def test_editors_may_view_and_clear_lockouts_and_writers_may_not():
    editors = set(Group.objects.get(name="Editors").permissions.filter(content_type__app_label="axes"))
    assert {p.codename for p in editors} == {"view_accessattempt", "delete_accessattempt"}
    assert not Group.objects.get(name="Writers").permissions.filter(content_type__app_label="axes").exists()


def test_an_editor_sees_the_lockouts_and_clears_one(staff):
    writer = staff("writer", "Writers")
    editor = staff("editor")
    for _ in range(LIMIT):
        sign_in(Client(), "writer", "wrong-guess")
    assert sign_in(Client(), "writer").status_code == 429

    changelist = reverse("admin:axes_accessattempt_changelist")
    editors_view = signed_in_client(editor)
    page = editors_view.get(changelist)
    assert page.status_code == 200
    html = page.content.decode()
    assert "writer" in html and "Locked Out" in html
    attempt = AccessAttempt.objects.get(username="writer")
    # Axes keeps no form data worth reading: the password, as any code, never reaches it.
    assert "wrong-guess" not in attempt.post_data
    cleared = editors_view.post(
        changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    )
    assert cleared.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(Client(), "writer").status_code == 302

    writers_view = signed_in_client(writer)
    assert writers_view.get(changelist).status_code == 403
    assert re.search(r"access attempts", editors_view.get(reverse("admin:index")).content.decode(), re.I)
    assert "Access attempts" not in writers_view.get(reverse("admin:index")).content.decode()


# --- Settings ---------------------------------------------------------------------------------------


def test_the_limits_and_the_two_factor_rule_come_from_the_environment(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from accounts import throttle; "
        "print(s.AXES_FAILURE_LIMIT, throttle.cool_off(), s.NEWSAPP_CLIENT_IP_HEADER, s.NEWSAPP_REQUIRE_2FA)"
    )
    env = {"DJANGO_SECRET_KEY": "x", "DJANGO_DEBUG": "false"}
    result = run(tmp_path, "-c", code, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "0:15:00", "False"]
    result = run(
        tmp_path,
        "-c",
        code,
        NEWSAPP_LOCKOUT_FAILURES="8",
        NEWSAPP_LOCKOUT_MINUTES="30",
        NEWSAPP_CLIENT_IP_HEADER="X-Real-IP",
        NEWSAPP_REQUIRE_2FA="true",
        **env,
    )
    assert result.stdout.split() == ["8", "0:30:00", "X-Real-IP", "True"]
    refused = run(tmp_path, "-c", "import django; django.setup()", NEWSAPP_LOCKOUT_FAILURES="0", **env)
    assert refused.returncode != 0 and "NEWSAPP_LOCKOUT_FAILURES" in refused.stderr
