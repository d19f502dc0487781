"""Links to the compare page from the moderation queue and from an import run's page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stories.models import ImportOutcome, ImportRun, ImportRunStory, State
from stories.workflow.revisions import record_revision
from tests.conftest import make_story

from .conftest import snapshot, with_related_reordered

QUEUE = "moderation:queue"


def compare_url(story) -> str:
    return reverse("admin:stories_story_revision_compare", args=[story.pk])


def card_of(page: str, story) -> str:
    return page[page.index(f'id="story-{story.pk}"') :].split("</li>")[0]


def test_a_queue_card_with_several_revisions_links_to_the_compare_page(moderator_client, revised_story):
    page = moderator_client.get(reverse(QUEUE)).content.decode()
    assert f'href="{compare_url(revised_story)}"' in card_of(page, revised_story)


def test_a_queue_card_with_one_revision_has_no_compare_link(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    record_revision(story, actor=None, reason="Imported")
    page = moderator_client.get(reverse(QUEUE)).content.decode()
    assert "queue-compare" not in card_of(page, story)


def test_a_queue_card_with_a_pending_draft_compares_live_and_draft(moderator_client):
    story = make_story(state=State.IN_REVIEW, related=2)
    record_revision(story, actor=None, data=with_related_reordered(snapshot(story)), draft=True)
    card = card_of(moderator_client.get(reverse(QUEUE)).content.decode(), story)
    assert f'href="{compare_url(story)}"' in card and "live and draft" in card


@pytest.mark.parametrize("per_page", [10, 100])
def test_compare_links_do_not_add_a_query_per_card(moderator_client, django_assert_max_num_queries, per_page):
    for _ in range(per_page):
        story = make_story(state=State.IN_REVIEW, related=2)
        record_revision(story, actor=None, reason="Imported")
        record_revision(story, actor=None, data=with_related_reordered(snapshot(story)))
    with django_assert_max_num_queries(14):
        page = moderator_client.get(reverse(QUEUE), {"per_page": per_page}).content.decode()
    assert page.count('class="queue-compare"') == per_page


def run_with(story, outcome=ImportOutcome.UPDATED) -> ImportRun:
    run = ImportRun.objects.create(source="batch", status=ImportRun.Status.FINISHED)
    ImportRunStory.objects.create(run=run, story=story, outcome=outcome, path=f"{story.pk}.md")
    return run


def test_an_import_run_links_each_story_it_changed_to_before_vs_after(admin_client):
    story = make_story(state=State.IN_REVIEW, related=2)
    before = record_revision(story, actor=None, reason="Imported")
    run = run_with(story)
    after = record_revision(story, actor=None, import_run=run, data=with_related_reordered(before.data))
    page = admin_client.get(reverse("admin:stories_importrun_change", args=[run.pk])).content.decode()
    link = f"{compare_url(story)}?a={before.pk}&amp;b={after.pk}"
    assert f'href="{link}"' in page
    compared = admin_client.get(compare_url(story), {"a": before.pk, "b": after.pk}).content.decode()
    assert "Moved from position 1 to 2" in compared


def test_a_story_the_run_made_no_revision_of_has_no_compare_link(admin_client):
    story = make_story(state=State.IN_REVIEW)
    record_revision(story, actor=None, reason="Imported")
    run = run_with(story, ImportOutcome.UNCHANGED)
    page = admin_client.get(reverse("admin:stories_importrun_change", args=[run.pk])).content.decode()
    assert compare_url(story) not in page


def test_a_story_the_run_created_compares_its_first_revision_with_nothing(admin_client):
    story = make_story(state=State.IN_REVIEW)
    run = run_with(story, ImportOutcome.CREATED)
    first = record_revision(story, actor=None, import_run=run)
    page = admin_client.get(reverse("admin:stories_importrun_change", args=[run.pk])).content.decode()
    assert f'href="{compare_url(story)}?b={first.pk}"' in page
    compared = admin_client.get(compare_url(story), {"b": first.pk}).content.decode()
    assert "Nothing (the story&#x27;s first revision)" in compared or "first revision" in compared
