"""Sitemaps for millions of stories: files of id ranges listed by an index, a lastmod from one index probe."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.models import State, Story
from stories.reader.sitemaps import URLS_PER_SITEMAP, RangedSitemap
from tests.conftest import make_provider, make_story, make_topic
from tests.reader.generated import generate_stories

pytestmark = pytest.mark.django_db

WIDTH = 10


@pytest.fixture
def narrow_files(monkeypatch):
    """Files of ``WIDTH`` ids, so that a few dozen stories fill several."""
    monkeypatch.setattr(RangedSitemap, "limit", WIDTH)


def section(reader, name: str, page: int | None = None):
    url = reverse("sitemap_section", kwargs={"section": name}) + (f"?p={page}" if page else "")
    return reader.get(url)


def story_ids(response) -> list[int]:
    return [int(found) for found in re.findall(r"/story/(\d+)/</loc>", response.content.decode())]


def files_of(stories) -> list[list[int]]:
    """The ids each file should list: those of one range of ``WIDTH`` ids, ranges in order."""
    ranges: dict[int, list[int]] = {}
    for story in sorted(stories, key=lambda story: story.pk):
        ranges.setdefault((story.pk - 1) // WIDTH, []).append(story.pk)
    return list(ranges.values())


@pytest.mark.usefixtures("narrow_files")
def test_each_file_lists_the_live_stories_of_one_range_of_ids(reader):
    provider = make_provider()
    live = generate_stories(2 * WIDTH + 5, provider=provider)
    generate_stories(WIDTH, provider=provider, state=State.IN_REVIEW)
    expected = files_of(live)

    index = reader.get(reverse("sitemap")).content.decode()
    files = [story_ids(section(reader, "stories", page)) for page in range(1, len(expected) + 1)]

    assert "/sitemap-stories.xml</loc>" in index
    assert f"/sitemap-stories.xml?p={len(expected)}</loc>" in index
    assert f"sitemap-stories.xml?p={len(expected) + 1}<" not in index
    assert files == expected
    assert all(len(listed) <= WIDTH for listed in files)


@pytest.mark.usefixtures("narrow_files")
def test_ranges_without_live_stories_get_no_file(reader):
    provider = make_provider()
    first = generate_stories(3, provider=provider)
    generate_stories(3 * WIDTH, provider=provider, state=State.DRAFT)
    last = generate_stories(2, provider=provider)
    expected = files_of(first + last)

    index = reader.get(reverse("sitemap")).content.decode()
    files = [story_ids(section(reader, "stories", page)) for page in range(1, len(expected) + 1)]

    assert (last[-1].pk - 1) // WIDTH + 1 > len(expected)  # the drafts' ranges are skipped
    assert f"sitemap-stories.xml?p={len(expected) + 1}<" not in index
    assert files == expected
    assert section(reader, "stories", len(expected) + 1).status_code == 404


def test_the_files_hold_at_most_fifty_thousand_locations():
    assert URLS_PER_SITEMAP == RangedSitemap.limit == 50_000


@pytest.mark.usefixtures("narrow_files")
@pytest.mark.parametrize("page", ["0", "-1", "x", "2.5", "4"])
def test_a_file_that_does_not_exist_is_a_404(reader, page):
    generate_stories(WIDTH + 1, provider=make_provider())

    response = reader.get(reverse("sitemap_section", kwargs={"section": "stories"}), {"p": page})

    assert response.status_code == 404


def test_an_empty_site_has_an_empty_first_file(reader):
    response = section(reader, "stories")

    assert response.status_code == 200
    assert "<url>" not in response.content.decode()


@pytest.mark.usefixtures("narrow_files")
def test_topic_and_provider_files_list_only_pages_with_live_stories(reader):
    shown_topic, hidden_topic = make_topic("Shown"), make_topic("Hidden")
    shown_provider, hidden_provider = (
        make_provider(domain="shown.example"),
        make_provider(domain="hidden.example"),
    )
    make_story(provider=shown_provider, topics=[shown_topic])
    make_story(provider=hidden_provider, topics=[hidden_topic], state=State.IN_REVIEW)

    topics = section(reader, "topics").content.decode()
    providers = section(reader, "providers").content.decode()

    assert shown_topic.get_absolute_url() + "</loc>" in topics
    assert hidden_topic.get_absolute_url() + "</loc>" not in topics
    assert "/provider/shown.example/</loc>" in providers and "hidden.example" not in providers


def test_the_latest_lastmod_is_the_newest_change_of_a_live_story(reader):
    provider = make_provider()
    [older, newer] = generate_stories(2, provider=provider)
    [hidden] = generate_stories(1, provider=provider, state=State.IN_REVIEW)
    now = timezone.now()
    Story.objects.filter(pk=older.pk).update(updated_at=now - timedelta(days=2))
    Story.objects.filter(pk=newer.pk).update(updated_at=now - timedelta(days=1))
    Story.objects.filter(pk=hidden.pk).update(updated_at=now)

    response = reader.get(reverse("sitemap"))

    modified = {item.location.rsplit("/", 1)[-1]: item.last_mod for item in response.context["sitemaps"]}
    assert modified["sitemap-stories.xml"] == modified["sitemap-home.xml"] == now - timedelta(days=1)
