"""``load_yaml``: other YAML the site reads (spreadsheets), under the story files' YAML rules."""

from __future__ import annotations

import datetime as dt

import pytest

from stories.storyfile import MAX_DEPTH, StoryFileError, load_yaml


def refusal(text: str, **options) -> StoryFileError:
    with pytest.raises(StoryFileError) as caught:
        load_yaml(text, **options)
    return caught.value


def test_a_list_of_mappings_reads_as_plain_values_in_file_order():
    text = "- {id: 3, title: A, published: true, quality: -2, heat: 1.5, at: 2021-03-04T05:06:07Z, x: null}\n"

    rows = load_yaml(text)

    assert rows == [
        {
            "id": 3,
            "title": "A",
            "published": True,
            "quality": -2,
            "heat": 1.5,
            "at": dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
            "x": None,
        }
    ]
    assert list(rows[0]) == ["id", "title", "published", "quality", "heat", "at", "x"]


def test_an_empty_document_is_none():
    assert load_yaml("") is None
    assert load_yaml("# nothing here\n") is None


def test_a_repeated_key_is_refused_naming_its_line_and_where_it_is():
    error = refusal("- {id: 1}\n- {id: 2, id: 3}\n")

    assert (error.line, error.field, error.message) == (2, "[1].id", "duplicate key")
    assert error.reason == "line 2, field '[1].id': duplicate key"


def test_a_tag_outside_the_core_schema_is_refused_where_it_is():
    error = refusal("- !!python/object:os.system {id: 1}\n")

    assert error.line == 1
    assert error.field == "[0]"
    assert error.message == "YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"


def test_a_core_tag_on_a_text_it_does_not_fit_is_refused_not_raised():
    error = refusal("- {quality: !!int ten}\n")

    assert error.reason == "line 1, field '[0].quality': 'ten' is not an integer"


def test_an_impossible_date_is_refused_with_the_calendar_s_reason():
    error = refusal("- {at: 2021-02-30T00:00:00Z}\n")

    assert error.field == "[0].at"
    assert "is not a valid date and time (day is out of range for month)" in error.message


def test_anchors_aliases_and_deep_nesting_are_refused():
    assert refusal("- &a {id: 1}\n- *a\n").message == "YAML anchors are not allowed ('&a')"
    deep = "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2)
    assert refusal(deep).message == f"YAML is nested too deeply (more than {MAX_DEPTH} levels)"


def test_lines_count_from_the_line_the_text_starts_on():
    assert refusal("- {id: 1, id: 2}\n", first_line=10).line == 10
    assert refusal("- {id: 1, id: 2}\n").line == 1
