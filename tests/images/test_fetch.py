"""Images from hostile servers: only real images of the types we take, within the pixel limit.

The download's own defences (addresses, redirects, limits) are ``tests/fetching/test_fetch.py``'s.
"""

from __future__ import annotations

import warnings

import pytest
from PIL import Image as PILImage

from stories.fetching import Network
from stories.images.fetch import FetchPolicy, ImageRejected, fetch_image_bytes
from stories.images.process import decode_image
from tests.images_support import ImageServer, make_image_bytes, png_bomb, respond

JPEG = make_image_bytes("JPEG", (640, 360))


@pytest.fixture
def server(settings):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = True
    settings.NEWSROOM_IMAGE_TIMEOUT = 0.5
    settings.NEWSROOM_IMAGE_CONNECT_TIMEOUT = 2
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 5
    with ImageServer() as running:
        yield running


def fetch(url: str, network: Network | None = None) -> bytes:
    return fetch_image_bytes(url, policy=FetchPolicy.from_settings(), network=network)


def test_a_jpeg_is_downloaded_whole(server):
    server.routes["/a.jpg"] = respond(JPEG)
    assert fetch(server.url("/a.jpg")) == JPEG


def test_the_settings_keep_loopback_out_of_reach_and_a_refused_download_is_a_rejected_image(server, settings):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = False
    server.routes["/a.jpg"] = respond(JPEG)
    with pytest.raises(ImageRejected, match="loopback"):
        fetch(server.url("/a.jpg"))
    assert server.hits["/a.jpg"] == 0


def test_html_served_as_jpeg_is_refused(server):
    server.routes["/a.jpg"] = respond(b"<!doctype html><html><body>not an image</body></html>", "image/jpeg")
    with pytest.raises(ImageRejected, match="served as image/jpeg but the bytes are not a JPEG, PNG, GIF"):
        fetch(server.url("/a.jpg"))


def test_a_non_image_content_type_is_refused(server):
    server.routes["/a.jpg"] = respond(JPEG, "text/html")
    with pytest.raises(ImageRejected, match="content type 'text/html' is not an image type we accept"):
        fetch(server.url("/a.jpg"))


def test_svg_is_refused(server):
    server.routes["/a.svg"] = respond(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/svg+xml")
    with pytest.raises(ImageRejected, match="image/svg"):
        fetch(server.url("/a.svg"))


def test_png_bytes_served_as_jpeg_are_accepted_as_png(server):
    # Decision: a real raster image under another image type is kept; its real format is what counts.
    png = make_image_bytes("PNG", (64, 64))
    server.routes["/a.jpg"] = respond(png, "image/jpeg")
    assert decode_image(fetch(server.url("/a.jpg")), max_pixels=10_000).format == "PNG"


def test_a_body_cut_short_by_its_content_length_is_refused_as_corrupt(server):
    body = JPEG[:100] + b"\0" * 20_000
    server.routes["/big.jpg"] = respond(body, length=False, headers={"Content-Length": "100"})
    data = fetch(server.url("/big.jpg"))
    assert len(data) == 100
    with pytest.raises(ImageRejected, match="corrupt"):
        decode_image(data, max_pixels=1_000_000)


def test_a_decompression_bomb_is_refused_before_decoding(server):
    server.routes["/bomb.png"] = respond(png_bomb(), "image/png")
    data = fetch(server.url("/bomb.png"))
    assert len(data) < 2000
    with pytest.raises(ImageRejected, match="100000x100000 = 10000000000 pixels, over the limit of 40000000"):
        decode_image(data, max_pixels=40_000_000)


def test_an_image_over_the_pixel_limit_is_refused_with_its_size():
    with pytest.raises(ImageRejected, match="40x40 = 1600 pixels, over the limit of 1000"):
        decode_image(make_image_bytes("PNG", (40, 40)), max_pixels=1000)


def test_an_image_within_a_limit_above_pillows_own_is_decoded():
    # The policy's limit is the one that counts, not the process-wide one Pillow keeps.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PILImage, "MAX_IMAGE_PIXELS", 100)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            image = decode_image(make_image_bytes("PNG", (40, 40)), max_pixels=10_000)
    assert image.size == (40, 40)


def test_decoding_changes_neither_pillows_limit_nor_the_warnings_filters():
    limit, filters = PILImage.MAX_IMAGE_PIXELS, list(warnings.filters)
    decode_image(make_image_bytes("PNG", (40, 40)), max_pixels=1_000_000)
    with pytest.raises(ImageRejected):
        decode_image(make_image_bytes("PNG", (40, 40)), max_pixels=1000)
    assert PILImage.MAX_IMAGE_PIXELS == limit
    assert warnings.filters == filters


def test_a_truncated_jpeg_is_refused_as_corrupt():
    with pytest.raises(ImageRejected, match="corrupt"):
        decode_image(make_image_bytes("JPEG", (800, 600))[:2000], max_pixels=10_000_000)


def test_a_png_with_a_broken_checksum_is_refused():
    data = bytearray(make_image_bytes("PNG", (32, 32)))
    data[30] ^= 0xFF  # inside IHDR: its CRC no longer matches
    with pytest.raises(ImageRejected):
        decode_image(bytes(data), max_pixels=10_000)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_every_format_we_take_is_decoded(fmt):
    image = decode_image(make_image_bytes(fmt, (30, 20)), max_pixels=10_000)
    assert (image.format, image.size) == (fmt, (30, 20))
