"""Safe fetching of remote images: the policy, address checks, pinned connections, redirects and limits."""

from __future__ import annotations

import html
import http.client
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings

# Declared content types we accept, and the Pillow format each magic number means.
ACCEPTED_CONTENT_TYPES = frozenset({"image/jpeg", "image/pjpeg", "image/png", "image/gif", "image/webp"})
PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK = 64 * 1024


class ImageRejected(Exception):
    """An image we will not keep. The message is the reason shown to people."""


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    max_pixels: int
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_redirects: int
    allow_private: bool
    widths: tuple[int, ...]
    dns_timeout: float = 5.0
    user_agent: str = "Newsroom image cache"

    @classmethod
    def from_settings(cls) -> FetchPolicy:
        return cls(
            max_bytes=settings.NEWSROOM_IMAGE_MAX_BYTES,
            max_pixels=settings.NEWSROOM_IMAGE_MAX_PIXELS,
            connect_timeout=settings.NEWSROOM_IMAGE_CONNECT_TIMEOUT,
            read_timeout=settings.NEWSROOM_IMAGE_TIMEOUT,
            total_timeout=settings.NEWSROOM_IMAGE_TOTAL_TIMEOUT,
            max_redirects=settings.NEWSROOM_IMAGE_MAX_REDIRECTS,
            allow_private=settings.NEWSROOM_IMAGE_ALLOW_PRIVATE,
            widths=tuple(sorted(set(settings.NEWSROOM_IMAGE_WIDTHS))),
            dns_timeout=settings.NEWSROOM_IMAGE_DNS_TIMEOUT,
        )


