"""The conflict matrix of ``reconcile()``: what a story file may change on a stored story.

A pure function, tested as a table: no files, no database (these tests do not ask for the
``db`` fixture, so any query would fail them).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace

import pytest

from stories.imports.reconcile import Importer, new_story_state, reconcile
from stories.models import State
from stories.records import StoredStory, with_editorial
from stories.storyfile import ImageRecord, StoryRecord, parse_story
from stories.workflow import PUBLISH, SUBMIT, UNPUBLISH

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
OLD_HASH, NEW_HASH = "a" * 64, "b" * 64


def story_file(
    *, title="Old title", quality=10, secured="old-secret", published=True, topics=("AI",)
) -> StoryRecord:
    lines = [
        "---",
        f'title: "{title}"',
        'webUrl: "https://example.com/a"',
        f"quality: {quality}",
        "heat: 5",
        *([f"published: {'true' if published else 'false'}"] if published is not None else []),
        "provider:",
        "  name: Example",
        "  domain: example.com",
        "topics:",
        *[f"  - {topic}" for topic in topics],
        f'secured: "{secured}"',
        "---",
        "",
    ]
    return parse_story("\n".join(lines).encode(), path="a.md")


def stored(
    base: StoryRecord | None = None,
    *,
    state: str = State.IN_REVIEW,
    touched: tuple[str, ...] = (),
    quality: int | None = None,
    topics: tuple[str, ...] | None = None,
    expire_at: dt.datetime | None = None,
    superseded: tuple[str, ...] = (),
    lead_image_uploaded: bool = False,
) -> StoredStory:
    """A stored story as an import of ``base`` left it, with a person's decisions on top."""
    base = base or story_file(published=state == State.PUBLISHED)
    quality = base.quality if quality is None else quality
    topics = tuple(base.topics or ()) if topics is None else topics
    # The stored source record has the story's topics (its rows), whoever chose them.
    base = replace(base, topics=topics)
    current = with_editorial(
        base, state=state, quality=quality, heat=base.heat, topics=topics, file_published=base.published
    )
    return StoredStory(
        id=1,
        title=base.title,
        state=state,
        expire_at=expire_at,
        quality=quality,
        heat=base.heat,
        editor_touched=touched,
        lead_image_uploaded=lead_image_uploaded,
        file_published=base.published,
        source_hash=OLD_HASH,
        superseded_hashes=superseded,
        base=base,
        current=current,
    )


MODERATOR, EDITOR = Importer(may_publish=True), Importer(may_publish=False)


def without(record: StoryRecord, *keys: str) -> StoryRecord:
    """``record`` as a file that does not have ``keys``."""
    absent = {StoryRecord.FIELDS[key]: None for key in keys}
    return replace(record, keys=tuple(k for k in record.keys if k not in keys), **absent)


def plan_for(story: StoredStory, record: StoryRecord, importer: Importer = MODERATOR, **options):
    return reconcile(story, record, importer, source_hash=NEW_HASH, now=NOW, **options)


# --- One field, every way it can meet a file ----------------------------------------------------

# touched by a person, changed by the file, overwrite, story published, importer may publish
MATRIX = list(itertools.product([False, True], repeat=5))


def expected(field: str, touched: bool, changes: bool, overwrite: bool, published: bool, may_publish: bool):
    """The rule, in the order it is stated: held for a moderator, then a person's decision, then the
    file. Only what readers see is held: not quality (a ranking signal) nor ``secured`` (never shown).
    Returns what happens to the value, and whether the person's decision is given up."""
    # With overwrite, a file that gives an editorial value takes it over, even an equal one.
    takes_over = touched and overwrite and field == "quality"
    if not changes:
        return "same", takes_over
    if field == "title" and published and not may_publish:
        return "held", False
    if touched and not overwrite:
        return "kept", False
    return "file", touched


FIELDS = {
    # field: (the story's field, the file with it changed, the value the file brings)
    "title": ("title", lambda published: story_file(title="New title", published=published), "New title"),
    "secured": ("secured", lambda published: story_file(secured="new", published=published), "new"),
    "quality": ("quality", lambda published: story_file(quality=99, published=published), 99),
}


@pytest.mark.parametrize(("touched", "changes", "overwrite", "published", "may_publish"), MATRIX)
@pytest.mark.parametrize("field", FIELDS)
def test_the_conflict_matrix(field, touched, changes, overwrite, published, may_publish):
    name, changed_file, file_value = FIELDS[field]
    state = State.PUBLISHED if published else State.IN_REVIEW
    story = stored(state=state, touched=(name,) if touched else ())
    record = changed_file(published) if changes else story_file(published=published)

    plan = plan_for(story, record, Importer(may_publish=may_publish), overwrite=overwrite)

    outcome, released = expected(field, touched, changes, overwrite, published, may_publish)
    story_value = getattr(story.current, name)
    after = getattr(plan.after, name)
    assert after == (file_value if outcome == "file" else story_value)
    assert list(plan.conflicts) == ([field] if outcome in ("held", "kept") else [])
    assert [h.key for h in plan.held] == ([field] if outcome == "held" else [])
    # A held file is not the story's source: a moderator's import must apply it later.
    assert plan.bookkeeping["source_hash"] == (OLD_HASH if outcome == "held" else NEW_HASH)
    # The file takes over what a person decided only when told to (overwrite), and says so.
    assert plan.touched == (() if released else None)
    assert plan.quiet == (outcome != "file" and not released)
    assert plan.action is None


