"""The admin's side of import conflicts and of reverting a run: side by side, one click, a preview."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from stories import workflow
from stories.imports.revert_plan import plan_revert
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.models import AuditEntry, ImportRun, ImportRunStory, Story
from tests.imports.test_conflicts import corrected, reimport
from tests.imports.test_undo import run_import, story_at, story_file

pytestmark = pytest.mark.django_db


def run_page(run: ImportRun) -> str:
    return reverse("admin:stories_importrun_change", args=[run.pk])


def answer_url(entry: ImportRunStory, answer: str) -> str:
    return reverse("admin:stories_importrun_conflict", args=[entry.pk, answer])


def test_a_moderator_sees_a_run_open_conflicts_side_by_side_with_buttons(tmp_path, editor, moderator_client):
    corrected(tmp_path, editor)
    run = reimport(tmp_path)
    entry = ImportRunStory.objects.get(run=run)

    page = moderator_client.get(run_page(run)).content.decode()

    assert "Open conflicts" in page
    assert "<td>Corrected by a person</td><td>The file&#x27;s title</td>" in page
    assert "<td>70</td><td>60</td>" in page
    assert answer_url(entry, "accept") in page and answer_url(entry, "dismiss") in page
    assert reverse("admin:stories_importrun_conflicts", args=[run.pk, "accept"]) in page


def test_an_editor_sees_the_conflicts_without_buttons_and_may_not_answer(tmp_path, editor, editor_client):
    corrected(tmp_path, editor)
    run = reimport(tmp_path)
    entry = ImportRunStory.objects.get(run=run)

    page = editor_client.get(run_page(run)).content.decode()

    assert "Corrected by a person" in page and answer_url(entry, "accept") not in page
    assert editor_client.post(answer_url(entry, "accept")).status_code == 403
    assert (
        editor_client.post(reverse("admin:stories_importrun_conflicts", args=[run.pk, "accept"])).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.resolution == "open"


def test_accepting_from_the_story_page_applies_the_file_and_returns_there(tmp_path, editor, moderator_client):
    story = corrected(tmp_path, editor)
    entry = ImportRunStory.objects.get(run=reimport(tmp_path))
    story_page = reverse("admin:stories_story_change", args=[story.pk])
    page = moderator_client.get(story_page).content.decode()
    assert "Import conflicts" in page and answer_url(entry, "accept") in page

    response = moderator_client.post(answer_url(entry, "accept") + f"?next={story_page}")

    assert response.status_code == 302 and response.url == story_page
    assert story_at("alpha").title == "The file's title"
    assert "Import conflicts" not in moderator_client.get(story_page).content.decode()


def test_answering_needs_the_csrf_token(tmp_path, editor, moderator):
    corrected(tmp_path, editor)
    entry = ImportRunStory.objects.get(run=reimport(tmp_path))
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)

    assert client.post(answer_url(entry, "dismiss")).status_code == 403
    assert client.get(answer_url(entry, "dismiss")).status_code == 405

    entry.refresh_from_db()
    assert entry.resolution == "open"


def test_a_stale_conflict_is_refused_with_the_stale_message(tmp_path, editor, moderator_client):
    corrected(tmp_path, editor)
    run = reimport(tmp_path)
    entry = ImportRunStory.objects.get(run=run)
    workflow.update_editorial(story_at("alpha"), actor=editor, heat=2)

    response = moderator_client.post(answer_url(entry, "accept"), follow=True)

    assert "was changed by someone else since you opened it" in response.content.decode()
    assert story_at("alpha").title == "Corrected by a person"


def test_dismissing_all_open_conflicts_of_a_run_in_one_click(tmp_path, editor, moderator_client):
    for slug in ("alpha", "beta"):
        corrected(tmp_path / slug, editor, slug=slug)
    directory = tmp_path / "v2"
    directory.mkdir()
    paths = []
    for slug in ("alpha", "beta"):
        (directory / f"{slug}.md").write_text(story_file(slug, title=f"File {slug}", quality=60))
        paths.append(str(directory / f"{slug}.md"))
    run = import_stories(iter_story_sources(paths)).run

    response = moderator_client.post(
        reverse("admin:stories_importrun_conflicts", args=[run.pk, "dismiss"]), follow=True
    )

    assert "2 open conflicts dismissed." in response.content.decode()
    assert set(ImportRunStory.objects.filter(run=run).values_list("resolution", flat=True)) == {"dismissed"}
    assert set(Story.objects.values_list("title", flat=True)) == {"Corrected by a person"}
    assert AuditEntry.objects.filter(comment__startswith="Dismissed").count() == 2


def test_conflict_values_are_escaped(tmp_path, editor, moderator_client):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha")})
    workflow.update_editorial(story_at("alpha"), actor=editor, content={"title": "<script>alert(1)</script>"})
    run = reimport(tmp_path)

    page = moderator_client.get(run_page(run)).content.decode()

    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_run_page_queries_do_not_grow_with_its_conflicts(
    tmp_path, editor, moderator_client, django_assert_max_num_queries
):
    slugs = [f"story-{n}" for n in range(8)]
    for slug in slugs:
        corrected(tmp_path / slug, editor, slug=slug)
    directory = tmp_path / "v2"
    directory.mkdir()
    for slug in slugs:
        (directory / f"{slug}.md").write_text(story_file(slug, title=f"File {slug}", quality=60))
    run = import_stories(iter_story_sources([str(directory)])).run
    assert run.conflicts == 8

    with django_assert_max_num_queries(20):
        page = moderator_client.get(run_page(run)).content.decode()
    assert page.count('class="import-conflict"') == 16


def test_the_admin_previews_a_revert_and_confirming_carries_it_out(tmp_path, moderator_client):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old.")})
    run = run_import(
        tmp_path / "v2", {"a.md": story_file("alpha", excerpt="New."), "b.md": story_file("beta")}
    )
    revert = reverse("admin:stories_importrun_revert", args=[run.pk])
    assert revert in moderator_client.get(run_page(run)).content.decode()

    preview = moderator_client.get(revert).content.decode()

    assert "would: delete 1, restore 1, keep 0" in preview and "Nothing has changed yet" in preview
    assert f"#{story_at('beta').pk} Beta" in preview
    assert Story.objects.count() == 2
    response = moderator_client.post(revert, {"plan": plan_revert(run).fingerprint()})
    assert response.status_code == 302 and response.url == run_page(run)
    assert list(Story.objects.values_list("excerpt", flat=True)) == ["Old."]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.REVERTED


def test_a_revert_confirmed_after_the_plan_changed_shows_the_new_preview(tmp_path, editor, moderator_client):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})
    seen = plan_revert(run).fingerprint()
    workflow.update_editorial(story_at("alpha"), actor=editor, quality=5)

    response = moderator_client.post(reverse("admin:stories_importrun_revert", args=[run.pk]), {"plan": seen})

    assert response.status_code == 409
    page = response.content.decode()
    assert "changed since the preview" in page and "keep 1" in page
    assert Story.objects.count() == 1


def test_editors_may_not_preview_or_revert_a_run(tmp_path, editor_client):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})
    revert = reverse("admin:stories_importrun_revert", args=[run.pk])

    assert revert not in editor_client.get(run_page(run)).content.decode()
    assert editor_client.get(revert).status_code == 403
    assert editor_client.post(revert, {"plan": plan_revert(run).fingerprint()}).status_code == 403
    assert Story.objects.count() == 1
