"""Spreadsheet files are untrusted both ways: formula injection, limits, the file kept before confirm."""

from __future__ import annotations

import html
import io
import json
import os
import tempfile
import time
import zipfile

import pytest
import tablib
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from stories.admin.spreadsheet import SPREADSHEET_FORMATS
from stories.imports.spreadsheet import StoryResource
from stories.imports.spreadsheet_files import (
    FORMULA_TRIGGERS,
    SafeCSV,
    SpreadsheetLimits,
    SpreadsheetRefused,
    escape_formula,
    unescape_formula,
)
from stories.models import AuditEntry, ImportRun, State, Story
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

FORMATS = {"csv": 0, "xlsx": 1, "json": 2, "yaml": 3}
TEXT_COLUMNS = ("title", "provider", "type", "topics")


@pytest.fixture(autouse=True)
def spreadsheet_dir(settings, tmp_path):
    directory = tmp_path / "spreadsheets"
    settings.NEWSROOM_SPREADSHEET_DIR = directory
    return directory


def kept(directory) -> list:
    return sorted(directory.iterdir()) if directory.exists() else []


def export(client, fmt: str) -> bytes:
    columns = {f"storyresource_{name}": "on" for name in StoryResource().get_export_order()}
    response = client.post(
        reverse("admin:stories_story_export"), {"format": str(FORMATS[fmt]), "resource": "0", **columns}
    )
    assert response.status_code == 200
    return response.content


def preview(client, data: bytes, fmt: str, name: str | None = None):
    upload = SimpleUploadedFile(name or f"stories.{fmt}", data)
    # The form's field order: the CSRF token and resource come before the file, the format after.
    data = {"resource": "0", "import_file": upload, "format": str(FORMATS[fmt])}
    return client.post(reverse("admin:stories_story_import"), data)


def confirm(client, response):
    form = response.context["confirm_form"]
    assert form is not None, html.unescape(response.content.decode())[-3000:]
    data = {n: form[n].value() for n in form.fields}
    return client.post(reverse("admin:stories_story_process_import"), data)


def form_errors(response) -> str:
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def hostile_story() -> Story:
    topics = [make_topic(name) for name in ("=1+2", "+Politics", "-Minus", "@handle", "Plain")]
    provider = make_provider(name="=HYPERLINK(\"http://evil.example\",\"x\")")
    return make_story(
        title="@SUM(1+1)*cmd|' /C calc'!A0", provider=provider, type="-2+3", topics=topics,
        state=State.IN_REVIEW, quality=-5,
    )


# --- formula injection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-x", "'-x"), ("@SUM(1)", "'@SUM(1)"), ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"), ("\uff1dFULLWIDTH", "'\uff1dFULLWIDTH"), ("'quoted", "''quoted"),
        ("Plain", "Plain"), ("-5", "-5"), ("+1.5e3", "+1.5e3"), ("", ""), ("a=b", "a=b"),
    ],
)
def test_formula_escaping_is_reversible(value, escaped):
    assert escape_formula(value) == escaped
    assert unescape_formula(escape_formula(value)) == value


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_writes_no_cell_a_spreadsheet_would_run(editor_client, fmt):
    hostile_story()

    body = export(editor_client, fmt)

    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(body)).active
        values = [cell.value for row in sheet.iter_rows() for cell in row]
    elif fmt == "csv":
        values = [v for row in SafeCSV().create_dataset(body.decode()) for v in row]
    elif fmt == "json":
        values = [v for row in json.loads(body) for v in row.values()]
    else:
        values = [v for row in yaml.safe_load(body) for v in row.values()]
    texts = [v for v in values if isinstance(v, str)]
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in texts
    assert not [v for v in texts if v.startswith(FORMULA_TRIGGERS) and v != "-5"]


def test_xlsx_export_holds_text_cells_never_formulas(editor_client):
    hostile_story()
    make_story(title="#N/A", state=State.IN_REVIEW)

    sheet = load_workbook(io.BytesIO(export(editor_client, "xlsx"))).active

    types = {(cell.value if cell.data_type != "n" else "number", cell.data_type) for row in sheet.iter_rows()
             for cell in row if cell.value is not None}
    assert {data_type for _, data_type in types} <= {"s", "n", "b", "d"}
    assert ("#N/A", "s") in types
    titles = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in titles


