"""The import service and ``manage.py import_stories``: identity, idempotency, editorial
decisions, bad input, exit codes, dry runs and standard input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from providers.models import Provider
from stories import workflow
from stories.imports.export import export_story
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.imports.undo import restore_story
from stories.models import (
    AuditEntry,
    Image,
    ImportRun,
    ImportRunStory,
    RelatedLink,
    State,
    Story,
    StoryTopic,
    Topic,
)
from tests.images_support import ImageServer, make_image_bytes, respond

pytestmark = pytest.mark.django_db

RELATED = """
related:
  - title: "Other coverage"
    excerpt: "More."
    publishedDateTime: 2021-03-05T01:02:03Z
    webUrl: "https://other.example/r"
    type: article
    provider:
      name: Other
      domain: other.example
    quality: 5
    images:
      - url: "https://img.example/r.jpg"
        width: 10
        height: 10
        isCached: true
"""


def story_file(
    slug: str,
    *,
    title: str | None = None,
    excerpt: str = "An excerpt.",
    quality: int = 10,
    heat: int = 11,
    published: bool = True,
    topics: tuple[str, ...] = ("AI",),
    url: str | None = None,
    domain: str = "example.com",
    related: bool = False,
) -> str:
    url = url or f"https://{domain}/{slug}"
    topic_lines = "".join(f"\n  - {t}" for t in topics)
    return (
        "---\n"
        "category: news\n"
        f'title: "{title or slug.title()}"\n'
        f'excerpt: "{excerpt}"\n'
        "publishedDateTime: 2021-03-04T05:06:07Z\n"
        f'webUrl: "{url}"\n'
        "type: article\n"
        f"quality: {quality}\n"
        f"heat: {heat}\n"
        f"published: {'true' if published else 'false'}\n"
        "\n"
        f"provider:\n  name: Example\n  domain: {domain}\n"
        "\n"
        f"topics:{topic_lines}\n"
        "\n"
        "images:\n"
        f'  - url: "https://img.example/{slug}.jpg"\n'
        "    width: 800\n    height: 450\n    isCached: true\n" + (RELATED if related else "") + "\n"
        f'secured: "secret-{slug}"\n'
        "---\n"
    )


def write(directory: Path, name: str, text: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def run_import(*paths, **kwargs):
    return import_stories(iter_story_sources([str(p) for p in paths]), **kwargs)


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Story, Image, RelatedLink, StoryTopic, Topic, Provider, AuditEntry)
    }


# --- creating and recording


def test_import_creates_stories_with_their_parts(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", related=True, topics=("AI", "Power Apps")))

    report = run_import(tmp_path)

    story = Story.objects.get()
    assert report.counts == {"created": 1, "updated": 0, "unchanged": 0, "conflicts": 0, "failed": 0}
    assert story.title == "Alpha" and story.state == State.PUBLISHED
    assert [st.topic.name for st in story.story_topics.all()] == ["AI", "Power Apps"]
    assert story.provider.domain == "example.com"
    assert story.images.get(role=Image.Role.LEAD).url == "https://img.example/alpha.jpg"
    link = story.related_links.get()
    assert (link.title, link.provider.domain, link.images.get().width) == (
        "Other coverage",
        "other.example",
        10,
    )


def test_import_run_records_counts_failures_and_stories(tmp_path):
    write(tmp_path, "a.md", story_file("alpha"))
    write(tmp_path, "b.md", "not a story\n")

    report = run_import(tmp_path, source_label="batch one")

    run = ImportRun.objects.get()
    assert report.run == run
    assert (run.created, run.failed, run.source, run.status) == (1, 1, "batch one", ImportRun.Status.FINISHED)
    assert run.failures == [{"path": str(tmp_path / "b.md"), "reason": report.failures[0].reason}]
    assert run.finished_at >= run.started_at
    entry = ImportRunStory.objects.get()
    assert (entry.outcome, entry.story.title, entry.path) == ("created", "Alpha", str(tmp_path / "a.md"))
    assert AuditEntry.objects.get().import_run == run


def test_second_import_creates_and_changes_nothing(tmp_path):
    for n in range(5):
        write(tmp_path, f"{n}.md", story_file(f"story-{n}", related=True))
    run_import(tmp_path)
    before = row_counts()
    versions = list(Story.objects.order_by("pk").values_list("version", flat=True))

    report = run_import(tmp_path)

    assert report.counts == {"created": 0, "updated": 0, "unchanged": 5, "conflicts": 0, "failed": 0}
    assert row_counts() == before
    assert list(Story.objects.order_by("pk").values_list("version", flat=True)) == versions
    assert not AuditEntry.objects.filter(import_run=report.run).exists()
    assert not ImportRunStory.objects.filter(run=report.run).exists()  # the run touched no story
    assert report.run.unchanged == 5


def test_identical_content_whose_hash_is_not_on_record_is_unchanged_and_the_hash_is_then_recorded(tmp_path):
    # No featuredContent, no related links, providers without images: the optional parts a file leaves out.
    write(tmp_path, "a.md", story_file("alpha"))
    write(tmp_path, "b.md", story_file("beta", related=True, topics=()))
    run_import(tmp_path)
    hashes = dict(Story.objects.values_list("pk", "source_hash"))
    Story.objects.update(source_hash="")
    versions = dict(Story.objects.values_list("pk", "version"))

    report = run_import(tmp_path)

    assert report.counts == {"created": 0, "updated": 0, "unchanged": 2, "conflicts": 0, "failed": 0}
    assert dict(Story.objects.values_list("pk", "version")) == versions
    assert dict(Story.objects.values_list("pk", "source_hash")) == hashes
    assert not ImportRunStory.objects.filter(run=report.run, previous__isnull=False).exists()
    assert not AuditEntry.objects.filter(import_run=report.run).exists()


def test_unchanged_reimport_takes_a_fixed_number_of_queries(tmp_path, django_assert_max_num_queries):
    for n in range(40):
        write(tmp_path, f"{n}.md", story_file(f"story-{n}"))
    run_import(tmp_path)

    with django_assert_max_num_queries(8):
        report = run_import(tmp_path)

    assert report.counts["unchanged"] == 40


def test_new_stories_are_written_with_a_fixed_number_of_queries(tmp_path, django_assert_max_num_queries):
    for n in range(40):
        write(
            tmp_path,
            f"{n}.md",
            story_file(f"story-{n}", related=True, topics=(f"Topic {n}",), domain=f"p{n}.example"),
        )

    with django_assert_max_num_queries(30):
        report = run_import(tmp_path)

    assert report.counts["created"] == 40
    assert (Story.objects.count(), RelatedLink.objects.count(), Topic.objects.count()) == (40, 40, 40)
    assert Image.objects.count() == 80
    assert AuditEntry.objects.filter(import_run=report.run).count() == 40
    assert ImportRunStory.objects.filter(run=report.run, outcome="created").count() == 40


def test_changed_file_updates_the_story_and_keeps_what_undo_needs(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", excerpt="Old.", quality=10, related=True))
    run_import(tmp_path)
    story = Story.objects.get()
    write(tmp_path, "a.md", story_file("alpha", excerpt="New.", quality=20))

    report = run_import(tmp_path, collect_changes=True)

    story.refresh_from_db()
    assert report.counts["updated"] == 1
    assert (story.excerpt, story.quality) == ("New.", 20)
    assert story.version > 1  # a form loaded before the import is now stale
    assert not story.related_links.exists()
    result = report.results[0]
    assert result.changes["excerpt"] == ("Old.", "New.")
    assert result.changes["quality"] == (10, 20)
    assert "related" in result.changes
    audit = AuditEntry.objects.get(import_run=report.run)
    assert (audit.field, audit.before, audit.after) == ("quality", 10, 20)
    entry = ImportRunStory.objects.get(run=report.run)
    assert entry.outcome == "updated"
    assert entry.previous["quality"] == 10
    assert entry.previous["record"]["excerpt"] == "Old."


def test_update_that_keeps_the_image_url_keeps_the_image_row(tmp_path):
    write(tmp_path, "a.md", story_file("alpha"))
    run_import(tmp_path)
    image = Image.objects.get(role=Image.Role.LEAD)
    write(tmp_path, "a.md", story_file("alpha").replace("width: 800", "width: 1024"))

    run_import(tmp_path)

    image_after = Image.objects.get(role=Image.Role.LEAD)
    assert (image_after.pk, image_after.width) == (image.pk, 1024)


def test_restore_story_puts_back_the_previous_version(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", excerpt="Old.", quality=10, related=True))
    run_import(tmp_path)
    original = export_story(Story.objects.get())
    write(tmp_path, "a.md", story_file("alpha", excerpt="New.", quality=20, topics=("Other",)))
    run = run_import(tmp_path).run

    restore_story(story=Story.objects.get(), previous=ImportRunStory.objects.get(run=run).previous)

    story = Story.objects.get()
    assert export_story(story) == original
    assert (story.excerpt, story.quality) == ("Old.", 10)


# --- identity


def test_one_article_under_two_filenames_is_one_story(tmp_path):
    write(tmp_path / "one", "2021-03-04-alpha.md", story_file("alpha"))
    write(tmp_path / "two", "2021-03-05-alpha-again.md", story_file("alpha", excerpt="Newer version."))

    report = run_import(tmp_path)

    assert Story.objects.count() == 1
    assert Story.objects.get().excerpt == "Newer version."
    assert (report.counts["created"], report.counts["updated"]) == (1, 1)
    assert run_import(tmp_path).counts["unchanged"] == 2


def test_reused_filename_with_a_different_article_makes_two_stories(tmp_path):
    write(tmp_path / "v1", "2021-03-04-news.md", story_file("first-article"))
    write(tmp_path / "v2", "2021-03-04-news.md", story_file("second-article"))

    run_import(tmp_path / "v1")
    run_import(tmp_path / "v2")

    assert sorted(Story.objects.values_list("title", flat=True)) == ["First-Article", "Second-Article"]


def test_changed_secured_blob_updates_the_same_story(tmp_path):
    write(tmp_path, "a.md", story_file("alpha"))
    run_import(tmp_path)
    write(tmp_path, "a.md", story_file("alpha").replace("secret-alpha", "rotated"))

    report = run_import(tmp_path)

    assert report.counts["updated"] == 1
    assert Story.objects.get().secured == "rotated"


def test_provider_is_matched_by_domain_whatever_its_case(tmp_path):
    existing = Provider.objects.create(name="Example Inc.", domain="example.com")
    write(tmp_path, "a.md", story_file("alpha", domain="Example.COM"))

    run_import(tmp_path)

    story = Story.objects.get()
    assert story.provider == existing
    assert "  domain: Example.COM\n" in export_story(story)


def test_topics_whose_slugs_collide_get_distinct_slugs(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", topics=("AI", "A.I.")))

    run_import(tmp_path)

    assert sorted(Topic.objects.values_list("slug", flat=True)) == ["ai", "ai-2"]


# --- editorial decisions and the workflow state


def test_reimport_keeps_editor_quality_and_reports_conflict(tmp_path, editor, cli):
    write(tmp_path, "a.md", story_file("alpha", quality=10))
    run_import(tmp_path)
    workflow.update_editorial(Story.objects.get(), actor=editor, quality=90)

    code, out, err = cli("import_stories", str(tmp_path))

    story = Story.objects.get()
    assert code == 0
    assert story.quality == 90
    assert f"{tmp_path / 'a.md'}: conflict: kept the editor's quality" in err
    assert "conflicts 1" in out
    entry = ImportRunStory.objects.filter(outcome="conflict").get()
    assert entry.conflicts == ["quality"]


def test_overwrite_editorial_lets_the_file_win(tmp_path, editor, cli):
    write(tmp_path, "a.md", story_file("alpha", quality=10))
    run_import(tmp_path)
    workflow.update_editorial(Story.objects.get(), actor=editor, quality=90)

    code, out, err = cli("import_stories", "--overwrite-editorial", str(tmp_path))

    story = Story.objects.get()
    assert code == 0 and "conflict" not in err
    assert story.quality == 10
    assert "quality" not in story.editor_touched
    audit = AuditEntry.objects.filter(import_run__isnull=False, field="quality").get()
    assert (audit.before, audit.after) == (90, 10)


def upload_lead_image(story: Story, person, settings, media_root: Path) -> Image:
    settings.MEDIA_ROOT = media_root
    settings.NEWSROOM_IMAGE_WIDTHS = [320]
    return workflow.replace_lead_image(story, data=make_image_bytes("JPEG", (640, 360)), actor=person)


def test_reimport_keeps_an_uploaded_lead_image_and_reports_the_conflict(tmp_path, moderator, settings):
    write(tmp_path / "files", "a.md", story_file("alpha", excerpt="Old."))
    run_import(tmp_path / "files")
    # The story is published: only a moderator may change its lead image.
    uploaded = upload_lead_image(Story.objects.get(), moderator, settings, tmp_path / "media")
    changed = story_file("alpha", excerpt="New.").replace("img.example/alpha.jpg", "img.example/other.jpg")
    write(tmp_path / "files", "a.md", changed)

    report = run_import(tmp_path / "files")

    story = Story.objects.get()
    lead = Image.objects.get(story=story, role=Image.Role.LEAD)
    assert report.counts["conflicts"] == 1
    assert report.results[0].conflicts == ["images"]
    assert story.excerpt == "New."
    assert (lead.pk, lead.url, lead.origin) == (uploaded.pk, uploaded.url, Image.Origin.UPLOAD)
    assert ImportRunStory.objects.get(run=report.run).conflicts == ["images"]


def test_overwrite_editorial_replaces_an_uploaded_lead_image_with_the_files(tmp_path, moderator, settings):
    write(tmp_path / "files", "a.md", story_file("alpha", excerpt="Old."))
    run_import(tmp_path / "files")
    upload_lead_image(Story.objects.get(), moderator, settings, tmp_path / "media")
    write(tmp_path / "files", "a.md", story_file("alpha", excerpt="New."))

    report = run_import(tmp_path / "files", overwrite_editorial=True)

    lead = Image.objects.get(role=Image.Role.LEAD)
    assert report.counts["updated"] == 1
    assert lead.url == "https://img.example/alpha.jpg"
    assert lead.origin == ""


def test_with_the_setting_on_an_import_caches_the_images_of_the_stories_it_wrote(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NEWSROOM_IMAGE_ALLOW_PRIVATE = True
    settings.NEWSROOM_IMAGE_WIDTHS = [320]
    settings.NEWSROOM_CACHE_IMAGES_AFTER_IMPORT = True
    with ImageServer() as server:
        server.routes["/alpha.jpg"] = respond(make_image_bytes("JPEG", (800, 450)))
        server.routes["/beta.jpg"] = respond(make_image_bytes("JPEG", (800, 450)))
        write(
            tmp_path / "old",
            "b.md",
            story_file("beta").replace("https://img.example/beta.jpg", server.url("/beta.jpg")),
        )
        run_import(tmp_path / "old")  # the setting is on, but this import's callback is never run
        write(
            tmp_path / "new",
            "a.md",
            story_file("alpha").replace("https://img.example/alpha.jpg", server.url("/alpha.jpg")),
        )
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            report = run_import(tmp_path / "new", tmp_path / "old")

    assert report.counts["created"] == 1
    # This import's image caching, beside the reader version's move (stories.reader.version).
    assert len([c for c in callbacks if c.__qualname__.startswith("cache_images_for_stories")]) == 1
    lead = {
        image.story.title: image
        for image in Image.objects.filter(role=Image.Role.LEAD).select_related("story")
    }
    assert lead["Alpha"].cache_status == Image.CacheStatus.CACHED
    assert lead["Alpha"].local_width == 800
    assert lead["Beta"].cache_status == Image.CacheStatus.PENDING  # unchanged in this import
    assert (server.hits["/alpha.jpg"], server.hits["/beta.jpg"]) == (1, 0)


def test_an_updated_file_is_applied_with_one_versioned_write_whatever_it_changes(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", published=False, quality=10, excerpt="Old."))
    run_import(tmp_path)
    write(
        tmp_path,
        "a.md",
        story_file("alpha", published=True, quality=30, topics=("AI", "Cloud"), excerpt="New.", related=True),
    )

    report = run_import(tmp_path)

    story = Story.objects.get()
    assert report.counts["updated"] == 1
    assert (story.state, story.quality, story.excerpt) == (State.PUBLISHED, 30, "New.")
    assert story.version == 2  # content, state, quality and topics: one write
    audited = {e.field for e in AuditEntry.objects.filter(import_run=report.run)}
    assert audited == {"state", "quality", "topics"}


def test_file_flipping_published_moves_the_state_with_an_audit_entry(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", published=False))
    run_import(tmp_path)
    assert Story.objects.get().state == State.IN_REVIEW
    write(tmp_path, "a.md", story_file("alpha", published=True))

    report = run_import(tmp_path)

    assert Story.objects.get().state == State.PUBLISHED
    audit = AuditEntry.objects.get(import_run=report.run, field="state")
    assert (audit.before, audit.after) == (State.IN_REVIEW, State.PUBLISHED)
    write(tmp_path, "a.md", story_file("alpha", published=False))
    run_import(tmp_path)
    assert Story.objects.get().state == State.IN_REVIEW


def test_a_published_flip_goes_through_the_workflow_as_the_system_linked_to_the_run(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", published=False, quality=10))
    run_import(tmp_path)
    write(tmp_path, "a.md", story_file("alpha", published=True, quality=30, topics=("AI", "Cloud")))

    report = run_import(tmp_path)

    story = Story.objects.get()
    entries = {e.field: e for e in AuditEntry.objects.filter(import_run=report.run)}
    assert (entries["state"].action, entries["state"].actor, entries["state"].after) == (
        workflow.PUBLISH,
        None,
        State.PUBLISHED,
    )
    quality = entries["quality"]
    assert (quality.action, quality.before, quality.after) == ("edit", 10, 30)
    assert entries["topics"].after == ["AI", "Cloud"]
    assert story.state_comment == workflow.IMPORT_STATE_COMMENT
    assert story.editor_touched == []  # the system decided nothing an editor must keep
    assert list(story.story_topics.values_list("topic__name", flat=True)) == ["AI", "Cloud"]


def test_a_published_flip_by_an_editor_without_publish_permission_submits_a_draft(
    tmp_path, editor, moderator
):
    write(tmp_path, "a.md", story_file("alpha", published=False))
    run_import(tmp_path)
    story = Story.objects.get()
    workflow.transition(story, action=workflow.REQUEST_CHANGES, actor=moderator, comment="Needs work.")
    Story.objects.filter(pk=story.pk).update(editor_touched=[])  # as if no person had decided
    write(tmp_path, "a.md", story_file("alpha", published=True))

    report = run_import(tmp_path, actor=editor)

    assert Story.objects.get().state == State.IN_REVIEW
    assert AuditEntry.objects.get(import_run=report.run, field="state").action == workflow.SUBMIT


def test_a_published_flip_the_workflow_refuses_keeps_the_state_and_reports_a_conflict(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", published=False, excerpt="Old."))
    run_import(tmp_path)
    Story.objects.update(expire_at=timezone.now() - dt.timedelta(days=1))
    write(tmp_path, "a.md", story_file("alpha", published=True, excerpt="New."))

    report = run_import(tmp_path)

    story = Story.objects.get()
    assert (story.state, story.excerpt) == (State.IN_REVIEW, "New.")
    assert report.results[0].conflicts == ["published"]
    assert not AuditEntry.objects.filter(import_run=report.run, field="state").exists()


def test_import_by_an_editor_without_publish_permission_waits_in_review(tmp_path, editor):
    write(tmp_path, "a.md", story_file("alpha", published=True))

    report = run_import(tmp_path, actor=editor)

    assert Story.objects.get().state == State.IN_REVIEW
    assert report.run.started_by == editor


def test_import_by_a_moderator_publishes(tmp_path, moderator):
    write(tmp_path, "a.md", story_file("alpha", published=True))

    run_import(tmp_path, actor=moderator)

    assert Story.objects.get().state == State.PUBLISHED


def test_import_without_permission_is_refused(tmp_path, staff_without_roles):
    write(tmp_path, "a.md", story_file("alpha"))

    with pytest.raises(PermissionDenied):
        run_import(tmp_path, actor=staff_without_roles)
    assert not Story.objects.exists()
    assert not ImportRun.objects.exists()


# --- bad input


def bad_inputs(tmp_path: Path, settings) -> dict[str, tuple[str | bytes, str]]:
    settings.NEWSROOM_MAX_STORY_FILE_BYTES = 20_000
    good = story_file("bad-one")
    bomb = (
        '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n---\n"
    )
    return {
        "malformed.md": (good.replace('title: "Bad-One"', 'title: "Bad-One'), "malformed YAML"),
        "no-front-matter.md": ("Just text, no front matter.\n", "no front matter"),
        "unterminated.md": (good.rsplit("---", 1)[0], "not terminated"),
        "wrong-type.md": (
            good.replace("quality: 10", 'quality: "high"'),
            "field 'quality': must be an integer",
        ),
        "no-identity.md": (good.replace('webUrl: "https://example.com/bad-one"\n', ""), "field 'webUrl'"),
        "python-tag.md": (
            good.replace('title: "Bad-One"', "title: !!python/object/apply:os.system ['true']"),
            "tag:yaml.org,2002:python/object/apply:os.system",
        ),
        "alias-bomb.md": (bomb, "anchors are not allowed"),
        "huge.md": (good.replace('"An excerpt."', '"' + "x" * 30_000 + '"'), "over the limit"),
        "invalid-utf8.md": (good.encode().replace(b"An excerpt", b"An \xff excerpt"), "not valid UTF-8"),
        "javascript.md": (
            good.replace("https://example.com/bad-one", "javascript:alert(1)"),
            "field 'webUrl': URL scheme 'javascript' is not allowed",
        ),
    }


def test_bad_files_fail_one_by_one_while_good_files_import(tmp_path, settings, cli):
    cases = bad_inputs(tmp_path, settings)
    write(tmp_path, "0-good.md", story_file("good-first", related=True))
    for name, (content, _) in cases.items():
        write(tmp_path, name, content)
    write(tmp_path, "z-good.md", story_file("good-last"))

    code, out, err = cli("import_stories", str(tmp_path))

    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == len(cases)
    for name, (_, reason) in cases.items():
        line = next(line for line in lines if line.startswith(f"{tmp_path / name}: "))
        assert reason in line, line
    assert out.strip().endswith(f"created 2, updated 0, unchanged 0, conflicts 0, failed {len(cases)}")
    assert sorted(Story.objects.values_list("title", flat=True)) == ["Good-First", "Good-Last"]
    assert RelatedLink.objects.count() == 1
    assert Image.objects.count() == 3
    assert len(ImportRun.objects.get().failures) == len(cases)


@pytest.fixture
def refuse_related_title_boom(db):
    """A database trigger that refuses related links titled 'boom': a real error halfway into a story."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                "IF NEW.title = 'boom' THEN "
                "RAISE EXCEPTION 'boom refused' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON stories_relatedlink "
                "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON stories_relatedlink "
                "WHEN NEW.title = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
            )


