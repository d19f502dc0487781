"""The story file format: parsing, validation, lossless dump, identity."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from stories.storyfile import (
    StoryFileError,
    StoryRecord,
    dump_story,
    identity_key_for,
    normalise_url,
    parse_story,
    record_from_json,
    record_to_json,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SAMPLE = SEEDS / "sample" / "000_90f718ba4762bd6a.txt"


def story_text(*, nl: str = "\n", **overrides: str | None) -> str:
    """A minimal valid story file; ``overrides`` replace (or with None drop) top-level lines."""
    lines = {
        "category": "news",
        "title": '"A title"',
        "excerpt": '"An excerpt."',
        "publishedDateTime": "2021-03-04T05:06:07Z",
        "webUrl": '"https://example.com/a"',
        "type": "article",
        "quality": "10",
        "heat": "11",
        "published": "true",
        "provider": "\n  name: Example\n  domain: example.com",
        "topics": "\n  - AI",
        "secured": '"opaque"',
    }
    for key, value in overrides.items():
        lines[key] = value
    body = "\n".join(
        f"{k}: {v}" if not v.startswith("\n") else f"{k}:{v}" for k, v in lines.items() if v is not None
    )
    return ("---\n" + body + "\n---\n").replace("\n", nl)


def parse(text: str, **kwargs) -> StoryRecord:
    return parse_story(text.encode("utf-8"), path="x.md", **kwargs)


def error_for(text: str | bytes, **kwargs) -> StoryFileError:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    with pytest.raises(StoryFileError) as info:
        parse_story(data, path="bad.md", **kwargs)
    return info.value


# --- parsing into typed records


def test_sample_parses_into_typed_records():
    record = parse_story(SAMPLE.read_bytes())

    assert record.title == "Amazon pauses police use of its facial recognition software for year"
    assert record.published_at == dt.datetime(2020, 6, 10, 23, 46, tzinfo=dt.UTC)
    assert (record.quality, record.heat, record.published) == (61, -1, False)
    assert (record.provider.name, record.provider.domain) == ("CBS News", "cbsnews.com")
    assert record.topics == ("Computer Vision", "AI", "AWS AI")
    assert record.images[0].width == 1200 and record.images[0].is_cached is True
    assert len(record.related) == 28
    assert record.related[0].provider.domain == "techcrunch.com"
    assert record.related[0].quality == 91


def test_sample_dumps_back_byte_for_byte():
    data = SAMPLE.read_bytes()

    assert dump_story(parse_story(data)).encode("utf-8") == data


def test_crlf_file_keeps_its_line_endings():
    text = story_text(nl="\r\n") + "\r\n"
    record = parse(text)

    assert record.newline == "\r\n"
    assert dump_story(record) == text


def test_body_after_front_matter_is_kept():
    text = story_text() + "\nSome body text.\n"

    assert parse(text).body == "\nSome body text.\n"
    assert dump_story(parse(text)) == text


def test_absent_null_and_value_stay_distinct():
    absent = parse(story_text())
    null = parse(story_text(ampWebUrl="null"))
    valued = parse(story_text(ampWebUrl='"https://example.com/amp"'))

    assert not absent.has("ampWebUrl")
    assert null.has("ampWebUrl") and null.amp_web_url is None
    assert valued.amp_web_url == "https://example.com/amp"
    for record in (absent, null, valued):
        assert parse(dump_story(record)) == record
    assert "ampWebUrl: null" in dump_story(null)


def test_unknown_keys_are_kept_in_order():
    text = story_text(secured=None) + ""
    text = text.replace("---\n", "", 1)
    text = '---\nzeta: "last?"\n' + text.replace(
        "\n---\n", '\nnested:\n  b: 2\n  a: [1, two]\nsecured: "s"\n---\n'
    )
    record = parse(text)

    assert record.keys[0] == "zeta" and record.keys[-2:] == ("nested", "secured")
    assert list(record.extra) == ["zeta", "nested"]
    assert list(record.extra["nested"]) == ["b", "a"]
    again = parse(dump_story(record))
    assert again == record and list(again.extra["nested"]) == ["b", "a"]


def test_quoted_iso_date_is_accepted_and_stays_quoted():
    record = parse(story_text(publishedDateTime='"2021-03-04T05:06:07-07:00"'))

    assert record.published_at == dt.datetime(2021, 3, 4, 12, 6, 7, tzinfo=dt.UTC)
    assert record.published_at.utcoffset() == dt.timedelta(hours=-7)
    assert 'publishedDateTime: "2021-03-04T05:06:07-07:00"' in dump_story(record)


def test_unquoted_title_keeps_its_plain_style():
    record = parse(story_text(title="Plain title"))

    assert "title: Plain title\n" in dump_story(record)


def test_strings_with_escapes_and_unicode_round_trip():
    record = parse(story_text(excerpt=r'"Line one\nline \"two\"\r\n – ™ café\u200b"'))

    assert record.excerpt == 'Line one\nline "two"\r\n – ™ café\u200b'
    assert parse(dump_story(record)) == record


def test_plain_provider_name_that_looks_like_a_bool_is_quoted_on_dump():
    record = parse(story_text(provider='\n  name: "yes"\n  domain: example.com'))

    assert record.provider.name == "yes"
    assert parse(dump_story(record)).provider.name == "yes"


def test_records_survive_json_for_storage():
    record = parse_story(SAMPLE.read_bytes())

    assert record_from_json(record_to_json(record)) == record


# --- identity


def test_identity_is_the_normalised_web_url():
    record = parse(story_text(webUrl='"HTTPS://Example.COM/Path?q=1#frag"'))

    assert normalise_url("HTTPS://Example.COM/Path?q=1#frag") == "https://example.com/Path?q=1"
    assert identity_key_for(record) == hashlib.sha256(b"https://example.com/Path?q=1").hexdigest()


def test_video_without_web_url_is_identified_by_original_url():
    video = parse(story_text(webUrl=None, originalUrl='"https://youtube.com/watch?v=abc"', type="video"))

    assert identity_key_for(video) == hashlib.sha256(b"https://youtube.com/watch?v=abc").hexdigest()


def test_secured_and_title_do_not_change_identity():
    one = parse(story_text(secured='"one"', title='"One"'))
    two = parse(story_text(secured='"two"', title='"Two"'))

    assert identity_key_for(one) == identity_key_for(two)


# --- refusals


def test_malformed_yaml_names_the_line():
    error = error_for(story_text(excerpt='"unterminated'))

    assert "malformed YAML" in error.reason
    assert error.line is not None


def test_missing_front_matter_is_refused():
    assert "no front matter" in error_for("just some text\n").reason


def test_unterminated_front_matter_is_refused():
    assert "not terminated" in error_for(story_text().rsplit("---", 1)[0]).reason


def test_wrong_type_names_field_and_line():
    error = error_for(story_text(quality='"high"'))

    assert error.field == "quality"
    assert error.line == 8
    assert "must be an integer" in error.reason


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("published", '"yes"', "must be true or false"),
        ("title", "42", "must be a string"),
        ("publishedDateTime", "2021-03-04", "time zone"),
        ("publishedDateTime", "2021-03-04 05:06:07", "time zone"),
        ("topics", '"AI"', "must be a list"),
        ("provider", '"Example"', "must be a mapping"),
    ],
)
def test_wrong_types_are_refused_with_the_field(key, value, message):
    error = error_for(story_text(**{key: value}))

    assert error.field == key
    assert message in error.reason


def test_image_width_must_be_a_whole_number():
    text = story_text(images='\n  - url: "https://img.example/a.jpg"\n    width: wide\n    height: 10')

    error = error_for(text)
    assert error.field == "images[0].width"


def test_missing_identity_url_is_refused():
    error = error_for(story_text(webUrl=None))

    assert error.field == "webUrl"
    assert "identified" in error.reason


def test_missing_title_and_provider_are_refused():
    assert error_for(story_text(title=None)).field == "title"
    assert error_for(story_text(provider=None)).field == "provider"
    assert error_for(story_text(provider="\n  name: Example")).field == "provider.domain"


def test_python_tags_are_refused():
    error = error_for(story_text(title="!!python/object/apply:os.system ['echo hi']"))

    assert "tag" in error.reason and "python" in error.reason


def test_other_explicit_tags_are_refused():
    assert "tag" in error_for(story_text(title='!!binary "aGk="')).reason


def test_alias_bomb_is_refused_before_expansion():
    bomb = (
        '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        'title: "x"\n---\n'
    )

    error = error_for(bomb)
    assert "anchors" in error.reason or "aliases" in error.reason
    assert error.line == 2


def test_html_entities_in_strings_are_not_mistaken_for_anchors():
    record = parse(story_text(title='"Q &amp; A *now* &nbsp;"'))

    assert record.title == "Q &amp; A *now* &nbsp;"


def test_file_over_the_size_limit_is_refused_before_parsing():
    text = story_text(excerpt='"' + "x" * 2000 + '"')

    error = error_for(text, max_bytes=1000)
    assert "over the limit of 1,000 bytes" in error.reason


def test_size_limit_comes_from_settings(settings):
    settings.NEWSROOM_MAX_STORY_FILE_BYTES = 100

    assert "over the limit" in error_for(story_text()).reason


def test_invalid_utf8_is_refused():
    data = story_text(title='"caf\udce9"').encode("utf-8", "surrogateescape")

    assert "not valid UTF-8" in error_for(data).reason


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("webUrl", "javascript:alert(1)"),
        ("originalUrl", "data:text/html,hi"),
        ("ampWebUrl", " javascript:alert(1)"),
        ("webUrl", "ftp://example.com/a"),
    ],
)
def test_unsafe_url_schemes_are_refused_with_the_field(key, url):
    error = error_for(story_text(**{key: f'"{url}"'}))

    assert error.field == key
    assert "only http and https" in error.reason


def test_unsafe_url_inside_related_and_images_names_the_path():
    related = (
        '\n  - title: "R"\n    webUrl: "https://ok.example/r"\n    provider:\n      name: R\n'
        '      domain: ok.example\n    images:\n      - url: "javascript:alert(1)"'
    )

    assert error_for(story_text(related=related)).field == "related[0].images[0].url"


def test_unknown_url_keys_must_be_http_too():
    assert error_for(story_text(canonicalUrl='"javascript:alert(1)"')).field == "canonicalUrl"


def test_duplicate_keys_are_refused():
    text = story_text().replace("type: article", "type: article\ntype: video")

    assert error_for(text).field == "type"


def test_error_message_carries_the_path():
    error = error_for(story_text(quality='"high"'))

    assert str(error).startswith("bad.md: line 8, field 'quality': ")


@pytest.mark.parametrize(
    "nesting",
    [
        "[" * 100_000 + "]" * 100_000,  # the C composer would crash the process at this depth
        "\n  " + "- " * 300_000 + "x",
        "\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 40)) + " " * 40 + "x",
    ],
    ids=["flow", "compact-sequences", "indentation"],
)
def test_deep_nesting_is_refused_without_crashing(nesting):
    text = story_text(secured=None).replace("---\n", "", 1).rsplit("---", 1)[0]
    data = f"---\n{text}nest: {nesting}\n---\n".encode()

    error = error_for(data, max_bytes=10_000_000)

    assert "nested too deeply" in error.reason


def test_impossible_date_is_refused_with_the_field():
    error = error_for(story_text(publishedDateTime="2021-02-30T00:00:00Z"))

    assert error.field == "publishedDateTime"
    assert "is not a valid date and time (day is out of range for month)" in error.reason


@pytest.mark.parametrize(
    ("escape", "message"), [(r"\0", "cannot be stored"), (r"\ud800", "invalid Unicode character")]
)
def test_characters_a_database_cannot_store_are_refused(escape, message):
    error = error_for(story_text(title=f'"bad {escape} title"'))

    assert message in error.reason
    assert error.line == 3


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": '"bad \\0 title"'}, "title"),
        ({"provider": '\n  name: "Ex\\0ample"\n  domain: example.com'}, "provider.name"),
        ({"topics": '\n  - AI\n  - "M\\0L"'}, "topics[1]"),
        ({"note": '"kept \\0 as is"'}, "note"),
        ({'"n\\0te"': "1"}, "n\\x00te"),
    ],
)
def test_a_nul_character_is_refused_with_the_field_that_holds_it(overrides, field):
    error = error_for(story_text(**overrides))

    assert error.field == field
    assert error.message == "contains a character that cannot be stored (NUL or a lone surrogate escape)"


@pytest.mark.parametrize(
    ("key", "field", "kind"),
    [("true", "true", "a boolean ('true')"), ("12", "12", "an integer ('12')"), ("~", "~", "null")],
)
def test_a_key_that_is_not_a_string_is_refused_with_its_name(key, field, kind):
    error = error_for(story_text(**{key: "x"}))

    assert error.field == field
    assert error.message == f"keys must be plain strings, not {kind} (quote a key to make it a string)"


def test_a_key_that_is_not_a_string_inside_a_key_we_do_not_model_is_named_with_its_path():
    assert error_for(story_text(note="\n  when:\n    2021: x")).field == "note.when.2021"


def test_a_nul_character_in_the_body_is_refused_with_the_body_and_its_line():
    error = error_for(story_text() + "First line.\nSecond \x00 line.\n")

    assert (error.field, error.line) == ("body", 19)
    assert "NUL character" in error.message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": '!!binary "aGk="'}, "title"),
        (
            {"provider": "\n  name: Example\n  domain: example.com\n  images:\n    - width: !!python/name:x"},
            "provider.images[0].width",
        ),
        ({"topics": "!!set {AI, ML}"}, "topics"),
    ],
)
def test_an_explicit_tag_is_refused_with_the_field_that_holds_it(overrides, field):
    error = error_for(story_text(**overrides))

    assert error.field == field
    assert "YAML tag" in error.message


@pytest.mark.parametrize("url", ["http://[::1/a", "https://example.com:99999/a"])
def test_malformed_urls_are_refused(url):
    error = error_for(story_text(webUrl=f'"{url}"'))

    assert (error.field, error.message) == ("webUrl", "URL is not valid")


# --- values the site could not store or show


def related_text(**overrides: str) -> str:
    """A ``related`` value with one link; ``overrides`` replace its lines (title, publishedDateTime ...)."""
    lines = {
        "title": '"Other coverage"',
        "publishedDateTime": "2021-03-05T01:02:03Z",
        "webUrl": '"https://other.example/r"',
        "type": "article",
        "provider": "\n      name: Other\n      domain: other.example",
        "quality": "5",
    }
    lines.update(overrides)
    return "\n  - " + "\n    ".join(
        f"{k}:{v}" if v.startswith("\n") else f"{k}: {v}" for k, v in lines.items()
    )


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-02:00",  # year 10000 in UTC
        "0001-01-01T00:30:00+01:00",  # year 0 in UTC
        '"9999-12-31T23:00:00-02:00"',  # the same as a quoted string
    ],
)
def test_date_outside_years_1_to_9999_in_utc_is_refused_with_the_field(value):
    error = error_for(story_text(publishedDateTime=value))

    assert (error.field, error.line) == ("publishedDateTime", 5)
    assert "is outside the years 1 to 9999 once converted to UTC" in error.message


def test_related_link_date_outside_years_1_to_9999_in_utc_is_refused():
    related = related_text(publishedDateTime="0001-01-01T00:30:00+01:00")

    error = error_for(story_text(related=related))

    assert error.field == "related[0].publishedDateTime"
    assert "outside the years 1 to 9999" in error.message


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:00:00+02:00"]
)
def test_dates_at_the_edges_of_the_calendar_are_kept(value):
    assert parse(story_text(publishedDateTime=value)).published_at.astimezone(dt.UTC).year in (1, 9999)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0000-01-01T00:00:00Z", "year 0 is out of range"),
        ("2021-01-01T00:00:00+25:00", "offset must be a timedelta"),
    ],
)
def test_dates_python_cannot_hold_are_refused_with_the_field(value, why):
    error = error_for(story_text(publishedDateTime=value))

    assert error.field == "publishedDateTime"
    assert "is not a valid date and time" in error.message and why in error.message


@pytest.mark.parametrize(
    ("overrides", "field", "limits"),
    [
        ({"quality": "1000001"}, "quality", "(-1000000..1000000)"),
        ({"heat": "-1000001"}, "heat", "(-1000000..1000000)"),
        ({"related": related_text(quality="99999999999")}, "related[0].quality", "(-1000000..1000000)"),
        (
            {"images": '\n  - url: "https://img.example/a.jpg"\n    width: 2147483648'},
            "images[0].width",
            "(0..2147483647)",
        ),
        (
            {"images": '\n  - url: "https://img.example/a.jpg"\n    height: -1'},
            "images[0].height",
            "(0..2147483647)",
        ),
        (
            {
                "provider": '\n  name: P\n  domain: p.example\n  images:\n    - url: "https://p.example/l.png"\n'
                "      width: 99999999999"
            },
            "provider.images[0].width",
            "(0..2147483647)",
        ),
    ],
)
def test_integers_outside_their_column_are_refused_with_the_field(overrides, field, limits):
    error = error_for(story_text(**overrides))

    assert error.field == field
    assert error.message.endswith(f"is out of range {limits}")


def test_integers_at_the_limits_of_their_columns_are_kept():
    images = '\n  - url: "https://img.example/a.jpg"\n    width: 2147483647\n    height: 0'
    record = parse(story_text(quality="1000000", heat="-1000000", images=images))

    assert (record.quality, record.heat) == (1_000_000, -1_000_000)
    assert (record.images[0].width, record.images[0].height) == (2**31 - 1, 0)


def _long(n: int) -> str:
    return '"' + "x" * n + '"'


@pytest.mark.parametrize(
    ("overrides", "field", "limit"),
    [
        ({"title": _long(1001)}, "title", 1000),
        ({"category": _long(101)}, "category", 100),
        ({"type": _long(41)}, "type", 40),
        ({"provider": f"\n  name: {_long(301)}\n  domain: p.example"}, "provider.name", 300),
        (
            {"provider": f"\n  name: P\n  domain: {'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 63}.com"},
            "provider.domain",
            253,
        ),
        ({"topics": f"\n  - {'t' * 201}"}, "topics[0]", 200),
        ({"webUrl": '"https://example.com/' + "a" * 1981 + '"'}, "webUrl", 2000),
        (
            {"images": f'\n  - url: "https://img.example/a.jpg"\n    title: {_long(1001)}'},
            "images[0].title",
            1000,
        ),
        ({"related": related_text(title=_long(1001))}, "related[0].title", 1000),
        ({"related": related_text(type=_long(41))}, "related[0].type", 40),
        (
            {"related": related_text(provider=f"\n      name: {_long(301)}\n      domain: o.example")},
            "related[0].provider.name",
            300,
        ),
    ],
)
def test_strings_longer_than_their_column_are_refused_with_the_field(overrides, field, limit):
    error = error_for(story_text(**overrides))

    assert error.field == field
    assert error.message.endswith(f"characters long, the limit is {limit:,}")


def test_strings_as_long_as_their_column_are_kept():
    record = parse(story_text(title=_long(1000), category=_long(100), topics=f"\n  - {'t' * 200}"))

    assert (len(record.title), len(record.category), len(record.topics[0])) == (1000, 100, 200)


# The format keeps its own table of column limits so that parsing needs no app registry;
# this is what keeps the table and the models from drifting apart.
COLUMNS = {
    "title": [("stories.Story", "title"), ("stories.RelatedLink", "title")],
    "image_title": [("stories.Image", "title")],
    "category": [("stories.Story", "category")],
    "type": [("stories.Story", "type"), ("stories.RelatedLink", "type")],
    "provider_name": [
        ("providers.Provider", "name"),
        ("stories.Story", "provider_name"),
        ("stories.RelatedLink", "provider_name"),
    ],
    "domain": [("providers.Provider", "domain")],
    "topic": [("stories.Topic", "name")],
    "url": [
        *[
            (model, name)
            for model in ("stories.Story", "stories.RelatedLink")
            for name in ("web_url", "original_url", "amp_web_url", "cdn_amp_web_url")
        ],
        ("stories.Image", "url"),
        ("providers.Provider", "logo_url"),
    ],
}
# Text columns that no file value is stored in.
NOT_FROM_FILES = {
    ("stories.Story", "identity_key"),
    ("stories.Story", "state"),
    ("stories.Story", "source_hash"),
    ("stories.Topic", "slug"),
    ("stories.Image", "role"),
    ("stories.Image", "cache_status"),
    ("stories.Image", "local_file"),
    ("stories.Image", "origin"),
}


def test_the_formats_column_limits_are_the_models_max_lengths():
    from django.apps import apps

    from stories.storyfile import MAX_LENGTH

    assert set(COLUMNS) == set(MAX_LENGTH)
    for key, columns in COLUMNS.items():
        for model, name in columns:
            assert apps.get_model(model)._meta.get_field(name).max_length == MAX_LENGTH[key], (model, name)
    covered = {column for columns in COLUMNS.values() for column in columns}
    for label in (
        "stories.Story",
        "stories.RelatedLink",
        "stories.Image",
        "stories.Topic",
        "providers.Provider",
    ):
        for field in apps.get_model(label)._meta.get_fields():
            if getattr(field, "max_length", None) and not field.is_relation:
                assert (label, field.name) in covered | NOT_FROM_FILES, f"{label}.{field.name} has no limit"


def test_the_formats_integer_ranges_are_the_columns_on_every_database():
    from django.apps import apps
    from django.db.backends.base.operations import BaseDatabaseOperations

    from stories.storyfile import INT_MAX, INT_MIN, SCORE_MAX, SCORE_MIN

    ranges = BaseDatabaseOperations.integer_field_ranges
    assert (INT_MIN, INT_MAX) == ranges["IntegerField"]
    assert (0, INT_MAX) == ranges["PositiveIntegerField"]
    assert INT_MIN <= SCORE_MIN and SCORE_MAX <= INT_MAX
    columns = {
        "IntegerField": [
            ("stories.Story", "quality"),
            ("stories.Story", "heat"),
            ("stories.RelatedLink", "quality"),
        ],
        "PositiveIntegerField": [
            ("stories.Image", "width"),
            ("stories.Image", "height"),
            ("providers.Provider", "logo_width"),
            ("providers.Provider", "logo_height"),
        ],
    }
    for kind, fields in columns.items():
        for model, name in fields:
            assert apps.get_model(model)._meta.get_field(name).get_internal_type() == kind, (model, name)


@pytest.mark.parametrize(
    ("domain", "why"),
    [
        ("micro/soft.com", "contains '/'"),
        ("https://example.com", "is a URL"),
        ("example.com:8080", "contains ':' (a port)"),
        ("user@example.com", "contains '@' (user info)"),
        ('"exa mple.com"', "contains a space"),
        ("example..com", "has an empty label"),
        ("example.com.", "has an empty label"),
        ("-example.com", "starts or ends with a hyphen"),
        ("exa_mple.com", "contains '_'"),
        ('"%00.example"', "contains '%'"),
        (f"{'a' * 64}.com", "has a label of 64 characters"),
        ("xn--zz.example", "invalid international (xn--) label"),
        ("☃.example", "not a valid international name"),
    ],
)
def test_provider_domains_must_be_host_names(domain, why):
    error = error_for(story_text(provider=f"\n  name: P\n  domain: {domain}"))

    assert error.field == "provider.domain"
    assert "is not a host name: it" in error.message and why in error.message


def test_a_related_links_provider_domain_must_be_a_host_name_too():
    related = related_text(provider="\n      name: O\n      domain: micro/soft.com")

    assert error_for(story_text(related=related)).field == "related[0].provider.domain"


@pytest.mark.parametrize(
    "domain", ["cbsnews.com", "Example.COM", "bücher.de", "xn--bcher-kva.de", "a-b.co.uk"]
)
def test_host_names_are_accepted_as_domains(domain):
    assert parse(story_text(provider=f"\n  name: P\n  domain: {domain}")).provider.domain == domain


def test_domain_rules_count_labels_and_length_in_their_ascii_form():
    from providers.domains import InvalidDomain, check_domain

    longest_label = "a" * 63
    assert check_domain(f"{longest_label}.com") == f"{longest_label}.com"
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
    assert check_domain(longest) == longest
    with pytest.raises(InvalidDomain, match="is 254 characters long"):
        check_domain(longest + "d")
    with pytest.raises(InvalidDomain, match="Label too long"):
        check_domain("日本語のドメイン名の例です長いラベルを作りますすす.jp")  # 25, over 63 encoded


def test_domain_rules_need_no_django():
    import subprocess
    import sys

    code = (
        "import sys; from providers.domains import check_domain; check_domain('example.com');"
        "assert not any(m.startswith('django') for m in sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("AI, ML", "must not contain ',', which separates topic names in the moderation queue"),
        ("AI; ML", "must not contain ';', which separates topic names in spreadsheets"),
        ('"  "', "must not be empty"),
        ('" AI"', "must not start or end with a space"),
        ('"A\\u202eI"', "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ],
)
def test_topic_names_that_cannot_travel_in_a_list_are_refused(name, why):
    error = error_for(story_text(topics=f"\n  - Cloud\n  - {name}"))

    assert error.field == "topics[1]"
    assert why in error.message


def test_topic_separators_are_the_ones_the_queue_and_spreadsheets_use():
    from stories.imports import spreadsheet as resources
    from stories.storyfile import QUEUE_TOPIC_SEPARATOR, SPREADSHEET_TOPIC_SEPARATOR, TOPIC_SEPARATORS

    assert resources.TOPIC_SEPARATOR == SPREADSHEET_TOPIC_SEPARATOR
    assert set(TOPIC_SEPARATORS) == {QUEUE_TOPIC_SEPARATOR, SPREADSHEET_TOPIC_SEPARATOR}


@pytest.mark.parametrize(
    "char",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200b",
        "\u2060",
        "\ufeff",
        "\u2062",
        "\u206e",
        "\U000e0041",  # TAG LATIN CAPITAL LETTER A: hidden text
        "\t",
        "\n",
        "\x85",
        "\u2028",
    ],
)
@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("title", "title"),
        ("category", "category"),
        ("type", "type"),
        ("provider", "provider.name"),
        ("topics", "topics[0]"),
        ("images", "images[0].title"),
        ("related", "related[0].title"),
        ("related-provider", "related[0].provider.name"),
    ],
)
def test_one_line_texts_refuse_controls_that_reorder_or_hide_text(char, key, field):
    value = f'"gpj\\U{ord(char):08X}.exe"'  # YAML's escape for any code point
    overrides = {
        "title": {"title": value},
        "category": {"category": value},
        "type": {"type": value},
        "provider": {"provider": f"\n  name: {value}\n  domain: p.example"},
        "topics": {"topics": f"\n  - {value}"},
        "images": {"images": f'\n  - url: "https://img.example/a.jpg"\n    title: {value}'},
        "related": {"related": related_text(title=value)},
        "related-provider": {
            "related": related_text(provider=f"\n      name: {value}\n      domain: o.example")
        },
    }[key]

    error = error_for(story_text(**overrides))

    assert error.field == field
    assert f"U+{ord(char):04X}" in error.message and "at character 4" in error.message


@pytest.mark.parametrize(
    "title",
    [
        "می\u200cخواهم",  # Persian needs the zero-width non-joiner
        "\U0001f469\u200d\U0001f4bb developers",  # an emoji sequence needs the zero-width joiner
        "\u05e9\u05dc\u05d5\u05dd \u200f(2024)",  # a right-to-left mark only places neutral characters
        "soft\u00adhyphen and non\u00a0breaking space",  # both in the real corpus
    ],
)
def test_one_line_texts_keep_what_real_scripts_need(title):
    assert parse(story_text(title=json.dumps(title, ensure_ascii=False))).title == title


def test_multi_line_texts_keep_their_line_breaks():
    assert parse(story_text(excerpt='"one\\ntwo\\r\\nthree"')).excerpt == "one\ntwo\r\nthree"


@pytest.mark.parametrize(
    ("setting", "overrides", "field", "message"),
    [
        (
            "NEWSROOM_MAX_TOPICS_PER_STORY",
            {"topics": "\n  - A\n  - B\n  - C"},
            "topics",
            "has 3 topics, over the limit of 2 per story",
        ),
        (
            "NEWSROOM_MAX_RELATED_PER_STORY",
            {"related": related_text() * 3},
            "related",
            "has 3 related links, over the limit of 2 per story",
        ),
        (
            "NEWSROOM_MAX_IMAGES_PER_LIST",
            {"images": '\n  - url: "https://i.example/1"' * 3},
            "images",
            "has 3 images, over the limit of 2 per story",
        ),
        (
            "NEWSROOM_MAX_IMAGES_PER_LIST",
            {"related": related_text(images='\n      - url: "https://i.example/1"' * 3)},
            "related[0].images",
            "has 3 images, over the limit of 2 per related link",
        ),
        (
            "NEWSROOM_MAX_IMAGES_PER_LIST",
            {
                "provider": "\n  name: P\n  domain: p.example\n  images:"
                + '\n    - url: "https://i.example/1"' * 3
            },
            "provider.images",
            "has 3 images, over the limit of 2 per provider",
        ),
    ],
)
def test_lists_over_their_limit_are_refused_with_the_field(settings, setting, overrides, field, message):
    setattr(settings, setting, 2)

    error = error_for(story_text(**overrides))

    assert error.field == field
    assert error.message == message


def test_a_list_over_its_limit_is_refused_before_its_items_are_read():
    # Item 60 is not even a string: the count is refused first, whatever the items hold.
    topics = "".join(f"\n  - T{i}" for i in range(59)) + "\n  - [not, a, name]"

    error = error_for(story_text(topics=topics))

    assert error.message == "has 60 topics, over the limit of 50 per story"


def test_limits_can_be_passed_to_the_parser():
    from stories.storyfile import FileLimits

    text = story_text(topics="\n  - A\n  - B")

    assert parse(text, limits=FileLimits(max_topics=2)).topics == ("A", "B")
    assert error_for(text, limits=FileLimits(max_topics=1)).field == "topics"


def test_the_default_limits_leave_room_above_the_real_corpus():
    from stories.storyfile import FileLimits

    limits = FileLimits.from_settings()
    most = {"topics": 0, "related": 0, "images": 0}
    for path in sorted(SEEDS.rglob("*")):
        if path.suffix not in (".md", ".txt") or path.name.startswith(("README", "SURVEY")):
            continue
        record = parse_story(path.read_bytes(), path=str(path))
        lists = [record.images, record.provider.images] + [r.images for r in record.related or ()]
        most["topics"] = max(most["topics"], len(record.topics or ()))
        most["related"] = max(most["related"], len(record.related or ()))
        most["images"] = max([most["images"], *(len(images or ()) for images in lists)])

    assert most == {"topics": 3, "related": 71, "images": 1}
    assert limits.max_topics >= 10 * most["topics"]
    assert limits.max_related >= 5 * most["related"]
    assert limits.max_images >= 10 * most["images"]


def test_an_impossible_date_under_a_key_we_do_not_model_names_the_key():
    error = error_for(story_text(updatedDateTime="2021-02-30T00:00:00Z"))

    assert (error.field, error.line) == ("updatedDateTime", 17)
    assert error.message == (
        "'2021-02-30T00:00:00Z' is not a valid date and time (day is out of range for month)"
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"published": "!!bool 'maybe'"}, "published", "'maybe' is not true or false"),
        ({"quality": "!!int '4x2'"}, "quality", "'4x2' is not an integer"),
        ({"heat": "!!int ''"}, "heat", "'' is not an integer"),
        ({"publishedDateTime": "!!timestamp x"}, "publishedDateTime", "'x' is not a valid date and time"),
        ({"note": "!!float ''"}, "note", "'' is not a number"),
        ({"note": "\n  when: !!timestamp 'soon'"}, "note.when", "'soon' is not a valid date and time"),
        ({"note": "\n  - !!bool 'maybe'"}, "note[0]", "'maybe' is not true or false"),
    ],
)
def test_a_core_tag_on_a_text_it_does_not_fit_is_refused_with_the_field(overrides, field, message):
    error = error_for(story_text(**overrides))

    assert (error.field, error.message) == (field, message)
