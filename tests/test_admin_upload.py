"""Admin upload of story files: limits and zip safety, preview, confirm exactly what was previewed."""

from __future__ import annotations

import html
import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from stories import uploads
from stories.models import ImportRun, Story

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path) -> Path:
    directory = tmp_path / "uploads"
    settings.NEWSROOM_UPLOAD_DIR = directory
    return directory


def stored(upload_dir: Path) -> list[Path]:
    """Everything kept on disk under the upload directory."""
    if not upload_dir.exists():
        return []
    return list(upload_dir.rglob("*"))


def a_file(name: str, content: bytes | str) -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def a_zip(members: dict[str | zipfile.ZipInfo, bytes], name: str = "batch.zip") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return a_file(name, buffer.getvalue())


def symlink_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (0o120777 & 0xFFFF) << 16
    return info


def post_upload(client, *files):
    return client.post(reverse("admin:stories_importrun_upload"), {"files": list(files)})


def assert_refused(response, upload_dir: Path, text: str) -> None:
    assert response.status_code == 400
    content = html.unescape(response.content.decode())
    assert text in content, content[-3000:]
    assert "Nothing was stored." in content
    assert stored(upload_dir) == []
    assert not ImportRun.objects.exists()
    assert not Story.objects.exists()


# --- Limits ----------------------------------------------------------------------------------------


def test_upload_over_the_total_size_is_refused_while_streaming(editor_client, settings, upload_dir):
    settings.NEWSROOM_UPLOAD_MAX_BYTES = 1000
    response = post_upload(editor_client, a_file("a.txt", "x" * 600), a_file("b.txt", "y" * 600))
    assert_refused(response, upload_dir, "The upload is too large: at most 1000")


def test_upload_with_too_many_files_is_refused(editor_client, settings, upload_dir):
    settings.NEWSROOM_UPLOAD_MAX_FILES = 2
    response = post_upload(editor_client, *(a_file(f"{n}.txt", "---\n") for n in range(3)))
    assert_refused(response, upload_dir, "Too many files: at most 2 files per upload.")


def test_zip_with_too_many_members_is_refused(editor_client, settings, upload_dir):
    settings.NEWSROOM_UPLOAD_MAX_ZIP_MEMBERS = 2
    archive = a_zip({f"s{n}.txt": b"---\n" for n in range(3)})
    response = post_upload(editor_client, archive)
    assert_refused(response, upload_dir, "batch.zip has too many members: at most 2")


def test_zip_bomb_by_compression_ratio_is_refused(editor_client, settings, upload_dir):
    settings.NEWSROOM_UPLOAD_MAX_MEMBER_BYTES = 50 * 1024 * 1024
    archive = a_zip({"bomb.txt": b"\0" * (5 * 1024 * 1024)})
    assert archive.size < 50 * 1024
    response = post_upload(editor_client, archive)
    assert_refused(response, upload_dir, "compression ratio above 100:1")


def test_zip_over_the_total_uncompressed_size_is_refused(editor_client, settings, upload_dir):
    settings.NEWSROOM_UPLOAD_MAX_UNCOMPRESSED_BYTES = 10_000
    archive = a_zip({"a.txt": os.urandom(6000), "b.txt": os.urandom(6000)})
    response = post_upload(editor_client, archive)
    assert_refused(response, upload_dir, "batch.zip is too large uncompressed")


def test_zip_member_over_the_per_file_size_is_refused(editor_client, settings, upload_dir):
    settings.NEWSROOM_UPLOAD_MAX_MEMBER_BYTES = 1000
    response = post_upload(editor_client, a_zip({"big.txt": os.urandom(2000)}))
    assert_refused(response, upload_dir, "at most 1000 bytes per file")


