"""Whoever lacks ``stories.publish_story`` cannot change what readers see of a published story,
through any path: admin form, inlines, bulk actions, the queue and a spreadsheet keep such a change
as a draft for a moderator (``workflow.drafts``); a lead image upload, a story file upload or an
import run as that person is refused or held. Quality and heat stay the editors'."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from stories import workflow
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.models import AuditEntry, Image, ImportRun, ImportRunStory, State, Story
from stories.workflow.drafts import DRAFT_SAVED
from tests.admin.test_bulk import action_post
from tests.browser_forms import form_data
from tests.conftest import make_story, make_topic
from tests.images_support import make_image_bytes
from tests.imports.test_spreadsheet import _admin_import, export_csv, set_cell

pytestmark = pytest.mark.django_db

REFUSAL = "is published: only a moderator can change what readers see"
DRAFTED = "a change to its content, topics, related links or images is saved as a draft"


def change_url(story: Story) -> str:
    return reverse("admin:stories_story_change", args=[story.pk])


def post_change_page(client, story: Story, **changes):
    page = client.get(change_url(story)).content.decode()
    return client.post(change_url(story), form_data(page, "story_form", **changes), follow=True)


def text_of(response) -> str:
    return html.unescape(response.content.decode())


# --- The rule itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "persona", "held"),
    [
        (State.PUBLISHED, "editor", ["title", "topics", "related", "images", "published", "go_live_at"]),
        (State.PUBLISHED, "moderator", []),
        (State.PUBLISHED, None, []),  # the system: the import command, the scheduler
        (State.IN_REVIEW, "editor", []),
        (State.DRAFT, "editor", []),
    ],
)
def test_held_for_moderator_is_what_readers_see_of_a_published_story(request, state, persona, held):
    actor = request.getfixturevalue(persona) if persona else None
    story = make_story(state=state)
    fields = ["title", "quality", "heat", "secured", "topics", "related", "images", "published", "go_live_at"]
    assert workflow.held_for_moderator(story, actor, fields) == held


def test_a_story_scheduled_to_go_live_later_counts_as_published(editor):
    story = make_story(state=State.PUBLISHED, go_live_at=None)
    Story.objects.filter(pk=story.pk).update(go_live_at="2999-01-01T00:00:00Z")
    story.refresh_from_db()
    assert not story.is_live()
    assert workflow.held_for_moderator(story, editor, ["title"]) == ["title"]


# --- Admin change form ---------------------------------------------------------------------------


def test_an_editor_is_told_that_a_change_to_a_published_story_waits_as_a_draft(editor_client):
    story = make_story(state=State.PUBLISHED, title="Real title", related=1)

    page = editor_client.get(change_url(story))

    assert REFUSAL in text_of(page) and DRAFTED in text_of(page)
    assert not [name for name, field in page.context["adminform"].form.fields.items() if field.disabled]
    sent = form_data(page.content.decode(), "story_form")
    assert {"title", "quality", "related_links-0-title", "images-0-url"} <= set(sent)


def test_a_moderator_edits_every_field_of_a_published_story(moderator_client):
    story = make_story(state=State.PUBLISHED, related=1)

    page = moderator_client.get(change_url(story))

    assert not [name for name, field in page.context["adminform"].form.fields.items() if field.disabled]
    sent = form_data(page.content.decode(), "story_form")
    assert {"title", "web_url", "related_links-0-web_url", "images-0-url"} <= set(sent)


def test_an_editors_post_never_changes_what_readers_see_of_a_published_story(editor_client, editor):
    story = make_story(state=State.PUBLISHED, title="Real title")

    response = post_change_page(
        editor_client, story, title="Phishing bait", web_url="https://phish.example/login", quality="99"
    )

    assert DRAFT_SAVED in text_of(response)
    story.refresh_from_db()
    assert story.title == "Real title" and story.web_url != "https://phish.example/login"
    assert story.quality == 50  # the whole change waits with the title, ranking included
    draft = story.draft_revision
    assert (draft.author, draft.data["quality"]) == (editor, 99)
    assert draft.data["record"]["title"] == "Phishing bait"
    entries = AuditEntry.objects.filter(story=story)
    assert list(entries.values_list("actor", "field")) == [(editor.pk, "draft")]


def test_an_edit_from_a_page_opened_before_the_story_was_published_is_refused(editor_client, moderator):
    story = make_story(state=State.IN_REVIEW, title="Real title")
    page = editor_client.get(change_url(story)).content.decode()
    workflow.transition(story, action=workflow.PUBLISH, actor=moderator, expected_version=story.version)

    response = editor_client.post(change_url(story), form_data(page, "story_form", title="Phishing bait"))

    assert response.status_code == 200
    assert "changed by someone else since you opened it" in text_of(response)
    story.refresh_from_db()
    assert (story.title, story.version) == ("Real title", 2)


def test_an_editor_still_adjusts_quality_and_heat_of_a_published_story(editor_client, editor):
    story = make_story(state=State.PUBLISHED)

    post_change_page(editor_client, story, quality="80", heat="7")

    story.refresh_from_db()
    assert (story.quality, story.heat) == (80, 7)
    assert set(AuditEntry.objects.filter(story=story, actor=editor).values_list("field", flat=True)) == {
        "quality",
        "heat",
    }


def test_a_moderators_change_to_a_published_story_is_applied_and_audited(moderator_client, moderator):
    story = make_story(state=State.PUBLISHED, title="Old title")

    post_change_page(moderator_client, story, title="Better title")

    story.refresh_from_db()
    assert story.title == "Better title"
    entry = AuditEntry.objects.get(story=story)
    assert (entry.actor, entry.field, entry.before, entry.after) == (
        moderator,
        "title",
        "Old title",
        "Better title",
    )
    assert story.editor_touched == ["title"]


def test_an_editor_changes_the_content_of_a_story_in_review(editor_client):
    story = make_story(state=State.IN_REVIEW, title="Draft title")
    post_change_page(editor_client, story, title="Fixed title")
    story.refresh_from_db()
    assert story.title == "Fixed title"


# --- Lead image ----------------------------------------------------------------------------------


def lead_image_post(client, story: Story):
    upload = SimpleUploadedFile("p.jpg", make_image_bytes("JPEG", (640, 360)), content_type="image/jpeg")
    return client.post(
        reverse("story_lead_image", kwargs={"story_id": story.pk}),
        {"image": upload, "expected_version": str(story.version)},
    )


def test_an_editor_cannot_replace_a_published_storys_lead_image(editor_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    story = make_story(state=State.PUBLISHED)
    before = story.images.get().url

    response = lead_image_post(editor_client, story)

    assert response.status_code == 200
    assert REFUSAL in text_of(response)
    assert story.images.get().url == before
    assert not AuditEntry.objects.filter(story=story).exists()
    assert not any(tmp_path.rglob("*.jpg"))


def test_a_moderator_replaces_a_published_storys_lead_image(moderator_client, moderator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.NEWSROOM_IMAGE_WIDTHS = [320]
    story = make_story(state=State.PUBLISHED)

    response = lead_image_post(moderator_client, story)

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.images.get().origin == Image.Origin.UPLOAD
    assert (story.version, story.editor_touched) == (2, ["images"])
    assert AuditEntry.objects.get(story=story, action="lead_image").actor == moderator


def test_a_lead_image_upload_from_a_stale_page_is_refused(moderator_client, editor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    story = make_story(state=State.IN_REVIEW)
    page_version = story.version
    workflow.update_editorial(story, actor=editor, heat=1)
    story.version = page_version

    response = lead_image_post(moderator_client, story)

    assert "changed by someone else" in text_of(response)
    assert not AuditEntry.objects.filter(story=story, action="lead_image").exists()


# --- Bulk actions and the queue ------------------------------------------------------------------


def test_bulk_topic_attach_makes_drafts_of_published_stories_for_an_editor(editor_client, editor):
    cloud = make_topic("Cloud")
    live, review = make_story(state=State.PUBLISHED), make_story(state=State.IN_REVIEW)

    response = editor_client.post(
        reverse("admin:stories_story_changelist"),
        action_post("attach_topics", [live, review], apply="1", topics=[str(cloud.pk)]),
        follow=True,
    )

    assert f"Saved as a draft, for a moderator to review before readers see it: “{live.title}”." in text_of(
        response
    )
    assert not live.story_topics.exists()
    live.refresh_from_db()
    assert (live.draft_revision.author, live.draft_revision.data["topics"]) == (editor, ["Cloud"])
    assert [st.topic for st in review.story_topics.all()] == [cloud]


def test_the_queue_keeps_an_editors_topic_change_on_a_published_story_as_a_draft(editor_client, editor):
    make_topic("Cloud")
    story = make_story(state=State.PUBLISHED, quality=10)

    response = editor_client.post(
        reverse("moderation:editorial", args=[story.pk]),
        {"quality": "20", "heat": "50", "topics": "Cloud", "version": "1"},
        follow=True,
    )

    assert DRAFT_SAVED in text_of(response)
    story.refresh_from_db()
    assert (story.quality, story.version) == (10, 2)
    assert not story.story_topics.exists()
    draft = story.draft_revision
    assert (draft.author, draft.data["quality"], draft.data["topics"]) == (editor, 20, ["Cloud"])


def test_the_queue_lets_an_editor_rank_a_published_story(editor_client):
    story = make_story(state=State.PUBLISHED, quality=10)
    editor_client.post(
        reverse("moderation:editorial", args=[story.pk]),
        {"quality": "20", "heat": "50", "topics": "", "version": "1"},
    )
    story.refresh_from_db()
    assert story.quality == 20


# --- Spreadsheet ---------------------------------------------------------------------------------


def test_a_spreadsheets_change_to_a_published_storys_topics_is_a_draft_for_an_editor(editor_client, editor):
    make_topic("Cloud")
    story = make_story(state=State.PUBLISHED, quality=10)
    dataset = export_csv(story)
    set_cell(dataset, 0, "topics", "Cloud")
    set_cell(dataset, 0, "quality", "30")

    preview = _admin_import(editor_client, dataset)
    confirm_form = preview.context["confirm_form"]
    data = {name: confirm_form[name].value() for name in confirm_form.fields}
    assert Story.objects.get(pk=story.pk).draft_revision is None  # the preview keeps nothing
    editor_client.post(reverse("admin:stories_story_process_import"), data)

    story.refresh_from_db()
    assert (story.quality, story.version) == (10, 2)
    assert not story.story_topics.exists()
    draft = story.draft_revision
    assert (draft.author, draft.data["quality"], draft.data["topics"]) == (editor, 30, ["Cloud"])


@pytest.mark.parametrize(("column", "value"), [("published", "false"), ("state", "in_review")])
def test_an_editors_spreadsheet_cannot_unpublish_a_live_story(editor_client, column, value):
    story = make_story(state=State.PUBLISHED)
    dataset = export_csv(story)
    set_cell(dataset, 0, column, value)

    preview = _admin_import(editor_client, dataset)

    assert "You do not have permission to unpublish stories" in text_of(preview)
    assert preview.context.get("confirm_form") is None
    story.refresh_from_db()
    assert (story.state, story.version) == (State.PUBLISHED, 1)
    assert not AuditEntry.objects.filter(story=story).exists()


# --- Story files: upload and import as a person --------------------------------------------------


def story_file(*, title: str = "Live story", published: bool = True, quality: int = 5, url: str = "") -> str:
    return (
        "---\n"
        "category: news\n"
        f'title: "{title}"\n'
        'excerpt: "An excerpt."\n'
        "publishedDateTime: 2024-03-01T10:00:00Z\n"
        f'webUrl: "https://news.example/live"\n'
        + (f'originalUrl: "{url}"\n' if url else "")
        + "type: article\n"
        f"quality: {quality}\n"
        "heat: 3\n"
        f"published: {'true' if published else 'false'}\n"
        "\n"
        "provider:\n  name: Example News\n  domain: news.example\n"
        "\n"
        "topics:\n  - AI\n"
        "\n"
        'secured: "s"\n'
        "---\n"
    )


def command_import(tmp_path: Path, text: str, **kwargs):
    path = tmp_path / "live.md"
    path.write_text(text)
    return import_stories(iter_story_sources([str(path)]), **kwargs)


def upload_and_confirm(client, text: str):
    upload = SimpleUploadedFile("live.md", text.encode(), content_type="application/octet-stream")
    preview = client.post(reverse("admin:stories_importrun_upload"), {"files": [upload]})
    assert preview.status_code == 200, preview.content.decode()[-2000:]
    token = preview.context["upload"].token
    response = client.post(reverse("admin:stories_importrun_upload_confirm", args=[token]))
    assert response.status_code == 302
    return preview


def test_an_editors_upload_cannot_unpublish_or_retitle_a_live_story(
    editor_client, editor, tmp_path, settings
):
    settings.NEWSROOM_UPLOAD_DIR = tmp_path / "uploads"
    command_import(tmp_path, story_file())
    story = Story.objects.get()

    preview = upload_and_confirm(
        editor_client,
        story_file(title="Phishing", published=False, quality=9, url="https://phish.example/"),
    )

    row = {r["path"]: r for r in preview.context["rows"]}["live.md"]
    assert row["outcome"] == "conflict"
    story.refresh_from_db()
    assert (story.state, story.title, story.original_url) == (State.PUBLISHED, "Live story", None)
    assert story.quality == 9  # ranking: the editor's file may change it
    run = ImportRun.objects.get(via=ImportRun.Via.ADMIN)
    assert (run.started_by, run.conflicts) == (editor, 1)
    assert set(ImportRunStory.objects.get(run=run).conflicts) == {"title", "originalUrl", "published"}
    held = AuditEntry.objects.filter(story=story, action="held")
    assert {e.field for e in held} == {"title", "original_url", "published"}
    assert {e.actor for e in held} == {editor}
    assert not AuditEntry.objects.filter(story=story, field="state", import_run=run).exists()


def paragraph(page: str, css_class: str) -> str:
    """The text of the first ``<p class=css_class>`` on the page, tags left out."""
    match = re.search(rf'<p class="{css_class}">(.*?)</p>', page, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


def test_the_upload_preview_says_which_fields_are_held_for_a_moderator(
    editor_client, moderator, tmp_path, settings
):
    settings.NEWSROOM_UPLOAD_DIR = tmp_path / "uploads"
    command_import(tmp_path, story_file())
    story = Story.objects.get()
    workflow.update_editorial(story, actor=moderator, quality=70)  # a person's decision: kept

    preview = upload_and_confirm(editor_client, story_file(title="Phishing", published=False, quality=9))

    page = text_of(preview)
    row = {r["path"]: r for r in preview.context["rows"]}["live.md"]
    assert (row["held"], row["kept"]) == (["title", "published"], ["quality"])
    held = paragraph(page, "import-held")
    assert held.startswith("Held for a moderator: the story is published")
    assert "The file's title, published will not be applied" in held
    assert paragraph(page, "import-kept") == "Kept the editor's quality against the file."
    assert "1 file would change a published story" in page
    assert Story.objects.get().title == "Live story"


def test_the_upload_preview_of_a_moderator_holds_nothing(moderator_client, tmp_path, settings):
    settings.NEWSROOM_UPLOAD_DIR = tmp_path / "uploads"
    command_import(tmp_path, story_file())

    preview = upload_and_confirm(moderator_client, story_file(title="Corrected", published=False))

    row = {r["path"]: r for r in preview.context["rows"]}["live.md"]
    assert (row["outcome"], row["held"]) == ("updated", [])
    assert "Held for a moderator" not in text_of(preview)
    assert Story.objects.get().title == "Corrected"


def test_the_run_page_lists_the_fields_held_for_a_moderator(editor_client, moderator, tmp_path, settings):
    settings.NEWSROOM_UPLOAD_DIR = tmp_path / "uploads"
    command_import(tmp_path, story_file())
    upload_and_confirm(editor_client, story_file(title="Phishing", published=False))
    run = ImportRun.objects.get(via=ImportRun.Via.ADMIN)
    editor_client.force_login(moderator)  # the moderator who follows up

    page = text_of(editor_client.get(reverse("admin:stories_importrun_change", args=[run.pk])))

    assert ImportRunStory.objects.get(run=run).held == ["title", "published"]
    assert "<th>Held for a moderator (the story is published)</th>" in page
    assert re.search(r"<td>live\.md</td><td>Conflict, the story's values kept</td><td>.*?</td>"
                     r"<td></td><td>title, published</td>", page)


def test_a_held_file_applies_once_a_moderator_imports_it(tmp_path, editor, moderator):
    command_import(tmp_path, story_file())
    changed = story_file(title="Corrected title")
    report = command_import(tmp_path, changed, actor=editor)
    assert report.results[0].conflicts == ["title"]
    assert command_import(tmp_path, changed, actor=editor).results[0].conflicts == ["title"]

    report = command_import(tmp_path, changed, actor=moderator)

    assert report.results[0].outcome == "updated"
    assert Story.objects.get().title == "Corrected title"


def test_a_moderators_unpublishing_file_is_audited_under_the_moderator(tmp_path, moderator):
    command_import(tmp_path, story_file())

    report = command_import(tmp_path, story_file(published=False), actor=moderator)

    story = Story.objects.get()
    assert story.state == State.IN_REVIEW
    entry = AuditEntry.objects.get(story=story, import_run=report.run, field="state")
    assert (entry.action, entry.actor) == (workflow.UNPUBLISH, moderator)
    assert story.editor_touched == []  # the file's value, not an editorial decision


def test_a_file_an_editor_imports_into_a_story_in_review_is_audited_under_the_editor(tmp_path, editor):
    command_import(tmp_path, story_file(published=False))

    report = command_import(tmp_path, story_file(published=False, quality=8), actor=editor)

    entry = AuditEntry.objects.get(import_run=report.run, field="quality")
    assert (entry.actor, entry.after) == (editor, 8)
    assert Story.objects.get().editor_touched == []


def test_the_command_run_as_an_editor_holds_a_live_storys_fields_for_a_moderator(tmp_path, editor, cli):
    command_import(tmp_path, story_file())
    path = tmp_path / "live.md"
    path.write_text(story_file(title="Phishing", published=False))

    code, out, err = cli("import_stories", "--user", "edna", str(path))

    assert code == 0
    assert f"{path}: conflict: held for a moderator (the story is published): title, published" in err
    story = Story.objects.get()
    assert (story.state, story.title) == (State.PUBLISHED, "Live story")
    assert ImportRun.objects.latest("pk").started_by == editor
    assert "conflicts 1" in out


def test_the_command_refuses_an_unknown_user(tmp_path, cli):
    path = tmp_path / "live.md"
    path.write_text(story_file())
    code, out, err = cli("import_stories", "--user", "nobody", str(path))
    assert code == 2 and "No user named 'nobody'" in err
    assert not Story.objects.exists()


# --- Topics ----------------------------------------------------------------------------------------


def topic_change(client, topic, name: str):
    url = reverse("admin:stories_topic_change", args=[topic.pk])
    return client.post(url, {"name": name, "slug": topic.slug})


def test_an_editor_cannot_rename_a_topic_readers_see_on_a_published_story(editor_client):
    topic = make_topic("Cloud")
    make_story(state=State.PUBLISHED, topics=[topic])

    page = editor_client.get(reverse("admin:stories_topic_change", args=[topic.pk]))
    response = topic_change(editor_client, topic, "Scam")

    assert page.status_code == 200 and 'name="name"' not in page.content.decode()
    assert response.status_code == 403
    topic.refresh_from_db()
    assert topic.name == "Cloud"


def test_an_editor_renames_a_topic_only_unpublished_stories_have(editor_client):
    topic = make_topic("Clod")
    make_story(state=State.IN_REVIEW, topics=[topic])
    assert topic_change(editor_client, topic, "Cloud").status_code == 302
    topic.refresh_from_db()
    assert topic.name == "Cloud"


def test_a_moderator_renames_a_topic_of_a_published_story(moderator_client):
    topic = make_topic("Clod")
    make_story(state=State.PUBLISHED, topics=[topic])
    assert topic_change(moderator_client, topic, "Cloud").status_code == 302
    topic.refresh_from_db()
    assert topic.name == "Cloud"
