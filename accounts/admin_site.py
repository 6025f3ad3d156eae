"""The newsroom's admin site: Django's own, with the two-factor step in front of it.

Like django-otp's OTPAdminSite, it lets a session in only once it is verified, but only when its
user has a device, or may publish while NEWSAPP_REQUIRE_2FA is on; everyone else signs in with the
password alone, as before. A session still owing a step is sent to it (accounts.views) and can do
nothing else in the admin. The password change counts a wrong old password as a failed sign-in.
Every admin view refuses a search term longer than anyone types (SQLite cannot even run some).
"""

from functools import wraps

from django.contrib.admin import AdminSite
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import BadRequest
from django.http import HttpResponseRedirect

from . import throttle, two_factor

MAX_SEARCH_LENGTH = 200


class NewsroomAdminSite(AdminSite):
    def admin_view(self, view, cacheable=False):
        @wraps(view)
        def bounded(request, *args, **kwargs):
            if len(request.GET.get(SEARCH_VAR, "")) > MAX_SEARCH_LENGTH:
                raise BadRequest(
                    f"A search in the newsroom may be at most {MAX_SEARCH_LENGTH} characters long."
                )
            return view(request, *args, **kwargs)

        return super().admin_view(bounded, cacheable)

    def has_permission(self, request):
        return super().has_permission(request) and two_factor.next_step(request.user) is None

    def login(self, request, extra_context=None):
        step = two_factor.next_step(request.user)
        if step and request.method == "GET":
            return HttpResponseRedirect(two_factor.step_url(step, request.GET.get("next", "")))
        response = super().login(request, extra_context)
        # Signed in with the password: a user with a device is asked for a code before going on.
        if request.method == "POST" and response.status_code == 302:
            step = two_factor.next_step(request.user)
            if step:
                return HttpResponseRedirect(two_factor.step_url(step, response["Location"]))
        return response

    def password_change(self, request, extra_context=None):
        username = request.user.get_username()
        if request.method == "POST" and (refused := throttle.refusal(request, username=username)):
            return refused
        response = super().password_change(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and form.has_error("old_password", "password_incorrect"):
            throttle.record_failure(request, username=username)
        return response
