"""The import runs admin: browse runs with counts and failures, links between runs, stories and the queue."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.models import ImportOutcome, ImportRun, ImportRunStory
from tests.conftest import make_story

pytestmark = pytest.mark.django_db


def make_run(*, stories=(), failures=(), **fields) -> ImportRun:
    started = timezone.now() - timedelta(minutes=5)
    defaults = {
        "source": "seeds/batch-1",
        "status": ImportRun.Status.FINISHED,
        "started_at": started,
        "finished_at": started + timedelta(seconds=12.5),
        "created": len(stories),
        "failed": len(failures),
        "failures": [{"path": p, "reason": r} for p, r in failures],
    }
    defaults.update(fields)
    run = ImportRun.objects.create(**defaults)
    for n, story in enumerate(stories):
        ImportRunStory.objects.create(
            run=run, story=story, path=f"seeds/batch-1/{n}.txt", outcome=ImportOutcome.CREATED
        )
    return run


def page(response) -> str:
    return html.unescape(response.content.decode())


def test_changelist_lists_runs_with_counts_duration_and_who(moderator_client, moderator):
    make_run(started_by=moderator, created=7, updated=3, unchanged=11, conflicts=2, failed=1)

    response = moderator_client.get(reverse("admin:stories_importrun_changelist"))

    assert response.status_code == 200
    content = page(response)
    for value in ("morgan", "seeds/batch-1", "12.5 s", ">7<", ">3<", ">11<", ">2<", ">1<"):
        assert value in content


def test_changelist_query_count_does_not_grow_with_runs(
    moderator_client, moderator, django_assert_max_num_queries
):
    for _ in range(3):
        make_run(started_by=moderator)
    with django_assert_max_num_queries(12) as small:
        moderator_client.get(reverse("admin:stories_importrun_changelist"))
    for _ in range(30):
        make_run(started_by=moderator)
    with django_assert_max_num_queries(len(small.captured_queries)):
        moderator_client.get(reverse("admin:stories_importrun_changelist"))


def test_run_page_shows_failures_stories_and_the_queue_link(editor_client):
    story = make_story(title="Imported <b>story</b>")
    run = make_run(stories=[story], failures=[("seeds/batch-1/bad.txt", "line 3: title is required")])

    response = editor_client.get(reverse("admin:stories_importrun_change", args=[run.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "seeds/batch-1/bad.txt" in content and "line 3: title is required" in content
    assert reverse("admin:stories_story_change", args=[story.pk]) in content
    assert "Imported &lt;b&gt;story&lt;/b&gt;" in content  # escaped
    assert f"/moderation/?import_run={run.pk}" in content
    assert reverse("admin:stories_story_changelist") + f"?import_runs__id__exact={run.pk}" in content


def test_runs_stories_open_in_the_story_list(editor_client):
    mine, other = make_story(title="From the run"), make_story(title="Not from the run")
    run = make_run(stories=[mine])

    url = reverse("admin:stories_story_changelist") + f"?import_runs__id__exact={run.pk}"
    response = editor_client.get(url)

    assert response.status_code == 200
    titles = [s.title for s in response.context["cl"].result_list]
    assert titles == ["From the run"]
    assert other.title not in titles


def test_a_story_links_to_the_runs_that_touched_it(editor_client):
    story = make_story()
    run, other_run = make_run(stories=[story]), make_run(source="another batch")

    change = editor_client.get(reverse("admin:stories_story_change", args=[story.pk]))
    runs_url = reverse("admin:stories_importrun_changelist") + f"?stories__id__exact={story.pk}"
    assert runs_url in page(change)

    response = editor_client.get(runs_url)
    assert response.status_code == 200
    assert [r.pk for r in response.context["cl"].result_list] == [run.pk]
    assert other_run.pk != run.pk


def test_runs_are_read_only_for_editors(editor_client):
    run = make_run()
    change_url = reverse("admin:stories_importrun_change", args=[run.pk])

    response = editor_client.get(change_url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert editor_client.post(change_url, {"source": "rewritten"}).status_code == 403
    assert editor_client.get(reverse("admin:stories_importrun_add")).status_code == 403
    delete_url = reverse("admin:stories_importrun_delete", args=[run.pk])
    assert editor_client.post(delete_url, {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.source == "seeds/batch-1"


def test_nothing_on_a_run_is_editable_even_for_moderators(moderator_client):
    run = make_run()
    change_url = reverse("admin:stories_importrun_change", args=[run.pk])
    moderator_client.post(change_url, {"source": "rewritten", "created": "999"})
    run.refresh_from_db()
    assert (run.source, run.created) == ("seeds/batch-1", 0)


def test_the_run_list_offers_the_upload_to_editors(editor_client):
    response = editor_client.get(reverse("admin:stories_importrun_changelist"))
    assert reverse("admin:stories_importrun_upload") in response.content.decode()
