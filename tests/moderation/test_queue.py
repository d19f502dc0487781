"""The moderation queue at /moderation/: who sees it, what it lists, and the actions on each row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from stories import workflow
from stories.models import AuditEntry, Image, ImportOutcome, ImportRun, ImportRunStory, State, Story
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

QUEUE = "moderation:queue"


def transition_url(story: Story) -> str:
    return reverse("moderation:transition", args=[story.pk])


def editorial_url(story: Story) -> str:
    return reverse("moderation:editorial", args=[story.pk])


# --- Access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse(QUEUE))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_non_staff_user_is_sent_to_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="x"))
    response = client.get(reverse(QUEUE))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_anonymous_post_changes_nothing(client):
    story = make_story(state=State.IN_REVIEW)
    response = client.post(transition_url(story), {"action": "publish", "version": "1"})
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


@pytest.mark.parametrize(
    ("persona", "action", "expected"),
    [
        ("staff_without_roles", "publish", 403),
        ("staff_without_roles", "reject", 403),
        ("staff_without_roles", "submit", 403),
        ("editor", "publish", 403),
        ("editor", "reject", 403),
        ("editor", "request_changes", 403),
        ("moderator", "publish", 302),
        ("moderator", "reject", 302),
    ],
)
def test_row_transition_permissions(client, request, persona, action, expected):
    client.force_login(request.getfixturevalue(persona))
    story = make_story(state=State.IN_REVIEW)
    response = client.post(transition_url(story), {"action": action, "version": "1", "comment": "why"})
    assert response.status_code == expected
    story.refresh_from_db()
    assert (story.state != State.IN_REVIEW) == (expected == 302)


def test_editorial_post_without_change_permission_is_403(client, staff_without_roles):
    client.force_login(staff_without_roles)
    story = make_story(state=State.IN_REVIEW, quality=10)
    response = client.post(editorial_url(story), {"quality": "90", "heat": "1", "topics": "", "version": "1"})
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.quality == 10


def test_bulk_post_without_publish_permission_is_403(editor_client):
    story = make_story(state=State.IN_REVIEW)
    response = editor_client.post(
        reverse("moderation:bulk"), {"action": "publish", "ids": [story.pk], f"version-{story.pk}": "1"}
    )
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_queue_actions_refuse_get(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    assert moderator_client.get(transition_url(story)).status_code == 405
    assert moderator_client.get(reverse("moderation:bulk")).status_code == 405


def test_staff_without_story_permissions_gets_403_and_no_titles(client, staff_without_roles):
    client.force_login(staff_without_roles)
    story = make_story(state=State.IN_REVIEW, title="Waiting story")

    response = client.get(reverse(QUEUE))

    assert response.status_code == 403
    assert "Waiting story" not in response.content.decode()
    assert client.get(reverse(QUEUE) + "?state=draft").status_code == 403
    for url, data in [
        (transition_url(story), {"action": "publish", "version": "1"}),
        (editorial_url(story), {"quality": "90", "heat": "1", "topics": "", "version": "1"}),
        (reverse("moderation:bulk"), {"action": "publish", "ids": [story.pk], f"version-{story.pk}": "1"}),
    ]:
        assert client.post(url, data).status_code == 403, url
    story.refresh_from_db()
    assert (story.state, story.quality) == (State.IN_REVIEW, 50)


def test_staff_with_view_permission_only_sees_the_queue_without_action_buttons(client, staff_without_roles):
    staff_without_roles.user_permissions.add(Permission.objects.get(codename="view_story"))
    client.force_login(staff_without_roles)
    make_story(state=State.IN_REVIEW, title="Waiting story")

    body = client.get(reverse(QUEUE)).content.decode()

    assert "Waiting story" in body
    assert 'value="publish"' not in body
    assert 'id="bulk-form"' not in body


# --- Listing --------------------------------------------------------------------------------------


def test_queue_lists_stories_in_review_with_what_a_moderator_needs(moderator_client, settings):
    # Not cached locally here, so the image is the remote one when that fallback is on.
    settings.NEWSROOM_IMAGE_FALLBACK = "remote"
    make_story(
        state=State.IN_REVIEW,
        title="In review <script>",
        related=3,
        quality=61,
        heat=7,
        provider=make_provider(name="Daily Wire"),
    )
    make_story(state=State.DRAFT, title="A draft")
    make_story(state=State.PUBLISHED, title="Already out")
    body = moderator_client.get(reverse(QUEUE)).content.decode()
    assert "In review &lt;script&gt;" in body
    assert "<script>" not in body.split("<body", 1)[1].replace('<script src="', "")
    assert "A draft" not in body and "Already out" not in body
    assert "Daily Wire" in body
    assert 'class="related-count">3<' in body
    assert "https://img.example/" in body
    assert ">61<" in body and ">7<" in body


def test_queue_does_not_hot_link_uncached_images_when_the_fallback_is_none(moderator_client, settings):
    settings.NEWSROOM_IMAGE_FALLBACK = "none"
    make_story(state=State.IN_REVIEW, title="Waiting with a remote image")
    body = moderator_client.get(reverse(QUEUE)).content.decode()
    assert "Waiting with a remote image" in body
    assert "https://img.example/" not in body


def test_queue_switches_to_drafts(moderator_client):
    make_story(state=State.IN_REVIEW, title="Waiting for review")
    make_story(state=State.DRAFT, title="A draft")
    body = moderator_client.get(reverse(QUEUE), {"state": "draft"}).content.decode()
    assert "A draft" in body and "Waiting for review" not in body


def test_queue_sorts_by_quality_heat_and_age(moderator_client):
    now = timezone.now()
    make_story(
        state=State.IN_REVIEW, title="Old-hot", quality=10, heat=90, published_at=now - timedelta(days=3)
    )
    make_story(state=State.IN_REVIEW, title="New-mid", quality=50, heat=50, published_at=now)
    make_story(
        state=State.IN_REVIEW, title="Mid-good", quality=95, heat=1, published_at=now - timedelta(days=1)
    )

    def order(sort):
        body = moderator_client.get(reverse(QUEUE), {"sort": sort}).content.decode()
        titles = ["Old-hot", "New-mid", "Mid-good"]
        return sorted(titles, key=body.index)

    assert order("quality") == ["Mid-good", "New-mid", "Old-hot"]
    assert order("heat") == ["Old-hot", "New-mid", "Mid-good"]
    assert order("newest") == ["New-mid", "Mid-good", "Old-hot"]
    assert order("oldest") == ["Old-hot", "Mid-good", "New-mid"]


def test_queue_filters_by_provider_topic_type_quality_text_and_dates(moderator_client):
    ai = make_topic("AI")
    wire = make_provider(name="Wire")
    now = timezone.now()
    make_story(
        state=State.IN_REVIEW,
        title="Match",
        provider=wire,
        topics=[ai],
        type="video",
        quality=70,
        excerpt="about quantum chips",
        published_at=now - timedelta(days=2),
    )
    make_story(state=State.IN_REVIEW, title="Other", quality=20, published_at=now - timedelta(days=10))
    url = reverse(QUEUE)
    for params in (
        {"provider": wire.pk},
        {"topic": ai.pk},
        {"type": "video"},
        {"quality_min": 50, "quality_max": 80},
        {"q": "quantum"},
        {"published_after": (now - timedelta(days=3)).date().isoformat()},
    ):
        body = moderator_client.get(url, params).content.decode()
        assert "Match" in body and "Other</a>" not in body, params


def test_queue_opens_one_import_runs_stories_as_a_batch(moderator_client):
    run = ImportRun.objects.create(source="batch-7")
    mine = make_story(state=State.IN_REVIEW, title="From the run")
    make_story(state=State.IN_REVIEW, title="From elsewhere")
    ImportRunStory.objects.create(run=run, story=mine, outcome=ImportOutcome.CREATED)
    body = moderator_client.get(reverse(QUEUE), {"import_run": run.pk}).content.decode()
    assert "From the run" in body and "From elsewhere" not in body


def test_queue_paginates(moderator_client):
    for i in range(12):
        make_story(state=State.IN_REVIEW, title=f"Paged {i:02d}")
    first = moderator_client.get(reverse(QUEUE), {"per_page": 10}).content.decode()
    second = moderator_client.get(reverse(QUEUE), {"per_page": 10, "page": 2}).content.decode()
    assert first.count('class="queue-item"') == 10
    assert second.count('class="queue-item"') == 2
    assert "per_page=10" in first and "page=2" in first


@pytest.mark.parametrize("per_page", [10, 100])
def test_queue_query_count_does_not_grow_with_page_size(
    moderator_client, django_assert_max_num_queries, per_page
):
    topics = [make_topic(f"T{i}") for i in range(3)]
    for _ in range(per_page):
        make_story(state=State.IN_REVIEW, topics=topics, related=2, images=2)
    with django_assert_max_num_queries(14):
        response = moderator_client.get(reverse(QUEUE), {"per_page": per_page, "sort": "quality"})
    assert response.content.decode().count('class="queue-item"') == per_page


# --- Row actions ----------------------------------------------------------------------------------


def test_publish_from_the_queue_redirects_back_with_filters(moderator_client, moderator):
    story = make_story(state=State.IN_REVIEW)
    back = reverse(QUEUE) + "?sort=heat&page=1"
    response = moderator_client.post(
        transition_url(story), {"action": "publish", "version": "1", "next": back}
    )
    assert response.status_code == 302
    assert response["Location"] == back
    story.refresh_from_db()
    assert story.state == State.PUBLISHED
    assert AuditEntry.objects.get(story=story).actor == moderator


def test_queue_never_redirects_off_site(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    response = moderator_client.post(
        transition_url(story),
        {"action": "publish", "version": "1", "next": "https://evil.example/moderation/"},
    )
    assert response["Location"] == reverse(QUEUE)


def test_reject_from_the_queue_needs_a_reason(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    response = moderator_client.post(transition_url(story), {"action": "reject", "version": "1"}, follow=True)
    assert "needs a reason" in response.content.decode()
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW
    moderator_client.post(transition_url(story), {"action": "reject", "version": "1", "comment": "Spam"})
    story.refresh_from_db()
    assert (story.state, story.state_comment) == (State.REJECTED, "Spam")


def test_stale_queue_action_is_refused(moderator_client, editor):
    story = make_story(state=State.IN_REVIEW)
    workflow.update_editorial(story, actor=editor, quality=1)
    response = moderator_client.post(
        transition_url(story), {"action": "publish", "version": "1"}, follow=True
    )
    assert "changed by someone else" in response.content.decode()
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_adjust_quality_heat_and_topics_from_the_queue(editor_client, editor):
    ai = make_topic("AI")
    make_topic("Cloud")
    story = make_story(state=State.IN_REVIEW, quality=10, heat=10, topics=[ai])
    response = editor_client.post(
        editorial_url(story), {"quality": "80", "heat": "10", "topics": "cloud, AI", "version": "1"}
    )
    assert response.status_code == 302
    story.refresh_from_db()
    assert (story.quality, story.heat) == (80, 10)
    assert [st.topic.name for st in story.story_topics.all()] == ["Cloud", "AI"]
    assert sorted(AuditEntry.objects.filter(story=story).values_list("field", flat=True)) == [
        "quality",
        "topics",
    ]


def test_unknown_topic_in_the_queue_is_refused_and_nothing_changes(editor_client):
    story = make_story(state=State.IN_REVIEW, quality=10)
    response = editor_client.post(
        editorial_url(story), {"quality": "80", "heat": "", "topics": "Nope", "version": "1"}, follow=True
    )
    assert "There is no topic called" in response.content.decode()
    story.refresh_from_db()
    assert story.quality == 10


def test_stale_queue_edit_is_refused(editor_client, moderator):
    story = make_story(state=State.IN_REVIEW, quality=10)
    workflow.update_editorial(story, actor=moderator, quality=20)
    editor_client.post(editorial_url(story), {"quality": "80", "heat": "50", "topics": "", "version": "1"})
    story.refresh_from_db()
    assert story.quality == 20


# --- Bulk -----------------------------------------------------------------------------------------


def test_bulk_reject_with_one_reason_per_story(moderator_client):
    a, b, c = (make_story(state=State.IN_REVIEW) for _ in range(3))
    data = {
        "action": "reject",
        "ids": [a.pk, b.pk, c.pk],
        "reason": "Not news",
        "reason-" + str(a.pk): "Duplicate",
    }
    data.update({f"version-{s.pk}": "1" for s in (a, b, c)})
    moderator_client.post(reverse("moderation:bulk"), data)
    comments = dict(Story.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("pk", "state_comment"))
    assert comments == {a.pk: "Duplicate", b.pk: "Not news", c.pk: "Not news"}
    assert set(Story.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("state", flat=True)) == {
        State.REJECTED
    }


def test_bulk_publish_skips_and_reports_stale_and_invalid_stories(moderator_client, editor):
    fresh = make_story(state=State.IN_REVIEW, title="Fresh")
    stale = make_story(state=State.IN_REVIEW, title="Stale one")
    published = make_story(state=State.PUBLISHED, title="Already published")
    workflow.update_editorial(stale, actor=editor, heat=3)
    data = {"action": "publish", "ids": [fresh.pk, stale.pk, published.pk]}
    data.update({f"version-{s.pk}": "1" for s in (fresh, stale, published)})
    response = moderator_client.post(reverse("moderation:bulk"), data, follow=True)
    body = response.content.decode()
    assert "Skipped 2" in body
    assert "Stale one" in body and "changed by someone else" in body
    assert Story.objects.get(pk=fresh.pk).state == State.PUBLISHED
    assert Story.objects.get(pk=stale.pk).state == State.IN_REVIEW


def test_bulk_action_without_the_version_shown_is_not_applied(moderator_client):
    story = make_story(state=State.IN_REVIEW)
    moderator_client.post(reverse("moderation:bulk"), {"action": "publish", "ids": [story.pk]})
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_queue_never_lists_other_states_whatever_the_query_says(moderator_client):
    make_story(state=State.PUBLISHED, title="Already out")
    make_story(state=State.REJECTED, title="Turned down")
    make_story(state=State.IN_REVIEW, title="Waiting")
    body = moderator_client.get(reverse(QUEUE), {"state": "published"}).content.decode()
    assert "Waiting" in body
    assert "Already out" not in body and "Turned down" not in body


def test_editor_gets_only_the_bulk_moves_that_fit_the_state_shown(editor_client):
    make_story(state=State.IN_REVIEW)
    make_story(state=State.DRAFT)
    in_review = editor_client.get(reverse(QUEUE)).content.decode()
    drafts = editor_client.get(reverse(QUEUE), {"state": "draft"}).content.decode()
    assert 'id="bulk-form"' not in in_review
    assert '<option value="submit">' in drafts and '<option value="publish">' not in drafts


def test_queue_prefers_the_cached_thumbnail_and_never_shows_other_url_schemes(moderator_client):
    cached = make_story(state=State.IN_REVIEW, title="Cached", images=0)
    Image.objects.create(
        story=cached,
        role=Image.Role.LEAD,
        url="https://img.example/remote.jpg",
        cache_status=Image.CacheStatus.CACHED,
        thumbnails={
            "sizes": [{"width": 160, "height": 90, "webp": "thumbs/a.webp", "fallback": "thumbs/a.jpg"}]
        },
    )
    odd = make_story(state=State.IN_REVIEW, title="Odd scheme", images=0)
    Image.objects.create(story=odd, role=Image.Role.LEAD, url="javascript:alert(1)")
    body = moderator_client.get(reverse(QUEUE)).content.decode()
    assert "thumbs/a.jpg" in body and "remote.jpg" not in body
    assert "javascript:" not in body


def test_a_cluster_lead_with_heat_minus_one_can_still_be_edited_from_the_queue(editor_client):
    story = make_story(state=State.IN_REVIEW, quality=106, heat=-1)
    editor_client.post(editorial_url(story), {"quality": "90", "heat": "-1", "topics": "", "version": "1"})
    story.refresh_from_db()
    assert (story.quality, story.heat) == (90, -1)
