"""The two-factor pages under /admin/two-factor/: set-up (QR code, confirm, recovery codes) and the
code asked for after the password. Both are open to a staff session that still owes its step."""

from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from . import throttle, two_factor
from .forms import SetUpConfirmForm, SignInCodeForm


def staff_session(view):
    """Signed in (with the password at least) as active staff; anyone else goes to the sign-in page."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return never_cache(require_http_methods(["GET", "HEAD", "POST"])(guarded))


def _next_url(request) -> str:
    """Where to go once the step is done: the page asked for, if it is on this site."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    here = {request.get_host()}
    if url_has_allowed_host_and_scheme(url, allowed_hosts=here, require_https=request.is_secure()):
        return url
    return reverse("admin:index")


def _page(request, template: str, context: dict, status: int = 200) -> TemplateResponse:
    context = {**admin.site.each_context(request), "next": _next_url(request), **context}
    if not context["has_permission"]:
        context["is_nav_sidebar_enabled"] = False  # nothing in it opens until the step is done
    return TemplateResponse(request, template, context, status=status)


@sensitive_post_parameters("otp_token")
@staff_session
def verify(request):
    """After the password: a code from the app or a recovery code. Each wrong code counts as a
    failed sign-in for the account and the address (accounts.throttle)."""
    user = request.user
    if two_factor.next_step(user) != two_factor.VERIFY:
        return HttpResponseRedirect(_next_url(request))
    form = SignInCodeForm(user, request)
    if request.method == "POST":
        if refused := throttle.refusal(request, username=user.get_username()):
            return refused
        form = SignInCodeForm(user, request, data=request.POST)
        if form.is_valid():
            two_factor.mark_verified(request, user.otp_device)
            return HttpResponseRedirect(_next_url(request))
        if form.has_error(NON_FIELD_ERRORS, "invalid_token"):
            throttle.record_failure(request, username=user.get_username())
    return _page(request, "accounts/verify.html", {"title": "Two-factor sign-in", "form": form})


@sensitive_post_parameters("code")
@staff_session
def set_up(request):
    """Set up (or replace) the authenticator app: scan, confirm a code, then take the recovery codes."""
    user = request.user
    step = two_factor.next_step(user)
    if step == two_factor.VERIFY:
        # A session signed in with the password alone never replaces the device it has not shown.
        return redirect(two_factor.step_url(step, request.get_full_path()))
    device = two_factor.pending_device(user)
    form = SetUpConfirmForm(device)
    if request.method == "POST":
        form = SetUpConfirmForm(device, data=request.POST)
        if form.is_valid():
            codes = two_factor.set_up_confirm(request, device=device)
            context = {"title": "Your recovery codes", "codes": codes}
            return _page(request, "accounts/recovery_codes.html", context)
    context = {
        "title": "Two-factor sign-in",
        "form": form,
        "required": step == two_factor.SET_UP,
        "replacing": two_factor.has_device(user),
        "recovery_codes_left": two_factor.recovery_codes_left(user),
        "qr_code": two_factor.qr_code_svg(device),
        "secret": two_factor.secret_text(device),
    }
    return _page(request, "accounts/set_up.html", context)
