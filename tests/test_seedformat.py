"""The story file format: parsing, validation, lossless dump, identity."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from stories.seedformat import (
    StoryFileError,
    StoryRecord,
    dump_story,
    identity_key_for,
    normalise_url,
    parse_story,
    record_from_json,
    record_to_json,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
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


@pytest.mark.parametrize("url", ["http://[::1/a", "https://example.com:99999/a"])
def test_malformed_urls_are_refused(url):
    error = error_for(story_text(webUrl=f'"{url}"'))

    assert (error.field, error.message) == ("webUrl", "URL is not valid")
