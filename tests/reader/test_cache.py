"""The shared cache of reader pages: keyed on the reader version and the canonical query, never
filled by staff, never holding what readers may not see; against Redis as in production."""

from __future__ import annotations

import pytest
import redis
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from newsroom.settings import cache_from_url
from stories import workflow
from stories.models import State, Story
from stories.reader.caching import canonical_query, storable
from stories.workflow.drafts import edit
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/5"  # the tests' own database on the shared Redis


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def queries_of(client: Client, url: str, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **kwargs)
    return len(captured), response


def reader_urls(topic, provider) -> list[str]:
    return [
        reverse("stories:home"),
        reverse("stories:home") + "?sort=top",
        reverse("stories:search") + "?q=story",
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
        reverse("stories:feed_rss"),
        reverse("stories:topic_atom", kwargs={"slug": topic.slug}),
        reverse("sitemap"),
        reverse("sitemap_section", kwargs={"section": "stories"}),
    ]


def test_a_second_reader_gets_every_listing_feed_and_sitemap_without_a_query(reader):
    topic, provider = make_topic("News"), make_provider()
    make_story(topics=[topic], provider=provider)
    urls = reader_urls(topic, provider)
    first = {url: reader.get(url) for url in urls}

    for url in urls:
        count, again = queries_of(Client(), url)
        assert count == 0, url
        assert again.status_code == 200, url
        assert again.content == first[url].content, url
        assert again["ETag"] == first[url]["ETag"], url


def test_unknown_parameters_share_the_page_and_its_etag(reader):
    make_story(title="Shared story")
    plain = reader.get(reverse("stories:home") + "?sort=hot")

    count, tracked = queries_of(reader, reverse("stories:home") + "?utm_source=x&sort=hot&fbclid=1")

    assert count == 0
    assert tracked.content == plain.content
    assert tracked["ETag"] == plain["ETag"]
    assert "utm_source" not in tracked.content.decode()


def test_a_page_of_other_parameters_is_its_own_entry(reader):
    make_story(title="Low quality story", quality=1)
    make_story(title="High quality story", quality=99)
    reader.get(reverse("stories:home"))

    count, top = queries_of(reader, reverse("stories:home") + "?sort=top")

    assert count > 0
    body = top.content.decode()
    assert body.index("High quality story") < body.index("Low quality story")


def test_the_canonical_query_keeps_only_what_the_page_reads():
    from django.http import QueryDict

    query = QueryDict("utm_source=x&topic=b&topic=a&topic=b&q=%20two%20%20words%20&page=&sort=hot")

    canonical = canonical_query(query, ["q", "topic", "page", "sort"])

    assert canonical.urlencode() == "q=two+words&sort=hot&topic=b&topic=a"


def test_a_change_readers_see_is_shown_at_once(reader, moderator, committed):
    make_story(title="Already there")
    waiting = make_story(title="Just published", state=State.IN_REVIEW)
    assert "Just published" not in reader.get(reverse("stories:home")).content.decode()

    with committed():
        workflow.transition(waiting, action=workflow.PUBLISH, actor=moderator)

    assert "Just published" in reader.get(reverse("stories:home")).content.decode()
    assert "Just published" in reader.get(reverse("stories:feed_rss")).content.decode()


def test_a_draft_never_reaches_readers_through_the_cache(reader, editor, committed):
    story = Story.objects.with_cards().get(pk=make_story(title="Live title").pk)
    staff = Client()
    staff.force_login(editor)

    with committed():
        edit(story, actor=editor, content={"title": "Secret draft title"})
    # Staff look at every reader page first: nothing they are shown is kept for readers.
    for url in [
        reverse("stories:home"),
        reverse("stories:detail", args=[story.pk]),
        reverse("stories:feed_rss"),
    ]:
        staff.get(url)

    for url in [
        reverse("stories:home"),
        reverse("stories:feed_rss"),
        reverse("stories:search") + "?q=Secret",
    ]:
        body = reader.get(url).content.decode()
        assert "Secret draft title" not in body, url


def test_staff_neither_read_nor_fill_the_page_cache(reader, editor):
    make_story()
    staff = Client()
    staff.force_login(editor)

    staff_count, _ = queries_of(staff, reverse("stories:home"))
    reader_count, _ = queries_of(reader, reverse("stories:home"))
    staff_again, _ = queries_of(staff, reverse("stories:home"))

    assert reader_count > 0  # staff filled nothing
    assert staff_count > 0 and staff_again > 0  # and read nothing


