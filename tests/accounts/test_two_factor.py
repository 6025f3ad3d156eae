"""Two-factor sign-in (accounts/ on django-otp): set-up from the admin (QR code, confirm, recovery
codes shown once), the code asked for after the password, recovery codes that work once, and
NEWSAPP_REQUIRE_2FA sending Editors without a device to the set-up page before anything else.

`Client.force_login` (tests/conftest.py's signed_in_client) makes a session signed in with a password
only: OTPMiddleware does not count it as verified. It opens the admin as before while its user has no
device and none is required; `verified_client` below adds what checking a code adds to the session."""

import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from tests.conftest import signed_in_client, staff_user

pytestmark = pytest.mark.django_db

PASSWORD = "harbour-lights-at-dawn-42"
SET_UP = reverse("accounts:set_up")
VERIFY = reverse("accounts:verify")
ADMIN = reverse("admin:index")
STORIES = reverse("admin:articles_article_changelist")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock():
    """A frozen clock: TOTP codes live 30 seconds and each is accepted once, so tests step it."""
    with freeze_time("2026-03-02 09:00:00") as frozen:
        yield frozen


@pytest.fixture
def editor(db, django_user_model):
    user = staff_user(django_user_model, "editor", "Editors")
    user.set_password(PASSWORD)
    user.save()
    return user


def app_code(device) -> str:
    """The code the authenticator app shows now."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def set_up_two_factor(client, clock) -> list[str]:
    """Open the set-up page, confirm the app's code, return the recovery codes it shows."""
    assert client.get(SET_UP).status_code == 200
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(SET_UP, {"code": app_code(device)})
    assert response.status_code == 200
    clock.tick(30)  # the next code the app shows
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())


def sign_in_with_password(client, username="editor"):
    return client.post(reverse("admin:login"), {"username": username, "password": PASSWORD, "next": STORIES})


def verified_client(user) -> Client:
    """Signed in as `user` and verified by its app, as after typing a right code."""
    client = signed_in_client(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, confirmed=True).persistent_id
    session.save()
    return client


def no_inline_script_or_style(html: str) -> bool:
    return not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=", html)


# --- Set-up ---------------------------------------------------------------------------------------


def test_a_staff_user_sets_up_two_factor_from_the_admin(editor, clock):
    client = signed_in_client(editor)
    assert f'href="{SET_UP}"' in client.get(ADMIN).content.decode()  # in the admin's user links
    page = client.get(SET_UP)
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=editor)
    assert not device.confirmed
    # The QR code is inline SVG drawn on the server; the secret is there as text too.
    svg = re.search(r'<svg[^>]*class="two-factor-qr"[^>]*>.*?</svg>', html, re.S).group(0)
    assert "<title>QR code for your authenticator app</title>" in svg and "<path" in svg
    assert no_inline_script_or_style(html)
    secret = re.search(r'<code class="two-factor-secret">(([A-Z2-7]{4} ){7}[A-Z2-7]{4})</code>', html).group(
        1
    )
    reload = client.get(SET_UP).content.decode()
    assert secret in reload and svg in reload  # the same secret until it is confirmed

    wrong = client.post(SET_UP, {"code": "000000" if app_code(device) != "000000" else "111111"})
    assert "That code does not match" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not StaticDevice.objects.exists()

    clock.tick(2)  # django-otp makes a wrong code wait a second before the next
    done = client.post(SET_UP, {"code": app_code(device)})
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(set(codes)) == 10
    assert "no-store" in done["Cache-Control"]
    device.refresh_from_db()
    assert device.confirmed
    assert sorted(StaticToken.objects.filter(device__user=editor).values_list("token", flat=True)) == sorted(
        codes
    )
    # The session that set it up counts as verified; the codes are never shown again.
    again = client.get(SET_UP).content.decode()
    assert "Two-factor sign-in is on for your account, with 10 recovery codes left" in again
    assert not any(code in again for code in codes)
    assert client.get(STORIES).status_code == 200


def test_a_writer_may_turn_it_on_too(django_user_model, clock):
    writer = staff_user(django_user_model, "writer", "Writers")
    client = signed_in_client(writer)
    assert len(set_up_two_factor(client, clock)) == 10
    assert client.get(STORIES).status_code == 200


def test_setting_it_up_again_replaces_the_app_and_the_recovery_codes(editor, clock):
    client = signed_in_client(editor)
    old_codes = set_up_two_factor(client, clock)
    old_device = TOTPDevice.objects.get(user=editor)
    new_codes = set_up_two_factor(client, clock)
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists()
    assert TOTPDevice.objects.filter(user=editor, confirmed=True).count() == 1
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new_codes)
    assert not set(old_codes) & set(new_codes)
    assert client.get(STORIES).status_code == 200  # still verified, by the new app


# --- Signing in -------------------------------------------------------------------------------------


