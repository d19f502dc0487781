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

from stories.imports import uploads
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


def test_zip_of_many_small_bombs_is_refused_by_the_overall_ratio(editor_client, upload_dir):
    """7,000 members of 64 KiB of zeros: each one passes the per-member ratio, the archive does not."""
    archive = a_zip({f"s{n:04d}.txt": bytes(64 * 1024) for n in range(7000)})
    assert archive.size < 2 * 1024 * 1024
    response = post_upload(editor_client, archive)
    assert_refused(response, upload_dir, "batch.zip: compression ratio above 100:1 over the whole archive")


def test_zip_with_a_file_and_a_folder_of_the_same_name_is_refused(editor_client, upload_dir):
    response = post_upload(editor_client, a_zip({"a": b"---\n", "a/b.md": b"---\n"}))
    assert_refused(response, upload_dir, "holds both a file and a folder named 'a'")


def test_zip_with_a_folder_before_a_file_of_the_same_name_is_refused(editor_client, upload_dir):
    response = post_upload(editor_client, a_zip({"news/a/b.md": b"---\n", "news/a": b"---\n"}))
    assert_refused(response, upload_dir, "holds both a file and a folder named 'news/a'")


@pytest.mark.parametrize(
    "member",
    ["x" * 300 + ".md", "stories/" + "é" * 130 + ".md", "/".join(["deep"] * 1100) + "/a.md"],
    ids=["long-name", "long-multibyte-name", "long-path"],
)
def test_zip_member_names_no_file_system_can_hold_are_refused(editor_client, upload_dir, member):
    response = post_upload(editor_client, a_zip({"fine.txt": b"---\n", member: b"---\n"}))
    assert_refused(response, upload_dir, "the name is too long")


def test_a_story_file_with_a_very_long_multibyte_name_is_kept_under_its_name(editor, upload_dir):
    # Django cuts upload names to 255 characters, which is still 500 bytes here.
    name = "é" * 250 + ".md"
    upload = uploads.store_upload(files=[a_file(name, b"---\n")], user=editor)
    assert [f.name for f in upload.files] == [name]
    assert [path.read_bytes() for _, path in upload.file_paths()] == [b"---\n"]


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
    kept = [p for p in stored(upload_dir) if p.is_file() and p.name != uploads.META]
    assert [p.read_bytes() for p in kept] == [b"---\n"]


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


# --- Preview and confirm (needs the importer) -------------------------------------------------------


def story_file(
    slug: str,
    *,
    title: str | None = None,
    quality: int = 50,
    published: bool = False,
    topics: tuple[str, ...] = ("AI",),
    related: tuple[str, ...] = (),
) -> str:
    lines = [
        "---",
        "category: news",
        f'title: "{title or "Story " + slug}"',
        f'excerpt: "About {slug}."',
        "publishedDateTime: 2024-03-01T10:00:00Z",
        f'webUrl: "https://news.example/{slug}"',
        "type: article",
        f"quality: {quality}",
        "heat: 3",
        f"published: {'true' if published else 'false'}",
        "",
        "provider:",
        "  name: Example News",
        "  domain: news.example",
        "",
        "topics:",
        *[f"  - {t}" for t in topics],
    ]
    if related:
        lines += ["", "related:"]
        for r in related:
            lines += [
                f'  - title: "{r}"',
                f'    webUrl: "https://other.example/{r.lower().replace(" ", "-")}"',
                "    type: article",
                "    provider:",
                "      name: Other",
                "      domain: other.example",
            ]
    lines += ["", 'secured: "s"', "---", ""]
    return "\n".join(lines)


def cli_import(*files: tuple[str, str], tmp_path: Path):
    """Import files as the command line does (no actor), to set the scene."""
    from stories.imports.service import import_stories
    from stories.imports.sources import iter_story_sources

    paths = []
    for name, text in files:
        path = tmp_path / "cli" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        paths.append(str(path))
    report = import_stories(iter_story_sources(paths))
    assert report.counts["failed"] == 0, report.results
    return report


def preview_rows(response) -> dict[str, dict]:
    return {row["path"]: row for row in response.context["rows"]}


def confirm(client, response):
    token = response.context["upload"].token
    return client.post(reverse("admin:stories_importrun_upload_confirm", args=[token]))


@pytest.fixture
def scene(tmp_path, editor):
    """Stories already imported: one to update, one unchanged, one an editor has worked on."""
    from stories import workflow

    cli_import(
        ("update.txt", story_file("update", title="Old title", topics=("AI", "Cloud"), related=("First",))),
        ("same.txt", story_file("same")),
        ("edited.txt", story_file("edited", quality=40)),
        tmp_path=tmp_path,
    )
    edited = Story.objects.get(title="Story edited")
    workflow.update_editorial(edited, actor=editor, quality=90)
    return {s.title: s for s in Story.objects.all()}


def upload_batch(client):
    archive = a_zip(
        {
            "batch/update.txt": story_file(
                "update", title="New title", topics=("AI", "Robotics"), related=("First", "Second")
            ).encode(),
            "batch/same.txt": story_file("same").encode(),
            "batch/edited.txt": story_file("edited", quality=45).encode(),
        }
    )
    broken = a_file("broken.txt", "---\ntitle: [unclosed\n---\n")
    return post_upload(client, archive, a_file("new.txt", story_file("new")), broken)


