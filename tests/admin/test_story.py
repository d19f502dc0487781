"""The story admin: changelist, list_editable, change form, workflow panel and history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stories import workflow
from stories.models import AuditEntry, State, Story
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:stories_story_changelist"


def change_url(story: Story) -> str:
    return reverse("admin:stories_story_change", args=[story.pk])


def workflow_url(story: Story) -> str:
    return reverse("admin:stories_story_workflow", args=[story.pk])


def list_editable_post(stories_values: list[tuple[Story, int, int, int]]) -> dict:
    """(story, quality, heat, version shown) per row."""
    data = {
        "form-TOTAL_FORMS": str(len(stories_values)),
        "form-INITIAL_FORMS": str(len(stories_values)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, (story, quality, heat, version) in enumerate(stories_values):
        data[f"form-{i}-id"] = str(story.pk)
        data[f"form-{i}-quality"] = str(quality)
        data[f"form-{i}-heat"] = str(heat)
        data[f"version-{story.pk}"] = str(version)
    return data


def change_form_post(story: Story, *, version: int, **overrides) -> dict:
    story.refresh_from_db()
    data = {
        "title": story.title,
        "provider": str(story.provider_id),
        "provider_name": story.provider_name,
        "category": story.category,
        "type": story.type,
        "excerpt": story.excerpt,
        "published_at_0": story.published_at.strftime("%Y-%m-%d"),
        "published_at_1": story.published_at.strftime("%H:%M:%S"),
        "quality": str(story.quality),
        "heat": str(story.heat),
        "web_url": story.web_url or "",
        "original_url": "",
        "amp_web_url": "",
        "cdn_amp_web_url": "",
        "featured_content": "",
        "secured": story.secured,
        "body": "",
        "expected_version": str(version),
        "related_links-TOTAL_FORMS": "0",
        "related_links-INITIAL_FORMS": "0",
        "related_links-MIN_NUM_FORMS": "0",
        "related_links-MAX_NUM_FORMS": "1000",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    topics = [st.topic_id for st in story.story_topics.all()]
    data.update(overrides)
    data.setdefault("topic_choices", [str(t) for t in topics])
    return data


# --- Changelist -----------------------------------------------------------------------------------


def test_changelist_shows_the_editorial_columns(editor_client):
    ai = make_topic("Artificial intelligence")
    make_story(title="Chips are back", state=State.IN_REVIEW, topics=[ai], quality=77, heat=12)
    response = editor_client.get(reverse(CHANGELIST))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Chips are back" in body
    assert "In review" in body
    assert "Artificial intelligence" in body


@pytest.mark.parametrize("rows", [3, 40])
def test_changelist_query_count_does_not_grow_with_page_size(
    editor_client, django_assert_max_num_queries, rows
):
    topics = [make_topic(f"Topic {i}") for i in range(3)]
    for _ in range(rows):
        make_story(state=State.IN_REVIEW, topics=topics, related=1)
    with django_assert_max_num_queries(16):
        response = editor_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.content.decode().count('name="version-') == rows


def test_changelist_filters_by_quality_band_and_searches_provider_name(editor_client):
    make_story(title="High one", quality=90, provider=make_provider(name="Wire Service"))
    make_story(title="Low one", quality=10)
    body = editor_client.get(reverse(CHANGELIST), {"quality_band": "high"}).content.decode()
    assert "High one" in body and "Low one" not in body
    body = editor_client.get(reverse(CHANGELIST), {"q": "wire service"}).content.decode()
    assert "High one" in body and "Low one" not in body


def test_list_editable_goes_through_the_workflow_service(editor_client, editor):
    story = make_story(state=State.IN_REVIEW, quality=40, heat=5)
    response = editor_client.post(reverse(CHANGELIST), list_editable_post([(story, 66, 5, 1)]))
    assert response.status_code == 302
    story.refresh_from_db()
    assert (story.quality, story.version, story.editor_touched) == (66, 2, ["quality"])
    entry = AuditEntry.objects.get(story=story)
    assert (entry.field, entry.before, entry.after, entry.actor) == ("quality", 40, 66, editor)


def test_list_editable_refuses_a_stale_row_and_keeps_the_newer_value(editor_client, moderator):
    story = make_story(state=State.IN_REVIEW, quality=40, heat=5)
    workflow.update_editorial(story, actor=moderator, quality=55)  # someone else, meanwhile
    response = editor_client.post(reverse(CHANGELIST), list_editable_post([(story, 66, 5, 1)]))
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    story.refresh_from_db()
    assert story.quality == 55


# --- Change form ----------------------------------------------------------------------------------


def test_change_form_saves_editorial_fields_through_the_service(editor_client, editor):
    ai, cloud = make_topic("AI"), make_topic("Cloud")
    story = make_story(state=State.IN_REVIEW, quality=40, topics=[ai])
    data = change_form_post(story, version=1, quality="70", topic_choices=[str(cloud.pk), str(ai.pk)])
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    story.refresh_from_db()
    assert story.quality == 70
    assert [st.topic.name for st in story.story_topics.all()] == ["Cloud", "AI"]
    assert sorted(AuditEntry.objects.filter(story=story).values_list("field", flat=True)) == [
        "quality",
        "topics",
    ]
    assert story.version == 2


def test_change_form_cannot_change_the_state(editor_client):
    story = make_story(state=State.IN_REVIEW)
    data = change_form_post(story, version=1, state=State.PUBLISHED, heat="99")
    editor_client.post(change_url(story), data)
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW
    assert story.heat == 99


def test_stale_change_form_is_refused_with_a_clear_message_and_newer_data_kept(editor_client, moderator):
    story = make_story(state=State.IN_REVIEW, quality=40)
    data = change_form_post(story, version=1, quality="70")
    workflow.update_editorial(story, actor=moderator, quality=55)
    response = editor_client.post(change_url(story), data)
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    story.refresh_from_db()
    assert (story.quality, story.version) == (55, 2)


def test_change_page_shows_only_the_workflow_buttons_the_user_may_use(editor_client, client, moderator):
    story = make_story(state=State.IN_REVIEW)
    editor_body = editor_client.get(change_url(story)).content.decode()
    assert 'value="publish"' not in editor_body
    client.force_login(moderator)
    moderator_body = client.get(change_url(story)).content.decode()
    assert 'value="publish"' in moderator_body
    assert 'value="reject"' in moderator_body
    assert 'value="submit"' not in moderator_body  # not a draft


def test_change_page_history_shows_topic_changes(editor_client, editor):
    story = make_story(state=State.IN_REVIEW, topics=[make_topic("Old <b>topic</b>")])
    workflow.update_editorial(story, actor=editor, topics=[make_topic("New topic")])
    body = editor_client.get(change_url(story)).content.decode()
    assert "Old &lt;b&gt;topic&lt;/b&gt;" in body
    assert "New topic" in body
    assert "edna" in body


# --- Workflow panel -------------------------------------------------------------------------------


def test_moderator_publishes_from_the_change_page(moderator_client, moderator):
    story = make_story(state=State.IN_REVIEW)
    response = moderator_client.post(workflow_url(story), {"action": "publish", "expected_version": "1"})
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.state == State.PUBLISHED
    assert AuditEntry.objects.get(story=story, field="state").actor == moderator


@pytest.mark.parametrize("persona", ["editor", "staff_without_roles"])
def test_forbidden_workflow_post_is_403(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    story = make_story(state=State.IN_REVIEW)
    response = client.post(workflow_url(story), {"action": "publish", "expected_version": "1"})
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_anonymous_workflow_post_goes_to_login(client):
    story = make_story(state=State.IN_REVIEW)
    response = client.post(workflow_url(story), {"action": "publish", "expected_version": "1"})
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_editor_submits_a_draft_from_the_change_page(editor_client):
    story = make_story(state=State.DRAFT)
    editor_client.post(workflow_url(story), {"action": "submit", "expected_version": "1"})
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_workflow_post_with_a_stale_version_is_refused(moderator_client, editor):
    story = make_story(state=State.IN_REVIEW)
    workflow.update_editorial(story, actor=editor, heat=1)
    response = moderator_client.post(
        workflow_url(story), {"action": "publish", "expected_version": "1"}, follow=True
    )
    assert "changed by someone else" in response.content.decode()
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_workflow_get_is_not_allowed(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    assert moderator_client.get(workflow_url(story)).status_code == 405


def test_moderator_schedules_from_the_change_page(moderator_client):
    story = make_story(state=State.PUBLISHED)
    response = moderator_client.post(
        workflow_url(story),
        {"action": "schedule", "expected_version": "1", "go_live_at": "2030-01-02T08:00", "expire_at": ""},
    )
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.go_live_at.isoformat() == "2030-01-02T08:00:00+00:00"
    assert not Story.objects.live().filter(pk=story.pk).exists()


def test_reject_without_reason_from_the_change_page_is_refused(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    response = moderator_client.post(
        workflow_url(story), {"action": "reject", "expected_version": "1"}, follow=True
    )
    assert "needs a reason" in response.content.decode()
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_topics_and_provider_autocomplete_answer_editors(editor_client):
    make_topic("Quantum computing")
    make_provider(name="Quantum Weekly")
    url = reverse("admin:autocomplete")
    topics = editor_client.get(
        url, {"app_label": "stories", "model_name": "story", "field_name": "topics", "term": "quant"}
    )
    providers = editor_client.get(
        url, {"app_label": "stories", "model_name": "story", "field_name": "provider", "term": "quant"}
    )
    assert [r["text"] for r in topics.json()["results"]] == ["Quantum computing"]
    assert [r["text"] for r in providers.json()["results"]][0].startswith("Quantum Weekly")


def test_autocomplete_lists_topics_and_providers_alphabetically(editor_client):
    for name in ("Quantum sensing", "Quantum algorithms", "Quantum networks"):
        make_topic(name)
        make_provider(name=f"{name} Weekly")
    url = reverse("admin:autocomplete")
    query = {"app_label": "stories", "model_name": "story", "term": "quantum"}

    topics = editor_client.get(url, {**query, "field_name": "topics"}).json()["results"]
    providers = editor_client.get(url, {**query, "field_name": "provider"}).json()["results"]

    assert [r["text"] for r in topics] == ["Quantum algorithms", "Quantum networks", "Quantum sensing"]
    assert [r["text"].split(" Weekly")[0] for r in providers] == [
        "Quantum algorithms", "Quantum networks", "Quantum sensing"
    ]


def test_change_page_shows_related_links_and_images_inline_in_order(editor_client):
    story = make_story(state=State.IN_REVIEW, related=3, images=2)
    body = editor_client.get(change_url(story)).content.decode()
    titles = [link.title for link in story.related_links.all()]
    assert [body.index(t) for t in titles] == sorted(body.index(t) for t in titles)
    assert 'id="related_links-group"' in body and 'id="images-group"' in body


MOVES = [
    ("submit", State.DRAFT, State.IN_REVIEW),
    ("publish", State.IN_REVIEW, State.PUBLISHED),
    ("unpublish", State.PUBLISHED, State.IN_REVIEW),
    ("reject", State.IN_REVIEW, State.REJECTED),
    ("request_changes", State.IN_REVIEW, State.DRAFT),
]
MAY = {"moderator": {m[0] for m in MOVES}, "editor": {"submit"}, "staff_without_roles": set()}


@pytest.mark.parametrize("persona", ["moderator", "editor", "staff_without_roles", "anonymous"])
@pytest.mark.parametrize(("action", "source", "target"), MOVES)
def test_every_move_over_http_is_applied_or_refused_per_role(
    client, request, persona, action, source, target
):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    story = make_story(state=source)
    response = client.post(
        workflow_url(story), {"action": action, "expected_version": "1", "comment": "Because"}
    )
    story.refresh_from_db()
    if persona == "anonymous":
        assert response.status_code == 302 and reverse("admin:login") in response["Location"]
        assert story.state == source
    elif action in MAY[persona]:
        assert response.status_code == 302
        assert story.state == target
    else:
        assert response.status_code == 403
        assert story.state == source


def test_stories_are_not_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:stories_story_add")).status_code == 403
