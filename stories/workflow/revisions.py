"""Recording revisions: each workflow change ends by keeping the story whole (``Revision``).

``record_revision`` is called once per change, after the row and its parts are written, in
the same transaction: a change that is rolled back leaves no revision. A change that leaves
the story as its newest revision has it makes none (a no-op save is not a revision).
"""

from __future__ import annotations

from django.db.models import F

from stories.models import ImportRun, Revision, Story
from stories.records import snapshot_of, stories_with_rows


def latest_revision(story: Story) -> Revision | None:
    """The story's newest revision: its draft if one waits for a moderator, else the live one."""
    return story.revisions.order_by("-id").first()


def live_revision(story: Story) -> Revision | None:
    """The newest revision that is not a draft: what the story's rows hold."""
    return story.revisions.live().order_by("-id").first()


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
) -> Revision | None:
    """Keep ``story`` as it now is (or ``data``, a snapshot taken by the caller) as a new revision.

    ``actor`` is the person (None: the system or ``import_run``). Returns None and writes nothing
    when the newest revision already holds the same data.
    """
    if data is None:
        data = snapshot_of(stories_with_rows().get(pk=story.pk))
    # A draft follows the pending draft; a live revision follows the live one (a discarded draft
    # is neither).
    latest = (pending_draft(story) if draft else None) or live_revision(story)
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
