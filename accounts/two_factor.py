"""Two-factor sign-in on django-otp: an authenticator app (TOTP) and one-time recovery codes.

OTPMiddleware marks a session verified once a code has been checked in it (`user.otp_device`). A
session signed in with a password alone, as `Client.force_login` makes in tests, is not verified:
it opens the admin only while its user has no device and is not required to have one.
"""

import time
from base64 import b32encode
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from articles.permissions import can_publish

VERIFY, SET_UP = "accounts:verify", "accounts:set_up"
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
RECOVERY_CODES = 10


def has_device(user) -> bool:
    """Whether the user has set up two-factor sign-in (kept on the user object for the request)."""
    if not hasattr(user, "_has_otp_device"):
        # One query for both kinds, asked on every admin page of a session not verified yet.
        devices = [
            Exists(model.objects.filter(user=OuterRef("pk"), confirmed=True))
            for model in (TOTPDevice, StaticDevice)
        ]
        user._has_otp_device = get_user_model().objects.filter(devices[0] | devices[1], pk=user.pk).exists()
    return user._has_otp_device


def is_required(user) -> bool:
    """NEWSAPP_REQUIRE_2FA applies to those who can publish: the Editors (and superusers)."""
    return settings.NEWSAPP_REQUIRE_2FA and can_publish(user)


def next_step(user) -> str | None:
    """The page a signed-in staff user must pass before the admin opens (VERIFY or SET_UP), or None."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return None
    # Only a device checked in this session counts (the attribute is missing just after login()).
    if getattr(user, "otp_device", None) is not None:
        return None
    if has_device(user):
        return VERIFY
    return SET_UP if is_required(user) else None


def step_url(step: str, next_url: str = "") -> str:
    url = reverse(step)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def mark_verified(request, device) -> None:
    """Record in the session that `device` verified its user; a new session key, as for any sign-in."""
    django_otp.login(request, device)
    request.session.cycle_key()


def pending_device(user) -> TOTPDevice:
    """The authenticator-app device being set up: one per user, kept until confirmed (so the QR code
    does not change on reload); a confirmed device stays in use until the new one is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def set_up_confirm(request, *, device: TOTPDevice) -> list[str]:
    """Put a pending device (whose code has just been checked) in use: it replaces any earlier app
    and recovery codes, the session counts as verified, and the new recovery codes are returned to
    be shown once."""
    user = device.user
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=user).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    recovery = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    mark_verified(request, device)
    return codes


def code_just_used(device: TOTPDevice, token: str) -> bool:
    """Whether `token` is a right code of the app that was used already: one for a time step the
    device has accepted a code for (django-otp keeps the latest in `last_t` and takes each step once),
    among the steps a code counts for now. Typed again in a second browser, or just after set-up, it
    is refused, but it is no wrong guess: the person holds the phone."""
    if not token.isdigit():
        return False
    code = int(token)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    # The same steps TOTPDevice.verify_token tries (its tolerance either side), those it refuses.
    for offset in range(-device.tolerance, device.tolerance + 1):
        totp.drift = device.drift + offset
        if totp.t() <= device.last_t and totp.token() == code:
            return True
    return False


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def secret_text(device: TOTPDevice) -> str:
    """The secret as typed into an app by hand: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> SafeString:
    """The device's otpauth:// address as an inline SVG QR code: drawn here, with presentation
    attributes only (no style attribute, no script), so the strict CSP holds and no image is fetched."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, light="#fff", svgclass="two-factor-qr", title="QR code for your authenticator app"
    )
    return mark_safe(svg)  # markup made by segno from our own address, not text from a user
