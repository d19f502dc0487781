"""Undoing an import run: created stories go, updated stories get their previous source back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from stories import workflow
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.imports.undo import RevertError, restore_story, revert_import_run
from stories.models import AuditEntry, ImportRun, RelatedLink, State, Story, Topic

pytestmark = pytest.mark.django_db


def story_file(
    slug: str,
    *,
    title: str = "",
    excerpt: str = "First version of the excerpt.",
    quality: int = 50,
    related: int = 0,
    topics: tuple[str, ...] = ("Power Apps",),
    published: bool = False,
) -> str:
    lines = [
        "---",
        "category: news",
        f'title: "{title or slug.replace("-", " ").title()}"',
        f'excerpt: "{excerpt}"',
        "publishedDateTime: 2024-03-01T10:00:00Z",
        f'webUrl: "https://news.example/{slug}"',
        "type: article",
        f"quality: {quality}",
        f"heat: {quality}",
        f"published: {'true' if published else 'false'}",
        "",
        "provider:",
        "  name: Example News",
        "  domain: news.example",
        "",
        "topics:",
        *[f"  - {topic}" for topic in topics],
    ]
    if related:
        lines += ["", "related:"]
        for n in range(related):
            lines += [
                f'  - title: "Related {slug} {n}"',
                '    excerpt: ""',
                "    publishedDateTime: 2024-03-01T11:00:00Z",
                f'    webUrl: "https://other.example/{slug}/{n}"',
                "    type: article",
                "    provider:",
                "      name: Other",
                "      domain: other.example",
                f"    quality: {n}",
            ]
    lines += ["", f'secured: "secret-{slug}-{excerpt[:5]}"', "---", ""]
    return "\n".join(lines)


def run_import(directory: Path, files: dict[str, str]) -> ImportRun:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    report = import_stories(iter_story_sources([str(directory / name) for name in files]))
    assert report.counts["failed"] == 0
    return report.run


def story_at(slug: str) -> Story:
    return Story.objects.get(web_url=f"https://news.example/{slug}")


def test_revert_deletes_the_stories_the_run_created(tmp_path, moderator):
    run_import(tmp_path / "one", {"a.md": story_file("alpha")})
    run = run_import(tmp_path / "two", {"b.md": story_file("beta", related=3), "c.md": story_file("gamma")})

    report = revert_import_run(run, actor=moderator)

    assert sorted(title for _, title in report.deleted) == ["Beta", "Gamma"]
    assert list(Story.objects.values_list("title", flat=True)) == ["Alpha"]
    assert not RelatedLink.objects.exists()


def test_revert_restores_the_previous_source_values_of_updated_stories(tmp_path, moderator):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old excerpt.", related=2)})
    before = Story.objects.get()
    before_hash = before.source_hash
    run = run_import(
        tmp_path / "v2",
        {"a.md": story_file("alpha", title="Alpha, revised", excerpt="New excerpt.", related=5)},
    )
    assert story_at("alpha").title == "Alpha, revised"

    report = revert_import_run(run, actor=moderator)

    story = story_at("alpha")
    assert [pk for pk, _ in report.restored] == [story.pk]
    assert (story.title, story.excerpt, story.source_hash) == ("Alpha", "Old excerpt.", before_hash)
    assert list(story.related_links.values_list("title", flat=True)) == ["Related alpha 0", "Related alpha 1"]


def test_reimporting_the_reverted_files_applies_them_again(tmp_path, moderator):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old excerpt.")})
    run = run_import(tmp_path / "v2", {"a.md": story_file("alpha", excerpt="New excerpt.")})
    revert_import_run(run, actor=moderator)

    again = run_import(tmp_path / "v2", {"a.md": story_file("alpha", excerpt="New excerpt.")})

    assert again.updated == 1
    assert story_at("alpha").excerpt == "New excerpt."


def test_revert_keeps_a_created_story_an_editor_worked_on_and_lists_it(tmp_path, moderator, editor):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha"), "b.md": story_file("beta")})
    worked_on = story_at("alpha")
    workflow.update_editorial(worked_on, actor=editor, quality=90)

    report = revert_import_run(run, actor=moderator)

    assert [kept.story_id for kept in report.kept] == [worked_on.pk]
    assert "edna" in report.kept[0].reason
    assert list(Story.objects.values_list("pk", flat=True)) == [worked_on.pk]
    assert story_at("alpha").quality == 90


def test_revert_keeps_a_created_story_a_moderator_published(tmp_path, moderator):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})
    workflow.transition(story_at("alpha"), action=workflow.PUBLISH, actor=moderator)

    report = revert_import_run(run, actor=moderator)

    assert len(report.kept) == 1 and not report.deleted
    assert story_at("alpha").state == State.PUBLISHED


def test_revert_of_an_update_keeps_editorial_values_an_editor_set_since(tmp_path, moderator, editor):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old excerpt.", quality=40)})
    run = run_import(tmp_path / "v2", {"a.md": story_file("alpha", excerpt="New excerpt.", quality=60)})
    story = story_at("alpha")
    assert story.quality == 60
    workflow.update_editorial(
        story, actor=editor, quality=99, topics=[Topic.objects.create(name="Mine", slug="mine")]
    )

    revert_import_run(run, actor=moderator)

    story = story_at("alpha")
    assert story.excerpt == "Old excerpt."
    assert story.quality == 99
    assert [st.topic.name for st in story.story_topics.all()] == ["Mine"]
    assert {"quality", "topics"} <= set(story.editor_touched)


def test_revert_of_an_update_puts_back_editorial_values_nobody_changed_since(tmp_path, moderator):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", quality=40, topics=("One", "Two"))})
    run = run_import(tmp_path / "v2", {"a.md": story_file("alpha", quality=60, topics=("Three",))})

    revert_import_run(run, actor=moderator)

    story = story_at("alpha")
    assert story.quality == 40
    assert [st.topic.name for st in story.story_topics.all()] == ["One", "Two"]


def test_revert_keeps_a_story_a_later_import_updated_again(tmp_path, moderator):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="First.")})
    run = run_import(tmp_path / "v2", {"a.md": story_file("alpha", excerpt="Second.")})
    run_import(tmp_path / "v3", {"a.md": story_file("alpha", excerpt="Third.")})

    report = revert_import_run(run, actor=moderator)

    assert len(report.kept) == 1 and "revert that run first" in report.kept[0].reason
    assert story_at("alpha").excerpt == "Third."


def test_editors_may_not_revert_an_import_run(tmp_path, editor):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})

    with pytest.raises(PermissionDenied):
        revert_import_run(run, actor=editor)

    assert Story.objects.count() == 1
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FINISHED


def test_reverting_a_run_twice_is_refused(tmp_path, moderator):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})
    revert_import_run(run, actor=moderator)
    run_import(tmp_path / "again", {"a.md": story_file("alpha")})

    with pytest.raises(RevertError, match="already reverted"):
        revert_import_run(run, actor=moderator)

    assert Story.objects.count() == 1


def test_revert_marks_the_run_and_writes_the_audit_trail(tmp_path, moderator):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old.")})
    run = run_import(
        tmp_path / "v2", {"a.md": story_file("alpha", excerpt="New."), "b.md": story_file("beta")}
    )

    revert_import_run(run, actor=moderator)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.REVERTED
    assert run.reverted_by == moderator and run.reverted_at is not None
    entries = AuditEntry.objects.filter(import_run=run, actor=moderator)
    deleted = entries.get(action="import_undo", story__isnull=True, story_title="Beta")
    assert "Deleted" in deleted.comment
    assert entries.filter(action="import_undo", story=story_at("alpha"), field="source").exists()
    assert entries.filter(action="import_reverted", story__isnull=True).exists()


def test_revert_import_command_reverts_a_run_as_the_given_moderator(tmp_path, moderator, capsys):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})

    call_command("revert_import", str(run.pk), "--user", moderator.username)

    assert f"Import #{run.pk} reverted: deleted 1, restored 0, kept 0" in capsys.readouterr().out
    assert not Story.objects.exists()


def test_revert_import_command_refuses_an_editor(tmp_path, editor):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})

    with pytest.raises(CommandError, match="permission"):
        call_command("revert_import", str(run.pk), "--user", editor.username)

    assert Story.objects.count() == 1


def test_a_run_interrupted_by_ctrl_c_is_marked_interrupted_with_its_counts_and_can_be_reverted(
    tmp_path, moderator
):
    tmp_path.joinpath("a.md").write_text(story_file("alpha"), encoding="utf-8")
    tmp_path.joinpath("b.md").write_text(story_file("beta"), encoding="utf-8")

    def interrupted_sources():
        yield from iter_story_sources([str(tmp_path / "a.md"), str(tmp_path / "b.md")])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_stories(interrupted_sources(), chunk_files=1)

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.INTERRUPTED
    assert (run.created, run.failed) == (2, 0)
    assert run.finished_at is not None
    revert_import_run(run, actor=moderator)
    assert not Story.objects.exists()


def test_a_run_left_running_by_a_killed_process_can_be_reverted_after_an_hour(tmp_path, moderator):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
    run.refresh_from_db()
    with pytest.raises(RevertError, match="still running"):
        revert_import_run(run, actor=moderator)

    ImportRun.objects.filter(pk=run.pk).update(started_at=run.started_at - dt.timedelta(hours=2))
    revert_import_run(run, actor=moderator)

    assert not Story.objects.exists()


def test_a_spreadsheet_run_cannot_be_reverted_and_says_why(moderator):
    run = ImportRun.objects.create(via=ImportRun.Via.SPREADSHEET, status=ImportRun.Status.FINISHED)

    with pytest.raises(RevertError, match="spreadsheet import"):
        revert_import_run(run, actor=moderator)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.FINISHED


def test_undoing_an_update_goes_through_the_workflow_in_one_audited_write(tmp_path, moderator):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", quality=40, published=False)})
    run = run_import(tmp_path / "v2", {"a.md": story_file("alpha", quality=60, published=True)})
    story = story_at("alpha")
    assert (story.state, story.version) == (State.PUBLISHED, 2)

    revert_import_run(run, actor=moderator)

    story = story_at("alpha")
    assert (story.state, story.quality, story.version) == (State.IN_REVIEW, 40, 3)
    undo = AuditEntry.objects.filter(import_run=run, action=AuditEntry.Action.IMPORT_UNDO, actor=moderator)
    assert {(e.field, e.before, e.after) for e in undo.exclude(field="source")} == {
        ("state", State.PUBLISHED, State.IN_REVIEW),
        ("quality", 60, 40),
        ("heat", 60, 40),
    }


def test_putting_back_a_state_is_a_moderators_decision(tmp_path, editor):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", published=False)})
    run = run_import(tmp_path / "v2", {"a.md": story_file("alpha", published=True)})
    entry = run.entries.get()

    with pytest.raises(PermissionDenied):
        restore_story(story=story_at("alpha"), previous=entry.previous, actor=editor)

    assert story_at("alpha").state == State.PUBLISHED
