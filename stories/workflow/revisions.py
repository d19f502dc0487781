"""Recording revisions: each workflow change ends by keeping the story whole (``Revision``).

``record_revision`` is called once per change, after the row and its parts are written, in
the same transaction: a change that is rolled back leaves no revision. A change that leaves
the story as its newest revision has it makes none (a no-op save is not a revision).

A story from before revisions were kept has none: the first change to it first keeps the
story as it was (``baseline_of``, taken before the change, passed on as ``baseline``) as a
revision of its own, by nobody, then the change.
"""

from __future__ import annotations

from django.db.models import F

from stories.models import ImportRun, Revision, Story
from stories.records import stories_with_rows
from stories.snapshots import snapshot_of

BASELINE_REASON = "As it was before revisions were kept"


def latest_revision(story: Story) -> Revision | None:
    """The story's newest revision: its draft if one waits for a moderator, else the live one."""
    return story.revisions.order_by("-id").first()


def live_revision(story: Story) -> Revision | None:
    """The newest revision that is not a draft: what the story's rows hold."""
    return story.revisions.live().order_by("-id").first()


def baseline_of(story: Story) -> dict | None:
    """The story as it is now if it has no revision yet (what its first change keeps first, as
    ``baseline``); None, after one cheap query, when it has one. Call it before the change."""
    if story.revisions.exists():
        return None
    return snapshot_of(stories_with_rows().get(pk=story.pk))


def pending_draft(story: Story) -> Revision | None:
    """The draft of ``story`` that waits for a moderator, as stored now (None: there is none)."""
    return Revision.objects.filter(pk__in=Story.objects.filter(pk=story.pk).values("draft_revision")).first()


def record_revision(
    story: Story,
    *,
    actor,
    reason: str = "",
    import_run: ImportRun | None = None,
    data: dict | None = None,
    draft: bool = False,
    baseline: dict | None = None,
) -> Revision | None:
    """Keep ``story`` as it now is (or ``data``, a snapshot taken by the caller) as a new revision.

    ``actor`` is the person (None: the system or ``import_run``). Returns None and writes nothing
    when the newest revision already holds the same data. ``baseline``: the story before this
    change (``baseline_of``), kept first if the story has no revision yet and it differs.
    """
    if data is None:
        data = snapshot_of(stories_with_rows().get(pk=story.pk))
    # A draft follows the pending draft; a live revision follows the live one (a discarded draft
    # is neither).
    latest = (pending_draft(story) if draft else None) or live_revision(story)
    if latest is None and baseline is not None:
        if baseline == data:
            return None
        latest = Revision.objects.create(story=story, reason=BASELINE_REASON, data=baseline)
    if latest is not None and latest.data == data:
        return None
    revision = Revision.objects.create(
        story=story,
        author=actor if actor is not None and actor.is_authenticated else None,
        import_run=import_run,
        reason=reason,
        based_on=latest,
        is_draft=draft,
        data=data,
    )
    if draft:
        Story.objects.filter(pk=story.pk).update(draft_revision=revision, version=F("version") + 1)
    return revision
