"""The reader version moves once per committed change readers can see, and only then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.db.models.expressions import RawSQL
from django.test import RequestFactory
from django.utils import timezone

from providers.models import Provider
from stories import workflow
from stories.admin.providers import ProviderAdmin
from stories.admin.story import StoryAdmin
from stories.admin.topic import TopicAdmin
from stories.models import ReaderVersion, State, Story, Topic
from stories.reader import version as reader_version
from stories.workflow import RowChanges
from stories.workflow.drafts import edit, publish_draft
from tests.conftest import make_provider, make_story, make_topic
from tests.imports.test_undo import run_import, story_file

pytestmark = pytest.mark.django_db


def row() -> ReaderVersion:
    return ReaderVersion.objects.get(pk=ReaderVersion.ROW)


@pytest.fixture
def moves(django_capture_on_commit_callbacks):
    """``with moves(n):`` the block, committed, moves the counter by exactly ``n``."""

    class Moves:
        def __init__(self, expected: int, *, shared: int | None = None):
            self.expected, self.shared = expected, shared

        def __enter__(self):
            reader_version.bump()  # the row exists, and nothing is left pending from setup
            self.before = row()
            self.capture = django_capture_on_commit_callbacks(execute=True)
            self.capture.__enter__()
            return self

        def __exit__(self, *exc):
            self.capture.__exit__(*exc)
            if exc[0] is None:
                after = row()
                assert after.counter - self.before.counter == self.expected
                if self.shared is not None:
                    assert after.shared - self.before.shared == self.shared

    return Moves


def test_publishing_a_story_moves_it_once(moves, moderator):
    story = make_story(state=State.IN_REVIEW)
    with moves(1, shared=0):
        workflow.transition(story, action=workflow.PUBLISH, actor=moderator)


def test_unpublishing_a_story_moves_it(moves, moderator):
    story = make_story()
    with moves(1):
        workflow.transition(story, action=workflow.UNPUBLISH, actor=moderator, comment="Wrong")


def test_one_edit_of_a_live_story_moves_it_once_for_its_row_topics_and_links(moves, moderator):
    story = Story.objects.with_cards().get(pk=make_story(related=2, topics=[make_topic("A")]).pk)
    link = story.related_links.first()
    link.title = "Corrected"
    with moves(1):
        workflow.update_editorial(
            story,
            actor=moderator,
            content={"title": "New title"},
            topics=[make_topic("B")],
            related=RowChanges(changed=[(link, ["title"])]),
        )


def test_editing_a_story_in_review_leaves_it(moves, moderator):
    story = Story.objects.with_cards().get(pk=make_story(state=State.IN_REVIEW).pk)
    with moves(0):
        workflow.update_editorial(story, actor=moderator, content={"title": "Rewritten"}, quality=9)


def test_a_draft_of_a_live_story_leaves_it_and_publishing_the_draft_moves_it(moves, editor, moderator):
    story = Story.objects.with_cards().get(pk=make_story().pk)
    with moves(0):
        done = edit(story, actor=editor, content={"title": "Secret draft"})
    assert done.draft is not None
    with moves(1):
        publish_draft(story, actor=moderator)


def test_changing_the_window_of_a_published_story_moves_it(moves, moderator):
    story = make_story()
    with moves(1):
        workflow.schedule(
            story, actor=moderator, go_live_at=None, expire_at=timezone.now() + timedelta(days=1)
        )


def test_a_bulk_action_over_many_stories_moves_it_once_per_transaction(moves, moderator):
    stories = [make_story() for _ in range(3)]
    with moves(1):
        result = workflow.apply_each(
            stories,
            lambda story, seen: workflow.transition(
                story, action=workflow.UNPUBLISH, actor=moderator, comment="Bulk"
            ),
            versions={},
        )
    assert len(result.done) == 3


def test_an_import_of_published_stories_moves_it_once(moves, tmp_path):
    files = {f"s{n}.md": story_file(f"story-{n}", published=True) for n in range(3)}
    with moves(1):
        run_import(tmp_path, files)
    assert Story.objects.live().count() == 3


def test_an_import_of_stories_waiting_for_review_leaves_it(moves, tmp_path):
    with moves(0):
        run_import(tmp_path, {"a.md": story_file("waiting", published=False)})
    assert Story.objects.get().state == State.IN_REVIEW


def test_reverting_an_import_that_created_published_stories_moves_it(moves, tmp_path, moderator):
    from stories.imports.undo import revert_import_run

    run = run_import(tmp_path, {"a.md": story_file("gone-soon", published=True)})
    with moves(1):
        revert_import_run(run, actor=moderator)
    assert not Story.objects.exists()


def test_merging_topics_moves_it_and_its_shared_part(moves, moderator):
    keep, duplicate = make_topic("Keep"), make_topic("Duplicate")
    make_story(topics=[duplicate])
    with moves(1, shared=1):
        workflow.merge_topics(survivor=keep, duplicates=[duplicate], actor=moderator)


def test_merging_providers_moves_it_and_its_shared_part(moves, moderator):
    keep, duplicate = make_provider(), make_provider()
    make_story(provider=duplicate)
    with moves(1, shared=1):
        workflow.merge_providers(survivor=keep, duplicates=[duplicate], actor=moderator)


def rename_in_admin(topic: Topic, user, name: str) -> None:
    request = RequestFactory().post("/")
    request.user = user
    topic.name = name
    TopicAdmin(Topic, site).save_model(request, topic, form=None, change=True)


def test_renaming_a_topic_readers_see_moves_its_shared_part(moves, moderator):
    topic = make_topic("Old name")
    make_story(topics=[topic])
    with moves(1, shared=1):
        rename_in_admin(topic, moderator, "New name")


def test_renaming_a_topic_no_published_story_has_leaves_it(moves, moderator):
    topic = make_topic("Unseen")
    make_story(topics=[topic], state=State.DRAFT)
    with moves(0, shared=0):
        rename_in_admin(topic, moderator, "Still unseen")


def test_renaming_a_provider_cited_by_a_published_story_moves_its_shared_part(moves, moderator):
    cited = make_provider(name="Cited")
    make_story(related=0).related_links.create(position=0, title="Coverage", provider=cited)
    request = RequestFactory().post("/")
    request.user = moderator
    cited.name = "Cited, renamed"
    with moves(1, shared=1):
        ProviderAdmin(Provider, site).save_model(request, cited, form=None, change=True)


def test_deleting_a_published_story_in_the_admin_moves_it_and_a_draft_leaves_it(moves, admin_user):
    published, draft = make_story(), make_story(state=State.DRAFT)
    request = RequestFactory().post("/")
    request.user = admin_user
    with moves(0):
        StoryAdmin(Story, site).delete_model(request, draft)
    with moves(1):
        StoryAdmin(Story, site).delete_queryset(request, Story.objects.filter(pk=published.pk))


def test_a_rolled_back_change_leaves_it(moves, moderator):
    story = make_story(state=State.IN_REVIEW)

    class Undone(Exception):
        pass

    with moves(0), pytest.raises(Undone):
        from django.db import transaction

        with transaction.atomic():
            workflow.transition(story, action=workflow.PUBLISH, actor=moderator)
            raise Undone


# --- The clock ---------------------------------------------------------------------------------


def test_the_next_go_live_or_expiry_is_kept_with_it(moves, moderator):
    soon = timezone.now() + timedelta(hours=1)
    later = timezone.now() + timedelta(hours=2)
    make_story(expire_at=later)
    story = make_story(state=State.IN_REVIEW)
    with moves(1):
        workflow.transition(story, action=workflow.PUBLISH, actor=moderator, go_live_at=soon)
    assert row().next_boundary == soon


def test_passing_the_boundary_moves_it_once_and_finds_the_next(moderator):
    soon = timezone.now() + timedelta(hours=1)
    later = timezone.now() + timedelta(hours=2)
    make_story(go_live_at=soon)
    make_story(expire_at=later)
    before = reader_version.current()
    assert before.next_boundary == soon

    passed = reader_version.current(now=soon + timedelta(seconds=1))
    again = reader_version.current(now=soon + timedelta(seconds=2))

    assert passed.counter == before.counter + 1
    assert passed.changed_at == soon
    assert passed.next_boundary == later
    assert again == passed
    assert row().counter == passed.counter


def test_a_cold_cache_reads_the_row_and_a_warm_one_reads_nothing(django_assert_num_queries):
    make_story()
    from django.core.cache import cache

    cache.clear()
    with django_assert_num_queries(1):
        cold = reader_version.current()
    with django_assert_num_queries(0):
        assert reader_version.current() == cold


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL holds dates Python cannot")
def test_an_unloadable_date_is_reported_when_the_version_moves(caplog):
    story = make_story()
    Story.objects.filter(pk=story.pk).update(expire_at=RawSQL("%s::timestamptz", ["10000-01-01 00:00+00"]))
    with caplog.at_level("ERROR", logger="stories.reader"):
        reader_version.bump()
    assert f"story {story.pk} left out of reader pages" in caplog.text
