"""Reader pages show our own thumbnails, and fall back per NEWSROOM_IMAGE_FALLBACK."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stories.images.cache import store_upload
from stories.models import Image, Story
from tests.conftest import make_story
from tests.images_support import make_image_bytes


@pytest.fixture(autouse=True)
def media(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.MEDIA_URL = "/media/"
    settings.NEWSROOM_IMAGE_WIDTHS = [320, 640, 1024]


def cache(story: Story) -> Image:
    copy = store_upload(make_image_bytes("JPEG", (1200, 675)))
    image = story.images.get()
    image.cache_status = Image.CacheStatus.CACHED
    image.local_file.name = copy.local_file
    image.local_width, image.local_height = copy.width, copy.height
    image.thumbnails = copy.thumbnails
    image.save()
    return image


def test_the_story_page_uses_local_thumbnails_with_dimensions_and_alt(reader):
    story = make_story(title="Bridge reopens")
    image = cache(story)
    body = reader.get(reverse("stories:detail", kwargs={"pk": story.pk})).content.decode()
    assert '<source type="image/webp" srcset="/media/images/' in body
    assert 'sizes="(min-width: 50rem) 50rem, 100vw"' in body
    assert 'width="640" height="360" alt="Bridge reopens" class="story__image"' in body
    assert f'src="{image.url}"' not in body


def test_listing_cards_use_local_thumbnails_with_an_empty_alt(reader):
    story = make_story(title="Bridge reopens")
    cache(story)
    body = reader.get(reverse("stories:home")).content.decode()
    assert 'sizes="(min-width: 48rem) 14rem, 100vw"' in body
    assert 'alt="" class="card__image"' in body
    assert "/w320.jpg 320w" in body


def test_an_uncached_image_falls_back_to_its_remote_url_when_the_setting_says_remote(reader, settings):
    settings.NEWSROOM_IMAGE_FALLBACK = "remote"
    story = make_story()
    url = story.images.get().url
    body = reader.get(reverse("stories:detail", kwargs={"pk": story.pk})).content.decode()
    assert f'<img src="{url}" width="800" height="450"' in body


def test_an_uncached_image_is_left_out_when_the_setting_says_none(reader, settings):
    settings.NEWSROOM_IMAGE_FALLBACK = "none"
    story = make_story()
    url = story.images.get().url
    body = reader.get(reverse("stories:home")).content.decode()
    assert f'src="{url}"' not in body
    assert "<picture>" not in body


def test_local_images_add_no_queries_to_a_listing(reader, django_assert_max_num_queries):
    for _ in range(3):
        cache(make_story())
    with django_assert_max_num_queries(20) as small:
        reader.get(reverse("stories:home"))
    for _ in range(12):
        cache(make_story())
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = reader.get(reverse("stories:home")).content.decode()
    assert body.count("<picture>") == 15
