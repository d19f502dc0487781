"""The reader site: what readers see, what they never see, and how pages behave."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.defaults import server_error

from stories.models import State, Story
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db


def hidden_stories(**fields) -> list[Story]:
    """One story in every state readers must never see."""
    now = timezone.now()
    return [
        make_story(title="Hidden draft", state=State.DRAFT, **fields),
        make_story(title="Hidden in review", state=State.IN_REVIEW, **fields),
        make_story(title="Hidden rejected", state=State.REJECTED, **fields),
        make_story(title="Hidden scheduled", go_live_at=now + timedelta(days=1), **fields),
        make_story(title="Hidden expired", expire_at=now - timedelta(minutes=1), **fields),
    ]


def test_home_lists_live_stories_and_nothing_else(reader):
    make_story(title="Visible story")
    make_story(title="Visible after go-live", go_live_at=timezone.now() - timedelta(hours=1))
    hidden_stories()

    html = reader.get(reverse("stories:home")).content.decode()

    assert "Visible story" in html
    assert "Visible after go-live" in html
    assert "Hidden" not in html


def test_topic_provider_and_search_pages_never_show_hidden_stories(reader):
    topic = make_topic("Elections")
    provider = make_provider(domain="news.example")
    make_story(title="Visible election story", topics=[topic], provider=provider)
    hidden_stories(topics=[topic], provider=provider)

    pages = [
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
        reverse("stories:search") + "?q=hidden",
        reverse("stories:search") + "?q=story",
        reverse("stories:home") + "?topic=elections&provider=news.example",
    ]
    for url in pages:
        html = reader.get(url).content.decode()
        assert "Hidden" not in html, url
    assert "Visible election story" in reader.get(pages[0]).content.decode()


@pytest.mark.parametrize("hidden_index", range(5))
def test_reader_gets_404_for_a_story_that_is_not_live(reader, hidden_index):
    story = hidden_stories()[hidden_index]

    response = reader.get(story.get_absolute_url())

    assert response.status_code == 404
    assert story.title not in response.content.decode()


def test_staff_without_view_permission_gets_404_for_a_draft(client, staff_without_roles):
    story = make_story(title="Secret draft", state=State.DRAFT)
    client.force_login(staff_without_roles)

    assert client.get(story.get_absolute_url()).status_code == 404


def test_logged_in_non_staff_user_gets_404_for_a_draft(client, django_user_model):
    user = django_user_model.objects.create_user(username="rita", password="pw-rita")
    client.force_login(user)
    story = make_story(title="Secret draft", state=State.DRAFT)

    assert client.get(story.get_absolute_url()).status_code == 404


def test_editor_previews_a_draft_marked_as_not_live_and_never_cached(editor_client):
    story = make_story(title="Draft under review", state=State.IN_REVIEW)

    response = editor_client.get(story.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview — not live" in html
    assert "Draft under review" in html
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"


def test_live_story_is_not_marked_as_preview_for_staff(editor_client):
    story = make_story(title="Live story")

    response = editor_client.get(story.get_absolute_url())

    assert "Preview — not live" not in response.content.decode()
    assert "X-Robots-Tag" not in response


def test_staff_listings_show_only_live_stories_too(editor_client):
    make_story(title="Live one")
    make_story(title="Draft one", state=State.DRAFT)

    html = editor_client.get(reverse("stories:home")).content.decode()

    assert "Live one" in html
    assert "Draft one" not in html


def test_story_page_shows_everything_a_reader_needs(reader, settings):
    # Not cached locally here, so the image is the remote one when that fallback is on.
    settings.NEWSROOM_IMAGE_FALLBACK = "remote"
    topic = make_topic("Climate")
    story = make_story(title="Glaciers retreat", excerpt="Ice is melting fast.", topics=[topic], related=2)

    html = reader.get(story.get_absolute_url()).content.decode()

    assert "<h1>Glaciers retreat</h1>" in html
    assert "Ice is melting fast." in html
    assert story.provider.name in html
    assert f'datetime="{story.published_at.isoformat()}"' in html
    assert f'href="{reverse("stories:topic", kwargs={"slug": "climate"})}"' in html
    assert f'href="{story.web_url}" rel="noopener noreferrer"' in html
    assert 'src="https://img.example/' in html
    assert 'width="800" height="450"' in html
    assert "Also covered by" in html


def test_video_story_links_to_its_original_url(reader):
    story = make_story(type="video", web_url=None, original_url="https://videos.example/v/1")

    html = reader.get(story.get_absolute_url()).content.decode()

    assert 'href="https://videos.example/v/1" rel="noopener noreferrer"' in html


def test_related_coverage_is_grouped_by_provider_with_quality(reader):
    story = make_story(title="Main")
    wire = make_provider(name="Wire Service", domain="wire.example")
    daily = make_provider(name="The Daily", domain="daily.example")
    for position, (provider, quality) in enumerate([(daily, 30), (wire, 80), (daily, 55)]):
        story.related_links.create(
            position=position, title=f"Cover {position}", provider=provider, provider_name=provider.name,
            web_url=f"https://{provider.domain}/{position}", quality=quality,
        )

    html = reader.get(story.get_absolute_url()).content.decode()

    # Best provider first; the Daily's two links together, in file order.
    assert html.index("Wire Service") < html.index("The Daily")
    daily_section = html[html.index("The Daily"):]
    assert daily_section.index("Cover 0") < daily_section.index("Cover 2")
    assert "quality 55" in html
    assert "Quality 80" in html
    assert html.count("The Daily") == 1


def test_story_page_has_canonical_open_graph_and_twitter_tags(reader, settings):
    settings.SITE_URL = "https://news.example.org"
    story = make_story(title="Tagged story", excerpt="About tags.")

    html = reader.get(story.get_absolute_url()).content.decode()

    canonical = f"https://news.example.org{story.get_absolute_url()}"
    assert f'<link rel="canonical" href="{canonical}">' in html
    assert f'<meta property="og:url" content="{canonical}">' in html
    assert '<meta property="og:title" content="Tagged story">' in html
    assert '<meta property="og:description" content="About tags.">' in html
    assert '<meta property="og:image" content="https://img.example/' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_script_in_imported_text_is_escaped_everywhere(reader):
    evil = '<script>alert("x")</script>'
    topic = make_topic("Evil <b>topic</b>")
    story = make_story(title=f"Title {evil}", excerpt=f"Excerpt {evil}", topics=[topic], related=0)
    story.related_links.create(title=f"Related {evil}", web_url="https://r.example/1", quality=1)

    for url in (reverse("stories:home"), story.get_absolute_url(), topic.get_absolute_url()):
        html = reader.get(url).content.decode()
        assert "<script>" not in html, url
        assert "<b>topic</b>" not in html, url
        assert "&lt;script&gt;" in html, url


def test_html_entities_in_imported_text_are_shown_as_characters(reader):
    story = make_story(title="It&#8217;s here &amp; now")

    html = reader.get(story.get_absolute_url()).content.decode()

    assert "<h1>It’s here &amp; now</h1>" in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "//evil.example/x",
    ],
)
def test_non_http_urls_never_become_links(reader, url):
    story = make_story(title="Risky links", web_url=url, original_url=url)
    story.related_links.create(title="Risky related", web_url=url, quality=1)
    story.images.update(url=url)

    html = reader.get(story.get_absolute_url()).content.decode()

    assert "javascript:" not in html.lower()
    assert "vbscript:" not in html
    assert "data:text" not in html
    assert "evil.example" not in html
    assert "Risky related" in html
    assert "The link to the original article is not available." in html


def test_featured_content_is_never_rendered_raw(reader):
    raw = '<script>alert(1)</script><iframe src="https://evil.example/embed/x"></iframe>'
    story = make_story(title="Featured", type="video", featured_content=raw)

    html = reader.get(story.get_absolute_url()).content.decode()

    assert "<script>alert(1)" not in html
    assert "evil.example" not in html
    assert "<iframe" not in html


def test_youtube_featured_content_becomes_a_privacy_friendly_embed(reader):
    raw = (
        '<iframe width="800" height="500" frameborder="0" src="https://www.youtube.com/embed/6NPtZSMH0h4" '
        'allow="accelerometer; autoplay; encrypted-media; gyroscope; picture-in-picture" '
        "allowfullscreen></iframe>"
    )
    story = make_story(title="A video", type="video", featured_content=raw)

    html = reader.get(story.get_absolute_url()).content.decode()

    assert 'src="https://www.youtube-nocookie.com/embed/6NPtZSMH0h4"' in html
    assert "www.youtube.com/embed" not in html
    assert 'title="Video: A video"' in html


@pytest.mark.parametrize(
    "raw",
    [
        '<iframe src="https://www.youtube.com/embed/6NPtZSMH0h4"></iframe><script>alert(1)</script>',
        '<iframe src="https://www.youtube.com/embed/6NPtZSMH0h4"></iframe><img src=x onerror=alert(1)>',
        '<iframe src="https://www.youtube.com.evil.example/embed/6NPtZSMH0h4"></iframe>',
        '<iframe src="https://www.youtube.com/embed/6NPtZSMH0h4&quot;onload=alert(1)"></iframe>',
    ],
)
def test_featured_content_that_is_not_a_bare_youtube_iframe_is_dropped(reader, raw):
    story = make_story(title="Tricky", featured_content=raw)

    html = reader.get(story.get_absolute_url()).content.decode()

    assert "<iframe" not in html
    assert "alert(1)" not in html


def test_hot_and_top_orderings(reader):
    make_story(title="Cold but good", heat=1, quality=99)
    make_story(title="Hot but poor", heat=99, quality=1)
    make_story(title="Middling", heat=50, quality=50)

    hot = [story.title for story in reader.get(reverse("stories:home") + "?sort=hot").context["stories"]]
    top = [story.title for story in reader.get(reverse("stories:home") + "?sort=top").context["stories"]]

    assert hot == ["Hot but poor", "Middling", "Cold but good"]
    assert top == ["Cold but good", "Middling", "Hot but poor"]


def test_home_is_newest_first_and_paginated(reader):
    now = timezone.now()
    for day in range(25):
        make_story(title=f"Day {day:02d}", published_at=now - timedelta(days=day))

    first = reader.get(reverse("stories:home"))
    second = reader.get(reverse("stories:home") + "?page=2")

    assert [s.title for s in first.context["stories"]][:3] == ["Day 00", "Day 01", "Day 02"]
    assert len(first.context["stories"]) == 20
    assert [s.title for s in second.context["stories"]] == [f"Day {day:02d}" for day in range(20, 25)]
    assert 'href="?page=2"' in first.content.decode()
    assert reader.get(reverse("stories:home") + "?page=9").status_code == 404


def test_pagination_links_keep_the_filters(reader):
    topic = make_topic("Sport")
    for _ in range(21):
        make_story(topics=[topic])

    html = reader.get(reverse("stories:home") + "?topic=sport&sort=hot").content.decode()

    # The page is rendered from its canonical query (stories.reader.caching): parameters in order.
    assert 'href="?sort=hot&amp;topic=sport&amp;page=2"' in html


def test_topic_page_lists_only_that_topics_live_stories(reader):
    sport, art = make_topic("Sport"), make_topic("Art")
    make_story(title="Match report", topics=[sport])
    make_story(title="Gallery opening", topics=[art])

    response = reader.get(reverse("stories:topic", kwargs={"slug": "sport"}))

    assert [s.title for s in response.context["stories"]] == ["Match report"]
    assert "<h1>Sport</h1>" in response.content.decode()


def test_topic_or_provider_without_live_stories_is_404(reader):
    topic = make_topic("Unreleased")
    provider = make_provider(domain="quiet.example")
    make_story(state=State.DRAFT, topics=[topic], provider=provider)

    assert reader.get(reverse("stories:topic", kwargs={"slug": topic.slug})).status_code == 404
    assert reader.get(reverse("stories:provider", kwargs={"domain": provider.domain})).status_code == 404
    assert reader.get(reverse("stories:topic", kwargs={"slug": "no-such-topic"})).status_code == 404


def test_provider_page_lists_that_providers_stories_case_insensitively(reader):
    provider = make_provider(name="Big Paper", domain="bigpaper.example")
    make_story(title="From the paper", provider=provider)
    make_story(title="From elsewhere")

    response = reader.get(reverse("stories:provider", kwargs={"domain": "BigPaper.example"}))

    assert [s.title for s in response.context["stories"]] == ["From the paper"]
    assert "Stories from Big Paper" in response.content.decode()


def test_empty_site_says_there_are_no_stories_yet(reader):
    make_story(title="Not yet", state=State.DRAFT)

    html = reader.get(reverse("stories:home")).content.decode()

    assert "No stories yet" in html


def test_search_without_results_says_so(reader):
    make_story(title="Something")

    html = reader.get(reverse("stories:search") + "?q=zebra").content.decode()

    assert "No stories found" in html
    assert "Nothing matches “zebra”" in html


def test_unknown_page_gets_the_friendly_404(reader):
    response = reader.get("/no/such/page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_server_error_page_renders_without_context():
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_pages_carry_landmarks_skip_link_and_one_h1(reader):
    story = make_story(topics=[make_topic("Health")])

    for url in (reverse("stories:home"), story.get_absolute_url(), reverse("stories:search") + "?q=x"):
        html = reader.get(url).content.decode()
        assert html.count("<h1") == 1, url
        assert '<a class="skip-link" href="#main">' in html
        assert '<main id="main"' in html
        assert "<header" in html and "<footer" in html and "<nav" in html
        assert 'for="site-search-q"' in html


def test_pages_use_no_inline_script_or_style(reader):
    story = make_story(related=2)

    for url in (reverse("stories:home"), story.get_absolute_url()):
        html = reader.get(url).content.decode()
        scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.DOTALL)
        assert all(body == "" for body in scripts)
        assert html.count("<script") == html.count('<script src="/static/')
        assert "<style" not in html
        assert " style=" not in html


def test_robots_txt_points_at_the_sitemap(reader, settings):
    settings.SITE_URL = "https://news.example.org"

    response = reader.get(reverse("robots_txt"))

    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Sitemap: https://news.example.org/sitemap.xml" in text
    assert "Disallow: /admin/" in text


def test_sitemap_index_lists_every_section(reader):
    make_story(topics=[make_topic("Indexed")])

    xml = reader.get(reverse("sitemap")).content.decode()

    for section in ("home", "stories", "topics", "providers"):
        assert reverse("sitemap_section", kwargs={"section": section}) + "</loc>" in xml


def test_sitemap_lists_only_live_stories_with_lastmod(reader, settings):
    settings.SITE_URL = "https://news.example.org"
    topic = make_topic("Mapped")
    live = make_story(title="Mapped live", topics=[topic])
    hidden = hidden_stories(topics=[topic])

    stories = reader.get(reverse("sitemap_section", kwargs={"section": "stories"})).content.decode()
    topics = reader.get(reverse("sitemap_section", kwargs={"section": "topics"})).content.decode()

    assert f"<loc>https://news.example.org{live.get_absolute_url()}</loc>" in stories
    assert f"<lastmod>{live.updated_at.date().isoformat()}</lastmod>" in stories
    assert f"<loc>https://news.example.org{topic.get_absolute_url()}</loc>" in topics
    for story in hidden:
        assert f"{story.get_absolute_url()}</loc>" not in stories
