"""compare(): two revisions' data, field by field, without a database."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from stories.revisions.compare import compare
from stories.storyfile import ImageRecord, ProviderRecord, RelatedRecord, StoryRecord, record_to_json

STORY_KEYS = (
    "category",
    "title",
    "excerpt",
    "publishedDateTime",
    "webUrl",
    "type",
    "quality",
    "heat",
    "published",
    "provider",
    "topics",
    "images",
    "related",
    "secured",
)
RELATED_KEYS = ("title", "excerpt", "publishedDateTime", "webUrl", "type", "quality", "provider")


def provider(name: str = "Daily", domain: str = "daily.example") -> ProviderRecord:
    return ProviderRecord(keys=("name", "domain"), name=name, domain=domain)


def link(n: int, **changes) -> RelatedRecord:
    values = {
        "keys": RELATED_KEYS,
        "title": f"Related {n}",
        "excerpt": f"About {n}.",
        "published_at": dt.datetime(2024, 5, 1, 10, n, tzinfo=dt.UTC),
        "web_url": f"https://other.example/r-{n}",
        "type": "article",
        "quality": 40,
        "provider": provider("Other", "other.example"),
    }
    return RelatedRecord(**(values | changes))


def image(n: int, **changes) -> ImageRecord:
    values = {"keys": ("url", "width", "height", "isCached"), "url": f"https://img.example/{n}.jpg"}
    return ImageRecord(**(values | {"width": 800, "height": 450, "is_cached": True} | changes))


def story(**changes) -> StoryRecord:
    values = {
        "keys": STORY_KEYS,
        "category": "news",
        "title": "A title",
        "excerpt": "An excerpt.",
        "published_at": dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC),
        "web_url": "https://daily.example/a",
        "type": "article",
        "quality": 50,
        "heat": 10,
        "published": True,
        "provider": provider(),
        "topics": ("Politics", "Economy"),
        "images": (image(1),),
        "related": (link(1), link(2), link(3)),
        "secured": "s",
    }
    return StoryRecord(**(values | changes))


def data(record: StoryRecord | None = None, **editorial) -> dict:
    record = record or story()
    values = {
        "record": record_to_json(record),
        "state": "published",
        "quality": record.quality,
        "heat": record.heat,
        "topics": list(record.topics or ()),
        "editor_touched": [],
        "source_hash": "abc",
        "provider_domain": "daily.example",
    }
    return values | editorial


def test_equal_revisions_have_no_differences():
    result = compare(data(), data())
    assert not result.changed
    assert result.fields == () and result.related == () and result.images == ()


def test_a_changed_title_is_shown_with_its_label_old_and_new():
    result = compare(data(), data(story(title="A better title")))
    change = result.change_of("title")
    assert (change.label, change.before, change.after) == ("Title", "A title", "A better title")
    assert [c.key for c in result.fields] == ["title"]
    assert result.workflow_fields == ("title",)


def test_excerpt_dates_urls_type_and_category_are_compared_with_labels():
    after = story(
        excerpt="New excerpt.",
        published_at=dt.datetime(2024, 6, 2, 8, 30, tzinfo=dt.UTC),
        web_url="https://daily.example/b",
        type="video",
        category="sport",
    )
    result = compare(data(), data(after))
    labels = {c.key: c.label for c in result.fields}
    assert labels == {
        "excerpt": "Excerpt",
        "publishedDateTime": "Date published",
        "webUrl": "Web URL",
        "type": "Type",
        "category": "Category",
    }
    assert result.change_of("publishedDateTime").after == "2024-06-02 08:30:00+00:00"
    assert set(result.workflow_fields) == {"excerpt", "published_at", "web_url", "type", "category"}


def test_a_url_the_earlier_revision_did_not_have_is_shown_as_added():
    after = story(keys=(*STORY_KEYS, "originalUrl"), original_url="https://daily.example/orig")
    change = compare(data(), data(after)).change_of("originalUrl")
    assert (change.label, change.before, change.after) == ("Original URL", "", "https://daily.example/orig")


def test_provider_quality_and_heat_are_compared():
    result = compare(data(), data(story(provider=provider("Weekly", "weekly.example")), quality=80, heat=3))
    assert result.change_of("provider").before == "Daily (daily.example)"
    assert result.change_of("provider").after == "Weekly (weekly.example)"
    assert (result.change_of("quality").before, result.change_of("quality").after) == ("50", "80")
    assert (result.change_of("heat").before, result.change_of("heat").after) == ("10", "3")


def test_state_is_named_as_people_know_it():
    change = compare(data(state="in_review"), data()).change_of("state")
    assert (change.label, change.before, change.after) == ("State", "In review", "Published")
    assert "published" in compare(data(state="in_review"), data()).workflow_fields


def test_topics_added_and_removed_are_listed():
    result = compare(data(), data(topics=["Politics", "Climate"]))
    assert result.topics_added == ("Climate",)
    assert result.topics_removed == ("Economy",)
    assert not result.topics_reordered
    assert result.change_of("topics").before == "Politics, Economy"
    assert result.change_of("topics").after == "Politics, Climate"


def test_topics_in_another_order_are_reordered_without_additions():
    result = compare(data(), data(topics=["Economy", "Politics"]))
    assert result.topics_reordered
    assert result.topics_added == () and result.topics_removed == ()
    assert result.change_of("topics") is not None


def test_a_related_link_reorder_says_which_link_moved_from_where_to_where():
    before = data()
    after = data(story(related=(link(1), link(3), link(2))))
    result = compare(before, after)
    assert result.fields == ()
    assert len(result.related) == 1
    moved = result.related[0]
    assert moved.kind == "moved"
    assert (moved.url, moved.before_position, moved.after_position) == ("https://other.example/r-2", 2, 3)
    assert moved.label == "Moved from position 2 to 3"
    assert result.workflow_fields == ("related",)


def test_moving_the_last_link_to_the_top_moves_one_link_only():
    result = compare(data(), data(story(related=(link(3), link(1), link(2)))))
    assert [(c.kind, c.url, c.before_position, c.after_position) for c in result.related] == [
        ("moved", "https://other.example/r-3", 3, 1)
    ]
    assert result.related[0].label == "Moved from position 3 to 1"


def test_a_link_added_above_the_others_does_not_move_them():
    result = compare(data(), data(story(related=(link(9), link(1), link(2), link(3)))))
    assert [(c.kind, c.url, c.after_position) for c in result.related] == [
        ("added", "https://other.example/r-9", 1)
    ]
    assert result.related[0].label == "Added at position 1"


def test_a_removed_link_is_listed_with_its_old_position():
    result = compare(data(), data(story(related=(link(1), link(3)))))
    assert [(c.kind, c.url, c.title, c.before_position) for c in result.related] == [
        ("removed", "https://other.example/r-2", "Related 2", 2)
    ]
    assert result.related[0].label == "Removed from position 2"


def test_a_changed_link_says_which_fields_changed():
    after = story(related=(link(1), link(2, title="Better", quality=90), link(3)))
    result = compare(data(), data(after))
    (change,) = result.related
    assert change.kind == "changed" and not change.moved
    assert [(f.label, f.before, f.after) for f in change.fields] == [
        ("Title", "Related 2", "Better"),
        ("Quality", "40", "90"),
    ]
    assert change.label == "Changed: title, quality"


def test_a_changed_link_that_also_moved_says_both():
    after = story(related=(link(3, excerpt="Other."), link(1), link(2)))
    (change,) = compare(data(), data(after)).related
    assert (change.kind, change.moved, change.before_position, change.after_position) == (
        "changed",
        True,
        3,
        1,
    )
    assert change.label == "Changed: excerpt; moved from position 3 to 1"


def test_a_link_whose_url_changed_is_one_removed_and_one_added():
    after = story(related=(link(1), link(2, web_url="https://other.example/new"), link(3)))
    kinds = sorted((c.kind, c.url) for c in compare(data(), data(after)).related)
    assert kinds == [("added", "https://other.example/new"), ("removed", "https://other.example/r-2")]


def test_links_with_the_same_url_are_matched_in_order():
    twin = link(1, title="Twin")
    result = compare(data(story(related=(link(1), twin))), data(story(related=(link(1), twin, link(1)))))
    assert [(c.kind, c.after_position) for c in result.related] == [("added", 3)]


def test_a_related_links_images_are_compared():
    after = story(related=(link(1, images=(image(7),)), link(2), link(3)))
    (change,) = compare(data(), data(after)).related
    assert [(f.label, f.before, f.after) for f in change.fields] == [
        ("Images", "", "https://img.example/7.jpg")
    ]


def test_images_added_removed_and_changed():
    before = data(story(images=(image(1), image(2))))
    after = data(story(images=(image(1, width=1200), image(3))))
    result = compare(before, after)
    assert [(c.kind, c.url) for c in result.images] == [
        ("changed", "https://img.example/1.jpg"),
        ("added", "https://img.example/3.jpg"),
        ("removed", "https://img.example/2.jpg"),
    ]
    assert [(f.label, f.before, f.after) for f in result.images[0].fields] == [("Width", "800", "1200")]
    assert result.workflow_fields == ("images",)


def test_the_body_and_unknown_keys_are_compared():
    before = data(story(body="Old body.\n", extra={"note": "a"}))
    after = data(story(body="New body.\n", extra={"note": "b"}))
    result = compare(before, after)
    assert result.change_of("body").after == "New body.\n"
    assert result.change_of("note").label == "Other key “note”"


def test_a_first_revision_is_compared_against_nothing():
    result = compare(None, data())
    assert result.change_of("title").before == "" and result.change_of("title").after == "A title"
    assert result.change_of("state").after == "Published"
    assert [c.kind for c in result.related] == ["added", "added", "added"]
    assert result.topics_added == ("Politics", "Economy")


def test_an_editorial_value_the_file_did_not_have_is_compared():
    record = replace(story(), keys=tuple(k for k in STORY_KEYS if k != "heat"), heat=None)
    result = compare(data(record, heat=None), data(record, heat=7))
    assert (result.change_of("heat").before, result.change_of("heat").after) == ("", "7")


def test_the_editor_touched_list_alone_is_no_difference_a_reader_sees():
    assert not compare(data(), data(editor_touched=["title"])).changed