def check_address(address: str, *, allow_private: bool) -> None:
    """Refuse an IP address we must never fetch from.

    Link-local (cloud metadata services live at 169.254.169.254), multicast,
    unspecified and reserved addresses are refused always; loopback and private
    networks only when ``allow_private`` (development and tests).
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise ImageRejected(f"{address!r} is not an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast or ip.is_link_local:
        raise ImageRejected(f"address {ip} is link-local, multicast or unspecified")
    if ip.is_loopback:
        if not allow_private:
            raise ImageRejected(f"address {ip} is a loopback address")
        return
    if ip.is_reserved:
        raise ImageRejected(f"address {ip} is reserved")
    if ip.is_private or not ip.is_global:
        if not allow_private:
            raise ImageRejected(f"address {ip} is a private address")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in resolver order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ImageRejected(f"cannot resolve host {host!r}: {exc}") from None
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise ImageRejected(f"host {host!r} has no address")
    return addresses


# Lookups given up on keep running in their thread until the system resolver answers; this
# bounds how many can pile up behind a resolver that never does.
MAX_PENDING_LOOKUPS = 16
_pending_lookups = threading.BoundedSemaphore(MAX_PENDING_LOOKUPS)


def resolve_within(
    resolve: Callable[[str, int], list[str]], host: str, port: int, *, timeout: float
) -> list[str]:
    """``resolve(host, port)``, or TimeoutError after ``timeout`` seconds.

    ``getaddrinfo`` cannot be interrupted and has no timeout of its own (the system
    resolver's retries can take minutes), so it runs in a daemon thread that we stop
    waiting for. A lookup given up on finishes in the background and its answer is dropped.
    """
    late = TimeoutError(f"no answer from DNS for {host!r}")
    if not _pending_lookups.acquire(timeout=timeout):
        raise late
    answer: dict[str, object] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            answer["addresses"] = resolve(host, port)
        except BaseException as exc:  # handed over to the waiting thread, whatever it is
            answer["error"] = exc
        finally:
            _pending_lookups.release()
            done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not done.wait(timeout):
        raise late
    if "error" in answer:
        raise answer["error"]  # type: ignore[misc]
    return answer["addresses"]  # type: ignore[return-value]


class Deadline:
    """The total time allowed for one download, across DNS, connect, TLS, headers and body.

    Every blocking step gets ``timeout(limit)``: its own limit, or what is left of the
    total when that is shorter. A socket timeout restarts with each byte received, so
    a server trickling one byte at a time would otherwise never time out.
    """

    def __init__(self, total: float) -> None:
        self.total = total
        self.at = time.monotonic() + total

    @property
    def message(self) -> str:
        return f"download took longer than {self.total:g}s"

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def timeout(self, limit: float) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(self.message)
        return min(limit, left)


class _DeadlineSocket:
    """What ``http.client`` sees of the socket: sending and reading, each bounded by the deadline.

    Like ``socket.makefile``, the socket stays open until its reader is closed too:
    ``http.client`` closes the connection as soon as it hands an HTTP/1.0 response over.
    """

    def __init__(self, sock: socket.socket, deadline: Deadline, read_timeout: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._readers = 0
        self._closing = False

    def sendall(self, data: bytes) -> None:
        # Since Python 3.5 a sendall timeout bounds the whole call, not each send.
        self._sock.settimeout(self._deadline.timeout(self._read_timeout))
        self._sock.sendall(data)

    def recv_into(self, buffer) -> int:
        self._sock.settimeout(self._deadline.timeout(self._read_timeout))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *args, **kwargs) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"unsupported mode {mode!r}")
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closing and not self._readers:
            self._sock.close()

    def close(self) -> None:
        self._closing = True
        if not self._readers:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    """The raw stream under a response: every receive gets the deadline's timeout."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        super().__init__()
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.reader_closed()
        super().close()


# --------------------------------------------------------------------------- fetching


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address we checked, whatever the host name resolves to now."""

    def __init__(
        self, host: str, port: int, *, address: str, connect_timeout: float, read_timeout: float,
        deadline: Deadline,
    ):
        super().__init__(host, port, timeout=connect_timeout)
        self._address = address
        self._read_timeout = read_timeout
        self._deadline = deadline

    def _open_socket(self) -> socket.socket:
        return socket.create_connection((self._address, self.port), self._deadline.timeout(self.timeout))

    def connect(self) -> None:
        self.sock = _DeadlineSocket(self._open_socket(), self._deadline, self._read_timeout)


def tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's trust store, host names checked."""
    return ssl.create_default_context()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def __init__(self, host: str, port: int, **kwargs):
        super().__init__(host, port, **kwargs)
        self._context = tls_context()

    def connect(self) -> None:
        # The certificate is checked against the host name, the socket goes to the checked address.
        raw = self._open_socket()
        try:
            # OpenSSL treats a socket timeout as a deadline for the whole handshake.
            raw.settimeout(self._deadline.timeout(self.timeout))
            sock = self._context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
        self.sock = _DeadlineSocket(sock, self._deadline, self._read_timeout)


def sniff_format(head: bytes) -> str | None:
    """The Pillow format the magic number says, or None when it is not an image we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return path


def fetch_image_bytes(
    url: str, *, policy: FetchPolicy, resolve: Callable[[str, int], list[str]] = resolve_host
) -> bytes:
    """Download one image under the policy's limits. Raises ImageRejected with the reason."""
    # Image URLs copied out of HTML keep their entities (``&#038;``); the server wants ``&``.
    if "&#" in url or "&amp;" in url:
        url = html.unescape(url)
    deadline = Deadline(policy.total_timeout)
    for _hop in range(policy.max_redirects + 1):
        try:
            parts = urlsplit(url)
        except ValueError:
            raise ImageRejected("the URL is malformed") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ImageRejected(f"only http and https URLs are fetched, not {scheme or 'a relative URL'!r}")
        if parts.username or parts.password:
            raise ImageRejected("URLs with credentials are not fetched")
        host = parts.hostname
        if not host:
            raise ImageRejected("the URL has no host")
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise ImageRejected(f"invalid host name {host!r}") from None
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise ImageRejected("the URL has an invalid port") from None
        try:
            addresses = resolve_within(resolve, host, port, timeout=deadline.timeout(policy.dns_timeout))
        except TimeoutError:
            if deadline.expired():
                raise ImageRejected(deadline.message) from None
            raise ImageRejected(f"no answer from DNS for {host!r} within {policy.dns_timeout:g}s") from None
        for address in addresses:
            check_address(address, allow_private=policy.allow_private)
        location = None
        for index, address in enumerate(addresses):
            connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
            conn = connection_class(
                host, port, address=address,
                connect_timeout=policy.connect_timeout, read_timeout=policy.read_timeout, deadline=deadline,
            )
            try:
                try:
                    conn.connect()
                except OSError as exc:
                    if deadline.expired():
                        raise ImageRejected(deadline.message) from None
                    if index + 1 < len(addresses):
                        continue
                    raise ImageRejected(
                        f"cannot connect to {host} ({address}): {describe_error(exc)}"
                    ) from None
                location = _get(conn, url, policy=policy, deadline=deadline)
            finally:
                conn.close()
            break
        if isinstance(location, bytes):
            return location
        url = urljoin(url, location)
    raise ImageRejected(f"more than {policy.max_redirects} redirects")


def _get(
    conn: http.client.HTTPConnection, url: str, *, policy: FetchPolicy, deadline: Deadline
) -> bytes | str:
    """One request: the body, or the redirect target."""
    try:
        conn.request(
            "GET",
            _request_target(url),
            headers={
                "User-Agent": policy.user_agent,
                "Accept": "image/webp,image/png,image/jpeg,image/gif;q=0.9",
                "Accept-Encoding": "identity",
            },
        )
        with conn.getresponse() as response:
            return _read_response(response, policy=policy, deadline=deadline)
    except ImageRejected:
        raise
    except TimeoutError:
        if deadline.expired():
            raise ImageRejected(deadline.message) from None
        raise ImageRejected(f"no data from the server within {policy.read_timeout:g}s") from None
    except (OSError, http.client.HTTPException) as exc:
        if deadline.expired():
            raise ImageRejected(deadline.message) from None
        raise ImageRejected(f"HTTP error: {describe_error(exc)}") from None


def _read_response(
    response: http.client.HTTPResponse, *, policy: FetchPolicy, deadline: Deadline
) -> bytes | str:
    """The body of a good response, or the redirect target; errors are left to the caller."""
    if response.status in REDIRECT_STATUSES:
        location = response.getheader("Location")
        if not location:
            raise ImageRejected(f"HTTP {response.status} redirect without a Location")
        return location
    if response.status != 200:
        raise ImageRejected(f"HTTP {response.status} {response.reason}".strip())
    content_type = (response.getheader("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise ImageRejected(f"content type {content_type or '(none)'!r} is not an image type we accept")
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise ImageRejected(f"content encoding {encoding!r} is not accepted")
    declared = response.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > policy.max_bytes:
        raise ImageRejected(f"size {int(declared)} bytes is over the limit of {policy.max_bytes}")
    body = bytearray()
    sniffed = False
    while True:
        if deadline.expired():
            raise ImageRejected(deadline.message)
        chunk = response.read1(CHUNK)
        if not chunk:
            break
        body += chunk
        if len(body) > policy.max_bytes:
            raise ImageRejected(f"body is larger than the limit of {policy.max_bytes} bytes")
        if not sniffed and len(body) >= 12:
            if sniff_format(bytes(body[:12])) is None:
                raise ImageRejected(
                    f"served as {content_type} but the bytes are not a JPEG, PNG, GIF or WebP image"
                )
            sniffed = True
    if not sniffed and sniff_format(bytes(body)) is None:
        raise ImageRejected(f"served as {content_type} but the bytes are not an image we accept")
    return bytes(body)


def describe_error(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__