def test_with_two_factor_on_signing_in_asks_for_the_code_after_the_password(editor, clock):
    set_up_two_factor(signed_in_client(editor), clock)
    client = Client()
    response = sign_in_with_password(client)
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fadmin%2Farticles%2Farticle%2F"
    # Signed in with the password alone: nothing in the admin opens, each address leads to the code.
    assert client.get(STORIES)["Location"].startswith(reverse("admin:login"))
    assert client.get(reverse("admin:login"))["Location"] == VERIFY
    assert client.get(SET_UP)["Location"].startswith(VERIFY)  # nor can it replace the device
    page = client.get(response["Location"])
    assert page.status_code == 200 and no_inline_script_or_style(page.content.decode())
    assert f'href="{STORIES}"' not in page.content.decode()  # no admin menu leading nowhere

    device = TOTPDevice.objects.get(user=editor)
    right = app_code(device)
    wrong = client.post(VERIFY, {"otp_token": f"{(int(right) + 1) % 10**6:06d}", "next": STORIES})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get(STORIES).status_code == 302
    clock.tick(2)
    done = client.post(VERIFY, {"otp_token": f" {right[:3]} {right[3:]} ", "next": STORIES})
    assert done.status_code == 302 and done["Location"] == STORIES
    assert client.get(STORIES).status_code == 200


def test_a_recovery_code_works_once(editor, clock):
    codes = set_up_two_factor(signed_in_client(editor), clock)
    first = Client()
    sign_in_with_password(first)
    assert first.post(VERIFY, {"otp_token": codes[0].upper()})["Location"] == ADMIN
    assert first.get(STORIES).status_code == 200
    assert StaticToken.objects.count() == 9

    clock.tick(2)
    second = Client()
    sign_in_with_password(second)
    reused = second.post(VERIFY, {"otp_token": codes[0]})
    assert reused.status_code == 200 and "That code is not right" in reused.content.decode()
    clock.tick(2)
    assert second.post(VERIFY, {"otp_token": codes[1]}).status_code == 302
    assert second.get(STORIES).status_code == 200


def test_wrong_codes_count_as_failed_sign_ins(editor, clock):
    set_up_two_factor(signed_in_client(editor), clock)
    client = Client()
    sign_in_with_password(client)
    answers = []
    for _ in range(5):
        answers.append(client.post(VERIFY, {"otp_token": "abcdefgh"}).status_code)
        clock.tick(120)  # past django-otp's own growing wait, so each code is really checked
    assert answers == [200, 200, 200, 200, 429]
    assert AccessAttempt.objects.get().username == "editor"
    assert client.post(VERIFY, {"otp_token": app_code(TOTPDevice.objects.get())}).status_code == 429


def test_a_code_used_already_is_refused_as_used_not_as_wrong(editor, clock):
    """The code just typed on the set-up page, or in another browser, is right but spent: the page
    says to wait for the next one, and it is no wrong guess (no lockout count, no pause)."""
    setting_up = signed_in_client(editor)
    setting_up.get(SET_UP)
    device = TOTPDevice.objects.get(user=editor)
    code = app_code(device)
    assert setting_up.post(SET_UP, {"code": code}).status_code == 200  # turned on with `code`

    clock.tick(5)  # still the same code in the app
    other_browser = Client()
    sign_in_with_password(other_browser)
    for _ in range(2):
        again = other_browser.post(VERIFY, {"otp_token": code, "next": STORIES})
        html = again.content.decode()
        assert again.status_code == 200
        assert "This code was just used. Wait for your app to show the next one" in html
        assert "That code is not right" not in html
    assert not AccessAttempt.objects.exists()
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert other_browser.get(STORIES).status_code == 302

    clock.tick(30)  # the app's next code works at once: no pause was imposed
    done = other_browser.post(VERIFY, {"otp_token": app_code(device), "next": STORIES})
    assert done["Location"] == STORIES

    # The same in two browsers signing in with one code.
    clock.tick(30)
    first, second = Client(), Client()
    sign_in_with_password(first)
    sign_in_with_password(second)
    code = app_code(device)
    assert first.post(VERIFY, {"otp_token": code})["Location"] == ADMIN
    assert "This code was just used" in second.post(VERIFY, {"otp_token": code}).content.decode()
    assert not AccessAttempt.objects.exists()


def test_a_wrong_code_near_a_used_one_still_counts(editor, clock):
    set_up_two_factor(signed_in_client(editor), clock)
    device = TOTPDevice.objects.get(user=editor)
    used = app_code(device)
    first = Client()
    sign_in_with_password(first)
    assert first.post(VERIFY, {"otp_token": used}).status_code == 302
    second = Client()
    sign_in_with_password(second)
    wrong = f"{(int(used) + 1) % 10**6:06d}"
    assert "That code is not right" in second.post(VERIFY, {"otp_token": wrong}).content.decode()
    assert AccessAttempt.objects.get().failures_since_start == 1


