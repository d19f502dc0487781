"""Spreadsheet round trip: export stories, import editorial changes back through the workflow."""

from __future__ import annotations

import html
import io
import json

import pytest
import tablib
import yaml
from django.urls import reverse
from import_export.formats.base_formats import CSV
from openpyxl import load_workbook

from stories.imports.spreadsheet import StoryResource
from stories.models import AuditEntry, ImportRun, State, Story
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def spreadsheet_dir(settings, tmp_path):
    directory = tmp_path / "spreadsheets"
    settings.NEWSROOM_SPREADSHEET_DIR = directory
    return directory


def export_csv(*stories: Story) -> tablib.Dataset:
    queryset = Story.objects.filter(pk__in=[s.pk for s in stories]).order_by("pk")
    text = StoryResource().export(queryset).csv
    return CSV().create_dataset(text)


def run_import(dataset: tablib.Dataset, user, *, dry_run: bool = False):
    return StoryResource().import_data(
        dataset, dry_run=dry_run, user=user, file_name="edits.csv", rollback_on_validation_errors=True
    )


def set_cell(dataset: tablib.Dataset, row: int, column: str, value) -> None:
    values = list(dataset[row])
    values[dataset.headers.index(column)] = value
    dataset[row] = values


def row_errors(result) -> list[str]:
    return [
        f"{name}: {message}"
        for row in result.invalid_rows
        for name, messages in row.error_dict.items()
        for message in messages
    ]


def test_export_has_identity_editorial_columns_and_version():
    ai, cv = make_topic("AI"), make_topic("Computer Vision")
    story = make_story(title="Chips", topics=[ai, cv], quality=70, heat=5, state=State.IN_REVIEW)
    row = dict(zip(*[export_csv(story).headers, export_csv(story)[0]], strict=True))
    assert row["id"] == str(story.pk)
    assert row["identity_key"] == story.identity_key
    assert row["title"] == "Chips"
    assert row["state"] == "in_review"
    assert row["published"] in {"False", "0"}
    assert row["topics"] == "AI; Computer Vision"
    assert row["version"] == str(story.version)


def test_import_changes_quality_heat_topics_and_state_through_the_workflow(moderator):
    ai = make_topic("AI")
    make_topic("Computer Vision")
    story = make_story(topics=[ai], quality=40, heat=1, state=State.IN_REVIEW)
    dataset = export_csv(story)
    set_cell(dataset, 0, "quality", "85")
    set_cell(dataset, 0, "heat", "12")
    set_cell(dataset, 0, "topics", "Computer Vision; AI")
    set_cell(dataset, 0, "state", "published")

    result = run_import(dataset, moderator)

    assert not result.has_errors() and not result.has_validation_errors(), row_errors(result)
    story.refresh_from_db()
    assert (story.quality, story.heat, story.state) == (85, 12, State.PUBLISHED)
    assert [st.topic.name for st in story.story_topics.all()] == ["Computer Vision", "AI"]
    assert set(story.editor_touched) >= {"quality", "heat", "topics", "published"}
    entries = AuditEntry.objects.filter(story=story, actor=moderator)
    assert {e.field for e in entries} == {"quality", "heat", "topics", "state"}
    run = ImportRun.objects.get(via=ImportRun.Via.SPREADSHEET)
    assert run.started_by == moderator and run.updated == 1
    assert list(run.stories.all()) == [story]
    assert all(e.import_run_id == run.pk for e in entries)


def test_dry_run_changes_nothing(moderator):
    story = make_story(quality=40, state=State.IN_REVIEW)
    dataset = export_csv(story)
    set_cell(dataset, 0, "quality", "99")

    result = run_import(dataset, moderator, dry_run=True)

    assert result.totals["update"] == 1
    story.refresh_from_db()
    assert story.quality == 40
    assert not AuditEntry.objects.exists()
    assert not ImportRun.objects.exists()


def test_editor_cannot_publish_through_a_spreadsheet_and_the_row_changes_nothing(editor):
    story = make_story(quality=40, state=State.IN_REVIEW)
    dataset = export_csv(story)
    set_cell(dataset, 0, "quality", "90")
    set_cell(dataset, 0, "published", "true")
    set_cell(dataset, 0, "state", "")

    result = run_import(dataset, editor)

    assert result.has_validation_errors()
    assert any("permission" in e.lower() and e.startswith("state") for e in row_errors(result))
    story.refresh_from_db()
    assert (story.state, story.quality) == (State.IN_REVIEW, 40)
    assert not AuditEntry.objects.filter(story=story).exists()


def test_editor_may_change_quality_and_topics(editor):
    make_topic("Cloud")
    story = make_story(quality=40, state=State.IN_REVIEW)
    dataset = export_csv(story)
    set_cell(dataset, 0, "quality", "66")
    set_cell(dataset, 0, "topics", "Cloud")

    result = run_import(dataset, editor)

    assert not result.has_validation_errors()
    story.refresh_from_db()
    assert story.quality == 66
    assert [st.topic.name for st in story.story_topics.all()] == ["Cloud"]
    assert {"quality", "topics"} <= set(story.editor_touched)


