"""Editors upload or replace a story's lead image in the admin; lists show thumbnails."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image as PILImage

from stories.admin.images import lead_thumbnail, thumbnail_html
from stories.models import AuditEntry, Image, State, Story
from tests.conftest import make_story
from tests.images_support import make_image_bytes


@pytest.fixture(autouse=True)
def media(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.NEWSROOM_IMAGE_WIDTHS = [320, 640, 1024]
    return tmp_path


def upload_url(story: Story) -> str:
    return reverse("story_lead_image", kwargs={"story_id": story.pk})


def jpeg_upload(name: str = "photo.jpg", size=(1200, 800)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_image_bytes("JPEG", size), content_type="image/jpeg")


def upload(client: Client, story: Story, **data):
    """POST the lead image page as the browser does: with the version the page showed."""
    data.setdefault("image", jpeg_upload())
    data.setdefault("expected_version", str(story.version))
    return client.post(upload_url(story), data)


def test_an_editor_replaces_the_lead_image(editor_client, editor, media):
    story = make_story(state=State.IN_REVIEW)
    old_url = story.images.get().url
    response = upload(editor_client, story, title="A harbour at dawn", comment="Better photo")
    assert response.status_code == 302
    lead = story.images.get()
    assert lead.cache_status == Image.CacheStatus.CACHED
    assert (lead.local_width, lead.local_height) == (1200, 800)
    assert (lead.width, lead.height) == (1200, 800)
    assert lead.title == "A harbour at dawn"
    assert lead.url.endswith(lead.local_file.name)
    assert [entry["width"] for entry in lead.thumbnails["sizes"]] == [320, 640, 1024]
    with PILImage.open(Path(media) / lead.thumbnails["sizes"][0]["webp"]) as thumb:
        assert thumb.format == "WEBP"
    entry = AuditEntry.objects.get(story=story, action="lead_image")
    assert entry.actor == editor
    assert entry.before["url"] == old_url
    assert entry.after["local_file"] == lead.local_file.name
    assert entry.comment == "Better photo"


def test_a_story_without_an_image_gets_a_lead_image(editor_client):
    story = make_story(images=0, state=State.IN_REVIEW)
    response = upload(editor_client, story)
    assert response.status_code == 302
    lead = story.images.get()
    assert lead.role == Image.Role.LEAD
    assert AuditEntry.objects.get(story=story, action="lead_image").before is None


def test_a_text_file_named_jpg_is_refused_and_nothing_changes(editor_client):
    story = make_story()
    before = story.images.get()
    fake = SimpleUploadedFile("photo.jpg", b"just some text, not a picture\n" * 20, content_type="image/jpeg")
    response = upload(editor_client, story, image=fake)
    assert response.status_code == 200
    assert "not an image we can use" in response.content.decode()
    after = story.images.get()
    assert (after.url, after.cache_status, after.local_file.name) == (
        before.url, before.cache_status, before.local_file.name
    )
    assert not AuditEntry.objects.filter(action="lead_image").exists()


def test_an_image_over_the_pixel_limit_is_refused(editor_client, settings):
    settings.NEWSROOM_IMAGE_MAX_PIXELS = 10_000
    story = make_story()
    response = upload(editor_client, story, image=jpeg_upload(size=(200, 200)))
    assert response.status_code == 200
    assert "40000 pixels" in response.content.decode()
    assert story.images.get().cache_status == Image.CacheStatus.PENDING


def test_staff_without_change_permission_get_403(client, staff_without_roles):
    client.force_login(staff_without_roles)
    story = make_story()
    assert client.get(upload_url(story)).status_code == 403
    response = upload(client, story)
    assert response.status_code == 403
    assert story.images.get().cache_status == Image.CacheStatus.PENDING
    assert not AuditEntry.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    story = make_story()
    response = upload(client, story)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert story.images.get().cache_status == Image.CacheStatus.PENDING


def test_a_post_without_the_csrf_token_is_refused(editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    story = make_story(state=State.IN_REVIEW)
    response = upload(client, story)
    assert response.status_code == 403
    assert story.images.get().cache_status == Image.CacheStatus.PENDING


def test_the_upload_page_shows_the_form_with_a_csrf_token(editor_client):
    story = make_story()
    response = editor_client.get(upload_url(story))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'enctype="multipart/form-data"' in body
    assert "csrfmiddlewaretoken" in body


def test_an_unknown_story_is_404(editor_client):
    assert editor_client.get(reverse("story_lead_image", kwargs={"story_id": 999999})).status_code == 404


def test_thumbnail_html_shows_the_smallest_local_thumbnail(editor_client):
    story = make_story(state=State.IN_REVIEW)
    upload(editor_client, story)
    html = thumbnail_html(story.images.get())
    assert html.startswith("<img ")
    assert "/w320.jpg" in html
    assert 'width="120" height="80"' in html


def test_thumbnail_html_shows_the_status_of_an_image_without_a_copy():
    story = make_story()
    image = story.images.get()
    image.cache_status = Image.CacheStatus.FAILED
    image.cache_error = 'HTTP 404 <"quoted">'
    assert "failed" in thumbnail_html(image)
    assert "&lt;&quot;quoted&quot;&gt;" in thumbnail_html(image)
    assert "<img" not in thumbnail_html(image)


def test_the_lead_thumbnail_column_reads_prefetched_images(django_assert_num_queries):
    make_story()
    story = Story.objects.with_cards().get()
    with django_assert_num_queries(0):
        assert "not cached yet" in lead_thumbnail(story)


def test_the_story_change_page_links_to_the_lead_image_page(editor_client):
    story = make_story()
    response = editor_client.get(reverse("admin:stories_story_change", args=[story.pk]))
    assert f'href="{upload_url(story)}"' in response.content.decode()


def test_the_story_changelist_shows_thumbnails(editor_client, django_assert_max_num_queries):
    for _ in range(2):
        make_story()
    upload(editor_client, make_story(state=State.IN_REVIEW))
    with django_assert_max_num_queries(40) as few:
        editor_client.get(reverse("admin:stories_story_changelist"))
    for _ in range(10):
        make_story()
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = editor_client.get(reverse("admin:stories_story_changelist")).content.decode()
    assert body.count('class="newsroom-thumbnail"') == 1
    assert body.count("not cached yet") == 12