def test_the_right_code_just_after_a_wrong_one_asks_to_wait(editor, clock):
    set_up_two_factor(signed_in_client(editor), clock)
    client = Client()
    sign_in_with_password(client)
    right = app_code(TOTPDevice.objects.get())
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    assert "That code is not right" in client.post(VERIFY, {"otp_token": wrong}).content.decode()

    clock.tick(0.5)  # typed again at once: django-otp checks no code for a second after a wrong one
    too_soon = client.post(VERIFY, {"otp_token": right, "next": STORIES})
    html = too_soon.content.decode()
    assert too_soon.status_code == 200
    assert (
        "Wait a few seconds, then enter the code again: after a wrong code, the next one is checked only "
        "after a short pause, longer after each wrong code (try again in 1 second)."
    ) in html
    assert "Verification temporarily disabled" not in html and "failed attempt" not in html
    assert AccessAttempt.objects.get().failures_since_start == 1  # the wrong code only

    clock.tick(1)
    assert client.post(VERIFY, {"otp_token": right, "next": STORIES})["Location"] == STORIES


def test_setting_up_says_to_wait_after_a_wrong_code_too(editor, clock):
    client = signed_in_client(editor)
    client.get(SET_UP)
    device = TOTPDevice.objects.get(user=editor)
    right = app_code(device)
    client.post(SET_UP, {"code": f"{(int(right) + 1) % 10**6:06d}"})
    too_soon = client.post(SET_UP, {"code": right}).content.decode()
    assert "Wait a few seconds, then enter the code again" in too_soon
    assert "That code does not match" not in too_soon
    clock.tick(2)
    assert "recovery codes" in client.post(SET_UP, {"code": right}).content.decode().lower()
    device.refresh_from_db()
    assert device.confirmed


def test_the_code_page_goes_only_to_this_site(editor, clock):
    set_up_two_factor(signed_in_client(editor), clock)
    client = Client()
    sign_in_with_password(client)
    response = client.post(
        VERIFY, {"otp_token": app_code(TOTPDevice.objects.get()), "next": "https://evil.example/"}
    )
    assert response["Location"] == ADMIN


def test_signing_out_from_the_code_page(editor, clock):
    set_up_two_factor(signed_in_client(editor), clock)
    client = Client()
    sign_in_with_password(client)
    assert client.post(reverse("accounts:sign_out"))["Location"] == reverse("admin:login")
    assert client.get(VERIFY)["Location"].startswith(reverse("admin:login"))


def test_the_two_factor_pages_need_a_staff_sign_in(client):
    for url in (SET_UP, VERIFY):
        assert client.get(url)["Location"].startswith(reverse("admin:login"))


def test_a_verified_session_skips_the_code_page(editor, clock):
    set_up_two_factor(signed_in_client(editor), clock)
    client = verified_client(editor)
    assert client.get(f"{VERIFY}?next={STORIES}")["Location"] == STORIES
    assert client.get(STORIES).status_code == 200


# --- force_login and NEWSAPP_REQUIRE_2FA ------------------------------------------------------------


def test_force_login_is_a_password_only_session(editor, clock):
    """Tests that sign in with force_login get the admin while the user has no device; once it has
    one, such a session is asked for the code like any password-only sign-in."""
    assert signed_in_client(editor).get(STORIES).status_code == 200
    set_up_two_factor(signed_in_client(editor), clock)
    assert signed_in_client(editor).get(STORIES).status_code == 302
    assert verified_client(editor).get(STORIES).status_code == 200


def test_with_require_2fa_an_editor_without_a_device_must_set_it_up_first(editor, settings, clock):
    settings.NEWSAPP_REQUIRE_2FA = True
    client = signed_in_client(editor)
    for url in (ADMIN, STORIES, reverse("admin:articles_article_add"), reverse("admin:password_change")):
        assert client.get(url)["Location"].startswith(reverse("admin:login")), url
    assert client.get(reverse("admin:login"))["Location"] == SET_UP
    page = client.get(SET_UP).content.decode()
    assert "Editors sign in to this newsroom with two factors" in page
    assert "Sign out" in page

    # Signing in with the password leads straight to the set-up page.
    fresh = Client()
    assert sign_in_with_password(fresh)["Location"] == f"{SET_UP}?next=%2Fadmin%2Farticles%2Farticle%2F"

    set_up_two_factor(client, clock)
    assert client.get(STORIES).status_code == 200


def test_with_require_2fa_writers_still_sign_in_with_the_password(django_user_model, settings):
    settings.NEWSAPP_REQUIRE_2FA = True
    writer = staff_user(django_user_model, "writer", "Writers")
    assert signed_in_client(writer).get(STORIES).status_code == 200
