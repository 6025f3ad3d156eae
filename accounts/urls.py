from django.contrib.auth.views import LogoutView
from django.urls import path, reverse_lazy

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.set_up, name="set_up"),
    path("verify/", views.verify, name="verify"),
    # The admin's own sign-out opens only to verified sessions; this one also ends one owing a step.
    path("sign-out/", LogoutView.as_view(next_page=reverse_lazy("admin:login")), name="sign_out"),
]