def test_a_cached_page_sets_no_cookie_and_does_not_vary_on_one(reader):
    make_story()
    reader.get(reverse("stories:home"))

    again = Client().get(reverse("stories:home"))

    assert not again.cookies
    assert "Cookie" not in again.get("Vary", "")


def test_a_missing_page_is_not_kept(reader, django_assert_max_num_queries):
    make_story()
    missing = reverse("stories:topic", kwargs={"slug": "nothing-here"})
    assert reader.get(missing).status_code == 404

    count, again = queries_of(reader, missing)

    assert again.status_code == 404
    assert count > 0


def test_no_page_is_kept_when_the_page_cache_is_off(reader, settings):
    settings.NEWSROOM_READER_CACHE_SECONDS = 0
    make_story()
    reader.get(reverse("stories:home"))

    count, _ = queries_of(reader, reverse("stories:home"))

    assert count > 0


@pytest.mark.parametrize(
    "spoil",
    [
        lambda request, response: response.set_cookie("tracking", "1"),
        lambda request, response: response.headers.__setitem__("Cache-Control", "private"),
        lambda request, response: response.headers.__setitem__("Vary", "Accept-Encoding, Cookie"),
        lambda request, response: setattr(response, "status_code", 302),
        lambda request, response: get_token(request),
    ],
    ids=["cookie", "private", "vary-cookie", "redirect", "csrf-token"],
)
def test_only_a_plain_response_for_anyone_is_kept(spoil):
    request, response = RequestFactory().get("/"), HttpResponse("page")
    assert storable(request, response)

    spoil(request, response)

    assert not storable(request, response)


# --- Configuration -----------------------------------------------------------------------------


def test_a_redis_url_gives_djangos_redis_cache_with_timeouts():
    config = cache_from_url("redis://:secret@cache.example:6380/2")

    assert config["BACKEND"] == "newsroom.cache.RedisCache"  # Django's, answering while Redis is down
    assert config["LOCATION"] == "redis://:secret@cache.example:6380/2"
    assert config["OPTIONS"]["socket_timeout"] == 1.0


def test_no_url_gives_each_process_its_own_memory_cache():
    assert cache_from_url("")["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_an_unsupported_cache_url_fails_loudly_without_repeating_it():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured) as error:
        cache_from_url("memcache://user:secret@cache.example:11211")
    assert "secret" not in str(error.value)


# --- Against Redis -----------------------------------------------------------------------------


@pytest.fixture
def redis_cache(settings):
    """The default cache on the shared Redis (database 5, emptied before and after)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    client.flushdb()
    settings.CACHES = {"default": cache_from_url(REDIS_URL)}
    yield client
    client.flushdb()
    client.close()


def keys(client, pattern: str) -> list[bytes]:
    return client.keys(f"*{pattern}*")


def test_with_redis_unknown_parameters_share_one_entry(redis_cache, reader):
    make_story(title="In Redis")
    reader.get(reverse("stories:home"))

    count, again = queries_of(Client(), reverse("stories:home") + "?utm_source=newsletter&utm_medium=mail")

    assert count == 0
    assert "In Redis" in again.content.decode()
    assert len(keys(redis_cache, "reader-page")) == 1
    assert len(keys(redis_cache, "reader-version")) == 1


def test_with_redis_a_304_needs_no_query(redis_cache, reader, django_assert_num_queries):
    make_story()
    etag = reader.get(reverse("stories:feed_atom"))["ETag"]

    with django_assert_num_queries(0):
        assert reader.get(reverse("stories:feed_atom"), headers={"If-None-Match": etag}).status_code == 304


def test_with_redis_a_published_story_reaches_every_process_at_once(
    redis_cache, reader, moderator, committed
):
    make_story(title="Old news")
    waiting = make_story(title="Fresh news", state=State.IN_REVIEW)
    reader.get(reverse("stories:home"))

    with committed():
        workflow.transition(waiting, action=workflow.PUBLISH, actor=moderator)

    # What another process sees: the version it reads from Redis has moved.
    assert "Fresh news" in Client().get(reverse("stories:home")).content.decode()
    assert len(keys(redis_cache, "reader-page")) == 2


def test_with_redis_unreachable_pages_are_rendered_without_it(settings, reader, caplog):
    settings.CACHES = {"default": cache_from_url("redis://127.0.0.1:1/0")}
    make_story(title="Still served")

    first = reader.get(reverse("stories:home"))
    again = reader.get(reverse("stories:home"), headers={"If-None-Match": first["ETag"]})

    assert first.status_code == 200 and "Still served" in first.content.decode()
    assert again.status_code == 304
    assert "the cache is unavailable" in caplog.text
