"""What the image cache fetches and keeps: its policy, the image types it takes, and the download.

The download itself is ``stories.fetching`` (address checks, pinned connections,
redirects, time and size limits); this module says what an image is: the declared
content types and the magic number of the bytes, and the pixel limit and thumbnail
widths that ``process`` applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from ..fetching import FetchLimits, FetchRefused, Network, Wanted, fetch

# Declared content types we accept, and the Pillow format each magic number means.
ACCEPTED_CONTENT_TYPES = frozenset({"image/jpeg", "image/pjpeg", "image/png", "image/gif", "image/webp"})
PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
# Enough of the file to tell a WebP (RIFF....WEBP), and more than any other magic number needs.
MAGIC_LENGTH = 12


class ImageRejected(Exception):
    """An image we will not keep. The message is the reason shown to people."""


@dataclass(frozen=True)
class FetchPolicy:
    """The image cache's limits: the download's, the pixel count, and the thumbnail widths."""

    fetch_limits: FetchLimits
    max_pixels: int
    widths: tuple[int, ...]

    @classmethod
    def from_settings(cls) -> FetchPolicy:
        return cls(
            fetch_limits=FetchLimits(
                max_bytes=settings.NEWSROOM_IMAGE_MAX_BYTES,
                connect_timeout=settings.NEWSROOM_IMAGE_CONNECT_TIMEOUT,
                read_timeout=settings.NEWSROOM_IMAGE_TIMEOUT,
                total_timeout=settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT,
                max_redirects=settings.NEWSROOM_IMAGE_MAX_REDIRECTS,
                allow_private=settings.NEWSROOM_IMAGE_ALLOW_PRIVATE,
                dns_timeout=settings.NEWSROOM_IMAGE_DNS_TIMEOUT,
                user_agent="Newsroom image cache",
            ),
            max_pixels=settings.NEWSROOM_IMAGE_MAX_PIXELS,
            widths=tuple(sorted(set(settings.NEWSROOM_IMAGE_WIDTHS))),
        )

    @property
    def max_bytes(self) -> int:
        return self.fetch_limits.max_bytes


def sniff_format(head: bytes) -> str | None:
    """The Pillow format the magic number says, or None when it is not an image we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(head) >= MAGIC_LENGTH and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _not_an_image(start: bytes) -> str | None:
    return None if sniff_format(start) else "the bytes are not a JPEG, PNG, GIF or WebP image"


IMAGES = Wanted(
    accept="image/webp,image/png,image/jpeg,image/gif;q=0.9",
    content_types=ACCEPTED_CONTENT_TYPES,
    described_as="an image type we accept",
    start_length=MAGIC_LENGTH,
    check_start=_not_an_image,
)


def fetch_image_bytes(url: str, *, policy: FetchPolicy, network: Network | None = None) -> bytes:
    """Download one image under the policy's limits. Raises ImageRejected with the reason."""
    try:
        return fetch(url, wanted=IMAGES, limits=policy.fetch_limits, network=network)
    except FetchRefused as exc:
        raise ImageRejected(str(exc)) from None
