"""Merging duplicate topics and providers: each story they touch changes through the workflow."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from providers.models import Provider
from stories import audit
from stories.models import AuditEntry, RelatedLink, Story, Topic
from stories.reader import version as reader_version

from .editorial import current_topics, update_editorial
from .errors import WorkflowError
from .permissions import require
from .revisions import baseline_of, record_revision
from .versioned import write_versioned


@transaction.atomic
def merge_topics(*, survivor: Topic, duplicates: Sequence[Topic], actor) -> int:
    """Move every story of ``duplicates`` to ``survivor`` (through update_editorial, so audited), then
    delete the duplicates. Returns the number of stories changed."""
    require(actor, "stories.delete_topic", "merge topics")
    duplicates = [t for t in duplicates if t.pk != survivor.pk]
    if not duplicates:
        raise WorkflowError("Choose at least one other topic to merge into the one that stays.")
    duplicate_pks = {t.pk for t in duplicates}
    names = ", ".join(t.name for t in duplicates)
    stories = (
        Story.objects.filter(story_topics__topic__in=duplicate_pks).distinct().with_cards().order_by("pk")
    )
    changed = 0
    for story in stories:
        merged = [survivor if t.pk in duplicate_pks else t for t in current_topics(story)]
        update_editorial(
            story,
            actor=actor,
            topics=list(dict.fromkeys(merged)),
            comment=f"Merged {names} into {survivor.name}.",
        )
        changed += 1
    Topic.objects.filter(pk__in=duplicate_pks).delete()
    reader_version.changed(shared=True)  # the duplicates' pages are gone
    return changed


@transaction.atomic
def merge_providers(*, survivor: Provider, duplicates: Sequence[Provider], actor) -> int:
    """Move the stories and related coverage of ``duplicates`` to ``survivor``, audit each story,
    then delete the duplicates. Returns the number of stories moved."""
    require(actor, "providers.change_provider", "merge providers")
    duplicates = [p for p in duplicates if p.pk != survivor.pk]
    if not duplicates:
        raise WorkflowError("Choose at least one other provider to merge into the one that stays.")
    by_pk = {p.pk: p for p in duplicates}
    comment = f"Merged {', '.join(p.name for p in duplicates)} into {survivor.name}."
    stories = list(Story.objects.filter(provider__in=by_pk).select_for_update().order_by("pk"))
    # Stories whose related coverage names a duplicate change too: each gets its revision.
    citing = Story.objects.filter(related_links__provider__in=by_pk).exclude(provider__in=by_pk)
    affected = stories + list(citing.distinct().order_by("pk"))
    baselines = {story.pk: baseline_of(story) for story in affected}
    for story in stories:
        before = str(by_pk[story.provider_id])
        write_versioned(story, expected=story.version, changes={"provider": survivor})
        audit.record(
            story=story,
            action=AuditEntry.Action.MERGE,
            actor=actor,
            field="provider",
            before=before,
            after=str(survivor),
            comment=comment,
        )
    RelatedLink.objects.filter(provider__in=by_pk).update(provider=survivor)
    for story in affected:
        record_revision(story, actor=actor, reason=comment, baseline=baselines[story.pk])
    Provider.objects.filter(pk__in=by_pk).delete()
    reader_version.changed(shared=True)  # related coverage names the survivor on every story page
    return len(stories)
