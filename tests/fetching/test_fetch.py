"""Fetching from hostile servers: every refusal has a reason and no address inside our network is reached.

The fetcher knows nothing of what it fetches; these tests ask for JPEGs (the caller's
``Wanted``) and give it the network through ``Network``, never by patching the module.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import subprocess
import threading
import time

import pytest

from stories.fetching import FetchLimits, FetchRefused, Network, Wanted, check_address, fetch
from tests.images_support import ImageServer, TrickleProxy, make_image_bytes, redirect, respond

JPEG = make_image_bytes("JPEG", (640, 360))
JPEGS = Wanted(
    accept="image/jpeg",
    content_types=frozenset({"image/jpeg"}),
    described_as="a JPEG",
    start_length=3,
    check_start=lambda start: None if start.startswith(b"\xff\xd8\xff") else "the bytes are not a JPEG",
)
LIMITS = FetchLimits(
    max_bytes=10 * 1024 * 1024,
    connect_timeout=2,
    read_timeout=0.5,
    total_timeout=5,
    max_redirects=3,
    allow_private=True,
    dns_timeout=5,
)


@pytest.fixture
def server():
    with ImageServer() as running:
        yield running


def get(url: str, *, network: Network | None = None, **limits) -> bytes:
    return fetch(url, wanted=JPEGS, limits=dataclasses.replace(LIMITS, **limits), network=network)


def resolving(resolve) -> Network:
    return Network(resolve=resolve)


def test_a_jpeg_is_downloaded_whole(server):
    server.routes["/a.jpg"] = respond(JPEG)
    assert get(server.url("/a.jpg")) == JPEG


UNSPECIFIED = "0.0.0.0"  # noqa: S104 - an address we refuse, not one we bind to


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "::1", "127.0.0.1", "192.168.1.5",
                                     "::ffff:127.0.0.1", "fe80::1", "224.0.0.1", UNSPECIFIED, "100.64.0.1"])
def test_private_and_special_addresses_are_refused(address):
    with pytest.raises(FetchRefused):
        check_address(address, allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address):
    check_address(address, allow_private=False)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1"])
def test_allow_private_permits_loopback_and_private_networks(address):
    check_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "224.0.0.1", UNSPECIFIED])
def test_link_local_and_multicast_are_refused_even_when_private_is_allowed(address):
    with pytest.raises(FetchRefused):
        check_address(address, allow_private=True)


def test_loopback_is_refused_unless_the_limits_allow_private_addresses_and_no_connection_is_made(server):
    server.routes["/a.jpg"] = respond(JPEG)
    with pytest.raises(FetchRefused, match="loopback"):
        get(server.url("/a.jpg"), allow_private=False)
    assert server.hits["/a.jpg"] == 0


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup(server):
    # The name does not exist in DNS: only the address the resolver gave (and we checked) is used.
    server.routes["/a.jpg"] = respond(JPEG)
    url = f"http://images.invalid:{server.port}/a.jpg"
    assert get(url, network=resolving(lambda host, port: ["127.0.0.1"])) == JPEG
    assert server.host_headers == [f"images.invalid:{server.port}"]


def test_a_host_with_any_forbidden_address_is_refused(server):
    server.routes["/a.jpg"] = respond(JPEG)
    with pytest.raises(FetchRefused, match="169.254.169.254"):
        get(
            f"http://mixed.invalid:{server.port}/a.jpg",
            network=resolving(lambda host, port: ["127.0.0.1", "169.254.169.254"]),
        )
    assert server.hits["/a.jpg"] == 0


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "javascript:alert(1)", "/a.jpg"]
)
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(FetchRefused, match="only http and https"):
        get(url)


def test_credentials_in_urls_are_refused(server):
    with pytest.raises(FetchRefused, match="credentials"):
        get(f"http://user:secret@127.0.0.1:{server.port}/a.jpg")


def test_redirects_are_followed_and_each_hop_checked(server):
    server.routes["/old.jpg"] = redirect("/new.jpg", 301)
    server.routes["/new.jpg"] = respond(JPEG)
    assert get(server.url("/old.jpg")) == JPEG


def test_a_redirect_to_the_metadata_address_is_refused(server):
    server.routes["/a.jpg"] = redirect("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchRefused, match="169.254.169.254"):
        get(server.url("/a.jpg"))


def test_a_redirect_to_a_private_address_is_refused_without_allow_private(server):
    # The first hop has a public address (from its resolver) and is routed to the loopback
    # server; the redirect names a private address, which the check refuses before connecting.
    server.routes["/a.jpg"] = redirect("http://10.0.0.1/a.jpg")
    connected_to = []

    def via_loopback(address: tuple[str, int], timeout: float) -> socket.socket:
        connected_to.append(address[0])
        return socket.create_connection(("127.0.0.1", address[1]), timeout)

    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34"] if host == "public.invalid" else [host]

    network = Network(resolve=resolve, connect=via_loopback)
    with pytest.raises(FetchRefused, match="10.0.0.1 is a private address"):
        get(f"http://public.invalid:{server.port}/a.jpg", network=network, allow_private=False)
    assert server.hits["/a.jpg"] == 1
    assert connected_to == ["93.184.216.34"]


def test_a_redirect_to_another_scheme_is_refused(server):
    server.routes["/a.jpg"] = redirect("file:///etc/passwd")
    with pytest.raises(FetchRefused, match="only http and https"):
        get(server.url("/a.jpg"))


def test_redirect_loops_stop_after_the_limit(server):
    server.routes["/loop.jpg"] = redirect("/loop.jpg")
    with pytest.raises(FetchRefused, match="more than 3 redirects"):
        get(server.url("/loop.jpg"))
    assert server.hits["/loop.jpg"] == 4


def test_bytes_that_are_not_what_the_caller_wants_are_refused(server):
    server.routes["/a.jpg"] = respond(b"<!doctype html><html><body>not an image</body></html>", "image/jpeg")
    with pytest.raises(FetchRefused, match="served as image/jpeg but the bytes are not a JPEG"):
        get(server.url("/a.jpg"))


def test_a_body_shorter_than_the_check_is_still_checked(server):
    server.routes["/a.jpg"] = respond(b"<a", "image/jpeg")
    with pytest.raises(FetchRefused, match="the bytes are not a JPEG"):
        get(server.url("/a.jpg"))


def test_a_content_type_the_caller_does_not_take_is_refused(server):
    server.routes["/a.jpg"] = respond(JPEG, "text/html")
    with pytest.raises(FetchRefused, match="content type 'text/html' is not a JPEG"):
        get(server.url("/a.jpg"))
    assert server.hits["/a.jpg"] == 1


def test_a_compressed_body_is_refused(server):
    server.routes["/a.jpg"] = respond(JPEG, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchRefused, match="content encoding 'gzip' is not accepted"):
        get(server.url("/a.jpg"))


def test_the_caller_says_what_it_accepts(server):
    accepted = []

    def record(handler):
        accepted.append(handler.headers.get("Accept"))
        respond(JPEG)(handler)

    server.routes["/a.jpg"] = record
    get(server.url("/a.jpg"))
    assert accepted == ["image/jpeg"]


def test_an_http_error_status_is_a_reason(server):
    with pytest.raises(FetchRefused, match="HTTP 404"):
        get(server.url("/missing.jpg"))


def test_a_declared_size_over_the_limit_is_refused_before_reading(server):
    server.routes["/big.jpg"] = respond(b"\xff\xd8\xff" + b"\0" * 50_000)
    with pytest.raises(FetchRefused, match="over the limit of 10000"):
        get(server.url("/big.jpg"), max_bytes=10_000)


def test_a_huge_body_without_content_length_is_cut_at_the_limit(server):
    server.routes["/big.jpg"] = respond(b"\xff\xd8\xff" + b"\0" * 2_000_000, length=False)
    with pytest.raises(FetchRefused, match="larger than the limit of 10000"):
        get(server.url("/big.jpg"), max_bytes=10_000)


def test_a_content_length_that_understates_the_body_reads_no_further(server):
    server.routes["/big.jpg"] = respond(
        JPEG[:100] + b"\0" * 2_000_000, length=False, headers={"Content-Length": "100"}
    )
    assert get(server.url("/big.jpg"), max_bytes=10_000) == JPEG[:100]


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
    with pytest.raises(FetchRefused, match="no data from the server within 0.5s"):
        get(server.url("/slow.jpg"))


def test_a_server_that_trickles_is_cut_off_by_the_total_limit(server):

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
    with pytest.raises(FetchRefused, match="longer than 0.6s"):
        get(server.url("/trickle.jpg"), total_timeout=0.6)


# The budget is checked on the fetch alone; the margin covers thread start-up on a loaded machine.
MARGIN = 0.5


def fails_within(seconds: float, fetching, match: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchRefused, match=match):
        fetching()
    assert time.monotonic() - started < seconds + MARGIN


def test_headers_trickling_in_byte_by_byte_are_cut_off_by_the_total_limit(server):
    # Each byte comes well inside the read timeout, so only a deadline over the whole response stops it.
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
    fails_within(0.6, lambda: get(server.url("/headers.jpg"), total_timeout=0.6), "longer than 0.6s")


def test_a_slow_dns_lookup_is_abandoned_after_its_own_timeout(server):
    answer = threading.Event()

    def slow_resolver(host: str, port: int) -> list[str]:
        # getaddrinfo has no timeout of its own: a resolver that does not answer looks like this.
        answer.wait(10)
        return ["127.0.0.1"]

    try:
        fetching = lambda: get(server.url("/a.jpg"), network=resolving(slow_resolver), dns_timeout=0.3)  # noqa: E731
        fails_within(0.3, fetching, "no answer from DNS .* within 0.3s")
    finally:
        answer.set()
    assert server.hits["/a.jpg"] == 0


def test_the_dns_lookup_counts_against_the_total_limit(server):
    answer = threading.Event()

    def slow_resolver(host: str, port: int) -> list[str]:
        answer.wait(10)
        return ["127.0.0.1"]

    try:
        fetching = lambda: get(  # noqa: E731
            server.url("/a.jpg"), network=resolving(slow_resolver), dns_timeout=30, total_timeout=0.4
        )
        fails_within(0.4, fetching, "longer than 0.4s")
    finally:
        answer.set()


def test_html_entities_left_in_image_urls_are_decoded_before_fetching(server):
    # Story files copy image URLs out of HTML: "&#038;" stands for "&".
    server.routes["/a.jpg?w=640&h=360"] = respond(JPEG)
    assert get(server.url("/a.jpg?w=640&#038;h=360")) == JPEG


def test_an_international_host_name_is_resolved_in_its_ascii_form(server):
    server.routes["/a.jpg"] = respond(JPEG)
    asked = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    assert get(f"http://bücher.invalid:{server.port}/a.jpg", network=resolving(resolve)) == JPEG
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
def tls_server(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with ImageServer(tls=context) as running:
        running.routes["/a.jpg"] = respond(JPEG)
        yield running


def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def trusting(certificate) -> Network:
    """Loopback, trusting our test certificate as well as the system's."""
    cafile = str(certificate[0])
    return Network(resolve=to_loopback, tls_context=lambda: ssl.create_default_context(cafile=cafile))