def test_a_stale_row_is_refused_and_the_file_imports_nothing(moderator):
    fresh = make_story(quality=10, state=State.IN_REVIEW)
    stale = make_story(quality=20, state=State.IN_REVIEW)
    dataset = export_csv(fresh, stale)
    set_cell(dataset, 0, "quality", "11")
    set_cell(dataset, 1, "quality", "21")
    # Someone else changes the second story after the export.
    from stories import workflow

    workflow.update_editorial(stale, actor=moderator, heat=99)

    result = run_import(dataset, moderator)

    errors = row_errors(result)
    assert len(errors) == 1 and errors[0].startswith("version") and "Stale row" in errors[0]
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert (fresh.quality, stale.quality, stale.heat) == (10, 20, 99)


def test_unknown_story_unknown_topic_and_bad_state_are_refused_per_row(moderator):
    story = make_story(state=State.IN_REVIEW)
    dataset = export_csv(story)
    dataset.append(list(dataset[0]))
    dataset.append(list(dataset[0]))
    set_cell(dataset, 0, "id", "999999")
    set_cell(dataset, 0, "identity_key", "")
    set_cell(dataset, 1, "topics", "No Such Topic")
    set_cell(dataset, 2, "state", "archived")

    result = run_import(dataset, moderator)

    errors = row_errors(result)
    assert any("No story with id 999999" in e for e in errors)
    assert any("Unknown topic: No Such Topic" in e for e in errors)
    assert any("Unknown state 'archived'" in e for e in errors)
    assert Story.objects.count() == 1


def test_non_editorial_columns_are_ignored(moderator):
    story = make_story(title="Original", quality=30, state=State.IN_REVIEW)
    dataset = export_csv(story)
    set_cell(dataset, 0, "title", "Changed in the sheet")
    set_cell(dataset, 0, "provider", "Someone Else")

    result = run_import(dataset, moderator)

    assert result.totals["skip"] == 1 and result.totals["update"] == 0
    story.refresh_from_db()
    assert story.title == "Original"
    assert story.version == 1


def test_import_without_version_column_is_refused(moderator):
    story = make_story(state=State.IN_REVIEW)
    dataset = export_csv(story)
    del dataset["version"]
    result = run_import(dataset, moderator)
    assert result.has_errors()
    assert "version column" in str(result.base_errors[0].error)


# --- through the Story admin ----------------------------------------------------------------


def _export(client, fmt_index: int, query: str = "", **post):
    url = reverse("admin:stories_story_export") + query
    columns = {f"storyresource_{name}": "on" for name in StoryResource().get_export_order()}
    return client.post(url, {"format": str(fmt_index), "resource": "0", **columns, **post})


FORMATS = {"csv": 0, "xlsx": 1, "json": 2, "yaml": 3}


@pytest.mark.parametrize("fmt", FORMATS)
def test_changelist_export_contains_only_the_filtered_rows(editor_client, fmt):
    wanted = make_story(title="Wanted story", state=State.IN_REVIEW, provider=make_provider(name="Alpha"))
    make_story(title="Other story", state=State.PUBLISHED)

    response = _export(editor_client, FORMATS[fmt], f"?state__exact={State.IN_REVIEW}")

    assert response.status_code == 200
    body = response.content
    if fmt == "csv":
        rows = list(CSV().create_dataset(body.decode()).dict)
    elif fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(body)).active
        header, *values = [list(r) for r in sheet.iter_rows(values_only=True)]
        rows = [dict(zip(header, v, strict=True)) for v in values]
    elif fmt == "json":
        rows = json.loads(body)
    else:
        rows = yaml.safe_load(body)
    assert [r["title"] for r in rows] == ["Wanted story"]
    assert str(rows[0]["id"]) == str(wanted.pk)


def test_export_action_exports_the_selection(editor_client):
    chosen = make_story(title="Chosen")
    make_story(title="Not chosen")
    response = _export(editor_client, FORMATS["json"], export_items=[str(chosen.pk)])
    assert [r["title"] for r in json.loads(response.content)] == ["Chosen"]


@pytest.mark.parametrize("odd", ["999999", "99999999999999999999999", "x1", "-1", "\u0663"])
def test_export_action_refuses_a_selection_naming_a_story_that_does_not_exist(editor_client, odd):
    chosen = make_story(title="Chosen")

    response = _export(editor_client, FORMATS["json"], export_items=[str(chosen.pk), odd])

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")  # the form again, nothing exported
    assert "Select a valid choice" in response.content.decode()


def _admin_import(client, dataset: tablib.Dataset):
    upload = io.BytesIO(dataset.csv.encode())
    upload.name = "edits.csv"
    preview = client.post(
        reverse("admin:stories_story_import"), {"format": "0", "resource": "0", "import_file": upload}
    )
    return preview


