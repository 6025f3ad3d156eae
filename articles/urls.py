from django.urls import path, re_path

from articles.site import favicon, feeds, health, outlets, previews, sitemaps, views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("healthz/live", health.live, name="health_live"),
    path("healthz/ready", health.ready, name="health_ready"),
    path("feed/", feeds.LatestStoriesFeed(), name="feed_rss"),
    path("feed/atom/", feeds.LatestStoriesAtomFeed(), name="feed_atom"),
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap_index"),
    path("sitemap-news.xml", sitemaps.news_sitemap, name="news_sitemap"),
    re_path(
        r"^sitemap-articles-(?P<year>[0-9]{4})-(?P<month>[0-9]{2})\.xml$",
        sitemaps.month_sitemap,
        name="sitemap_month",
    ),
    path("sitemap-<slug:section>.xml", sitemaps.section_sitemap, name="sitemap"),
    path("sources/", outlets.directory, name="sources"),
    path("sources/<slug:slug>/", views.source, name="source"),
    path("preview/<str:token>/", previews.shared_preview, name="shared_preview"),
    path("<slug:section>/", views.section, name="section"),
    path("<slug:section>/feed/", feeds.LatestStoriesFeed(), name="section_feed_rss"),
    path("<slug:section>/feed/atom/", feeds.LatestStoriesAtomFeed(), name="section_feed_atom"),
    path("<slug:section>/<slug:slug>/", views.article, name="article"),
]
