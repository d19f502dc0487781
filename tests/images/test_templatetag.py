"""Readers get local thumbnails with srcset/sizes, dimensions and alt text; a fallback per setting."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template

from stories.images.cache import store_upload
from stories.models import Image
from tests.conftest import make_story
from tests.images_support import make_image_bytes


@pytest.fixture(autouse=True)
def media(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.MEDIA_URL = "/media/"
    settings.NEWSROOM_IMAGE_WIDTHS = [320, 640, 1024]
    return tmp_path


def cached_image(size=(1600, 900), **fields) -> Image:
    copy = store_upload(make_image_bytes("JPEG", size))
    image = make_story().images.get()
    image.cache_status = Image.CacheStatus.CACHED
    image.local_file.name = copy.local_file
    image.local_width, image.local_height = copy.width, copy.height
    image.thumbnails = copy.thumbnails
    for name, value in fields.items():
        setattr(image, name, value)
    image.save()
    return image


def render(source: str, **context) -> str:
    return Template("{% load images %}" + source).render(Context(context))


def test_a_cached_image_renders_local_thumbnails_with_srcset_and_sizes():
    image = cached_image()
    tag = '{% responsive_image image alt="Flooded street" sizes="(min-width: 50rem) 50rem, 100vw" %}'
    html = render(tag, image=image)
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)" sizes="([^"]+)">', html)
    assert webp is not None
    candidates = webp.group(1).split(", ")
    assert [part.rsplit(" ", 1)[1] for part in candidates] == ["320w", "640w", "1024w"]
    assert all(part.startswith("/media/images/") and ".webp " in part for part in candidates)
    assert webp.group(2) == "(min-width: 50rem) 50rem, 100vw"
    img = re.search(r"<img [^>]+>", html).group(0)
    assert re.search(r'srcset="/media/images/\S+/w320\.jpg 320w, ', img)
    assert 'sizes="(min-width: 50rem) 50rem, 100vw"' in img
    assert 'width="640" height="360"' in img
    assert 'alt="Flooded street"' in img
    assert re.search(r'src="/media/images/\S+/w640\.jpg"', img)
    assert "img.example" not in html


def test_alt_text_defaults_to_the_image_title_and_is_escaped():
    image = cached_image(title='Smoke "over" <the> city')
    html = render("{% responsive_image image %}", image=image)
    assert 'alt="Smoke &quot;over&quot; &lt;the&gt; city"' in html


def test_a_decorative_image_has_an_empty_alt():
    html = render('{% responsive_image image alt="" %}', image=cached_image(title="Ignored"))
    assert 'alt=""' in html


def test_a_small_image_is_offered_at_its_own_width_only():
    html = render("{% responsive_image image %}", image=cached_image(size=(200, 120)))
    assert 'width="200" height="120"' in html
    assert " 200w" in html
    assert "320w" not in html


def test_without_a_local_copy_the_remote_url_is_used_when_the_setting_says_remote(settings):
    settings.NEWSROOM_IMAGE_FALLBACK = "remote"
    image = make_story().images.get()
    html = render('{% responsive_image image alt="A" %}', image=image)
    assert html == (
        f'<img src="{image.url}" width="800" height="450" alt="A" loading="lazy" decoding="async"'
        ' referrerpolicy="no-referrer">'
    )


def test_without_a_local_copy_nothing_is_rendered_when_the_setting_says_none(settings):
    settings.NEWSROOM_IMAGE_FALLBACK = "none"
    assert render('{% responsive_image image alt="A" %}', image=make_story().images.get()) == ""


def test_a_failed_image_falls_back_like_an_uncached_one(settings):
    settings.NEWSROOM_IMAGE_FALLBACK = "remote"
    image = make_story().images.get()
    image.cache_status = Image.CacheStatus.FAILED
    assert f'src="{image.url}"' in render("{% responsive_image image %}", image=image)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.example/x.jpg"])
def test_only_http_urls_are_used_as_a_remote_fallback(settings, url):
    settings.NEWSROOM_IMAGE_FALLBACK = "remote"
    image = make_story().images.get()
    image.url = url
    assert render("{% responsive_image image %}", image=image) == ""


def test_no_image_renders_nothing():
    assert render("{% responsive_image image %}", image=None) == ""


def test_a_css_class_and_eager_loading_can_be_asked_for():
    tag = '{% responsive_image image css_class="story__image" loading="eager" %}'
    html = render(tag, image=cached_image())
    assert 'class="story__image"' in html
    assert 'loading="eager"' in html
