"""What a story row says of itself: its lead image and its topic names."""

from __future__ import annotations

import pytest

from stories.models import Image, RelatedLink, Story
from tests.conftest import make_story, make_topic

pytestmark = pytest.mark.django_db


def test_the_lead_image_is_the_storys_first_own_image_not_a_logo_or_a_related_ones():
    story = make_story(images=2, related=1)
    Image.objects.create(story=story, role=Image.Role.PROVIDER, position=0, url="https://img.example/logo.png")

    lead = Story.objects.get(pk=story.pk).lead_image

    assert lead == Image.objects.get(story=story, role=Image.Role.LEAD, position=0)
    assert RelatedLink.objects.get(story=story).images.get() != lead


def test_a_story_without_images_has_no_lead_image():
    assert make_story(images=0).lead_image is None


def test_cards_feed_the_lead_image_of_every_story_without_a_query_each(django_assert_num_queries):
    for _ in range(3):
        make_story(images=1)

    stories = list(Story.objects.with_cards())
    with django_assert_num_queries(0):
        leads = [story.lead_image for story in stories]

    assert all(lead is not None and lead.role == Image.Role.LEAD for lead in leads)


def test_topic_names_are_in_the_storys_order():
    story = make_story(topics=[make_topic("Zebra"), make_topic("Apple")])

    assert Story.objects.get(pk=story.pk).topic_names() == ["Zebra", "Apple"]