def test_a_database_error_halfway_through_a_story_leaves_no_partial_rows(tmp_path, refuse_related_title_boom):
    write(tmp_path, "a.md", story_file("alpha", related=True))
    write(tmp_path, "b.md", story_file("beta", related=True).replace('"Other coverage"', '"boom"'))
    write(tmp_path, "c.md", story_file("gamma", related=True, topics=("Only in gamma",)))

    report = run_import(tmp_path)

    assert report.counts["created"] == 2 and report.counts["failed"] == 1
    assert "boom refused" in report.failures[0].reason
    assert sorted(Story.objects.values_list("title", flat=True)) == ["Alpha", "Gamma"]
    assert RelatedLink.objects.count() == 2
    assert Image.objects.filter(url__contains="beta").count() == 0
    assert Topic.objects.filter(name="Only in gamma").exists()


def test_a_database_error_in_an_update_keeps_the_previous_version(tmp_path, refuse_related_title_boom):
    write(tmp_path, "a.md", story_file("alpha", excerpt="Old.", related=True))
    run_import(tmp_path)
    write(
        tmp_path,
        "a.md",
        story_file("alpha", excerpt="New.", related=True).replace('"Other coverage"', '"boom"'),
    )

    report = run_import(tmp_path)

    story = Story.objects.get()
    assert report.counts["failed"] == 1
    assert story.excerpt == "Old." and story.version == 1
    assert list(story.related_links.values_list("title", flat=True)) == ["Other coverage"]


