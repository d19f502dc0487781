"""The local image cache: fetch remote images safely, verify them, store clean copies and thumbnails.

Story files point at images on other sites. Readers' pages must not hot-link them, so
``cache_images()`` downloads each one, checks it with Pillow, re-encodes it without
metadata and writes thumbnails (WebP plus a JPEG, or PNG when transparent) into
``default_storage``. An editor's upload is verified and stored the same way (``store_upload()``);
the workflow makes it a story's lead image (``workflow.replace_lead_image``).

Remote servers and files are hostile until proven otherwise:

* the download is ``stories.fetching``'s (only http and https, every address checked
  and the connection pinned to it, redirects checked hop by hop, time and size limits),
  under the ``NEWSROOM_IMAGE_*`` settings (``fetch.FetchPolicy``);
* the declared content type must be an image type we accept and the bytes must start
  with the magic number of one (``fetch``);
* the pixel count is checked from the header before anything is decoded (``process``).

The HTTP work happens in threads; every database write happens in the calling thread,
one image URL at a time, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from .cache import cache_images, cache_images_for_stories, copy_columns, store_upload
from .fetch import ImageRejected
from .process import Rendition, decode_image, renditions

# What the rest of the site uses; everything else is imported from its module.
__all__ = [
    "ImageRejected",
    "Rendition",
    "cache_images",
    "cache_images_for_stories",
    "copy_columns",
    "decode_image",
    "renditions",
    "store_upload",
]
