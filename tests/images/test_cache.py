"""manage.py cache_images against a real HTTP server on loopback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image as PILImage
from PIL import ImageCms
from PIL.PngImagePlugin import PngInfo

from stories import workflow
from stories.images.cache import cache_images, cache_images_for_stories
from stories.models import Image, RelatedLink, State
from tests.conftest import make_provider, make_story
from tests.images_support import ImageServer, make_image_bytes, respond
from tests.terminal import Terminal

JPEG_1600 = make_image_bytes("JPEG", (1600, 900))


@pytest.fixture
def server(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = True
    settings.NEWSROOM_IMAGE_TIMEOUT = 0.5
    settings.NEWSROOM_IMAGE_WIDTHS = [320, 640, 1024]
    with ImageServer() as running:
        yield running


def story_with_image(server, path: str, body: bytes | None = None, content_type: str = "image/jpeg"):
    if body is not None:
        server.routes[path] = respond(body, content_type)
    story = make_story()
    image = story.images.get()
    image.url = server.url(path)
    image.save()
    return story, image


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("cache_images", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stored(settings, name: str) -> PILImage.Image:
    return PILImage.open(Path(settings.MEDIA_ROOT) / name)


def test_caching_stores_a_clean_copy_with_its_real_dimensions(server, settings):
    _, image = story_with_image(server, "/lead.jpg", JPEG_1600)
    out, _ = run()
    image.refresh_from_db()
    assert out.strip() == "cached 1, failed 0, skipped 0"
    assert image.cache_status == Image.CacheStatus.CACHED
    assert image.cache_error == ""
    assert image.cached_at is not None
    assert (image.local_width, image.local_height) == (1600, 900)
    assert (image.width, image.height) == (800, 450)  # the file's own values are kept for export
    with stored(settings, image.local_file.name) as full:
        assert full.format == "JPEG"
        assert full.size == (1600, 900)


def test_thumbnails_are_made_at_each_width_in_webp_and_jpeg(server, settings):
    _, image = story_with_image(server, "/lead.jpg", JPEG_1600)
    run()
    image.refresh_from_db()
    sizes = image.thumbnails["sizes"]
    assert [(entry["width"], entry["height"]) for entry in sizes] == [
        (320, 180), (640, 360), (1024, 576)
    ]
    for entry in sizes:
        with stored(settings, entry["webp"]) as webp:
            assert (webp.format, webp.size) == ("WEBP", (entry["width"], entry["height"]))
        with stored(settings, entry["fallback"]) as fallback:
            assert (fallback.format, fallback.size) == ("JPEG", (entry["width"], entry["height"]))


def test_an_image_narrower_than_the_largest_width_is_offered_at_its_own_width(server):
    _, image = story_with_image(server, "/mid.jpg", make_image_bytes("JPEG", (800, 600)))
    run()
    image.refresh_from_db()
    assert [entry["width"] for entry in image.thumbnails["sizes"]] == [320, 640, 800]
    assert image.thumbnails["sizes"][-1]["fallback"] == image.local_file.name


def test_small_images_are_never_upscaled(server):
    _, image = story_with_image(server, "/small.png", make_image_bytes("PNG", (200, 100)), "image/png")
    run()
    image.refresh_from_db()
    assert [entry["width"] for entry in image.thumbnails["sizes"]] == [200]


def test_transparent_images_fall_back_to_png(server, settings):
    body = make_image_bytes("PNG", (700, 400), mode="RGBA", color=(0, 0, 255, 128))
    _, image = story_with_image(server, "/logo.png", body, "image/png")
    run()
    image.refresh_from_db()
    assert image.thumbnails["fallback_format"] == "png"
    for entry in image.thumbnails["sizes"]:
        with stored(settings, entry["fallback"]) as fallback:
            assert fallback.format == "PNG"
            assert fallback.mode == "RGBA"


def test_metadata_is_stripped_and_orientation_applied(server, settings):
    source = PILImage.new("RGB", (400, 300), (10, 200, 10))
    exif = source.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "Camera maker"
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    buffer = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source.save(buffer, "JPEG", exif=exif, icc_profile=srgb)
    with PILImage.open(io.BytesIO(buffer.getvalue())) as original:
        assert original.info["icc_profile"] and original.getexif()
    _, image = story_with_image(server, "/exif.jpg", buffer.getvalue())
    run()
    image.refresh_from_db()
    assert (image.local_width, image.local_height) == (300, 400)
    names = [image.local_file.name]
    names += [entry[key] for entry in image.thumbnails["sizes"] for key in ("webp", "fallback")]
    for name in names:
        with stored(settings, name) as copy:
            assert not copy.getexif()
            assert "icc_profile" not in copy.info
            assert "exif" not in copy.info


def test_a_second_run_changes_nothing_and_fetches_nothing(server, settings):
    _, image = story_with_image(server, "/lead.jpg", JPEG_1600)
    run()
    image.refresh_from_db()
    path = Path(settings.MEDIA_ROOT) / image.local_file.name
    written = path.stat().st_mtime_ns
    out, _ = run()
    assert out.strip() == "cached 0, failed 0, skipped 1"
    assert server.hits["/lead.jpg"] == 1
    assert path.stat().st_mtime_ns == written


def test_failures_are_reported_with_a_reason_and_exit_status_1(server):
    _, good = story_with_image(server, "/good.jpg", JPEG_1600)
    _, html = story_with_image(server, "/lies.jpg", b"<!doctype html><title>nope</title>" * 10)
    _, missing = story_with_image(server, "/missing.jpg")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("cache_images", stdout=out, stderr=err)
    assert raised.value.returncode == 1
    assert out.getvalue().strip() == "cached 1, failed 2, skipped 0"
    assert f"image {html.pk} {html.url}: served as image/jpeg but the bytes are not" in err.getvalue()
    assert f"image {missing.pk} {missing.url}: HTTP 404" in err.getvalue()
    for image in (html, missing):
        image.refresh_from_db()
        assert image.cache_status == Image.CacheStatus.FAILED
        assert image.cache_error
    good.refresh_from_db()
    assert good.cache_status == Image.CacheStatus.CACHED


def test_failed_images_are_retried_only_when_asked(server):
    _, image = story_with_image(server, "/later.jpg")
    with pytest.raises(CommandError):
        run()
    server.routes["/later.jpg"] = respond(JPEG_1600)
    out, _ = run()
    assert out.strip() == "cached 0, failed 0, skipped 1"
    out, _ = run("--retry-failed")
    assert out.strip() == "cached 1, failed 0, skipped 0"
    image.refresh_from_db()
    assert image.cache_status == Image.CacheStatus.CACHED
    assert image.cache_error == ""


def test_a_corrupt_file_is_refused(server):
    _, image = story_with_image(server, "/cut.jpg", JPEG_1600[: len(JPEG_1600) // 2])
    with pytest.raises(CommandError):
        run()
    image.refresh_from_db()
    assert image.cache_status == Image.CacheStatus.FAILED
    assert "corrupt" in image.cache_error
    assert not image.local_file


def test_force_fetches_again_and_a_failed_refresh_keeps_the_copy(server):
    _, image = story_with_image(server, "/lead.jpg", JPEG_1600)
    run()
    out, _ = run("--force")
    assert out.strip() == "cached 1, failed 0, skipped 0"
    assert server.hits["/lead.jpg"] == 2
    server.routes["/lead.jpg"] = respond(b"", status=500)
    with pytest.raises(CommandError):
        run("--force")
    image.refresh_from_db()
    assert image.cache_status == Image.CacheStatus.CACHED
    assert image.cache_error == "HTTP 500 Internal Server Error"
    assert image.local_file


def test_a_changed_url_is_fetched_again(server):
    _, image = story_with_image(server, "/old.jpg", JPEG_1600)
    run()
    server.routes["/new.png"] = respond(make_image_bytes("PNG", (500, 500)), "image/png")
    Image.objects.filter(pk=image.pk).update(url=server.url("/new.png"))
    out, _ = run()
    assert out.strip() == "cached 1, failed 0, skipped 0"
    image.refresh_from_db()
    assert (image.local_width, image.local_height) == (500, 500)


def test_one_url_shared_by_many_images_is_downloaded_once(server):
    server.routes["/logo.png"] = respond(make_image_bytes("PNG", (50, 50)), "image/png")
    provider = make_provider()
    logos = []
    for _ in range(3):
        story = make_story(provider=provider, images=0)
        logos.append(Image.objects.create(story=story, role=Image.Role.PROVIDER, url=server.url("/logo.png")))
    out, _ = run("--workers", "3")
    assert out.strip() == "cached 3, failed 0, skipped 0"
    assert server.hits["/logo.png"] == 1
    later = Image.objects.create(
        story=make_story(images=0), role=Image.Role.PROVIDER, url=server.url("/logo.png")
    )
    out, _ = run()
    assert out.strip() == "cached 1, failed 0, skipped 3"
    assert server.hits["/logo.png"] == 1
    later.refresh_from_db()
    logos[0].refresh_from_db()
    assert later.local_file.name == logos[0].local_file.name


def test_related_and_provider_images_are_cached_with_the_story(server):
    server.routes["/lead.jpg"] = respond(JPEG_1600)
    server.routes["/related.jpg"] = respond(make_image_bytes("JPEG", (300, 200)))
    server.routes["/logo.png"] = respond(make_image_bytes("PNG", (50, 50)), "image/png")
    story = make_story(related=1)
    story.images.update(url=server.url("/lead.jpg"))
    Image.objects.filter(related_link__story=story).update(url=server.url("/related.jpg"))
    Image.objects.create(story=story, role=Image.Role.PROVIDER, url=server.url("/logo.png"))
    link = RelatedLink.objects.get(story=story)
    Image.objects.create(related_link=link, role=Image.Role.PROVIDER, url=server.url("/logo.png"))
    other, _ = story_with_image(server, "/other.jpg", JPEG_1600)
    out, _ = run("--story", str(story.pk))
    assert out.strip() == "cached 4, failed 0, skipped 0"
    cached = Image.objects.filter(cache_status=Image.CacheStatus.CACHED)
    assert set(cached.values_list("role", flat=True)) == {"lead", "related", "provider"}
    assert server.hits["/other.jpg"] == 0


def test_many_images_with_several_workers(server):
    images = []
    for n in range(12):
        _, image = story_with_image(server, f"/img{n}.jpg", make_image_bytes("JPEG", (700 + n, 400)))
        images.append(image)
    out, _ = run("--workers", "4")
    assert out.strip() == "cached 12, failed 0, skipped 0"
    assert sorted(Image.objects.values_list("local_width", flat=True)) == [700 + n for n in range(12)]


def test_dry_run_fetches_nothing(server):
    _, image = story_with_image(server, "/lead.jpg", JPEG_1600)
    out, _ = run("--dry-run")
    assert out.strip() == "would fetch 1, skip 0"
    assert server.hits["/lead.jpg"] == 0
    image.refresh_from_db()
    assert image.cache_status == Image.CacheStatus.PENDING


def test_images_without_a_url_are_skipped(server):
    story = make_story()
    story.images.update(url="")
    out, _ = run()
    assert out.strip() == "cached 0, failed 0, skipped 1"


def test_the_progress_bar_shows_only_when_stderr_is_a_terminal(server):
    story_with_image(server, "/lead.jpg", JPEG_1600)
    out, err = io.StringIO(), io.StringIO()
    call_command("cache_images", "--force", stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert out.getvalue() == "cached 1, failed 0, skipped 0\n"

    out, terminal = io.StringIO(), Terminal()
    call_command("cache_images", "--force", stdout=out, stderr=terminal)
    assert "] 1/1 images 100%" in terminal.getvalue()
    assert out.getvalue() == "cached 1, failed 0, skipped 0\n"


def test_quiet_at_verbosity_zero(server):
    story_with_image(server, "/lead.jpg", JPEG_1600)
    out = io.StringIO()
    call_command("cache_images", verbosity=0, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""


def test_images_are_cached_after_an_import_commits_when_the_setting_is_on(
    server, settings, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_CACHE_IMAGES_AFTER_IMPORT = True
    story, image = story_with_image(server, "/lead.jpg", JPEG_1600)
    untouched, other = story_with_image(server, "/other.jpg", JPEG_1600)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cache_images_for_stories([story.pk])
    image.refresh_from_db()
    assert image.cache_status == Image.CacheStatus.PENDING  # nothing happens before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    image.refresh_from_db()
    other.refresh_from_db()
    assert image.cache_status == Image.CacheStatus.CACHED
    assert other.cache_status == Image.CacheStatus.PENDING


def test_nothing_is_scheduled_after_an_import_when_the_setting_is_off(
    server, settings, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_CACHE_IMAGES_AFTER_IMPORT = False
    story, _ = story_with_image(server, "/lead.jpg", JPEG_1600)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        cache_images_for_stories([story.pk])
    assert callbacks == []
    assert server.hits["/lead.jpg"] == 0


def test_the_service_reports_counts_and_reasons(server):
    _, image = story_with_image(server, "/missing.jpg")
    report = cache_images()
    assert (report.cached, report.failed, report.skipped) == (0, 1, 0)
    assert report.failures[0].image_id == image.pk
    assert report.failures[0].reason == "HTTP 404 Not Found"


def test_png_text_chunks_and_exif_are_stripped(server, settings):
    source = PILImage.new("RGBA", (400, 300), (10, 200, 10, 100))
    exif = source.getexif()
    exif[0x010F] = "Camera maker"
    text = PngInfo()
    text.add_text("Comment", "where this was taken")
    buffer = io.BytesIO()
    source.save(buffer, "PNG", exif=exif, pnginfo=text)
    _, image = story_with_image(server, "/meta.png", buffer.getvalue(), "image/png")
    run()
    image.refresh_from_db()
    names = [image.local_file.name]
    names += [entry[key] for entry in image.thumbnails["sizes"] for key in ("webp", "fallback")]
    for name in names:
        with stored(settings, name) as copy:
            assert not copy.getexif()
            assert "Comment" not in copy.info
            assert "exif" not in copy.info


def test_an_editors_upload_is_never_fetched_again(server, editor):
    story = make_story(state=State.IN_REVIEW)
    workflow.replace_lead_image(story, data=make_image_bytes("PNG", (400, 300)), actor=editor)
    out, _ = run("--force")
    assert out.strip() == "cached 0, failed 0, skipped 1"
    assert story.images.get().cache_status == Image.CacheStatus.CACHED


def test_an_interrupted_run_keeps_what_it_finished_and_the_next_run_resumes(server):
    for n in range(3):
        story_with_image(server, f"/img{n}.jpg", make_image_bytes("JPEG", (400, 300)))

    def interrupt(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache_images(workers=1, progress=interrupt)
    statuses = sorted(Image.objects.values_list("cache_status", flat=True))
    assert statuses == ["cached", "pending", "pending"]
    out, _ = run()
    assert out.strip() == "cached 2, failed 0, skipped 1"