def test_zip_member_that_lies_about_its_size_is_refused(editor_client, upload_dir):
    """The declared size says 10 bytes; the data holds 200 KB. Counting while extracting catches it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("liar.txt", b"a" * 200_000)
    data = bytearray(buffer.getvalue())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 10)  # uncompressed size in the central directory
    local = data.find(b"PK\x03\x04")
    data[local + 22 : local + 26] = struct.pack("<I", 10)
    response = post_upload(editor_client, a_file("liar.zip", bytes(data)))
    assert_refused(response, upload_dir, "liar.zip/liar.txt")


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../escape.txt", "'..' in a path is not allowed"),
        ("stories/../../escape.txt", "'..' in a path is not allowed"),
        ("/etc/cron.d/evil", "absolute paths are not allowed"),
        ("C:/Windows/evil.txt", "drive letters are not allowed"),
        ("..\\windows-escape.txt", "'..' in a path is not allowed"),
    ],
)
def test_zip_member_paths_that_escape_are_refused(editor_client, upload_dir, member, message):
    response = post_upload(editor_client, a_zip({"fine.txt": b"---\n", member: b"---\n"}))
    assert_refused(response, upload_dir, message)
    assert not (upload_dir.parent / "escape.txt").exists()


def test_zip_symlink_member_is_refused(editor_client, upload_dir):
    response = post_upload(editor_client, a_zip({symlink_member("link.txt"): b"/etc/passwd"}))
    assert_refused(response, upload_dir, "symbolic links are not allowed")


def test_unreadable_zip_is_refused(editor_client, upload_dir):
    response = post_upload(editor_client, a_file("broken.zip", b"PK\x03\x04 not really a zip"))
    assert_refused(response, upload_dir, "broken.zip is not a readable zip archive")


def test_nested_archives_and_packaging_files_are_not_expanded(editor, upload_dir):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("inner.txt", b"---\n")
    archive = a_zip(
        {"a.txt": b"---\n", "nested.zip": inner.getvalue(), "__MACOSX/._a.txt": b"x", "sub/.DS_Store": b"x"}
    )
    upload = uploads.store_upload(files=[archive], user=editor)
    assert [f.name for f in upload.files] == ["batch.zip/a.txt"]
    assert ("batch.zip/nested.zip", "nested archives are not expanded") in upload.skipped
    assert not any(p.name == "inner.txt" for p in stored(upload_dir))


# --- Storage between preview and confirm -------------------------------------------------------------


def test_stored_upload_is_private_to_its_user_and_expires(editor, moderator, settings, upload_dir):
    upload = uploads.store_upload(files=[a_file("a.txt", "---\n")], user=editor)
    assert upload.directory.parent == upload_dir
    assert not str(upload.directory).startswith(str(settings.MEDIA_ROOT))
    assert uploads.load_upload(token=upload.token, user=editor).files == upload.files
    with pytest.raises(uploads.UploadNotFound):
        uploads.load_upload(token=upload.token, user=moderator)
    with pytest.raises(uploads.UploadNotFound):
        uploads.load_upload(token="../../etc", user=editor)
    settings.NEWSROOM_UPLOAD_TTL_SECONDS = -1  # every upload is past its time
    with pytest.raises(uploads.UploadNotFound):
        uploads.load_upload(token=upload.token, user=editor)
    assert not upload.directory.exists()


# --- Permissions -----------------------------------------------------------------------------------


def test_staff_without_import_permission_gets_403_on_upload_and_confirm(client, staff_without_roles, editor):
    client.force_login(staff_without_roles)
    assert client.get(reverse("admin:stories_importrun_upload")).status_code == 403
    assert post_upload(client, a_file("a.txt", "---\n")).status_code == 403
    upload = uploads.store_upload(files=[a_file("a.txt", "---\n")], user=editor)
    confirm = reverse("admin:stories_importrun_upload_confirm", args=[upload.token])
    assert client.post(confirm).status_code == 403
    assert not ImportRun.objects.exists()


def test_upload_post_needs_a_csrf_token(editor, upload_dir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = post_upload(client, a_file("a.txt", "---\n"))
    assert response.status_code == 403
    assert stored(upload_dir) == []


def test_confirm_with_someone_elses_token_imports_nothing(moderator_client, editor):
    upload = uploads.store_upload(files=[a_file("a.txt", "---\n")], user=editor)
    response = moderator_client.post(reverse("admin:stories_importrun_upload_confirm", args=[upload.token]))
    assert response.status_code == 302
    assert response.url == reverse("admin:stories_importrun_upload")
    assert not ImportRun.objects.exists()
    assert upload.directory.exists()