@pytest.mark.parametrize("fmt", FORMATS)
def test_reading_our_own_export_gives_back_every_value(editor_client, fmt):
    story = hostile_story()
    file_format = SPREADSHEET_FORMATS[FORMATS[fmt]](encoding="utf-8-sig")

    dataset = file_format.create_dataset(export(editor_client, fmt))

    row = {name: unescape_formula(value) for name, value in zip(dataset.headers, dataset[0], strict=True)}
    assert row["title"] == story.title
    assert row["provider"] == story.provider.name
    assert row["type"] == story.type
    assert row["topics"] == "=1+2; +Politics; -Minus; @handle; Plain"
    assert int(row["quality"]) == -5


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_reimporting_our_own_export_changes_nothing(moderator_client, fmt):
    story = hostile_story()
    before = [st.topic.name for st in story.story_topics.all()]

    response = confirm(moderator_client, preview(moderator_client, export(moderator_client, fmt), fmt))

    assert response.status_code == 302
    story.refresh_from_db()
    assert [st.topic.name for st in story.story_topics.all()] == before
    assert (story.version, story.quality) == (1, -5)
    assert not AuditEntry.objects.filter(story=story).exists()
    assert ImportRun.objects.get(via=ImportRun.Via.SPREADSHEET).unchanged == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_edit_in_our_own_export_keeps_the_escaped_topics(moderator_client, fmt):
    story = hostile_story()
    file_format = SPREADSHEET_FORMATS[FORMATS[fmt]](encoding="utf-8-sig")
    dataset = file_format.create_dataset(export(moderator_client, fmt))
    values = list(dataset[0])
    values[dataset.headers.index("quality")] = 90
    dataset[0] = values
    edited = file_format.export_data(dataset)
    edited = edited if isinstance(edited, bytes) else edited.encode()

    response = confirm(moderator_client, preview(moderator_client, edited, fmt))

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.quality == 90
    topics = [st.topic.name for st in story.story_topics.all()]
    assert topics == ["=1+2", "+Politics", "-Minus", "@handle", "Plain"]


def test_xlsx_export_of_control_characters_does_not_fail(editor_client):
    make_story(title="Bell \x07 in a title", state=State.IN_REVIEW)
    sheet = load_workbook(io.BytesIO(export(editor_client, "xlsx"))).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Bell \ufffd in a title"]


# --- values out of range ---------------------------------------------------------------------


def csv_of(*rows: dict) -> bytes:
    dataset = tablib.Dataset(headers=list(rows[0]))
    for row in rows:
        dataset.append(list(row.values()))
    return dataset.csv.encode()


def run_import(data: bytes, user):
    dataset = SafeCSV(encoding="utf-8-sig").create_dataset(data)
    return StoryResource().import_data(
        dataset, dry_run=False, user=user, file_name="edits.csv", rollback_on_validation_errors=True
    )


def row_errors(result) -> list[str]:
    return [f"{name}: {m}" for row in result.invalid_rows for name, ms in row.error_dict.items() for m in ms]


@pytest.mark.parametrize(
    "value", ["1e12", "1000001", "-1000001", "2147483648", "inf", "nan", "1e400", "2.5", "true"]
)
def test_quality_the_column_cannot_hold_is_refused_with_a_row_message(moderator, value):
    story = make_story(quality=10, state=State.IN_REVIEW)

    result = run_import(csv_of({"id": story.pk, "quality": value, "version": story.version}), moderator)

    assert row_errors(result) == [
        f"quality: Quality must be a whole number from -1,000,000 to 1,000,000, not {value!r}."
    ]
    story.refresh_from_db()
    assert story.quality == 10


def test_quality_at_the_edges_of_the_range_is_accepted(moderator):
    low, high = make_story(state=State.IN_REVIEW), make_story(state=State.IN_REVIEW)
    result = run_import(
        csv_of(
            {"id": low.pk, "quality": "-1000000", "version": 1},
            {"id": high.pk, "quality": "1000000.0", "version": 1},
        ),
        moderator,
    )
    assert not row_errors(result)
    low.refresh_from_db()
    high.refresh_from_db()
    assert (low.quality, high.quality) == (-1_000_000, 1_000_000)


