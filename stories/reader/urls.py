from __future__ import annotations

from django.urls import path

from . import feeds, suggest, views
from .conditional import reader_conditional

app_name = "stories"

urlpatterns = [
    path("", views.StoryListView.as_view(), name="home"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("suggest/providers/", suggest.providers, name="suggest_providers"),
    path("suggest/topics/", suggest.topics, name="suggest_topics"),
    path("story/<int:pk>/", views.StoryDetailView.as_view(), name="detail"),
    path("topic/<slug:slug>/", views.TopicView.as_view(), name="topic"),
    path("provider/<str:domain>/", views.ProviderView.as_view(), name="provider"),
    path("feeds/rss/", reader_conditional(feeds.LatestStoriesRss()), name="feed_rss"),
    path("feeds/atom/", reader_conditional(feeds.LatestStoriesAtom()), name="feed_atom"),
    path("topic/<slug:slug>/rss/", reader_conditional(feeds.TopicStoriesRss()), name="topic_rss"),
    path("topic/<slug:slug>/atom/", reader_conditional(feeds.TopicStoriesAtom()), name="topic_atom"),
    path(
        "provider/<str:domain>/rss/",
        reader_conditional(feeds.ProviderStoriesRss()),
        name="provider_rss",
    ),
    path(
        "provider/<str:domain>/atom/",
        reader_conditional(feeds.ProviderStoriesAtom()),
        name="provider_atom",
    ),
]
