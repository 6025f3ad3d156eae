from django.urls import path

from coverage import balance_pages

app_name = "coverage"

urlpatterns: list = [
    # Filled by the coverage pages: methodology/, blindspot/ (+ feeds), balance/.
    path("balance/", balance_pages.balance_page, name="balance"),
]
