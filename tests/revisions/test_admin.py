"""The admin's revisions pages: the list, comparing two, restoring one."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from stories.models import ImportRun, State, Story
from stories.workflow.revisions import record_revision
from tests.conftest import make_story

from .conftest import edit_title, snapshot, with_related_reordered


def revisions_url(story: Story) -> str:
    return reverse("admin:stories_story_revisions", args=[story.pk])


def compare_url(story: Story) -> str:
    return reverse("admin:stories_story_revision_compare", args=[story.pk])


def restore_url(story: Story, revision) -> str:
    return reverse("admin:stories_story_revision_restore", args=[story.pk, revision.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_change_page_and_the_history_link_to_the_revisions(editor_client, revised_story):
    page = editor_client.get(reverse("admin:stories_story_change", args=[revised_story.pk])).content.decode()
    assert page.count(f'href="{revisions_url(revised_story)}"') == 2


def test_the_revisions_page_lists_newest_first_with_who_when_and_why(editor_client, revised_story):
    run = ImportRun.objects.create(source="batch")
    record_revision(
        revised_story, actor=None, import_run=run, data=with_related_reordered(snapshot(revised_story))
    )
    page = editor_client.get(revisions_url(revised_story)).content.decode()
    ids = [r.pk for r in revised_story.revisions.order_by("-id")]
    positions = [page.index(f'id="revision-{pk}"') for pk in ids]
    assert positions == sorted(positions)
    assert f"Import #{run.pk}" in page and "edna" in page
    assert "Title corrected" in page and "Imported" in page


def test_the_revisions_page_marks_the_live_revision_and_a_pending_draft(editor_client, revised_story):
    draft = record_revision(
        revised_story, actor=None, data=with_related_reordered(snapshot(revised_story)), draft=True
    )
    page = editor_client.get(revisions_url(revised_story)).content.decode()
    row = page[page.index(f'id="revision-{draft.pk}"') :]
    assert "draft waiting for a moderator" in row.split("</tr>")[0]
    live = revised_story.revisions.order_by("-id")[1]
    assert 'revision-mark--live">live' in page[page.index(f'id="revision-{live.pk}"') :].split("</tr>")[0]


def test_the_revisions_page_is_paginated_in_a_bounded_number_of_queries(
    editor_client, revised_story, django_assert_max_num_queries
):
    data = snapshot(revised_story)
    for n in range(30):
        record_revision(revised_story, actor=None, reason=f"Change {n}", data=data | {"heat": n})
    with django_assert_max_num_queries(12):
        page = editor_client.get(revisions_url(revised_story)).content.decode()
    assert page.count('<tr id="revision-') == 25
    assert "Page 1 of 2" in page
    older = editor_client.get(revisions_url(revised_story) + "?page=2").content.decode()
    assert "Imported" in older


def test_staff_without_view_permission_cannot_see_revisions(client, staff_without_roles, revised_story):
    client.force_login(staff_without_roles)
    assert client.get(revisions_url(revised_story)).status_code == 403
    assert client.get(compare_url(revised_story)).status_code == 403


def test_the_default_compare_is_the_newest_revision_against_its_predecessor(editor_client, revised_story):
    page = editor_client.get(compare_url(revised_story)).content.decode()
    assert 'id="field-title"' in page
    assert "Old title" in page and "New title" in page


def test_the_default_compare_is_live_against_a_pending_draft(editor_client, revised_story):
    draft_data = snapshot(revised_story)
    draft_data = draft_data | {"record": draft_data["record"] | {"title": "Draft title"}}
    record_revision(revised_story, actor=None, data=draft_data, draft=True)
    page = editor_client.get(compare_url(revised_story)).content.decode()
    field = page[page.index('id="field-title"') :].split("</tr>")[0]
    assert "New title" in field and "Draft title" in field and "Old title" not in field


def test_any_two_revisions_can_be_compared_whichever_comes_first(editor_client, revised_story):
    first, second = revised_story.revisions.order_by("id")
    edit_title(revised_story, "Third title", actor=None)
    page = editor_client.get(compare_url(revised_story), {"a": second.pk, "b": first.pk}).content.decode()
    field = page[page.index('id="field-title"') :].split("</tr>")[0]
    assert field.index("Old title") < field.index("New title")
    assert "Third title" not in field


def test_the_compare_page_shows_a_related_link_reorder(editor_client, revised_story):
    record_revision(revised_story, actor=None, data=with_related_reordered(snapshot(revised_story)))
    page = editor_client.get(compare_url(revised_story)).content.decode()
    assert "Related links" in page
    assert "Moved from position 1 to 3" in page


def test_the_compare_page_escapes_what_it_shows(editor_client):
    story = make_story(title="Plain", state=State.IN_REVIEW)
    record_revision(story, actor=None, reason="<b>bold</b>")
    data = snapshot(story)
    record_revision(
        story, actor=None, data=data | {"record": data["record"] | {"title": "<script>x()</script>"}}
    )
    page = editor_client.get(compare_url(story)).content.decode()
    assert "<script>x()" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<b>bold</b>" not in editor_client.get(revisions_url(story)).content.decode()


def test_a_story_without_revisions_says_so(editor_client):
    story = make_story(state=State.IN_REVIEW)
    assert "No revisions recorded yet" in editor_client.get(revisions_url(story)).content.decode()
    assert "No revisions recorded yet" in editor_client.get(compare_url(story)).content.decode()


def test_restoring_from_the_admin_makes_a_new_revision(editor_client, revised_story, editor):
    first = revised_story.revisions.order_by("id").first()
    version = Story.objects.get(pk=revised_story.pk).version
    response = editor_client.post(restore_url(revised_story, first), {"version": version})
    assert response.status_code == 302 and response.url == revisions_url(revised_story)
    newest = revised_story.revisions.order_by("-id").first()
    assert f"Revision #{first.pk} restored as revision #{newest.pk}." in messages_of(response)
    assert newest.author == editor and newest.data == first.data
    assert snapshot(revised_story) == first.data


def test_restoring_needs_a_post(editor_client, revised_story):
    first = revised_story.revisions.order_by("id").first()
    assert editor_client.get(restore_url(revised_story, first)).status_code == 405
    assert Story.objects.get(pk=revised_story.pk).title == "New title"


def test_restoring_needs_the_csrf_token(editor, revised_story):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    first = revised_story.revisions.order_by("id").first()
    assert client.post(restore_url(revised_story, first)).status_code == 403
    assert Story.objects.get(pk=revised_story.pk).title == "New title"


def test_an_editors_restore_of_a_published_story_is_kept_as_a_draft(editor_client, moderator):
    story = make_story(title="Live title", state=State.PUBLISHED)
    first = record_revision(story, actor=None, reason="Imported")
    edit_title(story, "Corrected", actor=moderator)
    response = editor_client.post(restore_url(story, first), {"next": compare_url(story)}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Revision #{first.pk} restored as revision #" in page and "a moderator will review it" in page
    story = Story.objects.get(pk=story.pk)
    assert story.title == "Corrected" and story.draft_revision_id is not None


def test_a_restore_from_a_stale_page_is_refused_with_a_message(editor_client, revised_story):
    first = revised_story.revisions.order_by("id").first()
    seen = Story.objects.get(pk=revised_story.pk).version
    edit_title(revised_story, "Newer", actor=None)
    response = editor_client.post(restore_url(revised_story, first), {"version": seen}, follow=True)
    assert "was changed by someone else" in response.content.decode()
    assert Story.objects.get(pk=revised_story.pk).title == "Newer"


def test_staff_who_may_only_view_cannot_restore(client, django_user_model, revised_story):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user(username="vera", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_story"))
    client.force_login(viewer)
    assert client.get(revisions_url(revised_story)).status_code == 200
    assert "Restore revision" not in client.get(revisions_url(revised_story)).content.decode()
    first = revised_story.revisions.order_by("id").first()
    assert client.post(restore_url(revised_story, first)).status_code == 403


@pytest.mark.parametrize("bad", ["x", "999999", "", "-3", "9" * 30])
def test_a_revision_id_the_story_does_not_have_falls_back_to_the_default(editor_client, revised_story, bad):
    response = editor_client.get(compare_url(revised_story), {"a": bad, "b": bad})
    assert response.status_code == 200 and "New title" in response.content.decode()


def test_restoring_a_revision_of_another_story_is_not_found(editor_client, revised_story):
    other = make_story(state=State.IN_REVIEW)
    theirs = record_revision(other, actor=None, reason="Imported")
    assert editor_client.post(restore_url(revised_story, theirs)).status_code == 404
    huge = reverse("admin:stories_story_revision_restore", args=[revised_story.pk, 10**30])
    assert editor_client.post(huge).status_code == 404
