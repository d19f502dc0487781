"""The local image cache: fetch remote images safely, verify them, store clean copies and thumbnails.

Story files point at images on other sites. Readers' pages must not hot-link them, so
``cache_images()`` downloads each one, checks it with Pillow, re-encodes it without
metadata and writes thumbnails (WebP plus a JPEG, or PNG when transparent) into
``default_storage``. Editors can also upload a lead image (``replace_lead_image()``).

Remote servers and files are hostile until proven otherwise:

* only http and https; credentials in URLs refused;
* the host is resolved once, every address is checked (no private, loopback,
  link-local, multicast or reserved addresses unless ``NEWSROOM_IMAGE_ALLOW_PRIVATE``)
  and the connection goes to the address that was checked, so a second DNS answer
  cannot swap in another one;
* redirects are followed by hand, at most ``NEWSROOM_IMAGE_MAX_REDIRECTS``, each hop
  checked again;
* connect, read and whole-download time limits, and a byte limit enforced while
  streaming, whatever Content-Length says;
* the declared content type must be an image type we accept and the bytes must start
  with the magic number of one;
* the pixel count is checked from the header before anything is decoded.

The HTTP work happens in threads; every database write happens in the calling thread,
one image URL at a time, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from .cache import (
    ORIGIN_FETCHED,
    ORIGIN_UPLOAD,
    CacheFailure,
    CacheReport,
    cache_images,
    cache_images_for_stories,
    fetch_and_store,
    replace_lead_image,
    store_upload,
)
from .fetch import (
    ACCEPTED_CONTENT_TYPES,
    CHUNK,
    DEFAULT_PORTS,
    PILLOW_FORMATS,
    REDIRECT_STATUSES,
    FetchPolicy,
    ImageRejected,
    check_address,
    fetch_image_bytes,
    resolve_host,
    sniff_format,
    tls_context,
)
from .process import CachedCopy, Rendition, clean_image, decode_image, renditions, store_image, url_key

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "CHUNK",
    "DEFAULT_PORTS",
    "ORIGIN_FETCHED",
    "ORIGIN_UPLOAD",
    "PILLOW_FORMATS",
    "REDIRECT_STATUSES",
    "CacheFailure",
    "CacheReport",
    "CachedCopy",
    "FetchPolicy",
    "ImageRejected",
    "Rendition",
    "cache_images",
    "cache_images_for_stories",
    "check_address",
    "clean_image",
    "decode_image",
    "fetch_and_store",
    "fetch_image_bytes",
    "renditions",
    "replace_lead_image",
    "resolve_host",
    "sniff_format",
    "store_image",
    "store_upload",
    "tls_context",
    "url_key",
]