@pytest.mark.parametrize(("column", "value"), [("id", "1e30"), ("id", "1e400"), ("version", "1e400")])
def test_ids_and_versions_out_of_range_are_refused_not_a_crash(moderator, column, value):
    story = make_story(state=State.IN_REVIEW)
    row = {"id": story.pk, "quality": 1, "version": story.version}
    row[column] = value

    result = run_import(csv_of(row), moderator)

    assert not result.has_errors()
    assert any(e.startswith(f"{column}: Not a") and value in e for e in row_errors(result))


# --- limits ----------------------------------------------------------------------------------


def workbook(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def rows_as(fmt: str, count: int) -> bytes:
    rows = [{"id": n, "quality": 1, "version": 1} for n in range(1, count + 1)]
    if fmt == "csv":
        return csv_of(*rows)
    if fmt == "xlsx":
        return workbook([list(rows[0])] + [list(r.values()) for r in rows])
    if fmt == "json":
        return json.dumps(rows).encode()
    return yaml.safe_dump(rows).encode()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_over_the_row_limit_is_refused_before_it_is_kept(
    editor_client, settings, spreadsheet_dir, fmt
):
    settings.NEWSROOM_SPREADSHEET_MAX_ROWS = 5

    response = preview(editor_client, rows_as(fmt, 6), fmt)

    assert response.status_code == 200
    assert "The file has more than 5 rows" in form_errors(response)
    assert kept(spreadsheet_dir) == []
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_at_the_row_limit_is_previewed(editor_client, settings, fmt):
    settings.NEWSROOM_SPREADSHEET_MAX_ROWS = 5
    stories = [make_story(state=State.IN_REVIEW) for _ in range(5)]
    rows = [{"id": s.pk, "quality": 1, "version": 1} for s in stories]
    data = {"csv": csv_of(*rows), "json": json.dumps(rows).encode(), "yaml": yaml.safe_dump(rows).encode(),
            "xlsx": workbook([list(rows[0])] + [list(r.values()) for r in rows])}[fmt]

    response = preview(editor_client, data, fmt)

    assert response.context["confirm_form"] is not None, form_errors(response)
    assert response.context["result"].totals["update"] == 5


def test_a_file_over_the_size_limit_is_refused_while_it_streams_in(editor_client, settings, spreadsheet_dir):
    settings.NEWSROOM_SPREADSHEET_MAX_BYTES = 1000

    response = preview(editor_client, rows_as("csv", 200), "csv")

    assert response.status_code == 200
    refusal = "The upload is too large: at most 1000 bytes in total. Nothing was stored."
    assert refusal in form_errors(response)
    assert kept(spreadsheet_dir) == []


def test_an_xlsx_file_that_unpacks_over_the_size_limit_is_refused(editor_client, settings, spreadsheet_dir):
    settings.NEWSROOM_SPREADSHEET_MAX_BYTES = 200_000
    data = workbook([["id", "comment"]] + [[n, "x" * 1000] for n in range(1, 300)])
    assert len(data) < 200_000

    response = preview(editor_client, data, "xlsx")

    assert "The XLSX file unpacks to" in form_errors(response)
    assert kept(spreadsheet_dir) == []


class CountedUpload(TemporaryUploadedFile):
    """An upload streamed to disk, as Django keeps large ones, that remembers how much of it was read."""

    read_bytes = 0

    def chunks(self, chunk_size=None):
        for chunk in super().chunks(chunk_size):
            self.read_bytes += len(chunk)
            yield chunk


def test_checking_a_csv_stops_reading_at_the_row_limit():
    data = b"id,quality,version\n" + b"1,2,3\n" * 2_000_000
    upload = CountedUpload("big.csv", "text/csv", len(data), None)
    upload.write(data)
    upload.seek(0)
    limits = SpreadsheetLimits(max_bytes=100 * 1024 * 1024, max_rows=10, ttl_seconds=60)

    with pytest.raises(SpreadsheetRefused, match="more than 10 rows"):
        SafeCSV(encoding="utf-8-sig").check(upload, limits)

    assert upload.read_bytes <= 2 * 64 * 1024 < upload.size
    upload.close()


def test_a_file_with_too_many_columns_is_refused(editor_client, spreadsheet_dir):
    data = ",".join(f"c{n}" for n in range(101)).encode() + b"\n" + b"1," * 100 + b"1\n"
    response = preview(editor_client, data, "csv")
    assert "The file has more than 100 columns." in form_errors(response)
    assert kept(spreadsheet_dir) == []


def test_a_value_in_a_column_without_a_name_is_refused(editor_client, spreadsheet_dir):
    response = preview(editor_client, b"id,quality,version\n1,2,3,surprise\n", "csv")
    assert "Row 1 has a value in a column without a name." in form_errors(response)


def test_a_value_too_long_for_an_xlsx_cell_is_refused_with_a_reason(editor_client):
    dataset = tablib.Dataset(["x" * 40_000], headers=["title"])
    with pytest.raises(ValueError, match="does not fit in an XLSX cell"):
        SPREADSHEET_FORMATS[FORMATS["xlsx"]]().export_data(dataset)


def test_yaml_anchors_and_aliases_are_refused(editor_client, spreadsheet_dir):
    bomb = b"- {id: 1, quality: 1, version: 1}\n- &a {id: 2, quality: 1, version: 1}\n- *a\n"
    response = preview(editor_client, bomb, "yaml")
    why = "The YAML file cannot be read: line 2: YAML anchors are not allowed ('&a')."
    assert why in form_errors(response)
    assert kept(spreadsheet_dir) == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            b"- !!python/object:os.system {id: 1}\n",
            "line 1, field '[0]': YAML tag 'tag:yaml.org,2002:python/object",
        ),
        (b"- {id: 1, id: 2, version: 1}\n", "line 1, field '[0].id': duplicate key"),
        (b"- " + b"[" * 40 + b"]" * 40 + b"\n", "YAML is nested too deeply"),
    ],
)
def test_yaml_spreadsheets_follow_the_story_files_yaml_rules(editor_client, spreadsheet_dir, text, why):
    response = preview(editor_client, text, "yaml")
    assert why in form_errors(response)
    assert kept(spreadsheet_dir) == []