def test_preview_marks_each_outcome_and_diffs_fields_without_importing(editor_client, scene, upload_dir):
    runs_before = ImportRun.objects.count()

    response = upload_batch(editor_client)

    assert response.status_code == 200, response.content.decode()[-2000:]
    rows = preview_rows(response)
    assert {path: row["outcome"] for path, row in rows.items()} == {
        "batch.zip/batch/update.txt": "updated",
        "batch.zip/batch/same.txt": "unchanged",
        "batch.zip/batch/edited.txt": "conflict",
        "new.txt": "created",
        "broken.txt": "failed",
    }
    changes = {c["field"]: c for c in rows["batch.zip/batch/update.txt"]["changes"]}
    assert (changes["title"]["before"], changes["title"]["after"]) == ("Old title", "New title")
    assert changes["topics"]["added"] == ["Robotics"] and changes["topics"]["removed"] == ["Cloud"]
    assert [item.split(" — ")[0] for item in changes["related"]["added"]] == ["Second"]
    assert rows["batch.zip/batch/edited.txt"]["conflicts"] == ["quality"]
    assert rows["broken.txt"]["reason"]
    page = html.unescape(response.content.decode())
    assert "New title" in page and "+ Robotics" in page and "− Cloud" in page
    # Nothing happened yet.
    assert ImportRun.objects.count() == runs_before
    assert not Story.objects.filter(title__in=["New title", "Story new"]).exists()


def test_confirm_applies_exactly_the_preview(editor_client, scene, upload_dir):
    preview = upload_batch(editor_client)
    token = preview.context["upload"].token

    response = confirm(editor_client, preview)

    run = ImportRun.objects.get(via=ImportRun.Via.ADMIN)
    assert response.status_code == 302
    assert response.url == reverse("admin:stories_importrun_change", args=[run.pk])
    assert (run.created, run.updated, run.unchanged, run.conflicts, run.failed) == (1, 1, 1, 1, 1)
    assert run.started_by.username == "edna"
    updated = Story.objects.get(pk=scene["Old title"].pk)
    assert updated.title == "New title"
    assert [st.topic.name for st in updated.story_topics.all()] == ["AI", "Robotics"]
    assert list(updated.related_links.values_list("title", flat=True)) == ["First", "Second"]
    assert Story.objects.get(pk=scene["Story edited"].pk).quality == 90  # the editor's value is kept
    assert Story.objects.filter(title="Story new").exists()
    assert not (upload_dir / token).exists()


def test_confirm_is_refused_when_a_story_changed_since_the_preview(editor_client, scene, tmp_path):
    preview = upload_batch(editor_client)
    # Meanwhile another import changes the story the preview showed as updated.
    cli_import(("update.txt", story_file("update", title="Changed meanwhile")), tmp_path=tmp_path)
    runs_before = ImportRun.objects.count()

    response = confirm(editor_client, preview)

    assert response.status_code == 200
    assert "Nothing was imported" in html.unescape(response.content.decode())
    assert ImportRun.objects.count() == runs_before
    assert Story.objects.get(pk=scene["Old title"].pk).title == "Changed meanwhile"
    assert not Story.objects.filter(title="Story new").exists()
    # The page is the new preview: confirming it now applies it.
    changes = {c["field"]: c for c in preview_rows(response)["batch.zip/batch/update.txt"]["changes"]}
    assert changes["title"]["before"] == "Changed meanwhile"
    assert confirm(editor_client, response).status_code == 302
    assert Story.objects.get(pk=scene["Old title"].pk).title == "New title"


def test_an_editors_upload_cannot_publish(editor_client):
    preview = post_upload(editor_client, a_file("pub.txt", story_file("pub", published=True)))
    assert preview_rows(preview)["pub.txt"]["outcome"] == "created"
    confirm(editor_client, preview)
    story = Story.objects.get(title="Story pub")
    assert story.state == "in_review"
    assert not Story.objects.live().exists()


def test_a_moderators_upload_may_publish(moderator_client):
    preview = post_upload(moderator_client, a_file("pub.txt", story_file("pub", published=True)))
    confirm(moderator_client, preview)
    assert Story.objects.get(title="Story pub").state == "published"


def test_the_upload_handler_stops_reading_files_past_the_size_limit(rf, editor):
    from django.test.client import MULTIPART_CONTENT, encode_multipart

    files = [a_file("first.txt", "x" * 800), a_file("second.txt", "y" * 800)]
    body = encode_multipart("BoUnDaRyStRiNg", {"files": files})
    request = rf.generic("POST", "/", body, content_type=MULTIPART_CONTENT)
    handler = uploads.LimitedUploadHandler(request, max_bytes=1000, max_files=10)
    request.upload_handlers.insert(0, handler)

    received = request.FILES.getlist("files")

    assert handler.refusal.startswith("The upload is too large")
    assert handler.bytes <= 1000 + 64 * 1024  # stopped at the chunk that crossed the limit
    assert "second.txt" not in [f.name for f in received]