def test_https_checks_the_certificate_against_the_system_trust_store(tls_server):
    with pytest.raises(FetchRefused, match="CERTIFICATE_VERIFY_FAILED"):
        get(f"https://images.test:{tls_server.port}/a.jpg", network=resolving(to_loopback))


def test_https_to_a_pinned_address_verifies_the_host_name(tls_server, certificate):
    # The connection goes to the checked address, the name is verified against the certificate.
    network = trusting(certificate)
    assert get(f"https://images.test:{tls_server.port}/a.jpg", network=network) == JPEG
    with pytest.raises(FetchRefused, match="CERTIFICATE_VERIFY_FAILED|match"):
        get(f"https://other.test:{tls_server.port}/a.jpg", network=network)


@pytest.mark.parametrize("url", ["http://[::1/a.jpg", "http://example.com:99999/a.jpg", "http:///a.jpg"])
def test_malformed_urls_are_refused_with_a_reason(url):
    with pytest.raises(FetchRefused, match="malformed|invalid port|no host"):
        get(url)


def test_a_tls_handshake_trickling_in_is_cut_off_by_the_total_limit(tls_server, certificate):
    with TrickleProxy(tls_server.port, interval=0.01) as proxy:
        url = f"https://images.test:{proxy.port}/a.jpg"
        fetching = lambda: get(  # noqa: E731
            url, network=trusting(certificate), total_timeout=0.6, connect_timeout=5
        )
        fails_within(0.6, fetching, "longer than 0.6s")
