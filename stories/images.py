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

import hashlib
import html
import http.client
import io
import ipaddress
import logging
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from .audit import record
from .models import Image, Story

logger = logging.getLogger(__name__)

# Pillow only warns between MAX_IMAGE_PIXELS and twice that; an image that large is refused here.
warnings.simplefilter("error", PILImage.DecompressionBombWarning)

# Declared content types we accept, and the Pillow format each magic number means.
ACCEPTED_CONTENT_TYPES = frozenset({"image/jpeg", "image/pjpeg", "image/png", "image/gif", "image/webp"})
PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK = 64 * 1024

# The origin of a cached copy, kept in Image.thumbnails.
ORIGIN_FETCHED = "fetched"
ORIGIN_UPLOAD = "upload"


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


# --------------------------------------------------------------------------- fetching


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address we checked, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, connect_timeout: float, read_timeout: float):
        super().__init__(host, port, timeout=connect_timeout)
        self._address = address
        self._read_timeout = read_timeout

    def _open_socket(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.settimeout(self._read_timeout)
        return sock

    def connect(self) -> None:
        self.sock = self._open_socket()


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
        self.sock = self._context.wrap_socket(self._open_socket(), server_hostname=self.host)


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
    deadline = time.monotonic() + policy.total_timeout
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
        addresses = resolve(host, port)
        for address in addresses:
            check_address(address, allow_private=policy.allow_private)
        location = None
        for index, address in enumerate(addresses):
            connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
            conn = connection_class(
                host, port, address=address,
                connect_timeout=policy.connect_timeout, read_timeout=policy.read_timeout,
            )
            try:
                try:
                    conn.connect()
                except OSError as exc:
                    if index + 1 < len(addresses):
                        continue
                    raise ImageRejected(f"cannot connect to {host} ({address}): {_describe(exc)}") from None
                location = _get(conn, url, policy=policy, deadline=deadline)
            finally:
                conn.close()
            break
        if isinstance(location, bytes):
            return location
        url = urljoin(url, location)
    raise ImageRejected(f"more than {policy.max_redirects} redirects")


def _get(conn: http.client.HTTPConnection, url: str, *, policy: FetchPolicy, deadline: float) -> bytes | str:
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
        response = conn.getresponse()
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
            if time.monotonic() > deadline:
                raise ImageRejected(f"download took longer than {policy.total_timeout:g}s")
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
    except ImageRejected:
        raise
    except TimeoutError:
        raise ImageRejected(f"no data from the server within {policy.read_timeout:g}s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise ImageRejected(f"HTTP error: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__


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
    # Pillow's own decompression-bomb guard refuses on open; the size check below is the same
    # limit, in words people can act on, should a warnings filter have been reset.
    PILImage.MAX_IMAGE_PIXELS = max(max_pixels, 1)
    try:
        with PILImage.open(io.BytesIO(data), formats=[kind]) as probe:
            width, height = probe.size
            if width < 1 or height < 1:
                raise ImageRejected(f"image has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise ImageRejected(
                    f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
                )
            probe.verify()
        image = PILImage.open(io.BytesIO(data), formats=[kind])
        image.load()
    except ImageRejected:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageRejected(f"image is too large to decode safely: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageRejected(f"corrupt or unreadable {kind} image: {_describe(exc)}") from None
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


def fetch_and_store(url: str, *, policy: FetchPolicy) -> CachedCopy:
    copy = store_image(fetch_image_bytes(url, policy=policy), key=url_key(url), policy=policy)
    copy.thumbnails.update(origin=ORIGIN_FETCHED, source_url=url)
    return copy


# --------------------------------------------------------------------------- the cache run


@dataclass
class CacheFailure:
    image_id: int
    url: str
    reason: str


@dataclass
class CacheReport:
    cached: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[CacheFailure] = field(default_factory=list)

    def __str__(self) -> str:
        return f"cached {self.cached}, failed {self.failed}, skipped {self.skipped}"


def _scope(story_ids: Iterable[int] | None):
    images = Image.objects.all()
    if story_ids is not None:
        ids = list(story_ids)
        images = images.filter(Q(story_id__in=ids) | Q(related_link__story_id__in=ids))
    return images


def _needs_fetch(status: str, url: str, thumbnails: dict, *, retry_failed: bool, force: bool) -> bool:
    if (thumbnails or {}).get("origin") == ORIGIN_UPLOAD:
        return False  # an editor's upload has nothing to fetch
    if force or status == Image.CacheStatus.PENDING:
        return True
    if status == Image.CacheStatus.FAILED:
        return retry_failed
    # Cached, but for another URL: the file's image changed since.
    return (thumbnails or {}).get("source_url") != url


def cache_images(
    *,
    story_ids: Iterable[int] | None = None,
    retry_failed: bool = False,
    force: bool = False,
    workers: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CacheReport:
    """Cache every image that needs it (pending; failed too with ``retry_failed``; all with ``force``).

    Not one transaction: each URL's outcome is committed as soon as it is known,
    so a run that is interrupted keeps what it did and the next run carries on.
    """
    policy = FetchPolicy.from_settings()
    workers = max(1, workers or settings.NEWSROOM_IMAGE_WORKERS)
    report = CacheReport()
    by_url: dict[str, list[int]] = {}
    cached_before: set[int] = set()
    rows = _scope(story_ids).values_list("pk", "url", "cache_status", "thumbnails")
    for pk, url, status, thumbnails in rows:
        if not url or not _needs_fetch(status, url, thumbnails, retry_failed=retry_failed, force=force):
            report.skipped += 1
            continue
        by_url.setdefault(url, []).append(pk)
        if status == Image.CacheStatus.CACHED and (thumbnails or {}).get("source_url") == url:
            cached_before.add(pk)
    total = sum(len(ids) for ids in by_url.values())
    if dry_run:
        report.cached = total
        return report
    done = 0
    if not force:
        done = _reuse_existing_copies(by_url, report)
    if progress and total:
        progress(done, total)
    if by_url:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cache-images")
        futures = {pool.submit(fetch_and_store, url, policy=policy): url for url in by_url}
        try:
            for future in as_completed(futures):
                url = futures[future]
                ids = by_url[url]
                try:
                    copy = future.result()
                except ImageRejected as exc:
                    _record_failure(ids, reason=str(exc), keep=cached_before, report=report, url=url)
                except Exception as exc:  # noqa: BLE001 - one bad image must not stop the run
                    logger.exception("caching %s failed", url)
                    _record_failure(ids, reason=f"unexpected error: {exc!r}", keep=cached_before,
                                    report=report, url=url)
                else:
                    _record_success(ids, copy)
                    report.cached += len(ids)
                done += len(ids)
                if progress:
                    progress(done, total)
        finally:
            # Interrupted (Ctrl-C): drop what has not started; finished images are already recorded.
            pool.shutdown(wait=True, cancel_futures=True)
    return report


def _reuse_existing_copies(by_url: dict[str, list[int]], report: CacheReport) -> int:
    """Images of a URL another row already has a copy of (provider logos, mostly) need no download."""
    reused = 0
    urls = list(by_url)
    waiting = {pk for ids in by_url.values() for pk in ids}
    for start in range(0, len(urls), 500):
        donors = (
            Image.objects.filter(url__in=urls[start:start + 500], cache_status=Image.CacheStatus.CACHED)
            .exclude(pk__in=waiting)
            .exclude(local_file="")
            .order_by("-cached_at")
        )
        for donor in donors:
            if donor.url not in by_url or (donor.thumbnails or {}).get("source_url") != donor.url:
                continue
            ids = by_url.pop(donor.url)
            copy = CachedCopy(donor.local_file.name, donor.local_width, donor.local_height, donor.thumbnails)
            _record_success(ids, copy)
            report.cached += len(ids)
            reused += len(ids)
    return reused


@transaction.atomic
def _record_success(ids: list[int], copy: CachedCopy) -> None:
    Image.objects.filter(pk__in=ids).update(
        cache_status=Image.CacheStatus.CACHED,
        cache_error="",
        cached_at=timezone.now(),
        local_file=copy.local_file,
        local_width=copy.width,
        local_height=copy.height,
        thumbnails=copy.thumbnails,
    )


@transaction.atomic
def _record_failure(ids: list[int], *, reason: str, keep: set[int], report: CacheReport, url: str) -> None:
    # A forced refresh that fails keeps the copy we already had; the reason is still recorded.
    kept = [pk for pk in ids if pk in keep]
    lost = [pk for pk in ids if pk not in keep]
    Image.objects.filter(pk__in=kept).update(cache_error=reason)
    Image.objects.filter(pk__in=lost).update(cache_status=Image.CacheStatus.FAILED, cache_error=reason)
    report.failed += len(ids)
    report.failures.extend(CacheFailure(image_id=pk, url=url, reason=reason) for pk in sorted(ids))


def cache_images_for_stories(story_ids: Iterable[int]) -> None:
    """After an import: cache these stories' images once the import commits, if the setting says so.

    Call inside the import's transaction. Failures are recorded per image and
    logged; they never undo or fail the import.
    """
    if not settings.NEWSROOM_CACHE_IMAGES_AFTER_IMPORT:
        return
    ids = sorted(set(story_ids))
    if not ids:
        return

    def run() -> None:
        try:
            report = cache_images(story_ids=ids)
        except Exception:  # noqa: BLE001 - the import already committed; cron retries what is left
            logger.exception("caching images after import failed")
            return
        if report.failed:
            logger.warning("images after import: %s", report)

    transaction.on_commit(run)


# --------------------------------------------------------------------------- editor uploads


def store_upload(data: bytes) -> CachedCopy:
    """Verify and store an uploaded image; the name comes from its content."""
    policy = FetchPolicy.from_settings()
    if len(data) > policy.max_bytes:
        raise ImageRejected(f"file is larger than the limit of {policy.max_bytes} bytes")
    copy = store_image(data, key=hashlib.sha256(data).hexdigest()[:32], policy=policy)
    copy.thumbnails["origin"] = ORIGIN_UPLOAD
    return copy


@transaction.atomic
def replace_lead_image(*, story: Story, data: bytes, actor, title: str = "", comment: str = "") -> Image:
    """Make an uploaded image the story's lead image, with thumbnails and an audit entry.

    The lead image row is updated in place (its place in the file's layout is kept);
    its URL becomes our own copy's absolute address, so an export points at it.
    """
    copy = store_upload(data)
    lead = (
        Image.objects.select_for_update()
        .filter(story=story, role=Image.Role.LEAD)
        .order_by("position", "id")
        .first()
    )
    before = _image_summary(lead)
    if lead is None:
        lead = Image(story=story, role=Image.Role.LEAD, position=0)
    public_url = settings.SITE_URL + default_storage.url(copy.local_file)
    copy.thumbnails["source_url"] = public_url
    lead.url = public_url
    lead.width, lead.height = copy.width, copy.height
    lead.is_cached = True
    if title:
        lead.title = title
    lead.cache_status = Image.CacheStatus.CACHED
    lead.cache_error = ""
    lead.cached_at = timezone.now()
    lead.local_file.name = copy.local_file
    lead.local_width, lead.local_height = copy.width, copy.height
    lead.thumbnails = copy.thumbnails
    lead.save()
    record(
        story=story, action="lead_image", actor=actor, field="images",
        before=before, after=_image_summary(lead), comment=comment,
    )
    return lead


def _image_summary(image: Image | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {
        "url": image.url,
        "local_file": image.local_file.name or "",
        "width": image.local_width or image.width,
        "height": image.local_height or image.height,
        "title": image.title,
    }


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
