"""Saving the story change page: only what the person changed is written, inlines included,
through the workflow (version check, audit, editor_touched), and what that means for undo."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from stories.imports.export import export_story, stories_for_export
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.imports.undo import revert_import_run
from stories.models import AuditEntry, Image, RelatedLink, State, Story
from stories.storyfile import record_from_json
from tests.browser_forms import form_data
from tests.conftest import make_story
from tests.imports.test_import_command import story_file

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "sample"

WHITESPACE_FILE = (
    "---\n"
    "category: news\n"
    'title: "  Spaced title "\n'
    'excerpt: "  Leading and trailing spaces.  \\n"\n'
    "publishedDateTime: 2024-03-01T10:00:00.250000+02:00\n"
    'webUrl: "HTTPS://News.Example/whitespace?"\n'
    "type: article\n"
    "quality: 5\n"
    "heat: 6\n"
    "published: false\n"
    "\n"
    "provider:\n  name: Example News\n  domain: news.example\n"
    "\n"
    "topics:\n  - AI\n"
    "\n"
    "related:\n"
    '  - title: "Other coverage "\n'
    '    webUrl: "https://other.example/r"\n'
    "    type: article\n"
    "    provider:\n      name: Other\n      domain: other.example\n"
    "\n"
    "images:\n"
    '  - url: "https://img.example/a.jpg"\n'
    "    width: 800\n    height: 450\n    isCached: true\n"
    "\n"
    'secured: "s"\n'
    "---\n"
    "\n"
)


def change_url(story: Story) -> str:
    return reverse("admin:stories_story_change", args=[story.pk])


def import_file(tmp_path: Path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    report = import_stories(iter_story_sources([str(path)]))
    assert report.counts["failed"] == 0, report.results
    return report.run


def exported(story: Story) -> str:
    return export_story(stories_for_export().get(pk=story.pk))


def save_as_the_browser_does(client, story: Story, **changes):
    page = client.get(change_url(story))
    assert page.status_code == 200
    return client.post(change_url(story), form_data(page.content.decode(), "story_form", **changes))


@pytest.mark.parametrize("source", ["whitespace", "sample"])
def test_saving_the_change_page_unchanged_writes_nothing(moderator_client, tmp_path, source):
    text = WHITESPACE_FILE.encode() if source == "whitespace" else next(SAMPLE.iterdir()).read_bytes()
    import_file(tmp_path, "a.md", text)
    story = Story.objects.get()
    before = exported(story)
    audits = AuditEntry.objects.count()

    response = save_as_the_browser_does(moderator_client, story)

    assert response.status_code == 302, response.content.decode()[-3000:]
    story.refresh_from_db()
    assert story.version == 1
    assert story.editor_touched == []
    assert AuditEntry.objects.count() == audits
    assert exported(story) == before
    if source == "sample":
        assert exported(story).encode() == text


def save_url_encoded_as_the_browser_does(client, story: Story):
    """A browser sends the change form (it has no file field) URL-encoded, line breaks as CRLF."""
    page = client.get(change_url(story))
    assert page.status_code == 200
    fields = urlencode(form_data(page.content.decode(), "story_form"), doseq=True)
    return client.post(change_url(story), fields, content_type="application/x-www-form-urlencoded")


def test_a_story_with_as_many_related_links_as_a_file_may_hold_saves_unchanged(
    moderator_client, tmp_path, settings
):
    head, related = WHITESPACE_FILE.split("related:\n")
    link, rest = related.split("\n\n", 1)
    links = "".join(
        link.replace("https://other.example/r", f"https://other.example/r{n}") + "\n"
        for n in range(settings.NEWSROOM_MAX_RELATED_PER_STORY)
    )
    import_file(tmp_path, "a.md", f"{head}related:\n{links}\n{rest}")
    story = Story.objects.get()
    before = exported(story)

    response = save_url_encoded_as_the_browser_does(moderator_client, story)

    assert response.status_code == 302
    assert story.related_links.count() == settings.NEWSROOM_MAX_RELATED_PER_STORY
    assert exported(story) == before


@pytest.mark.parametrize("line", ["", "é" * 40])
def test_a_story_file_as_large_as_allowed_saves_unchanged(moderator_client, tmp_path, settings, line):
    small = WHITESPACE_FILE.replace('excerpt: "  Leading and trailing spaces.  \\n"\n', "excerpt: |\n")
    # An empty line of a literal block is one byte of the file, and six in the form: "%0D%0A".
    piece = f"  {line}\n" if line else "\n"
    lines = (settings.NEWSROOM_MAX_STORY_FILE_BYTES - len(small.encode()) - 4) // len(piece.encode())
    text = small.replace("excerpt: |\n", "excerpt: |\n" + piece * lines + "  .\n")
    assert len(text.encode()) > settings.NEWSROOM_MAX_STORY_FILE_BYTES - 100
    import_file(tmp_path, "a.md", text)
    story = Story.objects.get()
    before = exported(story)

    response = save_url_encoded_as_the_browser_does(moderator_client, story)

    assert response.status_code == 302
    assert exported(story) == before


def test_a_text_edit_keeps_its_whitespace_and_only_that_field_changes(moderator_client, moderator, tmp_path):
    import_file(tmp_path, "a.md", WHITESPACE_FILE)
    story = Story.objects.get()

    save_as_the_browser_does(moderator_client, story, body="New body\r\nsecond line\r\n")

    story.refresh_from_db()
    assert story.body == "New body\nsecond line\n"
    assert story.excerpt == "  Leading and trailing spaces.  \n"
    assert list(AuditEntry.objects.filter(actor=moderator).values_list("field", flat=True)) == ["body"]
    assert story.editor_touched == ["body"]


def test_undo_of_an_import_still_deletes_a_story_whose_page_was_only_saved(
    moderator_client, moderator, tmp_path
):
    run = import_file(tmp_path, "a.md", WHITESPACE_FILE)
    save_as_the_browser_does(moderator_client, Story.objects.get())

    report = revert_import_run(run, actor=moderator)

    assert len(report.deleted) == 1 and not Story.objects.exists()


def inline_edit(client, story: Story, prefix: str, index: int, **fields):
    """Change row ``index`` of an inline on the change page as the browser would."""
    page = client.get(change_url(story)).content.decode()
    return client.post(
        change_url(story),
        form_data(page, "story_form", **{f"{prefix}-{index}-{name}": v for name, v in fields.items()}),
    )


def test_a_related_link_edit_goes_through_the_workflow(moderator_client, moderator):
    story = make_story(state=State.IN_REVIEW, related=2)
    link = story.related_links.order_by("position").first()

    response = inline_edit(moderator_client, story, "related_links", 0, title="Corrected title")

    assert response.status_code == 302
    story.refresh_from_db()
    link.refresh_from_db()
    assert link.title == "Corrected title"
    assert story.version == 2
    assert story.editor_touched == ["related"]
    entry = AuditEntry.objects.get(story=story)
    assert (entry.actor, entry.field, entry.action) == (moderator, "related", "edit")
    assert entry.before["title"] != "Corrected title" and entry.after["title"] == "Corrected title"


def test_an_image_url_edit_is_audited_and_drops_the_cached_copy(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    Image.objects.filter(story=story).update(cache_status=Image.CacheStatus.CACHED, thumbnails={"sizes": []})

    inline_edit(moderator_client, story, "images", 0, url="https://img.example/better.jpg")

    image = Image.objects.get(story=story)
    assert image.url == "https://img.example/better.jpg"
    assert (image.cache_status, image.thumbnails) == (Image.CacheStatus.PENDING, {})
    assert AuditEntry.objects.get(story=story).field == "images"
    assert Story.objects.get(pk=story.pk).editor_touched == ["images"]


def test_a_stale_inline_form_is_refused_and_keeps_the_other_moderators_edit(moderator, django_user_model):
    story = make_story(state=State.IN_REVIEW, related=1)
    first, second = Client(), Client()
    first.force_login(moderator)
    second.force_login(django_user_model.objects.create_superuser("other", password="pw-other"))
    first_page = first.get(change_url(story)).content.decode()  # opened before the other one saved
    inline_edit(second, story, "related_links", 0, title="Theirs")

    response = first.post(
        change_url(story),
        form_data(first_page, "story_form", **{"related_links-0-title": "Mine"}),
        follow=True,
    )

    assert "changed by someone else" in response.content.decode()
    assert story.related_links.get().title == "Theirs"
    assert Story.objects.get(pk=story.pk).version == 2


def test_undo_keeps_a_created_story_whose_related_links_a_person_edited(
    moderator_client, moderator, tmp_path
):
    run = import_file(tmp_path, "a.md", story_file("alpha", related=True))
    story = Story.objects.get()

    inline_edit(moderator_client, story, "related_links", 0, title="Corrected")
    report = revert_import_run(run, actor=moderator)

    assert report.deleted == []
    assert Story.objects.get().related_links.get().title == "Corrected"


def test_an_editors_related_link_edit_on_a_published_story_waits_as_a_draft(editor_client, editor):
    story = make_story(state=State.PUBLISHED, related=1)
    link = story.related_links.get()
    page = editor_client.get(change_url(story))
    assert page.context["inline_admin_formsets"][0].has_change_permission is True

    inline_edit(editor_client, story, "related_links", 0, web_url="https://better.example/")

    assert RelatedLink.objects.get(pk=link.pk).web_url == link.web_url  # readers see the live link
    stored = Story.objects.get(pk=story.pk)
    assert record_from_json(stored.draft_revision.data["record"]).related[0].web_url == "https://better.example/"
    entries = AuditEntry.objects.filter(story=story)
    assert list(entries.values_list("actor", "field")) == [(editor.pk, "draft")]


def test_an_editors_image_edit_on_a_published_story_waits_as_a_draft(editor_client):
    story = make_story(state=State.PUBLISHED)
    image = story.images.get()

    inline_edit(editor_client, story, "images", 0, url="https://img.example/other.jpg")

    assert Image.objects.get(pk=image.pk).url == image.url
    draft = Story.objects.get(pk=story.pk).draft_revision
    assert record_from_json(draft.data["record"]).images[0].url == "https://img.example/other.jpg"


def test_the_inlines_are_read_only_while_a_draft_waits(moderator_client, editor):
    story = make_story(state=State.PUBLISHED, related=1)
    inline_edit(Client(), story, "related_links", 0, title="Ignored")  # not signed in: nothing
    editor_client = Client()
    editor_client.force_login(editor)
    inline_edit(editor_client, story, "related_links", 0, title="Drafted")

    page = moderator_client.get(change_url(story))

    assert [f.has_change_permission for f in page.context["inline_admin_formsets"]] == [False, False]
    sent = form_data(page.content.decode(), "story_form")
    assert "related_links-0-title" not in sent and "images-0-url" not in sent


def test_a_value_given_to_a_key_the_file_did_not_have_is_exported(moderator_client, tmp_path):
    import_file(tmp_path, "a.md", story_file("alpha", published=False))
    story = Story.objects.get()

    save_as_the_browser_does(moderator_client, story, amp_web_url="https://amp.example/alpha")

    assert 'ampWebUrl: "https://amp.example/alpha"' in exported(story)