def test_a_held_value_is_audited_with_both_values():
    story = stored(state=State.PUBLISHED)

    plan = plan_for(story, story_file(title="New title", published=True), EDITOR)

    [held] = plan.held
    assert (held.key, held.field, held.before, held.after) == ("title", "title", "Old title", "New title")


def test_a_file_that_leaves_out_a_value_a_person_decided_says_nothing_about_it():
    base = story_file()
    story = stored(base, touched=("title", "quality"), quality=90)
    record = without(story_file(), "title", "quality")

    plan = plan_for(story, record)

    assert (plan.after.title, plan.after.quality, plan.conflicts) == ("Old title", 90, ())


@pytest.mark.parametrize(
    ("touched", "overwrite", "conflicts", "topics"),
    [
        (False, False, (), ("Robots", "Cloud")),
        (True, False, ("topics",), None),
        (True, True, (), ("Robots", "Cloud")),
    ],
)
def test_topics_a_person_chose_stay_unless_the_file_may_overwrite_them(touched, overwrite, conflicts, topics):
    story = stored(touched=("topics",) if touched else (), topics=("Mine",) if touched else None)

    plan = plan_for(story, story_file(topics=("Robots", "Cloud"), published=False), overwrite=overwrite)

    assert (plan.conflicts, plan.topics) == (conflicts, topics)


def test_a_lead_image_an_editor_uploaded_counts_as_their_decision():
    story = stored(lead_image_uploaded=True)
    image = ImageRecord(keys=("url",), url="https://img.example/new.jpg")
    record = replace(story_file(published=False), keys=(*story_file().keys, "images"), images=(image,))

    plan = plan_for(story, record)

    assert plan.conflicts == ("images",)
    assert "images" not in plan.parts


# --- The published flag -------------------------------------------------------------------------

FLAG = [
    # state, flag before, flag now, may publish, "published" touched, overwrite -> action, conflicts, held
    (State.IN_REVIEW, False, True, True, False, False, PUBLISH, (), ()),
    (State.DRAFT, False, True, True, False, False, PUBLISH, (), ()),
    (State.REJECTED, False, True, True, False, False, PUBLISH, (), ()),
    (State.DRAFT, False, True, False, False, False, SUBMIT, (), ()),  # without publish permission: to review
    (State.IN_REVIEW, False, True, False, False, False, None, (), ()),
    (State.REJECTED, False, True, False, False, False, None, (), ()),  # a rejection stands
    (State.PUBLISHED, True, False, True, False, False, UNPUBLISH, (), ()),
    (State.PUBLISHED, True, False, False, False, False, None, ("published",), ("published",)),  # moderators'
    (State.PUBLISHED, True, True, False, False, False, None, (), ()),
    (State.REJECTED, False, False, True, False, False, None, (), ()),  # no flip: a decision stands
    (State.IN_REVIEW, True, True, True, True, False, None, ("published",), ()),  # a person unpublished it
    (State.IN_REVIEW, True, True, True, True, True, PUBLISH, (), ()),  # ... unless the file may overwrite
    (State.IN_REVIEW, True, True, True, False, False, None, (), ()),  # the same file again: no flip
]


@pytest.mark.parametrize(
    ("state", "before", "now", "may_publish", "touched", "overwrite", "action", "conflicts", "held"), FLAG
)
def test_the_published_flag_moves_the_state_only_when_it_flips(
    state, before, now, may_publish, touched, overwrite, action, conflicts, held
):
    story = stored(story_file(published=before), state=state, touched=("published",) if touched else ())

    plan = plan_for(story, story_file(published=now), Importer(may_publish=may_publish), overwrite=overwrite)

    assert (plan.action, plan.conflicts, tuple(h.key for h in plan.held)) == (action, conflicts, held)


def test_a_flip_the_workflow_would_refuse_keeps_the_state_and_is_a_conflict():
    story = stored(story_file(published=False), expire_at=NOW - dt.timedelta(days=1))

    plan = plan_for(story, story_file(published=True, title="New title"))

    assert (plan.action, plan.conflicts, plan.after.title) == (None, ("published",), "New title")
    assert plan.after.published is False


# --- Whole files --------------------------------------------------------------------------------


def test_the_same_file_changes_nothing_and_is_written_quietly():
    story = stored(story_file(published=False))

    plan = plan_for(story, story_file(published=False))

    assert (plan.quiet, plan.conflicts, plan.parts, plan.action) == (True, (), frozenset(), None)
    assert plan.topics is None


def test_a_file_a_later_file_of_the_same_run_replaced_changes_nothing_at_all():
    story = stored(superseded=(NEW_HASH,))

    plan = plan_for(story, story_file(title="Older title"))

    assert plan.quiet and plan.source is None and not plan.bookkeeping


def test_a_story_written_earlier_in_the_same_run_remembers_the_file_it_replaced():
    story = stored(story_file(published=False))

    same_run = plan_for(story, story_file(title="New title", published=False), same_run=True)
    later_run = plan_for(story, story_file(title="New title", published=False))

    assert same_run.bookkeeping["superseded_hashes"] == [OLD_HASH]
    assert later_run.bookkeeping["superseded_hashes"] == []


@pytest.mark.parametrize(
    ("published", "may_publish", "state"),
    [
        (True, True, State.PUBLISHED),
        (True, False, State.IN_REVIEW),
        (False, True, State.IN_REVIEW),
        (None, True, State.IN_REVIEW),
    ],
)
def test_a_new_story_is_published_if_its_file_says_so_and_its_importer_may(published, may_publish, state):
    assert new_story_state(story_file(published=published), Importer(may_publish=may_publish)) == state
