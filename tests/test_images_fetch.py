"""Fetching images from hostile servers: every refusal has a reason and nothing unsafe is kept."""

from __future__ import annotations

import ssl
import subprocess
import threading
import time

import pytest

from stories.images import FetchPolicy, ImageRejected, check_address, decode_image, fetch_image_bytes
from stories.images import fetch as fetching
from tests.images_support import ImageServer, TrickleProxy, make_image_bytes, png_bomb, redirect, respond

JPEG = make_image_bytes("JPEG", (640, 360))


@pytest.fixture
def server(settings):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = True
    settings.NEWSROOM_IMAGE_TIMEOUT = 0.5
    settings.NEWSROOM_IMAGE_CONNECT_TIMEOUT = 2
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 5
    settings.NEWSROOM_IMAGE_MAX_REDIRECTS = 3
    with ImageServer() as running:
        yield running


def fetch(url: str, **kwargs) -> bytes:
    return fetch_image_bytes(url, policy=FetchPolicy.from_settings(), **kwargs)


def test_a_jpeg_is_downloaded_whole(server):
    server.routes["/a.jpg"] = respond(JPEG)
    assert fetch(server.url("/a.jpg")) == JPEG


UNSPECIFIED = "0.0.0.0"  # noqa: S104 - an address we refuse, not one we bind to


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "::1", "127.0.0.1", "192.168.1.5",
                                     "::ffff:127.0.0.1", "fe80::1", "224.0.0.1", UNSPECIFIED, "100.64.0.1"])
def test_private_and_special_addresses_are_refused(address):
    with pytest.raises(ImageRejected):
        check_address(address, allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address):
    check_address(address, allow_private=False)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1"])
def test_allow_private_permits_loopback_and_private_networks(address):
    check_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "224.0.0.1", UNSPECIFIED])
def test_link_local_and_multicast_are_refused_even_when_private_is_allowed(address):
    with pytest.raises(ImageRejected):
        check_address(address, allow_private=True)


def test_loopback_is_refused_without_the_setting_and_no_connection_is_made(server, settings):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = False
    server.routes["/a.jpg"] = respond(JPEG)
    with pytest.raises(ImageRejected, match="loopback"):
        fetch(server.url("/a.jpg"))
    assert server.hits["/a.jpg"] == 0


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup(server):
    # The name does not exist in DNS: only the address the resolver gave (and we checked) is used.
    server.routes["/a.jpg"] = respond(JPEG)
    url = f"http://images.invalid:{server.port}/a.jpg"
    assert fetch(url, resolve=lambda host, port: ["127.0.0.1"]) == JPEG
    assert server.host_headers == [f"images.invalid:{server.port}"]


def test_a_host_with_any_forbidden_address_is_refused(server):
    server.routes["/a.jpg"] = respond(JPEG)
    with pytest.raises(ImageRejected, match="169.254.169.254"):
        fetch(
            f"http://mixed.invalid:{server.port}/a.jpg",
            resolve=lambda host, port: ["127.0.0.1", "169.254.169.254"],
        )
    assert server.hits["/a.jpg"] == 0


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "javascript:alert(1)", "/a.jpg"]
)
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(ImageRejected, match="only http and https"):
        fetch_image_bytes(url, policy=FetchPolicy.from_settings())


def test_credentials_in_urls_are_refused(server):
    with pytest.raises(ImageRejected, match="credentials"):
        fetch(f"http://user:secret@127.0.0.1:{server.port}/a.jpg")


def test_redirects_are_followed_and_each_hop_checked(server):
    server.routes["/old.jpg"] = redirect("/new.jpg", 301)
    server.routes["/new.jpg"] = respond(JPEG)
    assert fetch(server.url("/old.jpg")) == JPEG


