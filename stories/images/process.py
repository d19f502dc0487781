"""Pillow verification and re-encoding, the clean copy and its thumbnails, and reading renditions."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import (
    GifImagePlugin,
    ImageCms,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)
from PIL import Image as PILImage

from ..fetching import describe_error
from ..models import Image
from .fetch import FetchPolicy, ImageRejected, sniff_format

logger = logging.getLogger(__name__)

# The reader of each format we accept. Opened through its class, an image's header is read
# without ``PIL.Image.open``'s decompression-bomb check, which compares the size with one
# limit for the whole process (``PIL.Image.MAX_IMAGE_PIXELS``, warning or failing by the
# warnings filters in force): the policy's limit is checked here instead, call by call,
# before a pixel is decoded, and neither that limit nor any warnings filter is changed.
_READERS: dict[str, type[ImageFile.ImageFile]] = {
    "JPEG": JpegImagePlugin.JpegImageFile,
    "PNG": PngImagePlugin.PngImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}


# --------------------------------------------------------------------------- processing


@dataclass
class CachedCopy:
    """What we keep of one image: a clean full-size file and its thumbnails."""

    local_file: str
    width: int
    height: int
    thumbnails: dict[str, Any]


def decode_image(data: bytes, *, max_pixels: int) -> PILImage.Image:
    """Open, verify and decode image bytes; refuse anything that is not a sound, bounded image."""
    kind = sniff_format(data[:12])
    if kind is None:
        raise ImageRejected("the bytes are not a JPEG, PNG, GIF or WebP image")
    reader = _READERS[kind]
    try:
        with reader(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width < 1 or height < 1:
                raise ImageRejected(f"image has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise ImageRejected(
                    f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
                )
            probe.verify()
        image = reader(io.BytesIO(data))
        image.load()
    except ImageRejected:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        # A GIF frame reaching past the picture's own size still meets Pillow's global check.
        raise ImageRejected(f"image is too large to decode safely: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageRejected(f"corrupt or unreadable {kind} image: {describe_error(exc)}") from None
    return image


def clean_image(image: PILImage.Image) -> PILImage.Image:
    """An upright sRGB copy with no metadata at all: no EXIF, no ICC profile, no text chunks."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken orientation tag is not worth refusing the image for
        logger.debug("ignoring unreadable EXIF orientation")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    mode = "RGBA" if has_alpha else "RGB"
    icc = image.info.get("icc_profile")
    converted = None
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            converted = ImageCms.profileToProfile(
                image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
                outputMode=mode if image.mode != "L" else "RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
    image = (converted or image).convert(mode)  # always a new image, ours to change
    if mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
    # Encoders read EXIF, ICC profiles and text chunks from here; with it empty they write none.
    image.info = {}
    return image


def _encode(image: PILImage.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "webp":
        image.save(buffer, "WEBP", quality=80, method=4)
    elif fmt == "png":
        image.save(buffer, "PNG", optimize=True)
    else:
        image.save(buffer, "JPEG", quality=85, optimize=True, progressive=True)
    return buffer.getvalue()


def _write(name: str, data: bytes) -> str:
    # Names are derived from the source, so a rerun replaces its own files instead of piling up copies.
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:
        raise ImageRejected(f"storage saved {name} as {saved}")
    return saved


def store_image(data: bytes, *, key: str, policy: FetchPolicy) -> CachedCopy:
    """Verify ``data`` and write a clean full-size copy plus thumbnails under ``images/<key>/``.

    Thumbnails are made at each configured width smaller than the image (never
    upscaled), and at the image's own width when that is below the largest configured
    one, each in WebP and in JPEG (PNG when the image has transparency). Readers are
    never sent more than the largest configured width; the full-size copy is kept
    as ``local_file``.
    """
    clean = clean_image(decode_image(data, max_pixels=policy.max_pixels))
    width, height = clean.size
    fallback = "png" if clean.mode == "RGBA" else "jpeg"
    extension = "png" if fallback == "png" else "jpg"
    folder = f"images/{key[:2]}/{key}"
    full_name = _write(f"{folder}/full.{extension}", _encode(clean, fallback))
    sizes = []
    targets = [w for w in policy.widths if w < width]
    if not policy.widths or width <= policy.widths[-1]:
        targets.append(width)
    source = clean
    # Widest first, each made from the one before: far less work than from full size every time.
    for target in sorted(targets, reverse=True):
        if target == width:
            resized, fallback_name = clean, full_name
        else:
            resized = source.resize(
                (target, max(1, round(height * target / width))),
                PILImage.Resampling.LANCZOS,
                reducing_gap=3.0,
            )
            fallback_name = _write(f"{folder}/w{target}.{extension}", _encode(resized, fallback))
        source = resized
        sizes.insert(
            0,
            {
                "width": resized.width,
                "height": resized.height,
                "webp": _write(f"{folder}/w{resized.width}.webp", _encode(resized, "webp")),
                "fallback": fallback_name,
            }
        )
    return CachedCopy(
        local_file=full_name,
        width=width,
        height=height,
        thumbnails={"fallback_format": fallback, "sizes": sizes},
    )


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    webp_url: str
    fallback_url: str


def renditions(image: Image) -> list[Rendition]:
    """The local thumbnails of a cached image, narrowest first; empty when there is no local copy."""
    if image is None or image.cache_status != Image.CacheStatus.CACHED:
        return []
    entries = (image.thumbnails or {}).get("sizes") or []
    return [
        Rendition(
            width=entry["width"], height=entry["height"],
            webp_url=default_storage.url(entry["webp"]), fallback_url=default_storage.url(entry["fallback"]),
        )
        for entry in sorted(entries, key=lambda entry: entry["width"])
    ]
