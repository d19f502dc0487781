from __future__ import annotations

from django.urls import path

from . import feeds, suggest, views
from .caching import reader_page

app_name = "stories"


urlpatterns = [
    path("", views.StoryListView.as_view(), name="home"),
    path("search/", views.SearchView.as_view(), name="search"),
    # What readers may see, by what they typed: cached per reader version and text.
    path("suggest/providers/", reader_page(suggest.providers, params=("q",)), name="suggest_providers"),
    path("suggest/topics/", reader_page(suggest.topics, params=("q",)), name="suggest_topics"),
    path("story/<int:pk>/", views.StoryDetailView.as_view(), name="detail"),
    path("topic/<slug:slug>/", views.TopicView.as_view(), name="topic"),
    path("provider/<str:domain>/", views.ProviderView.as_view(), name="provider"),
    path("feeds/rss/", reader_page(feeds.LatestStoriesRss()), name="feed_rss"),
    path("feeds/atom/", reader_page(feeds.LatestStoriesAtom()), name="feed_atom"),
    path("topic/<slug:slug>/rss/", reader_page(feeds.TopicStoriesRss()), name="topic_rss"),
    path("topic/<slug:slug>/atom/", reader_page(feeds.TopicStoriesAtom()), name="topic_atom"),
    path(
        "provider/<str:domain>/rss/",
        reader_page(feeds.ProviderStoriesRss()),
        name="provider_rss",
    ),
    path(
        "provider/<str:domain>/atom/",
        reader_page(feeds.ProviderStoriesAtom()),
        name="provider_atom",
    ),
]
