"""The cache run over stored images, the after-import hook, and an editor's lead image upload."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Image
from ..reader import version as reader_version
from .fetch import FetchPolicy, ImageRejected, fetch_image_bytes
from .process import CachedCopy, store_image, url_key

logger = logging.getLogger(__name__)



def fetch_and_store(url: str, *, policy: FetchPolicy) -> CachedCopy:
    return store_image(fetch_image_bytes(url, policy=policy), key=url_key(url), policy=policy)


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


def _needs_fetch(
    status: str, url: str, origin: str, source_url: str, *, retry_failed: bool, force: bool
) -> bool:
    if origin == Image.Origin.UPLOAD:
        return False  # an editor's upload has nothing to fetch
    if force or status == Image.CacheStatus.PENDING:
        return True
    if status == Image.CacheStatus.FAILED:
        return retry_failed
    # Cached, but for another URL: the file's image changed since.
    return source_url != url


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
    rows = _scope(story_ids).values_list("pk", "url", "cache_status", "origin", "source_url")
    for pk, url, status, origin, source_url in rows:
        needed = _needs_fetch(status, url, origin, source_url, retry_failed=retry_failed, force=force)
        if not url or not needed:
            report.skipped += 1
            continue
        by_url.setdefault(url, []).append(pk)
        if status == Image.CacheStatus.CACHED and source_url == url:
            cached_before.add(pk)
    total = sum(len(ids) for ids in by_url.values())
    if dry_run:
        report.cached = total
        return report
    try:
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
                        _record_success(ids, copy, source_url=url)
                        report.cached += len(ids)
                    done += len(ids)
                    if progress:
                        progress(done, total)
            finally:
                # Interrupted (Ctrl-C): drop what has not started; finished images are already recorded.
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if report.cached:  # reader pages show our copies now (an interrupted run's too)
            reader_version.changed(shared=True)
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
            if donor.url not in by_url or donor.source_url != donor.url:
                continue
            ids = by_url.pop(donor.url)
            copy = CachedCopy(donor.local_file.name, donor.local_width, donor.local_height, donor.thumbnails)
            _record_success(ids, copy, source_url=donor.url)
            report.cached += len(ids)
            reused += len(ids)
    return reused


def copy_columns(copy: CachedCopy, *, origin: str, source_url: str) -> dict[str, Any]:
    """The columns of an image row that hold its local copy: the copy, where it came from, and when."""
    return {
        "cache_status": Image.CacheStatus.CACHED,
        "cache_error": "",
        "cached_at": timezone.now(),
        "local_file": copy.local_file,
        "local_width": copy.width,
        "local_height": copy.height,
        "thumbnails": copy.thumbnails,
        "origin": origin,
        "source_url": source_url,
    }


@transaction.atomic
def _record_success(ids: list[int], copy: CachedCopy, *, source_url: str) -> None:
    columns = copy_columns(copy, origin=Image.Origin.FETCHED, source_url=source_url)
    Image.objects.filter(pk__in=ids).update(**columns)


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
    """Verify and store an uploaded image; the name comes from its content. Which story it shows
    is the workflow's business (``workflow.replace_lead_image``)."""
    policy = FetchPolicy.from_settings()
    if len(data) > policy.max_bytes:
        raise ImageRejected(f"file is larger than the limit of {policy.max_bytes} bytes")
    return store_image(data, key=hashlib.sha256(data).hexdigest()[:32], policy=policy)