def test_json_rows_with_their_keys_in_another_order_keep_their_values(moderator):
    story = make_story(quality=10, heat=1, state=State.IN_REVIEW)
    data = json.dumps([{"id": story.pk, "quality": 20, "heat": 2, "version": 1},
                       {"version": 1, "heat": 3, "quality": 30, "id": make_story(state=State.IN_REVIEW).pk}])

    dataset = SPREADSHEET_FORMATS[FORMATS["json"]](encoding="utf-8-sig").create_dataset(data)

    assert dataset.dict[1]["heat"] == 3 and dataset.dict[1]["quality"] == 30


# --- the file between preview and confirm ----------------------------------------------------


def test_confirm_refuses_a_path_instead_of_a_stored_name(moderator_client, spreadsheet_dir, tmp_path):
    victims = []
    for directory in (tempfile.gettempdir(), tmp_path):
        handle, victim = tempfile.mkstemp(dir=directory, suffix=".csv")
        os.write(handle, b"id,version\n1,1\n")
        os.close(handle)
        victims.append(victim)
    story = make_story(quality=10, state=State.IN_REVIEW)
    try:
        for victim in victims:
            for name in (os.path.relpath(victim, spreadsheet_dir), os.path.basename(victim), victim):
                response = moderator_client.post(
                    reverse("admin:stories_story_process_import"),
                    {"import_file_name": name, "original_file_name": "x.csv", "format": "0", "resource": "0"},
                    follow=True,
                )
                assert response.redirect_chain[-1][0] == reverse("admin:stories_story_import")
                assert "This import has expired or is unknown" in html.unescape(response.content.decode())
            assert os.path.exists(victim)
    finally:
        for victim in victims:
            os.unlink(victim)
    assert not ImportRun.objects.exists()
    story.refresh_from_db()
    assert story.version == 1


