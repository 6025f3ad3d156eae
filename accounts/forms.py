import math

from django import forms
from django.utils import timezone
from django_otp.forms import OTPAuthenticationFormMixin, OTPTokenForm
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import two_factor

REUSED_CODE = (
    "This code was just used. Wait for your app to show the next one (a new code comes every 30 "
    "seconds), then enter that."
)


def _compact(code: str) -> str:
    """Codes as people type them: spaces and case do not matter."""
    return "".join(code.split()).lower()


def pause_error(device) -> forms.ValidationError | None:
    """The error for a code typed during django-otp's pause after a wrong one (1, 2, 4... seconds,
    growing with each wrong code in a row), or None when codes are checked now. The code is not
    checked, so it is no wrong guess; django-otp's own message speaks of "verification" and
    "failed attempts" and would not say what to do."""
    allowed, details = device.verify_is_allowed()
    if allowed or (details or {}).get("reason") != VerifyNotAllowed.N_FAILED_ATTEMPTS:
        return None
    seconds = max(1, math.ceil((details["locked_until"] - timezone.now()).total_seconds()))
    return forms.ValidationError(
        "Wait a few seconds, then enter the code again: after a wrong code, the next one is checked "
        "only after a short pause, longer after each wrong code (try again in %(seconds)s %(unit)s).",
        code="pause",
        params={"seconds": seconds, "unit": "second" if seconds == 1 else "seconds"},
    )


class SignInCodeForm(OTPTokenForm):
    """The second step of signing in: a code from the authenticator app or a recovery code, checked
    by django-otp (one use per code, and a growing wait after each wrong one).

    Only "invalid_token" is a wrong guess (accounts.views counts it toward the lockout): a code typed
    during the wait after a wrong one ("pause") was not checked, and an app code used already
    ("reused_token") is right, only too late.

    Which device checks it is told by its shape (six digits: the app; letters: a recovery code), so
    a code is tried against one device only and never counts as a failure against the other.
    """

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": "Enter the code from your authenticator app, or one of your recovery codes.",
        "invalid_token": (
            "That code is not right. Check that your phone's clock is right, or use a recovery code."
        ),
        "reused_token": REUSED_CODE,
    }

    def __init__(self, user, request=None, *args, **kwargs):
        super().__init__(user, request, *args, **kwargs)
        del self.fields["otp_device"], self.fields["otp_challenge"]
        self.fields["otp_token"] = forms.CharField(
            label="Code",
            required=False,
            max_length=32,
            widget=forms.TextInput(
                attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "off"}
            ),
        )

    def clean_otp_token(self):
        return _compact(self.cleaned_data["otp_token"])

    def _chosen_device(self, user):
        token = self.cleaned_data.get("otp_token")
        if not token:
            return None
        # Recovery codes are 8 letters and digits (StaticToken.random_token); the app shows 6 digits.
        model = TOTPDevice if token.isdigit() and len(token) < 8 else StaticDevice
        device = model.objects.devices_for_user(user, confirmed=True).select_for_update().first()
        if device is None:
            raise forms.ValidationError(self.otp_error_messages["invalid_token"], code="invalid_token")
        return device

    def _verify_token(self, user, token, device=None):
        if device is not None:
            if error := pause_error(device):
                raise error
            # Checked before django-otp's own check, which would count it as a wrong code.
            if isinstance(device, TOTPDevice) and two_factor.code_just_used(device, token):
                raise forms.ValidationError(self.otp_error_messages["reused_token"], code="reused_token")
        return super()._verify_token(user, token, device)


class SetUpConfirmForm(forms.Form):
    """Proves the app holds the new secret before it is put in use."""

    code = forms.CharField(
        label="Code shown by the app",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, device: TOTPDevice, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_code(self):
        code = _compact(self.cleaned_data["code"])
        if not code.isdigit() or len(code) != self.device.digits:
            raise forms.ValidationError(f"Type the {self.device.digits} digits the app shows now.")
        if error := pause_error(self.device):
            raise error
        if not self.device.verify_token(code):
            raise forms.ValidationError(
                "That code does not match. Check that your phone's clock is right and type the code the "
                "app shows now."
            )
        return code
