"""One download: the URL checked hop by hop, the response checked before it is kept."""

from __future__ import annotations

import html
import http.client
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from .addresses import check_address, resolve_within
from .connections import Deadline, Network, PinnedHTTPConnection, PinnedHTTPSConnection
from .limits import FetchLimits, FetchRefused, Wanted, describe_error

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK = 64 * 1024


@dataclass(frozen=True)
class _Target:
    """Where one hop goes: the URL checked, its host in ASCII form, and the port."""

    url: str
    scheme: str
    host: str
    port: int


def _target(url: str) -> _Target:
    """The URL's scheme, host and port, or FetchRefused saying why it is not one we fetch."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise FetchRefused("the URL is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise FetchRefused(f"only http and https URLs are fetched, not {scheme or 'a relative URL'!r}")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are not fetched")
    host = parts.hostname
    if not host:
        raise FetchRefused("the URL has no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise FetchRefused(f"invalid host name {host!r}") from None
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise FetchRefused("the URL has an invalid port") from None
    return _Target(url=url, scheme=scheme, host=host, port=port)


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return path


@dataclass(frozen=True)
class _Fetch:
    """One download: what is wanted, within which limits, over which network, by when."""

    wanted: Wanted
    limits: FetchLimits
    network: Network
    deadline: Deadline


def fetch(url: str, *, wanted: Wanted, limits: FetchLimits, network: Network | None = None) -> bytes:
    """Download ``url`` under ``limits``, following redirects. Raises FetchRefused with the reason."""
    # URLs copied out of HTML keep their entities (``&#038;``); the server wants ``&``.
    if "&#" in url or "&amp;" in url:
        url = html.unescape(url)
    deadline = Deadline(limits.total_timeout)
    job = _Fetch(wanted=wanted, limits=limits, network=network or Network(), deadline=deadline)
    for _hop in range(limits.max_redirects + 1):
        target = _target(url)
        answer = _get_from_any(target, _checked_addresses(target, job), job)
        if isinstance(answer, bytes):
            return answer
        url = urljoin(url, answer)
    raise FetchRefused(f"more than {limits.max_redirects} redirects")


def _checked_addresses(target: _Target, job: _Fetch) -> list[str]:
    """Every address the host has, each one allowed, or FetchRefused."""
    limits, deadline = job.limits, job.deadline
    try:
        addresses = resolve_within(
            job.network.resolve, target.host, target.port, timeout=deadline.timeout(limits.dns_timeout)
        )
    except TimeoutError:
        if deadline.expired():
            raise FetchRefused(deadline.message) from None
        raise FetchRefused(f"no answer from DNS for {target.host!r} within {limits.dns_timeout:g}s") from None
    for address in addresses:
        check_address(address, allow_private=limits.allow_private)
    return addresses


def _get_from_any(target: _Target, addresses: list[str], job: _Fetch) -> bytes | str:
    """The first address that takes the connection answers: the body, or the redirect target."""
    connection_class = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    for index, address in enumerate(addresses):
        conn = connection_class(
            target.host, target.port, address=address, limits=job.limits, deadline=job.deadline,
            network=job.network,
        )
        try:
            try:
                conn.connect()
            except OSError as exc:
                if job.deadline.expired():
                    raise FetchRefused(job.deadline.message) from None
                if index + 1 < len(addresses):
                    continue
                raise FetchRefused(
                    f"cannot connect to {target.host} ({address}): {describe_error(exc)}"
                ) from None
            return _get(conn, target.url, job)
        finally:
            conn.close()
    raise FetchRefused(f"host {target.host!r} has no address")


def _get(conn: http.client.HTTPConnection, url: str, job: _Fetch) -> bytes | str:
    """One request: the body, or the redirect target."""
    try:
        conn.request(
            "GET",
            _request_target(url),
            headers={
                "User-Agent": job.limits.user_agent,
                "Accept": job.wanted.accept,
                "Accept-Encoding": "identity",
            },
        )
        with conn.getresponse() as response:
            return _read_response(response, job)
    except FetchRefused:
        raise
    except TimeoutError:
        if job.deadline.expired():
            raise FetchRefused(job.deadline.message) from None
        raise FetchRefused(f"no data from the server within {job.limits.read_timeout:g}s") from None
    except (OSError, http.client.HTTPException) as exc:
        if job.deadline.expired():
            raise FetchRefused(job.deadline.message) from None
        raise FetchRefused(f"HTTP error: {describe_error(exc)}") from None


def _read_response(response: http.client.HTTPResponse, job: _Fetch) -> bytes | str:
    """The body of a good response, or the redirect target; errors are left to the caller."""
    if response.status in REDIRECT_STATUSES:
        location = response.getheader("Location")
        if not location:
            raise FetchRefused(f"HTTP {response.status} redirect without a Location")
        return location
    if response.status != 200:
        raise FetchRefused(f"HTTP {response.status} {response.reason}".strip())
    wanted, max_bytes = job.wanted, job.limits.max_bytes
    content_type = (response.getheader("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type not in wanted.content_types:
        raise FetchRefused(f"content type {content_type or '(none)'!r} is not {wanted.described_as}")
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise FetchRefused(f"content encoding {encoding!r} is not accepted")
    declared = response.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > max_bytes:
        raise FetchRefused(f"size {int(declared)} bytes is over the limit of {max_bytes}")
    body = bytearray()
    checked = False
    while True:
        if job.deadline.expired():
            raise FetchRefused(job.deadline.message)
        chunk = response.read1(CHUNK)
        if not chunk:
            break
        body += chunk
        if len(body) > max_bytes:
            raise FetchRefused(f"body is larger than the limit of {max_bytes} bytes")
        # Refused as soon as the start is in: a server sending something else loses no more time.
        if not checked and len(body) >= wanted.start_length:
            _check_start(bytes(body[: wanted.start_length]), content_type, wanted)
            checked = True
    if not checked:
        _check_start(bytes(body), content_type, wanted)
    return bytes(body)


def _check_start(start: bytes, content_type: str, wanted: Wanted) -> None:
    reason = wanted.check_start(start)
    if reason:
        raise FetchRefused(f"served as {content_type} but {reason}")