def test_a_redirect_to_the_metadata_address_is_refused(server):
    server.routes["/a.jpg"] = redirect("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ImageRejected, match="169.254.169.254"):
        fetch(server.url("/a.jpg"))


def test_a_redirect_to_a_private_address_is_refused_without_allow_private(server, settings, monkeypatch):
    # The first hop has a public address (from its resolver) and is routed to the loopback
    # server; the redirect names a private address, which the check refuses before connecting.
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = False
    server.routes["/a.jpg"] = redirect("http://10.0.0.1/a.jpg")
    open_socket = fetching._PinnedHTTPConnection._open_socket

    def via_loopback(connection):
        assert connection._address == "93.184.216.34"
        connection._address = "127.0.0.1"
        return open_socket(connection)

    monkeypatch.setattr(fetching._PinnedHTTPConnection, "_open_socket", via_loopback)

    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34"] if host == "public.invalid" else [host]

    with pytest.raises(ImageRejected, match="10.0.0.1 is a private address"):
        fetch(f"http://public.invalid:{server.port}/a.jpg", resolve=resolve)
    assert server.hits["/a.jpg"] == 1


def test_a_redirect_to_another_scheme_is_refused(server):
    server.routes["/a.jpg"] = redirect("file:///etc/passwd")
    with pytest.raises(ImageRejected, match="only http and https"):
        fetch(server.url("/a.jpg"))


def test_redirect_loops_stop_after_the_limit(server):
    server.routes["/loop.jpg"] = redirect("/loop.jpg")
    with pytest.raises(ImageRejected, match="more than 3 redirects"):
        fetch(server.url("/loop.jpg"))
    assert server.hits["/loop.jpg"] == 4


def test_html_served_as_jpeg_is_refused(server):
    server.routes["/a.jpg"] = respond(b"<!doctype html><html><body>not an image</body></html>", "image/jpeg")
    with pytest.raises(ImageRejected, match="not an image we accept|not a JPEG"):
        fetch(server.url("/a.jpg"))


def test_a_non_image_content_type_is_refused(server):
    server.routes["/a.jpg"] = respond(JPEG, "text/html")
    with pytest.raises(ImageRejected, match="content type 'text/html'"):
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


def test_an_http_error_status_is_a_reason(server):
    with pytest.raises(ImageRejected, match="HTTP 404"):
        fetch(server.url("/missing.jpg"))


def test_a_declared_size_over_the_limit_is_refused_before_reading(server, settings):
    settings.NEWSROOM_IMAGE_MAX_BYTES = 10_000
    server.routes["/big.jpg"] = respond(b"\xff\xd8\xff" + b"\0" * 50_000)
    with pytest.raises(ImageRejected, match="over the limit of 10000"):
        fetch(server.url("/big.jpg"))


def test_a_huge_body_without_content_length_is_cut_at_the_limit(server, settings):
    settings.NEWSROOM_IMAGE_MAX_BYTES = 10_000
    server.routes["/big.jpg"] = respond(b"\xff\xd8\xff" + b"\0" * 2_000_000, length=False)
    with pytest.raises(ImageRejected, match="larger than the limit of 10000"):
        fetch(server.url("/big.jpg"))


def test_a_content_length_that_understates_the_body_reads_no_further(server, settings):
    settings.NEWSROOM_IMAGE_MAX_BYTES = 10_000
    server.routes["/big.jpg"] = respond(
        JPEG[:100] + b"\0" * 2_000_000, length=False, headers={"Content-Length": "100"}
    )
    data = fetch(server.url("/big.jpg"))
    assert len(data) == 100
    with pytest.raises(ImageRejected, match="corrupt"):
        decode_image(data, max_pixels=1_000_000)


def test_a_server_that_stops_sending_times_out(server):
    def stall(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Content-Length", str(len(JPEG)))
        handler.end_headers()
        handler.wfile.write(JPEG[:100])
        handler.wfile.flush()
        server.stop.wait(5)

    server.routes["/slow.jpg"] = stall
    with pytest.raises(ImageRejected, match="no data from the server within 0.5s"):
        fetch(server.url("/slow.jpg"))


def test_a_server_that_trickles_is_cut_off_by_the_total_limit(server, settings):
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 0.6

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.end_headers()
        handler.wfile.write(JPEG[:20])
        for byte in JPEG[20:]:
            if server.stop.wait(0.05):
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return

    server.routes["/trickle.jpg"] = trickle
    with pytest.raises(ImageRejected, match="longer than 0.6s"):
        fetch(server.url("/trickle.jpg"))


# The budget is checked on the fetch alone; the margin covers thread start-up on a loaded machine.
MARGIN = 0.5


def fails_within(seconds: float, fetching, match: str) -> None:
    started = time.monotonic()
    with pytest.raises(ImageRejected, match=match):
        fetching()
    assert time.monotonic() - started < seconds + MARGIN


def test_headers_trickling_in_byte_by_byte_are_cut_off_by_the_total_limit(server, settings):
    # Each byte comes well inside the read timeout, so only a deadline over the whole response stops it.
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 0.6
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"

    def trickle_headers(handler):
        for byte in head:
            if server.stop.wait(0.05):
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return

    server.routes["/headers.jpg"] = trickle_headers
    fails_within(0.6, lambda: fetch(server.url("/headers.jpg")), "longer than 0.6s")


def test_a_slow_dns_lookup_is_abandoned_after_its_own_timeout(server, settings):
    settings.NEWSROOM_IMAGE_DNS_TIMEOUT = 0.3
    answer = threading.Event()

    def slow_resolver(host: str, port: int) -> list[str]:
        # getaddrinfo has no timeout of its own: a resolver that does not answer looks like this.
        answer.wait(10)
        return ["127.0.0.1"]

    try:
        fetching = lambda: fetch(server.url("/a.jpg"), resolve=slow_resolver)  # noqa: E731
        fails_within(0.3, fetching, "no answer from DNS .* within 0.3s")
    finally:
        answer.set()
    assert server.hits["/a.jpg"] == 0


def test_the_dns_lookup_counts_against_the_total_limit(server, settings):
    settings.NEWSROOM_IMAGE_DNS_TIMEOUT = 30
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 0.4
    answer = threading.Event()

    def slow_resolver(host: str, port: int) -> list[str]:
        answer.wait(10)
        return ["127.0.0.1"]

    try:
        fails_within(0.4, lambda: fetch(server.url("/a.jpg"), resolve=slow_resolver), "longer than 0.4s")
    finally:
        answer.set()


def test_a_decompression_bomb_is_refused_before_decoding(server):
    server.routes["/bomb.png"] = respond(png_bomb(), "image/png")
    data = fetch(server.url("/bomb.png"))
    assert len(data) < 2000
    with pytest.raises(ImageRejected, match="10000000000 pixels"):
        decode_image(data, max_pixels=40_000_000)


def test_an_image_over_the_pixel_limit_is_refused_with_its_size():
    with pytest.raises(ImageRejected, match="1600 pixels"):
        decode_image(make_image_bytes("PNG", (40, 40)), max_pixels=1000)


def test_a_truncated_jpeg_is_refused_as_corrupt():
    with pytest.raises(ImageRejected, match="corrupt"):
        decode_image(make_image_bytes("JPEG", (800, 600))[:2000], max_pixels=10_000_000)


def test_a_png_with_a_broken_checksum_is_refused():
    data = bytearray(make_image_bytes("PNG", (32, 32)))
    data[30] ^= 0xFF  # inside IHDR: its CRC no longer matches
    with pytest.raises(ImageRejected):
        decode_image(bytes(data), max_pixels=10_000)


def test_html_entities_left_in_image_urls_are_decoded_before_fetching(server):
    # Story files copy image URLs out of HTML: "&#038;" stands for "&".
    server.routes["/a.jpg?w=640&h=360"] = respond(JPEG)
    assert fetch(server.url("/a.jpg?w=640&#038;h=360")) == JPEG


def test_an_international_host_name_is_resolved_in_its_ascii_form(server):
    server.routes["/a.jpg"] = respond(JPEG)
    asked = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    assert fetch(f"http://bücher.invalid:{server.port}/a.jpg", resolve=resolve) == JPEG
    assert asked == ["xn--bcher-kva.invalid"]
    assert server.host_headers == [f"xn--bcher-kva.invalid:{server.port}"]


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for images.test, made by openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=images.test",
         "-addext", "subjectAltName=DNS:images.test"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(settings, certificate):
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with ImageServer(tls=context) as running:
        running.routes["/a.jpg"] = respond(JPEG)
        yield running


def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_https_checks_the_certificate_against_the_system_trust_store(tls_server):
    with pytest.raises(ImageRejected, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(f"https://images.test:{tls_server.port}/a.jpg", resolve=to_loopback)


def test_https_to_a_pinned_address_verifies_the_host_name(tls_server, certificate, monkeypatch):
    # Trust our test certificate; the connection goes to the checked address, the name is verified.
    def trusting() -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(certificate[0]))

    monkeypatch.setattr(fetching, "tls_context", trusting)
    assert fetch(f"https://images.test:{tls_server.port}/a.jpg", resolve=to_loopback) == JPEG
    with pytest.raises(ImageRejected, match="CERTIFICATE_VERIFY_FAILED|match"):
        fetch(f"https://other.test:{tls_server.port}/a.jpg", resolve=to_loopback)


@pytest.mark.parametrize("url", ["http://[::1/a.jpg", "http://example.com:99999/a.jpg", "http:///a.jpg"])
def test_malformed_urls_are_refused_with_a_reason(url):
    with pytest.raises(ImageRejected, match="malformed|invalid port|no host"):
        fetch_image_bytes(url, policy=FetchPolicy.from_settings())


def test_a_tls_handshake_trickling_in_is_cut_off_by_the_total_limit(
    tls_server, certificate, monkeypatch, settings
):
    settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT = 0.6
    settings.NEWSROOM_IMAGE_CONNECT_TIMEOUT = 5

    def trusting() -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(certificate[0]))

    monkeypatch.setattr(fetching, "tls_context", trusting)
    with TrickleProxy(tls_server.port, interval=0.01) as proxy:
        url = f"https://images.test:{proxy.port}/a.jpg"
        fails_within(0.6, lambda: fetch(url, resolve=to_loopback), "longer than 0.6s")
