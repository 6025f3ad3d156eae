from django.urls import path

from coverage import balance_pages, blindspot_pages, methodology

app_name = "coverage"

urlpatterns: list = [
    # Filled by the coverage pages: methodology/, blindspot/ (+ feeds), balance/.
    path("methodology/", methodology.methodology, name="methodology"),
    path("balance/", balance_pages.balance_page, name="balance"),
    path("blindspot/", blindspot_pages.blindspot_page, name="blindspot"),
    path("blindspot/feed/", blindspot_pages.BlindspotFeed(), name="blindspot_rss"),
    path("blindspot/feed/atom/", blindspot_pages.BlindspotAtomFeed(), name="blindspot_atom"),
]
