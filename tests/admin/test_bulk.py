"""Bulk actions on the story changelist: each through the workflow service, skipping what it must."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stories import workflow
from stories.models import AuditEntry, State, Story
from tests.conftest import make_story, make_topic

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:stories_story_changelist"


def action_post(action: str, stories: list[Story], *, versions: dict | None = None, **extra) -> dict:
    data = {"action": action, "index": "0", "_selected_action": [str(s.pk) for s in stories]}
    for story in stories:
        data[f"version-{story.pk}"] = str((versions or {}).get(story.pk, story.version))
    data.update(extra)
    return data


def states(*stories: Story) -> list[str]:
    return [Story.objects.get(pk=s.pk).state for s in stories]


def test_bulk_publish_goes_through_the_service(moderator_client, moderator):
    a, b = make_story(state=State.IN_REVIEW), make_story(state=State.DRAFT)
    response = moderator_client.post(
        reverse(CHANGELIST), action_post("publish_selected", [a, b]), follow=True
    )
    assert "Published 2 stories" in response.content.decode()
    assert states(a, b) == [State.PUBLISHED, State.PUBLISHED]
    assert AuditEntry.objects.filter(action="publish", actor=moderator).count() == 2


def test_bulk_publish_skips_and_reports_stale_and_invalid_stories(moderator_client, editor):
    fresh = make_story(state=State.IN_REVIEW, title="Fresh")
    stale = make_story(state=State.IN_REVIEW, title="Stale one")
    out = make_story(state=State.PUBLISHED, title="Already out")
    versions = {s.pk: 1 for s in (fresh, stale, out)}
    workflow.update_editorial(stale, actor=editor, heat=1)
    response = moderator_client.post(
        reverse(CHANGELIST),
        action_post("publish_selected", [fresh, stale, out], versions=versions),
        follow=True,
    )
    body = response.content.decode()
    assert "Published 1 story" in body
    assert "Skipped 2" in body and "Stale one" in body and "Already out" in body
    assert states(fresh, stale, out) == [State.PUBLISHED, State.IN_REVIEW, State.PUBLISHED]


def test_editor_cannot_use_the_publish_action(editor_client):
    story = make_story(state=State.IN_REVIEW)
    changelist = editor_client.get(reverse(CHANGELIST)).content.decode()
    assert 'value="publish_selected"' not in changelist
    assert 'value="submit_selected"' in changelist
    editor_client.post(reverse(CHANGELIST), action_post("publish_selected", [story]))
    assert states(story) == [State.IN_REVIEW]


def test_bulk_unpublish_and_submit(moderator_client):
    live = make_story(state=State.PUBLISHED)
    draft = make_story(state=State.DRAFT)
    moderator_client.post(reverse(CHANGELIST), action_post("unpublish_selected", [live]))
    moderator_client.post(reverse(CHANGELIST), action_post("submit_selected", [draft]))
    assert states(live, draft) == [State.IN_REVIEW, State.IN_REVIEW]


def test_bulk_reject_shows_an_intermediate_page_then_rejects_with_one_reason_per_story(moderator_client):
    a, b, c = (make_story(state=State.IN_REVIEW, title=f"Doubtful {i}") for i in range(3))
    page = moderator_client.post(reverse(CHANGELIST), action_post("reject_selected", [a, b, c]))
    body = page.content.decode()
    assert page.status_code == 200
    assert f'name="reason-{a.pk}"' in body and "Doubtful 2" in body
    assert states(a, b, c) == [State.IN_REVIEW] * 3

    data = action_post("reject_selected", [a, b, c], apply="1", reason="Not news")
    data[f"reason-{a.pk}"] = "Duplicate"
    moderator_client.post(reverse(CHANGELIST), data)
    comments = dict(Story.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("pk", "state_comment"))
    assert comments == {a.pk: "Duplicate", b.pk: "Not news", c.pk: "Not news"}
    assert states(a, b, c) == [State.REJECTED] * 3


def test_bulk_reject_without_any_reason_rejects_nothing(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    response = moderator_client.post(
        reverse(CHANGELIST), action_post("reject_selected", [story], apply="1"), follow=True
    )
    assert "needs a reason" in response.content.decode()
    assert states(story) == [State.IN_REVIEW]


def test_bulk_reject_refuses_a_story_changed_while_the_reasons_were_written(moderator_client, editor):
    story = make_story(state=State.IN_REVIEW)
    moderator_client.post(
        reverse(CHANGELIST), action_post("reject_selected", [story])
    )  # the page, at version 1
    workflow.update_editorial(story, actor=editor, quality=1)
    data = action_post("reject_selected", [story], versions={story.pk: 1}, apply="1", reason="Spam")
    moderator_client.post(reverse(CHANGELIST), data)
    assert states(story) == [State.IN_REVIEW]


def test_attach_and_detach_topics_through_an_intermediate_page(editor_client, editor):
    ai, cloud = make_topic("AI"), make_topic("Cloud")
    a = make_story(state=State.IN_REVIEW, topics=[ai])
    b = make_story(state=State.IN_REVIEW)
    page = editor_client.post(reverse(CHANGELIST), action_post("attach_topics", [a, b]))
    assert page.status_code == 200 and 'name="topics"' in page.content.decode()

    editor_client.post(
        reverse(CHANGELIST), action_post("attach_topics", [a, b], apply="1", topics=[str(cloud.pk)])
    )
    assert [st.topic.name for st in Story.objects.get(pk=a.pk).story_topics.all()] == ["AI", "Cloud"]
    assert [st.topic.name for st in Story.objects.get(pk=b.pk).story_topics.all()] == ["Cloud"]
    assert AuditEntry.objects.filter(field="topics", actor=editor).count() == 2

    a.refresh_from_db()
    b.refresh_from_db()
    editor_client.post(
        reverse(CHANGELIST), action_post("detach_topics", [a, b], apply="1", topics=[str(ai.pk)])
    )
    assert [st.topic.name for st in Story.objects.get(pk=a.pk).story_topics.all()] == ["Cloud"]
    assert AuditEntry.objects.filter(field="topics").count() == 3  # b had no AI: nothing to record


def test_set_quality_and_heat_in_bulk(editor_client):
    a, b = (
        make_story(state=State.IN_REVIEW, quality=10, heat=1),
        make_story(state=State.PUBLISHED, quality=20),
    )
    page = editor_client.post(reverse(CHANGELIST), action_post("set_quality_heat", [a, b]))
    assert page.status_code == 200
    editor_client.post(reverse(CHANGELIST), action_post("set_quality_heat", [a, b], apply="1", quality="77"))
    assert list(Story.objects.filter(pk__in=[a.pk, b.pk]).values_list("quality", "heat").order_by("pk")) == [
        (77, 1),
        (77, 50),
    ]
    assert AuditEntry.objects.filter(field="quality").count() == 2


def test_staff_without_roles_cannot_run_actions(client, staff_without_roles):
    client.force_login(staff_without_roles)
    story = make_story(state=State.IN_REVIEW)
    response = client.post(reverse(CHANGELIST), action_post("publish_selected", [story]))
    assert response.status_code == 403
    assert states(story) == [State.IN_REVIEW]