# --- the command line


def test_exit_status_is_zero_when_everything_imported(tmp_path, cli):
    write(tmp_path, "a.md", story_file("alpha"))

    code, out, err = cli("import_stories", str(tmp_path))

    assert (code, err) == (0, "")
    assert out.strip() == "created 1, updated 0, unchanged 0, conflicts 0, failed 0"


def test_missing_path_is_a_usage_error(tmp_path, cli):
    write(tmp_path, "a.md", story_file("alpha"))

    code, _, err = cli("import_stories", str(tmp_path), str(tmp_path / "missing"))

    assert code == 2
    assert "missing: no such file or directory" in err
    assert not Story.objects.exists()


def test_no_path_is_a_usage_error(cli):
    code, _, err = cli("import_stories")

    assert code == 2
    assert "PATH" in err


def test_dry_run_reports_and_writes_nothing(tmp_path, cli):
    write(tmp_path, "a.md", story_file("alpha"))
    write(tmp_path, "b.md", "broken\n")

    code, out, err = cli("import_stories", "--dry-run", str(tmp_path))

    assert code == 1
    assert "created 1, updated 0, unchanged 0, conflicts 0, failed 1" in out
    assert "b.md: " in err
    assert row_counts() == dict.fromkeys(row_counts(), 0)
    assert not ImportRun.objects.exists()