def test_a_preview_is_kept_privately_and_confirmed_only_by_its_user(
    editor_client, moderator, spreadsheet_dir, settings
):
    story = make_story(quality=10, state=State.IN_REVIEW)
    response = preview(editor_client, csv_of({"id": story.pk, "quality": 11, "version": 1}), "csv")
    [stored] = kept(spreadsheet_dir)
    assert stored.stat().st_mode & 0o777 == 0o600
    assert spreadsheet_dir.stat().st_mode & 0o777 == 0o700
    assert not str(stored).startswith((str(settings.MEDIA_ROOT), str(settings.STATIC_ROOT)))
    form = response.context["confirm_form"]
    data = {n: form[n].value() for n in form.fields}

    other = Client()
    other.force_login(moderator)
    refused = other.post(reverse("admin:stories_story_process_import"), data)
    assert refused.status_code == 302 and refused.url == reverse("admin:stories_story_import")
    story.refresh_from_db()
    assert story.quality == 10

    accepted = editor_client.post(reverse("admin:stories_story_process_import"), data)
    assert accepted.status_code == 302
    story.refresh_from_db()
    assert story.quality == 11
    assert kept(spreadsheet_dir) == []


def test_previews_never_confirmed_expire(editor_client, settings, spreadsheet_dir):
    story = make_story(quality=10, state=State.IN_REVIEW)
    data = csv_of({"id": story.pk, "quality": 11, "version": 1})
    first = preview(editor_client, data, "csv")
    [left] = kept(spreadsheet_dir)
    an_hour_ago = time.time() - settings.NEWSROOM_UPLOAD_TTL_SECONDS - 1
    os.utime(left, (an_hour_ago, an_hour_ago))

    preview(editor_client, data, "csv")

    assert left not in kept(spreadsheet_dir) and len(kept(spreadsheet_dir)) == 1
    form = first.context["confirm_form"]
    response = editor_client.post(
        reverse("admin:stories_story_process_import"), {n: form[n].value() for n in form.fields}, follow=True
    )
    assert "This import has expired or is unknown" in html.unescape(response.content.decode())
    story.refresh_from_db()
    assert story.quality == 10


def test_a_confirm_after_the_time_to_live_is_refused(editor_client, settings, spreadsheet_dir):
    story = make_story(quality=10, state=State.IN_REVIEW)
    response = preview(editor_client, csv_of({"id": story.pk, "quality": 11, "version": 1}), "csv")
    form = response.context["confirm_form"]
    settings.NEWSROOM_UPLOAD_TTL_SECONDS = -1

    refused = editor_client.post(
        reverse("admin:stories_story_process_import"), {n: form[n].value() for n in form.fields}
    )

    assert refused.status_code == 302 and refused.url == reverse("admin:stories_story_import")
    story.refresh_from_db()
    assert story.quality == 10


def test_an_xlsx_that_is_not_a_workbook_is_refused(editor_client, spreadsheet_dir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    response = preview(editor_client, buffer.getvalue(), "xlsx")
    assert "The XLSX file cannot be read" in form_errors(response)
    assert kept(spreadsheet_dir) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_django_kept_on_disk_is_checked_and_previewed(editor_client, settings, fmt):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload goes to a temporary file
    settings.NEWSROOM_SPREADSHEET_MAX_ROWS = 3
    refused = preview(editor_client, rows_as(fmt, 4), fmt)
    assert "The file has more than 3 rows" in form_errors(refused)

    story = make_story(quality=10, state=State.IN_REVIEW)
    rows = [{"id": story.pk, "quality": 12, "version": 1}]
    data = {"csv": csv_of(*rows), "json": json.dumps(rows).encode(), "yaml": yaml.safe_dump(rows).encode(),
            "xlsx": workbook([list(rows[0]), list(rows[0].values())])}[fmt]
    confirm(editor_client, preview(editor_client, data, fmt))
    story.refresh_from_db()
    assert story.quality == 12


def test_the_import_post_needs_a_csrf_token(editor, spreadsheet_dir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = preview(client, rows_as("csv", 1), "csv")
    assert response.status_code == 403
    assert kept(spreadsheet_dir) == []