def test_admin_import_previews_then_confirms_through_the_workflow(moderator_client, moderator):
    story = make_story(quality=10, state=State.IN_REVIEW)
    dataset = export_csv(story)
    set_cell(dataset, 0, "quality", "77")

    preview = _admin_import(moderator_client, dataset)

    assert preview.status_code == 200
    confirm_form = preview.context["confirm_form"]
    assert confirm_form is not None
    story.refresh_from_db()
    assert story.quality == 10
    data = {name: confirm_form[name].value() for name in confirm_form.fields}
    response = moderator_client.post(reverse("admin:stories_story_process_import"), data)
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.quality == 77
    assert AuditEntry.objects.filter(story=story, field="quality", actor=moderator).exists()


def test_admin_import_refuses_at_confirm_when_a_row_went_stale(moderator_client, moderator):
    from stories import workflow

    first = make_story(quality=10, state=State.IN_REVIEW)
    second = make_story(quality=20, state=State.IN_REVIEW)
    dataset = export_csv(first, second)
    set_cell(dataset, 0, "quality", "11")
    set_cell(dataset, 1, "quality", "21")
    preview = _admin_import(moderator_client, dataset)
    confirm_form = preview.context["confirm_form"]
    workflow.update_editorial(second, actor=moderator, heat=3)

    data = {name: confirm_form[name].value() for name in confirm_form.fields}
    response = moderator_client.post(reverse("admin:stories_story_process_import"), data)

    assert response.status_code == 200
    assert b"Nothing was imported" in response.content
    assert b"Stale row" in response.content
    first.refresh_from_db()
    assert first.quality == 10


def test_staff_without_change_permission_cannot_import(client, staff_without_roles):
    client.force_login(staff_without_roles)
    response = client.get(reverse("admin:stories_story_import"))
    assert response.status_code == 403


def test_export_query_count_does_not_grow_with_rows(editor_client, django_assert_max_num_queries):
    topics = [make_topic("AI"), make_topic("Cloud")]
    for _ in range(3):
        make_story(topics=topics)
    with django_assert_max_num_queries(20) as small:
        _export(editor_client, FORMATS["csv"])
    for _ in range(20):
        make_story(topics=topics)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = _export(editor_client, FORMATS["csv"])
    assert len(CSV().create_dataset(response.content.decode())) == 23


def test_changelist_export_link_keeps_the_current_filter(editor_client):
    make_story(state=State.IN_REVIEW)
    response = editor_client.get(reverse("admin:stories_story_changelist") + "?state__exact=in_review")
    content = html.unescape(response.content.decode())
    assert reverse("admin:stories_story_export") + "?state__exact=in_review" in content
    assert reverse("admin:stories_story_import") in content
    assert reverse("admin:stories_importrun_upload") in content


@pytest.mark.parametrize("fmt", ["CSV", "XLSX", "JSON", "YAML"])
def test_round_trip_in_every_format_changes_only_what_was_edited(moderator, fmt):
    from import_export.formats import base_formats

    make_topic("Cloud")
    story = make_story(quality=30, heat=2, state=State.IN_REVIEW)
    untouched = make_story(quality=60, state=State.PUBLISHED)
    file_format = getattr(base_formats, fmt)()
    queryset = Story.objects.filter(pk__in=[story.pk, untouched.pk]).order_by("pk")
    exported = file_format.export_data(StoryResource().export(queryset))
    dataset = file_format.create_dataset(exported)
    set_cell(dataset, 0, "quality", 31)
    set_cell(dataset, 0, "topics", "Cloud")

    result = run_import(dataset, moderator)

    assert not result.has_errors() and not result.has_validation_errors(), row_errors(result)
    assert (result.totals["update"], result.totals["skip"]) == (1, 1)
    story.refresh_from_db()
    untouched.refresh_from_db()
    assert story.quality == 31 and [st.topic.name for st in story.story_topics.all()] == ["Cloud"]
    assert (untouched.quality, untouched.state, untouched.version) == (60, State.PUBLISHED, 1)


def test_an_old_row_that_changes_nothing_is_skipped_not_refused(moderator):
    from stories import workflow

    story = make_story(quality=10, state=State.IN_REVIEW)
    dataset = export_csv(story)
    workflow.update_editorial(story, actor=moderator, heat=7)  # the row is now one version behind
    set_cell(dataset, 0, "heat", "7")

    result = run_import(dataset, moderator)

    assert not result.has_validation_errors(), row_errors(result)
    assert result.totals["skip"] == 1


def test_reject_through_a_spreadsheet_needs_the_comment_column(moderator):
    story = make_story(state=State.IN_REVIEW)
    dataset = export_csv(story)
    set_cell(dataset, 0, "state", "rejected")

    refused = run_import(dataset, moderator)
    assert any(e.startswith("state") and "needs a reason" in e for e in row_errors(refused))

    dataset.append_col(["Duplicate of another story"], header="comment")
    result = run_import(dataset, moderator)
    assert not result.has_validation_errors(), row_errors(result)
    story.refresh_from_db()
    assert (story.state, story.state_comment) == (State.REJECTED, "Duplicate of another story")
