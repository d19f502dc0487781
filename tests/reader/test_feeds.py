"""RSS and Atom feeds: valid, live stories only, escaped, conditional."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 (parses our own output)
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.models import State
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def rss_items(response) -> list[ET.Element]:
    root = ET.fromstring(response.content)  # noqa: S314
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    channel = root.find("channel")
    for required in ("title", "link", "description"):
        assert channel.find(required) is not None and channel.find(required).text, required
    items = channel.findall("item")
    for item in items:
        for required in ("title", "link", "guid", "pubDate"):
            assert item.find(required) is not None and item.find(required).text, required
    return items


def atom_entries(response) -> list[ET.Element]:
    root = ET.fromstring(response.content)  # noqa: S314
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None and root.find(f"{ATOM}{required}").text, required
    assert root.find(f"{ATOM}link[@rel='alternate']") is not None
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}") is not None and entry.find(f"{ATOM}{required}").text
        assert entry.find(f"{ATOM}link").get("href")
    return entries


def feed_stories_and_hidden():
    topic = make_topic("Space")
    provider = make_provider(name="Orbit Daily", domain="orbit.example")
    live = make_story(title="Rocket launched", topics=[topic], provider=provider)
    now = timezone.now()
    for title, fields in [
        ("Hidden draft", {"state": State.DRAFT}),
        ("Hidden review", {"state": State.IN_REVIEW}),
        ("Hidden rejected", {"state": State.REJECTED}),
        ("Hidden scheduled", {"go_live_at": now + timedelta(days=1)}),
        ("Hidden expired", {"expire_at": now - timedelta(seconds=1)}),
    ]:
        make_story(title=title, topics=[topic], provider=provider, **fields)
    return live, topic, provider


def test_rss_feed_is_valid_and_lists_only_live_stories(reader, settings):
    settings.SITE_URL = "https://news.example.org"
    live, _, _ = feed_stories_and_hidden()

    response = reader.get(reverse("stories:feed_rss"))

    assert response["Content-Type"].startswith("application/rss+xml")
    items = rss_items(response)
    assert [item.find("title").text for item in items] == ["Rocket launched"]
    assert items[0].find("link").text == f"https://news.example.org{live.get_absolute_url()}"
    assert [c.text for c in items[0].findall("category")] == ["Space"]
    assert b"Hidden" not in response.content


def test_atom_feed_is_valid_and_lists_only_live_stories(reader):
    feed_stories_and_hidden()

    response = reader.get(reverse("stories:feed_atom"))

    assert response["Content-Type"].startswith("application/atom+xml")
    entries = atom_entries(response)
    assert [entry.find(f"{ATOM}title").text for entry in entries] == ["Rocket launched"]
    assert b"Hidden" not in response.content


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_topic_and_provider_feeds_list_only_their_live_stories(reader, kind):
    _, topic, provider = feed_stories_and_hidden()
    make_story(title="Elsewhere", topics=[make_topic("Gardening")])
    parse = rss_items if kind == "rss" else atom_entries
    title_tag = "title" if kind == "rss" else f"{ATOM}title"

    for url in (
        reverse(f"stories:topic_{kind}", kwargs={"slug": topic.slug}),
        reverse(f"stories:provider_{kind}", kwargs={"domain": provider.domain}),
    ):
        response = reader.get(url)
        assert [entry.find(title_tag).text for entry in parse(response)] == ["Rocket launched"], url


def test_feeds_for_unknown_or_unreleased_topics_are_404(reader):
    topic = make_topic("Embargoed")
    make_story(state=State.DRAFT, topics=[topic])

    assert reader.get(reverse("stories:topic_rss", kwargs={"slug": topic.slug})).status_code == 404
    unknown = reverse("stories:provider_atom", kwargs={"domain": "nobody.example"})
    assert reader.get(unknown).status_code == 404


def test_feed_text_is_escaped(reader):
    make_story(title='Bold <script>alert("x")</script>', excerpt="<img src=x onerror=alert(1)>")

    response = reader.get(reverse("stories:feed_rss"))

    item = rss_items(response)[0]
    # The title is text, escaped once by the XML; the description is HTML, our text escaped in it.
    assert item.find("title").text == 'Bold <script>alert("x")</script>'
    assert item.find("description").text == "&lt;img src=x onerror=alert(1)&gt;"
    assert b"<script>" not in response.content
    assert b"<img" not in response.content


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_feed_titles_are_escaped_once(reader, kind):
    make_story(title="Microsoft's &#8220;AT&amp;T&#8221; deal", excerpt="It's done.")

    response = reader.get(reverse(f"stories:feed_{kind}"))

    if kind == "rss":
        item = rss_items(response)[0]
        title, description = item.find("title").text, item.find("description").text
    else:
        entry = atom_entries(response)[0]
        title, description = entry.find(f"{ATOM}title").text, entry.find(f"{ATOM}summary").text
    assert title == "Microsoft's “AT&T” deal"
    assert description == "It's done."
    assert b"&amp;#x27;" not in response.content
    assert b"&amp;amp;" not in response.content


def test_feed_is_newest_first_and_bounded(reader):
    now = timezone.now()
    for hours in range(60):
        make_story(title=f"Hour {hours:02d}", published_at=now - timedelta(hours=hours), images=0)

    items = rss_items(reader.get(reverse("stories:feed_rss")))

    assert len(items) == 50
    assert items[0].find("title").text == "Hour 00"
    assert items[-1].find("title").text == "Hour 49"
