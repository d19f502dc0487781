"""Responsive images for readers: local thumbnails with srcset/sizes, a remote or no fallback.

    {% load images %}
    {% responsive_image image alt=story.title sizes="(min-width: 60em) 640px, 100vw" %}
"""

from __future__ import annotations

import logging

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from stories.images import Rendition, renditions
from stories.models import Image
from stories.templatetags.reader import http_url

register = template.Library()
logger = logging.getLogger("stories.reader")

DEFAULT_SIZES = "(min-width: 1024px) 1024px, 100vw"
# The width the plain ``src`` aims at, for browsers without srcset support.
DEFAULT_SRC_WIDTH = 640


def safe_renditions(image: Image) -> list[Rendition]:
    """``renditions(image)``, or none when the recorded thumbnails cannot be read (logged)."""
    try:
        return renditions(image)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        logger.warning(
            "image %s (story %s): thumbnails record unreadable (%r); shown without a local copy",
            image.pk, image.story_id, error,
        )
        return []


def _pick_src(options: list[Rendition]) -> Rendition:
    fitting = [option for option in options if option.width <= DEFAULT_SRC_WIDTH]
    return fitting[-1] if fitting else options[0]


def render_image(
    image: Image | None, *, alt: str | None = None, sizes: str = DEFAULT_SIZES, css_class: str = "",
    loading: str = "lazy", fallback: str | None = None,
) -> SafeString:
    """The markup for one image: a ``<picture>`` of local WebP and JPEG/PNG thumbnails, or the
    fallback the ``NEWSROOM_IMAGE_FALLBACK`` setting names when there is no local copy."""
    if image is None:
        return mark_safe("")  # noqa: S308 - a constant empty string
    if alt is None:
        alt = image.title or ""
    options = safe_renditions(image)
    if options:
        src = _pick_src(options)
        webp_srcset = ", ".join(f"{option.webp_url} {option.width}w" for option in options)
        fallback_srcset = ", ".join(f"{option.fallback_url} {option.width}w" for option in options)
        return format_html(
            '<picture><source type="image/webp" srcset="{}" sizes="{}">'
            '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}"{}'
            ' loading="{}" decoding="async">'
            "</picture>",
            webp_srcset, sizes, src.fallback_url, fallback_srcset, sizes, src.width, src.height, alt,
            format_html(' class="{}"', css_class) if css_class else "", loading,
        )
    if (fallback or settings.NEWSROOM_IMAGE_FALLBACK) != "remote":
        return mark_safe("")  # noqa: S308 - a constant empty string
    url = http_url(image.url)
    if not url:
        return mark_safe("")  # noqa: S308 - a constant empty string
    dimensions = ""
    if image.width and image.height:
        dimensions = format_html(' width="{}" height="{}"', image.width, image.height)
    return format_html(
        '<img src="{}"{} alt="{}"{} loading="{}" decoding="async" referrerpolicy="no-referrer">',
        url, dimensions, alt, format_html(' class="{}"', css_class) if css_class else "", loading,
    )


@register.simple_tag
def responsive_image(
    image: Image | None, alt: str | None = None, sizes: str = DEFAULT_SIZES, css_class: str = "",
    loading: str = "lazy",
) -> SafeString:
    """``{% responsive_image image alt=... sizes=... css_class=... loading="eager" %}``."""
    return render_image(image, alt=alt, sizes=sizes, css_class=css_class, loading=loading)


@register.filter
def renders_image(image: Image | None) -> bool:
    """Whether ``responsive_image`` draws anything for this image: a local copy, or an allowed fallback."""
    if image is None:
        return False
    if safe_renditions(image):
        return True
    return settings.NEWSROOM_IMAGE_FALLBACK == "remote" and bool(http_url(image.url))
