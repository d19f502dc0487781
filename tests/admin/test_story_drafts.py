"""A story with a pending draft in the admin and the queue: the draft's values in the change form,
a banner, a second save over the draft, and the moderators' publish and discard (POST, CSRF)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from stories.models import Revision, Story
from stories.workflow import update_editorial
from stories.workflow.drafts import DRAFT_SAVED, edit
from tests.admin.test_story import list_editable_post
from tests.browser_forms import form_data
from tests.conftest import make_story, make_topic

pytestmark = pytest.mark.django_db


def change_url(story: Story) -> str:
    return reverse("admin:stories_story_change", args=[story.pk])


def draft_url(story: Story, decision: str) -> str:
    return reverse("admin:stories_story_draft", args=[story.pk, decision])


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def save_page(client, story: Story, **changes):
    page = client.get(change_url(story)).content.decode()
    return client.post(change_url(story), form_data(page, "story_form", **changes), follow=True)


def test_an_editors_save_of_a_live_story_is_a_draft_shown_in_the_form_with_a_banner(editor_client, editor):
    story = make_story(title="Old title", related=1)

    response = save_page(editor_client, story, title="New title")

    page = text_of(response)
    assert DRAFT_SAVED in page and "A draft waits for a moderator" in page
    assert "by edna" in page and "their rows show the live story" not in page
    assert "Its related links and images are read-only until the draft is published or discarded" in page
    form = response.context["adminform"].form
    assert form["title"].value() == "New title"
    sent = form_data(response.content.decode(), "story_form")
    assert "related_links-0-title" not in sent and "images-0-url" not in sent
    assert "Publish draft" not in page  # an editor's page
    assert Story.objects.get(pk=story.pk).title == "Old title"


def test_a_second_save_applies_what_the_editor_changed_over_the_pending_draft(editor_client, editor):
    topic = make_topic("Cloud")
    story = make_story(title="Old title", excerpt="Old excerpt.")
    save_page(editor_client, story, title="New title")
    first = Story.objects.get(pk=story.pk).draft_revision

    save_page(editor_client, story, excerpt="New excerpt.", topic_choices=str(topic.pk))

    second = Story.objects.get(pk=story.pk).draft_revision
    assert second.based_on == first
    record = second.data["record"]
    assert (record["title"], record["excerpt"], second.data["topics"]) == (
        "New title",
        "New excerpt.",
        ["Cloud"],
    )
    assert Story.objects.get(pk=story.pk).excerpt == "Old excerpt."


def test_an_unchanged_save_of_a_story_with_a_draft_makes_no_revision(editor_client):
    story = make_story(title="Old title")
    save_page(editor_client, story, title="New title")

    save_page(editor_client, story)

    assert Revision.objects.filter(story=story).count() == 2


def test_a_moderator_publishes_a_draft_from_the_change_page(moderator_client, editor, moderator):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "New title"})
    page = moderator_client.get(change_url(story)).content.decode()
    assert "Publish draft" in page and "Discard draft" in page

    response = moderator_client.post(
        draft_url(story, "publish"), form_data(page, "", expected_version=str(story.version)), follow=True
    )

    assert "The draft of “New title” is published." in text_of(response)
    stored = Story.objects.get(pk=story.pk)
    assert (stored.title, stored.draft_revision) == ("New title", None)


def test_a_moderator_discards_a_draft_from_the_change_page(moderator_client, editor):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "New title"})

    moderator_client.post(draft_url(story, "discard"), {"expected_version": str(story.version)})

    stored = Story.objects.get(pk=story.pk)
    assert (stored.title, stored.draft_revision) == ("Old title", None)


def test_a_stale_draft_is_published_from_the_change_page_only_when_confirmed(
    moderator_client, editor, moderator
):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "New title"})
    story.refresh_from_db()
    update_editorial(story, actor=moderator, content={"excerpt": "Later."})
    page = text_of(moderator_client.get(change_url(story)))
    assert "The live story changed since this draft was written" in page and 'name="confirm_stale"' in page

    refused = moderator_client.post(draft_url(story, "publish"), follow=True)
    assert "Nothing was published; confirm to publish it anyway" in text_of(refused)
    assert Story.objects.get(pk=story.pk).title == "Old title"

    moderator_client.post(draft_url(story, "publish"), {"confirm_stale": "on"})
    assert Story.objects.get(pk=story.pk).title == "New title"


@pytest.mark.parametrize("decision", ["publish", "discard"])
def test_an_editor_may_neither_publish_nor_discard_a_draft(editor_client, editor, decision):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "New title"})

    assert editor_client.post(draft_url(story, decision)).status_code == 403
    assert editor_client.post(reverse(f"moderation:{decision}_draft", args=[story.pk])).status_code == 403
    assert Story.objects.get(pk=story.pk).draft_revision is not None


@pytest.mark.parametrize("decision", ["publish", "discard"])
def test_publishing_or_discarding_a_draft_needs_a_post_with_a_csrf_token(moderator, editor, decision):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "New title"})
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)

    assert client.get(draft_url(story, decision)).status_code == 405
    assert client.post(draft_url(story, decision)).status_code == 403
    assert client.post(reverse(f"moderation:{decision}_draft", args=[story.pk])).status_code == 403
    assert Story.objects.get(pk=story.pk).draft_revision is not None


# --- The queue -----------------------------------------------------------------------------------


def test_the_queue_lists_drafts_of_live_stories_with_who_and_when(moderator_client, editor):
    story = make_story(title="Old title")
    draft = edit(story, actor=editor, content={"title": "Fixed <b>title</b>"}, comment="Typo").draft
    make_story(title="No draft here")

    page = text_of(moderator_client.get(reverse("moderation:live_drafts")))

    assert 'Drafts of live stories <span class="count">(1)</span>' in page and "No draft here" not in page
    words = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert f"draft #{draft.pk} by edna" in words and draft.created_at.strftime("%Y-%m-%d") in page
    assert "Comment: Typo" in page
    assert "&lt;b&gt;" in moderator_client.get(reverse("moderation:live_drafts")).content.decode()
    assert "Publish draft" in page
    assert "Drafts of live stories" in text_of(moderator_client.get(reverse("moderation:queue")))


def test_an_editor_sees_the_drafts_of_live_stories_without_the_buttons(editor_client, editor):
    edit(make_story(), actor=editor, content={"title": "New title"})
    page = text_of(editor_client.get(reverse("moderation:live_drafts")))
    assert "New title" in page and "Publish draft" not in page


def test_a_moderator_publishes_and_discards_drafts_from_the_queue(moderator_client, editor):
    published, discarded = make_story(title="One"), make_story(title="Two")
    edit(published, actor=editor, content={"title": "One, fixed"})
    edit(discarded, actor=editor, content={"title": "Two, fixed"})

    moderator_client.post(reverse("moderation:publish_draft", args=[published.pk]), {"version": "2"})
    response = moderator_client.post(
        reverse("moderation:discard_draft", args=[discarded.pk]), {"version": "2"}, follow=True
    )

    assert "“Two”: the draft was discarded." in text_of(response)
    assert list(Story.objects.order_by("pk").values_list("title", "draft_revision")) == [
        ("One, fixed", None),
        ("Two", None),
    ]


def test_a_stale_draft_in_the_queue_needs_the_confirmation(moderator_client, editor, moderator):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "New title"})
    story.refresh_from_db()
    update_editorial(story, actor=moderator, quality=1)

    refused = moderator_client.post(reverse("moderation:publish_draft", args=[story.pk]), follow=True)
    assert "changed since draft" in text_of(refused)
    moderator_client.post(reverse("moderation:publish_draft", args=[story.pk]), {"confirm_stale": "on"})
    assert Story.objects.get(pk=story.pk).title == "New title"


@pytest.mark.parametrize("count", [3, 20])
def test_the_drafts_list_query_count_does_not_grow_with_page_size(
    moderator_client, editor, django_assert_max_num_queries, count
):
    for n in range(count):
        edit(make_story(title=f"Story {n}"), actor=editor, content={"title": f"Fixed {n}"})
    with django_assert_max_num_queries(8):
        response = moderator_client.get(reverse("moderation:live_drafts"))
    assert response.content.decode().count('class="queue-item"') == count


def test_a_changelist_row_changes_the_live_story_while_a_draft_waits(moderator_client, editor):
    story = make_story(title="Old title", quality=10, heat=5)
    edit(story, actor=editor, content={"title": "New title"})
    story.refresh_from_db()

    moderator_client.post(
        reverse("admin:stories_story_changelist"), list_editable_post([(story, 60, 5, story.version)])
    )

    stored = Story.objects.get(pk=story.pk)
    assert (stored.quality, stored.title) == (60, "Old title")
    assert stored.draft_revision.data["record"]["title"] == "New title"