def test_dry_run_service_reports_updates_with_changes(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", quality=10))
    run_import(tmp_path)
    write(tmp_path, "a.md", story_file("alpha", quality=30))

    report = run_import(tmp_path, dry_run=True, collect_changes=True)

    assert report.run is None
    assert report.results[0].outcome == "updated"
    assert report.results[0].changes["quality"] == (10, 30)
    assert Story.objects.get().quality == 10


def test_dash_reads_a_story_from_standard_input(cli):
    code, out, _ = cli("import_stories", "-", stdin=story_file("from-stdin").encode())

    assert code == 0
    assert Story.objects.get().title == "From-Stdin"
    assert ImportRunStory.objects.get().path == "-"


def test_directories_are_walked_recursively_for_story_files_only(tmp_path):
    write(tmp_path / "a" / "b", "deep.md", story_file("deep"))
    write(tmp_path, "top.txt", story_file("top"))
    write(tmp_path, "README.md", "# Not a story\n")
    write(tmp_path, "image.jpg", b"\xff\xd8")

    paths = [s.path for s in iter_story_sources([str(tmp_path)])]

    assert paths == [str(tmp_path / "a" / "b" / "deep.md"), str(tmp_path / "top.txt")]


def test_progress_callback_is_called_per_file(tmp_path):
    for n in range(3):
        write(tmp_path, f"{n}.md", story_file(f"s{n}"))
    seen = []

    run_import(tmp_path, on_result=lambda result: seen.append(result.outcome))

    assert seen == ["created"] * 3
